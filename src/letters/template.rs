//! The letter template language, and the four shipped templates.
//!
//! A template is plain text, line by line:
//! - `@title Clinic letter`: the letter's title (default: its letter type);
//! - `@require nhs_number, gp_practice_name`: fields that must be filled in before approval;
//! - `@headings Diagnoses; Plan`: the draft lines set as headings (default: the PRSB list);
//! - `{{addressee}}`, `{{re}}`, `{{body}}`, `{{signature}}`, `{{approval}}`, `{{cc}}` alone on
//!   a line place that block (`{{body}}` exactly once);
//! - `## text` is a heading; other lines are kept as they are, a blank line ends a group;
//! - `{{field}}` inside a line is replaced by the field's value; a line whose fields are
//!   all empty is left out.

use super::data::{LetterData, REQUIRABLE, TEXT_FIELDS};
use super::{Block, HEADINGS, Letter, Letterhead, body_blocks};

/// The block fields (alone on a line).
pub const BLOCK_FIELDS: &[&str] = &["addressee", "re", "body", "signature", "approval", "cc"];

/// The shipped templates: (letter type, text).
pub const SHIPPED: &[(&str, &str)] = &[
    ("clinic_letter", include_str!("templates/clinic_letter.txt")),
    ("discharge_summary", include_str!("templates/discharge_summary.txt")),
    ("mdt_outcome", include_str!("templates/mdt_outcome.txt")),
    ("plain", include_str!("templates/plain.txt")),
];

/// The shipped template for a letter type (the plain letter for any other type).
pub fn shipped(letter_type: Option<&str>) -> &'static str {
    let plain = SHIPPED[3].1;
    letter_type.and_then(|t| SHIPPED.iter().find(|(k, _)| *k == t)).map_or(plain, |(_, text)| text)
}

/// A problem in a template, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TemplateError {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Block(&'static str),
    Heading(String),
    Text(String),
    Blank,
}

/// A parsed, checked template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub title: Option<String>,
    pub required: Vec<String>,
    pub headings: Vec<String>,
    items: Vec<Item>,
}

const MAX_TEMPLATE_CHARS: usize = 20_000;

fn list(rest: &str, sep: char) -> Vec<String> {
    rest.split(sep).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// The `{{name}}` fields of a line, in order; an unclosed `{{` is an error.
fn fields_in(line: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| "a {{ without its }}".to_string())?;
        out.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    Ok(out)
}

fn check_text_fields(line: &str) -> Result<(), String> {
    for f in fields_in(line)? {
        if BLOCK_FIELDS.contains(&f) {
            return Err(format!("{{{{{f}}}}} must be alone on its line"));
        }
        if !TEXT_FIELDS.contains(&f) {
            return Err(format!("unknown field {f:?}; known fields: {}", TEXT_FIELDS.join(", ")));
        }
    }
    Ok(())
}

impl Template {
    /// Parses and checks a template; every problem is reported with its line.
    pub fn parse(text: &str) -> Result<Template, Vec<TemplateError>> {
        let mut errors = Vec::new();
        if text.chars().count() > MAX_TEMPLATE_CHARS {
            errors.push(TemplateError { line: 1, message: format!("longer than {MAX_TEMPLATE_CHARS} characters") });
            return Err(errors);
        }
        let mut t = Template { title: None, required: Vec::new(), headings: Vec::new(), items: Vec::new() };
        let mut bodies = 0;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_end();
            let mut fail = |m: String| errors.push(TemplateError { line: i + 1, message: m });
            if let Some(rest) = line.strip_prefix("@title ") {
                t.title = Some(rest.trim().to_string()).filter(|s| !s.is_empty());
            } else if let Some(rest) = line.strip_prefix("@require ") {
                for f in list(rest, ',') {
                    if !REQUIRABLE.contains(&f.as_str()) {
                        fail(format!("{f:?} cannot be required; choose from {}", REQUIRABLE.join(", ")));
                    }
                    t.required.push(f);
                }
            } else if let Some(rest) = line.strip_prefix("@headings ") {
                t.headings = list(rest, ';');
            } else if line.starts_with('@') {
                fail(format!(
                    "unknown directive {:?} (@title, @require, @headings)",
                    line.split(' ').next().unwrap_or("")
                ));
            } else if let Some(block) = BLOCK_FIELDS.iter().find(|b| line.trim() == format!("{{{{{b}}}}}")) {
                bodies += usize::from(*block == "body");
                t.items.push(Item::Block(block));
            } else if let Some(h) = line.strip_prefix("## ") {
                check_text_fields(h).unwrap_or_else(&mut fail);
                t.items.push(Item::Heading(h.trim().to_string()));
            } else if line.trim().is_empty() {
                t.items.push(Item::Blank);
            } else {
                check_text_fields(line).unwrap_or_else(&mut fail);
                t.items.push(Item::Text(line.trim().to_string()));
            }
        }
        if bodies != 1 {
            errors
                .push(TemplateError { line: 1, message: format!("{{{{body}}}} must appear once, not {bodies} times") });
        }
        if t.headings.is_empty() {
            t.headings = HEADINGS.iter().map(|h| h.to_string()).collect();
        }
        if errors.is_empty() { Ok(t) } else { Err(errors) }
    }

    /// The letter: the template's items filled in from `data`.
    pub fn render(&self, data: &LetterData, letterhead: Letterhead) -> Letter {
        let mut blocks = Vec::new();
        let mut group: Vec<String> = Vec::new();
        let mut body = 0..0;
        let flush = |group: &mut Vec<String>, blocks: &mut Vec<Block>| {
            if !group.is_empty() {
                blocks.push(Block::Lines(std::mem::take(group)));
            }
        };
        for item in &self.items {
            match item {
                Item::Text(line) => group.extend(fill(line, data)),
                Item::Blank => flush(&mut group, &mut blocks),
                Item::Heading(h) => {
                    flush(&mut group, &mut blocks);
                    blocks.extend(fill(h, data).map(Block::Heading));
                }
                Item::Block(b) => {
                    flush(&mut group, &mut blocks);
                    let start = blocks.len();
                    blocks.extend(block(b, data, &self.headings));
                    if *b == "body" {
                        body = start..blocks.len();
                    }
                }
            }
        }
        flush(&mut group, &mut blocks);
        Letter {
            letterhead,
            department: data.department.clone().filter(|d| !d.trim().is_empty()),
            title: self.title.clone().unwrap_or_else(|| data.title()),
            blocks,
            body,
        }
    }
}

