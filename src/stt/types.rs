//! Public data types of the STT engine: options, configuration, transcript and errors.

use serde::{Deserialize, Serialize};

use super::vad::VadConfig;
use super::windows::WindowConfig;

/// Engine-wide settings, fixed at [`super::Engine::load`].
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// whisper.cpp threads per job. Never more than free cores: oversubscription is
    /// catastrophic (a 2 s job took 15-28 s with 2 threads on 1 free core).
    pub threads: usize,
    pub use_gpu: bool,
    pub flash_attn: bool,
    /// Voice-activity detection parameters (used when `TranscribeOptions::vad`).
    pub vad: VadConfig,
    /// At most this many repetition-loop windows are re-decoded per job.
    pub max_redecodes: usize,
    /// How the audio is cut into recognition windows and how their encoder is sized.
    pub windows: WindowConfig,
    /// At most this many tokens of the text already recognised are given to the decoder
    /// as context when whisper moves on to the next 30 s of a recording (whisper's own
    /// default is half its text context, 224). whisper.cpp computes logits for every
    /// context token, so this bounds both the decoder's memory and its time per window;
    /// 64 recognised the corpus as well as 224 (BENCHMARKS.md).
    pub max_text_ctx: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            threads: cores.clamp(1, 4),
            use_gpu: false,
            flash_attn: false,
            vad: VadConfig::default(),
            max_redecodes: 3,
            windows: WindowConfig::default(),
            max_text_ctx: 64,
        }
    }
}

/// Per-job options.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TranscribeOptions {
    /// ISO 639-1 code (`en`, `fr`...); `None` = auto-detect (English-only models: `en`).
    pub language: Option<String>,
    /// Vocabulary terms / style prompt (drug names, clinician names...).
    pub initial_prompt: Option<String>,
    /// `None` or `Some(1)` = greedy; `Some(n)` = beam search of width n.
    pub beam_size: Option<u32>,
    /// Initial sampling temperature (0 = deterministic).
    pub temperature: f32,
    /// whisper.cpp's built-in fallback step when a window decodes badly (0 disables).
    pub temperature_increment: f32,
    /// Translate to English instead of transcribing.
    pub translate: bool,
    /// Drop long silences before recognition (our VAD).
    pub vad: bool,
    /// Detect repetition loops and re-decode / cut them.
    pub repetition_guard: bool,
    /// Words below this confidence get `low_confidence = true`.
    pub low_confidence_threshold: f32,
    /// Clinical terms that may replace uncertain spans (see `rescore`); `None`: off.
    #[serde(skip)]
    pub lexicon: Option<std::sync::Arc<super::TermIndex>>,
    /// How the lexicon is used.
    #[serde(skip)]
    pub rescore: RescoreConfig,
}

/// How uncertain spans are rescored against the lexicon (see `rescore`).
#[derive(Debug, Clone, PartialEq)]
pub struct RescoreConfig {
    /// A span is tried when one of its words has a confidence under this.
    pub confidence: f32,
    /// Longest span, in words, that one term may replace.
    pub max_span_words: usize,
    /// Terms tried per span: the nearest by sound.
    pub candidates: usize,
    /// How unlike the span a candidate may sound (0 = alike, 1 = nothing in common).
    pub max_dissimilarity: f32,
    /// How much more likely (natural log) the decoder must find the term than what
    /// greedy decoding wrote.
    pub margin: f32,
    /// The margin when every word of the span is an English word (the index's word list).
    pub margin_words: f32,
    /// Terms listed in the decoder's prompt while spans are scored (0: none).
    pub prompt_terms: usize,
    /// Threads for the rescoring decoder's steps (0: as many as the engine decodes with).
    /// A step is one token, mostly the vocabulary's logits: 40 MB of weights read for a
    /// few tens of millions of multiply-adds, so two threads read them faster (on a quiet
    /// 2-core machine, rescoring cost 1.18x the plain engine time with 2 threads against
    /// 1.26x with 1, the same words). ggml's threads wait for each other after every
    /// operation, so on a machine busy with other work 1 can be faster.
    pub threads: usize,
}

impl Default for RescoreConfig {
    fn default() -> Self {
        Self {
            confidence: 0.5,
            max_span_words: 3,
            candidates: 3,
            max_dissimilarity: 0.34,
            margin: 1.0,
            margin_words: 2.5,
            prompt_terms: 8,
            threads: 0,
        }
    }
}

impl Default for TranscribeOptions {
    fn default() -> Self {
        Self {
            language: None,
            initial_prompt: None,
            beam_size: None,
            temperature: 0.0,
            temperature_increment: 0.2,
            translate: false,
            vad: true,
            repetition_guard: true,
            low_confidence_threshold: 0.5,
            lexicon: None,
            rescore: RescoreConfig::default(),
        }
    }
}

/// One recognised word. Times are seconds on the ORIGINAL audio timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub start: f64,
    pub end: f64,
    /// The word as written, including attached punctuation (`"Ramsden,"`).
    pub text: String,
    /// Lowest probability among the word's lexical tokens, in [0, 1].
    pub confidence: f32,
    pub low_confidence: bool,
    /// What Whisper first heard, when the clinical lexicon replaced it with this word
    /// (the secretary sees every automatic replacement). On the first word of a
    /// replaced span only; the span's other words were removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heard: Option<String>,
}

/// A whisper segment (roughly a phrase or sentence).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start: f64,
    pub end: f64,
    pub text: String,
    pub words: Vec<Word>,
    /// Whisper's no-speech probability for the window this segment came from.
    #[serde(default)]
    pub no_speech_prob: f32,
    /// Mean log-probability of the segment's tokens (a whole-segment confidence).
    #[serde(default)]
    pub avg_logprob: f32,
}

/// Result of one transcription job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub text: String,
    pub language: String,
    pub segments: Vec<Segment>,
    /// Model name (file stem, e.g. `tiny.en`).
    pub model: String,
    pub processing_seconds: f64,
    pub audio_seconds: f64,
}

impl Transcript {
    /// All words in order.
    pub fn words(&self) -> impl Iterator<Item = &Word> {
        self.segments.iter().flat_map(|s| s.words.iter())
    }
}

/// Failures of the engine.
#[derive(Debug, thiserror::Error)]
pub enum SttError {
    #[error("transcription cancelled")]
    Cancelled,
    #[error("cannot load model {path}: {reason}")]
    ModelLoad { path: String, reason: String },
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    #[error("whisper failed: {0}")]
    Whisper(String),
}
