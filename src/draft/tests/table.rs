//! Loading, overriding and validating command tables.

use std::path::PathBuf;

use crate::draft::{Action, Attach, CommandTable, TableError, format_draft};

fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("dictaflow-draft-{}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("write temp table");
    path
}

#[test]
fn builtin_table_loads() {
    let table = CommandTable::builtin();
    assert!(table.len() >= 18, "{} commands", table.len());
    assert!(!table.is_empty());
    assert_eq!(table.bullet(), "•");
    let (len, command) = table.match_at(&["full", "stop", "now"]).expect("full stop");
    assert_eq!(len, 2);
    assert_eq!(command.action, Action::Punctuation { text: ".".into(), attach: Attach::Left, sentence_end: true });
    assert!(table.match_at(&["stop"]).is_none());
    assert!(table.match_at(&[]).is_none());
}

#[test]
fn override_file_replaces_the_table() {
    let path = temp_file(
        "override.toml",
        r#"
bullet = "-"
[[command]]
phrases = ["stroke"]
action = "punctuation"
text = "/"
attach = "both"
literal_after = ["a"]

[[command]]
phrases = ["next point"]
action = "bullet_point"
"#,
    );
    let table = CommandTable::load(Some(&path)).expect("override loads");
    std::fs::remove_file(&path).ok();
    assert_eq!(table.len(), 2);
    assert_eq!(format_draft("and stroke or after a stroke", &table), "And/or after a stroke");
    assert_eq!(format_draft("plan next point bloods", &table), "Plan\n- Bloods");
    // Commands of the default table are plain words here.
    assert_eq!(format_draft("done full stop", &table), "Done full stop");
    assert_eq!(CommandTable::load(None).expect("builtin").len(), CommandTable::builtin().len());
}

#[test]
fn bad_tables_are_rejected() {
    let missing = CommandTable::from_path("/nonexistent/dictaflow/commands.toml");
    assert!(matches!(missing, Err(TableError::Io { .. })), "{missing:?}");

    let cases = [
        ("not toml [[", "parse"),
        ("[[command]]\nphrases = [\"x\"]\naction = \"explode\"\n", "parse"),
        ("[[command]]\nphrases = [\"x\"]\naction = \"comma\"\nextra = 1\n", "parse"),
        ("[[command]]\nphrases = [\"x\"]\naction = \"punctuation\"\n", "invalid"),
        ("[[command]]\nphrases = [\"x\"]\naction = \"new_line\"\ntext = \".\"\n", "invalid"),
        ("[[command]]\nphrases = []\naction = \"new_line\"\n", "invalid"),
        ("[[command]]\nphrases = [\"  \"]\naction = \"new_line\"\n", "invalid"),
        (
            "[[command]]\nphrases = [\"new  line\"]\naction = \"new_line\"\n\
             [[command]]\nphrases = [\"New line\"]\naction = \"new_paragraph\"\n",
            "invalid",
        ),
    ];
    for (text, kind) in cases {
        let result = CommandTable::from_toml_str(text);
        let ok = match kind {
            "parse" => matches!(result, Err(TableError::Parse(_))),
            _ => matches!(result, Err(TableError::Invalid(_))),
        };
        assert!(ok, "{text:?} should be a {kind} error, got {result:?}");
    }
    let message = CommandTable::from_toml_str(cases[3].0).unwrap_err().to_string();
    assert!(message.contains("needs `text`"), "{message}");
}

#[test]
fn empty_table_formats_spacing_only() {
    let table = CommandTable::from_toml_str("").expect("empty table is valid");
    assert!(table.is_empty());
    assert_eq!(format_draft("hello ,world full stop", &table), "Hello, world full stop");
}
