//! Audio decoding for dictaflow: turns an uploaded file of any common format into facts
//! ([`AudioInfo`]) or 16 kHz mono f32 samples for Whisper. This module owns the public API
//! ([`Limits`], [`AudioInfo`], [`AudioError`], [`inspect_file`], [`decode_16k_mono`],
//! [`inspect`], [`decode`], [`sniff`]), the sinks that connect the decode loop to level
//! statistics and the resampler, panic isolation and the time bound.
//!
//! Formats are recognised strictly by content (never by file name or client content type).
//! Submodules: `sniff` (magic numbers, non-audio and DSS detection), `open` (probe, track,
//! decoder), `decode` (packet loop, truncation), `mp4` (edit lists for AAC priming, codec
//! names symphonia cannot parse), `patch` (truncated AIFF/CAF headers), `resample` (16 kHz),
//! `stats` (levels and silence), `names`, `error`. Tests: unit tests beside the code, plus
//! `corpus_tests`, `fixture_tests` and `mutation_tests` (see `test_support` for locating the
//! shared corpus and `tests/fixtures/audio/`).
//!
//! `AudioError::Io` (code `io_error`) means the server could not read its own file: map it to
//! 500, not 422.

mod decode;
mod error;
mod mp4;
mod names;
mod open;
mod patch;
mod resample;
mod sniff;
mod stats;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod mutation_tests;
#[cfg(test)]
mod test_support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use error::AudioError;
pub use resample::TARGET_RATE;
pub use sniff::sniff;
pub use stats::{DBFS_FLOOR, SILENT_PEAK_DBFS, SILENT_RMS_DBFS, is_silent};

use decode::Sink;
use resample::MonoResampler;
use stats::Levels;

/// Sample rates outside 1 kHz..=768 kHz only come from damaged headers.
pub(crate) fn plausible_rate(rate: u32) -> bool {
    (1_000..=768_000).contains(&rate)
}

/// Bounds applied to every decode.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Longer recordings are rejected with `audio_too_long` (decoding stops at the limit).
    pub max_duration_seconds: f64,
    /// Shorter recordings are rejected with `audio_too_short`.
    pub min_duration_seconds: f64,
    /// Wall-clock bound for one decode, checked between packets (`decode_timeout`).
    pub decode_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_duration_seconds: 7200.0, min_duration_seconds: 0.05, decode_timeout: Duration::from_secs(120) }
    }
}

/// What a full decode found out about a recording.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct AudioInfo {
    /// Container found in the content: "wav", "flac", "mp3", "mp4", "ogg", "webm", "mkv",
    /// "aiff", "caf", "aac" (ADTS)...
    pub container: String,
    /// Codec, ffmpeg-style: "pcm_s16le", "pcm_mulaw", "flac", "mp3", "aac", "vorbis", "opus"...
    pub codec: String,
    /// Decoded sample rate in Hz (Opus always decodes at 48000).
    pub sample_rate: u32,
    /// Decoded channel count.
    pub channels: u16,
    /// Bits per sample for PCM-like codecs, `None` for lossy codecs.
    pub bits_per_sample: Option<u32>,
    /// Exact duration counted from decoded frames (after priming/padding trims).
    pub duration_seconds: f64,
    /// Peak level over all channels in dBFS ([`DBFS_FLOOR`] for digital silence).
    pub peak_dbfs: f32,
    /// RMS level over all channels in dBFS ([`DBFS_FLOOR`] for digital silence).
    pub rms_dbfs: f32,
    /// Silence or near-silence (see [`is_silent`]): expect no speech in it.
    pub silent: bool,
    /// Problems that did not prevent decoding, e.g. "truncated: decoded 3.08 s before ...".
    pub warnings: Vec<String>,
}

/// Decodes the whole file to measure it, without keeping the samples (O(1) memory in the
/// recording's length). Synchronous and CPU-bound: call [`inspect`] from async code.
pub fn inspect_file(path: &Path, limits: &Limits) -> Result<AudioInfo, AudioError> {
    let deadline = Instant::now() + limits.decode_timeout;
    isolate(|| {
        let mut sink = LevelSink::default();
        run(path, limits, deadline, &mut sink)
    })
}

/// Decodes the file, downmixes to mono (channel average) and resamples to 16 kHz f32 with a
/// band-limited FFT resampler, in chunks. Synchronous and CPU-bound: call [`decode`] from
/// async code.
pub fn decode_16k_mono(path: &Path, limits: &Limits) -> Result<(Vec<f32>, AudioInfo), AudioError> {
    let deadline = Instant::now() + limits.decode_timeout;
    isolate(|| {
        let mut sink = MonoSink::default();
        let info = run(path, limits, deadline, &mut sink)?;
        let samples = match sink.resampler.take() {
            Some(r) => r.finish()?,
            None => Vec::new(),
        };
        Ok((samples, info))
    })
}

/// [`inspect_file`] on a blocking thread, with panic isolation and the time bound.
pub async fn inspect(path: PathBuf, limits: Limits) -> Result<AudioInfo, AudioError> {
    let timeout = limits.decode_timeout;
    off_thread(timeout, move || inspect_file(&path, &limits)).await
}

