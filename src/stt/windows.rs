//! Sizing whisper's encoder to the audio in a window, and (experimental, off) cutting the
//! (VAD-compacted) audio into recognition windows of at most 30 s at pauses.
//!
//! By default the engine keeps whisper's own sliding window and its cuts, one window per
//! call, with each window's encoder sized here ([`WindowConfig::sized_slide`]).
//!
//! Left to itself, whisper.cpp slides a 30 s window over the audio and moves it to the
//! last timestamp it decoded, so a 34 s letter costs two full 30 s encoder passes (the
//! second one mostly silence) and a 272 s dictation costs about one window more than it
//! needs. Cutting at pauses into windows that each fit one pass, and giving a short window
//! an encoder context (`audio_ctx`) just over its length, spends the encoder on speech only.

use super::vad::SAMPLE_RATE;

/// whisper's encoder positions: 1500 for 30 s, one per 20 ms.
pub const FULL_AUDIO_CTX: usize = 1500;
/// Samples of audio per encoder position (20 ms).
pub const SAMPLES_PER_CTX: usize = SAMPLE_RATE / 50;

/// How windows are cut and sized.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowConfig {
    /// Cut the audio into windows. Off by default: on the corpus's five Piper letters the
    /// windows saved 35-40 % of engine time but raised WER on four of them (mean 0.130 ->
    /// 0.157, the 8 kHz telephone letter 0.191 -> 0.250), and the product must not trade
    /// accuracy for speed. Off, whisper slides its own 30 s window over everything.
    pub enabled: bool,
    /// The longest window, in seconds (at most 30).
    pub max_seconds: f32,
    /// With windows on, audio longer than this keeps whisper's own sliding 30 s window:
    /// cutting the corpus's long dictation at pauses made it 20 % faster but raised its WER
    /// from 0.118 to 0.141 (a cut loses the sentence whisper would have carried over).
    pub max_windowed_seconds: f32,
    /// A cut is looked for no earlier than this into the window, so windows stay long
    /// enough to carry context.
    pub min_seconds: f32,
    /// Give a shorter window a proportionally smaller encoder context (plus a margin of
    /// silence) instead of whisper's fixed 30 s.
    pub trim_audio_ctx: bool,
    /// Encoder positions of silence kept after the audio when trimming (20 ms each). On
    /// 16 corpus letters, against the full encoder, a margin of 64 (1.3 s) cost 1.1 WER
    /// points and 128 (2.6 s) 0.6-0.8, for about 20 % less engine time (BENCHMARKS.md).
    pub ctx_margin: usize,
    /// The smallest encoder context given to a short window (0: none). On the corpus
    /// letters a floor of 768 (15 s) changed no WER and cost a quarter of the speed-up.
    pub min_audio_ctx: usize,
    /// With the pause windows off: slide whisper's own 30 s window one step at a time
    /// (the same cuts, where whisper's last complete segment ends, and the same text
    /// carried into the next window as context), giving each step an encoder sized to the
    /// audio left in it. A 40 s letter then costs one full encoder pass and one of about
    /// 10 s instead of two full ones, with whisper's cuts and context.
    pub sized_slide: bool,
}

impl Default for WindowConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            max_seconds: 29.0,
            max_windowed_seconds: 60.0,
            min_seconds: 12.0,
            trim_audio_ctx: true,
            ctx_margin: 128,
            min_audio_ctx: 0,
            sized_slide: true,
        }
    }
}

/// One window: samples `[start, end)` of the audio, and the encoder context to use
/// (0 = whisper's default, the full 30 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: usize,
    pub end: usize,
    pub audio_ctx: usize,
}

impl Window {
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// The encoder context for `len` samples: enough positions to cover them plus the margin,
/// rounded up to a multiple of 64; 0 (the full window) when that is not smaller, or when
/// neither the windows nor the sized slide are on.
pub fn audio_ctx_for(len: usize, cfg: &WindowConfig) -> usize {
    if !(cfg.enabled || cfg.sized_slide) || !cfg.trim_audio_ctx {
        return 0;
    }
    let need = (len.div_ceil(SAMPLES_PER_CTX) + cfg.ctx_margin).max(cfg.min_audio_ctx);
    let rounded = need.div_ceil(64) * 64;
    if rounded >= FULL_AUDIO_CTX { 0 } else { rounded }
}

/// A place in the compacted audio where the VAD removed a pause: its sample offset and
/// how many samples of silence were removed there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Junction {
    pub at: usize,
    pub removed: usize,
}

/// Cuts `samples` into windows of at most `cfg.max_seconds`. The cut goes where the VAD
/// removed the longest pause in the allowed range (a clinician's long pause ends a
/// sentence more often than a short one; the latest among equals); without one, to the
/// quietest 100 ms in the second half of the range.
pub fn plan(samples: &[f32], junctions: &[Junction], cfg: &WindowConfig) -> Vec<Window> {
    let max = ((cfg.max_seconds.clamp(1.0, 30.0)) * SAMPLE_RATE as f32) as usize;
    let min = ((cfg.min_seconds.max(0.0) * SAMPLE_RATE as f32) as usize).min(max / 2);
    if !cfg.enabled || samples.len() as f32 > cfg.max_windowed_seconds * SAMPLE_RATE as f32 {
        return vec![Window { start: 0, end: samples.len(), audio_ctx: 0 }];
    }
    let mut out = Vec::new();
    let mut start = 0;
    while start < samples.len() {
        let end = if samples.len() - start <= max {
            samples.len()
        } else {
            // Leave the next window at least 2 s: a sliver of audio decodes badly.
            let (lo, hi) = (start + min, (start + max).min(samples.len() - 2 * SAMPLE_RATE));
            junctions
                .iter()
                .filter(|j| j.at > lo && j.at <= hi)
                .max_by_key(|j| (j.removed, j.at))
                .map(|j| j.at)
                .unwrap_or_else(|| quietest(samples, (start + max / 2).min(hi), hi))
        };
        out.push(Window { start, end, audio_ctx: audio_ctx_for(end - start, cfg) });
        start = end;
    }
    out
}

