//! The text fields of an upload, validated into typed values; errors name the field.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::domain::{NhsNumber, Priority, parse_dob};

/// Longest accepted text field (characters); notes may be longer.
const MAX_FIELD_CHARS: usize = 200;
const MAX_NOTES_CHARS: usize = 10_000;

pub const KNOWN_FIELDS: &[&str] = &[
    "patient_nhs_number",
    "patient_name",
    "patient_dob",
    "hospital_number",
    "specialty",
    "letter_type",
    "priority",
    "clinician",
    "notes",
    // The letter's details (`crate::letters::recipients`).
    "patient_address",
    "gp_practice_name",
    "gp_ods_code",
    "gp_address",
    "addressee",
    "cc_patient",
    "cc_others",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self { field: field.to_string(), code, message: message.into() }
    }
}

/// Field name -> value as received.
pub type RawFields = HashMap<String, String>;

#[derive(Debug, Clone, Default)]
pub struct UploadFields {
    pub patient_nhs_number: Option<NhsNumber>,
    pub patient_name: Option<String>,
    pub patient_dob: Option<NaiveDate>,
    pub hospital_number: Option<String>,
    pub specialty: Option<String>,
    pub letter_type: Option<String>,
    pub priority: Priority,
    pub clinician: Option<String>,
    pub notes: Option<String>,
    /// The letter's patient and recipient details, when any were sent.
    pub letter: Option<crate::storage::letters::Details>,
}

fn text(raw: &RawFields, name: &str, max: usize) -> Result<Option<String>, FieldError> {
    let Some(value) = raw.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > max {
        return Err(FieldError::new(name, "validation_failed", format!("{name} is longer than {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(FieldError::new(name, "validation_failed", format!("{name} contains control characters")));
    }
    Ok(Some(value.to_string()))
}

impl UploadFields {
    pub fn parse(raw: &RawFields, today: NaiveDate) -> Result<Self, FieldError> {
        let patient_nhs_number = text(raw, "patient_nhs_number", MAX_FIELD_CHARS)?
            .map(|v| NhsNumber::parse(&v))
            .transpose()
            .map_err(|e| FieldError::new("patient_nhs_number", "invalid_nhs_number", e.to_string()))?;
        let patient_dob = text(raw, "patient_dob", MAX_FIELD_CHARS)?
            .map(|v| parse_dob(&v, today))
            .transpose()
            .map_err(|e| FieldError::new("patient_dob", "validation_failed", e))?;
        let priority = text(raw, "priority", MAX_FIELD_CHARS)?
            .map(|v| v.parse::<Priority>())
            .transpose()
            .map_err(|e| FieldError::new("priority", "validation_failed", e))?
            .unwrap_or_default();
        Ok(Self {
            patient_nhs_number,
            patient_name: text(raw, "patient_name", MAX_FIELD_CHARS)?,
            patient_dob,
            hospital_number: text(raw, "hospital_number", MAX_FIELD_CHARS)?,
            specialty: text(raw, "specialty", MAX_FIELD_CHARS)?,
            letter_type: text(raw, "letter_type", MAX_FIELD_CHARS)?,
            priority,
            clinician: text(raw, "clinician", MAX_FIELD_CHARS)?,
            notes: text(raw, "notes", MAX_NOTES_CHARS)?,
            letter: crate::letters::recipients::from_upload(raw)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawFields {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn field_errors_name_the_field() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let cases = [
            (raw(&[("patient_nhs_number", "9434765918")]), Some(("patient_nhs_number", "invalid_nhs_number"))),
            (raw(&[("patient_dob", "31/12/1960")]), Some(("patient_dob", "validation_failed"))),
            (raw(&[("priority", "asap")]), Some(("priority", "validation_failed"))),
            (raw(&[("patient_name", &"x".repeat(300))]), Some(("patient_name", "validation_failed"))),
            (raw(&[("patient_name", "A\u{0}B")]), Some(("patient_name", "validation_failed"))),
            (raw(&[("patient_nhs_number", "943 476 5919"), ("priority", "two_week_wait")]), None),
            (raw(&[]), None),
        ];
        for (input, expected) in cases {
            let got = UploadFields::parse(&input, today).err().map(|e| (e.field.clone(), e.code));
            assert_eq!(got, expected.map(|(f, c)| (f.to_string(), c)), "{input:?}");
        }
        let ok = UploadFields::parse(&raw(&[("priority", "urgent"), ("notes", " hi ")]), today).unwrap();
        assert_eq!(ok.priority, Priority::Urgent);
        assert_eq!(ok.notes.as_deref(), Some("hi"));
    }
}
