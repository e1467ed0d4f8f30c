//! The typed error of the audio module: [`AudioError`], its stable snake_case codes and the
//! 415-vs-422 split the HTTP layer needs. Every message is a complete, human-readable sentence
//! because it becomes the `detail` of a problem+json response.

/// Why an upload could not be turned into audio.
///
/// Use [`AudioError::code`] for a stable machine-readable code and
/// [`AudioError::is_unsupported`] to choose between "415 Unsupported Media Type" (true) and
/// "422 Unprocessable Content" (false). [`AudioError::Io`] is the only variant that is not the
/// client's fault (the server could not read its own temporary file); map it to a 500.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The upload holds no audio at all: zero bytes, or a valid container without samples.
    #[error("{0}")]
    Empty(String),
    /// Not audio (text, image, document, archive, unknown bytes), a known audio format or codec
    /// this server cannot decode, or a DSS/DS2 dictation-recorder file.
    #[error("{0}")]
    Unsupported(String),
    /// Looks like audio but cannot be decoded: broken header, zero channels, truncated with less
    /// than one second decodable, undecodable packets, or a decoder crash.
    #[error("{0}")]
    Corrupt(String),
    /// Decoded fine but shorter than the configured minimum.
    #[error(
        "The recording is too short: it holds {seconds:.3} s of audio and at least \
         {min_seconds} s is needed."
    )]
    TooShort {
        /// Decoded duration in seconds.
        seconds: f64,
        /// The configured minimum in seconds.
        min_seconds: f64,
    },
    /// Longer than the configured maximum: either the header states an exact, plausible length
    /// over the limit (rejected before decoding), or decoding passed the limit and stopped.
    #[error(
        "The recording is too long: it runs for at least {seconds:.1} s and the limit is \
         {max_seconds} s. Split the dictation into shorter recordings."
    )]
    TooLong {
        /// How long the recording is known to be, at least.
        seconds: f64,
        /// The configured maximum in seconds.
        max_seconds: f64,
    },
    /// Decoding did not finish within the configured time bound.
    #[error(
        "Decoding the recording did not finish within {seconds} s, so it was abandoned; the \
         file may be malformed in a way that makes decoding extremely slow."
    )]
    Timeout {
        /// The configured time bound in seconds.
        seconds: f64,
    },
    /// The server could not read the file it was given (not the client's fault).
    #[error("The server could not read the uploaded file: {0}")]
    Io(String),
}

impl AudioError {
    /// Stable snake_case code for logs, metrics and the problem+json `code` member.
    pub fn code(&self) -> &'static str {
        match self {
            AudioError::Empty(_) => "empty_audio",
            AudioError::Unsupported(_) => "unsupported_audio",
            AudioError::Corrupt(_) => "corrupt_audio",
            AudioError::TooShort { .. } => "audio_too_short",
            AudioError::TooLong { .. } => "audio_too_long",
            AudioError::Timeout { .. } => "decode_timeout",
            AudioError::Io(_) => "io_error",
        }
    }

    /// True when the HTTP layer should answer 415 (the media type itself is not supported);
    /// false means 422 (or 500 for [`AudioError::Io`]).
    pub fn is_unsupported(&self) -> bool {
        matches!(self, AudioError::Unsupported(_))
    }
}

impl From<std::io::Error> for AudioError {
    fn from(err: std::io::Error) -> Self {
        AudioError::Io(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_only_unsupported_is_415() {
        let all = [
            (AudioError::Empty("x".into()), "empty_audio"),
            (AudioError::Unsupported("x".into()), "unsupported_audio"),
            (AudioError::Corrupt("x".into()), "corrupt_audio"),
            (AudioError::TooShort { seconds: 0.01, min_seconds: 0.05 }, "audio_too_short"),
            (AudioError::TooLong { seconds: 7200.1, max_seconds: 7200.0 }, "audio_too_long"),
            (AudioError::Timeout { seconds: 120.0 }, "decode_timeout"),
            (AudioError::Io("gone".into()), "io_error"),
        ];
        for (err, code) in &all {
            assert_eq!(err.code(), *code);
            assert_eq!(err.is_unsupported(), *code == "unsupported_audio");
            assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn messages_are_sentences_with_numbers() {
        let e = AudioError::TooShort { seconds: 0.012, min_seconds: 0.05 };
        assert!(e.to_string().contains("0.012 s"), "{e}");
        let e = AudioError::TooLong { seconds: 7200.5, max_seconds: 7200.0 };
        assert!(e.to_string().contains("7200 s"), "{e}");
    }
}
