//! Installed hunspell dictionaries (`lexicon.extra_dictionaries`; by default Debian's
//! `hunspell-en-med`, about 90,000 medical words) read as an extra source of known words for
//! the spell-check. They are not recognition candidates: most of their words are rare, and
//! many are American.
//!
//! British spellings win: a word is left out when the shipped American-to-British list has
//! it, or when a British form made by the usual medical spelling rules (haem-, -aemia,
//! oesophag-, oedem-, -rrhoea, -our, -re, ...) is a known word (English, the release
//! lexicon, or the dictionary itself). The spell-check then flags the American form and
//! suggests the British one.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use super::words::{English, british_of};

/// American spellings of medical words and their British forms, by position in the word.
const START: &[(&str, &str)] = &[
    ("hem", "haem"),
    ("esophag", "oesophag"),
    ("edem", "oedem"),
    ("estr", "oestr"),
    ("celiac", "coeliac"),
    ("fec", "faec"),
    ("cec", "caec"),
    ("eti", "aeti"),
    ("ped", "paed"),
    ("orthoped", "orthopaed"),
    ("gyn", "gynae"),
    ("dysesthe", "dysaesthe"),
];
const ANYWHERE: &[(&str, &str)] = &[
    ("emia", "aemia"),
    ("emic", "aemic"),
    ("anesth", "anaesth"),
    ("esthe", "aesthe"),
    ("rrhea", "rrhoea"),
    ("hemo", "haemo"),
    ("hema", "haema"),
];
const END: &[(&str, &str)] = &[("or", "our"), ("er", "re"), ("ize", "ise"), ("izes", "ises"), ("ized", "ised")];

/// The British forms the rules make of `word` (a key).
fn british_forms(word: &str) -> impl Iterator<Item = String> + '_ {
    let starts = START.iter().filter_map(move |(us, uk)| word.strip_prefix(us).map(|rest| format!("{uk}{rest}")));
    let inner = ANYWHERE.iter().flat_map(move |(us, uk)| {
        word.match_indices(us).map(move |(i, _)| format!("{}{uk}{}", &word[..i], &word[i + us.len()..]))
    });
    let ends = END.iter().filter_map(move |(us, uk)| word.strip_suffix(us).map(|stem| format!("{stem}{uk}")));
    starts.chain(inner).chain(ends)
}

/// The words of a hunspell `.dic` file: the first line (the count) and indented comment
/// lines are skipped, affix flags (`/...`) and morphological fields (after a tab) cut off.
/// Keys (lower case); only words of letters, with inner hyphens or apostrophes.
pub fn parse_dic(text: &str) -> Vec<String> {
    text.lines()
        .enumerate()
        .filter(|(n, line)| !(*n == 0 && line.trim().chars().all(|c| c.is_ascii_digit())))
        .filter(|(_, line)| !line.starts_with([' ', '\t']) && !line.starts_with('#'))
        .filter_map(|(_, line)| {
            let word = line.split(['\t', '/']).next()?.trim();
            let fine = word.chars().next().is_some_and(char::is_alphabetic)
                && word.chars().all(|c| c.is_alphabetic() || matches!(c, '-' | '\''))
                && !word.ends_with(['-', '\'']);
            fine.then(|| super::key(word))
        })
        .collect()
}

/// `words` without the American spellings whose British form is known (`known` or `words`).
pub fn british_first(words: Vec<String>, known: impl Fn(&str) -> bool) -> Vec<String> {
    let all: HashSet<&str> = words.iter().map(String::as_str).collect();
    let american: HashSet<&str> = all
        .iter()
        .copied()
        .filter(|w| british_of(w).is_some() || british_forms(w).any(|b| all.contains(b.as_str()) || known(&b)))
        .collect();
    words.iter().filter(|w| !american.contains(w.as_str())).cloned().collect()
}

/// The known words of the dictionaries at `paths`, read once per process for each list of
/// paths. A missing file is skipped (the package is optional); an unreadable one is logged.
pub fn load(paths: &[PathBuf]) -> Arc<English> {
    static CACHE: OnceLock<Mutex<HashMap<Vec<PathBuf>, Arc<English>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(paths) {
        return found.clone();
    }
    let mut words = Vec::new();
    for path in paths {
        words.extend(read(path));
    }
    let english = super::words::english();
    let released: HashSet<String> = super::release::entries()
        .iter()
        .flat_map(|e| e.key.split(' ').map(str::to_string).collect::<Vec<_>>())
        .collect();
    let kept = british_first(words, |w| english.contains(w) || released.contains(w));
    let list = Arc::new(English::from_words(kept));
    if !paths.is_empty() {
        tracing::info!(words = list.len(), "extra spell-check dictionaries read");
    }
    cache.lock().unwrap_or_else(|e| e.into_inner()).insert(paths.to_vec(), list.clone());
    list
}

fn read(path: &Path) -> Vec<String> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let words = parse_dic(&String::from_utf8_lossy(&bytes));
            tracing::debug!(path = %path.display(), words = words.len(), "hunspell dictionary read");
            words
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::debug!(path = %path.display(), "hunspell dictionary not installed; skipped");
            Vec::new()
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "hunspell dictionary cannot be read; skipped");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIC: &str = "7\n    A header line of the dictionary's own.\nhaemoglobin\nhemoglobin/S\npericoronitis\n\
                       hematocrit/S\ncolor\nO'Brien's\nrenin\tpo:noun\n-ase\n";

    #[test]
    fn dic_words_lose_flags_comments_and_the_count() {
        assert_eq!(
            parse_dic(DIC),
            ["haemoglobin", "hemoglobin", "pericoronitis", "hematocrit", "color", "o'brien's", "renin"]
        );
    }

    #[test]
    fn british_spellings_win() {
        let known = |w: &str| w == "haematocrit";
        let kept = british_first(parse_dic(DIC), known);
        // hemoglobin: its British form is in the file; hematocrit: known elsewhere; color: the
        // shipped American-to-British list.
        assert_eq!(kept, ["haemoglobin", "pericoronitis", "o'brien's", "renin"]);
    }

    #[test]
    fn a_missing_dictionary_is_no_words() {
        let list = load(&[PathBuf::from("/nonexistent/dictaflow-test.dic")]);
        assert!(list.is_empty());
    }

    /// Debian's hunspell-en-med, when installed (`.ci/run` installs it).
    #[test]
    fn the_installed_medical_dictionary_is_british_first() {
        let path = PathBuf::from("/usr/share/hunspell/en_med_glut.dic");
        if !path.is_file() {
            eprintln!("skipping: hunspell-en-med is not installed ({})", path.display());
            return;
        }
        let list = load(&[path]);
        assert!(list.len() > 50_000, "{} words", list.len());
        for british in ["haemoglobin", "anaemia"] {
            assert!(list.contains(british) || super::super::words::english().contains(british), "{british}");
        }
        for american in ["hemoglobin", "esophagitis", "anemia", "hematocrit"] {
            assert!(!list.contains(american), "{american} is left out");
        }
    }
}
