//! Workflow engine, timers and definitions over HTTP, on a manual clock, on both backends.

mod calendars;
mod concurrency;
mod definitions;
mod flows;
mod seed;
mod support;
mod timers;
mod webhooks;
mod work;
