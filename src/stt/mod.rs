//! Speech-to-text engine on whisper.cpp (via whisper-rs): loading, transcription with
//! VAD, repetition guards and word confidences, and output formats.

pub mod engine;
pub mod output;
pub mod repetition;
pub mod types;
pub mod vad;
pub mod windows;
pub mod words;

pub use engine::Engine;
pub use types::{EngineConfig, Segment, SttError, TranscribeOptions, Transcript, Word};
pub use vad::VadConfig;

/// Route whisper.cpp / ggml native logging into `tracing` (instead of stderr).
/// Global and permanent; call once at startup (idempotent).
pub fn route_native_logs_to_tracing() {
    whisper_rs::install_logging_hooks();
}