/// [`decode_16k_mono`] on a blocking thread, with panic isolation and the time bound.
pub async fn decode(path: PathBuf, limits: Limits) -> Result<(Vec<f32>, AudioInfo), AudioError> {
    let timeout = limits.decode_timeout;
    off_thread(timeout, move || decode_16k_mono(&path, &limits)).await
}

/// Runs `job` on tokio's blocking pool. The job checks its own deadline between packets, so
/// the thread stops by itself; the outer timeout (with a little grace) only covers a single
/// packet that never returns.
async fn off_thread<T: Send + 'static>(
    timeout: Duration,
    job: impl FnOnce() -> Result<T, AudioError> + Send + 'static,
) -> Result<T, AudioError> {
    let handle = tokio::task::spawn_blocking(move || isolate(job));
    let grace = Duration::from_secs(2);
    match tokio::time::timeout(timeout + grace, handle).await {
        Err(_) => {
            tracing::warn!(timeout_s = timeout.as_secs_f64(), "audio decode overran its deadline");
            Err(AudioError::Timeout { seconds: timeout.as_secs_f64() })
        }
        Ok(Ok(result)) => result,
        Ok(Err(join)) if join.is_panic() => Err(panic_error()),
        Ok(Err(join)) => Err(AudioError::Io(format!("the decode task was cancelled ({join})"))),
    }
}

/// Catches a panic inside a decoder/demuxer and reports it as `corrupt_audio`.
fn isolate<T>(job: impl FnOnce() -> Result<T, AudioError>) -> Result<T, AudioError> {
    catch_unwind(AssertUnwindSafe(job)).unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::warn!(panic = %msg, "audio decoder panicked; reporting corrupt_audio");
        Err(panic_error())
    })
}

fn panic_error() -> AudioError {
    AudioError::Corrupt(
        "The audio decoder failed on malformed data in this file (internal decoder error); the \
         recording is probably damaged."
            .into(),
    )
}

/// Opens, decodes through `sink` and assembles the [`AudioInfo`].
fn run<S: Sink + Levelled>(
    path: &Path,
    limits: &Limits,
    deadline: Instant,
    sink: &mut S,
) -> Result<AudioInfo, AudioError> {
    let opened = open::open(path)?;
    let container = opened.container.clone();
    let codec = opened.codec.to_string();
    let bits_per_sample = opened.bits_per_sample;
    sink.set_reserve_hint(opened.declared_frames);
    let decoded = decode::run(opened, limits, deadline, sink)?;
    let duration_seconds = decoded.frames as f64 / f64::from(decoded.sample_rate);
    if decoded.frames == 0 {
        return Err(AudioError::Empty(format!("The {container} file contains no audio samples.")));
    }
    if duration_seconds < limits.min_duration_seconds {
        return Err(AudioError::TooShort { seconds: duration_seconds, min_seconds: limits.min_duration_seconds });
    }
    let levels = sink.levels();
    let (peak_dbfs, rms_dbfs) = (levels.peak_dbfs(), levels.rms_dbfs());
    let info = AudioInfo {
        container,
        codec,
        sample_rate: decoded.sample_rate,
        channels: decoded.channels,
        bits_per_sample,
        duration_seconds,
        peak_dbfs,
        rms_dbfs,
        silent: is_silent(peak_dbfs, rms_dbfs),
        warnings: decoded.warnings,
    };
    tracing::debug!(?info, "audio decoded");
    Ok(info)
}

/// Sinks that keep level statistics.
trait Levelled {
    fn levels(&self) -> &Levels;
    fn set_reserve_hint(&mut self, _declared_frames: Option<u64>) {}
}

/// Level statistics only (for [`inspect_file`]).
#[derive(Default)]
struct LevelSink {
    levels: Levels,
}

impl Sink for LevelSink {
    fn start(&mut self, _rate: u32, _channels: usize) -> Result<(), AudioError> {
        Ok(())
    }
    fn push(&mut self, planes: &[&[f32]]) -> Result<(), AudioError> {
        planes.iter().for_each(|p| self.levels.add(p));
        Ok(())
    }
}

impl Levelled for LevelSink {
    fn levels(&self) -> &Levels {
        &self.levels
    }
}

/// Levels + downmix + 16 kHz resampling (for [`decode_16k_mono`]).
#[derive(Default)]
struct MonoSink {
    levels: Levels,
    mono: Vec<f32>,
    resampler: Option<MonoResampler>,
    declared_frames: Option<u64>,
}

