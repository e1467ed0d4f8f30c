//! What a letter is made from: the dictation's patient, recipients, author and approval,
//! as plain values (callers need not know storage rows), and the fields a template names.

use chrono::NaiveDate;

use super::{format_nhs, humanise, long_date};

/// Someone who signs or approves: the user's display name, grade and job title.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signatory {
    pub username: String,
    pub display_name: String,
    pub grade: Option<String>,
    pub job_title: Option<String>,
}

impl Signatory {
    /// The display name, or the username when no display name is set.
    pub fn name(&self) -> &str {
        if self.display_name.trim().is_empty() { &self.username } else { self.display_name.trim() }
    }

    /// "Dr Ann Patel, Consultant".
    pub fn name_and_grade(&self) -> String {
        match self.grade.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
            Some(g) => format!("{}, {g}", self.name()),
            None => self.name().to_string(),
        }
    }
}

/// A GP practice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Practice {
    pub name: String,
    /// The practice's ODS code, e.g. `A81001`.
    pub ods_code: Option<String>,
    pub address: Vec<String>,
}

/// The approval the letter carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub by: Signatory,
    pub on: NaiveDate,
    /// The approved draft version and the SHA-256 (hex) of its text.
    pub draft_version: Option<i64>,
    pub text_sha256: Option<String>,
}

/// Who the letter is addressed to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Addressee {
    /// The GP practice (when one is known), else the patient.
    #[default]
    Gp,
    Patient,
}

/// Everything about one letter.
#[derive(Debug, Clone, Default)]
pub struct LetterData {
    pub letter_type: Option<String>,
    pub department: Option<String>,
    /// The letter's date.
    pub date: Option<NaiveDate>,
    pub patient_name: Option<String>,
    pub patient_dob: Option<NaiveDate>,
    pub nhs_number: Option<String>,
    pub hospital_number: Option<String>,
    pub patient_address: Vec<String>,
    pub gp: Option<Practice>,
    pub addressee: Addressee,
    pub cc_patient: bool,
    /// Other recipients, one per entry ("Dr A Jones, Cardiology, Riverside Hospital").
    pub cc_others: Vec<String>,
    pub clinician: Signatory,
    pub approval: Option<Approval>,
    /// The letter text (the latest draft, else the recognised text).
    pub text: String,
}

/// The fields a template may require before approval.
pub const REQUIRABLE: &[&str] = &[
    "patient_name",
    "patient_dob",
    "nhs_number",
    "hospital_number",
    "patient_address",
    "gp_practice_name",
    "gp_ods_code",
    "gp_address",
];

/// Every one-line field a template may use in its text.
pub const TEXT_FIELDS: &[&str] = &[
    "date",
    "letter_title",
    "department",
    "patient_name",
    "patient_dob",
    "nhs_number",
    "hospital_number",
    "patient_address",
    "gp_practice_name",
    "gp_ods_code",
    "gp_address",
    "salutation",
    "clinician_name",
    "clinician_grade",
    "clinician_job_title",
];

