//! Normalisation for WER scoring and the word alignment.

use crate::draft::normalise::{normalise, wer_words};
use crate::draft::{normalise_words, wer};

#[test]
fn normalisation_table() {
    let cases = [
        ("Hello, World!", "hello world"),
        ("5", "5"),
        ("five", "5"),
        ("5mg", "5 mg"),
        ("5 mg", "5 mg"),
        ("five milligrams", "5 mg"),
        ("2.5mg", "2.5 mg"),
        ("two point five milligrams", "2.5 mg"),
        ("two and a half centimetres", "2.5 cm"),
        ("two hundred and forty", "240"),
        ("1,000 patients", "1000 patients"),
        ("one thousand patients", "1000 patients"),
        ("50-70%", "50 to 70 percent"),
        ("fifty to seventy per cent", "50 to 70 percent"),
        ("twelfth of August nineteen fifty one", "12th of august 1951"),
        ("12th of August 1951", "12th of august 1951"),
        ("Meniere's disease", "menieres disease"),
        ("follow-up", "follow up"),
        ("twenty-five", "25"),
        ("Dr Smith", "doctor smith"),
        ("Re: Mr Otterburn.\n\nYours", "re mr otterburn yours"),
        ("aged seventy two, fifteen years", "aged 72 15 years"),
        ("thirty five decibels", "35 db"),
        ("35dB", "35 db"),
        ("pT3", "pt 3"),
        ("", ""),
        ("...", ""),
    ];
    for (input, want) in cases {
        assert_eq!(normalise(input), want, "{input:?}");
    }
}

#[test]
fn equivalent_forms_have_zero_wer() {
    let pairs = [
        ("omeprazole twenty milligrams twice daily", "Omeprazole 20mg twice daily."),
        ("bisoprolol two point five milligrams", "Bisoprolol 2.5 mg"),
        ("date of birth twelfth of August nineteen fifty one", "Date of birth 12th of August 1951"),
        ("a fifty to seventy percent stenosis", "a 50-70% stenosis"),
    ];
    for (reference, hypothesis) in pairs {
        let result = wer(reference, hypothesis);
        assert_eq!(result.wer, 0.0, "{reference:?} vs {hypothesis:?}: {result:?}");
    }
}

#[test]
fn alignment_counts() {
    let w = |s: &str| normalise_words(s);
    let r = wer_words(&w("the cat sat on the mat"), &w("the cat sat on the mat"));
    assert_eq!((r.substitutions, r.deletions, r.insertions, r.ref_words), (0, 0, 0, 6));

    let r = wer_words(&w("the cat sat on the mat"), &w("the bat sat on mat"));
    assert_eq!((r.substitutions, r.deletions, r.insertions), (1, 1, 0));
    assert!((r.wer - 2.0 / 6.0).abs() < 1e-12);

    let r = wer_words(&w("a b c"), &w("x a b c d"));
    assert_eq!((r.substitutions, r.deletions, r.insertions), (0, 0, 2));
    assert!((r.wer - 2.0 / 3.0).abs() < 1e-12);

    let r = wer_words(&w("a b c"), &w(""));
    assert_eq!((r.deletions, r.wer), (3, 1.0));

    let r = wer_words(&w(""), &w(""));
    assert_eq!((r.ref_words, r.wer), (0, 0.0));

    let r = wer_words(&w(""), &w("um er"));
    assert_eq!((r.insertions, r.wer), (2, 2.0));

    let r = wer_words(&["a", "b"], &["b", "a"]);
    assert_eq!(r.substitutions + r.deletions + r.insertions, 2);
}

#[test]
fn wer_result_serialises() {
    let json = serde_json::to_value(wer("one two", "one three")).expect("serialise");
    assert_eq!(json["substitutions"], 1);
    assert_eq!(json["ref_words"], 2);
    assert_eq!(json["wer"], 0.5);
}

#[test]
fn long_texts_align_quickly() {
    let reference: Vec<String> = (0..3000).map(|i| format!("w{}", i % 97)).collect();
    let mut hypothesis = reference.clone();
    hypothesis.remove(1500);
    hypothesis[10] = "x".into();
    let r = wer_words(&reference, &hypothesis);
    assert_eq!((r.substitutions, r.deletions, r.insertions), (1, 1, 0));
}
