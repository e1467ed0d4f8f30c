//! Energy/zero-crossing voice-activity detection and the compact <-> original time map.
//!
//! Frames of 20 ms are classified against an adaptive threshold (noise floor + margin,
//! capped below the loud speech level, never below an absolute floor). Weak fricatives
//! are rescued by their high zero-crossing rate. Speech frames get a hangover and padding;
//! regions separated by less than `max_pause_ms` are merged, longer pauses are dropped.
//! The kept regions are concatenated (their padding leaves short natural gaps) and a
//! [`TimeMap`] maps times in the concatenated audio back to the original recording.

use serde::{Deserialize, Serialize};

pub const SAMPLE_RATE: usize = 16_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VadConfig {
    pub frame_ms: usize,
    /// Speech must exceed the noise floor (10th percentile frame energy) by this much...
    pub floor_margin_db: f32,
    /// ...but the threshold never exceeds the loud level (95th percentile) minus this.
    pub peak_margin_db: f32,
    /// Frames quieter than this (dBFS) are never speech.
    pub abs_min_dbfs: f32,
    /// Frames within this margin under the threshold count when their ZCR is fricative-like.
    pub zcr_rescue_db: f32,
    pub hangover_ms: usize,
    /// Audio kept before/after each speech region.
    pub pad_ms: usize,
    /// Pauses longer than this are removed.
    pub max_pause_ms: usize,
    /// Regions with less active speech than this are ignored (clicks, pops).
    pub min_speech_ms: usize,
}

impl Default for VadConfig {
    fn default() -> Self {
        Self {
            frame_ms: 20,
            floor_margin_db: 9.0,
            peak_margin_db: 25.0,
            abs_min_dbfs: -62.0,
            zcr_rescue_db: 6.0,
            hangover_ms: 300,
            pad_ms: 200,
            max_pause_ms: 1000,
            min_speech_ms: 120,
        }
    }
}

/// A contiguous piece of original audio placed at `compact_start` in the compact audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub compact_start: usize,
    pub orig_start: usize,
    pub len: usize,
}

/// Piecewise-linear, monotonic map from compact-audio time to original time.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeMap {
    pub pieces: Vec<Piece>,
    pub orig_len: usize,
}

impl TimeMap {
    /// Keep everything (VAD disabled).
    pub fn identity(len: usize) -> Self {
        let pieces = if len > 0 { vec![Piece { compact_start: 0, orig_start: 0, len }] } else { vec![] };
        Self { pieces, orig_len: len }
    }

    /// Build from sorted, non-overlapping original `[start, end)` sample ranges.
    pub fn from_ranges(ranges: &[(usize, usize)], orig_len: usize) -> Self {
        let mut pieces = Vec::with_capacity(ranges.len());
        let mut c = 0;
        for &(s, e) in ranges {
            pieces.push(Piece { compact_start: c, orig_start: s, len: e - s });
            c += e - s;
        }
        Self { pieces, orig_len }
    }

    /// No speech kept.
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    pub fn compact_len(&self) -> usize {
        self.pieces.last().map_or(0, |p| p.compact_start + p.len)
    }

    /// Concatenate the kept pieces of `samples`.
    pub fn extract(&self, samples: &[f32]) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.compact_len());
        for p in &self.pieces {
            out.extend_from_slice(&samples[p.orig_start..p.orig_start + p.len]);
        }
        out
    }

    /// Map a compact time (seconds) to the original timeline, clamped into the audio.
    /// A time exactly on a junction maps to the START of the later piece (use for starts).
    pub fn to_original(&self, t: f64) -> f64 {
        self.map(t, false)
    }

    /// Like [`Self::to_original`], but a junction maps to the END of the earlier piece, so
    /// an end time never jumps across a removed pause.
    pub fn to_original_end(&self, t: f64) -> f64 {
        self.map(t, true)
    }

    fn map(&self, t: f64, end_side: bool) -> f64 {
        let sr = SAMPLE_RATE as f64;
        if self.pieces.is_empty() {
            return 0.0;
        }
        let s = (t.max(0.0) * sr).min(self.compact_len() as f64);
        let i = self
            .pieces
            .partition_point(|p| if end_side { (p.compact_start as f64) < s } else { (p.compact_start as f64) <= s })
            .saturating_sub(1);
        let p = &self.pieces[i.min(self.pieces.len() - 1)];
        let within = (s - p.compact_start as f64).min(p.len as f64);
        ((p.orig_start as f64 + within) / sr).min(self.orig_len as f64 / sr)
    }
}

