//! Writes items as text: resolves punctuation clusters, spacing, layout and capitalisation.
//!
//! A *cluster* is a run of marks and layout breaks between two words. Rules:
//! * If the cluster holds a spoken punctuation command, the recogniser's own
//!   pause marks in it (. , ; : ? ! … and dashes) are dropped: "stop, full
//!   stop." -> "stop.". Its brackets and quotes, and all its marks in
//!   clusters without a spoken mark, are kept.
//! * Closing marks after a break move before it ("new paragraph full stop"
//!   -> ".\n\n"); the recogniser's are dropped instead if a mark is already
//!   there ("Smith, new paragraph." -> "Smith,\n\n").
//! * Repeats collapse (". ." -> "."), and a sentence end swallows a comma,
//!   colon or semicolon next to it.
//! * Breaks merge: a line break adds one newline, a paragraph makes two, never
//!   more than two; leading and trailing breaks are dropped.
//!
//! The first word, words after a sentence end and words after a break are
//! capitalised if they are all lower case ("pT3", "eGFR" are left alone);
//! "i" is written "I".

use crate::draft::format::{Case, Item, Origin};
use crate::draft::numbers::parse_number;
use crate::draft::table::{Attach, CommandTable};
use crate::draft::tokenise::Layout;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Mark {
    text: String,
    attach: Attach,
    sentence_end: bool,
    origin: Origin,
}

#[derive(Debug, Default)]
struct Cluster {
    /// Marks written before the break (or all of them when there is none).
    before: Vec<Mark>,
    newlines: u8,
    bullet: bool,
    /// Opening marks written after the break.
    after: Vec<Mark>,
    /// Put a capitalised function word back in lower case.
    decapitalise: bool,
}

fn is_closing(mark: &Mark) -> bool {
    matches!(mark.attach, Attach::Left | Attach::Both)
}

/// Marks a recogniser writes for a pause; brackets and quotes are structure.
fn is_pause_mark(text: &str) -> bool {
    matches!(text, "." | "," | ";" | ":" | "?" | "!" | "..." | "…" | "-" | "–" | "—")
}

fn collapse(marks: Vec<Mark>) -> Vec<Mark> {
    let mut out: Vec<Mark> = Vec::with_capacity(marks.len());
    for mark in marks {
        if let Some(last) = out.last() {
            let plain = |t: &str| matches!(t, "." | "," | ";" | ":" | "?" | "!");
            if last.text == mark.text && plain(&mark.text) {
                continue;
            }
            if last.sentence_end && matches!(mark.text.as_str(), "," | ";" | ":") {
                continue;
            }
        }
        while mark.sentence_end && out.last().is_some_and(|l| matches!(l.text.as_str(), "," | ";" | ":")) {
            out.pop();
        }
        out.push(mark);
    }
    out
}

fn resolve(items: &[Item]) -> Cluster {
    let spoken = items.iter().any(|it| matches!(it, Item::Punct { origin: Origin::Spoken, .. }));
    let mut cluster = Cluster::default();
    let mut dropped_sentence_end = false;
    let mut seen_break = false;
    let mut moved = Vec::new();
    for item in items {
        match item {
            Item::Layout(layout) => {
                seen_break = true;
                match layout {
                    Layout::Line => cluster.newlines = (cluster.newlines + 1).min(2),
                    Layout::Paragraph => cluster.newlines = 2,
                    Layout::Bullet => {
                        cluster.bullet = true;
                        cluster.newlines = cluster.newlines.max(1);
                    }
                }
            }
            Item::Punct { text, attach, sentence_end, origin } => {
                let mark = Mark { text: text.clone(), attach: *attach, sentence_end: *sentence_end, origin: *origin };
                if spoken && *origin == Origin::Recogniser && is_pause_mark(text) {
                    dropped_sentence_end |= mark.sentence_end;
                } else if !seen_break {
                    cluster.before.push(mark);
                } else if is_closing(&mark) {
                    moved.push(mark);
                } else {
                    cluster.after.push(mark);
                }
            }
            Item::Word { .. } => {}
        }
    }
    let has_closing = cluster.before.iter().any(|m| m.attach != Attach::Right);
    for mark in moved {
        if mark.origin == Origin::Spoken || !has_closing {
            cluster.before.push(mark);
        }
    }
    cluster.before = collapse(std::mem::take(&mut cluster.before));
    cluster.decapitalise = dropped_sentence_end && !seen_break && !cluster.before.iter().any(|m| m.sentence_end);
    cluster
}

