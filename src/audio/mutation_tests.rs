//! Property/mutation test: thousands of bit-flipped, truncated, spliced (head of one file +
//! tail of another), header-corrupted, field-clobbered and chunk-shuffled variants of short
//! corpus files and fixtures go through `inspect_file` (and every 8th through
//! `decode_16k_mono`). Each must return `Ok` with sane facts or a typed [`AudioError`] within
//! the time bound, and never panic out. `DICTAFLOW_MUTATIONS` sets the count (default 3000),
//! `DICTAFLOW_MUTATION_SEED` the seed; failing inputs are saved under the target directory.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::audio::test_support::{corpus_dir, fixtures_dir};
use crate::audio::{AudioInfo, Limits, decode_16k_mono, inspect_file};

/// Small seeded xorshift64* generator (deterministic across platforms).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// Source files: short corpus files of every format plus the fixtures, capped in size.
const CORPUS_SOURCES: &[&str] = &[
    "audio/ent-02__piper__wav-s16-8k-tel.wav",
    "audio/ortho-01__espeak-gb-f3__wav-mulaw-8k-tel.wav",
    "audio/omfs-02__piper__wav-f32-16k.wav",
    "audio/derm-01__piper__wav-s24-22k.wav",
    "audio/gastro-03__piper__wav-s16-44k-stereo.wav",
    "audio/cardio-02__piper__mp3-cbr32-22k.mp3",
    "audio/ortho-01__piper__mp3-vbr-v6-44k.mp3",
    "audio/gs-02__piper__ogg-vorbis-q1-22k.ogg",
    "audio/omfs-01__piper__opus-24k-voip.opus",
    "audio/onc-05__piper__webm-opus32-mediarecorder.webm",
    "audio/ent-03__piper__m4a-aac48-44k.m4a",
    "audio/onc-01__espeak-gb__flac-16k.flac",
];
const MAX_SOURCE_BYTES: usize = 40 * 1024;

fn sources() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut add = |name: String, path: PathBuf| {
        if let Ok(mut bytes) = std::fs::read(&path) {
            bytes.truncate(MAX_SOURCE_BYTES);
            out.push((name, bytes));
        }
    };
    if let Some(dir) = corpus_dir() {
        for rel in CORPUS_SOURCES {
            add(rel.to_string(), dir.join(rel));
        }
    }
    if let Some(dir) = fixtures_dir() {
        for name in ["tone.aiff", "tone.caf", "tone_alac.caf", "tone.aac", "tone_ac3.mkv", "fake_amr.3gp", "fake.dss"] {
            add(name.to_string(), dir.join(name));
        }
    }
    out
}

/// One mutant of `srcs[a]` (sometimes combined with `srcs[b]`) and a label describing it.
fn mutate(rng: &mut Rng, srcs: &[(String, Vec<u8>)]) -> (String, Vec<u8>) {
    let (name, src) = &srcs[rng.below(srcs.len())];
    let mut v = src.clone();
    let len = v.len().max(1);
    // Half of the point mutations hit the first kilobyte, where the headers are.
    let pos = |rng: &mut Rng| if rng.below(2) == 0 { rng.below(len.min(1024)) } else { rng.below(len) };
    let kind = rng.below(7);
    match kind {
        0 => {
            for _ in 0..1 + rng.below(8) {
                let p = pos(rng).min(v.len().saturating_sub(1));
                if let Some(b) = v.get_mut(p) {
                    *b ^= 1 << rng.below(8);
                }
            }
        }
        1 => v.truncate(rng.below(len)),
        2 => {
            let (_, other) = &srcs[rng.below(srcs.len())];
            let head = rng.below(len);
            let tail = rng.below(other.len().max(1));
            v.truncate(head);
            v.extend_from_slice(&other[tail.min(other.len())..]);
        }
        3 => {
            for _ in 0..1 + rng.below(16) {
                let p = rng.below(len.min(256));
                if let Some(b) = v.get_mut(p) {
                    *b = rng.byte();
                }
            }
        }
        4 => {
            let values = [0u32, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, rng.next() as u32];
            let value = values[rng.below(values.len())];
            let bytes = if rng.below(2) == 0 { value.to_le_bytes() } else { value.to_be_bytes() };
            let p = rng.below(len.min(512));
            for (i, b) in bytes.iter().enumerate() {
                if let Some(slot) = v.get_mut(p + i) {
                    *slot = *b;
                }
            }
        }
        5 => {
            let p = pos(rng);
            let run = 1 + rng.below(512);
            let zero = rng.below(2) == 0;
            for i in p..(p + run).min(v.len()) {
                v[i] = if zero { 0 } else { rng.byte() };
            }
        }
        _ => {
            let a = rng.below(len);
            let b = (a + 1 + rng.below(4096)).min(v.len());
            if rng.below(2) == 0 && a < b {
                v.drain(a..b);
            } else if a < b {
                let dup: Vec<u8> = v[a..b].to_vec();
                v.splice(a..a, dup);
            }
        }
    }
    let label = ["bitflip", "truncate", "splice", "header", "field", "run", "chunk"][kind];
    (format!("{label} of {name}"), v)
}

