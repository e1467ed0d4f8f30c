//! Typed readers over the YAML tree: each checks one node's shape and reports what is
//! wrong at that node's position and path, then carries on, so a file yields every error.

use std::fmt::Display;
use std::str::FromStr;

use super::report::{Report, index, join, suggest};
use super::yaml::{Key, Node, Value};

/// A mapping node whose keys were checked against a list of allowed fields.
pub struct Fields<'n> {
    node: &'n Node,
    path: String,
}

/// Reads `node` as a mapping with only `allowed` keys, reporting every unknown key.
/// Returns `None` (after reporting) when the node is not a mapping.
pub fn fields<'n>(node: &'n Node, path: &str, allowed: &[&str], r: &mut Report) -> Option<Fields<'n>> {
    let Some(entries) = node.entries() else {
        r.at(node.pos, path, format!("expected a mapping, found {}", node.kind()));
        return None;
    };
    for (key, _) in entries {
        if !allowed.contains(&key.text.as_str()) {
            let hint = match suggest(&key.text, allowed.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("expected one of: {}", allowed.join(", ")),
            };
            let msg = format!("unknown field `{}`; {hint}", key.text);
            r.at(key.pos, &join(path, &key.text), msg);
        }
    }
    Some(Fields { node, path: path.to_string() })
}

/// Reads `node` as a mapping with free keys (names of stages, priorities, dates...).
pub fn entries<'n>(node: &'n Node, path: &str, r: &mut Report) -> &'n [(Key, Node)] {
    match node.entries() {
        Some(e) => e,
        None => {
            r.at(node.pos, path, format!("expected a mapping, found {}", node.kind()));
            &[]
        }
    }
}

/// Reads a text scalar.
pub fn text(node: &Node, path: &str, r: &mut Report) -> Option<String> {
    match node.as_text() {
        Some(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => {
            r.at(node.pos, path, format!("expected text, found {}", node.kind()));
            None
        }
    }
}

/// Reads one text scalar or a list of them; an empty list is allowed.
pub fn text_list(node: &Node, path: &str, r: &mut Report) -> Vec<String> {
    match &node.value {
        Value::Null => Vec::new(),
        Value::Text(_) => text(node, path, r).into_iter().collect(),
        Value::Seq(items) => items.iter().enumerate().filter_map(|(i, item)| text(item, &index(path, i), r)).collect(),
        Value::Map(_) => {
            r.at(node.pos, path, "expected text or a list of text, found a mapping");
            Vec::new()
        }
    }
}

/// Reads a text scalar and parses it, reporting the parser's message.
pub fn parsed<T>(node: &Node, path: &str, r: &mut Report) -> Option<T>
where
    T: FromStr,
    T::Err: Display,
{
    let value = text(node, path, r)?;
    match value.parse() {
        Ok(v) => Some(v),
        Err(e) => {
            r.at(node.pos, path, e.to_string());
            None
        }
    }
}

impl<'n> Fields<'n> {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.node.get(key).map(|(_, v)| v)
    }

    /// The path of `key` inside this mapping.
    pub fn path(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// Reports that a required `key` is missing, at the mapping.
    pub fn missing(&self, key: &str, r: &mut Report) {
        let msg = format!("missing field `{key}`");
        r.at(self.node.pos, &self.path(key), msg);
    }

    /// An optional text field.
    pub fn text(&self, key: &str, r: &mut Report) -> Option<String> {
        self.get(key).and_then(|n| text(n, &self.path(key), r))
    }

    /// A required text field.
    pub fn required_text(&self, key: &str, r: &mut Report) -> Option<String> {
        match self.get(key) {
            Some(n) => text(n, &self.path(key), r),
            None => {
                self.missing(key, r);
                None
            }
        }
    }

    /// An optional text-or-list field; absent means empty.
    pub fn list(&self, key: &str, r: &mut Report) -> Vec<String> {
        self.get(key).map(|n| text_list(n, &self.path(key), r)).unwrap_or_default()
    }

    /// An optional field parsed with `FromStr`.
    pub fn parsed<T>(&self, key: &str, r: &mut Report) -> Option<T>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.get(key).and_then(|n| parsed(n, &self.path(key), r))
    }
}
