//! English number words to digits, shared by the `numeral` command and WER normalisation.
//!
//! Handles cardinals ("two hundred and forty" -> 240), compounds written with
//! a hyphen ("twenty-five"), decimals ("two point five" -> 2.5), "and a half",
//! ordinals ("twenty first" -> 21st) and spoken years ("nineteen fifty one" ->
//! 1951, "twenty oh five" -> 2005).

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Zero,
    Unit,
    Teen,
    Tens,
    TensUnit,
    Hundred,
    Scale,
}

#[derive(Clone, Copy, Debug)]
struct NumWord {
    value: u64,
    kind: Kind,
    ordinal: bool,
}

const UNITS: [&str; 10] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
const UNIT_ORD: [&str; 10] =
    ["zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"];
const TEENS: [&str; 10] =
    ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"];
const TEEN_ORD: [&str; 10] = [
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
];
const TENS: [&str; 8] = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
const TENS_ORD: [&str; 8] =
    ["twentieth", "thirtieth", "fortieth", "fiftieth", "sixtieth", "seventieth", "eightieth", "ninetieth"];

fn position(list: &[&str], word: &str) -> Option<u64> {
    list.iter().position(|w| *w == word).map(|i| i as u64)
}

fn classify_simple(word: &str) -> Option<NumWord> {
    let make = |value, kind, ordinal| Some(NumWord { value, kind, ordinal });
    if let Some(v) = position(&UNITS, word) {
        return make(v, if v == 0 { Kind::Zero } else { Kind::Unit }, false);
    }
    if let Some(v) = position(&UNIT_ORD[1..], word) {
        return make(v + 1, Kind::Unit, true);
    }
    if let Some(v) = position(&TEENS, word) {
        return make(v + 10, Kind::Teen, false);
    }
    if let Some(v) = position(&TEEN_ORD, word) {
        return make(v + 10, Kind::Teen, true);
    }
    if let Some(v) = position(&TENS, word) {
        return make(v * 10 + 20, Kind::Tens, false);
    }
    if let Some(v) = position(&TENS_ORD, word) {
        return make(v * 10 + 20, Kind::Tens, true);
    }
    match word {
        "nought" => make(0, Kind::Zero, false),
        "hundred" => make(100, Kind::Hundred, false),
        "hundredth" => make(100, Kind::Hundred, true),
        "thousand" => make(1_000, Kind::Scale, false),
        "thousandth" => make(1_000, Kind::Scale, true),
        "million" => make(1_000_000, Kind::Scale, false),
        "millionth" => make(1_000_000, Kind::Scale, true),
        _ => None,
    }
}

/// Classify one (lower-case) word, including hyphenated "twenty-five".
fn classify(word: &str) -> Option<NumWord> {
    if let Some((tens, unit)) = word.split_once('-') {
        let t = classify_simple(tens)?;
        let u = classify_simple(unit)?;
        return (t.kind == Kind::Tens && !t.ordinal && u.kind == Kind::Unit).then_some(NumWord {
            value: t.value + u.value,
            kind: Kind::TensUnit,
            ordinal: u.ordinal,
        });
    }
    classify_simple(word)
}

fn digit_word(word: &str) -> Option<u64> {
    match word {
        "oh" | "o" | "nought" => Some(0),
        _ => position(&UNITS, word),
    }
}

/// The integer part of a parsed run.
struct Cardinal {
    value: u64,
    used: usize,
    ordinal: bool,
    /// Made of a single teen or tens word ("nineteen", "twenty"): may start a year.
    year_head: bool,
    /// Only tens/units/teens, value below 100: may end a year.
    small: bool,
}

fn is_small(kind: Kind) -> bool {
    matches!(kind, Kind::Unit | Kind::Teen | Kind::Tens | Kind::TensUnit)
}

