//! Letters as DOCX, written with `docx-rs` from the same blocks as the PDF: the letterhead
//! (logo at the right, organisation, department, address, contact), a rule, then the
//! template's blocks, the "Re:" and cc blocks as borderless tables.

use docx_rs::{
    AlignmentType, BorderType, Docx, LineSpacing, PageMargin, Paragraph, ParagraphBorder, ParagraphBorderPosition,
    ParagraphBorders, Pic, Run, RunFonts, Table, TableCell, TableRow, WidthType,
};

use super::{Block, Letter, Logo};

/// The text font: DOCX files name a font rather than carry it; Arial is on every office
/// machine and covers the same Latin, Greek and Vietnamese letters as the PDF's DejaVu Sans.
const FONT: &str = "Arial";
/// Half-points.
const BODY: usize = 21;
/// Twips (1/20 pt).
const TEXT_WIDTH: usize = 9638;
const EMU_PER_PT: f32 = 12_700.0;

fn run(text: &str, bold: bool, size: usize) -> Run {
    let r = Run::new().add_text(text).size(size);
    if bold { r.bold() } else { r }
}

fn para(runs: Vec<Run>, after_twips: u32) -> Paragraph {
    runs.into_iter().fold(Paragraph::new(), Paragraph::add_run).line_spacing(LineSpacing::new().after(after_twips))
}

fn logo_paragraph(logo: &Logo) -> Paragraph {
    let (w, h) = (logo.width_px.max(1) as f32, logo.height_px.max(1) as f32);
    let scale = (56.0 / h).min(170.0 / w);
    let pic = Pic::new_with_dimensions(logo.bytes.clone(), logo.width_px, logo.height_px)
        .size((w * scale * EMU_PER_PT) as u32, (h * scale * EMU_PER_PT) as u32);
    Paragraph::new().add_run(Run::new().add_image(pic)).align(AlignmentType::Right)
}

fn table(rows: &[(String, String)]) -> Table {
    let label_w = 2000;
    let rows = rows
        .iter()
        .map(|(label, value)| {
            TableRow::new(vec![
                TableCell::new().width(label_w, WidthType::Dxa).add_paragraph(para(vec![run(label, true, BODY)], 0)),
                TableCell::new()
                    .width(TEXT_WIDTH - label_w, WidthType::Dxa)
                    .add_paragraph(para(vec![run(value, false, BODY)], 0)),
            ])
        })
        .collect();
    Table::without_borders(rows).set_grid(vec![label_w, TEXT_WIDTH - label_w]).width(TEXT_WIDTH, WidthType::Dxa)
}

fn letterhead(mut doc: Docx, letter: &Letter) -> Docx {
    let head = &letter.letterhead;
    if let Some(logo) = &head.logo {
        doc = doc.add_paragraph(logo_paragraph(logo));
    }
    if !head.organisation.trim().is_empty() {
        doc = doc.add_paragraph(para(vec![run(&head.organisation, true, 26)], 0));
    }
    if let Some(d) = &letter.department {
        doc = doc.add_paragraph(para(vec![run(d, true, 22)], 0));
    }
    for l in &head.address {
        doc = doc.add_paragraph(para(vec![run(l, false, 18)], 0));
    }
    let contact: Vec<String> = [("Tel", &head.phone), ("Email", &head.email)]
        .iter()
        .filter_map(|(k, v)| v.as_deref().filter(|v| !v.trim().is_empty()).map(|v| format!("{k}: {v}")))
        .collect();
    let rule = ParagraphBorders::with_empty()
        .set(ParagraphBorder::new(ParagraphBorderPosition::Bottom).val(BorderType::Single).size(8).color("005EB8"));
    let mut last = para(vec![run(&contact.join("   "), false, 18)], 280);
    last.property = last.property.set_borders(rule);
    doc.add_paragraph(last)
}

/// The letter as DOCX bytes.
pub fn write(letter: &Letter) -> anyhow::Result<Vec<u8>> {
    let mut doc = Docx::new()
        .page_size(11906, 16838)
        .page_margin(PageMargin::new().top(1134).bottom(1134).left(1134).right(1134))
        .default_fonts(RunFonts::new().ascii(FONT).hi_ansi(FONT).cs(FONT).east_asia(FONT))
        .default_size(BODY);
    doc = letterhead(doc, letter);
    for block in &letter.blocks {
        doc = match block {
            Block::Heading(h) => doc.add_paragraph(para(vec![run(h, true, 23)], 60).keep_next(true)),
            Block::Lines(lines) => {
                let last = lines.len().saturating_sub(1);
                lines.iter().enumerate().fold(doc, |doc, (i, l)| {
                    doc.add_paragraph(para(vec![run(l, false, BODY)], if i == last { 160 } else { 0 }))
                })
            }
            Block::Paragraph(p) => doc.add_paragraph(para(vec![run(p, false, BODY)], 140)),
            Block::Table(rows) => doc.add_table(table(rows)).add_paragraph(para(vec![], 0)),
        };
    }
    let mut out = std::io::Cursor::new(Vec::new());
    doc.build().pack(&mut out)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::letters::Letterhead;

    #[test]
    fn a_docx_with_the_letterhead_blocks_and_escaped_text() {
        let letter = Letter {
            letterhead: Letterhead { organisation: "Riverside Trust".into(), ..Default::default() },
            department: Some("ENT".into()),
            title: "Clinic letter".into(),
            blocks: vec![
                Block::Table(vec![("Re:".into(), "Ann <Example> & Łukasz".into())]),
                Block::Heading("Plan".into()),
                Block::Paragraph("Review in 6 weeks.".into()),
            ],
            body: 1..3,
        };
        let bytes = write(&letter).unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut xml = String::new();
        archive.by_name("word/document.xml").unwrap().read_to_string(&mut xml).unwrap();
        for want in
            ["Riverside Trust", "ENT", "Ann &lt;Example&gt; &amp; Łukasz", "Plan", "Review in 6 weeks.", "<w:tbl>"]
        {
            assert!(xml.contains(want), "{want} in {xml}");
        }
    }
}
