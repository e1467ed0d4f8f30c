//! Stable, ffmpeg-style names for containers and codecs as reported in
//! [`AudioInfo`](crate::audio::AudioInfo) and in "unsupported codec" messages, mapped from
//! symphonia's format short names and codec ids.

use symphonia::core::codecs::audio::AudioCodecId;
use symphonia::core::codecs::audio::well_known::*;

/// The container name for a symphonia format short name (`sniffed` disambiguates WebM/MKV).
pub(crate) fn container_name(short_name: &str, sniffed: Option<&'static str>) -> String {
    match short_name {
        "wave" => "wav".into(),
        "isomp4" => "mp4".into(),
        "matroska" | "mkv" => {
            if sniffed == Some("webm") {
                "webm".into()
            } else {
                "mkv".into()
            }
        }
        other => other.to_string(),
    }
}

/// `(short name, human name)` of an audio codec.
pub(crate) fn codec_names(id: AudioCodecId) -> (&'static str, &'static str) {
    let table: &[(AudioCodecId, &str, &str)] = &[
        (CODEC_ID_PCM_S32LE, "pcm_s32le", "32-bit PCM"),
        (CODEC_ID_PCM_S32LE_PLANAR, "pcm_s32le_planar", "32-bit PCM"),
        (CODEC_ID_PCM_S32BE, "pcm_s32be", "32-bit PCM"),
        (CODEC_ID_PCM_S32BE_PLANAR, "pcm_s32be_planar", "32-bit PCM"),
        (CODEC_ID_PCM_S24LE, "pcm_s24le", "24-bit PCM"),
        (CODEC_ID_PCM_S24LE_PLANAR, "pcm_s24le_planar", "24-bit PCM"),
        (CODEC_ID_PCM_S24BE, "pcm_s24be", "24-bit PCM"),
        (CODEC_ID_PCM_S24BE_PLANAR, "pcm_s24be_planar", "24-bit PCM"),
        (CODEC_ID_PCM_S16LE, "pcm_s16le", "16-bit PCM"),
        (CODEC_ID_PCM_S16LE_PLANAR, "pcm_s16le_planar", "16-bit PCM"),
        (CODEC_ID_PCM_S16BE, "pcm_s16be", "16-bit PCM"),
        (CODEC_ID_PCM_S16BE_PLANAR, "pcm_s16be_planar", "16-bit PCM"),
        (CODEC_ID_PCM_S8, "pcm_s8", "8-bit PCM"),
        (CODEC_ID_PCM_S8_PLANAR, "pcm_s8_planar", "8-bit PCM"),
        (CODEC_ID_PCM_U32LE, "pcm_u32le", "32-bit PCM"),
        (CODEC_ID_PCM_U32LE_PLANAR, "pcm_u32le_planar", "32-bit PCM"),
        (CODEC_ID_PCM_U32BE, "pcm_u32be", "32-bit PCM"),
        (CODEC_ID_PCM_U32BE_PLANAR, "pcm_u32be_planar", "32-bit PCM"),
        (CODEC_ID_PCM_U24LE, "pcm_u24le", "24-bit PCM"),
        (CODEC_ID_PCM_U24LE_PLANAR, "pcm_u24le_planar", "24-bit PCM"),
        (CODEC_ID_PCM_U24BE, "pcm_u24be", "24-bit PCM"),
        (CODEC_ID_PCM_U24BE_PLANAR, "pcm_u24be_planar", "24-bit PCM"),
        (CODEC_ID_PCM_U16LE, "pcm_u16le", "16-bit PCM"),
        (CODEC_ID_PCM_U16LE_PLANAR, "pcm_u16le_planar", "16-bit PCM"),
        (CODEC_ID_PCM_U16BE, "pcm_u16be", "16-bit PCM"),
        (CODEC_ID_PCM_U16BE_PLANAR, "pcm_u16be_planar", "16-bit PCM"),
        (CODEC_ID_PCM_U8, "pcm_u8", "8-bit PCM"),
        (CODEC_ID_PCM_U8_PLANAR, "pcm_u8_planar", "8-bit PCM"),
        (CODEC_ID_PCM_F32LE, "pcm_f32le", "32-bit float PCM"),
        (CODEC_ID_PCM_F32LE_PLANAR, "pcm_f32le_planar", "32-bit float PCM"),
        (CODEC_ID_PCM_F32BE, "pcm_f32be", "32-bit float PCM"),
        (CODEC_ID_PCM_F32BE_PLANAR, "pcm_f32be_planar", "32-bit float PCM"),
        (CODEC_ID_PCM_F64LE, "pcm_f64le", "64-bit float PCM"),
        (CODEC_ID_PCM_F64LE_PLANAR, "pcm_f64le_planar", "64-bit float PCM"),
        (CODEC_ID_PCM_F64BE, "pcm_f64be", "64-bit float PCM"),
        (CODEC_ID_PCM_F64BE_PLANAR, "pcm_f64be_planar", "64-bit float PCM"),
        (CODEC_ID_PCM_ALAW, "pcm_alaw", "G.711 A-law"),
        (CODEC_ID_PCM_MULAW, "pcm_mulaw", "G.711 mu-law"),
        (CODEC_ID_ADPCM_G722, "adpcm_g722", "G.722 ADPCM"),
        (CODEC_ID_ADPCM_G726, "adpcm_g726", "G.726 ADPCM"),
        (CODEC_ID_ADPCM_G726LE, "adpcm_g726le", "G.726 ADPCM"),
        (CODEC_ID_ADPCM_MS, "adpcm_ms", "Microsoft ADPCM"),
        (CODEC_ID_ADPCM_IMA_WAV, "adpcm_ima_wav", "IMA ADPCM"),
        (CODEC_ID_ADPCM_IMA_QT, "adpcm_ima_qt", "IMA ADPCM (QuickTime)"),
        (CODEC_ID_VORBIS, "vorbis", "Vorbis"),
        (CODEC_ID_OPUS, "opus", "Opus"),
        (CODEC_ID_SPEEX, "speex", "Speex"),
        (CODEC_ID_MUSEPACK, "musepack", "Musepack"),
        (CODEC_ID_MP1, "mp1", "MPEG audio layer I"),
        (CODEC_ID_MP2, "mp2", "MPEG audio layer II"),
        (CODEC_ID_MP3, "mp3", "MP3"),
        (CODEC_ID_AAC, "aac", "AAC"),
        (CODEC_ID_AC3, "ac3", "AC-3 (Dolby Digital)"),
        (CODEC_ID_EAC3, "eac3", "E-AC-3 (Dolby Digital Plus)"),
        (CODEC_ID_AC4, "ac4", "AC-4 (Dolby)"),
        (CODEC_ID_DCA, "dts", "DTS"),
        (CODEC_ID_ATRAC1, "atrac1", "ATRAC1"),
        (CODEC_ID_ATRAC3, "atrac3", "ATRAC3"),
        (CODEC_ID_ATRAC3PLUS, "atrac3plus", "ATRAC3plus"),
        (CODEC_ID_ATRAC9, "atrac9", "ATRAC9"),
        (CODEC_ID_WMA, "wma", "Windows Media Audio"),
        (CODEC_ID_RA10, "ra_144", "RealAudio 1.0"),
        (CODEC_ID_RA20, "ra_288", "RealAudio 2.0"),
        (CODEC_ID_SIPR, "sipr", "RealAudio SIPR"),
        (CODEC_ID_COOK, "cook", "RealAudio Cook"),
        (CODEC_ID_SBC, "sbc", "Bluetooth SBC"),
        (CODEC_ID_APTX, "aptx", "aptX"),
        (CODEC_ID_APTX_HD, "aptx_hd", "aptX HD"),
        (CODEC_ID_LDAC, "ldac", "LDAC"),
        (CODEC_ID_BINK_AUDIO, "binkaudio", "Bink Audio"),
        (CODEC_ID_SMACKER_AUDIO, "smackaudio", "Smacker audio"),
        (CODEC_ID_FLAC, "flac", "FLAC"),
        (CODEC_ID_WAVPACK, "wavpack", "WavPack"),
        (CODEC_ID_MONKEYS_AUDIO, "ape", "Monkey's Audio"),
        (CODEC_ID_ALAC, "alac", "Apple Lossless (ALAC)"),
        (CODEC_ID_TTA, "tta", "True Audio (TTA)"),
        (CODEC_ID_RALF, "ralf", "RealAudio Lossless"),
        (CODEC_ID_TRUEHD, "truehd", "Dolby TrueHD"),
    ];
    table
        .iter()
        .find(|(cid, _, _)| *cid == id)
        .map(|&(_, short, long)| (short, long))
        .unwrap_or(("unknown", "an unidentified codec"))
}

