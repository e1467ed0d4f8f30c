//! Transcript formatters: plain text, JSON, SRT and WebVTT.

use super::types::Transcript;

/// A pause at least this long between segments starts a new line in plain text.
pub const PARAGRAPH_PAUSE_S: f64 = 2.0;

/// Plain text: segment texts joined by spaces, with a line break after long pauses.
pub fn to_text(t: &Transcript) -> String {
    let mut out = String::new();
    let mut prev_end: Option<f64> = None;
    for s in t.segments.iter().filter(|s| !s.text.is_empty()) {
        match prev_end {
            Some(e) if s.start - e >= PARAGRAPH_PAUSE_S => out.push('\n'),
            Some(_) => out.push(' '),
            None => {}
        }
        out.push_str(&s.text);
        prev_end = Some(s.end);
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// Pretty JSON of the full transcript (segments, words, confidences).
pub fn to_json(t: &Transcript) -> String {
    serde_json::to_string_pretty(t).expect("transcript serializes")
}

fn stamp(seconds: f64, frac_sep: char) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    let (h, m, s, ms) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("{h:02}:{m:02}:{s:02}{frac_sep}{ms:03}")
}

/// SubRip: numbered cues, `HH:MM:SS,mmm --> HH:MM:SS,mmm`.
pub fn to_srt(t: &Transcript) -> String {
    let mut out = String::new();
    for (i, s) in t.segments.iter().filter(|s| !s.text.is_empty()).enumerate() {
        out.push_str(&format!(
            "{}\n{} --> {}\n{}\n\n",
            i + 1,
            stamp(s.start, ','),
            stamp(s.end.max(s.start), ','),
            s.text.replace("-->", "->")
        ));
    }
    out
}

/// WebVTT: header, cues `HH:MM:SS.mmm --> HH:MM:SS.mmm`, text with `&`/`<`/`>` escaped.
pub fn to_vtt(t: &Transcript) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for s in t.segments.iter().filter(|s| !s.text.is_empty()) {
        let text = s.text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        out.push_str(&format!("{} --> {}\n{}\n\n", stamp(s.start, '.'), stamp(s.end.max(s.start), '.'), text));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stt::types::{Segment, Word};

    fn sample() -> Transcript {
        let seg = |a: f64, b: f64, t: &str| Segment {
            start: a,
            end: b,
            text: t.into(),
            words: vec![Word { start: a, end: b, text: t.into(), confidence: 0.9, low_confidence: false, heard: None }],
            ..Default::default()
        };
        Transcript {
            text: "Dear Doctor Ramsden, Thank you. BP <140 & stable -->".into(),
            language: "en".into(),
            segments: vec![
                seg(0.5, 2.25, "Dear Doctor Ramsden,"),
                seg(2.5, 3.0, "Thank you."),
                seg(3661.0, 3662.5, "BP <140 & stable -->"),
            ],
            model: "tiny.en".into(),
            processing_seconds: 1.0,
            audio_seconds: 3700.0,
        }
    }

    #[test]
    fn text_breaks_lines_on_long_pauses() {
        assert_eq!(to_text(&sample()), "Dear Doctor Ramsden, Thank you.\nBP <140 & stable -->\n");
        let empty = Transcript { segments: vec![], ..sample() };
        assert_eq!(to_text(&empty), "");
        assert_eq!(to_srt(&empty), "");
        assert_eq!(to_vtt(&empty), "WEBVTT\n\n");
    }

    #[test]
    fn srt_and_vtt_cues() {
        let srt = to_srt(&sample());
        assert!(srt.starts_with("1\n00:00:00,500 --> 00:00:02,250\nDear Doctor Ramsden,\n\n2\n"));
        assert!(srt.contains("3\n01:01:01,000 --> 01:01:02,500\nBP <140 & stable ->\n\n"));
        let vtt = to_vtt(&sample());
        assert!(vtt.starts_with("WEBVTT\n\n00:00:00.500 --> 00:00:02.250\nDear Doctor Ramsden,\n\n"));
        assert!(vtt.contains("01:01:01.000 --> 01:01:02.500\nBP &lt;140 &amp; stable --&gt;\n"));
    }

    #[test]
    fn json_round_trips() {
        let t = sample();
        let back: Transcript = serde_json::from_str(&to_json(&t)).unwrap();
        assert_eq!(back, t);
    }
}
