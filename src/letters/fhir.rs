//! A letter as a FHIR R4 document Bundle: the Composition first (the letter's sections),
//! then the Patient (NHS number), the Practitioners (author and approver), the GP practice
//! and the trust as Organizations (ODS codes), and the PDF as a Binary with the
//! DocumentReference that describes it. UK Core profiles are named where they apply.

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::data::{LetterData, Signatory};
use super::{Block, Letter};

pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
pub const ODS_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
const SNOMED: &str = "http://snomed.info/sct";

fn profile(name: &str) -> Value {
    json!({"profile": [format!("https://fhir.hl7.org.uk/StructureDefinition/UKCore-{name}")]})
}

fn urn() -> String {
    format!("urn:uuid:{}", uuid::Uuid::now_v7())
}

/// A narrative `div` of paragraphs.
fn narrative(paragraphs: &[String]) -> Value {
    let body: String = paragraphs.iter().map(|p| format!("<p>{}</p>", super::xml_escape(p))).collect();
    json!({"status": "generated", "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{body}</div>")})
}

/// The document type: SNOMED CT record artifacts where one fits, else text.
fn doc_type(letter_type: Option<&str>, title: &str) -> Value {
    match letter_type {
        Some("discharge_summary") => {
            json!({"coding": [{"system": SNOMED, "code": "373942005", "display": "Discharge summary"}], "text": title})
        }
        Some("clinic_letter") => {
            json!({"coding": [{"system": SNOMED, "code": "371531000", "display": "Report of clinical encounter"}], "text": title})
        }
        _ => json!({"text": title}),
    }
}

/// A block's text, line by line.
fn block_lines(block: &Block) -> Vec<String> {
    match block {
        Block::Heading(h) | Block::Paragraph(h) => vec![h.clone()],
        Block::Lines(lines) => lines.clone(),
        Block::Table(rows) => rows.iter().map(|(l, v)| format!("{l} {v}")).collect(),
    }
}

/// The dictated body's sections: text before the first heading is "Letter", each heading opens one.
fn sections(letter: &Letter) -> Vec<Value> {
    let mut out: Vec<(String, Vec<String>)> = vec![("Letter".into(), vec![])];
    for block in letter.blocks.get(letter.body.clone()).unwrap_or_default() {
        match block {
            Block::Heading(h) => out.push((h.clone(), vec![])),
            other => out.last_mut().expect("a section").1.extend(block_lines(other)),
        }
    }
    out.into_iter()
        .filter(|(_, p)| !p.is_empty())
        .map(|(title, paragraphs)| json!({"title": title, "text": narrative(&paragraphs)}))
        .collect()
}

fn practitioner(s: &Signatory) -> Value {
    let mut p = json!({
        "resourceType": "Practitioner",
        "meta": profile("Practitioner"),
        "name": [{"text": s.name()}],
    });
    let quals: Vec<Value> = [&s.grade, &s.job_title]
        .iter()
        .filter_map(|q| q.as_deref().filter(|q| !q.trim().is_empty()))
        .map(|q| json!({"code": {"text": q}}))
        .collect();
    if !quals.is_empty() {
        p["qualification"] = json!(quals);
    }
    p
}

fn entry(full_url: &str, resource: Value) -> Value {
    json!({"fullUrl": full_url, "resource": resource})
}

