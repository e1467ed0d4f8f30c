//! Benchmark/inspection tool: transcribe one audio file with the engine and print one JSON line
//! (RTF, WER vs the corpus `spoken` text, word counts). Used by `bench/stt.sh`.
//!
//! `stt_bench --model M --wav F [--scripts id1,id2] [--corpus DIR] [--beam N] [--threads N] [--flash-attn] [--max-text-ctx N]
//!   [--windows] [--full-ctx] [--ctx-margin N] [--no-sized-slide] [--temperature-inc T]
//!            [--runs N] [--label L] [--no-vad] [--no-guard] [--prompt P] [--show] [--json-out F]`
//! `stt_bench --score HYP.txt --scripts ids [--corpus DIR]` scores an external transcript.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use dictaflow::draft::normalise as wer;
use dictaflow::stt::{Engine, EngineConfig, TranscribeOptions, output};

mod common;
use common::arg;

fn reference(corpus: &Path, ids: &str) -> Option<String> {
    let text = std::fs::read_to_string(corpus.join("scripts.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let scripts = v["scripts"].as_array()?;
    let parts: Option<Vec<String>> = ids
        .split(',')
        .map(|id| scripts.iter().find(|s| s["id"] == id).and_then(|s| s["spoken"].as_str().map(String::from)))
        .collect();
    Some(parts?.join("\n\n"))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |f: &str| args.iter().any(|a| a == f);
    if let Some(hyp) = arg(&args, "--score") {
        // Score an external hypothesis (e.g. faster-whisper's) with the same normaliser.
        let ids = arg(&args, "--scripts").expect("--scripts with --score");
        let corpus = PathBuf::from(arg(&args, "--corpus").unwrap_or_else(|| "../shared/corpus".into()));
        let r = reference(&corpus, &ids).expect("reference text");
        let w = wer::wer(&r, &std::fs::read_to_string(hyp).expect("read --score file"));
        println!("{}", serde_json::json!({ "wer": (w.wer * 10000.0).round() / 10000.0, "wer_detail": w }));
        return;
    }
    let model = PathBuf::from(arg(&args, "--model").expect("--model PATH"));
    let wav = PathBuf::from(arg(&args, "--wav").expect("--wav PATH"));
    let corpus = PathBuf::from(arg(&args, "--corpus").unwrap_or_else(|| "../shared/corpus".into()));
    let threads: usize = arg(&args, "--threads").map_or(2, |t| t.parse().expect("threads"));
    let runs: usize = arg(&args, "--runs").map_or(1, |t| t.parse().expect("runs"));
    let opts = TranscribeOptions {
        beam_size: arg(&args, "--beam").map(|b| b.parse().expect("beam")),
        initial_prompt: arg(&args, "--prompt"),
        vad: !has("--no-vad"),
        repetition_guard: !has("--no-guard"),
        temperature_increment: arg(&args, "--temperature-inc")
            .map_or(TranscribeOptions::default().temperature_increment, |t| t.parse().expect("--temperature-inc")),
        ..TranscribeOptions::default()
    };
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    dictaflow::stt::route_native_logs_to_tracing();
    let mut config = EngineConfig { threads, ..EngineConfig::default() };
    if has("--flash-attn") {
        config.flash_attn = true;
    }
    // Ablations of the recognition windows (off in production): on, and on with the full
    // encoder or an encoder floor.
    if let Some(n) = arg(&args, "--max-text-ctx") {
        config.max_text_ctx = n.parse().expect("--max-text-ctx N");
    }
    if has("--windows") {
        config.windows.enabled = true;
    }
    if let Some(n) = arg(&args, "--min-ctx") {
        config.windows.min_audio_ctx = n.parse().expect("--min-ctx positions");
    }
    if has("--full-ctx") {
        config.windows.trim_audio_ctx = false;
    }
    if let Some(n) = arg(&args, "--ctx-margin") {
        config.windows.ctx_margin = n.parse().expect("--ctx-margin positions");
    }
    // whisper's own sliding window in one call, as before the sized slide.
    if has("--no-sized-slide") {
        config.windows.sized_slide = false;
    }
    let engine = Engine::load(&model, config).expect("load model");
    let samples =
        dictaflow::audio::decode_16k_mono(&wav, &dictaflow::audio::Limits::default()).expect("decode audio").0;
    let reference = arg(&args, "--scripts").and_then(|ids| reference(&corpus, &ids));
    for run in 0..runs {
        let t = engine.transcribe(&samples, &opts, |_| {}, Arc::new(AtomicBool::new(false))).expect("transcribe");
        let w = reference.as_deref().map(|r| wer::wer(r, &t.text));
        let words: Vec<_> = t.words().collect();
        let low = words.iter().filter(|w| w.low_confidence).count();
        if has("--show") && run == 0 {
            eprintln!("{}", output::to_text(&t));
        }
        if let (Some(path), 0) = (arg(&args, "--json-out"), run) {
            std::fs::write(path, output::to_json(&t)).expect("write --json-out");
        }
        println!(
            "{}",
            serde_json::json!({
                "label": arg(&args, "--label").unwrap_or_default(),
                "model": t.model,
                "audio": wav.file_name().map(|f| f.to_string_lossy().to_string()),
                "run": run,
                "threads": threads,
                "beam": opts.beam_size,
                "audio_s": (t.audio_seconds * 100.0).round() / 100.0,
                "processing_s": (t.processing_seconds * 1000.0).round() / 1000.0,
                "rtf": (t.processing_seconds / t.audio_seconds * 10000.0).round() / 10000.0,
                "wer": w.map(|w| (w.wer * 10000.0).round() / 10000.0),
                "wer_detail": w,
                "words": words.len(),
                "low_confidence_words": low,
            })
        );
    }
}
