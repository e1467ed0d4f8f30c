//! Draft formatting: turns a recogniser's raw dictation into a formatted letter draft.
//!
//! Clinicians dictate punctuation and layout as words ("comma", "full stop",
//! "new paragraph"). [`format_draft`] applies those commands from a
//! configurable [`CommandTable`], keeps the recogniser's own punctuation where
//! no command was spoken, fixes spacing around marks and capitalises sentence
//! starts, paragraph starts and "I".
//!
//! Policy on ambiguous words (details in `commands.toml`): a phrase is a
//! command unless its table entry's context rules (`literal_after`,
//! `literal_before`) say otherwise, and the rules lean towards keeping the
//! word: "sigmoid colon", "a period of two weeks", "a question mark over the
//! diagnosis", "came to a full stop" and "the DASH diet" stay words. "stop" on
//! its own is never a command. A missed mark is cosmetic; a lost word can
//! change the clinical meaning.
//!
//! Raw line breaks are kept (one newline = line break, blank line =
//! paragraph), so formatting an already formatted draft changes nothing;
//! join Whisper segments with spaces, not newlines.
//!
//! [`normalise`] holds text normalisation and word error rate for scoring;
//! [`british`] turns American spellings into British ones.

pub mod british;
mod format;
pub mod normalise;
mod numbers;
mod render;
pub mod table;
mod tokenise;

#[cfg(test)]
mod tests;

pub use british::to_british;
pub use normalise::{WerResult, normalise_words, wer};
pub use numbers::{NumberMatch, parse_number};
pub use table::{Action, Attach, Command, CommandTable, DEFAULT_COMMANDS_TOML, TableError};

/// Format raw recogniser output (e.g. Whisper's text) as a letter draft,
/// applying the spoken commands in `table`.
///
/// ```text
/// "Dear Doctor Smith, comma, new paragraph. thank you full stop"
///   -> "Dear Doctor Smith,\n\nThank you."
/// ```
pub fn format_draft(raw: &str, table: &CommandTable) -> String {
    let tokens = tokenise::tokenise(raw, table.bullet());
    let items = format::apply_commands(&tokens, table);
    render::render(&items, table)
}
