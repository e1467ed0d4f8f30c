//! A small PDF 1.4 writer for letters: A4 pages, the standard Helvetica fonts (no embedding),
//! WinAnsi text, word wrapping by the fonts' published character widths, and a correct
//! cross-reference table.

use super::{Block, Letter};

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 60.0;

/// Helvetica advance widths (1/1000 em) for ASCII 32..=126, from the font's published metrics.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // ' '..'/'
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0-9
    278, 278, 584, 584, 584, 556, 1015, // ':'..'@'
    667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944,
    667, 667, 611, // A-Z
    278, 278, 278, 469, 556, 333, // '['..'`'
    556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722,
    500, 500, 500, // a-z
    334, 260, 334, 584, // '{'..'~'
];

#[derive(Clone, Copy)]
enum Font {
    Regular,
    Bold,
}

impl Font {
    fn name(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
        }
    }
}

/// Width of `s` in points at `size` (bold is set a little wider, which only makes wrapping safer).
fn text_width(s: &str, size: f32, font: Font) -> f32 {
    let units: u32 = s
        .chars()
        .map(|c| match c as u32 {
            n @ 32..=126 => u32::from(HELVETICA[(n - 32) as usize]),
            _ => 556,
        })
        .sum();
    let scale = if matches!(font, Font::Bold) { 1.08 } else { 1.0 };
    units as f32 * size / 1000.0 * scale
}

