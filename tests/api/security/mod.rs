//! Security controls from the code review, each over HTTP (or the command line) against
//! the real server, on both backends where SQL is involved.

mod access;
mod exports;
mod operations;
mod sessions;
mod uploads;