impl Sink for MonoSink {
    fn start(&mut self, rate: u32, _channels: usize) -> Result<(), AudioError> {
        // Reserve the output only for plausible, bounded lengths (a lying header must not
        // make us allocate gigabytes): at most 10 minutes up front, the Vec grows after that.
        let reserve = self
            .declared_frames
            .map(|f| (f as f64 * f64::from(TARGET_RATE) / f64::from(rate)) as usize)
            .unwrap_or(0)
            .min(TARGET_RATE as usize * 600);
        self.resampler = Some(MonoResampler::new(rate, reserve)?);
        Ok(())
    }
    fn push(&mut self, planes: &[&[f32]]) -> Result<(), AudioError> {
        planes.iter().for_each(|p| self.levels.add(p));
        let Some(resampler) = self.resampler.as_mut() else { return Ok(()) };
        match planes {
            [] => Ok(()),
            [mono] => resampler.push(mono),
            [first, rest @ ..] => {
                self.mono.clear();
                self.mono.extend_from_slice(first);
                for plane in rest {
                    for (m, s) in self.mono.iter_mut().zip(plane.iter()) {
                        *m += s;
                    }
                }
                let scale = 1.0 / planes.len() as f32;
                self.mono.iter_mut().for_each(|m| *m *= scale);
                resampler.push(&self.mono)
            }
        }
    }
}

impl Levelled for MonoSink {
    fn levels(&self) -> &Levels {
        &self.levels
    }
    fn set_reserve_hint(&mut self, declared_frames: Option<u64>) {
        self.declared_frames = declared_frames;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a 16-bit PCM WAV with `channels` identical channels of a sine.
    fn write_sine_wav(path: &Path, rate: u32, channels: u16, freq: f64, amp: f64, secs: f64) {
        let frames = (f64::from(rate) * secs) as u32;
        let data_len = frames * u32::from(channels) * 2;
        let mut v = Vec::with_capacity(44 + data_len as usize);
        v.extend_from_slice(b"RIFF");
        v.extend_from_slice(&(36 + data_len).to_le_bytes());
        v.extend_from_slice(b"WAVEfmt \x10\x00\x00\x00\x01\x00");
        v.extend_from_slice(&channels.to_le_bytes());
        v.extend_from_slice(&rate.to_le_bytes());
        v.extend_from_slice(&(rate * u32::from(channels) * 2).to_le_bytes());
        v.extend_from_slice(&(channels * 2).to_le_bytes());
        v.extend_from_slice(&16u16.to_le_bytes());
        v.extend_from_slice(b"data");
        v.extend_from_slice(&data_len.to_le_bytes());
        for i in 0..frames {
            let s = (amp * (2.0 * std::f64::consts::PI * freq * f64::from(i) / f64::from(rate)).sin() * 32767.0) as i16;
            for _ in 0..channels {
                v.extend_from_slice(&s.to_le_bytes());
            }
        }
        std::fs::write(path, v).unwrap();
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dictaflow-audio-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn stereo_44k1_sine_comes_out_as_16k_mono_with_same_pitch_and_level() {
        let path = temp("sine.wav");
        write_sine_wav(&path, 44_100, 2, 1000.0, 0.5, 3.0);
        let (samples, info) = decode_16k_mono(&path, &Limits::default()).unwrap();
        assert_eq!((info.container.as_str(), info.codec.as_str()), ("wav", "pcm_s16le"));
        assert_eq!((info.sample_rate, info.channels), (44_100, 2));
        assert!((info.duration_seconds - 3.0).abs() < 1e-9);
        assert_eq!(samples.len(), 48_000);
        let mid = &samples[8_000..40_000]; // 2 s away from the edges
        let crossings = mid.windows(2).filter(|w| (w[0] < 0.0) != (w[1] < 0.0)).count();
        assert!((crossings as i64 - 4000).abs() <= 2, "{crossings} zero crossings for 2 s of 1 kHz");
        let rms = (mid.iter().map(|s| s * s).sum::<f32>() / mid.len() as f32).sqrt();
        assert!((rms - 0.5 / 2f32.sqrt()).abs() < 0.005, "rms {rms}");
        assert!((info.peak_dbfs + 6.02).abs() < 0.05, "peak {}", info.peak_dbfs);
        assert!(!info.silent && info.warnings.is_empty());
        assert_eq!(inspect_file(&path, &Limits::default()).unwrap(), info);
    }

    #[test]
    fn missing_file_is_an_io_error_and_a_tiny_file_is_too_short() {
        let err = inspect_file(Path::new("/nonexistent/dictaflow.wav"), &Limits::default()).unwrap_err();
        assert_eq!(err.code(), "io_error");
        assert!(!err.is_unsupported());
        let path = temp("tiny.wav");
        write_sine_wav(&path, 16_000, 1, 440.0, 0.5, 0.01);
        let err = inspect_file(&path, &Limits::default()).unwrap_err();
        assert!(matches!(err, AudioError::TooShort { seconds, .. } if (seconds - 0.01).abs() < 1e-9), "{err}");
        write_sine_wav(&path, 16_000, 1, 440.0, 0.5, 0.0);
        assert_eq!(inspect_file(&path, &Limits::default()).unwrap_err().code(), "empty_audio");
    }

    #[test]
    fn panics_inside_decoding_become_corrupt_audio() {
        let err = isolate::<()>(|| panic!("decoder bug")).unwrap_err();
        assert_eq!(err.code(), "corrupt_audio");
        assert!(err.to_string().contains("internal decoder error"));
    }

    #[test]
    fn sample_rate_plausibility() {
        assert!(plausible_rate(8_000) && plausible_rate(768_000));
        assert!(!plausible_rate(0) && !plausible_rate(999) && !plausible_rate(3_976_209_216));
    }
}
