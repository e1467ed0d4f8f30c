//! Slaney-style mel filterbank (librosa `filters.mel` defaults) embedded in ggml Whisper files.
//!
//! whisper.cpp reads the filterbank from the model file instead of computing it, so the
//! converter must produce exactly what OpenAI's `mel_filters.npz` holds: librosa's mel
//! filters for sr 16000, n_fft 400, fmin 0, fmax sr/2, `htk=False`, `norm="slaney"`.

/// Sample rate Whisper models are trained on.
pub const SAMPLE_RATE: f64 = 16_000.0;
/// FFT size of Whisper's STFT (25 ms window).
pub const N_FFT: usize = 400;

const F_SP: f64 = 200.0 / 3.0; // Hz per mel in the linear part
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP; // = 15
fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

/// Slaney (Auditory Toolbox) Hz -> mel: linear below 1 kHz, logarithmic above.
pub fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ { MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / log_step() } else { hz / F_SP }
}

/// Inverse of [`hz_to_mel`].
pub fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL { MIN_LOG_HZ * (log_step() * (mel - MIN_LOG_MEL)).exp() } else { F_SP * mel }
}

/// Row-major `n_mels x (n_fft/2 + 1)` filterbank, slaney-normalised (each triangle has
/// unit area in Hz).
pub fn mel_filterbank(n_mels: usize, sample_rate: f64, n_fft: usize) -> Vec<f32> {
    let n_bins = n_fft / 2 + 1;
    let fft_freqs: Vec<f64> = (0..n_bins).map(|i| i as f64 * sample_rate / n_fft as f64).collect();
    let (mel_lo, mel_hi) = (hz_to_mel(0.0), hz_to_mel(sample_rate / 2.0));
    // n_mels + 2 band edges, equally spaced on the mel scale.
    let edges: Vec<f64> =
        (0..n_mels + 2).map(|i| mel_to_hz(mel_lo + (mel_hi - mel_lo) * i as f64 / (n_mels + 1) as f64)).collect();
    let mut out = vec![0f32; n_mels * n_bins];
    for m in 0..n_mels {
        let (lo, center, hi) = (edges[m], edges[m + 1], edges[m + 2]);
        let norm = 2.0 / (hi - lo);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let rising = (f - lo) / (center - lo);
            let falling = (hi - f) / (hi - center);
            let w = rising.min(falling).max(0.0);
            out[m * n_bins + k] = (w * norm) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BINS: usize = N_FFT / 2 + 1;

    #[test]
    fn mel_scale_round_trips_and_has_slaney_knee() {
        for hz in [0.0, 40.0, 999.0, 1000.0, 3000.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9);
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(6400.0) - 42.0).abs() < 1e-9); // 27 log steps span 1 kHz -> 6.4 kHz
    }

    #[test]
    fn first_filter_matches_librosa_values() {
        let fb = mel_filterbank(80, SAMPLE_RATE, N_FFT);
        assert_eq!(fb.len(), 80 * BINS);
        // librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)[0, :3] = [0, 0.02486259, 0]:
        // the first triangle spans 0..74.5 Hz, so only the 40 Hz bin is inside it.
        assert_eq!(fb[0], 0.0);
        assert!((fb[1] - 0.024_862_59).abs() < 2e-6, "{}", fb[1]);
        assert!(fb[2..BINS].iter().all(|&w| w == 0.0));
    }

    #[test]
    fn matches_reference_librosa_values_elsewhere() {
        // Values of librosa.filters.mel(sr=16000, n_fft=400, n_mels=80) (as reproduced by
        // faster-whisper's feature extractor): row 10 bins 10-11, the top row's tail, a row sum.
        let fb = mel_filterbank(80, SAMPLE_RATE, N_FFT);
        let close = |a: f32, b: f32| (a - b).abs() < 2e-7;
        assert!(close(fb[10 * BINS + 10], 0.019_908_22) && close(fb[10 * BINS + 11], 0.004_954_38));
        assert!(fb[10 * BINS..10 * BINS + 10].iter().all(|&w| w == 0.0));
        let tail = [0.002_243_8, 0.001_795_04, 0.001_346_28, 0.000_897_52, 0.000_448_76, 0.0];
        for (k, want) in tail.iter().enumerate() {
            assert!(close(fb[79 * BINS + 195 + k], *want), "bin {}: {}", 195 + k, fb[79 * BINS + 195 + k]);
        }
        let row40: f32 = fb[40 * BINS..41 * BINS].iter().sum();
        assert!((row40 - 0.026_664_86).abs() < 1e-6, "{row40}");
    }

    #[test]
    fn filters_are_ordered_nonnegative_unit_area_triangles() {
        for n_mels in [80usize, 128] {
            let fb = mel_filterbank(n_mels, SAMPLE_RATE, N_FFT);
            let mut last_peak = 0;
            for m in 0..n_mels {
                let row = &fb[m * BINS..(m + 1) * BINS];
                assert!(row.iter().all(|&w| w >= 0.0 && w.is_finite()));
                let peak = (0..BINS).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
                assert!(peak >= last_peak, "peaks move up in frequency");
                last_peak = peak;
                // Triangles wider than a few bins integrate to ~1 (slaney area normalisation).
                let width_hz = mel_to_hz(hz_to_mel(8000.0) * (m + 2) as f64 / (n_mels + 1) as f64)
                    - mel_to_hz(hz_to_mel(8000.0) * m as f64 / (n_mels + 1) as f64);
                if width_hz > 200.0 {
                    let area: f32 = row.iter().sum::<f32>() * 40.0;
                    assert!((area - 1.0).abs() < 0.03, "mel {m} area {area}");
                }
            }
            // The top filter reaches Nyquist: its last edge is exactly 8 kHz.
            assert_eq!(fb[n_mels * BINS - 1], 0.0);
            assert!(fb[(n_mels - 1) * BINS + BINS - 2] > 0.0);
        }
    }
}
