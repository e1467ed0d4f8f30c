//! Text normalisation and word error rate (WER) for scoring transcripts against references.
//!
//! [`normalise_words`] lower-cases, strips punctuation and apostrophes, splits
//! hyphenated words, separates numbers from units ("5mg" -> "5 mg"), writes
//! number words as digits ("five" -> "5", "two point five" -> "2.5") and maps
//! unit words to one spelling ("milligrams" -> "mg"), so that "5mg", "5 mg"
//! and "five milligrams" all become `["5", "mg"]`. Number words never merge
//! across punctuation ("aged seventy two, fifteen" stays 72 / 15).
//! [`wer`] aligns two normalised texts word by word (Levenshtein).

use serde::Serialize;

use crate::draft::numbers::parse_number;

/// Unit and title spellings mapped to one canonical form.
const ALIASES: &[(&str, &str)] = &[
    ("milligram", "mg"),
    ("milligrams", "mg"),
    ("mgs", "mg"),
    ("microgram", "mcg"),
    ("micrograms", "mcg"),
    ("ug", "mcg"),
    ("µg", "mcg"),
    ("gram", "g"),
    ("grams", "g"),
    ("gramme", "g"),
    ("grammes", "g"),
    ("kilogram", "kg"),
    ("kilograms", "kg"),
    ("kgs", "kg"),
    ("kilo", "kg"),
    ("kilos", "kg"),
    ("millimetre", "mm"),
    ("millimetres", "mm"),
    ("millimeter", "mm"),
    ("millimeters", "mm"),
    ("centimetre", "cm"),
    ("centimetres", "cm"),
    ("centimeter", "cm"),
    ("centimeters", "cm"),
    ("metre", "m"),
    ("metres", "m"),
    ("meter", "m"),
    ("meters", "m"),
    ("millilitre", "ml"),
    ("millilitres", "ml"),
    ("milliliter", "ml"),
    ("milliliters", "ml"),
    ("mls", "ml"),
    ("litre", "l"),
    ("litres", "l"),
    ("liter", "l"),
    ("liters", "l"),
    ("millimole", "mmol"),
    ("millimoles", "mmol"),
    ("mmols", "mmol"),
    ("decibel", "db"),
    ("decibels", "db"),
    ("dr", "doctor"),
    ("mister", "mr"),
    ("okay", "ok"),
];

const ORDINAL_SUFFIXES: [&str; 4] = ["st", "nd", "rd", "th"];

fn alias(word: &str) -> &str {
    ALIASES.iter().find(|(from, _)| *from == word).map_or(word, |(_, to)| to)
}

/// Split "2.5mg" into "2.5" + "mg", "pt3" into "pt" + "3"; keep "12th" whole.
fn split_digits(word: &str, out: &mut Vec<String>) {
    let mut pieces: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut current_digit = false;
    for c in word.chars() {
        let digit = c.is_ascii_digit() || c == '.';
        if !current.is_empty() && digit != current_digit {
            pieces.push(std::mem::take(&mut current));
        }
        current_digit = digit;
        current.push(c);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    let mut i = 0;
    while i < pieces.len() {
        let is_number = pieces[i].starts_with(|c: char| c.is_ascii_digit());
        match pieces.get(i + 1) {
            Some(next) if is_number && ORDINAL_SUFFIXES.contains(&next.as_str()) => {
                out.push(format!("{}{next}", pieces[i]));
                i += 2;
            }
            _ => {
                out.push(std::mem::take(&mut pieces[i]));
                i += 1;
            }
        }
    }
}

/// Lower-case and split into segments of words; punctuation ends a segment.
fn segments(text: &str) -> Vec<Vec<String>> {
    let lower = text.to_lowercase();
    let chars: Vec<char> = lower.chars().collect();
    let mut segs: Vec<Vec<String>> = vec![Vec::new()];
    let mut word = String::new();
    let flush = |word: &mut String, segs: &mut Vec<Vec<String>>| {
        if !word.is_empty() {
            let seg = segs.last_mut().expect("there is always a segment");
            split_digits(word, seg);
            word.clear();
        }
    };
    for (i, &c) in chars.iter().enumerate() {
        let digit_before = i > 0 && chars[i - 1].is_ascii_digit();
        let digit_after = chars.get(i + 1).is_some_and(char::is_ascii_digit);
        match c {
            c if c.is_alphanumeric() => word.push(c),
            '.' if digit_before && digit_after => word.push(c),
            ',' if digit_before
                && chars.get(i + 1..i + 4).is_some_and(|d| d.iter().all(char::is_ascii_digit))
                && !chars.get(i + 4).is_some_and(char::is_ascii_digit) => {}
            '\'' | '’' | '‘' => {}
            '-' | '–' if digit_before && digit_after => {
                flush(&mut word, &mut segs);
                segs.last_mut().expect("segment").push("to".to_string());
            }
            '%' => {
                flush(&mut word, &mut segs);
                segs.last_mut().expect("segment").push("percent".to_string());
            }
            '&' => {
                flush(&mut word, &mut segs);
                segs.last_mut().expect("segment").push("and".to_string());
            }
            '-' | '–' | '/' | '+' | '*' | '#' | '~' | '^' | '=' | '_' | '\\' => {
                flush(&mut word, &mut segs);
            }
            c if c.is_whitespace() => flush(&mut word, &mut segs),
            _ => {
                flush(&mut word, &mut segs);
                segs.push(Vec::new());
            }
        }
    }
    flush(&mut word, &mut segs);
    segs
}

/// Normalise text into the word list used for WER scoring.
pub fn normalise_words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for seg in segments(text) {
        let mut words: Vec<String> = Vec::with_capacity(seg.len());
        let mut i = 0;
        while i < seg.len() {
            if seg[i] == "per" && seg.get(i + 1).is_some_and(|w| w == "cent") {
                words.push("percent".to_string());
                i += 2;
            } else {
                words.push(seg[i].clone());
                i += 1;
            }
        }
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        let mut i = 0;
        while i < refs.len() {
            if let Some(m) = parse_number(&refs[i..]) {
                out.push(m.text);
                i += m.used;
            } else {
                out.push(alias(refs[i]).to_string());
                i += 1;
            }
        }
    }
    out
}

