//! Opening an upload for decoding: content sniffing, symphonia probing without any hint
//! (symphonia 0.6 ignores hints anyway and scans for format markers), track selection, decoder
//! creation from a codec registry holding symphonia's decoders plus libopus, and the stream
//! facts (names, declared length, MP4 priming trim) the decode loop needs. Owns the mapping of
//! probe/decoder-creation failures to [`AudioError`].

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::LazyLock;

use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::codecs::registry::CodecRegistry;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::{Hint, Probe};
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia_adapter_libopus::OpusDecoder;

use crate::audio::patch::{self, PatchedSource};
use crate::audio::sniff::{self, Class};
use crate::audio::{AudioError, mp4, names};

/// Bytes read up front for sniffing.
const HEAD_LEN: usize = 64 * 1024;

static CODECS: LazyLock<CodecRegistry> = LazyLock::new(|| {
    let mut registry = CodecRegistry::new();
    symphonia::default::register_enabled_codecs(&mut registry);
    registry.register_audio_decoder::<OpusDecoder>();
    registry
});

static PROBE: LazyLock<Probe> = LazyLock::new(|| {
    let mut probe = Probe::default();
    symphonia::default::register_enabled_formats(&mut probe);
    probe
});

/// An opened, probed stream ready for the decode loop.
pub(crate) struct Opened {
    pub reader: Box<dyn FormatReader>,
    pub decoder: Box<dyn AudioDecoder>,
    pub track_id: u32,
    pub container: String,
    pub codec: &'static str,
    pub bits_per_sample: Option<u32>,
    /// Frames the header promises, when that promise is exact (not a bitrate estimate).
    pub declared_frames: Option<u64>,
    /// Frames to drop at the start (encoder priming not handled by the demuxer).
    pub skip_frames: u64,
    /// Frames to keep after the skip, when the container says (MP4 edit lists).
    pub keep_frames: Option<u64>,
    /// A container whose length is only known by reading to the end (streamed WebM/MKV).
    pub streamed: bool,
    /// The header's data chunk runs past the end of the file (repaired AIFF/CAF).
    pub header_truncated: bool,
    /// Sample rate the header declares (the decoder's output rate is what gets reported).
    pub sample_rate: Option<u32>,
    /// Size of the file in bytes.
    pub file_len: u64,
}