fn frame_features(samples: &[f32], frame: usize) -> Vec<(f32, f32)> {
    samples
        .chunks(frame)
        .map(|f| {
            let energy = f.iter().map(|x| x * x).sum::<f32>() / f.len() as f32;
            let db = 10.0 * (energy + 1e-12).log10();
            let zc = f.windows(2).filter(|w| (w[0] >= 0.0) != (w[1] >= 0.0)).count();
            (db, zc as f32 / f.len().max(2) as f32)
        })
        .collect()
}

fn percentile(sorted: &[f32], q: f32) -> f32 {
    sorted[((sorted.len() - 1) as f32 * q).round() as usize]
}

/// Per-frame speech decision (before hangover).
pub fn speech_frames(samples: &[f32], cfg: &VadConfig) -> Vec<bool> {
    let frame = (SAMPLE_RATE * cfg.frame_ms / 1000).max(1);
    let feats = frame_features(samples, frame);
    if feats.is_empty() {
        return vec![];
    }
    let mut e: Vec<f32> = feats.iter().map(|f| f.0).collect();
    e.sort_by(f32::total_cmp);
    let (floor, loud) = (percentile(&e, 0.10), percentile(&e, 0.95));
    let thr = (floor + cfg.floor_margin_db).min(loud - cfg.peak_margin_db).max(cfg.abs_min_dbfs);
    feats
        .iter()
        .map(|&(db, zcr)| {
            db >= thr || (db >= thr - cfg.zcr_rescue_db && db >= cfg.abs_min_dbfs && (0.25..0.75).contains(&zcr))
        })
        .collect()
}

