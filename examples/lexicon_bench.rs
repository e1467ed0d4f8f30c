//! The shipped clinical lexicon's effect on recognition, with no vocabulary configured: key-term
//! recall, WER per group (clean Piper, eSpeak, noisy, long), replacements right and wrong,
//! and engine time, on every corpus speech file, for each way of using the lexicon:
//!
//! - `none`: Whisper's words as they come (the drafts of the previous release);
//! - `british`: the same in British spelling (`draft::british`, on by default);
//! - `rescore`: uncertain spans rescored against the lexicon by the decoder, then British
//!   spelling (shipped);
//! - `sound`: the nearest term by sound replaces an uncertain span, without the decoder
//!   (an ablation: what the decoder's check is worth);
//! - `prompt`: the lexicon's terms that sound like the first pass's uncertain spans, put in
//!   the prompt of a second pass (keyword spotting then prompting).
//!
//! Text is compared as recognised (WER against each script's `spoken` text). A key term counts when its normalised words appear, in order and
//! adjacent, in the normalised text. A replacement is right when the term is in the
//! script, and harmful when the words it replaced were (a correct word made wrong).
//!
//! `lexicon_bench --model M [--corpus DIR] [--threads N] [--configs none,rescore,...]
//!  [--margin X] [--max-dissimilarity X] [--confidence X] [--rescore-threads N] [--prompt-terms N]
//!  [--only SUBSTRING]`

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use dictaflow::draft::normalise::{normalise_words, wer};
use dictaflow::stt::{Engine, EngineConfig, RescoreConfig, TermIndex, TranscribeOptions, Transcript};
use serde_json::{Value, json};

mod common;
use common::{arg, contains_term};

#[derive(Default)]
struct Tally {
    found: usize,
    terms: usize,
    wer_sum: f64,
    files: usize,
    seconds: f64,
    replaced: usize,
    right: usize,
    harmful: usize,
}

/// The terms that sound like the uncertain words of a first pass (1-3 words with one
/// under the confidence threshold, no digits): what the `prompt` ablation lists in the
/// prompt of its second pass.
impl Tally {
    fn add(&mut self, t: &Tally) {
        self.found += t.found;
        self.terms += t.terms;
        self.wer_sum += t.wer_sum;
        self.files += t.files;
        self.seconds += t.seconds;
        self.replaced += t.replaced;
        self.right += t.right;
        self.harmful += t.harmful;
    }

    /// A row of the summary table.
    fn row(&self, config: &str, group: &str) -> String {
        format!(
            "| {config} | {group} | {} | {}/{} | {:.3} | {:.3} | {} | {} | {} | {:.1} s |",
            self.files,
            self.found,
            self.terms,
            self.found as f64 / self.terms.max(1) as f64,
            self.wer_sum / self.files.max(1) as f64,
            self.replaced,
            self.right,
            self.harmful,
            self.seconds
        )
    }
}

fn spotted(index: &TermIndex, first: &Transcript, cfg: &RescoreConfig) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for words in first.segments.iter().map(|s| &s.words) {
        for w in 0..words.len() {
            for n in 1..=cfg.max_span_words.min(words.len() - w) {
                let span = &words[w..w + n];
                if span.iter().any(|x| x.text.bytes().any(|b| b.is_ascii_digit()))
                    || span.iter().all(|x| x.confidence >= cfg.confidence)
                {
                    continue;
                }
                let heard = span.iter().map(|x| x.text.as_str()).collect::<Vec<_>>().join(" ");
                for (term, _) in index.sounding_like(&heard, cfg.max_dissimilarity, cfg.candidates) {
                    if !out.contains(&term.text) {
                        out.push(term.text.clone());
                    }
                }
            }
        }
    }
    out
}

