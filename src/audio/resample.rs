//! Streaming mono resampling to 16 kHz with rubato's FFT-based synchronous resampler
//! (band-limited, anti-aliased). Input arrives in decoder-sized pieces of any length; it is
//! cut into fixed chunks, the resampler's start-up delay is trimmed so output sample 0 lines
//! up with input sample 0, and the tail is flushed so the output is exactly
//! `round(frames_in * 16000 / rate_in)` samples long. Only the 16 kHz output and less than one
//! input chunk are ever held. Rates whose ratio to 16 kHz would need huge FFT blocks (odd
//! rates like 44101 Hz, only seen in damaged headers) use rubato's asynchronous sinc
//! resampler instead. Alignment is within half an input sample (rubato's FFT convention).

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Async, Fft, FixedAsync, FixedSync, Indexing, Resampler, SincInterpolationParameters, WindowFunction};

use crate::audio::AudioError;

/// Whisper's input rate.
pub const TARGET_RATE: u32 = 16_000;

/// Target size of one resampler chunk in input frames (rubato rounds it to fit the ratio).
const CHUNK: usize = 2048;
/// Largest `rate_in / gcd(rate_in, 16000)` served by the FFT resampler (44.1 kHz needs 441).
const MAX_FFT_BLOCK: u32 = 2048;

/// Resamples a mono stream to [`TARGET_RATE`] (a plain copy when it is already 16 kHz).
pub(crate) struct MonoResampler {
    fft: Option<Box<dyn Resampler<f32>>>,
    chunk_in: usize,
    pending: Vec<f32>,
    out: Vec<f32>,
    to_trim: usize,
    frames_in: u64,
    rate_in: u32,
}

fn resample_error(e: impl std::fmt::Display) -> AudioError {
    AudioError::Corrupt(format!("The audio could not be resampled to 16 kHz: {e}."))
}

impl MonoResampler {
    /// A resampler from `rate_in` Hz; `reserve` is a capacity hint for the output in samples.
    pub fn new(rate_in: u32, reserve: usize) -> Result<Self, AudioError> {
        if rate_in == 0 {
            return Err(AudioError::Corrupt("The stream declares a sample rate of 0 Hz.".into()));
        }
        let fft = if rate_in == TARGET_RATE { None } else { Some(build(rate_in)?) };
        let (chunk_in, to_trim) = match &fft {
            Some(f) => (f.input_frames_next(), f.output_delay()),
            None => (0, 0),
        };
        Ok(MonoResampler {
            fft,
            chunk_in,
            pending: Vec::with_capacity(chunk_in * 2),
            out: Vec::with_capacity(reserve),
            to_trim,
            frames_in: 0,
            rate_in,
        })
    }

    /// Feeds the next mono samples.
    pub fn push(&mut self, samples: &[f32]) -> Result<(), AudioError> {
        self.frames_in += samples.len() as u64;
        if self.fft.is_none() {
            self.out.extend_from_slice(samples);
            return Ok(());
        }
        let mut input = samples;
        // Top up a partial chunk first, then process whole chunks straight from `samples`.
        if !self.pending.is_empty() {
            let need = (self.chunk_in - self.pending.len()).min(input.len());
            self.pending.extend_from_slice(&input[..need]);
            input = &input[need..];
            if self.pending.len() < self.chunk_in {
                return Ok(());
            }
            let pending = std::mem::take(&mut self.pending);
            self.run_chunk(&pending, None)?;
            self.pending = pending;
            self.pending.clear();
        }
        let mut whole = input.chunks_exact(self.chunk_in);
        for chunk in whole.by_ref() {
            self.run_chunk(chunk, None)?;
        }
        self.pending.extend_from_slice(whole.remainder());
        Ok(())
    }

    /// Flushes the tail and returns exactly `round(frames_in * 16000 / rate_in)` samples.
    pub fn finish(mut self) -> Result<Vec<f32>, AudioError> {
        let expected = ((self.frames_in as f64) * f64::from(TARGET_RATE) / f64::from(self.rate_in)).round() as usize;
        if self.fft.is_some() {
            let pending = std::mem::take(&mut self.pending);
            if !pending.is_empty() {
                self.run_chunk(&pending, Some(pending.len()))?;
            }
            while self.out.len() < expected {
                self.run_chunk(&[], Some(0))?;
            }
        }
        self.out.truncate(expected);
        Ok(self.out)
    }