/// PCM and lossless codecs, for which a bit depth is meaningful.
pub(crate) fn is_lossless(short: &str) -> bool {
    short.starts_with("pcm_") || matches!(short, "flac" | "alac" | "wavpack" | "tta" | "ape" | "truehd" | "ralf")
}

/// Bits per sample implied by a PCM-family codec when the container does not say.
pub(crate) fn implied_bits(short: &str) -> Option<u32> {
    let rest = short.strip_prefix("pcm_")?;
    match rest {
        "alaw" | "mulaw" => Some(8),
        _ => {
            let digits: String = rest.chars().skip(1).take_while(|c| c.is_ascii_digit()).collect();
            digits.parse().ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_ffmpeg_conventions() {
        assert_eq!(codec_names(CODEC_ID_PCM_S16LE).0, "pcm_s16le");
        assert_eq!(codec_names(CODEC_ID_PCM_MULAW).0, "pcm_mulaw");
        assert_eq!(codec_names(CODEC_ID_AC3), ("ac3", "AC-3 (Dolby Digital)"));
        assert_eq!(codec_names(CODEC_ID_NULL_AUDIO_FOR_TEST).0, "unknown");
        assert_eq!(container_name("wave", Some("wav")), "wav");
        assert_eq!(container_name("isomp4", Some("mp4")), "mp4");
        assert_eq!(container_name("matroska", Some("webm")), "webm");
        assert_eq!(container_name("matroska", Some("mkv")), "mkv");
        assert_eq!(container_name("ogg", None), "ogg");
    }

    const CODEC_ID_NULL_AUDIO_FOR_TEST: AudioCodecId = symphonia::core::codecs::audio::CODEC_ID_NULL_AUDIO;

    #[test]
    fn implied_bits_for_pcm() {
        assert_eq!(implied_bits("pcm_s16le"), Some(16));
        assert_eq!(implied_bits("pcm_s24be_planar"), Some(24));
        assert_eq!(implied_bits("pcm_f32le"), Some(32));
        assert_eq!(implied_bits("pcm_mulaw"), Some(8));
        assert_eq!(implied_bits("pcm_u8"), Some(8));
        assert_eq!(implied_bits("aac"), None);
        assert!(is_lossless("pcm_alaw") && is_lossless("flac") && !is_lossless("opus"));
    }
}