/// The middle of the quietest 100 ms span in `[lo, hi)` (the latest among equals).
fn quietest(samples: &[f32], lo: usize, hi: usize) -> usize {
    const SPAN: usize = SAMPLE_RATE / 10;
    const STEP: usize = SAMPLE_RATE / 100;
    let mut best = (f32::INFINITY, hi);
    let mut at = lo;
    while at + SPAN <= hi {
        let energy: f32 = samples[at..at + SPAN].iter().map(|x| x * x).sum();
        if energy <= best.0 {
            best = (energy, at + SPAN / 2);
        }
        at += STEP;
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: usize = SAMPLE_RATE;

    fn tone(seconds: f32, quiet: &[(f32, f32)]) -> Vec<f32> {
        let n = (seconds * S as f32) as usize;
        (0..n)
            .map(|i| {
                let t = i as f32 / S as f32;
                if quiet.iter().any(|&(a, b)| t >= a && t < b) {
                    0.0
                } else {
                    0.3 * (t * 2.0 * std::f32::consts::PI * 200.0).sin()
                }
            })
            .collect()
    }

    fn cover_in_order(w: &[Window], len: usize) {
        assert_eq!(w.first().unwrap().start, 0);
        assert_eq!(w.last().unwrap().end, len);
        for pair in w.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
        assert!(w.iter().all(|x| !x.is_empty() && x.len() <= 29 * S));
    }

    #[test]
    fn short_audio_is_one_window_with_a_small_encoder() {
        let x = tone(4.0, &[]);
        let w = plan(&x, &[], &on());
        assert_eq!(w.len(), 1);
        // 4 s = 200 positions + 128 margin, rounded up to 384; or a configured floor.
        assert_eq!(w[0].audio_ctx, 384);
        let floor = WindowConfig { min_audio_ctx: 768, ..on() };
        assert_eq!(plan(&x, &[], &floor)[0].audio_ctx, 768);
        let full = WindowConfig { trim_audio_ctx: false, ..on() };
        assert_eq!(plan(&x, &[], &full)[0].audio_ctx, 0);
    }

    #[test]
    fn a_window_near_30_s_keeps_the_full_encoder() {
        // 28 s: 1400 positions + 128 margin round up past 1500.
        assert_eq!(audio_ctx_for(28 * S, &on()), 0);
        assert_eq!(audio_ctx_for(26 * S, &on()), 1472);
        assert_eq!(audio_ctx_for(20 * S, &on()), 1152);
        assert_eq!(audio_ctx_for(10 * S, &on()), 640);
        // The sized slide (the default) sizes too; with both off, the full window.
        assert_eq!(audio_ctx_for(10 * S, &WindowConfig::default()), 640);
        let neither = WindowConfig { sized_slide: false, ..Default::default() };
        assert_eq!(audio_ctx_for(10 * S, &neither), 0);
    }

    fn junctions(at_removed: &[(usize, usize)]) -> Vec<Junction> {
        at_removed.iter().map(|&(at, removed)| Junction { at: at * S, removed: removed * S }).collect()
    }

    #[test]
    fn cuts_go_to_the_longest_removed_pause_in_range() {
        let x = tone(50.0, &[]);
        // 5 s is too early, 31 s too late; of the rest the 3 s pause at 20 s wins.
        let w = plan(&x, &junctions(&[(5, 9), (20, 3), (26, 2), (31, 9)]), &on());
        cover_in_order(&w, x.len());
        assert_eq!(w[0].end, 20 * S);
        // Equal pauses: the latest.
        let w = plan(&x, &junctions(&[(14, 2), (26, 2)]), &on());
        assert_eq!(w[0].end, 26 * S);
    }

    /// Windows on any length, for the tests of the cutting itself.
    fn always() -> WindowConfig {
        WindowConfig { max_windowed_seconds: f32::INFINITY, ..on() }
    }

    fn on() -> WindowConfig {
        WindowConfig { enabled: true, ..Default::default() }
    }

    #[test]
    fn windows_are_off_by_default() {
        let x = tone(40.0, &[]);
        assert_eq!(plan(&x, &[], &WindowConfig::default()), [Window { start: 0, end: x.len(), audio_ctx: 0 }]);
    }

    #[test]
    fn long_audio_keeps_whispers_own_window() {
        let x = tone(61.0, &[]);
        assert_eq!(plan(&x, &[], &on()), [Window { start: 0, end: x.len(), audio_ctx: 0 }]);
        assert_eq!(plan(&tone(59.0, &[]), &[], &on()).len(), 3);
    }

    #[test]
    fn without_junctions_cuts_fall_in_the_quietest_place() {
        let x = tone(70.0, &[(21.0, 21.4), (45.0, 45.3)]);
        let w = plan(&x, &[], &always());
        cover_in_order(&w, x.len());
        let cut = w[0].end as f32 / S as f32;
        assert!((21.0..21.4).contains(&cut), "first cut at {cut}");
        let cut = w[1].end as f32 / S as f32;
        assert!((45.0..45.3).contains(&cut), "second cut at {cut}");
    }

    #[test]
    fn long_audio_without_pauses_is_still_cut_within_bounds() {
        let x = tone(100.0, &[]);
        let w = plan(&x, &[], &always());
        cover_in_order(&w, x.len());
        assert!(w.len() >= 4);
    }
}
