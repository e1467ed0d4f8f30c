//! A YAML document as a small tree whose every node and key knows its line and column,
//! built from `saphyr-parser` events. Scalars stay text (no type guessing): the readers
//! in `read.rs` decide what a field means, so `no` stays `no` and `09:00` stays `09:00`.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span};

use super::report::{Pos, Report, index, join};

/// A mapping key: always text.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub text: String,
    pub pos: Pos,
}

/// What a node holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An empty value, `~` or `null`.
    Null,
    /// Any other scalar, as written (quotes removed).
    Text(String),
    Seq(Vec<Node>),
    /// Entries in file order; duplicate keys are reported and dropped.
    Map(Vec<(Key, Node)>),
}

/// A node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

impl Node {
    /// What the node is, for messages ("text", "a list", ...).
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "nothing",
            Value::Text(_) => "text",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match &self.value {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The entries of a mapping; `Null` counts as an empty mapping.
    pub fn entries(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            Value::Null => Some(&[]),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<(&Key, &Node)> {
        self.entries()?.iter().find(|(k, _)| k.text == key).map(|(k, v)| (k, v))
    }
}

fn pos_of(span: &Span) -> Pos {
    Pos { line: span.start.line(), column: span.start.col() + 1 }
}

fn syntax(report: &mut Report, err: &ScanError) {
    let pos = Pos { line: err.marker().line(), column: err.marker().col() + 1 };
    report.at(pos, "", format!("YAML syntax error: {}", err.info()));
}

/// Parses one YAML document. A syntax error stops the parse (it is reported, and
/// `None` returned); duplicate and non-text keys are reported and parsing goes on.
/// Every node's position is recorded in `report` under its path.
pub fn parse(text: &str, report: &mut Report) -> Option<Node> {
    let mut builder =
        Builder { events: Parser::new_from_str(text), anchors: HashMap::new(), nodes: 0, depth: 0, report };
    match builder.document() {
        Ok(node) => node,
        Err(e) => {
            syntax(builder.report, &e);
            None
        }
    }
}

/// The most nodes a document may hold, counting each alias as a copy of its anchor:
/// a definition is a few hundred; the cap stops "billion laughs" alias bombs.
pub const MAX_NODES: usize = 50_000;

/// The deepest nesting of lists and mappings a document may have: a definition needs
/// a handful of levels; the cap keeps the (recursive) tree building off the end of the
/// stack for inputs such as `- - - - ...` or `[[[[...`.
pub const MAX_DEPTH: usize = 64;

struct Builder<'a, 'r> {
    events: Parser<'a, saphyr_parser::StrInput<'a>>,
    /// Anchored nodes with the number of nodes each holds.
    anchors: HashMap<usize, (Node, usize)>,
    nodes: usize,
    /// Lists and mappings open around the node being built.
    depth: usize,
    report: &'r mut Report,
}

type Step<'a> = (Event<'a>, Span);

impl<'a> Builder<'a, '_> {
    fn next(&mut self) -> Result<Step<'a>, ScanError> {
        match self.events.next_event() {
            Some(result) => result,
            None => Err(ScanError::new_str(saphyr_parser::Marker::default(), "unexpected end of input")),
        }
    }

    fn document(&mut self) -> Result<Option<Node>, ScanError> {
        let mut root = None;
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => break,
                Event::DocumentStart(_) if root.is_some() => {
                    let msg = "only one YAML document is allowed; remove this `---`";
                    self.report.at(pos_of(&span), "", msg);
                    return Ok(root);
                }
                Event::DocumentStart(_) => {
                    let (event, span) = self.next()?;
                    let node = self.node(event, span, "")?;
                    self.report.locate("", None, node.pos);
                    root = Some(node);
                }
                other => {
                    let msg = format!("unexpected YAML event {other:?}");
                    return Err(ScanError::new(span.start, msg));
                }
            }
        }
        Ok(Some(root.unwrap_or(Node { value: Value::Null, pos: Pos::START })))
    }

    /// Builds the node that starts with `event`; `path` names it for its children.
    fn node(&mut self, event: Event<'a>, span: Span, path: &str) -> Result<Node, ScanError> {
        let pos = pos_of(&span);
        let before = self.nodes;
        self.count(1, &span)?;
        let (value, anchor) = match event {
            Event::Scalar(text, style, anchor, _) => {
                let null = style == ScalarStyle::Plain && matches!(&*text, "" | "~" | "null" | "Null" | "NULL");
                let value = if null { Value::Null } else { Value::Text(text.into_owned()) };
                (value, anchor)
            }
            Event::SequenceStart(anchor, _) => (self.nested(&span, |b| b.sequence(path))?, anchor),
            Event::MappingStart(anchor, _) => (self.nested(&span, |b| b.mapping(path))?, anchor),
            Event::Alias(id) => match self.anchors.get(&id).map(|(n, size)| (n.value.clone(), *size)) {
                Some((value, size)) => {
                    self.count(size, &span)?;
                    (value, 0)
                }
                None => return Err(ScanError::new(span.start, "unknown alias".into())),
            },
            other => {
                let msg = format!("unexpected YAML event {other:?}");
                return Err(ScanError::new(span.start, msg));
            }
        };
        let node = Node { value, pos };
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), self.nodes - before));
        }
        Ok(node)
    }

    /// Builds a list or mapping one level deeper, refusing past [`MAX_DEPTH`].
    fn nested(
        &mut self,
        span: &Span,
        build: impl FnOnce(&mut Self) -> Result<Value, ScanError>,
    ) -> Result<Value, ScanError> {
        if self.depth >= MAX_DEPTH {
            let msg = format!("the document is nested too deeply (more than {MAX_DEPTH} levels of lists and mappings)");
            return Err(ScanError::new(span.start, msg));
        }
        self.depth += 1;
        let value = build(self);
        self.depth -= 1;
        value
    }

    fn count(&mut self, n: usize, span: &Span) -> Result<(), ScanError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            let msg = format!("the document is too large (more than {MAX_NODES} values, aliases counted)");
            return Err(ScanError::new(span.start, msg));
        }
        Ok(())
    }

    fn sequence(&mut self, path: &str) -> Result<Value, ScanError> {
        let mut items = Vec::new();
        loop {
            let (event, span) = self.next()?;
            if event == Event::SequenceEnd {
                return Ok(Value::Seq(items));
            }
            let item_path = index(path, items.len());
            let item = self.node(event, span, &item_path)?;
            self.report.locate(&item_path, None, item.pos);
            items.push(item);
        }
    }

    fn mapping(&mut self, path: &str) -> Result<Value, ScanError> {
        let mut entries: Vec<(Key, Node)> = Vec::new();
        loop {
            let (event, span) = self.next()?;
            if event == Event::MappingEnd {
                return Ok(Value::Map(entries));
            }
            let key_node = self.node(event, span, path)?;
            let text = match key_node.value {
                Value::Text(t) => t,
                Value::Null => String::new(),
                _ => {
                    self.report.at(key_node.pos, path, "a key must be plain text");
                    String::new()
                }
            };
            let key = Key { text, pos: key_node.pos };
            let child = join(path, &key.text);
            let (event, span) = self.next()?;
            let value = self.node(event, span, &child)?;
            self.report.locate(&child, Some(key.pos), value.pos);
            if entries.iter().any(|(k, _)| k.text == key.text) {
                let msg = format!("duplicate key `{}`", key.text);
                self.report.at(key.pos, &child, msg);
            } else {
                entries.push((key, value));
            }
        }
    }
}
