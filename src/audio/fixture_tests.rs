//! Tests on the small committed fixtures (`tests/fixtures/audio/`) for what the corpus lacks:
//! AIFF, CAF (PCM and ALAC) including truncated copies, raw ADTS AAC, a DSS and a DS2 recorder
//! file (real header, junk body), and an MKV (AC-3) and a 3GP (AMR) whose codecs cannot be
//! decoded and must be named. Skips (with a
//! printed reason) if the fixtures were not copied along.

use crate::audio::test_support::fixtures_dir;
use crate::audio::{Limits, decode_16k_mono, inspect_file};

#[test]
fn aiff_caf_and_adts_decode() {
    let Some(dir) = fixtures_dir() else { return };
    let cases = [
        ("tone.aiff", "aiff", "pcm_s16be", 16_000, Some(16), 1.5, 0.001),
        ("tone.caf", "caf", "pcm_s16le", 16_000, Some(16), 1.5, 0.001),
        ("tone_alac.caf", "caf", "alac", 16_000, None, 1.5, 0.001),
        // Raw ADTS carries no priming/padding information: up to ~2 AAC frames extra.
        ("tone.aac", "aac", "aac", 22_050, None, 1.5, 0.1),
    ];
    for (name, container, codec, rate, bits, secs, tol) in cases {
        let info = inspect_file(&dir.join(name), &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(info.container, container, "{name}");
        assert_eq!(info.codec, codec, "{name}");
        assert_eq!(info.sample_rate, rate, "{name}");
        assert_eq!(info.channels, 1, "{name}");
        assert_eq!(info.bits_per_sample, bits, "{name}");
        assert!((info.duration_seconds - secs).abs() <= tol, "{name}: {}", info.duration_seconds);
        assert!(!info.silent && info.warnings.is_empty(), "{name}: {info:?}");
        let (samples, _) = decode_16k_mono(&dir.join(name), &Limits::default()).unwrap();
        assert_eq!(samples.len() as f64, (info.duration_seconds * 16_000.0).round(), "{name}");
    }
}

#[test]
fn truncated_aiff_and_caf_keep_what_is_there() {
    let Some(dir) = fixtures_dir() else { return };
    let tmp = std::env::temp_dir().join(format!("dictaflow-fixtures-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    // 16 kHz 16-bit mono is 32000 bytes/s: 40000 bytes keep ~1.25 s, 30000 bytes ~0.93 s.
    for name in ["tone.aiff", "tone.caf"] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let cut = tmp.join(name);
        std::fs::write(&cut, &bytes[..40_000]).unwrap();
        let info = inspect_file(&cut, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!((info.duration_seconds - 1.246).abs() < 0.01, "{name}: {info:?}");
        assert!(info.warnings.iter().any(|w| w.starts_with("truncated:")), "{name}: {info:?}");
        std::fs::write(&cut, &bytes[..30_000]).unwrap();
        let err = inspect_file(&cut, &Limits::default()).unwrap_err();
        assert_eq!(err.code(), "corrupt_audio", "{name}: {err}");
        assert!(err.to_string().contains("truncated"), "{name}: {err}");
    }
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn dss_and_ds2_are_rejected_with_conversion_advice() {
    let Some(dir) = fixtures_dir() else { return };
    for (name, label) in [("fake.dss", "DSS"), ("fake.ds2", "DS2")] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(crate::audio::sniff(&bytes), Some(&*label.to_lowercase()));
        let err = inspect_file(&dir.join(name), &Limits::default()).unwrap_err();
        assert_eq!(err.code(), "unsupported_audio", "{name}");
        assert!(err.is_unsupported());
        let text = err.to_string();
        assert!(text.contains(label) && text.contains("convert it to WAV or MP3"), "{text}");
    }
}

#[test]
fn undecodable_codec_is_named() {
    let Some(dir) = fixtures_dir() else { return };
    // AC-3 in Matroska: symphonia knows the codec id but has no decoder.
    let err = inspect_file(&dir.join("tone_ac3.mkv"), &Limits::default()).unwrap_err();
    assert_eq!(err.code(), "unsupported_audio");
    let text = err.to_string();
    assert!(text.contains("AC-3") && text.contains("(ac3)") && text.contains("mkv"), "{text}");
    // An MP4/3GP whose sound track is AMR ('samr'; the payload is AC-3 relabelled, since no AMR
    // encoder is at hand): symphonia does not parse the sample entry at all.
    let err = inspect_file(&dir.join("fake_amr.3gp"), &Limits::default()).unwrap_err();
    assert_eq!(err.code(), "unsupported_audio");
    assert!(err.to_string().contains("AMR narrow-band speech ('samr')"), "{err}");
}