fn some(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn joined(lines: &[String]) -> Option<String> {
    let parts: Vec<&str> = lines.iter().map(|l| l.trim()).filter(|l| !l.is_empty()).collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

impl LetterData {
    /// The GP practice, when one is named.
    pub fn practice(&self) -> Option<&Practice> {
        self.gp.as_ref().filter(|p| !p.name.trim().is_empty())
    }

    /// Whether the letter goes to the GP (the default when a practice is known).
    pub fn to_gp(&self) -> bool {
        self.addressee == Addressee::Gp && self.practice().is_some()
    }

    pub fn title(&self) -> String {
        self.letter_type.as_deref().map(humanise).unwrap_or_else(|| "Letter".into())
    }

    /// The value of a one-line field (`None` when it is empty or unknown).
    pub fn field(&self, name: &str) -> Option<String> {
        let practice = self.practice();
        match name {
            "date" => self.date.map(long_date),
            "letter_title" => Some(self.title()),
            "department" => some(&self.department),
            "patient_name" => some(&self.patient_name),
            "patient_dob" => self.patient_dob.map(long_date),
            "nhs_number" => some(&self.nhs_number).map(|n| format_nhs(&n)),
            "hospital_number" => some(&self.hospital_number),
            "patient_address" => joined(&self.patient_address),
            "gp_practice_name" => practice.map(|p| p.name.trim().to_string()),
            "gp_ods_code" => practice.and_then(|p| some(&p.ods_code)),
            "gp_address" => practice.and_then(|p| joined(&p.address)),
            "salutation" => Some(self.salutation()),
            "clinician_name" => Some(self.clinician.name().to_string()),
            "clinician_grade" => some(&self.clinician.grade),
            "clinician_job_title" => some(&self.clinician.job_title),
            _ => None,
        }
    }

    fn salutation(&self) -> String {
        match (self.to_gp(), some(&self.patient_name)) {
            (true, _) => "Doctor".into(),
            (false, Some(name)) => name,
            (false, None) => "Sir or Madam".into(),
        }
    }

    /// The addressee block: the GP practice (name, address) or the patient.
    pub fn addressee_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let (true, Some(p)) = (self.to_gp(), self.practice()) {
            lines.push("The General Practitioner".to_string());
            lines.push(p.name.trim().to_string());
            lines.extend(p.address.iter().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()));
        } else {
            lines.extend(some(&self.patient_name));
            lines.extend(self.patient_address.iter().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()));
        }
        lines
    }

    /// The "Re:" rows: who the letter is about.
    pub fn re_rows(&self) -> Vec<(String, String)> {
        let rows = [
            ("Re:", "patient_name"),
            ("Date of birth:", "patient_dob"),
            ("NHS number:", "nhs_number"),
            ("Hospital number:", "hospital_number"),
            ("Address:", "patient_address"),
        ];
        rows.iter().filter_map(|(label, f)| self.field(f).map(|v| (label.to_string(), v))).collect()
    }

    /// The signature block: name, grade, job title, department.
    pub fn signature_lines(&self) -> Vec<String> {
        let c = &self.clinician;
        let mut lines = vec![c.name().to_string()];
        lines.extend(some(&c.grade));
        lines.extend(some(&c.job_title));
        lines.extend(some(&self.department));
        lines
    }

    /// "Electronically approved by Dr Ann Patel, Consultant on 7 December 2026", or a draft note.
    pub fn approval_line(&self) -> String {
        match &self.approval {
            Some(a) => format!("Electronically approved by {} on {}", a.by.name_and_grade(), long_date(a.on)),
            None => "Draft: not yet approved by the clinician".to_string(),
        }
    }

    /// The copy recipients: the GP when the letter goes to the patient, the patient when
    /// asked, then the other recipients.
    pub fn cc_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let (false, Some(p)) = (self.to_gp(), self.practice()) {
            let ods = some(&p.ods_code).map(|c| format!(" ({c})")).unwrap_or_default();
            lines.push(format!("GP: {}{ods}", p.name.trim()));
        }
        if self.cc_patient && self.to_gp() {
            let name = some(&self.patient_name).unwrap_or_else(|| "the patient".into());
            match joined(&self.patient_address) {
                Some(addr) => lines.push(format!("Patient: {name}, {addr}")),
                None => lines.push(format!("Patient: {name}")),
            }
        }
        lines.extend(self.cc_others.iter().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()));
        lines
    }

    /// The required fields that are empty.
    pub fn missing<'a>(&self, required: &'a [String]) -> Vec<&'a str> {
        required.iter().map(String::as_str).filter(|f| self.field(f).is_none()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> LetterData {
        LetterData {
            patient_name: Some("Łukasz Nguyễn-Ōtsuka".into()),
            patient_dob: NaiveDate::from_ymd_opt(1961, 4, 2),
            nhs_number: Some("9434765919".into()),
            patient_address: vec!["1 High Street".into(), " ".into(), "Cardiff CF10 1AA".into()],
            gp: Some(Practice { name: "Bridge Surgery".into(), ods_code: Some("W97001".into()), address: vec![] }),
            clinician: Signatory {
                username: "dr.patel".into(),
                display_name: "Dr Ann Patel".into(),
                grade: Some("Consultant".into()),
                job_title: Some("Consultant ENT Surgeon".into()),
            },
            ..Default::default()
        }
    }

    #[test]
    fn addressee_re_signature_and_cc() {
        let mut d = data();
        d.cc_patient = true;
        d.cc_others = vec!["Dr B Jones, Cardiology".into(), "".into()];
        assert_eq!(d.addressee_lines(), vec!["The General Practitioner", "Bridge Surgery"]);
        assert_eq!(d.re_rows()[1], ("Date of birth:".into(), "2 April 1961".into()));
        assert_eq!(d.re_rows()[2], ("NHS number:".into(), "943 476 5919".into()));
        assert_eq!(d.field("patient_address").as_deref(), Some("1 High Street, Cardiff CF10 1AA"));
        assert_eq!(d.signature_lines(), vec!["Dr Ann Patel", "Consultant", "Consultant ENT Surgeon"]);
        assert_eq!(
            d.cc_lines(),
            vec!["Patient: Łukasz Nguyễn-Ōtsuka, 1 High Street, Cardiff CF10 1AA", "Dr B Jones, Cardiology"]
        );
        d.addressee = Addressee::Patient;
        assert_eq!(d.addressee_lines()[0], "Łukasz Nguyễn-Ōtsuka");
        assert_eq!(d.cc_lines()[0], "GP: Bridge Surgery (W97001)");
        assert_eq!(d.field("salutation").as_deref(), Some("Łukasz Nguyễn-Ōtsuka"));
    }

    #[test]
    fn approval_line_and_missing_fields() {
        let mut d = data();
        assert!(d.approval_line().starts_with("Draft"));
        d.approval = Some(Approval {
            by: d.clinician.clone(),
            on: NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
            draft_version: Some(2),
            text_sha256: None,
        });
        assert_eq!(d.approval_line(), "Electronically approved by Dr Ann Patel, Consultant on 7 December 2026");
        let required: Vec<String> = ["nhs_number", "hospital_number", "gp_address"].map(String::from).to_vec();
        assert_eq!(d.missing(&required), vec!["hospital_number", "gp_address"]);
    }
}
