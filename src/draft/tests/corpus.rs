//! Formats the dictation scripts of the test corpus and compares them with the expected letters.
//!
//! The committed fixtures (`testdata/dictation_fixtures.json`) always run.
//! The full corpus is found through `DICTAFLOW_CORPUS` or
//! `$CARGO_MANIFEST_DIR/../shared/corpus`; without it that test prints why
//! and passes. Each script with dictation commands is formatted as:
//! * `spoken`: the bare words, as a recogniser without punctuation gives them;
//! * `tts_text`: the same words with pause punctuation ("comma, new paragraph.");
//! * whisper: a simulation of Whisper ("Smith, comma, New paragraph. Thank you");
//! * stress: a recogniser that ends every command with a full stop and
//!   capitalises the next word (case of names cannot be undone; compared
//!   after WER normalisation only).

use std::path::PathBuf;

use serde::Deserialize;

use super::fmt;
use crate::draft::wer;

#[derive(Deserialize)]
struct Script {
    id: String,
    dictation_commands: bool,
    spoken: String,
    expected_text: String,
    tts_text: String,
}

#[derive(Deserialize)]
struct ScriptFile {
    #[serde(alias = "scripts")]
    cases: Vec<Script>,
}

#[derive(Deserialize)]
struct Manifest {
    files: Vec<ManifestFile>,
}

#[derive(Deserialize)]
struct ManifestFile {
    path: String,
    kind: String,
    #[serde(default)]
    script_ids: Vec<String>,
}

/// The spoken commands used in the corpus, with the punctuation Whisper
/// tends to put after each.
const SPOKEN_COMMANDS: [(&str, &str); 7] = [
    ("full stop", "."),
    ("new paragraph", "."),
    ("new line", "."),
    ("comma", ","),
    ("colon", ","),
    ("open brackets", ","),
    ("close brackets", ","),
];

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// Re-punctuate `spoken` the way a recogniser would. `stress` ends every
/// command with a full stop.
fn simulate(spoken: &str, stress: bool) -> String {
    let words: Vec<&str> = spoken.split_whitespace().collect();
    let mut out: Vec<String> = Vec::new();
    let mut capital_next = false;
    let mut i = 0;
    while i < words.len() {
        let found = SPOKEN_COMMANDS.iter().find(|(phrase, _)| {
            let n = phrase.split(' ').count();
            words.get(i..i + n).is_some_and(|w| w.join(" ").eq_ignore_ascii_case(phrase))
        });
        if let Some((phrase, mark)) = found {
            if let Some(last) = out.last_mut().filter(|l| !l.ends_with(['.', ','])) {
                last.push(',');
            }
            let mark = if stress { "." } else { mark };
            let sentence = mark == "." && *phrase != "colon";
            let text = if sentence || capital_next { capitalise(phrase) } else { phrase.to_string() };
            out.push(format!("{text}{mark}"));
            capital_next = mark == ".";
            i += phrase.split(' ').count();
        } else {
            out.push(if capital_next { capitalise(words[i]) } else { words[i].to_string() });
            capital_next = false;
            i += 1;
        }
    }
    out.join(" ")
}

fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[derive(Default)]
struct Tally {
    exact: usize,
    whitespace: usize,
    total: usize,
    failures: Vec<String>,
}

impl Tally {
    fn check(&mut self, id: &str, variant: &str, raw: &str, expected: &str) {
        let got = fmt(raw);
        self.total += 1;
        if got == expected {
            self.exact += 1;
        } else if squash(&got) == squash(expected) {
            self.whitespace += 1;
        } else {
            self.failures.push(format!("{id} [{variant}]\n   got {got:?}\n  want {expected:?}"));
        }
        let score = wer(expected, &got);
        if got != expected {
            println!("{id} [{variant}]: not exact, WER {:.3}", score.wer);
        }
    }

    fn report(&self, label: &str) {
        println!(
            "{label}: {}/{} exact, {} equal after whitespace normalisation, {} different",
            self.exact,
            self.total,
            self.whitespace,
            self.failures.len()
        );
    }
}

