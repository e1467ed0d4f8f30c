//! HTTP integration tests: the real server on a random port, on SQLite and on PostgreSQL.

mod helpers;
mod s3_server;

mod audio_store;
mod auth;
mod connections;
mod corpus_upload;
mod crash;
mod dictations;
mod identity;
mod lexicon;
mod login_flood;
mod multi_host;
mod openai;
mod recognition;
mod recognition_settings;
mod security;
mod two_processes;
mod web;
mod workflow;
