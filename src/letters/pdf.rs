//! Letters as PDF, set with `printpdf`: A4 pages, DejaVu Sans embedded (subset) so every
//! script a patient's name may be in prints as written, the letterhead with its logo,
//! word wrapping by the font's own glyph widths, tables for the "Re:" and cc blocks, and
//! "Page n of m" on every page.

use std::sync::OnceLock;

use printpdf::{
    Color, FontId, Line, LinePoint, Op, ParsedFont, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt,
    RawImage, Rgb, TextItem, XObjectTransform,
};

use super::{Block, Letter, Logo};

const REGULAR_TTF: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");
const BOLD_TTF: &[u8] = include_bytes!("fonts/DejaVuSans-Bold.ttf");

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 56.0;
const BOTTOM: f32 = 60.0;
const BODY: f32 = 10.5;
const LEADING: f32 = 1.35;
const LOGO_MAX_H: f32 = 56.0;
const LOGO_MAX_W: f32 = 170.0;

fn parsed(bytes: &'static [u8], cell: &'static OnceLock<Option<ParsedFont>>) -> anyhow::Result<&'static ParsedFont> {
    cell.get_or_init(|| ParsedFont::from_bytes(bytes, 0, &mut Vec::new()))
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the shipped letter font could not be read"))
}

fn fonts() -> anyhow::Result<(&'static ParsedFont, &'static ParsedFont)> {
    static REGULAR: OnceLock<Option<ParsedFont>> = OnceLock::new();
    static BOLD: OnceLock<Option<ParsedFont>> = OnceLock::new();
    Ok((parsed(REGULAR_TTF, &REGULAR)?, parsed(BOLD_TTF, &BOLD)?))
}

/// A font as added to the document, with what is needed to measure text in it.
struct Face {
    font: &'static ParsedFont,
    id: FontId,
}

impl Face {
    /// Width of `s` in points at `size`, from the font's advance widths.
    fn width(&self, s: &str, size: f32) -> f32 {
        let em = f32::from(self.font.units_per_em.max(1));
        let units: u32 = s
            .chars()
            .map(|c| {
                let gid = self.font.lookup_glyph_index(c as u32).unwrap_or(0);
                u32::from(self.font.get_glyph_width(gid).unwrap_or(self.font.units_per_em / 2))
            })
            .sum();
        units as f32 * size / em
    }

    /// Greedy word wrap to `width` points; a word longer than a line is cut.
    fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
            if self.width(&candidate, size) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let mut rest = word.to_string();
            while self.width(&rest, size) > width && rest.chars().count() > 1 {
                let mut cut: String = String::new();
                for c in rest.chars() {
                    if !cut.is_empty() && self.width(&format!("{cut}{c}"), size) > width {
                        break;
                    }
                    cut.push(c);
                }
                rest = rest[cut.len()..].to_string();
                lines.push(cut);
            }
            line = rest;
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }
}

