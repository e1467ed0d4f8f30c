//! The packet loop shared by `inspect_file` and `decode_16k_mono`: demux, decode, convert to
//! planar f32, apply container-level trims (MP4 priming/padding), enforce the deadline and the
//! maximum duration between packets, skip and count undecodable packets, and decide whether
//! the stream was truncated. Samples are handed to a [`Sink`] and never accumulated here.

use std::time::Instant;

use symphonia::core::errors::Error as SymError;

use crate::audio::open::Opened;
use crate::audio::stats::sanitize;
use crate::audio::{AudioError, Limits};

/// Consumer of decoded audio.
pub(crate) trait Sink {
    /// Called once, before the first samples, with the stream's rate and channel count.
    fn start(&mut self, sample_rate: u32, channels: usize) -> Result<(), AudioError>;
    /// One block of planar samples (one slice per channel, all the same length).
    fn push(&mut self, planes: &[&[f32]]) -> Result<(), AudioError>;
}

/// What the loop learnt about the stream.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub sample_rate: u32,
    pub channels: u16,
    pub frames: u64,
    pub warnings: Vec<String>,
}

/// Demux errors tolerated in a row before the rest of the file is given up as damaged.
const MAX_CONSECUTIVE_DEMUX_ERRORS: u32 = 8;
/// A truncated or damaged recording is kept only if at least this much decodes.
const MIN_KEEP_TRUNCATED_SECONDS: f64 = 1.0;

#[derive(Default)]
struct Counters {
    skipped: u64,
    first_skip_error: Option<String>,
    mismatched: u64,
    eof_error: bool,
    stream_error: Option<String>,
    reset: bool,
}

/// Runs the decode loop to the end of the stream (or the first hard error).
pub(crate) fn run(
    mut s: Opened,
    limits: &Limits,
    deadline: Instant,
    sink: &mut dyn Sink,
) -> Result<Decoded, AudioError> {
    let mut spec: Option<(u32, usize)> = None;
    let mut planes: Vec<Vec<f32>> = Vec::new();
    let mut max_frames = u64::MAX;
    let mut position = 0u64; // frames produced by the decoder, before trims
    let mut frames = 0u64; // frames handed to the sink
    let mut c = Counters::default();
    let mut demux_errors = 0u32;
    let end_keep = s.keep_frames.map(|k| s.skip_frames.saturating_add(k));
    reject_declared_too_long(&s, limits)?;

    loop {
        if Instant::now() >= deadline {
            return Err(AudioError::Timeout { seconds: limits.decode_timeout.as_secs_f64() });
        }
        let packet = match s.reader.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                c.eof_error = true;
                break;
            }
            Err(SymError::ResetRequired) => {
                c.reset = true;
                break;
            }
            Err(e) => {
                demux_errors += 1;
                if demux_errors >= MAX_CONSECUTIVE_DEMUX_ERRORS {
                    c.stream_error = Some(e.to_string());
                    break;
                }
                continue;
            }
        };
        demux_errors = 0;
        if packet.track_id != s.track_id {
            continue;
        }
        let buf = match s.decoder.decode(&packet) {
            Ok(buf) => buf,
            Err(SymError::ResetRequired) => {
                s.decoder.reset();
                continue;
            }
            Err(e) => {
                c.skipped += 1;
                c.first_skip_error.get_or_insert_with(|| e.to_string());
                continue;
            }
        };
        let rate = buf.spec().rate();
        let channels = buf.spec().channels().count();
        match spec {
            None => {
                if !crate::audio::plausible_rate(rate) || channels == 0 {
                    return Err(AudioError::Corrupt(format!(
                        "The decoder reports {channels} channel(s) at {rate} Hz; the stream is invalid."
                    )));
                }
                spec = Some((rate, channels));
                max_frames = (limits.max_duration_seconds * f64::from(rate)).ceil() as u64;
                sink.start(rate, channels)?;
            }
            Some(first) if first != (rate, channels) => {
                c.mismatched += 1;
                continue;
            }
            Some(_) => {}
        }
        let n = buf.frames() as u64;
        if n == 0 {
            continue;
        }
        // Window of this buffer that survives the container trims.
        let lo = s.skip_frames.saturating_sub(position).min(n);
        let hi = end_keep.map_or(n, |end| end.saturating_sub(position).min(n));
        position += n;
        if lo >= hi {
            continue;
        }
        buf.copy_to_vecs_planar::<f32>(&mut planes);
        let (lo, hi) = (lo as usize, hi as usize);
        for p in planes.iter_mut() {
            sanitize(&mut p[lo..hi]);
        }
        // One tiny allocation per packet (not per sample) for the per-channel views.
        let views: Vec<&[f32]> = planes.iter().map(|p| &p[lo..hi]).collect();
        sink.push(&views)?;
        frames += (hi - lo) as u64;
        if frames > max_frames {
            return Err(AudioError::TooLong {
                seconds: frames as f64 / f64::from(rate),
                max_seconds: limits.max_duration_seconds,
            });
        }
    }

    let Some((rate, channels)) = spec else {
        return Err(nothing_decoded(&s, &c));
    };
    let warnings = judge(&s, &c, rate, frames)?;
    Ok(Decoded { sample_rate: rate, channels: channels.min(usize::from(u16::MAX)) as u16, frames, warnings })
}

