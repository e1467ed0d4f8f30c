//! Semantic checks of a routing table: known workflows, teams and clinicians; no two
//! rules with the same conditions; no ambiguous overlap; no dictation left unrouted.

use std::collections::BTreeSet;

use super::model::Priority;
use super::report::{Report, ValidationContext, index, join, unknown};
use super::routing::RoutingTable;

/// Runs every check, reporting into `r`.
pub fn check(table: &RoutingTable, ctx: &ValidationContext, r: &mut Report) {
    names(table, ctx, r);
    overlaps(table, r);
    coverage(table, r);
}

fn names(table: &RoutingTable, ctx: &ValidationContext, r: &mut Report) {
    let mut seen = BTreeSet::new();
    for (i, rule) in table.rules.iter().enumerate() {
        let path = index("rules", i);
        if !seen.insert(rule.name.as_str()) {
            r.at_value(&join(&path, "name"), format!("another rule is already named `{}`", rule.name));
        }
        if !ctx.workflow_ok(&rule.workflow) {
            let known = ctx.known_workflows.iter().map(String::as_str);
            r.at_value(&join(&path, "workflow"), unknown("workflow", &rule.workflow, known));
        }
        if let Some(pool) = &rule.pool
            && !ctx.team_ok(pool)
        {
            let known = ctx.known_teams.iter().map(String::as_str);
            r.at_value(&join(&path, "pool"), unknown("team", pool, known));
        }
        for user in rule.when.clinician.iter().flatten() {
            if !ctx.user_ok(user) {
                let known = ctx.known_users.iter().map(String::as_str);
                r.at_value(&join(&path, "when.clinician"), unknown("clinician", user, known));
            }
        }
    }
}

fn overlaps(table: &RoutingTable, r: &mut Report) {
    let rules = &table.rules;
    for (j, later) in rules.iter().enumerate() {
        let when_path = join(&index("rules", j), "when");
        for earlier in &rules[..j] {
            if earlier.when == later.when {
                let msg = format!("same conditions as rule `{}`, so which one applies is ambiguous", earlier.name);
                r.at_value(&when_path, msg);
                continue;
            }
            let Some(both) = earlier.when.intersection(&later.when) else {
                continue;
            };
            let nested = earlier.when.within(&later.when) || later.when.within(&earlier.when);
            if nested || rules.iter().any(|k| k.when == both) {
                continue;
            }
            let msg = format!(
                "overlaps rule `{}`: a dictation matching {both} matches both and neither is more \
                 specific; add a rule with `when: {both}` or narrow one of them",
                earlier.name
            );
            r.at_value(&when_path, msg);
        }
    }
}

/// Specialty, clinician and letter type are open-ended (there is always a value no rule
/// names), so only rules that ignore them can catch every dictation: together they must
/// cover every priority.
fn coverage(table: &RoutingTable, r: &mut Report) {
    let mut covered: BTreeSet<&str> = BTreeSet::new();
    for rule in table.rules.iter().filter(|rule| rule.when.only_priority()) {
        match &rule.when.priority {
            None => return,
            Some(set) => covered.extend(set.iter().map(String::as_str)),
        }
    }
    let missing: Vec<&str> = Priority::ALL.iter().map(|p| p.as_str()).filter(|p| !covered.contains(p)).collect();
    if !missing.is_empty() {
        let msg = format!(
            "no rule routes {} dictations whose specialty, clinician and letter type no rule \
             names; add a catch-all rule with `when: {{}}`",
            missing.join(", ")
        );
        r.at_key("rules", msg);
    }
}