struct Writer<'t> {
    table: &'t CommandTable,
    out: String,
    /// Nothing to attach a closing mark to (start of text or of a line).
    line_start: bool,
    /// The last thing written wants no space after it.
    glued: bool,
    capitalise_next: bool,
    decapitalise_next: bool,
    last_word: String,
}

fn capitalise_first(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect::<String>())
}

impl Writer<'_> {
    fn space(&mut self) {
        if !self.line_start && !self.glued {
            self.out.push(' ');
        }
    }

    fn word(&mut self, text: &str, case: Case) {
        self.space();
        let lower = text.to_lowercase();
        let all_lower = !text.chars().any(char::is_uppercase);
        let shown = match case {
            Case::Upper => text.to_uppercase(),
            Case::Capital => capitalise_first(text),
            Case::AsIs if self.capitalise_next && all_lower => capitalise_first(text),
            Case::AsIs
                if self.decapitalise_next
                    && !self.capitalise_next
                    && (self.table.is_function_word(&lower) || parse_number(&[&lower]).is_some())
                    && capitalise_first(&lower) == text =>
            {
                lower.clone()
            }
            Case::AsIs if lower == "i" || lower.starts_with("i'") || lower.starts_with("i’") => {
                capitalise_first(text)
            }
            Case::AsIs => text.to_string(),
        };
        self.out.push_str(&shown);
        self.last_word = lower;
        self.line_start = false;
        self.glued = false;
        self.capitalise_next = false;
        self.decapitalise_next = false;
    }

    fn mark(&mut self, mark: &Mark) {
        let closing = is_closing(mark);
        if closing && self.line_start {
            return; // nothing before it to attach to
        }
        if !closing {
            self.space();
        }
        self.out.push_str(&mark.text);
        self.line_start = false;
        self.glued = matches!(mark.attach, Attach::Right | Attach::Both);
        if mark.sentence_end {
            let abbreviation =
                mark.origin == Origin::Recogniser && mark.text == "." && self.table.is_abbreviation(&self.last_word);
            self.capitalise_next = !abbreviation;
        }
    }

    fn cluster(&mut self, cluster: &Cluster, at_end: bool) {
        for mark in &cluster.before {
            self.mark(mark);
        }
        if cluster.newlines > 0 && !at_end {
            if !self.out.is_empty() {
                let trimmed = self.out.trim_end_matches(' ').len();
                self.out.truncate(trimmed);
                for _ in 0..cluster.newlines {
                    self.out.push('\n');
                }
            }
            self.line_start = true;
            self.glued = false;
            self.capitalise_next = true;
            if cluster.bullet {
                self.out.push_str(self.table.bullet());
                self.out.push(' ');
                self.glued = true;
                self.line_start = false;
            }
        }
        for mark in &cluster.after {
            self.mark(mark);
        }
        self.decapitalise_next = cluster.decapitalise;
    }
}

/// Write items as the formatted draft.
pub fn render(items: &[Item], table: &CommandTable) -> String {
    let mut writer = Writer {
        table,
        out: String::new(),
        line_start: true,
        glued: false,
        capitalise_next: true,
        decapitalise_next: false,
        last_word: String::new(),
    };
    let mut i = 0;
    while i < items.len() {
        if let Item::Word { text, case } = &items[i] {
            writer.word(text, *case);
            i += 1;
            continue;
        }
        let start = i;
        while i < items.len() && !matches!(items[i], Item::Word { .. }) {
            i += 1;
        }
        let cluster = resolve(&items[start..i]);
        writer.cluster(&cluster, i == items.len());
    }
    let trimmed = writer.out.trim_end().len();
    writer.out.truncate(trimmed);
    writer.out
}
