//! Word error rate with clinical-dictation text normalisation (case, punctuation,
//! numbers as words, units, UK/US spellings), for tests, benchmarks and quality checks.

use serde::Serialize;

/// Edit-distance breakdown against the (normalised) reference.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WerStats {
    pub wer: f64,
    pub substitutions: usize,
    pub deletions: usize,
    pub insertions: usize,
    pub ref_words: usize,
    pub hyp_words: usize,
}

/// WER of `hypothesis` against `reference`, both normalised with [`normalize`].
pub fn wer(reference: &str, hypothesis: &str) -> WerStats {
    wer_words(&normalize(reference), &normalize(hypothesis))
}

/// WER over already tokenised words (Levenshtein alignment; ties prefer substitutions).
pub fn wer_words<S: AsRef<str>>(r: &[S], h: &[S]) -> WerStats {
    // dp[j] = (cost, subs, dels, ins) for r[..i] vs h[..j].
    let mut prev: Vec<(usize, usize, usize, usize)> = (0..=h.len()).map(|j| (j, 0, 0, j)).collect();
    for i in 1..=r.len() {
        let mut cur = vec![(i, 0, i, 0); h.len() + 1];
        for j in 1..=h.len() {
            let same = r[i - 1].as_ref() == h[j - 1].as_ref();
            let d = prev[j - 1];
            let diag = (d.0 + usize::from(!same), d.1 + usize::from(!same), d.2, d.3);
            let del = (prev[j].0 + 1, prev[j].1, prev[j].2 + 1, prev[j].3);
            let ins = (cur[j - 1].0 + 1, cur[j - 1].1, cur[j - 1].2, cur[j - 1].3 + 1);
            cur[j] = [diag, del, ins].into_iter().min_by_key(|c| c.0).expect("three candidates");
        }
        prev = cur;
    }
    let (cost, s, d, i) = prev[h.len()];
    WerStats {
        wer: if r.is_empty() { if h.is_empty() { 0.0 } else { 1.0 } } else { cost as f64 / r.len() as f64 },
        substitutions: s,
        deletions: d,
        insertions: i,
        ref_words: r.len(),
        hyp_words: h.len(),
    }
}

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];

/// `58` -> `fifty eight`, `1200` -> `one thousand two hundred` (no "and").
pub fn number_to_words(n: u64) -> String {
    fn below_1000(n: u64, out: &mut Vec<String>) {
        if n >= 100 {
            out.push(ONES[(n / 100) as usize].into());
            out.push("hundred".into());
        }
        let r = n % 100;
        if r >= 20 {
            out.push(TENS[(r / 10) as usize].into());
            if !r.is_multiple_of(10) {
                out.push(ONES[(r % 10) as usize].into());
            }
        } else if r > 0 || n == 0 {
            out.push(ONES[r as usize].into());
        }
    }
    if n == 0 {
        return "zero".into();
    }
    let mut out = Vec::new();
    for (scale, name) in
        [(1_000_000_000_000, "trillion"), (1_000_000_000, "billion"), (1_000_000, "million"), (1000, "thousand")]
    {
        if !(n / scale).is_multiple_of(1000) {
            below_1000(n / scale % 1000, &mut out);
            out.push(name.into());
        }
    }
    if !n.is_multiple_of(1000) {
        below_1000(n % 1000, &mut out);
    }
    out.join(" ")
}

fn ordinal_word(n: u64) -> String {
    let w = number_to_words(n);
    let (head, last) = w.rsplit_once(' ').map_or(("", w.as_str()), |(a, b)| (a, b));
    let last = match last {
        "one" => "first".to_string(),
        "two" => "second".into(),
        "three" => "third".into(),
        "five" => "fifth".into(),
        "eight" => "eighth".into(),
        "nine" => "ninth".into(),
        "twelve" => "twelfth".into(),
        l if l.ends_with('y') => format!("{}ieth", &l[..l.len() - 1]),
        l => format!("{l}th"),
    };
    if head.is_empty() { last } else { format!("{head} {last}") }
}

