//! Validation errors with line, column and path, the context names are checked against,
//! and the collector that remembers where each path sits in the source.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

/// A 1-based line and column in the YAML text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    /// The start of the document.
    pub const START: Pos = Pos { line: 1, column: 1 };
}

/// One problem in a workflow, routing or calendar file; the API's
/// `errors: [{"message", "line", "column", "path"}]` item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ValidationError {
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Dotted path of the offending node, e.g. `stages.correct.actions.submit.to` or
    /// `rules[2].when`; empty for the whole document.
    pub path: String,
}

impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() { "(document)" } else { &self.path };
        write!(f, "{}:{}: {}: {}", self.line, self.column, path, self.message)
    }
}

/// The names a definition may refer to, as the server knows them when it validates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationContext {
    pub known_roles: BTreeSet<String>,
    pub known_teams: BTreeSet<String>,
    pub known_users: BTreeSet<String>,
    /// Workflow names routing rules may send dictations to.
    pub known_workflows: BTreeSet<String>,
    /// Calendar names a workflow may use.
    pub known_calendars: BTreeSet<String>,
    /// Accept any team, user, workflow and calendar name: for reading back a version that
    /// was valid when stored (a team removed since must not make it unreadable), and for
    /// checking files offline where the server's names are unknown.
    pub any_name: bool,
}

impl ValidationContext {
    /// The product's roles, the shipped workflows and calendar, and no teams or users:
    /// enough to validate the shipped default files.
    pub fn with_defaults() -> Self {
        let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect();
        ValidationContext {
            known_roles: set(&["clinician", "secretary", "team_lead", "superuser"]),
            known_workflows: set(&["clinic-letter", "fast-track", "self-typed"]),
            known_calendars: super::calendar_file::SHIPPED.iter().map(|(n, _)| n.to_string()).collect(),
            ..Default::default()
        }
    }

    /// The defaults with every team, user, workflow and calendar name accepted.
    pub fn lenient() -> Self {
        ValidationContext { any_name: true, ..Self::with_defaults() }
    }

    pub fn team_ok(&self, team: &str) -> bool {
        self.any_name || self.known_teams.contains(team)
    }
    pub fn user_ok(&self, user: &str) -> bool {
        self.any_name || self.known_users.contains(user)
    }
    pub fn workflow_ok(&self, name: &str) -> bool {
        self.any_name || self.known_workflows.contains(name)
    }
    pub fn calendar_ok(&self, name: &str) -> bool {
        self.any_name || self.known_calendars.contains(name)
    }
}

/// Collects errors and the positions of the paths read so far.
#[derive(Debug, Default)]
pub struct Report {
    errors: Vec<ValidationError>,
    keys: HashMap<String, Pos>,
    values: HashMap<String, Pos>,
}

impl Report {
    /// An error at an explicit position.
    pub fn at(&mut self, pos: Pos, path: &str, message: impl Into<String>) {
        self.errors.push(ValidationError {
            message: message.into(),
            line: pos.line,
            column: pos.column,
            path: path.to_string(),
        });
    }

    /// Remembers where the key and the value of `path` are.
    pub fn locate(&mut self, path: &str, key: Option<Pos>, value: Pos) {
        if let Some(k) = key {
            self.keys.insert(path.to_string(), k);
        }
        self.values.insert(path.to_string(), value);
    }

    /// An error about the entry at `path`, placed at its key (its name), or at the
    /// nearest located ancestor.
    pub fn at_key(&mut self, path: &str, message: impl Into<String>) {
        let pos = self.find(path, true);
        self.at(pos, path, message);
    }

    /// An error about the value at `path`, placed at the value.
    pub fn at_value(&mut self, path: &str, message: impl Into<String>) {
        let pos = self.find(path, false);
        self.at(pos, path, message);
    }

    fn find(&self, path: &str, key_first: bool) -> Pos {
        let mut p = path;
        loop {
            let key = self.keys.get(p);
            let value = self.values.get(p);
            let hit = if key_first { key.or(value) } else { value.or(key) };
            if let Some(pos) = hit {
                return *pos;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None if p.is_empty() => return Pos::START,
                None => p = "",
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The errors, sorted by position.
    pub fn into_errors(mut self) -> Vec<ValidationError> {
        self.errors.sort_by(|a, b| (a.line, a.column, &a.path).cmp(&(b.line, b.column, &b.path)));
        self.errors.dedup();
        self.errors
    }

    /// `Ok(value)` when no error was reported.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<ValidationError>> {
        if self.is_empty() { Ok(value) } else { Err(self.into_errors()) }
    }
}

/// `parent.key`, or `key` at the top.
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_string() } else { format!("{parent}.{key}") }
}

/// `parent[index]`.
pub fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// The closest of `candidates` to `word` when it is a likely typo.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4) && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// "unknown X `name`" with a suggestion when one is close.
pub fn unknown<'a>(what: &str, name: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    match suggest(name, known) {
        Some(s) => format!("unknown {what} `{name}`; did you mean `{s}`?"),
        None => format!("unknown {what} `{name}`"),
    }
}
