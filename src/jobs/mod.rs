//! Background work: the durable job queue and the transcription workers that drain it.

pub mod queue;
pub mod runtime;
pub mod settings;
pub mod transcribe;
pub mod worker;
