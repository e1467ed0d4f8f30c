//! A minimal, valid Office Open XML (DOCX) document: a zip holding `[Content_Types].xml`,
//! the package relationships, and `word/document.xml` in WordprocessingML.

use std::io::Write;

use zip::write::SimpleFileOptions;

use super::{Block, Letter};

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;

const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#;

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

fn run(text: &str, bold: bool, size_half_points: u32) -> String {
    let b = if bold { "<w:b/>" } else { "" };
    format!(
        r#"<w:r><w:rPr>{b}<w:sz w:val="{size_half_points}"/></w:rPr><w:t xml:space="preserve">{}</w:t></w:r>"#,
        xml_escape(text)
    )
}

fn paragraph(runs: &[String], space_after_twips: u32) -> String {
    format!(r#"<w:p><w:pPr><w:spacing w:after="{space_after_twips}"/></w:pPr>{}</w:p>"#, runs.concat())
}

fn document_xml(letter: &Letter) -> String {
    let mut body = String::new();
    if let Some(d) = &letter.department {
        body.push_str(&paragraph(&[run(d, true, 24)], 0));
    }
    body.push_str(&paragraph(&[run(&letter.title, true, 32)], 120));
    body.push_str(&paragraph(&[run(&format!("Date: {}", letter.date), false, 22)], 240));
    for (label, value) in &letter.patient {
        body.push_str(&paragraph(&[run(&format!("{label}: "), true, 22), run(value, false, 22)], 0));
    }
    body.push_str(&paragraph(&[], 120));
    for block in &letter.body {
        match block {
            Block::Heading(h) => body.push_str(&paragraph(&[run(h, true, 24)], 60)),
            Block::Paragraph(p) => body.push_str(&paragraph(&[run(p, false, 22)], 160)),
        }
    }
    for line in &letter.footer {
        body.push_str(&paragraph(&[run(line, false, 20)], 0));
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1134" w:right="1134" w:bottom="1134" w:left="1134" w:header="709" w:footer="709" w:gutter="0"/></w:sectPr></w:body></w:document>"#
    )
}

/// The letter as DOCX bytes.
pub fn write(letter: &Letter) -> anyhow::Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in [
        ("[Content_Types].xml", CONTENT_TYPES.to_string()),
        ("_rels/.rels", RELS.to_string()),
        ("word/document.xml", document_xml(letter)),
    ] {
        zip.start_file(name, options)?;
        zip.write_all(text.as_bytes())?;
    }
    Ok(zip.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn letter() -> Letter {
        Letter {
            title: "Clinic letter".into(),
            department: Some("ENT".into()),
            date: "2026-11-23".into(),
            patient: vec![("Patient".into(), "Ann <Example> & Co".into())],
            body: vec![Block::Heading("Plan".into()), Block::Paragraph("Review in 6 weeks.\u{1}".into())],
            footer: vec!["Dictated by dr.patel".into()],
        }
    }

    #[test]
    fn a_zip_with_the_three_parts_and_escaped_text() {
        let bytes = write(&letter()).unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        for part in ["[Content_Types].xml", "_rels/.rels"] {
            assert!(archive.by_name(part).is_ok(), "{part}");
        }
        let mut xml = String::new();
        archive.by_name("word/document.xml").unwrap().read_to_string(&mut xml).unwrap();
        assert!(xml.contains("Ann &lt;Example&gt; &amp; Co"), "{xml}");
        assert!(xml.contains(">Review in 6 weeks.<"), "control characters are dropped: {xml}");
        assert_eq!(xml.matches("<w:p>").count(), xml.matches("</w:p>").count());
        assert!(xml.contains("<w:b/>"));
    }
}
