//! dictaflow: a dictation and voice-recognition workflow server for hospitals.
//!
//! Faces (`api`, `cli`) call services (`ingest`, `auth`), which use `storage`,
//! `audio` and `domain`.

pub mod api;
pub mod audio;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod cli_admin;
pub mod cli_storage;
pub mod cli_stt;
pub mod clock;
pub mod config;
pub mod connections;
pub mod domain;
pub mod draft;
pub mod error;
pub mod ingest;
pub mod jobs;
pub mod letters;
pub mod lexicon;
pub mod metrics;
pub mod models;
pub mod notify;
pub mod retention;
pub mod seed;
pub mod server;
pub mod storage;
pub mod stt;
pub mod telemetry;
pub mod timers;
pub mod tls;
pub mod vocabulary;
pub mod web;
pub mod webhooks;
pub mod workflow;
