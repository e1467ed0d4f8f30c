//! How words sound, roughly: a phonetic key for English spellings, and a distance between
//! two keys that forgives what a small recogniser confuses.
//!
//! Whisper mishears an unfamiliar clinical term as ordinary words that sound alike
//! ("ischaemic" as "as chemic", "bisoprolol" as "I suffer all"), split and joined
//! differently from the term. Comparing spellings misses most of these; comparing
//! sounds, with the word boundaries dropped, finds them. The key keeps the consonants
//! (each spelling of a sound mapped to one symbol: "ch" and "k" and hard "c" are all `K`)
//! and one `a` for each run of vowels. The distance is an edit distance in which vowels
//! cost half, and consonants of one family (p/b/f/v, t/d, k/g, s/z/sh, m/n, l/r) swap for
//! half: the confusions of a recogniser that heard the syllables but not the word.
//!
//! The key is a filter that proposes candidates; it never decides a replacement alone
//! (the decoder does, see `rescore`).

/// A phonetic key: consonant classes in upper case, `a` for a run of vowels.
pub type Key = Vec<u8>;

const VOWEL: u8 = b'a';

fn is_vowel_letter(c: u8) -> bool {
    matches!(c, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

/// The phonetic key of `text`: letters only, word boundaries ignored.
pub fn key(text: &str) -> Key {
    let s: Vec<u8> = text.bytes().filter(u8::is_ascii_alphabetic).map(|c| c.to_ascii_lowercase()).collect();
    let mut out: Key = Vec::with_capacity(s.len());
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        let next = at(i + 1);
        let (sym, used): (Option<u8>, usize) = match c {
            // Silent first letters of Greek words: pneumonia, psoriasis, knee, gnathic.
            b'p' if i == 0 && matches!(next, b'n' | b's' | b't') => (None, 1),
            b'k' | b'g' if i == 0 && next == b'n' => (None, 1),
            b't' if next == b'i' && at(i + 2) == b'o' && at(i + 3) == b'n' => (Some(b'X'), 2),
            b's' if next == b'i' && at(i + 2) == b'o' && at(i + 3) == b'n' => (Some(b'X'), 2),
            b's' if next == b'c' && at(i + 2) == b'h' => (Some(b'S'), 1),
            b's' if next == b'h' => (Some(b'X'), 2),
            b'c' if next == b'h' => (Some(b'K'), 2),
            b'c' if matches!(next, b'e' | b'i' | b'y') => (Some(b'S'), 1),
            b'c' if next == b'k' => (Some(b'K'), 2),
            b'c' | b'k' | b'q' => (Some(b'K'), 1),
            b'p' if next == b'h' => (Some(b'F'), 2),
            b't' if next == b'h' => (Some(b'T'), 2),
            b'g' if next == b'h' => (None, 2),
            b'd' if next == b'g' => (Some(b'J'), 2),
            b'g' if matches!(next, b'e' | b'i' | b'y') => (Some(b'J'), 1),
            b'x' if i == 0 => (Some(b'S'), 1),
            b'x' => {
                out.push(b'K');
                (Some(b'S'), 1)
            }
            b'z' => (Some(b'S'), 1),
            b'w' if next == b'h' => (Some(b'W'), 2),
            b'w' | b'h' if !is_vowel_letter(next) => (None, 1),
            b'h' => (None, 1),
            b'y' if i == 0 && is_vowel_letter(next) => (Some(b'Y'), 1),
            v if is_vowel_letter(v) => (Some(VOWEL), 1),
            b'm' if next == b'b' && i + 2 == s.len() => (Some(b'M'), 2),
            other => (Some(other.to_ascii_uppercase()), 1),
        };
        if let Some(sym) = sym
            && out.last() != Some(&sym)
        {
            out.push(sym);
        }
        i += used;
    }
    out
}

/// The family of a consonant symbol: members swap at half cost.
fn family(sym: u8) -> u8 {
    match sym {
        b'P' | b'B' | b'F' | b'V' => 1,
        b'T' | b'D' => 2,
        b'K' | b'G' => 3,
        b'S' | b'X' | b'J' => 4,
        b'M' | b'N' => 5,
        b'L' | b'R' => 6,
        b'W' | b'Y' | VOWEL => 7,
        _ => 0,
    }
}

fn indel(sym: u8) -> f32 {
    if sym == VOWEL { 0.5 } else { 1.0 }
}

fn substitution(a: u8, b: u8) -> f32 {
    if a == b {
        0.0
    } else if family(a) != 0 && family(a) == family(b) {
        0.5
    } else {
        1.0
    }
}

/// Weighted edit distance between two keys (see the module doc).
pub fn distance(a: &[u8], b: &[u8]) -> f32 {
    let mut prev: Vec<f32> = std::iter::once(0.0)
        .chain(b.iter().scan(0.0, |acc, &c| {
            *acc += indel(c);
            Some(*acc)
        }))
        .collect();
    let mut cur = vec![0.0f32; b.len() + 1];
    for &ca in a {
        cur[0] = prev[0] + indel(ca);
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + substitution(ca, cb)).min(prev[j + 1] + indel(ca)).min(cur[j] + indel(cb));
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The weight of a key: what deleting all of it would cost.
pub fn weight(k: &[u8]) -> f32 {
    k.iter().map(|&c| indel(c)).sum()
}

/// Distance relative to the longer key: 0 = sounds the same, 1 = nothing in common.
pub fn dissimilarity(a: &[u8], b: &[u8]) -> f32 {
    let w = weight(a).max(weight(b));
    if w == 0.0 { 1.0 } else { distance(a, b) / w }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> String {
        String::from_utf8(key(s)).unwrap()
    }

    #[test]
    fn spellings_of_one_sound_share_a_key() {
        assert_eq!(k("ischaemic"), k("iskemik"));
        assert_eq!(k("phlebitis"), k("flebitis"));
        assert_eq!(k("pneumonia"), k("numonia"));
        assert_eq!(k("psoriasis"), k("soriasis"));
        assert_eq!(k("cefalexin"), k("sefaleksin"));
        assert_eq!(k("knee"), k("nee"));
        assert_eq!(k("haemoglobin"), k("hemoglobin"));
    }

    #[test]
    fn word_boundaries_and_case_do_not_count() {
        assert_eq!(k("as chemic"), k("Aschemic"));
        assert_eq!(key("as chemic"), key("ischaemic"));
    }

    #[test]
    fn near_sounds_are_near_and_others_far() {
        // A recogniser's typical confusions stay under a third of the longer key...
        assert!(dissimilarity(&key("I suffer all"), &key("bisoprolol")) < 0.45);
        assert!(dissimilarity(&key("at our vassa"), &key("atorvastatin")) < 0.45);
        assert!(dissimilarity(&key("ramipril"), &key("ramapril")) < 0.1);
        // ...while unrelated words are far apart.
        assert!(dissimilarity(&key("patient"), &key("bisoprolol")) > 0.6);
        assert!(dissimilarity(&key("kind regards"), &key("metformin")) > 0.6);
    }

    #[test]
    fn distance_is_symmetric_and_zero_on_equal_keys() {
        let (a, b) = (key("amlodipine"), key("amiodarone"));
        assert_eq!(distance(&a, &b), distance(&b, &a));
        assert_eq!(distance(&a, &a), 0.0);
        assert_eq!(dissimilarity(&[], &[]), 1.0);
    }
}
