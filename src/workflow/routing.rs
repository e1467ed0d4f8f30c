//! Routing: which workflow and team pool a new dictation gets, from the rules in
//! `workflows/routing.yaml` matched on specialty, clinician, letter type and priority.
//!
//! The most specific matching rule wins, whatever the order of the file: a rule is more
//! specific than another when every condition of the other also holds for it. Two rules
//! that can match the same dictation without one being more specific are an error
//! unless a rule for exactly their overlap exists; and every dictation must match some
//! rule (in practice: keep a catch-all `when: {}`). See `routing_check.rs`.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use super::model::Priority;
use super::read::{entries, fields, text_list};
use super::report::{Report, ValidationContext, ValidationError, index, join};
use super::routing_check;
use super::yaml::{self, Node};

/// The fields a rule can test, in the order they are shown.
pub const FIELDS: [&str; 4] = ["specialty", "clinician", "letter_type", "priority"];

/// The conditions of a rule: for each field, the values it accepts (`None`: any value).
/// Specialty and letter type are compared case-insensitively (stored lower-case).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Conditions {
    pub specialty: Option<BTreeSet<String>>,
    pub clinician: Option<BTreeSet<String>>,
    pub letter_type: Option<BTreeSet<String>>,
    /// Priority names; a list of all three is stored as `None`.
    pub priority: Option<BTreeSet<String>>,
}

/// One routing rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoutingRule {
    pub name: String,
    pub when: Conditions,
    pub workflow: String,
    /// The team whose members work the letter (`team: routed` in stages); `None`: any.
    pub pool: Option<String>,
    /// How letters entering a pool stage are given out.
    pub assign: Assign,
}

/// How a pool hands out letters: members pull them (claim), or the server assigns each
/// letter on entering a pool stage, in turn or to the member holding the fewest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Assign {
    #[default]
    Pull,
    RoundRobin,
    LeastLoaded,
}

impl Assign {
    pub fn as_str(self) -> &'static str {
        match self {
            Assign::Pull => "pull",
            Assign::RoundRobin => "round_robin",
            Assign::LeastLoaded => "least_loaded",
        }
    }
}

impl std::str::FromStr for Assign {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pull" => Ok(Assign::Pull),
            "round_robin" => Ok(Assign::RoundRobin),
            "least_loaded" => Ok(Assign::LeastLoaded),
            _ => Err(format!("unknown assignment `{s}`; expected one of: pull, round_robin, least_loaded")),
        }
    }
}

/// A validated routing table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RoutingTable {
    pub rules: Vec<RoutingRule>,
}

/// The facts of a dictation that routing looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteQuery<'a> {
    pub specialty: Option<&'a str>,
    pub clinician: &'a str,
    pub letter_type: Option<&'a str>,
    pub priority: Priority,
}

impl Conditions {
    pub fn field(&self, name: &str) -> &Option<BTreeSet<String>> {
        match name {
            "specialty" => &self.specialty,
            "clinician" => &self.clinician,
            "letter_type" => &self.letter_type,
            _ => &self.priority,
        }
    }

    fn field_mut(&mut self, name: &str) -> &mut Option<BTreeSet<String>> {
        match name {
            "specialty" => &mut self.specialty,
            "clinician" => &mut self.clinician,
            "letter_type" => &mut self.letter_type,
            _ => &mut self.priority,
        }
    }

    /// Whether a dictation satisfies every condition.
    pub fn matches(&self, q: &RouteQuery) -> bool {
        let values = [
            q.specialty.map(normalise),
            Some(q.clinician.to_string()),
            q.letter_type.map(normalise),
            Some(q.priority.as_str().to_string()),
        ];
        FIELDS.iter().zip(values).all(|(f, v)| match (self.field(f), v) {
            (None, _) => true,
            (Some(set), Some(v)) => set.contains(&v),
            (Some(_), None) => false,
        })
    }

    /// Whether every dictation matching `self` also matches `other`.
    pub fn within(&self, other: &Conditions) -> bool {
        FIELDS.iter().all(|f| match (self.field(f), other.field(f)) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(b)) => a.is_subset(b),
        })
    }

    /// The conditions matching exactly the dictations both match; `None` if disjoint.
    pub fn intersection(&self, other: &Conditions) -> Option<Conditions> {
        let mut out = Conditions::default();
        for f in FIELDS {
            let both = match (self.field(f), other.field(f)) {
                (None, x) | (x, None) => x.clone(),
                (Some(a), Some(b)) => Some(a.intersection(b).cloned().collect::<BTreeSet<_>>()),
            };
            if both.as_ref().is_some_and(BTreeSet::is_empty) {
                return None;
            }
            *out.field_mut(f) = both;
        }
        Some(out)
    }

    /// Whether no condition looks at the open-ended fields (specialty, clinician, letter type).
    pub fn only_priority(&self) -> bool {
        self.specialty.is_none() && self.clinician.is_none() && self.letter_type.is_none()
    }
}

