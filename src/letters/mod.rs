//! Letters: a dictation's draft laid out as a clinical letter (PRSB-style headings, the patient
//! block filled in) and written as DOCX (`docx`) or PDF (`pdf`). No HTTP types here.

pub mod docx;
pub mod pdf;

/// Headings a line may be (case-insensitive, with or without a trailing colon), after the
/// PRSB outpatient letter standard; such lines are set as headings in the exported letter.
pub const HEADINGS: &[&str] = &[
    "Diagnoses",
    "Diagnosis",
    "Clinical summary",
    "Presenting complaint",
    "History",
    "Examination",
    "Investigation results",
    "Investigations",
    "Procedures",
    "Medications",
    "Medication changes",
    "Allergies and adverse reactions",
    "Plan",
    "Actions for GP",
    "Actions for the GP",
    "Information given to the patient",
    "Follow up",
    "Outcome",
];

/// One block of the letter body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Heading(String),
    Paragraph(String),
}

/// A letter ready to be written in any format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    /// e.g. "Clinic letter".
    pub title: String,
    /// The department (specialty), if known.
    pub department: Option<String>,
    /// The letter date, `YYYY-MM-DD`.
    pub date: String,
    /// Patient identification lines: (label, value).
    pub patient: Vec<(String, String)>,
    pub body: Vec<Block>,
    /// Closing lines: who dictated, who typed, the letter's state.
    pub footer: Vec<String>,
}

/// What a letter is made from (plain values, so callers need not know storage rows).
#[derive(Debug, Clone, Default)]
pub struct LetterSource {
    pub letter_type: Option<String>,
    pub specialty: Option<String>,
    pub date: String,
    pub patient_name: Option<String>,
    pub patient_dob: Option<String>,
    pub nhs_number: Option<String>,
    pub hospital_number: Option<String>,
    pub text: String,
    pub clinician: Option<String>,
    pub typed_by: Option<String>,
    pub status: Option<String>,
}

/// `9434765919` as `943 476 5919`; anything else unchanged.
pub fn format_nhs(n: &str) -> String {
    if n.len() == 10 && n.bytes().all(|b| b.is_ascii_digit()) {
        format!("{} {} {}", &n[..3], &n[3..6], &n[6..])
    } else {
        n.to_string()
    }
}

fn humanise(s: &str) -> String {
    let s = s.replace(['_', '-'], " ");
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn heading_of(line: &str) -> Option<String> {
    let t = line.trim();
    let bare = t.strip_suffix(':').unwrap_or(t).trim();
    HEADINGS.iter().find(|h| h.eq_ignore_ascii_case(bare)).map(|_| bare.to_string())
}

/// Splits draft text into headings and paragraphs: blank lines separate paragraphs, a line that
/// is one of `HEADINGS` is a heading, single line breaks inside a paragraph are kept as spaces.
pub fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut para: Vec<&str> = Vec::new();
    let flush = |para: &mut Vec<&str>, out: &mut Vec<Block>| {
        if !para.is_empty() {
            out.push(Block::Paragraph(para.join(" ")));
            para.clear();
        }
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            flush(&mut para, &mut out);
        } else if let Some(h) = heading_of(line) {
            flush(&mut para, &mut out);
            out.push(Block::Heading(h));
        } else {
            para.push(line.trim());
        }
    }
    flush(&mut para, &mut out);
    out
}

impl Letter {
    pub fn from_source(src: &LetterSource) -> Letter {
        let mut patient = Vec::new();
        let mut push = |label: &str, v: &Option<String>| {
            if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                patient.push((label.to_string(), v.to_string()));
            }
        };
        push("Patient", &src.patient_name);
        push("Date of birth", &src.patient_dob);
        push("NHS number", &src.nhs_number.as_deref().map(format_nhs));
        push("Hospital number", &src.hospital_number);
        let mut footer = Vec::new();
        if let Some(c) = &src.clinician {
            footer.push(format!("Dictated by {c}"));
        }
        if let Some(t) = &src.typed_by {
            footer.push(format!("Typed by {t}"));
        }
        if let Some(s) = &src.status {
            let note = match s.as_str() {
                "approved" | "dispatched" => "Approved by the clinician".to_string(),
                other => format!("Draft, not yet approved ({})", humanise(other).to_lowercase()),
            };
            footer.push(note);
        }
        Letter {
            title: src.letter_type.as_deref().map(humanise).unwrap_or_else(|| "Letter".into()),
            department: src.specialty.clone().filter(|s| !s.trim().is_empty()),
            date: src.date.clone(),
            patient,
            body: blocks(&src.text),
            footer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_and_paragraphs() {
        let b = blocks("Dear Dr Smith,\n\nDiagnoses:\nOtitis media\nleft ear\n\nplan\nReview in 6 weeks.\n");
        assert_eq!(
            b,
            vec![
                Block::Paragraph("Dear Dr Smith,".into()),
                Block::Heading("Diagnoses".into()),
                Block::Paragraph("Otitis media left ear".into()),
                Block::Heading("plan".into()),
                Block::Paragraph("Review in 6 weeks.".into()),
            ]
        );
    }

    #[test]
    fn patient_block_and_footer() {
        let src = LetterSource {
            letter_type: Some("clinic_letter".into()),
            nhs_number: Some("9434765919".into()),
            patient_name: Some("Ann Example".into()),
            patient_dob: Some(" ".into()),
            clinician: Some("dr.patel".into()),
            status: Some("awaiting_review".into()),
            ..Default::default()
        };
        let l = Letter::from_source(&src);
        assert_eq!(l.title, "Clinic letter");
        assert_eq!(
            l.patient,
            vec![("Patient".into(), "Ann Example".into()), ("NHS number".into(), "943 476 5919".into())]
        );
        assert_eq!(l.footer, vec!["Dictated by dr.patel", "Draft, not yet approved (awaiting review)"]);
    }
}
