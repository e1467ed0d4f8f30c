//! Tests for the draft formatter: commands, ambiguous words, table loading, normalisation and corpus.

mod commands;
mod corpus;
mod fuzz;
mod normalise;
mod table;
mod tricky;

use std::sync::OnceLock;

use crate::draft::{CommandTable, format_draft};

/// Format with the built-in table.
fn fmt(raw: &str) -> String {
    static TABLE: OnceLock<CommandTable> = OnceLock::new();
    format_draft(raw, TABLE.get_or_init(CommandTable::builtin))
}

/// Assert every `(raw, expected)` pair, reporting all failures at once.
fn check_all(cases: &[(&str, &str)]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(raw, expected)| {
            let got = fmt(raw);
            (got != *expected).then(|| format!("{raw:?}\n   got {got:?}\n  want {expected:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
}
