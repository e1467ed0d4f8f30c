//! Workflow engine, timers and definitions over HTTP, on a manual clock, on both backends.

mod calendar_files;
mod calendars;
mod concurrency;
mod definitions;
mod flows;
mod oversight;
mod oversight_scale;
mod report_detail;
mod seed;
pub mod support;
mod timers;
pub mod webhooks;
mod work;
