//! The clinical terms recognition may write where Whisper was unsure: each term with its
//! phonetic key, and the lookup of the terms that sound like a heard span.

use super::sound::{self, Key};

/// A test of English words, given a word in lower case.
type IsEnglish = std::sync::Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// One term of the index.
#[derive(Debug, Clone)]
pub struct Term {
    /// As it is written in a letter ("atorvastatin", "HbA1c", "Crohn's disease").
    pub text: String,
    pub key: Key,
}

/// The lexicon recognition draws candidates from (built once per job from the terms in
/// force for the dictation: the release lexicon, a trust's additions, the clinician's
/// learned terms).
#[derive(Clone, Default)]
pub struct TermIndex {
    terms: Vec<Term>,
    /// Lower-cased spellings, to tell a span that already is a term.
    spellings: std::collections::HashSet<String>,
    /// Whether a word (lower case) is English, to tell a garble from words Whisper may
    /// have heard right.
    english: Option<IsEnglish>,
}

impl std::fmt::Debug for TermIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TermIndex").field("terms", &self.terms.len()).finish()
    }
}

/// Shortest key a term or span needs to be matched by sound: shorter words ("ear", "eye")
/// sound like too much else.
const MIN_KEY_WEIGHT: f32 = 3.0;

/// Shortest word of a multi-word term indexed on its own.
const MIN_PART_LETTERS: usize = 6;

impl TermIndex {
    /// The index of `terms`, and of the long words of multi-word terms on their own
    /// ("ischaemic" of "ischaemic heart disease"): letters describe findings with them in
    /// other combinations than the lexicon lists.
    pub fn new<S: AsRef<str>>(terms: impl IntoIterator<Item = S>) -> Self {
        let mut index = Self::default();
        let mut parts = Vec::new();
        for t in terms {
            let text = t.as_ref().split_whitespace().collect::<Vec<_>>().join(" ");
            if text.contains(' ') {
                parts.extend(
                    text.split(' ')
                        .filter(|w| w.len() >= MIN_PART_LETTERS && w.chars().all(|c| c.is_alphabetic()))
                        .map(str::to_lowercase),
                );
            }
            index.add(text);
        }
        for p in parts {
            index.add(p);
        }
        index
    }

    fn add(&mut self, text: String) {
        let key = sound::key(&text);
        if sound::weight(&key) >= MIN_KEY_WEIGHT && self.spellings.insert(text.to_lowercase()) {
            self.terms.push(Term { text, key });
        }
    }

    /// The index with a test of English words (given a word in lower case): a span whose
    /// words all pass it needs a larger margin to be replaced (`RescoreConfig::margin_words`).
    pub fn with_english(mut self, is_english: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.english = Some(std::sync::Arc::new(is_english));
        self
    }

    /// Whether `word` (its punctuation aside) is an English word. Without a word list every
    /// word counts as one: the larger margin applies throughout, and spans of several words
    /// are not tried (see `rescore`). Production and the benchmarks give it the shipped list
    /// (`lexicon::release_index`, `lexicon::index_for_dictation`).
    pub fn is_word(&self, word: &str) -> bool {
        let w = word.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
        self.english.as_ref().is_none_or(|is_english| is_english(&w))
    }

    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether `text` is written as one of the terms (case aside).
    pub fn contains(&self, text: &str) -> bool {
        self.spellings.contains(&text.to_lowercase())
    }

    /// The terms that sound like `heard`, nearest first: at most `limit`, each within
    /// `max_dissimilarity` of it (see [`sound::dissimilarity`]).
    pub fn sounding_like(&self, heard: &str, max_dissimilarity: f32, limit: usize) -> Vec<(&Term, f32)> {
        let k = sound::key(heard);
        let w = sound::weight(&k);
        if w < MIN_KEY_WEIGHT {
            return Vec::new();
        }
        let mut found: Vec<(&Term, f32)> = self
            .terms
            .iter()
            .filter(|t| {
                // Keys whose weights differ by more than the allowed distance cannot be near.
                let tw = sound::weight(&t.key);
                (tw - w).abs() <= max_dissimilarity * tw.max(w)
            })
            .filter_map(|t| {
                let d = sound::dissimilarity(&k, &t.key);
                (d <= max_dissimilarity).then_some((t, d))
            })
            .collect();
        found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.text.len().cmp(&b.0.text.len())));
        found.truncate(limit);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_terms_by_sound_nearest_first() {
        let index = TermIndex::new(["atorvastatin", "bisoprolol", "ischaemic", "ischaemia", "ear", "metformin"]);
        assert_eq!(index.len(), 5, "too short to match by sound: ear");
        let found = index.sounding_like("as chemic", 0.3, 3);
        assert_eq!(found[0].0.text, "ischaemic");
        assert!(found.iter().all(|(t, _)| t.text != "metformin"));
        assert!(index.sounding_like("kind regards", 0.3, 3).is_empty());
        assert!(index.contains("Ischaemic"));
    }

    #[test]
    fn duplicate_and_spaced_terms_are_kept_once() {
        let index = TermIndex::new(["atrial  fibrillation", "Atrial fibrillation", "ischaemic heart disease"]);
        assert!(index.contains("atrial fibrillation"));
        // The long words of multi-word terms stand on their own too; short ones do not.
        assert!(index.contains("fibrillation") && index.contains("ischaemic"));
        assert!(!index.contains("heart"));
        assert_eq!(
            index.len(),
            6,
            "atrial fibrillation, ischaemic heart disease, atrial, fibrillation, ischaemic, disease"
        );
    }
}
