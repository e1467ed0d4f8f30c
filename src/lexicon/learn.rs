//! What a corrected letter teaches: terms the secretary typed where recognition produced
//! something else (in the lexicon, or not English words), and substitutions from what
//! recognition heard (1-4 words) to the term typed there.
//!
//! Names are not learned: an unknown word is only taken as a term when it is typed in
//! lower case (generic medicine names are; people's and places' names are not), so
//! patients' names never reach a clinician's lexicon or recognition prompt.

use std::collections::HashSet;

use super::align::{Token, differences, tokens};

/// The longest heard span and the longest lexicon term (in words) considered.
pub const MAX_SPAN_WORDS: usize = 4;

/// What one letter teaches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lesson {
    /// Terms as typed, each once.
    pub missed: Vec<String>,
    /// (heard words in lower case, the term typed there), each once.
    pub substitutions: Vec<(String, String)>,
}

/// What the learner knows: the lexicon's keys for the letter and the English words.
pub trait Knows {
    fn in_lexicon(&self, key: &str) -> bool;
    fn is_english(&self, key: &str) -> bool;
}

/// The lesson of one letter: `recognised` is the first draft, `letter` the final text;
/// `None` when they are too long to align.
pub fn extract(recognised: &str, letter: &str, knows: &dyn Knows) -> Option<Lesson> {
    let (heard, typed) = (tokens(recognised), tokens(letter));
    let mut lesson = Lesson::default();
    let mut seen: HashSet<String> = HashSet::new();
    for d in differences(&heard, &typed)? {
        let terms = terms_in(&typed[d.typed.clone()], knows);
        for t in &terms {
            if seen.insert(super::key(t)) {
                lesson.missed.push(t.clone());
            }
        }
        let whole = terms.len() == 1 && super::key(&terms[0]) == join_keys(&typed[d.typed.clone()]);
        if whole && (1..=MAX_SPAN_WORDS).contains(&d.heard.len()) {
            let pair = (join_keys(&heard[d.heard.clone()]), terms[0].clone());
            if !lesson.substitutions.contains(&pair) {
                lesson.substitutions.push(pair);
            }
        }
    }
    Some(lesson)
}

fn join_keys(t: &[Token]) -> String {
    t.iter().map(|t| t.key.as_str()).collect::<Vec<_>>().join(" ")
}

/// The terms among typed words: the longest lexicon terms first (up to four words),
/// else single unknown words typed in lower case.
fn terms_in(typed: &[Token], knows: &dyn Knows) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < typed.len() {
        let longest =
            (1..=MAX_SPAN_WORDS.min(typed.len() - i)).rev().find(|&n| knows.in_lexicon(&join_keys(&typed[i..i + n])));
        if let Some(n) = longest {
            out.push(typed[i..i + n].iter().map(|t| t.text.as_str()).collect::<Vec<_>>().join(" "));
            i += n;
            continue;
        }
        if is_unknown_word(&typed[i], knows) {
            out.push(typed[i].text.clone());
        }
        i += 1;
    }
    out
}

/// A lower-case word of letters (inner hyphens and apostrophes allowed), at least three
/// long, that is not English.
fn is_unknown_word(t: &Token, knows: &dyn Knows) -> bool {
    let plain = t.text.chars().all(|c| c.is_lowercase() || c == '-' || c == '\'');
    plain && t.text.chars().filter(|c| c.is_alphabetic()).count() >= 3 && !knows.is_english(&t.key)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl Knows for Fixed {
        fn in_lexicon(&self, key: &str) -> bool {
            ["atorvastatin", "atrial fibrillation", "ecg"].contains(&key)
        }
        fn is_english(&self, key: &str) -> bool {
            ["he", "takes", "mg", "daily", "has", "the", "a", "was", "normal", "an", "atrial", "and"].contains(&key)
        }
    }

    fn lesson(a: &str, b: &str) -> Lesson {
        extract(a, b, &Fixed).unwrap()
    }

    #[test]
    fn a_misheard_medicine_is_a_missed_term_and_a_substitution() {
        let l = lesson("He takes at our vassa 20 mg daily.", "He takes atorvastatin 20 mg daily.");
        assert_eq!(l.missed, ["atorvastatin"]);
        assert_eq!(l.substitutions, [("at our vassa".to_string(), "atorvastatin".to_string())]);
    }

    #[test]
    fn multi_word_lexicon_terms_and_unknown_lower_case_words() {
        let l = lesson("He has a tree of abrillation and zelmorin", "He has atrial fibrillation and brelvomycin");
        assert_eq!(l.missed, ["atrial fibrillation", "brelvomycin"]);
        assert_eq!(
            l.substitutions,
            [
                ("a tree of abrillation".to_string(), "atrial fibrillation".to_string()),
                ("zelmorin".to_string(), "brelvomycin".to_string())
            ]
        );
    }

    #[test]
    fn names_english_words_and_numbers_are_not_learned() {
        let l = lesson("He was seen by Dr Smyth on 12", "He was seen by Dr Smith on 14 the");
        assert_eq!(l, Lesson::default());
        let l = lesson("the ECG was abnormal", "the ECG was normal");
        assert_eq!(l, Lesson::default(), "an English correction teaches nothing");
    }

    #[test]
    fn a_run_with_more_than_the_term_gives_no_substitution() {
        let l = lesson("takes at our vassa twenty", "takes atorvastatin 40");
        assert_eq!(l.missed, ["atorvastatin"]);
        assert!(l.substitutions.is_empty());
        let l = lesson("one two three four five", "brelvomycin");
        assert_eq!(l.missed, ["brelvomycin"]);
        assert!(l.substitutions.is_empty(), "more than four heard words");
    }

    #[test]
    fn a_term_recognised_right_is_not_missed() {
        assert_eq!(lesson("He takes atorvastatin daily", "He takes atorvastatin daily."), Lesson::default());
    }
}
