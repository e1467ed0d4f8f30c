"""Validates a FHIR document Bundle with the `fhir.resources` R4B models (pydantic).

Usage: validate.py BUNDLE_JSON_FILE. Every entry's resource is also validated on its own
with the model of its resourceType. Prints one JSON object for the Rust test
(tests/api/letters.rs) to check: the resource types in order and a few values read back
through the models.
"""

import json
import sys

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

with open(sys.argv[1], encoding="utf-8") as f:
    data = json.load(f)

bundle = Bundle.model_validate(data)
types = []
for entry in data["entry"]:
    resource = entry["resource"]
    model = get_fhir_model_class(resource["resourceType"])
    model.model_validate(resource)
    types.append(resource["resourceType"])

composition = bundle.entry[0].resource
patient = next(e.resource for e in bundle.entry if e.resource.__resource_type__ == "Patient")
print(json.dumps({
    "fhir_resources": __import__("fhir.resources").resources.__version__,
    "type": bundle.type,
    "types": types,
    "composition_status": composition.status,
    "attester": [a.party.display for a in (composition.attester or [])],
    "sections": {s.title: s.text.div for s in composition.section or []},
    "nhs_numbers": [i.value for i in patient.identifier or [] if i.system == "https://fhir.nhs.uk/Id/nhs-number"],
}))
