//! TEMPORARY placeholder (WAV header only) until the real decoder module is merged. Not to land.

use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_duration_seconds: f64,
    pub min_duration_seconds: f64,
    pub decode_timeout: Duration,
}

#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct AudioInfo {
    pub container: String,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u16,
    pub bits_per_sample: Option<u32>,
    pub duration_seconds: f64,
    pub peak_dbfs: f32,
    pub rms_dbfs: f32,
    pub silent: bool,
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("not audio")]
    NotAudio,
}

impl AudioError {
    pub fn code(&self) -> &'static str {
        "unsupported_audio"
    }
    pub fn is_unsupported(&self) -> bool {
        true
    }
}

pub fn inspect_file(path: &Path, _limits: &Limits) -> Result<AudioInfo, AudioError> {
    let b = std::fs::read(path).map_err(|_| AudioError::NotAudio)?;
    if b.len() < 44 || &b[0..4] != b"RIFF" {
        return Err(AudioError::NotAudio);
    }
    let ch = u16::from_le_bytes([b[22], b[23]]);
    let sr = u32::from_le_bytes([b[24], b[25], b[26], b[27]]);
    let bits = u16::from_le_bytes([b[34], b[35]]);
    let frames = (b.len() - 44) as f64 / (ch.max(1) as f64 * (bits.max(8) / 8) as f64);
    Ok(AudioInfo {
        container: "wav".into(),
        codec: "pcm".into(),
        sample_rate: sr,
        channels: ch,
        bits_per_sample: Some(bits as u32),
        duration_seconds: frames / sr.max(1) as f64,
        peak_dbfs: 0.0,
        rms_dbfs: 0.0,
        silent: false,
        warnings: vec![],
    })
}

pub fn decode_16k_mono(path: &Path, limits: &Limits) -> Result<(Vec<f32>, AudioInfo), AudioError> {
    inspect_file(path, limits).map(|i| (vec![], i))
}

pub async fn inspect(path: PathBuf, limits: Limits) -> Result<AudioInfo, AudioError> {
    inspect_file(&path, &limits)
}