/// Greedy word wrap to `width` points; a word longer than a line is cut.
fn wrap(text: &str, size: f32, font: Font, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
        if text_width(&candidate, size, font) <= width {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        let mut rest = word;
        while text_width(rest, size, font) > width {
            // The longest prefix that fits, at least one character.
            let mut cut = rest.chars().next().map_or(rest.len(), char::len_utf8);
            for (i, c) in rest.char_indices().skip(1) {
                if text_width(&rest[..i + c.len_utf8()], size, font) > width {
                    break;
                }
                cut = i + c.len_utf8();
            }
            lines.push(rest[..cut].to_string());
            rest = &rest[cut..];
        }
        line = rest.to_string();
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A PDF string literal in WinAnsiEncoding: Latin-1 as is, common typographic marks mapped,
/// anything else as `?`.
fn pdf_string(s: &str) -> Vec<u8> {
    let mut out = vec![b'('];
    for c in s.chars() {
        let b: u8 = match c {
            '\u{20AC}' => 0x80,
            '\u{2018}' => 0x91,
            '\u{2019}' => 0x92,
            '\u{201C}' => 0x93,
            '\u{201D}' => 0x94,
            '\u{2022}' => 0x95,
            '\u{2013}' => 0x96,
            '\u{2014}' => 0x97,
            c if (c as u32) < 0x20 => b' ',
            c if (c as u32) < 0x7F || (0xA0..=0xFF).contains(&(c as u32)) => c as u32 as u8,
            _ => b'?',
        };
        match b {
            b'(' | b')' | b'\\' => out.extend_from_slice(&[b'\\', b]),
            0x80.. => out.extend_from_slice(format!("\\{b:03o}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b')');
    out
}

/// Lays out lines on pages; each page is a content stream.
struct Layout {
    pages: Vec<Vec<u8>>,
    y: f32,
}

impl Layout {
    fn new() -> Self {
        Layout { pages: vec![Vec::new()], y: PAGE_H - MARGIN }
    }

    fn line(&mut self, text: &str, size: f32, font: Font) {
        let leading = size * 1.35;
        if self.y - leading < MARGIN {
            self.pages.push(Vec::new());
            self.y = PAGE_H - MARGIN;
        }
        self.y -= leading;
        let page = self.pages.last_mut().expect("a page");
        page.extend_from_slice(format!("BT /{} {size} Tf {MARGIN} {:.2} Td ", font.name(), self.y).as_bytes());
        page.extend_from_slice(&pdf_string(text));
        page.extend_from_slice(b" Tj ET\n");
    }

    fn text(&mut self, text: &str, size: f32, font: Font) {
        for l in wrap(text, size, font, PAGE_W - 2.0 * MARGIN) {
            self.line(&l, size, font);
        }
    }

    fn gap(&mut self, points: f32) {
        self.y -= points;
    }
}

fn lay_out(letter: &Letter) -> Vec<Vec<u8>> {
    let mut l = Layout::new();
    if let Some(d) = &letter.department {
        l.text(d, 12.0, Font::Bold);
    }
    l.text(&letter.title, 16.0, Font::Bold);
    l.text(&format!("Date: {}", letter.date), 11.0, Font::Regular);
    l.gap(8.0);
    for (label, value) in &letter.patient {
        l.text(&format!("{label}: {value}"), 11.0, Font::Bold);
    }
    l.gap(10.0);
    for block in &letter.body {
        match block {
            Block::Heading(h) => {
                l.gap(4.0);
                l.text(h, 12.0, Font::Bold);
            }
            Block::Paragraph(p) => {
                l.text(p, 11.0, Font::Regular);
                l.gap(6.0);
            }
        }
    }
    l.gap(10.0);
    for f in &letter.footer {
        l.text(f, 10.0, Font::Regular);
    }
    l.pages
}

/// The letter as PDF bytes.
pub fn write(letter: &Letter) -> Vec<u8> {
    let pages = lay_out(letter);
    // Objects: 1 catalog, 2 page tree, 3-4 fonts, then a page and its content per page.
    let page_ids: Vec<usize> = (0..pages.len()).map(|i| 5 + 2 * i).collect();
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            page_ids.iter().map(|id| format!("{id} 0 R")).collect::<Vec<_>>().join(" "),
            pages.len()
        )
        .into_bytes(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".to_vec(),
    ];
    for (i, content) in pages.iter().enumerate() {
        let content_id = page_ids[i] + 1;
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] \
                 /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {content_id} 0 R >>"
            )
            .into_bytes(),
        );
        let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
        stream.extend_from_slice(content);
        stream.extend_from_slice(b"\nendstream");
        objects.push(stream);
    }
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(paragraphs: usize) -> Letter {
        Letter {
            title: "Clinic letter".into(),
            department: None,
            date: "2026-11-23".into(),
            patient: vec![("Patient".into(), "Zoë (Ann) O\\Brien".into())],
            body: (0..paragraphs)
                .map(|i| Block::Paragraph(format!("Paragraph {i}: {}", "the quick brown fox ".repeat(30))))
                .collect(),
            footer: vec!["Dictated by dr.patel".into()],
        }
    }

    /// The bytes with every non-ASCII byte as `?`, so offsets stay byte offsets.
    fn ascii(pdf: &[u8]) -> String {
        pdf.iter().map(|&b| if b.is_ascii() { b as char } else { '?' }).collect()
    }

    /// Checks the cross-reference table: every entry points at its `N 0 obj`.
    fn check_xref(pdf: &[u8]) -> usize {
        let text = ascii(pdf);
        let start: usize = text.rsplit("startxref\n").next().unwrap().lines().next().unwrap().parse().unwrap();
        assert!(text[start..].starts_with("xref\n"));
        let mut lines = text[start..].lines().skip(1);
        let count: usize = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        lines.next();
        for n in 1..count {
            let entry = lines.next().unwrap();
            assert_eq!(entry.len(), 19, "{entry:?}");
            let off: usize = entry[..10].parse().unwrap();
            assert!(pdf[off..].starts_with(format!("{n} 0 obj").as_bytes()), "object {n}");
        }
        count
    }

    #[test]
    fn valid_structure_and_escaped_text() {
        let pdf = write(&letter(1));
        assert!(pdf.starts_with(b"%PDF-1.4"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        assert_eq!(check_xref(&pdf), 7);
        let text = ascii(&pdf);
        assert!(text.contains(r"(Patient: Zo\353 \(Ann\) O\\Brien) Tj"), "{text}");
    }

    #[test]
    fn long_letters_flow_onto_more_pages_within_the_margins() {
        let pdf = write(&letter(40));
        let text = ascii(&pdf);
        let pages: usize = text.split("/Count ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        assert!(pages >= 3, "{pages} pages");
        assert_eq!(check_xref(&pdf), 5 + 2 * pages);
        for l in wrap(&"the quick brown fox ".repeat(30), 11.0, Font::Regular, PAGE_W - 2.0 * MARGIN) {
            assert!(text_width(&l, 11.0, Font::Regular) <= PAGE_W - 2.0 * MARGIN);
        }
        assert_eq!(wrap("abcdefghij", 11.0, Font::Regular, 20.0).concat(), "abcdefghij");
    }
}
