//! Workflow engine, timers and definitions over HTTP, on a manual clock, on both backends.

mod definitions;
mod flows;
mod support;
mod timers;
mod work;