fn check_scripts(scripts: &[Script], label: &str) -> Tally {
    let mut tally = Tally::default();
    let mut stress_exact = 0;
    let mut stress_total = 0;
    for s in scripts {
        tally.check(&s.id, "idempotent", &s.expected_text, &s.expected_text);
        if !s.dictation_commands {
            tally.check(&s.id, "prose", &s.spoken, &s.expected_text);
            continue;
        }
        tally.check(&s.id, "spoken", &s.spoken, &s.expected_text);
        tally.check(&s.id, "tts_text", &s.tts_text, &s.expected_text);
        tally.check(&s.id, "whisper", &simulate(&s.spoken, false), &s.expected_text);
        let stressed = fmt(&simulate(&s.spoken, true));
        let score = wer(&s.expected_text, &stressed);
        assert_eq!(score.wer, 0.0, "{} [stress] changed words: {stressed:?}", s.id);
        stress_total += 1;
        stress_exact += usize::from(stressed == s.expected_text);
        if stressed != s.expected_text {
            let differing: Vec<(&str, &str)> =
                stressed.split_whitespace().zip(s.expected_text.split_whitespace()).filter(|(a, b)| a != b).collect();
            println!("{} [stress]: case differs {differing:?}", s.id);
        }
    }
    tally.report(label);
    println!("{label} stress variant: {stress_exact}/{stress_total} exact, all with WER 0");
    tally
}

fn assert_all_exact(tally: &Tally) {
    assert!(
        tally.failures.is_empty() && tally.whitespace == 0,
        "{} of {} not exact:\n{}",
        tally.total - tally.exact,
        tally.total,
        tally.failures.join("\n")
    );
}

#[test]
fn committed_fixtures_format_exactly() {
    let fixtures: ScriptFile =
        serde_json::from_str(include_str!("../testdata/dictation_fixtures.json")).expect("fixtures");
    assert!(fixtures.cases.iter().any(|s| s.dictation_commands));
    assert!(fixtures.cases.iter().any(|s| !s.dictation_commands));
    assert_all_exact(&check_scripts(&fixtures.cases, "fixtures"));
}

#[test]
fn simulated_whisper_output_looks_like_whisper() {
    let got = simulate("Dear Doctor Moreau comma new paragraph this lady full stop", false);
    assert_eq!(got, "Dear Doctor Moreau, comma, New paragraph. This lady, Full stop.");
    let got = simulate("Re colon Mr Jones comma aged ten", true);
    assert_eq!(got, "Re, colon. Mr Jones, Comma. Aged ten");
}

fn corpus_dir() -> Result<PathBuf, String> {
    let dir = match std::env::var_os("DICTAFLOW_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
    };
    if dir.join("scripts.json").is_file() {
        Ok(dir)
    } else {
        Err(format!("no scripts.json in {} (set DICTAFLOW_CORPUS)", dir.display()))
    }
}

#[test]
fn corpus_scripts_format_exactly() {
    let dir = match corpus_dir() {
        Ok(dir) => dir,
        Err(reason) => {
            println!("skipping corpus test: {reason}");
            return;
        }
    };
    let text = std::fs::read_to_string(dir.join("scripts.json")).expect("read scripts.json");
    let scripts: ScriptFile = serde_json::from_str(&text).expect("parse scripts.json");
    let with_commands = scripts.cases.iter().filter(|s| s.dictation_commands).count();
    println!("corpus {}: {} scripts, {with_commands} with dictation commands", dir.display(), scripts.cases.len());
    assert!(with_commands > 0, "corpus has no dictation-command scripts");
    assert_all_exact(&check_scripts(&scripts.cases, "corpus"));

    // Long dictations: several letters in one recording; without spoken
    // layout commands the letters run together, so compare whitespace-free.
    let Ok(manifest) = std::fs::read_to_string(dir.join("manifest.json")) else {
        println!("no manifest.json: long dictations not checked");
        return;
    };
    let manifest: Manifest = serde_json::from_str(&manifest).expect("parse manifest.json");
    for long in manifest.files.iter().filter(|f| f.kind == "long_dictation") {
        let find = |id: &String| scripts.cases.iter().find(|s| &s.id == id).expect("script id");
        let raw: Vec<&str> = long.script_ids.iter().map(|id| find(id).spoken.as_str()).collect();
        let expected: Vec<&str> = long.script_ids.iter().map(|id| find(id).expected_text.as_str()).collect();
        let got = fmt(&raw.join(" "));
        assert_eq!(squash(&got), squash(&expected.join("\n\n")), "{}", long.path);
        println!("{}: equal after whitespace normalisation", long.path);
    }
}