/// Whole-word rewrites applied after tokenising (abbreviations and units).
const WORD_MAP: &[(&str, &str)] = &[
    ("dr", "doctor"),
    ("mg", "milligrams"),
    ("mcg", "micrograms"),
    ("ml", "milliliters"),
    ("cm", "centimeters"),
    ("mm", "millimeters"),
    ("kg", "kilograms"),
    ("ok", "okay"),
    ("percent", "percent"),
    ("tumour", "tumor"),
    ("colour", "color"),
    ("behaviour", "behavior"),
    ("favour", "favor"),
    ("honour", "honor"),
    ("labour", "labor"),
    ("odour", "odor"),
    ("humour", "humor"),
];

/// Substring rewrites for UK -> US medical spellings.
const SPELLING: &[(&str, &str)] = &[
    ("aem", "em"),
    ("paed", "ped"),
    ("gynae", "gyne"),
    ("anaes", "anes"),
    ("oedem", "edem"),
    ("oesoph", "esoph"),
    ("rrhoea", "rrhea"),
    ("coeliac", "celiac"),
    ("foet", "fet"),
    ("faec", "fec"),
    ("isation", "ization"),
];

fn spell(word: &str) -> String {
    let mut w = word.to_string();
    for (uk, us) in SPELLING {
        if w.contains(uk) {
            w = w.replace(uk, us);
        }
    }
    // centre, litre, metre, millilitre, theatre (+ plural)
    for (end, rep) in [("tres", "ters"), ("tre", "ter")] {
        if w.len() >= end.len() + 2 && w.ends_with(end) {
            w = format!("{}{rep}", &w[..w.len() - end.len()]);
        }
    }
    w
}

/// Lowercase words without punctuation; digits become words; units, abbreviations and
/// UK/US spellings are unified; "and" inside numbers and "X and a half" are canonicalised.
pub fn normalize(text: &str) -> Vec<String> {
    // Character pass: separators, thousands commas, x/y -> "x over y", letter|digit splits.
    let chars: Vec<char> = text.to_lowercase().replace(['\u{2019}', '\u{2018}'], "'").chars().collect();
    let mut s = String::with_capacity(chars.len() + 16);
    for (i, &c) in chars.iter().enumerate() {
        let prev = if i > 0 { chars[i - 1] } else { ' ' };
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        match c {
            ',' if prev.is_ascii_digit() && next.is_ascii_digit() => {}
            '/' if prev.is_ascii_digit() && next.is_ascii_digit() => s.push_str(" over "),
            '%' => s.push_str(" percent "),
            '&' => s.push_str(" and "),
            '-' | '\u{2013}' | '\u{2014}' | '/' | '_' => s.push(' '),
            '.' if prev.is_ascii_digit() && next.is_ascii_digit() => s.push('.'),
            '\'' => {}
            c if c.is_alphanumeric() => {
                let boundary =
                    (c.is_ascii_digit() && prev.is_alphabetic()) || (c.is_alphabetic() && prev.is_ascii_digit());
                let ordinal =
                    prev.is_ascii_digit() && matches!((c, next), ('s', 't') | ('n', 'd') | ('r', 'd') | ('t', 'h'));
                let after_ordinal = i >= 2
                    && chars[i - 2].is_ascii_digit()
                    && matches!((prev, c), ('s', 't') | ('n', 'd') | ('r', 'd') | ('t', 'h'));
                if boundary && !ordinal && !after_ordinal {
                    s.push(' ');
                }
                s.push(c);
            }
            _ => s.push(' '),
        }
    }
    let mut words: Vec<String> = Vec::new();
    for tok in s.split_whitespace() {
        let digits = tok.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        if let Ok(n) = digits.parse::<u64>() {
            if digits.len() < tok.len() {
                words.extend(ordinal_word(n).split(' ').map(String::from));
            } else {
                words.extend(number_to_words(n).split(' ').map(String::from));
            }
        } else if let Some((a, b)) = tok
            .split_once('.')
            .filter(|(a, b)| a.parse::<u64>().is_ok() && !b.is_empty() && b.bytes().all(|x| x.is_ascii_digit()))
        {
            words.extend(number_to_words(a.parse().unwrap_or(0)).split(' ').map(String::from));
            words.push("point".into());
            words.extend(b.chars().map(|d| ONES[d.to_digit(10).unwrap_or(0) as usize].to_string()));
        } else {
            let t = tok.trim_matches('.');
            let t = WORD_MAP.iter().find(|(k, _)| *k == t).map_or(t, |(_, v)| *v);
            if !t.is_empty() {
                words.push(spell(t));
            }
        }
    }
    canonical_numbers(words)
}