fn parse_cardinal(words: &[&str]) -> Option<Cardinal> {
    let (mut total, mut current) = (0u64, 0u64);
    let mut last: Option<Kind> = None;
    let mut last_scale = u64::MAX;
    let (mut used, mut count, mut ordinal, mut small) = (0usize, 0usize, false, true);
    let mut i = 0;
    while i < words.len() && !ordinal {
        let mut w = words[i];
        // "two hundred and forty": skip "and" only when a small number follows.
        if w == "and" && matches!(last, Some(Kind::Hundred | Kind::Scale)) {
            match words.get(i + 1).and_then(|n| classify(n)) {
                Some(n) if is_small(n.kind) => {
                    i += 1;
                    w = words[i];
                }
                _ => break,
            }
        }
        let Some(n) = classify(w) else { break };
        let ok = match n.kind {
            Kind::Zero => last.is_none(),
            Kind::Unit => matches!(last, None | Some(Kind::Tens | Kind::Hundred | Kind::Scale)),
            Kind::Teen | Kind::Tens | Kind::TensUnit => {
                matches!(last, None | Some(Kind::Hundred | Kind::Scale))
            }
            Kind::Hundred => matches!(last, Some(Kind::Unit | Kind::Teen)) && current < 100,
            Kind::Scale => last.is_some_and(|k| k != Kind::Scale) && n.value < last_scale,
        };
        if !ok {
            break;
        }
        match n.kind {
            Kind::Hundred => current *= 100,
            Kind::Scale => {
                total += current * n.value;
                current = 0;
                last_scale = n.value;
            }
            _ => current += n.value,
        }
        small &= is_small(n.kind);
        last = Some(n.kind);
        ordinal = n.ordinal;
        count += 1;
        i += 1;
        used = i;
        if n.kind == Kind::Zero {
            break;
        }
    }
    if count == 0 {
        return None;
    }
    let value = total + current;
    Some(Cardinal {
        value,
        used,
        ordinal,
        year_head: count == 1 && (11..=20).contains(&value) && !ordinal,
        small: small && value < 100,
    })
}

fn ordinal_suffix(value: u64) -> &'static str {
    match (value % 10, value % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    }
}

/// A run of number words turned into digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberMatch {
    /// The number written in digits ("240", "2.5", "21st", "1951").
    pub text: String,
    /// How many input words it used.
    pub used: usize,
}

/// Parse the number words at the start of `words` (lower-case, one word per
/// item). Returns `None` when the first word is not a number word.
pub fn parse_number(words: &[&str]) -> Option<NumberMatch> {
    let head = parse_cardinal(words)?;
    let (mut value, mut used) = (head.value, head.used);
    if head.year_head {
        let rest = &words[used..];
        let tail = match rest {
            [oh, unit, ..] if matches!(*oh, "oh" | "o" | "nought") => {
                classify(unit).filter(|u| u.kind == Kind::Unit && !u.ordinal).map(|u| (u.value, 2))
            }
            _ => parse_cardinal(rest).filter(|c| c.small && c.value >= 10 && !c.ordinal).map(|c| (c.value, c.used)),
        };
        if let Some((tail_value, tail_used)) = tail {
            value = value * 100 + tail_value;
            used += tail_used;
            return Some(NumberMatch { text: value.to_string(), used });
        }
    }
    if head.ordinal {
        return Some(NumberMatch { text: format!("{value}{}", ordinal_suffix(value)), used });
    }
    let mut text = value.to_string();
    if words.get(used) == Some(&"point") {
        let digits: String =
            words[used + 1..].iter().map_while(|w| digit_word(w)).map(|d| char::from(b'0' + d as u8)).collect();
        if !digits.is_empty() {
            used += 1 + digits.len();
            text = format!("{text}.{digits}");
        }
    } else if words.get(used..used + 3) == Some(&["and", "a", "half"][..]) {
        used += 3;
        text.push_str(".5");
    }
    Some(NumberMatch { text, used })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(text: &str) -> Option<(String, usize)> {
        let words: Vec<&str> = text.split_whitespace().collect();
        parse_number(&words).map(|m| (m.text, m.used))
    }

    #[test]
    fn number_words_table() {
        let cases = [
            ("five", "5", 1),
            ("zero", "0", 1),
            ("twenty five milligrams", "25", 2),
            ("twenty-five", "25", 1),
            ("two hundred and forty", "240", 4),
            ("two hundred and", "200", 2),
            ("one thousand two hundred", "1200", 4),
            ("nineteen hundred", "1900", 2),
            ("two point five milligrams", "2.5", 3),
            ("nought point oh five", "0.05", 4),
            ("one point oh five", "1.05", 4),
            ("two and a half centimetre", "2.5", 4),
            ("twelfth of august", "12th", 1),
            ("twenty first", "21st", 2),
            ("second opinion", "2nd", 1),
            ("nineteen fifty one", "1951", 3),
            ("twenty twenty four", "2024", 3),
            ("twenty oh five", "2005", 3),
            ("seventy two fifteen", "72", 2),
            ("fifty to seventy", "50", 1),
            ("three four", "3", 1),
            ("thirty five decibels", "35", 2),
            ("one million", "1000000", 2),
        ];
        for (input, text, used) in cases {
            assert_eq!(num(input), Some((text.to_string(), used)), "{input}");
        }
    }

    #[test]
    fn non_numbers_are_none() {
        for input in ["", "hundred", "and five", "point five", "a half", "thousand"] {
            assert_eq!(num(input), None, "{input}");
        }
    }
}
