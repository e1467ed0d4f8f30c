//! Spell-check of letter text against the British English word list and the effective
//! lexicon. Offsets are UTF-16 code units (what JavaScript strings index by).
//!
//! A word is fine when it has a digit, is in the word list or in a lexicon term (an
//! abbreviation included), or is a possessive or hyphenated compound of such words. A
//! capitalised word that is not known may be a name and is left alone, unless its lower
//! case is a near miss of a lexicon medicine. American spellings are flagged with the
//! British one.

use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;

use super::words::{English, british_of, distance_within};

/// The largest text checked (characters).
pub const MAX_TEXT_CHARS: usize = 50_000;
/// Issues reported per text, and how many of them get suggestions.
const MAX_ISSUES: usize = 500;
const MAX_SUGGESTED: usize = 100;
const MAX_SUGGESTIONS: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// UTF-16 code units from the start of the text.
    pub start: usize,
    pub end: usize,
    pub word: String,
    pub suggestions: Vec<String>,
}

/// The lexicon as the spell-checker sees it.
#[derive(Debug, Default)]
pub struct Known {
    /// Every word of every lexicon term, lower case.
    words: HashSet<String>,
    /// Single-word medicines, lower case.
    medicines: Vec<String>,
    /// Words of installed hunspell dictionaries (`lexicon.extra_dictionaries`).
    extra: Option<Arc<English>>,
}

impl Known {
    pub fn new<'a>(terms: impl IntoIterator<Item = &'a str>, medicines: impl IntoIterator<Item = &'a str>) -> Self {
        let words = terms.into_iter().flat_map(|t| t.split_whitespace().map(super::key).collect::<Vec<_>>()).collect();
        let medicines = medicines.into_iter().map(super::key).filter(|m| !m.contains(' ')).collect();
        Self { words, medicines, extra: None }
    }

    /// Also knows (and suggests) the words of `extra`.
    pub fn with_extra(mut self, extra: Arc<English>) -> Self {
        self.extra = (!extra.is_empty()).then_some(extra);
        self
    }
}

/// Words of `text` with their UTF-16 ranges: runs of letters and digits, joined by
/// single inner apostrophes or hyphens.
fn words(text: &str) -> Vec<(usize, usize, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut pos) = (0, 0);
    while i < chars.len() {
        if !chars[i].is_alphanumeric() {
            pos += chars[i].len_utf16();
            i += 1;
            continue;
        }
        let (start, mut word) = (pos, String::new());
        while i < chars.len() {
            let c = chars[i];
            let joiner = matches!(c, '\'' | '’' | '-') && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
            if !(c.is_alphanumeric() || joiner && !word.is_empty()) {
                break;
            }
            word.push(c);
            pos += c.len_utf16();
            i += 1;
        }
        out.push((start, pos, word));
    }
    out
}

/// The issues in `text`, in order.
pub fn check(text: &str, known: &Known, english: &English) -> Vec<Issue> {
    let mut issues = Vec::new();
    for (start, end, word) in words(text) {
        if issues.len() >= MAX_ISSUES {
            break;
        }
        let suggest = issues.len() < MAX_SUGGESTED;
        if let Some(suggestions) = judge(&word, known, english, suggest) {
            issues.push(Issue { start, end, word, suggestions });
        }
    }
    issues
}

fn is_known(k: &str, known: &Known, english: &English) -> bool {
    let plain =
        |w: &str| english.contains(w) || known.words.contains(w) || known.extra.as_ref().is_some_and(|x| x.contains(w));
    plain(k)
        || k.strip_suffix("'s").is_some_and(plain)
        || k.contains('-') && k.split('-').all(|p| p.is_empty() || plain(p) || p.chars().any(|c| c.is_ascii_digit()))
}