    /// Resamples one chunk (`partial` = number of real frames when shorter than a chunk).
    fn run_chunk(&mut self, input: &[f32], partial: Option<usize>) -> Result<(), AudioError> {
        let Some(fft) = self.fft.as_mut() else { return Ok(()) };
        let start = self.out.len();
        let room = fft.output_frames_next();
        self.out.resize(start + room, 0.0);
        let src = InterleavedSlice::new(input, 1, input.len()).map_err(resample_error)?;
        let mut dst = InterleavedSlice::new_mut(&mut self.out[start..], 1, room).map_err(resample_error)?;
        let mut indexing = Indexing::new();
        if let Some(n) = partial {
            indexing = indexing.partial_len(n);
        }
        let (_, produced) = fft.process_into_buffer(&src, &mut dst, Some(&indexing)).map_err(resample_error)?;
        self.out.truncate(start + produced);
        if self.to_trim > 0 {
            let drop = self.to_trim.min(produced);
            self.out.drain(start..start + drop);
            self.to_trim -= drop;
        }
        Ok(())
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// FFT resampler for the usual rates, asynchronous sinc resampler for odd ones.
///
/// The FFT block is `k` times the smallest block the ratio allows (`rate / gcd` frames), with
/// `k` a power of two that brings it near [`CHUNK`]: this keeps both FFT lengths smooth
/// (48 kHz: 1536 -> 512, 44.1 kHz: 1764 -> 640) instead of letting a prime factor such as
/// 683 creep in, which makes the FFTs several times slower.
fn build(rate_in: u32) -> Result<Box<dyn Resampler<f32>>, AudioError> {
    let min_block = rate_in / gcd(rate_in, TARGET_RATE);
    if min_block <= MAX_FFT_BLOCK {
        let mut k = 1;
        while 2 * k * min_block <= CHUNK as u32 {
            k *= 2;
        }
        let chunk = (k * min_block) as usize;
        let fft = Fft::<f32>::new(rate_in as usize, TARGET_RATE as usize, chunk, 1, FixedSync::Both)
            .map_err(resample_error)?;
        return Ok(Box::new(fft));
    }
    let params = SincInterpolationParameters::new(128, WindowFunction::BlackmanHarris2);
    let ratio = f64::from(TARGET_RATE) / f64::from(rate_in);
    let sinc = Async::<f32>::new_sinc(ratio, 1.0, &params, CHUNK, 1, FixedAsync::Input).map_err(resample_error)?;
    Ok(Box::new(sinc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, freq: f32, amp: f32, secs: f32) -> Vec<f32> {
        let n = (f64::from(rate) * f64::from(secs)) as usize;
        let w = 2.0 * std::f64::consts::PI * f64::from(freq) / f64::from(rate);
        (0..n).map(|i| amp * (w * i as f64).sin() as f32).collect()
    }

    fn resample(rate: u32, input: &[f32], piece: usize) -> Vec<f32> {
        let mut r = MonoResampler::new(rate, 0).unwrap();
        for p in input.chunks(piece.max(1)) {
            r.push(p).unwrap();
        }
        r.finish().unwrap()
    }

    fn zero_crossings(x: &[f32]) -> usize {
        x.windows(2).filter(|w| (w[0] < 0.0) != (w[1] < 0.0)).count()
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
    }

    #[test]
    fn sine_44k1_keeps_frequency_and_amplitude() {
        let input = sine(44_100, 1000.0, 0.5, 2.0);
        let out = resample(44_100, &input, 1152);
        assert_eq!(out.len(), 32_000);
        // Ignore the edges (the flushed tail tapers); 1 kHz over 1.5 s = 3000 crossings.
        let mid = &out[4000..28_000];
        let zc = zero_crossings(mid);
        assert!((zc as i64 - 3000).abs() <= 2, "zero crossings {zc}");
        let level = rms(mid);
        assert!((level - 0.5 / 2f32.sqrt()).abs() < 0.005, "rms {level}");
        // Phase: output sample i must match the ideal sine at time i/16000 (delay trimmed).
        // rubato's FFT blocks are aligned to within half an input sample (0.18 output samples
        // at 44.1 kHz, a deviation of about 0.036 here); a one-sample error would give 0.19.
        let ideal = sine(16_000, 1000.0, 0.5, 2.0);
        let err = mid.iter().zip(&ideal[4000..28_000]).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(err < 0.05, "max deviation from ideal {err}");
    }

    #[test]
    fn chunking_of_the_input_does_not_change_the_output() {
        let input = sine(22_050, 440.0, 0.3, 1.3);
        let a = resample(22_050, &input, 1_000_000);
        let b = resample(22_050, &input, 577);
        let c = resample(22_050, &input, 1);
        assert_eq!(a.len(), b.len());
        assert_eq!(a.len(), c.len());
        let max_diff = a.iter().zip(&b).chain(a.iter().zip(&c)).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
        assert!(max_diff < 1e-6, "{max_diff}");
    }

    #[test]
    fn lengths_for_common_rates() {
        for &(rate, secs) in &[(8_000u32, 1.0f32), (22_050, 0.37), (48_000, 2.5), (11_025, 0.01)] {
            let input = sine(rate, 300.0, 0.1, secs);
            let out = resample(rate, &input, 4096);
            let expected = (input.len() as f64 * 16_000.0 / f64::from(rate)).round() as usize;
            assert_eq!(out.len(), expected, "rate {rate}");
        }
        assert!(resample(44_100, &[], 10).is_empty());
    }

    #[test]
    fn odd_rates_use_the_sinc_resampler_and_still_work() {
        let input = sine(44_101, 1000.0, 0.5, 1.0);
        let out = resample(44_101, &input, 3000);
        assert_eq!(out.len(), (44_101f64 * 16_000.0 / 44_101.0).round() as usize);
        let mid = &out[3000..13_000];
        assert!((zero_crossings(mid) as i64 - 1250).abs() <= 2, "{}", zero_crossings(mid));
        assert!((rms(mid) - 0.5 / 2f32.sqrt()).abs() < 0.01, "rms {}", rms(mid));
    }

    #[test]
    fn high_frequencies_are_filtered_not_aliased() {
        // 12 kHz is above the 8 kHz Nyquist limit of 16 kHz output: it must vanish.
        let input = sine(48_000, 12_000.0, 0.5, 1.0);
        let out = resample(48_000, &input, 960);
        assert!(rms(&out[2000..14_000]) < 0.005, "alias rms {}", rms(&out[2000..14_000]));
    }

    #[test]
    fn sixteen_khz_is_passed_through_unchanged() {
        let input = sine(16_000, 1000.0, 0.5, 0.5);
        assert_eq!(resample(16_000, &input, 100), input);
        assert!(MonoResampler::new(0, 0).is_err());
    }
}
