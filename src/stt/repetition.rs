//! Repetition-loop detection (a word n-gram repeated back to back) and cutting.
//!
//! Whisper sometimes gets stuck and emits the same phrase or sentence again and again.
//! A loop is a unit of `n` words repeated consecutively at least 3 times (4 times for a
//! single word, since "no, no, no" is plausible speech), compared after lowercasing and
//! stripping punctuation. The engine first re-decodes the affected window with a higher
//! temperature; whatever still loops is cut down to a single occurrence here.

use super::types::Segment;

/// Longest repeated unit considered, in words (a long dictated sentence).
pub const MAX_UNIT: usize = 40;

/// `words[start .. start + unit * repeats]` is `repeats` copies of one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loop {
    pub start: usize,
    pub unit: usize,
    pub repeats: usize,
}

impl Loop {
    pub fn end(&self) -> usize {
        self.start + self.unit * self.repeats
    }
}

fn min_repeats(unit: usize) -> usize {
    if unit == 1 { 4 } else { 3 }
}

/// Lowercase alphanumerics only, for comparison.
pub fn norm(word: &str) -> String {
    word.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Non-overlapping loops, left to right, each the longest-covering one at its start.
pub fn find_loops<S: AsRef<str>>(words: &[S]) -> Vec<Loop> {
    let w: Vec<String> = words.iter().map(|s| norm(s.as_ref())).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < w.len() {
        let mut best: Option<Loop> = None;
        for unit in 1..=MAX_UNIT.min((w.len() - i) / 3) {
            let u = &w[i..i + unit];
            if u.iter().all(String::is_empty) {
                continue;
            }
            let mut repeats = 1;
            while i + (repeats + 1) * unit <= w.len() && w[i + repeats * unit..i + (repeats + 1) * unit] == *u {
                repeats += 1;
            }
            let cand = Loop { start: i, unit, repeats };
            if repeats >= min_repeats(unit) && best.is_none_or(|b| cand.unit * cand.repeats > b.unit * b.repeats) {
                best = Some(cand);
            }
        }
        match best {
            Some(b) => {
                out.push(b);
                i = b.end();
            }
            None => i += 1,
        }
    }
    out
}

/// Whether a phrase of at least 3 words comes twice back to back ("a juvenile unit, and a
/// juvenile unit, and"): below a loop's three copies, but a sign that a window decoded
/// with a trimmed encoder went astray (dictation repeats single words, not phrases).
pub fn has_echo<S: AsRef<str>>(words: &[S]) -> bool {
    const MIN_UNIT: usize = 3;
    const MAX_ECHO: usize = 12;
    let w: Vec<String> = words.iter().map(|s| norm(s.as_ref())).collect();
    (MIN_UNIT..=MAX_ECHO).any(|unit| {
        (0..(w.len() + 1).saturating_sub(2 * unit)).any(|i| {
            let (a, b) = (&w[i..i + unit], &w[i + unit..i + 2 * unit]);
            a == b && a.iter().filter(|x| !x.is_empty()).count() >= MIN_UNIT
        })
    })
}

/// All words of `segments` as text, in order.
pub fn flat_words(segments: &[Segment]) -> Vec<String> {
    segments.iter().flat_map(|s| s.words.iter().map(|w| w.text.clone())).collect()
}

/// Index of the segment holding flat word `k`.
pub fn segment_of_word(segments: &[Segment], k: usize) -> usize {
    let mut seen = 0;
    for (i, s) in segments.iter().enumerate() {
        seen += s.words.len();
        if k < seen {
            return i;
        }
    }
    segments.len().saturating_sub(1)
}

/// Keep the first copy of every loop's unit, drop the repeats; segments that lose words
/// get their text rebuilt from the remaining words, empty segments disappear.
pub fn cut_loops(segments: &mut Vec<Segment>, loops: &[Loop]) -> usize {
    let drop: Vec<std::ops::Range<usize>> = loops.iter().map(|l| l.start + l.unit..l.end()).collect();
    let mut k = 0;
    let mut removed = 0;
    for seg in segments.iter_mut() {
        let before = seg.words.len();
        seg.words.retain(|_| {
            let keep = !drop.iter().any(|r| r.contains(&k));
            k += 1;
            keep
        });
        if seg.words.len() != before {
            removed += before - seg.words.len();
            seg.text = seg.words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ");
            if let (Some(f), Some(l)) = (seg.words.first(), seg.words.last()) {
                seg.start = seg.start.max(0.0).min(f.start);
                seg.end = l.end.max(seg.start);
            }
        }
    }
    segments.retain(|s| !s.words.is_empty());
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stt::types::Word;

    fn words(s: &str) -> Vec<&str> {
        s.split_whitespace().collect()
    }

    #[test]
    fn finds_sentence_and_word_loops_but_not_normal_speech() {
        let text = "Dear doctor. I have explained that cancer is possible. I have explained that cancer is possible. \
                    I have explained that cancer is possible. Yours sincerely.";
        let l = find_loops(&words(text));
        assert_eq!(l, vec![Loop { start: 2, unit: 7, repeats: 3 }]);
        assert!(find_loops(&words("no, no, no that is fine")).is_empty());
        assert_eq!(find_loops(&words("the the the the end")), vec![Loop { start: 0, unit: 1, repeats: 4 }]);
        assert!(find_loops(&words("two week wait two week wait pathway")).is_empty());
        assert!(find_loops::<&str>(&[]).is_empty());
    }

    #[test]
    fn prefers_the_longest_covering_unit() {
        // "a b a b a b a b" is both (a b) x4 and (a b a b) x2: take (a b) x4.
        let l = find_loops(&words("x a b a b a b a b y"));
        assert_eq!(l, vec![Loop { start: 1, unit: 2, repeats: 4 }]);
    }

    #[test]
    fn cutting_keeps_one_copy_and_rebuilds_text() {
        let mk = |t: &str, s: f64| Word {
            start: s,
            end: s + 0.5,
            text: t.into(),
            confidence: 0.9,
            low_confidence: false,
            heard: None,
        };
        let seg = |ws: &[&str], t0: f64| Segment {
            start: t0,
            end: t0 + ws.len() as f64,
            text: ws.join(" "),
            words: ws.iter().enumerate().map(|(i, w)| mk(w, t0 + i as f64)).collect(),
            ..Default::default()
        };
        let mut segs = vec![
            seg(&["Thank", "you."], 0.0),
            seg(&["Thank", "you."], 2.0),
            seg(&["Thank", "you."], 4.0),
            seg(&["Bye."], 6.0),
        ];
        let loops = find_loops(&flat_words(&segs));
        assert_eq!(loops.len(), 1);
        assert_eq!(segment_of_word(&segs, loops[0].end() - 1), 2);
        assert_eq!(cut_loops(&mut segs, &loops), 4);
        let texts: Vec<&str> = segs.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["Thank you.", "Bye."]);
    }

    #[test]
    fn echoes_are_phrases_said_twice_back_to_back() {
        let split = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert!(has_echo(&split("he does not need a juvenile unit, and a juvenile unit, and a juvenile unit.")));
        assert!(has_echo(&split("stop the apixaban stop the apixaban today")));
        assert!(!has_echo(&split("no, no, no, that is not right")));
        assert!(!has_echo(&split("the the patient was seen with with her daughter")));
        assert!(!has_echo(&split("full stop new paragraph the patient full stop new line")));
        assert!(!has_echo::<&str>(&[]));
    }
}
