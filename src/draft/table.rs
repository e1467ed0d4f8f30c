//! The configurable dictation-command table: spoken phrases, their actions and context rules.
//!
//! The default table ships as `commands.toml` (embedded with `include_str!`);
//! a site can replace it with its own file via [`CommandTable::from_path`] or
//! [`CommandTable::load`]. The file format is documented at the top of
//! `commands.toml`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The built-in command table, as TOML text.
pub const DEFAULT_COMMANDS_TOML: &str = include_str!("commands.toml");

/// Errors raised while loading or validating a command table.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The override file could not be read.
    #[error("cannot read command table {path}: {source}")]
    Io {
        /// The file that was asked for.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not valid TOML or does not have the expected shape.
    #[error("command table is not valid: {0}")]
    Parse(#[from] toml::de::Error),
    /// The table parsed but makes no sense (empty phrase, clash, missing text).
    #[error("command table is not valid: {0}")]
    Invalid(String),
}

/// How a punctuation mark sits between its neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attach {
    /// Joined to the word before, space after: `.` `,` `)`.
    Left,
    /// Space before, joined to the word after: `(`.
    Right,
    /// Joined on both sides: `-` `/`.
    Both,
    /// Spaced on both sides, like a word: `–`.
    None,
}

/// What a recognised spoken command does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Insert a punctuation mark.
    Punctuation {
        /// The mark itself, e.g. `"."`.
        text: String,
        /// Spacing around the mark.
        attach: Attach,
        /// Whether the next word starts a sentence.
        sentence_end: bool,
    },
    /// Start a new line.
    NewLine,
    /// Start a new paragraph (blank line).
    NewParagraph,
    /// Start a new line with a bullet.
    BulletPoint,
    /// Capitalise the first letter of the next word.
    CapitaliseNext,
    /// Write the next word in capitals.
    UppercaseNext,
    /// Write the number words that follow as digits.
    Numeral,
}

/// One command: its action and the context words that make it literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// What the command does.
    pub action: Action,
    /// The phrase is literal when the previous word is one of these (lower case).
    pub literal_after: HashSet<String>,
    /// The phrase is literal when the next word is one of these (lower case).
    pub literal_before: HashSet<String>,
}

impl Command {
    /// Whether the context words (lower case) turn this phrase back into an
    /// ordinary word. A word glued to others ("transverse/sigmoid",
    /// "(left)") also counts by its part nearest the phrase.
    pub fn is_literal_in(&self, prev: Option<&str>, next: Option<&str>) -> bool {
        prev.is_some_and(|w| suffixes(w).any(|p| self.literal_after.contains(p)))
            || next.is_some_and(|w| prefixes(w).any(|p| self.literal_before.contains(p)))
    }
}

fn is_joiner(c: char) -> bool {
    !c.is_alphanumeric() && c != '\'' && c != '’'
}

fn trim_edges(s: &str) -> &str {
    s.trim_matches(|c: char| !c.is_alphanumeric())
}

/// The word, and each tail of it after a joiner: "he/follow-up" -> "he/follow-up",
/// "follow-up", "up".
fn suffixes(word: &str) -> impl Iterator<Item = &str> {
    let tails = word.char_indices().filter(|&(_, c)| is_joiner(c)).map(move |(i, c)| &word[i + c.len_utf8()..]);
    std::iter::once(word).chain(tails).map(trim_edges)
}

/// The word, and each head of it before a joiner: "diet.-and" -> "diet.-and", "diet".
fn prefixes(word: &str) -> impl Iterator<Item = &str> {
    let heads = word.char_indices().filter(|&(_, c)| is_joiner(c)).map(move |(i, _)| &word[..i]);
    std::iter::once(word).chain(heads).map(trim_edges)
}

/// A compiled command table, ready for [`crate::draft::format_draft`].
#[derive(Debug, Clone)]
pub struct CommandTable {
    commands: Vec<Command>,
    /// First phrase word -> (phrase words, command index), longest phrase first.
    phrases: HashMap<String, Vec<(Vec<String>, usize)>>,
    bullet: String,
    abbreviations: HashSet<String>,
    function_words: HashSet<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    #[serde(default = "default_bullet")]
    bullet: String,
    #[serde(default)]
    abbreviations: Vec<String>,
    #[serde(default)]
    function_words: Vec<String>,
    #[serde(default, rename = "command")]
    commands: Vec<RawCommand>,
}

