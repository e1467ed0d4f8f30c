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
mod letters;
mod lexicon;
mod login_flood;
mod multi_host;
mod notify;
mod openai;
mod recognition;
mod recognition_settings;
mod security;
mod two_processes;
mod uploads;
mod web;
mod workflow;
mod working_day;
