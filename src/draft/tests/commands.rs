//! Table-driven tests: every built-in command, spacing, capitalisation and recogniser punctuation.

use super::{check_all, fmt};
use crate::draft::DEFAULT_COMMANDS_TOML;

#[test]
fn punctuation_commands() {
    check_all(&[
        ("the patient is well full stop", "The patient is well."),
        ("the patient is well fullstop", "The patient is well."),
        ("the patient is well full-stop", "The patient is well."),
        ("he is well period he is happy", "He is well. He is happy"),
        ("Dear Doctor Smith comma", "Dear Doctor Smith,"),
        ("Re colon Mr Jones", "Re: Mr Jones"),
        ("options semicolon surgery", "Options; surgery"),
        ("options semi colon surgery", "Options; surgery"),
        ("options semi-colon surgery", "Options; surgery"),
        ("is he well question mark yes", "Is he well? Yes"),
        ("what a result exclamation mark well", "What a result! Well"),
        ("what a result exclamation point", "What a result!"),
        ("follow hyphen up", "Follow-up"),
        ("better dash mostly", "Better – mostly"),
        ("on the left open brackets thirty five decibels close brackets", "On the left (thirty five decibels)"),
        ("a open bracket b close bracket", "A (b)"),
        ("a open parenthesis b closed brackets", "A (b)"),
        ("a open paren b closed bracket c", "A (b) c"),
        ("a bracket open b bracket close", "A (b)"),
        ("a open brackets b end brackets", "A (b)"),
        ("he said open quote fine close quote", "He said \"fine\""),
        ("he said open quotes fine end quote", "He said \"fine\""),
        ("he said begin quote fine unquote", "He said \"fine\""),
        ("and slash or", "And/or"),
        ("and forward slash or", "And/or"),
    ]);
}

#[test]
fn layout_commands() {
    check_all(&[
        ("Dear Sir new line Re", "Dear Sir\nRe"),
        ("Dear Sir newline re", "Dear Sir\nRe"),
        ("Dear Sir next line re", "Dear Sir\nRe"),
        ("line one new paragraph line two", "Line one\n\nLine two"),
        ("line one next paragraph line two", "Line one\n\nLine two"),
        ("line one new para line two", "Line one\n\nLine two"),
        ("alpha new line new line beta", "Alpha\n\nBeta"),
        ("one new paragraph new paragraph new line two", "One\n\nTwo"),
        ("plan colon bullet point bloods bullet point scan", "Plan:\n• Bloods\n• Scan"),
        ("plan colon next bullet bloods", "Plan:\n• Bloods"),
        ("bullet point first item", "• First item"),
        ("new paragraph dear sir", "Dear sir"),
        ("yours sincerely new paragraph", "Yours sincerely"),
        ("yours sincerely full stop new line", "Yours sincerely."),
    ]);
}

#[test]
fn case_and_numeral_commands() {
    check_all(&[
        ("seen by capital smith", "Seen by Smith"),
        ("seen by capital, smith.", "Seen by Smith."),
        ("all caps nhs number", "NHS number"),
        ("the all capitals nhs", "The NHS"),
        ("take numeral five tablets", "Take 5 tablets"),
        ("take numeral twenty five milligrams", "Take 25 milligrams"),
        ("take numeral two point five mg", "Take 2.5 mg"),
        ("take numeral 5 tablets", "Take 5 tablets"),
        ("born numeral nineteen fifty one", "Born 1951"),
        ("on the numeral twelfth", "On the 12th"),
    ]);
}

#[test]
fn capitalisation() {
    check_all(&[
        ("i think i'm fine and i've said so", "I think I'm fine and I've said so"),
        ("done full stop pT three N zero", "Done. pT three N zero"),
        ("done full stop eGFR normal", "Done. eGFR normal"),
        ("bloods, e.g. renal function", "Bloods, e.g. renal function"),
        ("seen. he is well? yes! good", "Seen. He is well? Yes! Good"),
        ("it is fine full stop 5 tablets", "It is fine. 5 tablets"),
    ]);
}

#[test]
fn spacing_of_recogniser_punctuation() {
    check_all(&[
        ("word ,next", "Word, next"),
        ("( word ) next", "(Word) next"),
        ("a  lot   of    spaces .", "A lot of spaces."),
        ("well - known", "Well - known"),
        ("the patients' notes", "The patients' notes"),
        ("done...  then", "Done... then"),
        (", leading text", "Leading text"),
    ]);
}

#[test]
fn recogniser_duplicates_next_to_commands() {
    check_all(&[
        ("Dear Doctor Smith, comma, new paragraph. thank you, full stop.", "Dear Doctor Smith,\n\nThank you."),
        ("Please stop, full stop.", "Please stop."),
        ("Please stop. Full stop.", "Please stop."),
        ("Re, colon, Mr Jones", "Re: Mr Jones"),
        ("left, open brackets, thirty five, close brackets, full stop.", "Left (thirty five)."),
        ("aged seventy, comma. And well", "Aged seventy, and well"),
        ("aged seventy, comma. Mr Jones", "Aged seventy, Mr Jones"),
        ("done. Full stop. New paragraph. next", "Done.\n\nNext"),
        ("done full stop full stop next", "Done. Next"),
        ("done comma full stop next", "Done. Next"),
        ("done full stop comma next", "Done. Next"),
        ("on the (left) full stop", "On the (left)."),
        ("he said \"no\", comma, then", "He said \"no\", then"),
    ]);
}

#[test]
fn recogniser_punctuation_without_commands_is_kept() {
    check_all(&[
        ("He is well. New paragraph. She is too.", "He is well.\n\nShe is too."),
        ("He is well new paragraph. She is too", "He is well.\n\nShe is too"),
        ("Dear Doctor Smith, new paragraph. Thank you", "Dear Doctor Smith,\n\nThank you"),
        ("Dear Doctor Smith,\n\nThank you.\nBest wishes", "Dear Doctor Smith,\n\nThank you.\nBest wishes"),
        ("Plan:\n• Bloods\n• Scan", "Plan:\n• Bloods\n• Scan"),
        ("", ""),
        ("   \n\n  ", ""),
    ]);
}

/// Every phrase of every built-in punctuation command produces its mark and
/// leaves none of its words behind.
#[test]
fn every_builtin_punctuation_phrase() {
    let value: toml::Value = toml::from_str(DEFAULT_COMMANDS_TOML).expect("valid TOML");
    let commands = value["command"].as_array().expect("command list");
    let mut checked = 0;
    for command in commands {
        if command["action"].as_str() != Some("punctuation") {
            continue;
        }
        let mark = command["text"].as_str().expect("text");
        for phrase in command["phrases"].as_array().expect("phrases") {
            let phrase = phrase.as_str().expect("phrase");
            let got = fmt(&format!("alpha {phrase} beta"));
            assert!(got.contains(mark), "{phrase:?} -> {got:?}");
            let leftover = phrase.split_whitespace().any(|w| got.to_lowercase().contains(w));
            assert!(!leftover, "{phrase:?} left words behind: {got:?}");
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} phrases checked");
}
