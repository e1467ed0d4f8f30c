//! Test-only helpers shared by the corpus, fixture and mutation tests: locating the shared
//! corpus (env `DICTAFLOW_CORPUS`, else `$CARGO_MANIFEST_DIR/../shared/corpus`) and its
//! manifest, and the committed fixtures under `tests/fixtures/audio/`.

use std::path::PathBuf;

/// The corpus directory, or `None` (with the reason printed) when it is absent.
pub(crate) fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("DICTAFLOW_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if dir.join("manifest.json").is_file() {
        Some(dir)
    } else {
        eprintln!("SKIP: audio corpus not found at {} (set DICTAFLOW_CORPUS to the corpus directory)", dir.display());
        None
    }
}

/// The corpus manifest's `files` array.
pub(crate) fn manifest_files(dir: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("read manifest.json");
    let manifest: serde_json::Value = serde_json::from_str(&text).expect("parse manifest.json");
    manifest["files"].as_array().expect("manifest files array").clone()
}

/// The committed fixture directory, or `None` (with the reason printed) when absent.
pub(crate) fn fixtures_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audio");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIP: audio fixtures not found at {}", dir.display());
        None
    }
}
