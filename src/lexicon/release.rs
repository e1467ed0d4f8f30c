//! The release lexicon: the term lists under `lexicon/` compiled into the binary, parsed
//! once, each entry with a stable id (so a super-user can remove and restore it).

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use super::{Category, key, validate_term};

const MEDICINES: &str = include_str!("../../lexicon/medicines.txt");
const CONDITIONS: &str = include_str!("../../lexicon/conditions.txt");
const PROCEDURES: &str = include_str!("../../lexicon/procedures.txt");
const INVESTIGATIONS: &str = include_str!("../../lexicon/investigations.txt");
const ANATOMY: &str = include_str!("../../lexicon/anatomy.txt");
const ABBREVIATIONS: &str = include_str!("../../lexicon/abbreviations.tsv");

/// One shipped entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseEntry {
    /// `rel-` and 16 hex digits of the SHA-256 of category and key: the same on every
    /// server and release while the term stays.
    pub id: String,
    pub term: String,
    pub key: String,
    pub category: Category,
    /// An abbreviation's expansion.
    pub expansion: Option<String>,
}

/// A line of a shipped file that is not a valid term (reported by the tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub file: &'static str,
    pub line: usize,
    pub reason: String,
}

struct Release {
    entries: Vec<ReleaseEntry>,
    bad: Vec<BadLine>,
}

fn release() -> &'static Release {
    static RELEASE: OnceLock<Release> = OnceLock::new();
    RELEASE.get_or_init(|| {
        let mut r = Release { entries: Vec::new(), bad: Vec::new() };
        let lists = [
            ("medicines.txt", MEDICINES, Category::Medicine),
            ("conditions.txt", CONDITIONS, Category::Condition),
            ("procedures.txt", PROCEDURES, Category::Procedure),
            ("investigations.txt", INVESTIGATIONS, Category::Investigation),
            ("anatomy.txt", ANATOMY, Category::Anatomy),
            ("abbreviations.tsv", ABBREVIATIONS, Category::Abbreviation),
        ];
        let mut seen = std::collections::HashSet::new();
        for (file, text, category) in lists {
            for (line, raw) in content_lines(text) {
                let (term, expansion) = match raw.split_once('\t') {
                    Some((a, e)) if category == Category::Abbreviation => (a, Some(e.trim().to_string())),
                    _ => (raw, None),
                };
                match validate_term(term) {
                    Ok(term) => {
                        let k = key(&term);
                        if seen.insert(k.clone()) {
                            r.entries.push(ReleaseEntry {
                                id: entry_id(category, &k),
                                term,
                                key: k,
                                category,
                                expansion,
                            });
                        }
                    }
                    Err(reason) => r.bad.push(BadLine { file, line, reason }),
                }
            }
        }
        r
    })
}

/// Every shipped entry, in file order (the first file naming a term gives its category).
pub fn entries() -> &'static [ReleaseEntry] {
    &release().entries
}

/// Lines of the shipped files that were skipped.
pub fn bad_lines() -> &'static [BadLine] {
    &release().bad
}

/// The shipped entry with this id.
pub fn by_id(id: &str) -> Option<&'static ReleaseEntry> {
    entries().iter().find(|e| e.id == id)
}

/// Numbered lines that are neither blank nor `#` comments, trimmed.
pub fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_matches(|c: char| c == ' ' || c == '\r' || c == '\u{feff}')))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

fn entry_id(category: Category, key: &str) -> String {
    let digest = Sha256::digest(format!("{}:{key}", category.as_str()).as_bytes());
    format!("rel-{}", hex::encode(&digest[..8]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_files_parse_without_bad_lines() {
        assert!(bad_lines().is_empty(), "invalid lines in lexicon/: {:?}", bad_lines());
        for c in [Category::Medicine, Category::Condition, Category::Procedure, Category::Investigation] {
            assert!(entries().iter().any(|e| e.category == c), "{c:?} has entries");
        }
        let ids: std::collections::HashSet<_> = entries().iter().map(|e| &e.id).collect();
        assert_eq!(ids.len(), entries().len(), "ids are unique");
        assert!(entries().iter().filter(|e| e.category == Category::Abbreviation).all(|e| e.expansion.is_some()));
    }

    #[test]
    fn ids_are_stable_and_lines_skip_comments() {
        assert_eq!(entry_id(Category::Medicine, "apixaban"), entry_id(Category::Medicine, "apixaban"));
        assert_ne!(entry_id(Category::Medicine, "apixaban"), entry_id(Category::Other, "apixaban"));
        let lines: Vec<_> = content_lines("# c\n\n a \r\nb").collect();
        assert_eq!(lines, [(3, "a"), (4, "b")]);
    }
}
