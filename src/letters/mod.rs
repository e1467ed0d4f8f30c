//! Letters: a dictation's draft laid out by its letter template (`template`) with the
//! trust letterhead, the addressee, the "Re:" block, the signature block and the cc list,
//! then written as PDF (`pdf`) or DOCX (`docx`) from the same blocks, or as a FHIR R4
//! document Bundle (`fhir`). No HTTP types here.

pub mod assemble;
pub mod data;
pub mod dispatch;
pub mod docx;
pub mod fhir;
pub mod pdf;
pub mod recipients;
pub mod template;

use chrono::{Datelike, NaiveDate};

pub use data::{Addressee, Approval, LetterData, Practice, Signatory};
pub use recipients::LettersConfig;

/// Headings of the PRSB outpatient letter standard (case-insensitive, with or without a
/// trailing colon): a line of the draft that is one of a template's headings is set as a
/// heading. A template may name its own list (`@headings`).
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

/// One block of a laid-out letter; the PDF and DOCX writers set the same blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Heading(String),
    /// Lines kept as they are (an address, a signature, "Yours sincerely,").
    Lines(Vec<String>),
    /// Running text, wrapped to the page.
    Paragraph(String),
    /// Label / value rows (the "Re:" block).
    Table(Vec<(String, String)>),
}

/// An image for the letterhead, checked when it was uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    pub bytes: Vec<u8>,
    pub width_px: u32,
    pub height_px: u32,
}

/// The trust's (or a department's) letterhead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Letterhead {
    /// e.g. "Riverside University Hospitals NHS Foundation Trust".
    pub organisation: String,
    /// Address lines, top to bottom.
    pub address: Vec<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub logo: Option<Logo>,
}

/// A letter ready to be written in any format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub letterhead: Letterhead,
    /// The department's name under the letterhead, if known.
    pub department: Option<String>,
    /// e.g. "Clinic letter" (the document's title and the FHIR Composition's).
    pub title: String,
    pub blocks: Vec<Block>,
    /// Which of `blocks` came from the dictated text (the rest is the template's).
    pub body: std::ops::Range<usize>,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A date as letters write it: `7 December 2026`.
pub fn long_date(d: NaiveDate) -> String {
    format!("{} {} {}", d.day(), MONTHS[d.month0() as usize], d.year())
}

/// `9434765919` as `943 476 5919`; anything else unchanged.
pub fn format_nhs(n: &str) -> String {
    if n.len() == 10 && n.bytes().all(|b| b.is_ascii_digit()) {
        format!("{} {} {}", &n[..3], &n[3..6], &n[6..])
    } else {
        n.to_string()
    }
}

/// XML text content: escapes markup and drops characters XML 1.0 does not allow.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// `clinic_letter` as `Clinic letter`.
pub fn humanise(s: &str) -> String {
    let s = s.replace(['_', '-'], " ");
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn heading_of(line: &str, headings: &[String]) -> Option<String> {
    let t = line.trim();
    let bare = t.strip_suffix(':').unwrap_or(t).trim();
    headings.iter().find(|h| h.eq_ignore_ascii_case(bare)).map(|_| bare.to_string())
}

/// Splits draft text into headings and paragraphs: blank lines separate paragraphs, a line that
/// is one of `headings` is a heading, single line breaks inside a paragraph are kept as spaces.
pub fn body_blocks(text: &str, headings: &[String]) -> Vec<Block> {
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
        } else if let Some(h) = heading_of(line, headings) {
            flush(&mut para, &mut out);
            out.push(Block::Heading(h));
        } else {
            para.push(line.trim());
        }
    }
    flush(&mut para, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_and_paragraphs() {
        let headings: Vec<String> = HEADINGS.iter().map(|h| h.to_string()).collect();
        let b = body_blocks(
            "Dear Dr Smith,\n\nDiagnoses:\nOtitis media\nleft ear\n\nplan\nReview in 6 weeks.\n",
            &headings,
        );
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
    fn dates_and_numbers_as_letters_write_them() {
        let cases =
            [((2026, 12, 7), "7 December 2026"), ((1961, 4, 2), "2 April 1961"), ((2000, 1, 31), "31 January 2000")];
        for ((y, m, d), want) in cases {
            assert_eq!(long_date(NaiveDate::from_ymd_opt(y, m, d).unwrap()), want);
        }
        assert_eq!(format_nhs("9434765919"), "943 476 5919");
        assert_eq!(format_nhs("943"), "943");
        assert_eq!(humanise("discharge_summary"), "Discharge summary");
    }
}
