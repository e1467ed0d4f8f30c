//! The British English word list and the American-to-British spellings shipped under
//! `lexicon/`, loaded once, and a bounded edit distance for suggestions.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::OnceLock;

const ENGLISH_GZ: &[u8] = include_bytes!("../../lexicon/english-gb.txt.gz");
const US_UK: &str = include_str!("../../lexicon/us-uk.tsv");

/// A word list, by key and by length (for suggestions).
pub struct English {
    words: HashSet<String>,
    by_len: Vec<Vec<String>>,
}

impl std::fmt::Debug for English {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("English").field("words", &self.words.len()).finish()
    }
}

impl English {
    /// A list of the given words (keys, one word each).
    pub fn from_words(words: impl IntoIterator<Item = String>) -> Self {
        let words: HashSet<String> = words.into_iter().collect();
        let mut by_len: Vec<Vec<String>> = Vec::new();
        for w in &words {
            let n = w.chars().count();
            if by_len.len() <= n {
                by_len.resize_with(n + 1, Vec::new);
            }
            by_len[n].push(w.clone());
        }
        by_len.iter_mut().for_each(|v| v.sort());
        English { words, by_len }
    }

    pub fn contains(&self, word_key: &str) -> bool {
        self.words.contains(word_key)
    }

    /// Words of `chars` characters.
    pub fn of_len(&self, chars: usize) -> &[String] {
        self.by_len.get(chars).map_or(&[], Vec::as_slice)
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

/// The British English word list (lower case).
pub fn english() -> &'static English {
    static ENGLISH: OnceLock<English> = OnceLock::new();
    ENGLISH.get_or_init(|| {
        let mut text = String::new();
        if let Err(e) = flate2::read::GzDecoder::new(ENGLISH_GZ).read_to_string(&mut text) {
            tracing::error!(error = %e, "the shipped English word list cannot be read; spell-check knows no words");
        }
        English::from_words(
            super::release::content_lines(&text).map(|(_, w)| super::key(w)).filter(|w| !w.contains(' ')),
        )
    })
}

/// The British spelling of an American one (both lower case).
pub fn british_of(word_key: &str) -> Option<&'static str> {
    static MAP: OnceLock<HashMap<String, String>> = OnceLock::new();
    MAP.get_or_init(|| {
        super::release::content_lines(US_UK)
            .filter_map(|(_, l)| l.split_once('\t'))
            .map(|(us, uk)| (super::key(us), uk.trim().to_string()))
            .filter(|(us, uk)| !us.is_empty() && !uk.is_empty())
            .collect()
    })
    .get(word_key)
    .map(String::as_str)
}

/// The edit distance (insertions, deletions, substitutions, adjacent swaps) between
/// `a` and `b` when it is at most `max`, else `None`. Costs O(len * max).
pub fn distance_within(a: &[char], b: &[char], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let big = max + 1;
    let width = b.len() + 1;
    let mut rows = vec![vec![big; width]; 3];
    for (j, cell) in rows[0].iter_mut().enumerate().take(max.min(b.len()) + 1) {
        *cell = j;
    }
    for i in 1..=a.len() {
        let (cur, prev, prev2) = (i % 3, (i + 2) % 3, (i + 1) % 3);
        rows[cur].iter_mut().for_each(|c| *c = big);
        if i <= max {
            rows[cur][0] = i;
        }
        let lo = i.saturating_sub(max).max(1);
        let hi = (i + max).min(b.len());
        let mut best = rows[cur][0];
        for j in lo..=hi {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[prev][j - 1] + cost).min(rows[prev][j] + 1).min(rows[cur][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[prev2][j - 2] + 1);
            }
            rows[cur][j] = d.min(big);
            best = best.min(rows[cur][j]);
        }
        if best > max {
            return None;
        }
    }
    let d = rows[a.len() % 3][b.len()];
    (d <= max).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(a: &str, b: &str, max: usize) -> Option<usize> {
        distance_within(&a.chars().collect::<Vec<_>>(), &b.chars().collect::<Vec<_>>(), max)
    }

    #[test]
    fn bounded_distances() {
        assert_eq!(d("recieve", "receive", 2), Some(1), "a swap is one edit");
        assert_eq!(d("kitten", "sitting", 3), Some(3));
        assert_eq!(d("kitten", "sitting", 2), None);
        assert_eq!(d("", "ab", 2), Some(2));
        assert_eq!(d("same", "same", 0), Some(0));
        assert_eq!(d("bisoprolol", "bisoprolo", 1), Some(1));
        assert_eq!(d("a", "abcd", 2), None);
    }

    #[test]
    fn the_shipped_lists_load() {
        assert!(!english().is_empty());
        assert!(english().contains("the"));
        assert_eq!(british_of("color"), Some("colour"));
        assert_eq!(british_of("colour"), None);
    }
}