/// `None` when the word is fine, else its suggestions.
fn judge(word: &str, known: &Known, english: &English, suggest: bool) -> Option<Vec<String>> {
    if word.chars().any(|c| c.is_numeric()) {
        return None;
    }
    let k = super::key(word);
    let capital = word.chars().next().is_some_and(char::is_uppercase);
    if let Some(uk) = british_of(&k) {
        return Some(vec![same_case(word, uk)]);
    }
    if is_known(&k, known, english) {
        return None;
    }
    let chars: Vec<char> = k.chars().collect();
    if capital {
        let near: Vec<String> = nearest(&chars, known.medicines.iter().map(String::as_str), 2);
        return (!near.is_empty()).then(|| near.iter().map(|m| same_case(word, m)).collect());
    }
    if !suggest {
        return Some(Vec::new());
    }
    let lexicon = known.words.iter().map(String::as_str);
    let n = chars.len();
    let lists = std::iter::once(english).chain(known.extra.as_deref());
    let dictionary = lists
        .flat_map(|list| (n.saturating_sub(2)..=n + 2).flat_map(|len| list.of_len(len).iter().map(String::as_str)));
    Some(nearest(&chars, lexicon.chain(dictionary), MAX_SUGGESTIONS))
}

/// Up to `max` candidates within a small edit distance (1 for words of up to four
/// letters, else 2), nearest first, then alphabetical.
fn nearest<'a>(word: &[char], candidates: impl Iterator<Item = &'a str>, max: usize) -> Vec<String> {
    let limit = if word.len() <= 4 { 1 } else { 2 };
    let mut found: Vec<(usize, &str)> = Vec::new();
    for c in candidates {
        let cc: Vec<char> = c.chars().collect();
        // Typing errors rarely change both of the first two letters.
        let plausible = cc.first() == word.first() || cc.get(1).is_some() && cc.get(1) == word.get(1);
        if !plausible || cc.as_slice() == word {
            continue;
        }
        if let Some(d) = distance_within(word, &cc, limit)
            && !found.iter().any(|(_, f)| *f == c)
        {
            found.push((d, c));
        }
    }
    found.sort();
    found.into_iter().take(max).map(|(_, c)| c.to_string()).collect()
}

/// `suggestion` with the first letter capitalised when `word`'s is.
fn same_case(word: &str, suggestion: &str) -> String {
    let mut s = suggestion.chars();
    match (word.chars().next(), s.next()) {
        (Some(w), Some(first)) if w.is_uppercase() => first.to_uppercase().chain(s).collect(),
        _ => suggestion.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Known {
        Known::new(["atrial fibrillation", "bisoprolol", "ECG", "atorvastatin"], ["bisoprolol", "atorvastatin"])
    }

    fn issues(text: &str) -> Vec<(String, Vec<String>)> {
        check(text, &known(), super::super::words::english()).into_iter().map(|i| (i.word, i.suggestions)).collect()
    }

    #[test]
    fn known_words_numbers_names_and_lexicon_terms_pass() {
        assert!(
            issues("Dear Dr Okonkwo, thank you. He takes bisoprolol 2.5 once daily; ECG, atrial fibrillation.")
                .is_empty()
        );
        assert!(issues("the patient's well-known 20mg pain").is_empty());
    }

    #[test]
    fn misspellings_get_suggestions_nearest_first() {
        let found = issues("We will recieve bisoprilol today.");
        assert_eq!(found[0].0, "recieve");
        assert_eq!(found[0].1.first().map(String::as_str), Some("receive"));
        assert_eq!(found[1].0, "bisoprilol");
        assert_eq!(found[1].1.first().map(String::as_str), Some("bisoprolol"));
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn american_spellings_get_the_british_one() {
        assert_eq!(issues("Color"), [("Color".to_string(), vec!["Colour".to_string()])]);
        assert!(issues("colour").is_empty());
    }

    #[test]
    fn capitalised_words_are_flagged_only_near_a_medicine() {
        assert!(issues("Smithson Zqxv").is_empty());
        assert_eq!(issues("Bisoprolo"), [("Bisoprolo".to_string(), vec!["Bisoprolol".to_string()])]);
    }

    #[test]
    fn offsets_are_utf16_code_units() {
        let found = check("😀 — recieve", &known(), super::super::words::english());
        assert_eq!((found[0].start, found[0].end), (5, 12));
        let w = words("it's co-amoxiclav -x 'quoted'");
        let texts: Vec<_> = w.iter().map(|(_, _, w)| w.as_str()).collect();
        assert_eq!(texts, ["it's", "co-amoxiclav", "x", "quoted"]);
    }
}