/// The document Bundle for `letter`, made from `data`, with `pdf` attached.
pub fn bundle(letter: &Letter, data: &LetterData, pdf: &[u8], now: DateTime<Utc>) -> Value {
    let (composition_url, patient_url, author_url) = (urn(), urn(), urn());
    let (binary_url, docref_url, custodian_url) = (urn(), urn(), urn());
    let time = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut patient = json!({"resourceType": "Patient", "meta": profile("Patient")});
    if let Some(n) = data.nhs_number.as_deref().filter(|n| !n.trim().is_empty()) {
        patient["identifier"] = json!([{"system": NHS_NUMBER_SYSTEM, "value": n.trim()}]);
    }
    if let Some(name) = data.field("patient_name") {
        patient["name"] = json!([{"text": name}]);
    }
    if let Some(dob) = data.patient_dob {
        patient["birthDate"] = json!(dob.to_string());
    }
    let address: Vec<&String> = data.patient_address.iter().filter(|l| !l.trim().is_empty()).collect();
    if !address.is_empty() {
        patient["address"] = json!([{"line": address}]);
    }
    let mut entries = Vec::new();
    let mut extra = Vec::new();
    if let Some(p) = data.practice() {
        let url = urn();
        let mut org = json!({"resourceType": "Organization", "meta": profile("Organization"), "name": p.name.trim()});
        if let Some(code) = p.ods_code.as_deref().filter(|c| !c.trim().is_empty()) {
            org["identifier"] = json!([{"system": ODS_SYSTEM, "value": code.trim()}]);
        }
        let lines: Vec<&String> = p.address.iter().filter(|l| !l.trim().is_empty()).collect();
        if !lines.is_empty() {
            org["address"] = json!([{"line": lines}]);
        }
        patient["generalPractitioner"] = json!([{"reference": url, "display": p.name.trim()}]);
        extra.push(entry(&url, org));
    }
    let mut composition = json!({
        "resourceType": "Composition",
        "meta": profile("Composition"),
        "identifier": {"system": "urn:ietf:rfc:3986", "value": urn()},
        "status": if data.approval.is_some() { "final" } else { "preliminary" },
        "type": doc_type(data.letter_type.as_deref(), &letter.title),
        "subject": {"reference": patient_url},
        "date": time,
        "author": [{"reference": author_url, "display": data.clinician.name()}],
        "title": letter.title,
        "text": narrative(&letter.blocks.iter().flat_map(block_lines).collect::<Vec<_>>()),
        "custodian": {"reference": custodian_url},
        "section": sections(letter),
    });
    if let Some(a) = &data.approval {
        let approver_url = if a.by.username == data.clinician.username { author_url.clone() } else { urn() };
        if approver_url != author_url {
            extra.push(entry(&approver_url, practitioner(&a.by)));
        }
        composition["attester"] = json!([{
            "mode": "legal",
            "time": a.on.to_string(),
            "party": {"reference": approver_url, "display": a.by.name_and_grade()},
        }]);
    }
    let pdf_b64 = base64::engine::general_purpose::STANDARD.encode(pdf);
    let sha1 = base64::engine::general_purpose::STANDARD
        .encode(ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, pdf));
    let docref = json!({
        "resourceType": "DocumentReference",
        "meta": profile("DocumentReference"),
        "status": "current",
        "docStatus": if data.approval.is_some() { "final" } else { "preliminary" },
        "type": doc_type(data.letter_type.as_deref(), &letter.title),
        "subject": {"reference": patient_url},
        "date": time,
        "author": [{"reference": author_url}],
        "description": letter.title,
        "content": [{"attachment": {
            "contentType": "application/pdf", "url": binary_url, "size": pdf.len(), "hash": sha1,
            "title": format!("{}.pdf", letter.title),
        }}],
    });
    let organisation = Some(letter.letterhead.organisation.trim()).filter(|o| !o.is_empty()).unwrap_or("Trust");
    entries.push(entry(&composition_url, composition));
    entries.push(entry(&patient_url, patient));
    entries.push(entry(&author_url, practitioner(&data.clinician)));
    entries.push(entry(
        &custodian_url,
        json!({"resourceType": "Organization", "meta": profile("Organization"), "name": organisation}),
    ));
    entries.extend(extra);
    entries.push(entry(&docref_url, docref));
    entries
        .push(entry(&binary_url, json!({"resourceType": "Binary", "contentType": "application/pdf", "data": pdf_b64})));
    json!({
        "resourceType": "Bundle",
        "meta": profile("Bundle"),
        "identifier": {"system": "urn:ietf:rfc:3986", "value": urn()},
        "type": "document",
        "timestamp": time,
        "entry": entries,
    })
}

/// The Bundle with the letter's PDF written now.
pub fn document(letter: &Letter, data: &LetterData, now: DateTime<Utc>) -> anyhow::Result<Value> {
    let pdf = super::pdf::write(letter)?;
    Ok(bundle(letter, data, &pdf, now))
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::letters::data::{Approval, Practice};
    use crate::letters::template::{Template, shipped};

    #[test]
    fn composition_first_patient_gp_and_the_pdf() {
        let clinician = Signatory { username: "dr.p".into(), display_name: "Dr P".into(), ..Default::default() };
        let data = LetterData {
            letter_type: Some("clinic_letter".into()),
            nhs_number: Some("9434765919".into()),
            patient_name: Some("Zoë <Ŵ>".into()),
            gp: Some(Practice { name: "Bridge Surgery".into(), ods_code: Some("W97001".into()), address: vec![] }),
            approval: Some(Approval {
                by: clinician.clone(),
                on: NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
                draft_version: Some(2),
                text_sha256: None,
            }),
            clinician,
            text: "Plan:\nReview.".into(),
            ..Default::default()
        };
        let t = Template::parse(shipped(Some("clinic_letter"))).unwrap();
        let letter = t.render(&data, Default::default());
        let b = bundle(&letter, &data, b"%PDF-", Utc::now());
        let entries = b["entry"].as_array().unwrap();
        assert_eq!(entries[0]["resource"]["resourceType"], "Composition");
        assert_eq!(entries[0]["resource"]["status"], "final");
        assert_eq!(entries[1]["resource"]["identifier"][0]["system"], NHS_NUMBER_SYSTEM);
        let sections = entries[0]["resource"]["section"].as_array().unwrap();
        assert!(
            sections.iter().any(|s| s["title"] == "Plan" && s["text"]["div"].as_str().unwrap().contains("Review."))
        );
        assert!(b.to_string().contains("Zoë &lt;Ŵ&gt;"));
        let org = entries.iter().find(|e| e["resource"]["name"] == "Bridge Surgery").unwrap();
        assert_eq!(org["resource"]["identifier"][0]["value"], "W97001");
        let binary = entries.iter().find(|e| e["resource"]["resourceType"] == "Binary").unwrap();
        assert_eq!(binary["resource"]["data"], "JVBERi0=");
    }
}
