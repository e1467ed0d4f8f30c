//! American to British spelling of draft text (tumor -> tumour, hemoglobin -> haemoglobin) from the shipped `lexicon/us-uk.tsv`.
//!
//! Whisper writes American spelling; NHS letters are British English. Whole words
//! only: a word is a run of letters and digits, so "tumor's" becomes "tumour's" and
//! "tumorous" is left to its own entry, never changed inside another word. The
//! word's case is kept (Tumor -> Tumour, TUMOR -> TUMOUR); a word in mixed case
//! ("HbA1c", "McColor") is left as written. Anything that looks like a web address
//! or an e-mail address is never touched. The pairs leave out words whose American
//! form is also a British word in another sense (meter, program, practice, disk):
//! the file's header lists them and why.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The pairs as shipped: `us<TAB>uk` lines, `#` comments.
pub const US_UK_TSV: &str = include_str!("../../lexicon/us-uk.tsv");

/// US spelling -> UK spelling, parsed once.
fn pairs() -> &'static HashMap<&'static str, &'static str> {
    static PAIRS: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    PAIRS.get_or_init(|| parse(US_UK_TSV).collect())
}

/// The well-formed pairs of a `us<TAB>uk` file (comments, blank and malformed lines skipped).
fn parse(tsv: &str) -> impl Iterator<Item = (&str, &str)> {
    tsv.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .filter(|(us, uk)| !us.is_empty() && !uk.is_empty())
}

