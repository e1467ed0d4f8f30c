//! The patient's and recipients' details of a letter (address, GP practice, cc list) and the
//! hospital number's local pattern: checked field by field, each error naming its field
//! with a stable code.

use crate::ingest::{FieldError, RawFields};
use crate::storage::letters::Details;

/// The `[letters]` configuration section.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LettersConfig {
    /// A regular expression the whole hospital (MRN) number must match, e.g. `[A-Z]{3}[0-9]{7}`;
    /// empty = any text.
    pub hospital_number_pattern: String,
    /// The EPR inbox folder dispatched letters are written to (PDF and FHIR Bundle);
    /// empty = none (webhooks subscribed to `letter.dispatched` still get them).
    pub dispatch_dir: String,
}

impl LettersConfig {
    pub fn validate(&self) -> Result<(), String> {
        self.pattern().map(|_| ()).map_err(|e| format!("letters.hospital_number_pattern: {e}"))
    }

    fn pattern(&self) -> Result<Option<regex::Regex>, regex::Error> {
        let p = self.hospital_number_pattern.trim();
        if p.is_empty() { Ok(None) } else { regex::Regex::new(&format!("^(?:{p})$")).map(Some) }
    }

    /// Checks a hospital number against the configured pattern.
    pub fn check_hospital_number(&self, value: &str) -> Result<(), FieldError> {
        match self.pattern() {
            Ok(Some(re)) if !re.is_match(value.trim()) => Err(FieldError::new(
                "hospital_number",
                "invalid_hospital_number",
                format!("{value:?} does not match this hospital's number format ({})", self.hospital_number_pattern),
            )),
            _ => Ok(()),
        }
    }
}

/// The multipart fields of an upload that are letter details.
pub const UPLOAD_FIELDS: &[&str] =
    &["patient_address", "gp_practice_name", "gp_ods_code", "gp_address", "addressee", "cc_patient", "cc_others"];

fn bounded(field: &str, value: &str, max_chars: usize, max_lines: usize) -> Result<String, FieldError> {
    let value = value.trim();
    if value.chars().count() > max_chars {
        return Err(FieldError::new(
            field,
            "validation_failed",
            format!("{field} is longer than {max_chars} characters"),
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        return Err(FieldError::new(field, "validation_failed", format!("{field} contains control characters")));
    }
    let lines: Vec<&str> = value.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.len() > max_lines {
        return Err(FieldError::new(field, "validation_failed", format!("{field} has more than {max_lines} lines")));
    }
    Ok(lines.join("\n"))
}

/// An ODS organisation code: 3 to 10 letters and digits (`A81001`), upper-cased.
fn ods_code(value: &str) -> Result<String, FieldError> {
    let code = value.trim().to_ascii_uppercase();
    if code.is_empty() || ((3..=10).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric())) {
        Ok(code)
    } else {
        Err(FieldError::new(
            "gp_ods_code",
            "invalid_ods_code",
            format!("{value:?} is not an ODS organisation code (3 to 10 letters and digits, e.g. A81001)"),
        ))
    }
}

/// Checks and tidies details (trimmed, empty lines dropped, the ODS code upper-cased).
pub fn check(d: &Details) -> Result<Details, FieldError> {
    let addressee = match d.addressee.trim() {
        "" | "gp" => "gp",
        "patient" => "patient",
        other => {
            return Err(FieldError::new(
                "addressee",
                "validation_failed",
                format!("addressee is `gp` or `patient`, not {other:?}"),
            ));
        }
    };
    Ok(Details {
        patient_address: bounded("patient_address", &d.patient_address, 500, 8)?,
        gp_practice_name: bounded("gp_practice_name", &d.gp_practice_name, 200, 1)?,
        gp_ods_code: ods_code(&d.gp_ods_code)?,
        gp_address: bounded("gp_address", &d.gp_address, 500, 8)?,
        addressee: addressee.to_string(),
        cc_patient: d.cc_patient,
        cc_others: bounded("cc_others", &d.cc_others, 2000, 20)?,
    })
}

/// The letter details sent with an upload, if any were.
pub fn from_upload(raw: &RawFields) -> Result<Option<Details>, FieldError> {
    if !UPLOAD_FIELDS.iter().any(|f| raw.get(*f).is_some_and(|v| !v.trim().is_empty())) {
        return Ok(None);
    }
    let get = |f: &str| raw.get(f).cloned().unwrap_or_default();
    let cc_patient = match get("cc_patient").trim() {
        "" | "false" | "0" | "no" => false,
        "true" | "1" | "yes" | "on" => true,
        other => {
            return Err(FieldError::new(
                "cc_patient",
                "validation_failed",
                format!("cc_patient is true or false, not {other:?}"),
            ));
        }
    };
    let d = Details {
        patient_address: get("patient_address"),
        gp_practice_name: get("gp_practice_name"),
        gp_ods_code: get("gp_ods_code"),
        gp_address: get("gp_address"),
        addressee: get("addressee"),
        cc_patient,
        cc_others: get("cc_others"),
    };
    check(&d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawFields {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn upload_fields_checked_with_named_errors() {
        let cases = [
            (raw(&[("gp_ods_code", "A8-1001")]), Some(("gp_ods_code", "invalid_ods_code"))),
            (raw(&[("gp_ods_code", "ab")]), Some(("gp_ods_code", "invalid_ods_code"))),
            (raw(&[("addressee", "nurse")]), Some(("addressee", "validation_failed"))),
            (raw(&[("cc_patient", "maybe")]), Some(("cc_patient", "validation_failed"))),
            (raw(&[("patient_address", &"x".repeat(501))]), Some(("patient_address", "validation_failed"))),
            (raw(&[("gp_practice_name", "A\nB")]), Some(("gp_practice_name", "validation_failed"))),
            (raw(&[("gp_ods_code", "a81001"), ("cc_patient", "true")]), None),
        ];
        for (input, want) in cases {
            let got = from_upload(&input).err().map(|e| (e.field.clone(), e.code));
            assert_eq!(got, want.map(|(f, c)| (f.to_string(), c)), "{input:?}");
        }
        assert_eq!(from_upload(&raw(&[("notes", "x")])).unwrap(), None);
        let d = from_upload(&raw(&[("gp_ods_code", " a81001 "), ("patient_address", "1 Rd\n\n  Town ")])).unwrap();
        let d = d.unwrap();
        assert_eq!(
            (d.gp_ods_code.as_str(), d.patient_address.as_str(), d.addressee.as_str()),
            ("A81001", "1 Rd\nTown", "gp")
        );
    }

    #[test]
    fn hospital_number_pattern() {
        let any = LettersConfig::default();
        assert!(any.check_hospital_number("whatever").is_ok());
        let c = LettersConfig { hospital_number_pattern: "[A-Z]{3}[0-9]{7}".into(), ..Default::default() };
        assert!(c.validate().is_ok());
        assert!(c.check_hospital_number("RVX1234567").is_ok());
        let e = c.check_hospital_number("RVX12345678").unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("hospital_number", "invalid_hospital_number"));
        assert!(LettersConfig { hospital_number_pattern: "([".into(), ..Default::default() }.validate().is_err());
    }
}
