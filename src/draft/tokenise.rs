//! Splits raw recogniser output into words, punctuation marks and layout breaks.
//!
//! Words keep their inner punctuation ("follow-up", "2.5", "Meniere's",
//! "mg/kg", "5%"); punctuation at a word's edges becomes separate tokens so
//! that "comma," and "Full stop." are recognised as the phrases they are.
//! Raw line breaks are kept as layout: one newline is a line break, a blank
//! line is a paragraph break. A stand-alone bullet mark ("•" anywhere, a
//! punctuation-like bullet such as "-" only at the start of a line) is a
//! bullet point, so formatted text tokenises back to the same layout.

use crate::draft::table::Attach;

/// A layout break, spoken or already present in the raw text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Line break.
    Line,
    /// Blank line between paragraphs.
    Paragraph,
    /// Line break followed by a bullet mark.
    Bullet,
}

/// One token of raw recogniser output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A word, as written (original case, inner punctuation kept).
    Word(String),
    /// A punctuation mark that the recogniser wrote itself.
    Punct {
        /// The mark.
        text: String,
        /// Spacing it wants.
        attach: Attach,
        /// Whether it ends a sentence.
        sentence_end: bool,
    },
    /// A line or paragraph break present in the raw text.
    Break(Layout),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Leading,
    Trailing,
    Alone,
}

/// Characters that are punctuation at the edge of a word.
fn is_edge_punct(c: char) -> bool {
    matches!(
        c,
        '.' | ','
            | ';'
            | ':'
            | '?'
            | '!'
            | '('
            | ')'
            | '['
            | ']'
            | '{'
            | '}'
            | '"'
            | '\''
            | '“'
            | '”'
            | '‘'
            | '’'
            | '-'
            | '–'
            | '—'
            | '…'
            | '/'
    )
}

fn punct(text: impl Into<String>, attach: Attach, sentence_end: bool) -> Token {
    Token::Punct { text: text.into(), attach, sentence_end }
}

fn classify(c: char, place: Place) -> Token {
    match c {
        '.' | '?' | '!' => punct(c, Attach::Left, true),
        ',' | ';' | ':' | ')' | ']' | '}' | '…' | '”' | '’' => punct(c, Attach::Left, false),
        '(' | '[' | '{' | '“' | '‘' => punct(c, Attach::Right, false),
        '/' => punct(c, Attach::Both, false),
        _ => {
            // Straight quotes, apostrophes and dashes depend on where they sit.
            let attach = match place {
                Place::Leading => Attach::Right,
                Place::Trailing => Attach::Left,
                Place::Alone => Attach::None,
            };
            punct(c, attach, false)
        }
    }
}

/// Push the edge punctuation in `run`, keeping "..." together as one mark.
fn push_run(run: &str, place: Place, out: &mut Vec<Token>) {
    let mut chars = run.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '.' && chars.peek() == Some(&'.') {
            while chars.peek() == Some(&'.') {
                chars.next();
            }
            out.push(punct("...", Attach::Left, false));
        } else {
            out.push(classify(c, place));
        }
    }
}

fn push_chunk(chunk: &str, line_start: bool, bullet: &str, out: &mut Vec<Token>) {
    // "•" is a bullet anywhere; a bullet that is also punctuation ("-") only
    // at the start of a line.
    if !bullet.is_empty() && chunk == bullet && (line_start || !bullet.chars().all(is_edge_punct)) {
        out.push(Token::Break(Layout::Bullet));
        return;
    }
    let Some(start) = chunk.find(|c: char| !is_edge_punct(c)) else {
        if chunk.chars().all(|c| matches!(c, '-' | '–' | '—')) {
            out.push(punct(chunk, Attach::None, false));
        } else {
            push_run(chunk, Place::Alone, out);
        }
        return;
    };
    let last = chunk.char_indices().rev().find(|&(_, c)| !is_edge_punct(c)).map_or(start, |(i, c)| i + c.len_utf8());
    let mut end = last;
    // Plural possessive: "patients'" keeps its apostrophe.
    let rest = &chunk[end..];
    if chunk[..end].ends_with(['s', 'S']) && rest.starts_with(['\'', '’']) {
        end += rest.chars().next().map_or(0, char::len_utf8);
    }
    push_run(&chunk[..start], Place::Leading, out);
    out.push(Token::Word(chunk[start..end].to_string()));
    push_run(&chunk[end..], Place::Trailing, out);
}

/// Tokenise raw recogniser output. `bullet` is the table's bullet mark.
pub fn tokenise(raw: &str, bullet: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut blank_run = 0usize;
    let mut seen_text = false;
    for line in raw.lines() {
        if line.trim().is_empty() {
            blank_run += 1;
            continue;
        }
        if seen_text {
            let layout = if blank_run > 0 { Layout::Paragraph } else { Layout::Line };
            out.push(Token::Break(layout));
        }
        blank_run = 0;
        seen_text = true;
        for (index, chunk) in line.split_whitespace().enumerate() {
            push_chunk(chunk, index == 0, bullet, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(tokens: &[Token]) -> Vec<&str> {
        tokens
            .iter()
            .map(|t| match t {
                Token::Word(w) => w.as_str(),
                Token::Punct { text, .. } => text.as_str(),
                Token::Break(Layout::Line) => "<br>",
                Token::Break(Layout::Paragraph) => "<p>",
                Token::Break(Layout::Bullet) => "<li>",
            })
            .collect()
    }

    #[test]
    fn splits_edge_punctuation_and_keeps_inner() {
        let t = tokenise("Smith, full stop. (follow-up) 2.5mg Meniere's patients' \"ok\"", "•");
        assert_eq!(
            words(&t),
            [
                "Smith",
                ",",
                "full",
                "stop",
                ".",
                "(",
                "follow-up",
                ")",
                "2.5mg",
                "Meniere's",
                "patients'",
                "\"",
                "ok",
                "\""
            ]
        );
    }

    #[test]
    fn quotes_and_dashes_depend_on_position() {
        let t = tokenise("\"a\" - b...", "•");
        let attaches: Vec<_> = t
            .iter()
            .filter_map(|t| match t {
                Token::Punct { text, attach, .. } => Some((text.as_str(), *attach)),
                _ => None,
            })
            .collect();
        assert_eq!(attaches, [("\"", Attach::Right), ("\"", Attach::Left), ("-", Attach::None), ("...", Attach::Left)]);
    }

    #[test]
    fn raw_newlines_become_layout() {
        let t = tokenise("Dear X,\n\nThanks\nBye\n• item\n\n\n", "•");
        assert_eq!(words(&t), ["Dear", "X", ",", "<p>", "Thanks", "<br>", "Bye", "<br>", "<li>", "item"]);
    }
}
