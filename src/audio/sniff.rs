//! Content sniffing: what the first bytes of an upload say it is, independent of its file name
//! or client content type. Owns the magic-number table, the plain-text heuristic, the
//! DSS/DS2 dictation-recorder detection, the WebM-vs-Matroska doc type check and a small
//! sanity check of WAV `fmt ` chunks, plus the human-readable rejection messages for
//! everything that is not decodable audio.

/// How a sniffed kind is treated before the demuxer is even tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// A format symphonia can demux; decode it.
    Audio,
    /// Audio, but a format or codec this module cannot decode; the text names it.
    UnsupportedAudio(&'static str),
    /// An Olympus/Grundig hand-held dictation recorder file (DSS or DS2).
    Dictation(&'static str),
    /// Not audio at all; the text says what it looks like.
    NotAudio(&'static str),
}

/// Identify the content from its first bytes (a few KB are plenty).
///
/// Returns a short kind such as `"wav"`, `"flac"`, `"ogg"`, `"mp4"`, `"webm"`, `"mkv"`,
/// `"mp3"`, `"aac"`, `"aiff"`, `"caf"`, `"dss"`, `"ds2"`, `"png"`, `"jpeg"`, `"pdf"`,
/// `"zip"`, `"text"`, or `None` when nothing is recognised. Never looks at a file name.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let b = bytes;
    let at = |off: usize, magic: &[u8]| b.len() >= off + magic.len() && &b[off..off + magic.len()] == magic;
    // Dictation recorders first: their headers are tiny and unambiguous.
    if at(0, b"\x02dss") || at(0, b"\x03dss") {
        return Some("dss");
    }
    if at(0, b"\x03ds2") {
        return Some("ds2");
    }
    if at(0, b"RF64") || at(0, b"BW64") {
        return Some("rf64");
    }
    if at(0, b"RIFX") {
        return Some("rifx");
    }
    if at(0, b"RIFF") {
        return Some(if at(8, b"WAVE") {
            "wav"
        } else if at(8, b"WEBP") {
            "webp"
        } else if at(8, b"AVI ") {
            "avi"
        } else {
            "riff"
        });
    }
    let table: &[(usize, &[u8], &'static str)] = &[
        (0, b"FORM", "iff"),
        (0, b"caff", "caf"),
        (0, b"fLaC", "flac"),
        (0, b"OggS", "ogg"),
        (0, b"\x1a\x45\xdf\xa3", "ebml"),
        (4, b"ftyp", "ftyp"),
        (0, b"ID3", "mp3"),
        (0, b".snd", "au"),
        (0, b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "asf"),
        (0, b"#!AMR", "amr"),
        (0, b"MAC ", "ape"),
        (0, b"wvpk", "wavpack"),
        (0, b"MThd", "midi"),
        (0, b".RMF", "realmedia"),
        (0, b".ra\xfd", "realmedia"),
        (0, b"Creative Voice File", "voc"),
        (0, b"\x89PNG\r\n\x1a\n", "png"),
        (0, b"\xff\xd8\xff", "jpeg"),
        (0, b"GIF87a", "gif"),
        (0, b"GIF89a", "gif"),
        (0, b"II*\x00", "tiff"),
        (0, b"MM\x00*", "tiff"),
        (0, b"%PDF", "pdf"),
        (0, b"PK\x03\x04", "zip"),
        (0, b"PK\x05\x06", "zip"),
        (0, b"\x1f\x8b", "gzip"),
        (0, b"7z\xbc\xaf\x27\x1c", "7z"),
        (0, b"Rar!", "rar"),
        (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),
        (0, b"\x7fELF", "executable"),
        (0, b"MZ", "executable"),
        (0, b"{\\rtf", "rtf"),
    ];
    for &(off, magic, kind) in table {
        if at(off, magic) {
            return Some(refine(kind, b));
        }
    }
    if let Some(kind) = mpeg_audio_sync(b) {
        return Some(kind);
    }
    if looks_like_text(b) {
        return Some("text");
    }
    None
}

/// Resolve container families whose real kind sits a few bytes further in.
fn refine(kind: &'static str, b: &[u8]) -> &'static str {
    match kind {
        "iff" => match b.get(8..12) {
            Some(b"AIFF") | Some(b"AIFC") => "aiff",
            _ => "iff",
        },
        "ebml" => {
            // The EBML header (DocType "webm" or "matroska") sits in the first few dozen bytes.
            let head = &b[..b.len().min(64)];
            if head.windows(4).any(|w| w == b"webm") { "webm" } else { "mkv" }
        }
        "ftyp" => match b.get(8..12) {
            Some(b"heic") | Some(b"heix") | Some(b"mif1") | Some(b"msf1") | Some(b"avif") => "heif",
            _ => "mp4",
        },
        other => other,
    }
}

/// MPEG audio frame sync at offset 0: layer I/II/III ("mp1"/"mp2"/"mp3") or ADTS AAC ("aac").
fn mpeg_audio_sync(b: &[u8]) -> Option<&'static str> {
    if b.len() < 4 || b[0] != 0xff || b[1] & 0xe0 != 0xe0 {
        return None;
    }
    let version = (b[1] >> 3) & 0x3;
    let layer = (b[1] >> 1) & 0x3;
    if layer == 0 {
        // ADTS: MPEG-2/4 AAC with the 12-bit sync 0xFFF and a valid sampling index.
        return (b[1] & 0xf0 == 0xf0 && (b[2] >> 2) & 0xf < 13).then_some("aac");
    }
    let bitrate = b[2] >> 4;
    let rate = (b[2] >> 2) & 0x3;
    if version == 1 || bitrate == 0xf || rate == 3 {
        return None;
    }
    Some(match layer {
        1 => "mp3",
        2 => "mp2",
        _ => "mp1",
    })
}

/// Plain text (ASCII or UTF-8, no NUL bytes, almost no control characters).
fn looks_like_text(b: &[u8]) -> bool {
    let head = &b[..b.len().min(4096)];
    if head.is_empty() || head.contains(&0) {
        return false;
    }
    let valid = match std::str::from_utf8(head) {
        Ok(_) => true,
        // A multi-byte character cut by the 4096-byte window is still text.
        Err(e) => e.error_len().is_none(),
    };
    let controls = head.iter().filter(|&&c| c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r' | 0x0c)).count();
    valid && controls * 100 <= head.len()
}

/// How a sniffed kind is handled (see [`Class`]).
pub(crate) fn classify(kind: Option<&'static str>) -> Class {
    let Some(kind) = kind else { return Class::Audio };
    match kind {
        "wav" | "aiff" | "caf" | "flac" | "ogg" | "mp4" | "webm" | "mkv" | "mp3" | "mp2" | "mp1" | "aac" => {
            Class::Audio
        }
        "dss" => Class::Dictation("DSS (Digital Speech Standard)"),
        "ds2" => Class::Dictation("DS2 (DSS Pro)"),
        "au" => Class::UnsupportedAudio("Sun/NeXT AU (.au/.snd) audio"),
        "asf" => Class::UnsupportedAudio("Windows Media (ASF/WMA) audio"),
        "amr" => Class::UnsupportedAudio("AMR (adaptive multi-rate) speech audio"),
        "ape" => Class::UnsupportedAudio("Monkey's Audio (APE)"),
        "wavpack" => Class::UnsupportedAudio("WavPack audio"),
        "midi" => Class::UnsupportedAudio("MIDI (note data, not a recording)"),
        "realmedia" => Class::UnsupportedAudio("RealMedia/RealAudio"),
        "voc" => Class::UnsupportedAudio("Creative Voice (VOC) audio"),
        "avi" => Class::UnsupportedAudio("AVI video"),
        "rf64" => Class::UnsupportedAudio("RF64/BW64 (64-bit broadcast WAV) audio"),
        "rifx" => Class::UnsupportedAudio("big-endian RIFX WAV audio"),
        "text" => Class::NotAudio("plain text"),
        "rtf" => Class::NotAudio("an RTF document"),
        "png" => Class::NotAudio("a PNG image"),
        "jpeg" => Class::NotAudio("a JPEG image"),
        "gif" => Class::NotAudio("a GIF image"),
        "tiff" => Class::NotAudio("a TIFF image"),
        "webp" => Class::NotAudio("a WebP image"),
        "heif" => Class::NotAudio("a HEIF/AVIF image"),
        "pdf" => Class::NotAudio("a PDF document"),
        "zip" => Class::NotAudio("a ZIP archive (or an Office document such as .docx)"),
        "gzip" => Class::NotAudio("a gzip archive"),
        "7z" => Class::NotAudio("a 7-Zip archive"),
        "rar" => Class::NotAudio("a RAR archive"),
        "ole" => Class::NotAudio("a legacy Microsoft Office document (.doc/.xls/.msg)"),
        "executable" => Class::NotAudio("an executable program"),
        // "riff" / "iff" families we do not know: let the demuxer have a go.
        _ => Class::Audio,
    }
}

/// The rejection message for a DSS/DS2 recorder file.
pub(crate) fn dictation_message(what: &str) -> String {
    format!(
        "This is an Olympus/Grundig dictation-recorder file in {what} format. DSS/DS2 audio \
         cannot be decoded here: convert it to WAV or MP3 with the recorder vendor's software \
         (for example Olympus ODMS or Grundig DigtaSoft) and upload that file instead."
    )
}

/// The rejection message for content that is not audio at all.
pub(crate) fn not_audio_message(what: &str) -> String {
    format!(
        "This is not an audio file: its content looks like {what}. Upload the dictation as \
         WAV, MP3, M4A, FLAC, Ogg/Opus or WebM audio."
    )
}

/// Checks a RIFF/WAVE `fmt ` chunk for values no decoder can work with. Returns a sentence
/// describing the problem, or `None` if the chunk looks usable (or is not in `head`).
pub(crate) fn wav_header_problem(head: &[u8]) -> Option<String> {
    if head.len() < 12 || &head[8..12] != b"WAVE" {
        return None;
    }
    let mut pos = 12usize;
    while pos + 8 <= head.len() {
        let id = &head[pos..pos + 4];
        let size = u32::from_le_bytes([head[pos + 4], head[pos + 5], head[pos + 6], head[pos + 7]]);
        let body = pos + 8;
        if id == b"fmt " {
            let field = |off: usize, n: usize| head.get(body + off..body + off + n);
            let channels = field(2, 2).map(|v| u16::from_le_bytes([v[0], v[1]]))?;
            let rate = field(4, 4).map(|v| u32::from_le_bytes([v[0], v[1], v[2], v[3]]))?;
            if channels == 0 {
                return Some(
                    "Invalid WAV header: the fmt chunk declares 0 audio channels, so the \
                     samples that follow cannot be interpreted."
                        .to_string(),
                );
            }
            if rate == 0 {
                return Some("Invalid WAV header: the fmt chunk declares a sample rate of 0 Hz.".to_string());
            }
            return None;
        }
        // Chunks are word aligned.
        pos = body.saturating_add(size as usize).saturating_add(size as usize & 1);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_containers_by_magic() {
        assert_eq!(sniff(b"RIFF\x24\x00\x00\x00WAVEfmt "), Some("wav"));
        assert_eq!(sniff(b"RF64\xff\xff\xff\xffWAVEds64"), Some("rf64"));
        assert!(matches!(classify(Some("rf64")), Class::UnsupportedAudio(_)));
        assert_eq!(sniff(b"fLaC\x00\x00\x00\x22"), Some("flac"));
        assert_eq!(sniff(b"OggS\x00\x02"), Some("ogg"));
        assert_eq!(sniff(b"\x00\x00\x00\x20ftypM4A \x00\x00"), Some("mp4"));
        assert_eq!(sniff(b"\x00\x00\x00\x20ftypheic\x00\x00"), Some("heif"));
        assert_eq!(sniff(b"FORM\x00\x00\x00\x10AIFFCOMM"), Some("aiff"));
        assert_eq!(sniff(b"caff\x00\x01\x00\x00"), Some("caf"));
        assert_eq!(sniff(b"ID3\x04\x00\x00"), Some("mp3"));
        assert_eq!(sniff(&[0xff, 0xfb, 0x90, 0x64]), Some("mp3"));
        assert_eq!(sniff(&[0xff, 0xf1, 0x50, 0x80]), Some("aac"));
        let webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm";
        assert_eq!(sniff(webm), Some("webm"));
        let mkv = b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska";
        assert_eq!(sniff(mkv), Some("mkv"));
    }

    #[test]
    fn recognises_dss_and_ds2_headers() {
        assert_eq!(sniff(b"\x02dss\x00\x00\x00\x00"), Some("dss"));
        assert_eq!(sniff(b"\x03dss\x01\x02"), Some("dss"));
        assert_eq!(sniff(b"\x03ds2\x01\x02"), Some("ds2"));
        assert!(matches!(classify(Some("dss")), Class::Dictation(_)));
        assert!(dictation_message("DSS").contains("convert it to WAV or MP3"));
    }

    #[test]
    fn recognises_non_audio() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\x00\x00"), Some("png"));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0\x00\x10JFIF"), Some("jpeg"));
        assert_eq!(sniff(b"%PDF-1.7\n"), Some("pdf"));
        assert_eq!(sniff(b"PK\x03\x04\x14\x00"), Some("zip"));
        assert_eq!(sniff("Dear Dr Smith,\nthank you — référé.\n".as_bytes()), Some("text"));
        assert!(matches!(classify(Some("text")), Class::NotAudio(_)));
        assert!(matches!(classify(Some("png")), Class::NotAudio(_)));
    }

    #[test]
    fn binary_noise_and_empty_are_unknown() {
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(&[0x00, 0x13, 0x80, 0x7f, 0x01, 0x02]), None);
        // An MPEG sync with a reserved version or a bad bitrate index is not audio.
        assert_eq!(sniff(&[0xff, 0xeb, 0x90, 0x64]), None);
        assert_eq!(sniff(&[0xff, 0xfb, 0xf0, 0x64]), None);
        assert_eq!(classify(None), Class::Audio);
    }

    #[test]
    fn wav_header_check_finds_zero_channels_and_rate() {
        let mut h = b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00".to_vec();
        h.extend_from_slice(&[1, 0, 0, 0, 0x80, 0x3e, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0]);
        assert!(wav_header_problem(&h).unwrap().contains("0 audio channels"));
        h[22] = 1; // one channel
        assert_eq!(wav_header_problem(&h), None);
        h[24..28].copy_from_slice(&[0, 0, 0, 0]);
        assert!(wav_header_problem(&h).unwrap().contains("0 Hz"));
        // Truncated or foreign headers are left to the demuxer.
        assert_eq!(wav_header_problem(&h[..20]), None);
        assert_eq!(wav_header_problem(b"RIFF\x00\x00\x00\x00AVI "), None);
    }
}
