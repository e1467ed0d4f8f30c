//! Speech-to-text engine on whisper.cpp (via whisper-rs): loading, transcription with
//! VAD, repetition guards and word confidences, and output formats.

pub mod engine;
mod native_log;
pub mod output;
pub mod repetition;
mod rescore;
pub mod sound;
pub mod terms;
pub mod types;
pub mod vad;
pub mod windows;
pub mod words;

pub use engine::Engine;
pub use terms::TermIndex;
pub use types::{EngineConfig, RescoreConfig, Segment, SttError, TranscribeOptions, Transcript, Word};
pub use vad::VadConfig;

/// Route whisper.cpp / ggml native logging into `tracing` (instead of stderr), at the
/// levels they mean (see `native_log`). Global and permanent; idempotent.
pub fn route_native_logs_to_tracing() {
    native_log::install();
}
