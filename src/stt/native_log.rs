//! whisper.cpp's and ggml's own log lines, routed into `tracing` at the level they mean.
//!
//! whisper-rs routes them already, but at whisper.cpp's own levels, and whisper.cpp logs at
//! ERROR what dictaflow asks of it on purpose: the sliding window stops each call before
//! its second encoder pass (see `engine`), and whisper.cpp reports each such stop as
//! "encoder_begin_callback returned false - aborting", on every letter. Operators read
//! ERROR as "something broke", so that line goes to debug; everything else keeps its level.
// The C callback handed to whisper.cpp's logger.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_void};
use std::sync::Once;

use whisper_rs::whisper_rs_sys::{
    ggml_log_level, ggml_log_level_GGML_LOG_LEVEL_DEBUG as DEBUG, ggml_log_level_GGML_LOG_LEVEL_ERROR as ERROR,
    ggml_log_level_GGML_LOG_LEVEL_INFO as INFO, ggml_log_level_GGML_LOG_LEVEL_WARN as WARN,
};

/// Lines whisper.cpp logs as errors that are dictaflow's own intent.
const EXPECTED: &[&str] = &["encoder_begin_callback returned false"];

/// The level a whisper.cpp line is logged at here.
fn level_of(level: ggml_log_level, text: &str) -> tracing::Level {
    match level {
        ERROR if EXPECTED.iter().any(|e| text.contains(e)) => tracing::Level::DEBUG,
        ERROR => tracing::Level::ERROR,
        WARN => tracing::Level::WARN,
        INFO => tracing::Level::INFO,
        DEBUG => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    }
}

fn log(level: ggml_log_level, text: &str) {
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    match level_of(level, text) {
        tracing::Level::ERROR => tracing::error!(target: "whisper_cpp", "{text}"),
        tracing::Level::WARN => tracing::warn!(target: "whisper_cpp", "{text}"),
        tracing::Level::INFO => tracing::info!(target: "whisper_cpp", "{text}"),
        tracing::Level::DEBUG => tracing::debug!(target: "whisper_cpp", "{text}"),
        _ => tracing::trace!(target: "whisper_cpp", "{text}"),
    }
}

unsafe extern "C" fn trampoline(level: ggml_log_level, text: *const c_char, _: *mut c_void) {
    if text.is_null() {
        return;
    }
    // SAFETY: whisper.cpp passes a NUL-terminated string that lives for the call.
    let text = unsafe { CStr::from_ptr(text) }.to_string_lossy();
    let _ = std::panic::catch_unwind(|| log(level, &text));
}

/// Routes ggml's lines through whisper-rs and whisper.cpp's through [`trampoline`].
/// Global and permanent; idempotent.
pub fn install() {
    static ONCE: Once = Once::new();
    whisper_rs::install_logging_hooks();
    ONCE.call_once(|| {
        // SAFETY: the callback is a plain function that lives for the whole program and
        // ignores its user data.
        unsafe { whisper_rs::whisper_rs_sys::whisper_log_set(Some(trampoline), std::ptr::null_mut()) }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_intended_stop_is_debug_and_real_errors_stay_errors() {
        let stop = "whisper_full_with_state: encoder_begin_callback returned false - aborting";
        assert_eq!(level_of(ERROR, stop), tracing::Level::DEBUG);
        assert_eq!(level_of(ERROR, "whisper_full_with_state: failed to encode"), tracing::Level::ERROR);
        assert_eq!(level_of(WARN, "anything"), tracing::Level::WARN);
    }
}