/// Pages being filled top to bottom.
struct Layout {
    regular: Face,
    bold: Face,
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Layout {
    fn ops(&mut self) -> &mut Vec<Op> {
        self.pages.last_mut().expect("a page")
    }

    /// Moves down by `h`, starting a new page when the line would not fit.
    fn advance(&mut self, h: f32) {
        if self.y - h < BOTTOM {
            self.pages.push(Vec::new());
            self.y = PAGE_H - MARGIN;
        }
        self.y -= h;
    }

    fn text_at(&mut self, x: f32, y: f32, s: &str, size: f32, bold: bool) {
        let font = if bold { self.bold.id.clone() } else { self.regular.id.clone() };
        self.ops().extend([
            Op::StartTextSection,
            Op::SetFont { font: PdfFontHandle::External(font), size: Pt(size) },
            Op::SetTextCursor { pos: Point { x: Pt(x), y: Pt(y) } },
            Op::ShowText { items: vec![TextItem::Text(s.to_string())] },
            Op::EndTextSection,
        ]);
    }

    /// One line of text at the left margin (+ `indent`).
    fn line(&mut self, s: &str, size: f32, bold: bool, indent: f32) {
        self.advance(size * LEADING);
        let y = self.y;
        self.text_at(MARGIN + indent, y, s, size, bold);
    }

    fn wrapped(&mut self, s: &str, size: f32, bold: bool) {
        let face = if bold { &self.bold } else { &self.regular };
        for l in face.wrap(s, size, PAGE_W - 2.0 * MARGIN) {
            self.line(&l, size, bold, 0.0);
        }
    }

    fn rule(&mut self, y: f32) {
        let p = |x: f32| LinePoint { p: Point { x: Pt(x), y: Pt(y) }, bezier: false };
        self.ops().extend([
            Op::SetOutlineColor { col: Color::Rgb(Rgb { r: 0.0, g: 0.37, b: 0.72, icc_profile: None }) },
            Op::SetOutlineThickness { pt: Pt(1.2) },
            Op::DrawLine { line: Line { points: vec![p(MARGIN), p(PAGE_W - MARGIN)], is_closed: false } },
        ]);
    }

    /// Label / value rows: labels in bold in a column as wide as the widest.
    fn table(&mut self, rows: &[(String, String)]) {
        let label_w = rows.iter().map(|(l, _)| self.bold.width(l, BODY)).fold(0.0, f32::max) + 10.0;
        for (label, value) in rows {
            let lines = self.regular.wrap(value, BODY, PAGE_W - 2.0 * MARGIN - label_w);
            for (i, l) in lines.iter().enumerate() {
                self.advance(BODY * LEADING);
                let y = self.y;
                if i == 0 {
                    self.text_at(MARGIN, y, label, BODY, true);
                }
                self.text_at(MARGIN + label_w, y, l, BODY, false);
            }
        }
    }

    fn block(&mut self, block: &Block) {
        match block {
            Block::Heading(h) => {
                self.advance(4.0);
                self.wrapped(h, 11.5, true);
                self.advance(2.0);
            }
            Block::Lines(lines) => {
                for l in lines {
                    self.wrapped(l, BODY, false);
                }
                self.advance(8.0);
            }
            Block::Paragraph(p) => {
                self.wrapped(p, BODY, false);
                self.advance(7.0);
            }
            Block::Table(rows) => {
                self.table(rows);
                self.advance(8.0);
            }
        }
    }
}

/// Places the logo at the top right; returns its height in points.
fn logo(doc: &mut PdfDocument, ops: &mut Vec<Op>, logo: &Logo) -> anyhow::Result<f32> {
    let image = RawImage::decode_from_bytes(&logo.bytes, &mut Vec::new())
        .map_err(|e| anyhow::anyhow!("the letterhead logo cannot be read: {e}"))?;
    let (w, h) = (image.width.max(1) as f32, image.height.max(1) as f32);
    let scale = (LOGO_MAX_H / h).min(LOGO_MAX_W / w);
    let id = doc.add_image(&image);
    ops.push(Op::UseXobject {
        id,
        transform: XObjectTransform {
            translate_x: Some(Pt(PAGE_W - MARGIN - w * scale)),
            translate_y: Some(Pt(PAGE_H - MARGIN + 12.0 - h * scale)),
            scale_x: Some(scale),
            scale_y: Some(scale),
            dpi: Some(72.0),
            ..Default::default()
        },
    });
    Ok(h * scale)
}

/// The letter as PDF bytes.
pub fn write(letter: &Letter) -> anyhow::Result<Vec<u8>> {
    let (regular, bold) = fonts()?;
    let mut doc = PdfDocument::new(&letter.title);
    let regular = Face { font: regular, id: doc.add_font(regular) };
    let bold = Face { font: bold, id: doc.add_font(bold) };
    let mut first = Vec::new();
    let logo_h = match &letter.letterhead.logo {
        Some(l) => logo(&mut doc, &mut first, l)?,
        None => 0.0,
    };
    let mut layout = Layout { regular, bold, pages: vec![first], y: PAGE_H - MARGIN + 12.0 };
    let head = &letter.letterhead;
    let top = layout.y;
    if !head.organisation.trim().is_empty() {
        layout.wrapped(&head.organisation, 13.0, true);
    }
    if let Some(d) = &letter.department {
        layout.line(d, 11.0, true, 0.0);
    }
    for l in &head.address {
        layout.line(l, 9.0, false, 0.0);
    }
    let contact: Vec<String> = [("Tel", &head.phone), ("Email", &head.email)]
        .iter()
        .filter_map(|(k, v)| v.as_deref().filter(|v| !v.trim().is_empty()).map(|v| format!("{k}: {v}")))
        .collect();
    if !contact.is_empty() {
        layout.line(&contact.join("   "), 9.0, false, 0.0);
    }
    layout.y = layout.y.min(top - logo_h) - 8.0;
    let y = layout.y;
    layout.rule(y);
    layout.advance(14.0);
    for block in &letter.blocks {
        layout.block(block);
    }
    let total = layout.pages.len();
    let Layout { pages, regular, .. } = layout;
    let mut out = Vec::with_capacity(total);
    for (i, mut ops) in pages.into_iter().enumerate() {
        let footer = format!("Page {} of {total}", i + 1);
        let x = PAGE_W - MARGIN - regular.width(&footer, 8.0);
        ops.extend([
            Op::StartTextSection,
            Op::SetFont { font: PdfFontHandle::External(regular.id.clone()), size: Pt(8.0) },
            Op::SetTextCursor { pos: Point { x: Pt(x), y: Pt(30.0) } },
            Op::ShowText { items: vec![TextItem::Text(footer)] },
            Op::EndTextSection,
        ]);
        out.push(PdfPage::new(printpdf::Mm(210.0), printpdf::Mm(297.0), ops));
    }
    Ok(doc.with_pages(out).save(&PdfSaveOptions::default(), &mut Vec::new()))
}

/// Checks an uploaded letterhead image (PNG, which both PDF and DOCX carry); returns it with its size.
pub fn check_logo(bytes: Vec<u8>) -> Result<Logo, String> {
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err("the logo must be a PNG image".into());
    }
    let image =
        RawImage::decode_from_bytes(&bytes, &mut Vec::new()).map_err(|e| format!("the PNG cannot be read: {e}"))?;
    if image.width == 0 || image.height == 0 || image.width > 4000 || image.height > 4000 {
        return Err(format!("the image is {}x{} pixels; at most 4000x4000", image.width, image.height));
    }
    Ok(Logo { bytes, width_px: image.width as u32, height_px: image.height as u32 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_come_from_the_font_and_wrapping_respects_them() {
        let (regular, _) = fonts().unwrap();
        let mut doc = PdfDocument::new("t");
        let face = Face { font: regular, id: doc.add_font(regular) };
        assert!(face.width("WWW", 10.0) > face.width("iii", 10.0));
        assert!(face.width("Łukasz", 10.0) > 0.0);
        let text = "Ŵyn ŷ Nguyễn Ōtsuka αβγ ".repeat(20);
        let lines = face.wrap(&text, 10.0, 200.0);
        assert!(lines.len() > 3);
        assert!(lines.iter().all(|l| face.width(l, 10.0) <= 200.0), "{lines:?}");
        assert_eq!(lines.join(" "), text.trim_end());
        let long = face.wrap(&"x".repeat(200), 10.0, 100.0);
        assert!(long.len() > 1 && long.iter().all(|l| face.width(l, 10.0) <= 100.0));
    }

    #[test]
    fn a_logo_must_be_an_image() {
        assert!(check_logo(b"not an image".to_vec()).is_err());
    }
}
