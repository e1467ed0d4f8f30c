//! What the benchmark examples share: their flags and how a key term is found in a text.

use dictaflow::draft::normalise::normalise_words;

/// The value after `flag` in `args`.
pub fn arg(args: &[String], flag: &str) -> Option<String> {
    args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1).cloned())
}

/// Whether `term`'s normalised words occur contiguously in `hyp` (normalised words).
#[allow(dead_code)] // not every example scores key terms
pub fn contains_term(hyp: &[String], term: &str) -> bool {
    let t = normalise_words(term);
    !t.is_empty() && hyp.windows(t.len()).any(|w| w == t.as_slice())
}