fn check_info(info: &AudioInfo, limits: &Limits) -> Result<(), String> {
    let ok = info.sample_rate > 0
        && info.channels > 0
        && info.duration_seconds.is_finite()
        && info.duration_seconds >= limits.min_duration_seconds
        && info.duration_seconds <= limits.max_duration_seconds
        && info.peak_dbfs.is_finite()
        && info.rms_dbfs.is_finite()
        && !info.container.is_empty()
        && !info.codec.is_empty();
    ok.then_some(()).ok_or_else(|| format!("insane info {info:?}"))
}

fn run_case(path: &Path, full_decode: bool, limits: &Limits) -> Result<&'static str, String> {
    let bound = limits.decode_timeout + Duration::from_secs(1);
    let started = Instant::now();
    let result = inspect_file(path, limits);
    if started.elapsed() > bound {
        return Err(format!("inspect took {:?}", started.elapsed()));
    }
    if std::env::var_os("DICTAFLOW_MUTATION_VERBOSE").is_some() {
        match &result {
            Ok(info) => {
                eprintln!("ok {} {} {:.2}s {:?}", info.container, info.codec, info.duration_seconds, info.warnings)
            }
            Err(e) => eprintln!("{}: {e}", e.code()),
        }
    }
    let code = match &result {
        Ok(info) => {
            check_info(info, limits)?;
            "ok"
        }
        Err(e) => e.code(),
    };
    if full_decode {
        let started = Instant::now();
        let decoded = decode_16k_mono(path, limits);
        if started.elapsed() > bound {
            return Err(format!("decode took {:?}", started.elapsed()));
        }
        match (&result, decoded) {
            (Ok(_), Ok((samples, info))) => {
                check_info(&info, limits)?;
                let want = (info.duration_seconds * 16_000.0).round() as usize;
                if samples.len() != want || samples.iter().any(|s| !s.is_finite()) {
                    return Err(format!("16 kHz output has {} samples, want {want}", samples.len()));
                }
            }
            (Err(a), Err(b)) if a.code() == b.code() => {}
            (a, b) => return Err(format!("inspect and decode disagree: {a:?} vs {b:?}")),
        }
    }
    Ok(code)
}

#[test]
fn mutated_inputs_never_panic_hang_or_misreport() {
    let srcs = sources();
    if srcs.is_empty() {
        eprintln!("SKIP: neither the corpus nor the fixtures are available");
        return;
    }
    let count: usize = std::env::var("DICTAFLOW_MUTATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(3000);
    let seed: u64 =
        std::env::var("DICTAFLOW_MUTATION_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x00d1_c7a7_f10e);
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1); // any seed, never the zero state
    let dir = std::env::temp_dir().join(format!("dictaflow-mutations-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let keep = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/mutation-failures");
    let limits = Limits { decode_timeout: Duration::from_secs(10), ..Limits::default() };
    let mut tally = std::collections::BTreeMap::<&str, usize>::new();
    let mut failures = Vec::new();
    let started = Instant::now();
    for i in 0..count {
        let (label, bytes) = mutate(&mut rng, &srcs);
        let path = dir.join("case.bin");
        std::fs::write(&path, &bytes).unwrap();
        match run_case(&path, i % 8 == 0, &limits) {
            Ok(code) => *tally.entry(code).or_default() += 1,
            Err(why) => {
                std::fs::create_dir_all(&keep).unwrap();
                let saved = keep.join(format!("case-{i}.bin"));
                std::fs::write(&saved, &bytes).unwrap();
                failures.push(format!("#{i} {label}: {why} (saved as {})", saved.display()));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("{count} mutants (seed {seed}) in {:?}: {tally:?}", started.elapsed());
    assert!(failures.is_empty(), "{} failing mutant(s):\n{}", failures.len(), failures.join("\n"));
    // The test must exercise both paths: plenty of survivors and plenty of rejections.
    if count >= 500 {
        assert!(tally.get("ok").copied().unwrap_or(0) > count / 10, "{tally:?}");
        assert!(tally.len() >= 3, "{tally:?}");
    }
}