/// Detect speech and return the map of the regions to keep (empty = no speech).
pub fn detect(samples: &[f32], cfg: &VadConfig) -> TimeMap {
    let n = samples.len();
    let frame = (SAMPLE_RATE * cfg.frame_ms / 1000).max(1);
    let flags = speech_frames(samples, cfg);
    let hang = cfg.hangover_ms / cfg.frame_ms.max(1);
    let min_frames = cfg.min_speech_ms.div_ceil(cfg.frame_ms.max(1));
    // Raw regions in frames: (start, end_exclusive_with_hangover, active_frames).
    let mut regions: Vec<(usize, usize, usize)> = Vec::new();
    let mut i = 0;
    while i < flags.len() {
        if !flags[i] {
            i += 1;
            continue;
        }
        let (start, mut active, mut last) = (i, 0, i);
        while i < flags.len() && i <= last + hang {
            if flags[i] {
                active += 1;
                last = i;
            }
            i += 1;
        }
        regions.push((start, (last + 1 + hang).min(flags.len()), active));
    }
    let pad = SAMPLE_RATE * cfg.pad_ms / 1000;
    let max_gap = SAMPLE_RATE * cfg.max_pause_ms / 1000;
    let mut ranges: Vec<(usize, usize, usize)> = Vec::new();
    for (s, e, active) in regions {
        let (s, e) = ((s * frame).saturating_sub(pad), (e * frame + pad).min(n));
        match ranges.last_mut() {
            Some(last) if s <= last.1 || s - last.1 <= max_gap => {
                last.1 = last.1.max(e);
                last.2 += active;
            }
            _ => ranges.push((s, e, active)),
        }
    }
    ranges.retain(|r| r.2 >= min_frames);
    let kept: Vec<(usize, usize)> = ranges.iter().map(|r| (r.0, r.1)).collect();
    TimeMap::from_ranges(&kept, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic test signal: faint noise with loud "speech" bursts at given seconds.
    fn signal(total_s: f32, bursts: &[(f32, f32)]) -> Vec<f32> {
        let n = (total_s * SAMPLE_RATE as f32) as usize;
        let mut s = 12345u32;
        (0..n)
            .map(|i| {
                s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let noise = ((s >> 16) as f32 / 32768.0 - 1.0) * 0.0005; // ~ -72 dBFS
                let t = i as f32 / SAMPLE_RATE as f32;
                let on = bursts.iter().any(|&(a, b)| t >= a && t < b);
                noise + if on { 0.3 * (t * 2.0 * std::f32::consts::PI * 220.0).sin() } else { 0.0 }
            })
            .collect()
    }

    #[test]
    fn digital_silence_and_faint_noise_have_no_speech() {
        let cfg = VadConfig::default();
        assert!(detect(&vec![0.0; 32_000], &cfg).is_empty());
        assert!(detect(&signal(3.0, &[]), &cfg).is_empty());
        assert!(detect(&[], &cfg).is_empty());
    }

    #[test]
    fn a_click_is_not_speech() {
        let cfg = VadConfig::default();
        assert!(detect(&signal(3.0, &[(1.0, 1.04)]), &cfg).is_empty());
    }

    #[test]
    fn long_pauses_are_removed_and_short_ones_kept() {
        let cfg = VadConfig::default();
        let x = signal(10.0, &[(1.0, 2.0), (2.5, 3.0), (6.0, 7.0)]);
        let m = detect(&x, &cfg);
        assert_eq!(m.pieces.len(), 2, "{:?}", m.pieces);
        // First region: 1.0 - 3.0 plus hangover/padding; the 0.5 s gap stays inside it.
        let p0 = m.pieces[0];
        assert_eq!(p0.orig_start, 12_800); // 1.0 s - 0.2 s pad
        assert!(p0.orig_start + p0.len >= 3 * SAMPLE_RATE);
        assert!(p0.orig_start + p0.len <= (3.6 * SAMPLE_RATE as f32) as usize);
        // The 3 s pause shrinks to the pads + hangover (well under 1 s).
        let compact = m.compact_len() as f32 / SAMPLE_RATE as f32;
        assert!(compact > 3.0 && compact < 4.6, "compact {compact}");
        assert_eq!(m.extract(&x).len(), m.compact_len());
    }

    #[test]
    fn time_map_maps_back_monotonically() {
        let sr = SAMPLE_RATE;
        let m = TimeMap::from_ranges(&[(sr, 3 * sr), (6 * sr, 7 * sr)], 10 * sr);
        assert_eq!(m.compact_len(), 3 * sr);
        assert_eq!(m.to_original(0.0), 1.0);
        assert_eq!(m.to_original(1.5), 2.5);
        assert_eq!(m.to_original(2.0), 6.0); // first sample of the second piece
        assert_eq!(m.to_original_end(2.0), 3.0); // ...or the end of the first one
        assert_eq!(m.to_original_end(0.0), 1.0);
        assert_eq!(m.to_original_end(2.5), 6.5);
        assert_eq!(m.to_original(2.5), 6.5);
        assert_eq!(m.to_original(99.0), 7.0); // clamped to the end of the last piece
        assert_eq!(m.to_original(-1.0), 1.0);
        let mut prev = 0.0;
        for i in 0..=300 {
            let t = m.to_original(i as f64 * 0.01);
            assert!(t >= prev && t <= 10.0);
            prev = t;
        }
        let id = TimeMap::identity(sr);
        assert_eq!(id.to_original(0.25), 0.25);
        assert_eq!(TimeMap::identity(0).to_original(1.0), 0.0);
    }
}