fn group(file: &Value) -> &'static str {
    match (file["kind"].as_str(), file["voice"].as_str().unwrap_or_default()) {
        (Some("long_dictation"), _) => "long",
        (Some("speech_noisy"), _) => "noisy",
        (_, v) if v.starts_with("espeak") => "espeak",
        _ => "clean",
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let model = PathBuf::from(arg(&args, "--model").expect("--model PATH"));
    let corpus = PathBuf::from(arg(&args, "--corpus").unwrap_or_else(|| "../shared/corpus".into()));
    let threads: usize = arg(&args, "--threads").map_or(2, |t| t.parse().expect("threads"));
    let configs = arg(&args, "--configs").unwrap_or_else(|| "none,rescore".into());
    let only = arg(&args, "--only");
    let defaults = RescoreConfig::default();
    let num = |flag: &str, d: f32| arg(&args, flag).map_or(d, |v| v.parse().expect(flag));
    let rescore = RescoreConfig {
        margin: num("--margin", defaults.margin),
        margin_words: num("--margin-words", defaults.margin_words),
        max_dissimilarity: num("--max-dissimilarity", defaults.max_dissimilarity),
        confidence: num("--confidence", defaults.confidence),
        threads: num("--rescore-threads", defaults.threads as f32) as usize,
        prompt_terms: num("--prompt-terms", defaults.prompt_terms as f32) as usize,
        ..defaults
    };
    let read = |p: &Path| -> Value { serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json") };
    let scripts = read(&corpus.join("scripts.json"));
    let manifest = read(&corpus.join("manifest.json"));
    let scripts = scripts["scripts"].as_array().expect("scripts");
    let index = Arc::new(dictaflow::lexicon::release_index());
    eprintln!("lexicon: {} terms", index.len());

    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .init();
    }
    dictaflow::stt::route_native_logs_to_tracing();
    let engine = Engine::load(&model, EngineConfig { threads, ..EngineConfig::default() }).expect("load model");
    let mut tallies: BTreeMap<(String, &str), Tally> = BTreeMap::new();
    // The lexicon's coverage of the key terms, a figure and not a goal: a key term is
    // covered when it is an entry, and in part when each of its words is.
    let (mut entries, mut worded, mut occurrences) = (0, 0, 0);
    for file in manifest["files"].as_array().expect("files") {
        if !matches!(file["kind"].as_str(), Some("speech" | "speech_noisy" | "long_dictation")) {
            continue;
        }
        let Some(rel) = file["path"].as_str() else { continue };
        if only.as_deref().is_some_and(|o| !rel.contains(o)) {
            continue;
        }
        let ids: Vec<&str> = match file["script_ids"].as_array() {
            Some(list) => list.iter().filter_map(Value::as_str).collect(),
            None => file["script_id"].as_str().into_iter().collect(),
        };
        let scripts_of: Vec<&Value> = ids.iter().filter_map(|id| scripts.iter().find(|s| s["id"] == *id)).collect();
        if scripts_of.is_empty() {
            continue;
        }
        let spoken = scripts_of.iter().map(|s| s["spoken"].as_str().unwrap_or_default()).collect::<Vec<_>>().join(" ");
        let terms: Vec<&str> = scripts_of
            .iter()
            .flat_map(|s| s["key_terms"].as_array().into_iter().flatten().filter_map(Value::as_str))
            .collect();
        for term in &terms {
            occurrences += 1;
            entries += usize::from(index.contains(term));
            worded += usize::from(index.contains(term) || term.split_whitespace().all(|w| index.contains(w)));
        }
        let samples = dictaflow::audio::decode_16k_mono(&corpus.join(rel), &dictaflow::audio::Limits::default())
            .expect("decode")
            .0;
        let reference = normalise_words(&spoken);
        let mut plain: Option<Transcript> = None;
        for config in configs.split(',') {
            let run = |opts: &TranscribeOptions| -> Transcript {
                engine.transcribe(&samples, opts, |_| {}, Arc::new(AtomicBool::new(false))).expect("transcribe")
            };
            let base = TranscribeOptions::default();
            let t = match config {
                "none" | "british" => plain.get_or_insert_with(|| run(&base)).clone(),
                "rescore" => run(&TranscribeOptions { lexicon: Some(index.clone()), rescore: rescore.clone(), ..base }),
                "sound" => run(&TranscribeOptions {
                    lexicon: Some(index.clone()),
                    rescore: RescoreConfig { margin: f32::NEG_INFINITY, candidates: 1, ..rescore.clone() },
                    ..base
                }),
                "prompt" => {
                    let first = run(&base);
                    let spotted = spotted(&index, &first, &rescore);
                    let prompt = dictaflow::vocabulary::build_prompt(&[spotted]);
                    let mut second = run(&TranscribeOptions { initial_prompt: prompt, ..base });
                    second.processing_seconds += first.processing_seconds;
                    second
                }
                other => panic!("unknown configuration {other}"),
            };
            let text = match config {
                "none" => t.text.clone(),
                _ => dictaflow::draft::british::to_british(&t.text).into_owned(),
            };
            let hyp = normalise_words(&text);
            let missed: Vec<&str> = terms.iter().copied().filter(|term| !contains_term(&hyp, term)).collect();
            let w = wer(&spoken, &text).wer;
            let mut replacements = Vec::new();
            let tally = tallies.entry((config.to_string(), group(file))).or_default();
            for word in t.segments.iter().flat_map(|s| &s.words) {
                let Some(heard) = &word.heard else { continue };
                let right = contains_term(&reference, &word.text);
                let harmful = !right && contains_term(&reference, heard);
                tally.replaced += 1;
                tally.right += usize::from(right);
                tally.harmful += usize::from(harmful);
                replacements.push(json!({"heard": heard, "term": word.text, "right": right, "harmful": harmful}));
            }
            tally.found += terms.len() - missed.len();
            tally.terms += terms.len();
            tally.wer_sum += w;
            tally.files += 1;
            tally.seconds += t.processing_seconds;
            println!(
                "{}",
                json!({"file": rel, "group": group(file), "config": config, "terms": terms.len(),
                       "found": terms.len() - missed.len(), "missed": missed, "wer": (w * 1e4).round() / 1e4,
                       "replacements": replacements, "processing_s": (t.processing_seconds * 1e3).round() / 1e3})
            );
        }
    }
    eprintln!(
        "\n| lexicon use | group | files | key terms | recall | mean WER | replaced | right | harmful | engine time |"
    );
    eprintln!("|---|---|---|---|---|---|---|---|---|---|");
    let mut totals: BTreeMap<String, Tally> = BTreeMap::new();
    for ((config, group), t) in &tallies {
        eprintln!("{}", t.row(config, group));
        totals.entry(config.clone()).or_default().add(t);
    }
    for (config, t) in &totals {
        eprintln!("{}", t.row(config, "all"));
    }
    let share = |n: usize| n as f64 / occurrences.max(1) as f64;
    eprintln!(
        "\nlexicon coverage of the key terms: {entries}/{occurrences} ({:.3}) are entries; \
         {worded}/{occurrences} ({:.3}) are entries or made of entries' words",
        share(entries),
        share(worded)
    );
}