/// Rejects before decoding when the header states an exact length over the limit and the file
/// is big enough for that length to be real (at least 500 bytes per second, below any speech
/// codec), so a lying header (a 3 s WAV claiming 18 hours) still gets decoded.
fn reject_declared_too_long(s: &Opened, limits: &Limits) -> Result<(), AudioError> {
    let (Some(frames), Some(rate)) = (s.declared_frames, s.sample_rate) else { return Ok(()) };
    let seconds = frames as f64 / f64::from(rate);
    if seconds > limits.max_duration_seconds && s.file_len as f64 >= seconds * 500.0 {
        return Err(AudioError::TooLong { seconds, max_seconds: limits.max_duration_seconds });
    }
    Ok(())
}

/// The error for a stream that produced no audio at all.
fn nothing_decoded(s: &Opened, c: &Counters) -> AudioError {
    if c.skipped > 0 {
        AudioError::Corrupt(format!(
            "None of the {} {} audio packets in the {} file could be decoded (first error: {}).",
            c.skipped,
            s.codec,
            s.container,
            c.first_skip_error.as_deref().unwrap_or("unknown")
        ))
    } else if c.eof_error || c.stream_error.is_some() || s.header_truncated {
        AudioError::Corrupt(format!(
            "The {} file is truncated or damaged: no audio could be decoded before the data ended.",
            s.container
        ))
    } else {
        AudioError::Empty(format!("The {} file contains no audio samples.", s.container))
    }
}

/// Decides truncation/damage and builds the warnings; rejects truncated streams under 1 s.
fn judge(s: &Opened, c: &Counters, rate: u32, frames: u64) -> Result<Vec<String>, AudioError> {
    let secs = frames as f64 / f64::from(rate);
    let mut warnings = Vec::new();
    // A header that promises noticeably more than was decoded means the data was cut short.
    let shortfall = s.declared_frames.filter(|&d| {
        let tolerance = (u64::from(rate) / 4).max(d / 100);
        d > frames.saturating_add(tolerance)
    });
    let truncated = s.header_truncated
        || match s.declared_frames {
            Some(_) => shortfall.is_some(),
            None => c.eof_error && !s.streamed,
        };
    if (truncated || c.stream_error.is_some()) && secs < MIN_KEEP_TRUNCATED_SECONDS {
        let why = match &c.stream_error {
            Some(e) if !truncated => format!("is damaged ({e})"),
            _ => "is truncated".to_string(),
        };
        return Err(AudioError::Corrupt(format!(
            "The {} recording {why}: only {secs:.2} s of audio could be decoded, less than the \
             {MIN_KEEP_TRUNCATED_SECONDS} s needed to keep a partial recording.",
            s.container
        )));
    }
    if truncated {
        let announced = shortfall
            .map(|d| format!(" (the header announces {:.2} s)", d as f64 / f64::from(rate)))
            .unwrap_or_default();
        warnings.push(format!("truncated: decoded {secs:.2} s before the data ended unexpectedly{announced}"));
    }
    if let Some(e) = &c.stream_error {
        warnings.push(format!("damaged: decoding stopped at unreadable data after {secs:.2} s ({e})"));
    }
    if c.skipped > 0 {
        warnings.push(format!(
            "skipped {} damaged packet(s) that could not be decoded (first error: {})",
            c.skipped,
            c.first_skip_error.as_deref().unwrap_or("unknown")
        ));
    }
    if c.mismatched > 0 {
        warnings.push(format!(
            "ignored {} packet(s) whose sample rate or channel count differs from the start of the stream",
            c.mismatched
        ));
    }
    if c.reset {
        warnings.push(format!(
            "the stream changes format after {secs:.2} s (chained stream); only the first part was decoded"
        ));
    }
    Ok(warnings)
}