/// Normalised text: [`normalise_words`] joined with single spaces.
pub fn normalise(text: &str) -> String {
    normalise_words(text).join(" ")
}

/// Word error rate and its parts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WerResult {
    /// (substitutions + deletions + insertions) / reference words. With an
    /// empty reference: 0.0 if the hypothesis is empty too, else the number
    /// of inserted words (as if the reference had one word).
    pub wer: f64,
    /// Reference words replaced by another word.
    pub substitutions: usize,
    /// Reference words missing from the hypothesis.
    pub deletions: usize,
    /// Hypothesis words not in the reference.
    pub insertions: usize,
    /// Number of (normalised) reference words.
    pub ref_words: usize,
}

/// WER of `hypothesis` against `reference`, both normalised first.
pub fn wer(reference: &str, hypothesis: &str) -> WerResult {
    wer_words(&normalise_words(reference), &normalise_words(hypothesis))
}

const OP_MATCH: u8 = 0;
const OP_SUB: u8 = 1;
const OP_DEL: u8 = 2;
const OP_INS: u8 = 3;

/// WER of already-tokenised word lists (no normalisation), by Levenshtein
/// alignment. Ties prefer match/substitution, then deletion, then insertion.
pub fn wer_words<R: AsRef<str>, H: AsRef<str>>(reference: &[R], hypothesis: &[H]) -> WerResult {
    let (n, m) = (reference.len(), hypothesis.len());
    let width = m + 1;
    // One byte per cell for the backtrace, two rows of costs.
    let mut ops = vec![OP_MATCH; (n + 1) * width];
    let mut prev: Vec<u32> = (0..=m as u32).collect();
    let mut cur = vec![0u32; width];
    ops[1..width].fill(OP_INS);
    for i in 1..=n {
        cur[0] = i as u32;
        ops[i * width] = OP_DEL;
        let r = reference[i - 1].as_ref();
        for j in 1..=m {
            let same = r == hypothesis[j - 1].as_ref();
            let diag = prev[j - 1] + u32::from(!same);
            let del = prev[j] + 1;
            let ins = cur[j - 1] + 1;
            let (cost, op) = if diag <= del && diag <= ins {
                (diag, if same { OP_MATCH } else { OP_SUB })
            } else if del <= ins {
                (del, OP_DEL)
            } else {
                (ins, OP_INS)
            };
            cur[j] = cost;
            ops[i * width + j] = op;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let (mut substitutions, mut deletions, mut insertions) = (0, 0, 0);
    let (mut i, mut j) = (n, m);
    while i > 0 || j > 0 {
        match ops[i * width + j] {
            OP_MATCH => (i, j) = (i - 1, j - 1),
            OP_SUB => {
                substitutions += 1;
                (i, j) = (i - 1, j - 1);
            }
            OP_DEL => {
                deletions += 1;
                i -= 1;
            }
            _ => {
                insertions += 1;
                j -= 1;
            }
        }
    }
    let errors = (substitutions + deletions + insertions) as f64;
    WerResult { wer: errors / n.max(1) as f64, substitutions, deletions, insertions, ref_words: n }
}