fn is_number_word(w: &str) -> bool {
    ONES.contains(&w) || TENS.contains(&w) && !w.is_empty() || matches!(w, "hundred" | "thousand" | "million")
}

/// "one hundred and twenty" -> "one hundred twenty"; "two and a half" -> "two point five".
fn canonical_numbers(words: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        let prev_num = out.last().is_some_and(|p| is_number_word(p));
        if w == "and"
            && prev_num
            && words.get(i + 1).is_some_and(|n| n == "a")
            && words.get(i + 2).is_some_and(|n| n == "half")
        {
            out.extend(["point".to_string(), "five".to_string()]);
            i += 3;
            continue;
        }
        if w == "and"
            && out.last().is_some_and(|p| p == "hundred" || p == "thousand")
            && words.get(i + 1).is_some_and(|n| is_number_word(n))
        {
            i += 1;
            continue;
        }
        out.push(w.clone());
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalize(s).join(" ")
    }

    #[test]
    fn wer_counts_edits() {
        let r = wer("the cat sat on the mat", "the cat sat on mat");
        assert_eq!((r.deletions, r.substitutions, r.insertions), (1, 0, 0));
        assert!((r.wer - 1.0 / 6.0).abs() < 1e-12);
        let r = wer("a b c", "a x c d");
        assert_eq!((r.substitutions, r.insertions, r.deletions), (1, 1, 0));
        assert_eq!(wer("", "").wer, 0.0);
        assert_eq!(wer("", "hello").wer, 1.0);
        assert_eq!(wer("hello there", "").wer, 1.0);
    }

    #[test]
    fn numbers_become_words() {
        assert_eq!(number_to_words(58), "fifty eight");
        assert_eq!(number_to_words(100), "one hundred");
        assert_eq!(number_to_words(2024), "two thousand twenty four");
        assert_eq!(number_to_words(1_000_005), "one million five");
        assert_eq!(n("a 58-year-old lady"), "a fifty eight year old lady");
        assert_eq!(n("omeprazole 20mg twice daily"), "omeprazole twenty milligrams twice daily");
        assert_eq!(n("a 2.5 cm mass"), "a two point five centimeters mass");
        assert_eq!(n("two and a half centimetre mass"), "two point five centimeter mass");
        assert_eq!(n("graded M5 and U5"), "graded m five and u five");
        assert_eq!(n("on the 3rd and 21st"), "on the third and twenty first");
        assert_eq!(n("BP 140/90, 1,200 ml"), "bp one hundred forty over ninety one thousand two hundred milliliters");
        assert_eq!(n("one hundred and twenty"), "one hundred twenty");
        assert_eq!(n("50%"), "fifty percent");
    }

    #[test]
    fn case_punctuation_and_spelling_are_ignored() {
        assert_eq!(n("Dear Dr. Ramsden, thank you!"), "dear doctor ramsden thank you");
        assert_eq!(n("the patient's oesophagus; anaemia, haematoma"), "the patients esophagus anemia hematoma");
        assert_eq!(n("Paediatric tumour centre"), "pediatric tumor center");
        assert_eq!(wer("Mammography was graded M five.", "mammography was graded M5").wer, 0.0);
    }
}