/// `text` with American spellings replaced by British ones (borrowed when nothing changed).
pub fn to_british(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    let mut changed = false;
    for (start, chunk) in chunks(text) {
        if looks_like_address(chunk) {
            continue;
        }
        for (offset, word) in words(chunk) {
            if let Some(uk) = british_word(word) {
                let at = start + offset;
                out.push_str(&text[copied..at]);
                out.push_str(&uk);
                copied = at + word.len();
                changed = true;
            }
        }
    }
    if !changed {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// The British spelling of one word in the same case, if it has one.
fn british_word(word: &str) -> Option<String> {
    let lower = word.to_lowercase();
    let uk = *pairs().get(lower.as_str())?;
    if word == lower {
        Some(uk.to_string())
    } else if word == word.to_uppercase() {
        Some(uk.to_uppercase())
    } else if is_capitalised(word) {
        let mut chars = uk.chars();
        chars.next().map(|first| first.to_uppercase().chain(chars).collect())
    } else {
        None
    }
}

/// First letter a capital, the rest lower case.
fn is_capitalised(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(char::is_uppercase) && chars.all(|c| !c.is_uppercase())
}

/// Whitespace-separated chunks with their byte offsets.
fn chunks(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split(char::is_whitespace).scan(0usize, |pos, chunk| {
        let start = *pos;
        // Every separator is one whitespace character; step over it.
        *pos += chunk.len() + text[start + chunk.len()..].chars().next().map_or(0, char::len_utf8);
        Some((start, chunk))
    })
}

/// Runs of letters and digits in `chunk`, with their byte offsets.
fn words(chunk: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut rest = chunk.char_indices().peekable();
    std::iter::from_fn(move || {
        let (start, _) = rest.find(|(_, c)| c.is_alphanumeric())?;
        let mut end = chunk.len();
        while let Some(&(i, c)) = rest.peek() {
            if !c.is_alphanumeric() {
                end = i;
                break;
            }
            rest.next();
        }
        Some((start, &chunk[start..end]))
    })
}

/// A web address or e-mail address: a scheme, `www.`, an `@`, or a dot inside a word
/// ("nhs.uk/colour", "example.org").
fn looks_like_address(chunk: &str) -> bool {
    let lower = chunk.to_ascii_lowercase();
    if lower.contains("://")
        || lower.contains('@')
        || lower.trim_start_matches(['(', '<', '"', '\'']).starts_with("www.")
    {
        return true;
    }
    let bytes = lower.as_bytes();
    bytes.windows(3).any(|w| w[0].is_ascii_alphanumeric() && w[1] == b'.' && w[2].is_ascii_alphabetic())
        && !is_abbreviation(&lower)
}

/// Dotted abbreviations such as "e.g." and "i.e." are not addresses.
fn is_abbreviation(lower: &str) -> bool {
    let core = lower.trim_matches(|c: char| !c.is_alphanumeric() && c != '.');
    core.split('.').all(|part| part.chars().count() <= 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_pair_in_the_file_is_well_formed() {
        let mut seen = HashSet::new();
        let mut problems = Vec::new();
        let mut count = 0;
        for (n, line) in US_UK_TSV.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            count += 1;
            let fields: Vec<&str> = line.split('\t').collect();
            let ok = fields.len() == 2
                && fields.iter().all(|f| {
                    !f.is_empty()
                        && *f == f.to_lowercase()
                        && !f.contains(char::is_whitespace)
                        && f.chars().all(|c| c.is_alphanumeric() || c == '-')
                })
                && fields[0] != fields[1]
                && fields[0].chars().all(char::is_alphanumeric);
            if !ok {
                problems.push(format!("line {}: {line:?}", n + 1));
            } else if !seen.insert(fields[0]) {
                problems.push(format!("line {}: duplicate {:?}", n + 1, fields[0]));
            }
        }
        assert!(problems.is_empty(), "malformed us-uk.tsv lines:\n{}", problems.join("\n"));
        assert!(count >= 1200, "only {count} pairs");
        assert_eq!(pairs().len(), count, "every line is loaded");
        // No chains: a British form is never itself converted again.
        let chained: Vec<_> = pairs().values().filter(|uk| pairs().contains_key(*uk)).collect();
        assert!(chained.is_empty(), "British forms that are also American keys: {chained:?}");
    }

    #[test]
    fn ambiguous_and_uk_standard_words_are_not_converted() {
        for word in [
            "meter",
            "rigors",
            "program",
            "check",
            "tire",
            "curb",
            "license",
            "practice",
            "story",
            "draft",
            "disk",
            "gray",
            "fetus",
            "fetal",
            "sulfate",
            "sulfur",
            "estradiol",
            "hemiplegia",
            "dialog",
        ] {
            assert!(!pairs().contains_key(word), "{word} must not be converted");
        }
    }

    #[test]
    fn converts_whole_words_keeping_case() {
        let cases = [
            ("a tumor of the colon", "a tumour of the colon"),
            ("Tumor markers", "Tumour markers"),
            ("TUMOR", "TUMOUR"),
            ("the tumor's margin", "the tumour's margin"),
            ("tumors, hemoglobin.", "tumours, haemoglobin."),
            ("(anemia)", "(anaemia)"),
            ("hemorrhaged and hemorrhaging", "haemorrhaged and haemorrhaging"),
            ("He was hospitalized; we organized a CT", "He was hospitalised; we organised a CT"),
            ("pediatric orthopedic clinic", "paediatric orthopaedic clinic"),
            ("Gastroesophageal reflux", "Gastro-oesophageal reflux"),
            ("fecal calprotectin, celiac serology", "faecal calprotectin, coeliac serology"),
            ("500 milliliters", "500 millilitres"),
            ("hemoglobin-based", "haemoglobin-based"),
            ("line one\n\nline  two tumor\t", "line one\n\nline  two tumour\t"),
        ];
        for (us, uk) in cases {
            assert_eq!(to_british(us), uk, "{us:?}");
        }
    }

    #[test]
    fn leaves_other_words_alone() {
        let untouched = [
            "",
            "Dear Dr Smith, thank you.",
            "tumoral tumorx xtumor tumor2 2tumor",
            "HbA1c McColor ToMoR",
            "a flow meter and a computer program",
            "the fetus and the fetal heart",
            "magnesium sulfate",
            "tumour haemoglobin colour",
            "café naïve résumé",
        ];
        for text in untouched {
            assert!(matches!(to_british(text), Cow::Borrowed(_)), "{text:?} changed to {:?}", to_british(text));
        }
    }

    #[test]
    fn never_inside_addresses() {
        for text in [
            "see https://example.org/color/tumor for details",
            "www.color.com",
            "email tumor@example.org",
            "nhs.uk/color",
            "<https://example.org/anemia>",
        ] {
            assert_eq!(to_british(text), text);
        }
        assert_eq!(to_british("tumor, see https://x.org/tumor"), "tumour, see https://x.org/tumor");
        assert_eq!(to_british("e.g. tumor"), "e.g. tumour");
        assert_eq!(to_british("tumor. Color"), "tumour. Colour");
    }

    #[test]
    fn malformed_lines_are_skipped_not_fatal() {
        let got: Vec<_> = parse("# c\n\nno-tab\ncolor\tcolour\n\tx\ny\t\n").collect();
        assert_eq!(got, [("color", "colour")]);
    }
}