/// A text line with its fields replaced; `None` when it has fields and all are empty.
fn fill(line: &str, data: &LetterData) -> Option<String> {
    let mut out = String::new();
    let (mut fields, mut filled) = (0, 0);
    let mut rest = line;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        fields += 1;
        if let Some(v) = data.field(after[..end].trim()) {
            filled += 1;
            out.push_str(&v);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    (fields == 0 || filled > 0).then_some(out)
}

fn block(name: &str, data: &LetterData, headings: &[String]) -> Vec<Block> {
    let lines = |l: Vec<String>| if l.is_empty() { vec![] } else { vec![Block::Lines(l)] };
    match name {
        "addressee" => lines(data.addressee_lines()),
        "re" => {
            let rows = data.re_rows();
            if rows.is_empty() { vec![] } else { vec![Block::Table(rows)] }
        }
        "body" => body_blocks(&data.text, headings),
        "signature" => lines(data.signature_lines()),
        "approval" => vec![Block::Paragraph(data.approval_line())],
        "cc" => {
            let cc = data.cc_lines();
            if cc.is_empty() { vec![] } else { vec![Block::Table(cc.into_iter().map(|l| ("cc:".into(), l)).collect())] }
        }
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::letters::data::{Practice, Signatory};

    #[test]
    fn the_shipped_templates_parse() {
        for (kind, text) in SHIPPED {
            let t = Template::parse(text).unwrap_or_else(|e| panic!("{kind}: {e:?}"));
            assert!(t.title.is_some(), "{kind}");
        }
        assert_eq!(shipped(Some("nope")), SHIPPED[3].1);
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("{{body}}\nHello {{patient_nmae}}", 2, "unknown field"),
            ("{{body}}\n{{body}}", 1, "must appear once"),
            ("Dear {{salutation}}", 1, "must appear once"),
            ("{{body}}\n@require nhs_number, date", 2, "cannot be required"),
            ("{{body}}\n@colour red", 2, "unknown directive"),
            ("{{body}}\nRe: {{re}}", 2, "alone on its line"),
            ("{{body}}\nDear {{salutation", 2, "without its"),
        ];
        for (text, line, message) in cases {
            let errors = Template::parse(text).unwrap_err();
            assert!(errors.iter().any(|e| e.line == line && e.message.contains(message)), "{text:?}: {errors:?}");
        }
    }

    #[test]
    fn render_fills_fields_and_leaves_out_empty_lines() {
        let t = Template::parse(
            "@title Clinic letter\n@require nhs_number\n{{addressee}}\n\n{{date}}\n\nDear {{salutation}},\n\
             Hospital no. {{hospital_number}}\n\n## Summary for {{patient_name}}\n{{body}}\n\nYours sincerely,\n\n{{signature}}\n{{approval}}",
        )
        .unwrap();
        assert_eq!(t.required, vec!["nhs_number"]);
        let data = LetterData {
            date: NaiveDate::from_ymd_opt(2026, 12, 7),
            patient_name: Some("Siân Ŵyn".into()),
            gp: Some(Practice { name: "Bridge Surgery".into(), ods_code: None, address: vec!["Bridge Road".into()] }),
            clinician: Signatory { username: "dr.p".into(), display_name: "Dr P".into(), ..Default::default() },
            text: "Plan:\nReview.".into(),
            ..Default::default()
        };
        let letter = t.render(&data, Letterhead::default());
        assert_eq!(letter.title, "Clinic letter");
        assert_eq!(
            letter.blocks,
            vec![
                Block::Lines(vec!["The General Practitioner".into(), "Bridge Surgery".into(), "Bridge Road".into()]),
                Block::Lines(vec!["7 December 2026".into()]),
                Block::Lines(vec!["Dear Doctor,".into()]),
                Block::Heading("Summary for Siân Ŵyn".into()),
                Block::Heading("Plan".into()),
                Block::Paragraph("Review.".into()),
                Block::Lines(vec!["Yours sincerely,".into()]),
                Block::Lines(vec!["Dr P".into()]),
                Block::Paragraph("Draft: not yet approved by the clinician".into()),
            ]
        );
    }
}