/// Opens `path`, sniffs it, probes it and creates the decoder.
pub(crate) fn open(path: &Path) -> Result<Opened, AudioError> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Err(AudioError::Empty("The uploaded file is empty (0 bytes); there is no audio in it.".into()));
    }
    let mut head = Vec::with_capacity(HEAD_LEN);
    (&mut file).take(HEAD_LEN as u64).read_to_end(&mut head)?;
    file.seek(SeekFrom::Start(0))?;

    let kind = sniff::sniff(&head);
    match sniff::classify(kind) {
        Class::Audio => {}
        Class::Dictation(what) => return Err(AudioError::Unsupported(sniff::dictation_message(what))),
        Class::NotAudio(what) => return Err(AudioError::Unsupported(sniff::not_audio_message(what))),
        Class::UnsupportedAudio(what) => {
            return Err(AudioError::Unsupported(format!(
                "The file is {what}, a format this server cannot decode. Convert it to WAV, MP3, \
                 M4A (AAC), FLAC or Ogg/Opus and upload it again."
            )));
        }
    }
    if kind == Some("wav")
        && let Some(problem) = sniff::wav_header_problem(&head)
    {
        return Err(AudioError::Corrupt(problem));
    }

    // A truncated AIFF/CAF is read through corrected length fields (see `patch`).
    let patches = patch::truncation_patches(kind, &head, len);
    let header_truncated = patches.is_some();
    let source: Box<dyn MediaSource> = match patches {
        Some(p) => Box::new(PatchedSource::new(file, len, p)),
        None => Box::new(file),
    };
    let mss = MediaSourceStream::new(source, Default::default());
    let reader = PROBE
        .probe(&Hint::new(), mss, FormatOptions::default(), Default::default())
        .map_err(|e| probe_error(e, kind, &head))?;
    let container = names::container_name(reader.format_info().short_name, kind);

    let Some(track) = reader.default_track(TrackType::Audio).cloned() else {
        return Err(no_audio_track(reader.as_ref(), &container, path));
    };
    let Some(params) = track.codec_params.as_ref().and_then(|p| p.audio()) else {
        return Err(AudioError::Corrupt(format!("The {container} audio track has no codec parameters.")));
    };
    let (codec, codec_long) = names::codec_names(params.codec);
    if params.channels.as_ref().is_some_and(|c| c.count() == 0) {
        return Err(AudioError::Corrupt(format!("Invalid {container} header: the audio track declares 0 channels.")));
    }
    if let Some(rate) = params.sample_rate.filter(|r| !crate::audio::plausible_rate(*r)) {
        return Err(AudioError::Corrupt(format!(
            "Invalid {container} header: the audio track declares an implausible sample rate \
             of {rate} Hz."
        )));
    }
    if CODECS.get_audio_decoder(params.codec).is_none() {
        return Err(AudioError::Unsupported(format!(
            "The {container} file uses the {codec_long} audio codec ({codec}), which this server \
             cannot decode. Convert the recording to WAV, MP3, M4A (AAC), FLAC or Ogg/Opus and \
             upload it again."
        )));
    }
    let decoder = CODECS.make_audio_decoder(params, &AudioDecoderOptions::default()).map_err(|e| match e {
        SymError::Unsupported(what) => AudioError::Unsupported(format!(
            "This {codec_long} audio uses a feature this server cannot decode ({what})."
        )),
        other => AudioError::Corrupt(format!(
            "The {codec_long} stream parameters in the {container} header are invalid ({other})."
        )),
    })?;

    // Bit depth is meaningful for PCM and lossless codecs only (a WebM Opus track may carry a
    // BitDepth element, which says nothing about the audio).
    let bits_per_sample = names::is_lossless(codec)
        .then(|| params.bits_per_sample.filter(|&b| b > 0).or_else(|| names::implied_bits(codec)))
        .flatten();
    let mut skip_frames = 0;
    let mut keep_frames = None;
    let mut declared_frames = track.num_frames;
    if container == "mp4" {
        declared_frames = None;
        if let (Some(rate), Some(trim)) =
            // A separate handle: the demuxer owns the first one and its file offset.
            (params.sample_rate, mp4::read_edit_trim(&mut File::open(path)?, track.id))
        {
            let (skip, keep) = trim.frames(rate, track.num_frames);
            skip_frames = skip;
            keep_frames = keep;
            declared_frames = keep;
        }
    }
    // An MP3 length is exact only with a Xing/Info frame carrying LAME gapless data; otherwise
    // symphonia estimates it from the bitrate.
    if container == "mp3" && track.delay.is_none() {
        declared_frames = None;
    }
    if container == "aac" {
        declared_frames = None;
    }
    let streamed = matches!(container.as_str(), "webm" | "mkv") && declared_frames.is_none();
    Ok(Opened {
        reader,
        decoder,
        track_id: track.id,
        container,
        codec,
        bits_per_sample,
        declared_frames,
        skip_frames,
        keep_frames,
        streamed,
        header_truncated,
        sample_rate: params.sample_rate,
        file_len: len,
    })
}

/// The error for a container without a decodable audio track, naming the codec if possible.
fn no_audio_track(reader: &dyn FormatReader, container: &str, path: &Path) -> AudioError {
    if reader.first_track(TrackType::Audio).is_some() {
        return AudioError::Unsupported(format!(
            "The {container} file has an audio track in a codec this server does not recognise. \
             Convert it to WAV or MP3 and upload it again."
        ));
    }
    // symphonia does not parse some MP4 sample entries at all (AMR in 3GP, for example).
    let mp4_entry = (container == "mp4")
        .then(|| File::open(path).ok().map(|mut f| mp4::sound_sample_entries(&mut f)))
        .flatten()
        .and_then(|codes| codes.into_iter().next());
    match mp4_entry {
        Some(code) => AudioError::Unsupported(format!(
            "The mp4/3gp file's audio track uses {}, which this server cannot decode. Convert the \
             recording to WAV, MP3 or M4A (AAC) and upload it again.",
            mp4::describe_sample_entry(&code)
        )),
        None if !reader.tracks().is_empty() => {
            AudioError::Unsupported(format!("The {container} file contains no audio track (only video or subtitles)."))
        }
        None => AudioError::Empty(format!("The {container} file contains no tracks at all.")),
    }
}

/// Maps a probe failure to an error that says what the content looks like.
fn probe_error(err: SymError, kind: Option<&'static str>, head: &[u8]) -> AudioError {
    match (kind, err) {
        (None, SymError::Unsupported(_)) => {
            let first: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
            AudioError::Unsupported(format!(
                "The file is not in any audio format this server recognises (unknown content \
                 starting with bytes {}). Upload the dictation as WAV, MP3, M4A, FLAC, Ogg/Opus \
                 or WebM audio.",
                first.join(" ")
            ))
        }
        (kind, SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => AudioError::Corrupt(format!(
            "The {} file ends inside its header; it is truncated and holds no decodable audio.",
            kind.unwrap_or("audio")
        )),
        (kind, err) => AudioError::Corrupt(format!(
            "The file looks like {} but its header could not be read ({err}).",
            kind.map(|k| k.to_uppercase()).unwrap_or_else(|| "audio".into())
        )),
    }
}