fn default_bullet() -> String {
    "•".to_string()
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum RawAction {
    Punctuation,
    NewLine,
    NewParagraph,
    BulletPoint,
    CapitaliseNext,
    UppercaseNext,
    Numeral,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommand {
    phrases: Vec<String>,
    action: RawAction,
    text: Option<String>,
    attach: Option<Attach>,
    #[serde(default)]
    sentence_end: bool,
    #[serde(default)]
    literal_after: Vec<String>,
    #[serde(default)]
    literal_before: Vec<String>,
}

fn lower_set(words: &[String]) -> HashSet<String> {
    words.iter().map(|w| w.trim().to_lowercase()).collect()
}

impl RawCommand {
    fn compile(&self) -> Result<Command, TableError> {
        let punctuation_fields = self.text.is_some() || self.attach.is_some() || self.sentence_end;
        let action = match self.action {
            RawAction::Punctuation => {
                let text = self
                    .text
                    .clone()
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| TableError::Invalid(format!("{:?}: punctuation needs `text`", self.phrases)))?;
                Action::Punctuation {
                    text,
                    attach: self.attach.unwrap_or(Attach::Left),
                    sentence_end: self.sentence_end,
                }
            }
            _ if punctuation_fields => {
                return Err(TableError::Invalid(format!(
                    "{:?}: `text`, `attach` and `sentence_end` are for punctuation only",
                    self.phrases
                )));
            }
            RawAction::NewLine => Action::NewLine,
            RawAction::NewParagraph => Action::NewParagraph,
            RawAction::BulletPoint => Action::BulletPoint,
            RawAction::CapitaliseNext => Action::CapitaliseNext,
            RawAction::UppercaseNext => Action::UppercaseNext,
            RawAction::Numeral => Action::Numeral,
        };
        Ok(Command {
            action,
            literal_after: lower_set(&self.literal_after),
            literal_before: lower_set(&self.literal_before),
        })
    }
}

impl CommandTable {
    /// The built-in table (`commands.toml`).
    pub fn builtin() -> Self {
        Self::from_toml_str(DEFAULT_COMMANDS_TOML).expect("the built-in command table is valid")
    }

    /// Parse and validate a table from TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self, TableError> {
        let raw: RawTable = toml::from_str(text)?;
        let mut commands = Vec::with_capacity(raw.commands.len());
        let mut phrases: HashMap<String, Vec<(Vec<String>, usize)>> = HashMap::new();
        let mut seen = HashSet::new();
        for (index, rc) in raw.commands.iter().enumerate() {
            if rc.phrases.is_empty() {
                return Err(TableError::Invalid(format!("command #{} has no phrases", index + 1)));
            }
            commands.push(rc.compile()?);
            for phrase in &rc.phrases {
                let words: Vec<String> = phrase.split_whitespace().map(str::to_lowercase).collect();
                let Some(first) = words.first().cloned() else {
                    return Err(TableError::Invalid(format!("command #{} has an empty phrase", index + 1)));
                };
                if !seen.insert(words.join(" ")) {
                    return Err(TableError::Invalid(format!("phrase {phrase:?} is listed twice")));
                }
                phrases.entry(first).or_default().push((words, index));
            }
        }
        for list in phrases.values_mut() {
            list.sort_by_key(|(words, _)| std::cmp::Reverse(words.len()));
        }
        Ok(Self {
            commands,
            phrases,
            bullet: raw.bullet,
            abbreviations: lower_set(&raw.abbreviations),
            function_words: lower_set(&raw.function_words),
        })
    }

    /// Read and validate a table from a TOML file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, TableError> {
        let path = path.as_ref();
        let text =
            std::fs::read_to_string(path).map_err(|source| TableError::Io { path: path.to_path_buf(), source })?;
        Self::from_toml_str(&text)
    }

    /// The override file if one is given, else the built-in table.
    pub fn load(override_path: Option<&Path>) -> Result<Self, TableError> {
        match override_path {
            Some(path) => Self::from_path(path),
            None => Ok(Self::builtin()),
        }
    }

    /// Number of commands (not phrases) in the table.
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    /// Whether the table has no commands at all.
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// The longest phrase matching the start of `keys` (lower-case words):
    /// the number of words it spans and its command.
    pub fn match_at(&self, keys: &[&str]) -> Option<(usize, &Command)> {
        let candidates = self.phrases.get(*keys.first()?)?;
        candidates.iter().find_map(|(words, index)| {
            let matches = words.len() <= keys.len() && words.iter().zip(keys).all(|(w, k)| w.as_str() == *k);
            matches.then(|| (words.len(), &self.commands[*index]))
        })
    }

    /// The text written for a bullet point.
    pub fn bullet(&self) -> &str {
        &self.bullet
    }

    /// Whether Whisper's full stop after this (lower-case) word is an
    /// abbreviation dot ("e.g", also glued: "twenty-e.g").
    pub fn is_abbreviation(&self, word: &str) -> bool {
        suffixes(word).any(|w| self.abbreviations.contains(w))
    }

    /// Whether this (lower-case) word may be put back in lower case after a comma.
    pub fn is_function_word(&self, word: &str) -> bool {
        self.function_words.contains(word)
    }
}

impl Default for CommandTable {
    fn default() -> Self {
        Self::builtin()
    }
}
