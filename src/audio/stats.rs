//! Streaming level statistics (peak and RMS in dBFS) computed block by block in O(1) memory,
//! and the silence rule. Owns the dBFS floor and the silence thresholds.
//!
//! Thresholds (checked against the corpus, see the corpus tests): speech files there peak
//! between about -9 and -1 dBFS with an overall RMS of about -35 to -20 dBFS; the only silent
//! file is digital zero (-120 dBFS, the floor). A file is flagged silent when its peak is
//! below [`SILENT_PEAK_DBFS`] (-50 dBFS: quieter than the noise floor of a cheap dictation
//! microphone, nothing intelligible can be in it) or its overall RMS is below
//! [`SILENT_RMS_DBFS`] (-60 dBFS: a room-tone-only recording with a stray click has a high
//! peak but an RMS near its noise floor, while even sparse quiet speech stays above -50 dBFS).

/// dBFS reported for digital silence (instead of -inf, which JSON cannot carry).
pub const DBFS_FLOOR: f32 = -120.0;
/// Below this peak level a recording is treated as silent.
pub const SILENT_PEAK_DBFS: f32 = -50.0;
/// Below this overall RMS level a recording is treated as silent.
pub const SILENT_RMS_DBFS: f32 = -60.0;

/// Running peak / mean-square accumulator over every sample of every channel.
#[derive(Debug, Default, Clone)]
pub(crate) struct Levels {
    peak: f32,
    sum_sq: f64,
    count: u64,
}

impl Levels {
    /// Adds one block of samples (any channel; all channels count alike).
    pub fn add(&mut self, samples: &[f32]) {
        // Eight independent lanes so the compiler can vectorise (a single running f32 sum
        // cannot be reordered); f32 within a block, f64 across blocks.
        const LANES: usize = 8;
        for run in samples.chunks(4096) {
            let mut peak = [0f32; LANES];
            let mut sq = [0f32; LANES];
            let mut lanes = run.chunks_exact(LANES);
            for block in lanes.by_ref() {
                for i in 0..LANES {
                    let a = block[i].abs();
                    peak[i] = if a > peak[i] { a } else { peak[i] };
                    sq[i] += block[i] * block[i];
                }
            }
            for (i, &s) in lanes.remainder().iter().enumerate() {
                peak[i] = peak[i].max(s.abs());
                sq[i] += s * s;
            }
            self.peak = peak.iter().fold(self.peak, |m, &p| m.max(p));
            self.sum_sq += sq.iter().map(|&v| f64::from(v)).sum::<f64>();
        }
        self.count += samples.len() as u64;
    }

    /// Peak level in dBFS (floored at [`DBFS_FLOOR`]).
    pub fn peak_dbfs(&self) -> f32 {
        to_dbfs(f64::from(self.peak))
    }

    /// Overall RMS level in dBFS (floored at [`DBFS_FLOOR`]).
    pub fn rms_dbfs(&self) -> f32 {
        if self.count == 0 {
            return DBFS_FLOOR;
        }
        to_dbfs((self.sum_sq / self.count as f64).sqrt())
    }
}

fn to_dbfs(amplitude: f64) -> f32 {
    if !amplitude.is_finite() || amplitude <= 0.0 {
        return DBFS_FLOOR;
    }
    ((20.0 * amplitude.log10()) as f32).max(DBFS_FLOOR)
}

/// The silence rule (see the module docs for the reasoning behind the thresholds).
pub fn is_silent(peak_dbfs: f32, rms_dbfs: f32) -> bool {
    peak_dbfs < SILENT_PEAK_DBFS || rms_dbfs < SILENT_RMS_DBFS
}

/// Replaces NaN/infinite samples (possible in damaged float PCM) with zero, in place.
pub(crate) fn sanitize(samples: &mut [f32]) {
    for s in samples {
        *s = if s.is_finite() { *s } else { 0.0 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_scale_sine_is_0_dbfs_peak_and_minus_3_rms() {
        let mut l = Levels::default();
        let sine: Vec<f32> =
            (0..48000).map(|i| (i as f32 * 2.0 * std::f32::consts::PI * 1000.0 / 48000.0).sin()).collect();
        l.add(&sine);
        assert!(l.peak_dbfs().abs() < 0.01, "{}", l.peak_dbfs());
        assert!((l.rms_dbfs() + 3.01).abs() < 0.02, "{}", l.rms_dbfs());
        assert!(!is_silent(l.peak_dbfs(), l.rms_dbfs()));
    }

    #[test]
    fn blocks_accumulate_like_one_pass() {
        let data: Vec<f32> = (0..10_000).map(|i| ((i * 7919) % 2001) as f32 / 1000.0 - 1.0).collect();
        let mut whole = Levels::default();
        whole.add(&data);
        let mut parts = Levels::default();
        for c in data.chunks(333) {
            parts.add(c);
        }
        assert_eq!(whole.peak_dbfs(), parts.peak_dbfs());
        assert!((whole.rms_dbfs() - parts.rms_dbfs()).abs() < 1e-3);
    }

    #[test]
    fn silence_and_near_silence() {
        let mut zero = Levels::default();
        zero.add(&[0.0; 1000]);
        assert_eq!(zero.peak_dbfs(), DBFS_FLOOR);
        assert_eq!(zero.rms_dbfs(), DBFS_FLOOR);
        assert!(is_silent(zero.peak_dbfs(), zero.rms_dbfs()));
        assert_eq!(Levels::default().rms_dbfs(), DBFS_FLOOR);
        // A quiet hiss at -70 dBFS with one loud click: the RMS rule catches it.
        let mut hiss = vec![0.000_316f32; 480_000]; // 10 s at 48 kHz
        hiss[100] = 0.5;
        let mut l = Levels::default();
        l.add(&hiss);
        assert!(l.peak_dbfs() > -7.0);
        assert!(is_silent(l.peak_dbfs(), l.rms_dbfs()), "rms {}", l.rms_dbfs());
        // Speech-like level is not silent.
        assert!(!is_silent(-3.0, -25.0));
    }

    #[test]
    fn sanitize_removes_non_finite() {
        let mut v = [0.5, f32::NAN, f32::INFINITY, -f32::INFINITY, -0.25];
        sanitize(&mut v);
        assert_eq!(v, [0.5, 0.0, 0.0, 0.0, -0.25]);
    }
}
