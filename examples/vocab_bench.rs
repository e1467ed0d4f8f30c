//! Vocabulary effect: key-term recall and WER on every corpus speech file, decoded three
//! ways with the production prompt builder (`dictaflow::vocabulary::build_prompt`):
//!
//! - `none`: no vocabulary;
//! - `department`: the department's list (the union of the `key_terms` of the corpus
//!   scripts of that department, as a super-user would enter the specialty's drug,
//!   procedure and investigation names);
//! - `other`: another department's list (a control: does any prompt help or hurt by itself?).
//!
//! A key term counts as recognised when its normalised words appear, in order and
//! adjacent, in the normalised transcript (same normaliser as WER). Used by `bench/vocab.sh`.
//!
//! `vocab_bench --model M [--corpus DIR] [--threads N]`

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use dictaflow::draft::normalise::{normalise_words, wer};
use dictaflow::stt::{Engine, EngineConfig, TranscribeOptions};
use serde_json::{Value, json};

mod common;
use common::{arg, contains_term};

fn department(script_id: &str) -> &str {
    script_id.split('-').next().unwrap_or(script_id)
}

#[derive(Default)]
struct Tally {
    found: usize,
    terms: usize,
    wer_sum: f64,
    files: usize,
    seconds: f64,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let model = PathBuf::from(arg(&args, "--model").expect("--model PATH"));
    let corpus = PathBuf::from(arg(&args, "--corpus").unwrap_or_else(|| "../shared/corpus".into()));
    let threads: usize = arg(&args, "--threads").map_or(2, |t| t.parse().expect("threads"));
    let read = |p: &Path| -> Value { serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json") };
    let scripts = read(&corpus.join("scripts.json"));
    let manifest = read(&corpus.join("manifest.json"));
    let scripts = scripts["scripts"].as_array().expect("scripts");

    let mut lists: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in scripts {
        let id = s["id"].as_str().unwrap_or_default();
        let list = lists.entry(department(id).to_string()).or_default();
        for t in s["key_terms"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !list.iter().any(|x| x.eq_ignore_ascii_case(t)) {
                list.push(t.to_string());
            }
        }
    }
    let departments: Vec<String> = lists.keys().cloned().collect();
    let other_of = |d: &str| {
        let i = departments.iter().position(|x| x == d).unwrap_or(0);
        departments[(i + 1) % departments.len()].clone()
    };

    dictaflow::stt::route_native_logs_to_tracing();
    let engine = Engine::load(&model, EngineConfig { threads, ..EngineConfig::default() }).expect("load model");
    let conditions = ["none", "department", "other"];
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    for file in manifest["files"].as_array().expect("files") {
        let kind = file["kind"].as_str().unwrap_or_default();
        if kind != "speech" && kind != "speech_noisy" {
            continue;
        }
        let (Some(rel), Some(id)) = (file["path"].as_str(), file["script_id"].as_str()) else { continue };
        let Some(script) = scripts.iter().find(|s| s["id"] == id) else { continue };
        let spoken = script["spoken"].as_str().unwrap_or_default();
        let terms: Vec<&str> = script["key_terms"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let samples = dictaflow::audio::decode_16k_mono(&corpus.join(rel), &dictaflow::audio::Limits::default())
            .expect("decode")
            .0;
        let dept = department(id).to_string();
        for condition in conditions {
            let prompt = match condition {
                "department" => dictaflow::vocabulary::build_prompt(&[lists[&dept].clone()]),
                "other" => dictaflow::vocabulary::build_prompt(&[lists[&other_of(&dept)].clone()]),
                _ => None,
            };
            let opts = TranscribeOptions { initial_prompt: prompt, ..TranscribeOptions::default() };
            let t = engine.transcribe(&samples, &opts, |_| {}, Arc::new(AtomicBool::new(false))).expect("transcribe");
            let hyp = normalise_words(&t.text);
            let missed: Vec<&str> = terms.iter().copied().filter(|term| !contains_term(&hyp, term)).collect();
            let w = wer(spoken, &t.text).wer;
            let tally = tallies.entry(condition).or_default();
            tally.found += terms.len() - missed.len();
            tally.terms += terms.len();
            tally.wer_sum += w;
            tally.files += 1;
            tally.seconds += t.processing_seconds;
            println!(
                "{}",
                json!({"file": rel, "kind": kind, "condition": condition, "terms": terms.len(),
                       "found": terms.len() - missed.len(), "missed": missed, "wer": (w * 1e4).round() / 1e4,
                       "processing_s": (t.processing_seconds * 1e3).round() / 1e3})
            );
        }
    }
    eprintln!("\n| vocabulary | files | key terms recognised | recall | mean WER | engine time |");
    eprintln!("|---|---|---|---|---|---|");
    for condition in conditions {
        let Some(t) = tallies.get(condition) else { continue };
        eprintln!(
            "| {condition} | {} | {}/{} | {:.3} | {:.3} | {:.1} s |",
            t.files,
            t.found,
            t.terms,
            t.found as f64 / t.terms.max(1) as f64,
            t.wer_sum / t.files.max(1) as f64,
            t.seconds
        );
    }
}