impl fmt::Display for Conditions {
    /// As a YAML flow mapping, e.g. `{specialty: ent, priority: two_week_wait}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = FIELDS
            .iter()
            .filter_map(|name| {
                let set = self.field(name).as_ref()?;
                let values: Vec<&str> = set.iter().map(String::as_str).collect();
                Some(match values.as_slice() {
                    [one] => format!("{name}: {one}"),
                    many => format!("{name}: [{}]", many.join(", ")),
                })
            })
            .collect();
        write!(f, "{{{}}}", parts.join(", "))
    }
}

fn normalise(s: &str) -> String {
    s.trim().to_lowercase()
}

impl RoutingTable {
    /// The rule for a dictation: the most specific matching rule.
    pub fn route(&self, q: &RouteQuery) -> Option<&RoutingRule> {
        let matching: Vec<&RoutingRule> = self.rules.iter().filter(|r| r.when.matches(q)).collect();
        matching.iter().find(|a| matching.iter().all(|b| a.when.within(&b.when))).or_else(|| matching.first()).copied()
    }
}

/// Parses and validates a routing file against the names the server knows.
pub fn parse_and_validate_routing(
    yaml_text: &str,
    ctx: &ValidationContext,
) -> Result<RoutingTable, Vec<ValidationError>> {
    let mut r = Report::default();
    let Some(root) = yaml::parse(yaml_text, &mut r) else {
        return Err(r.into_errors());
    };
    let table = table(&root, &mut r);
    routing_check::check(&table, ctx, &mut r);
    r.finish(table)
}

fn table(root: &Node, r: &mut Report) -> RoutingTable {
    let Some(f) = fields(root, "", &["rules"], r) else {
        return RoutingTable::default();
    };
    let Some(rules) = f.get("rules") else {
        f.missing("rules", r);
        return RoutingTable::default();
    };
    let items: &[Node] = match &rules.value {
        yaml::Value::Seq(items) => items,
        _ => {
            r.at(rules.pos, "rules", format!("expected a list of rules, found {}", rules.kind()));
            &[]
        }
    };
    let rules = items.iter().enumerate().filter_map(|(i, node)| rule(node, &index("rules", i), r)).collect();
    RoutingTable { rules }
}

fn rule(node: &Node, path: &str, r: &mut Report) -> Option<RoutingRule> {
    let f = fields(node, path, &["name", "when", "workflow", "pool", "assign"], r)?;
    let when = match f.get("when") {
        Some(n) => conditions(n, &f.path("when"), r),
        None => {
            f.missing("when", r);
            Conditions::default()
        }
    };
    Some(RoutingRule {
        name: f.text("name", r).unwrap_or_else(|| path.to_string()),
        when,
        workflow: f.required_text("workflow", r)?,
        pool: f.text("pool", r),
        assign: f.parsed("assign", r).unwrap_or_default(),
    })
}

fn conditions(node: &Node, path: &str, r: &mut Report) -> Conditions {
    let mut out = Conditions::default();
    if fields(node, path, &FIELDS, r).is_none() {
        return out;
    }
    for (key, value) in entries(node, path, r) {
        let field = key.text.as_str();
        if !FIELDS.contains(&field) {
            continue;
        }
        let p = join(path, field);
        let values: BTreeSet<String> =
            text_list(value, &p, r).into_iter().map(|v| if field == "clinician" { v } else { normalise(&v) }).collect();
        if values.is_empty() {
            r.at_value(&p, "an empty list matches nothing; leave the field out to match any value");
            continue;
        }
        if field == "priority" {
            for v in values.iter().filter(|v| v.parse::<Priority>().is_err()) {
                r.at_value(&p, v.parse::<Priority>().err().unwrap_or_default());
            }
            if values.len() == Priority::ALL.len() && Priority::ALL.iter().all(|p| values.contains(p.as_str())) {
                continue;
            }
        }
        *out.field_mut(field) = Some(values);
    }
    out
}
