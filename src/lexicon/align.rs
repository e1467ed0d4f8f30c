//! Word-level alignment of the recognised text with the final letter: an edit-distance
//! alignment on words compared without case or surrounding punctuation, and the runs of
//! differences between them.

use std::ops::Range;

/// A word of a text: as written (surrounding punctuation trimmed) and its comparison key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub key: String,
}

/// The largest alignment computed (words of one text times words of the other).
pub const MAX_CELLS: usize = 4_000_000;

/// The words of `text`: split at white space, punctuation trimmed from both ends
/// (inner apostrophes, hyphens, periods and slashes stay); pure punctuation dropped.
pub fn tokens(text: &str) -> Vec<Token> {
    text.split_whitespace()
        .filter_map(|raw| {
            let t = raw.trim_matches(|c: char| !c.is_alphanumeric());
            (!t.is_empty()).then(|| Token { text: t.to_string(), key: super::key(t) })
        })
        .collect()
}

/// A run of differences: words `heard[heard]` of the recognised text stand where the
/// letter has `typed[typed]` (either may be empty, not both).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    pub heard: Range<usize>,
    pub typed: Range<usize>,
}

/// The differences between `heard` and `typed`, in order, from a minimal word edit
/// script; `None` when the texts are too long to align (more than [`MAX_CELLS`]).
pub fn differences(heard: &[Token], typed: &[Token]) -> Option<Vec<Diff>> {
    let (n, m) = (heard.len(), typed.len());
    if (n + 1).saturating_mul(m + 1) > MAX_CELLS {
        return None;
    }
    // cost[i][j]: edits turning heard[i..] into typed[j..] (suffixes, so the walk below
    // goes forwards).
    let w = m + 1;
    let mut cost = vec![0u32; (n + 1) * w];
    for i in (0..=n).rev() {
        for j in (0..=m).rev() {
            cost[i * w + j] = if i == n {
                (m - j) as u32
            } else if j == m {
                (n - i) as u32
            } else {
                let same = heard[i].key == typed[j].key;
                let diag = cost[(i + 1) * w + j + 1] + u32::from(!same);
                diag.min(cost[(i + 1) * w + j] + 1).min(cost[i * w + j + 1] + 1)
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out: Vec<Diff> = Vec::new();
    let mut open: Option<Diff> = None;
    while i < n || j < m {
        let here = cost[i * w + j];
        if i < n && j < m && heard[i].key == typed[j].key && here == cost[(i + 1) * w + j + 1] {
            out.extend(open.take());
            i += 1;
            j += 1;
            continue;
        }
        let d = open.get_or_insert(Diff { heard: i..i, typed: j..j });
        if i < n && j < m && here == cost[(i + 1) * w + j + 1] + 1 {
            i += 1;
            j += 1;
        } else if i < n && here == cost[(i + 1) * w + j] + 1 {
            i += 1;
        } else {
            j += 1;
        }
        d.heard.end = i;
        d.typed.end = j;
    }
    out.extend(open);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diffs(a: &str, b: &str) -> Vec<(String, String)> {
        let (ta, tb) = (tokens(a), tokens(b));
        let join =
            |t: &[Token], r: &Range<usize>| t[r.clone()].iter().map(|t| t.text.as_str()).collect::<Vec<_>>().join(" ");
        differences(&ta, &tb).unwrap().iter().map(|d| (join(&ta, &d.heard), join(&tb, &d.typed))).collect()
    }

    #[test]
    fn tokens_ignore_case_and_punctuation() {
        let t = tokens("Dear Dr. Smith, (atorvastatin) -- Crohn's i.v.");
        let keys: Vec<_> = t.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(keys, ["dear", "dr", "smith", "atorvastatin", "crohn's", "i.v"]);
    }

    #[test]
    fn identical_texts_have_no_differences() {
        assert!(diffs("Thank you, Doctor.", "thank you doctor").is_empty());
        assert!(diffs("", "").is_empty());
    }

    #[test]
    fn a_multi_word_mishearing_is_one_run() {
        let d = diffs("He takes at our vassa 20 mg daily.", "He takes atorvastatin 20 mg daily.");
        assert_eq!(d, [("at our vassa".to_string(), "atorvastatin".to_string())]);
    }

    #[test]
    fn insertions_deletions_and_separate_runs() {
        let d = diffs("I saw him in clinic today", "I saw him in the clinic on Monday");
        assert_eq!(d, [("".to_string(), "the".to_string()), ("today".to_string(), "on Monday".to_string())]);
        let d = diffs("um we will review him", "we will review him");
        assert_eq!(d, [("um".to_string(), "".to_string())]);
    }

    #[test]
    fn too_long_texts_are_not_aligned() {
        let long: Vec<Token> = (0..3000).map(|i| Token { text: i.to_string(), key: i.to_string() }).collect();
        assert!(differences(&long, &long).is_none());
    }
}
