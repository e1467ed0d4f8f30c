//! Reads a workflow file's YAML tree into a `WorkflowDef`: field names, shapes, value
//! syntax and per-field defaults. Cross-references are checked later by `validate.rs`.

use std::collections::BTreeMap;

use super::model::{
    Action, Builtin, Escalation, Notify, Permit, Priority, Stage, StageKind, Status, SystemEvent, Target, TeamRef, Who,
    WorkflowDef,
};
use super::read::{Fields, entries, fields, parsed, text};
use super::report::{Report, join};
use super::yaml::Node;
use crate::timers::{WarnAt, WorkDuration};

const TOP: &[&str] = &["name", "description", "calendar", "start", "stages", "common_actions", "targets", "escalation"];
const STAGE: &[&str] = &["kind", "status", "label", "who", "actions", "on", "auto_approve_for"];
const ACTION: &[&str] = &["to", "by", "comment", "label"];
const WHO: &[&str] = &["role", "team", "user"];
const TARGET: &[&str] = &["total", "warn", "stages"];
const ESCALATION: &[&str] = &["warn_at", "warning", "breach"];
const LEVEL: &[&str] = &["notify"];
const NOTIFY: &[&str] = &["roles", "teams", "users"];

/// The role that reassigns and cancels by default.
pub const TEAM_LEAD: &str = "team_lead";

/// Reads the whole file. Returns `None` only when the document is not a mapping; else
/// a definition whose wrong fields hold harmless defaults, the problems being in `r`.
pub fn workflow(root: &Node, r: &mut Report) -> Option<WorkflowDef> {
    let f = fields(root, "", TOP, r)?;
    let escalation = escalation(&f, r);
    let stages = match f.get("stages") {
        Some(node) => {
            let mut stages = Vec::new();
            for (k, v) in entries(node, "stages", r) {
                if name_ok(&k.text, &join("stages", &k.text), r) {
                    stages.push(stage(&k.text, v, r));
                }
            }
            stages
        }
        None => {
            f.missing("stages", r);
            Vec::new()
        }
    };
    let common_actions = f.get("common_actions").map(|n| actions(n, "common_actions", r)).unwrap_or_default();
    Some(WorkflowDef {
        name: f.required_text("name", r).unwrap_or_default(),
        description: f.text("description", r),
        calendar: f.required_text("calendar", r).unwrap_or_default(),
        start: f.required_text("start", r).unwrap_or_default(),
        stages,
        common_actions,
        targets: targets(&f, escalation.1, r),
        escalation: escalation.0,
    })
}

/// Stage and action names go into URLs and history: letters, digits, `_` and `-`.
fn name_ok(name: &str, path: &str, r: &mut Report) -> bool {
    let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        r.at_key(path, format!("`{name}` is not a valid name: use letters, digits, `_` and `-`"));
    }
    ok
}

fn stage(name: &str, node: &Node, r: &mut Report) -> Stage {
    let path = join("stages", name);
    let f = fields(node, &path, STAGE, r);
    let get = |key: &str| f.as_ref().and_then(|f| f.get(key));
    let kind = f.as_ref().and_then(|f| f.parsed::<StageKind>("kind", r)).unwrap_or(StageKind::Human);
    let status = match (&f, get("status")) {
        (Some(f), Some(_)) => f.parsed("status", r),
        (Some(f), None) => {
            f.missing("status", r);
            None
        }
        (None, _) => None,
    };
    let fallback = match kind {
        StageKind::Human => Status::InCorrection,
        StageKind::Automatic => Status::Transcribing,
        StageKind::Terminal => Status::Dispatched,
    };
    let mut on = BTreeMap::new();
    if let Some(events) = get("on") {
        for (k, v) in entries(events, &join(&path, "on"), r) {
            let p = join(&join(&path, "on"), &k.text);
            match k.text.parse::<SystemEvent>() {
                Ok(event) => {
                    if let Some(to) = text(v, &p, r) {
                        on.insert(event, to);
                    }
                }
                Err(e) => r.at(k.pos, &p, e),
            }
        }
    }
    Stage {
        name: name.to_string(),
        label: f.as_ref().and_then(|f| f.text("label", r)),
        kind,
        status: status.unwrap_or(fallback),
        who: get("who").and_then(|n| who(n, &join(&path, "who"), r)),
        actions: get("actions").map(|n| actions(n, &join(&path, "actions"), r)).unwrap_or_default(),
        on,
        auto_approve_for: f.as_ref().map(|f| f.list("auto_approve_for", r)).unwrap_or_default(),
    }
}

fn who(node: &Node, path: &str, r: &mut Report) -> Option<Who> {
    if node.as_text() == Some("clinician") {
        return Some(Who::Clinician);
    }
    if node.as_text().is_some() {
        let msg = "expected `clinician` or a mapping with `role`, `team` or `user`";
        r.at(node.pos, path, msg);
        return None;
    }
    let f = fields(node, path, WHO, r)?;
    let (role, team, user) = (f.text("role", r), f.text("team", r), f.text("user", r));
    match (role, team, user) {
        (None, None, None) => {
            r.at(node.pos, path, "name a `role`, a `team` or a `user`");
            None
        }
        (None, None, Some(user)) => Some(Who::User(user)),
        (_, _, Some(_)) => {
            let msg = "`user` cannot be combined with `role` or `team`";
            r.at_key(&f.path("user"), msg);
            None
        }
        (role, team, None) => Some(Who::Pool {
            role,
            team: team.map(|t| match t.as_str() {
                "routed" => TeamRef::Routed,
                _ => TeamRef::Named(t),
            }),
        }),
    }
}

fn actions(node: &Node, path: &str, r: &mut Report) -> Vec<Action> {
    let mut out = Vec::new();
    for (k, v) in entries(node, path, r) {
        let p = join(path, &k.text);
        if name_ok(&k.text, &p, r) {
            out.push(action(&k.text, v, &p, r));
        }
    }
    out
}

fn default_by(builtin: Option<Builtin>) -> Vec<Permit> {
    match builtin {
        Some(Builtin::Claim) => vec![Permit::Participants],
        Some(Builtin::Cancel) => vec![Permit::DictatingClinician, Permit::Role(TEAM_LEAD.into())],
        Some(Builtin::Reassign) => vec![Permit::Role(TEAM_LEAD.into())],
        _ => vec![Permit::Assignee],
    }
}

fn action(name: &str, node: &Node, path: &str, r: &mut Report) -> Action {
    let builtin = name.parse::<Builtin>().ok();
    let mut action = Action {
        name: name.to_string(),
        builtin,
        to: None,
        by: default_by(builtin),
        comment_required: builtin == Some(Builtin::Return),
        label: None,
    };
    let Some(f) = fields(node, path, ACTION, r) else {
        return action;
    };
    action.to = f.text("to", r);
    let stays = builtin.is_some_and(Builtin::changes_assignee);
    if action.to.is_none() && !stays && f.get("to").is_none() {
        f.missing("to", r);
    }
    if f.get("by").is_some() {
        action.by = f.list("by", r).into_iter().map(permit).collect();
        if action.by.is_empty() {
            r.at_value(&f.path("by"), "an empty `by` means nobody may take this action");
        }
    }
    action.label = f.text("label", r);
    match f.text("comment", r).as_deref() {
        None => {}
        Some("required") => action.comment_required = true,
        Some("optional") if builtin == Some(Builtin::Return) => {
            r.at_value(&f.path("comment"), "a return always needs a comment");
        }
        Some("optional") => action.comment_required = false,
        Some(other) => {
            let msg = format!("`comment` is `required` or `optional`, not `{other}`");
            r.at_value(&f.path("comment"), msg);
        }
    }
    action
}

fn permit(text: String) -> Permit {
    match text.as_str() {
        "assignee" => Permit::Assignee,
        "participants" => Permit::Participants,
        "dictating_clinician" => Permit::DictatingClinician,
        _ => Permit::Role(text),
    }
}

fn notify(f: Option<&Fields>, key: &str, default_roles: &[&str], r: &mut Report) -> Notify {
    let level = f.and_then(|f| f.get(key).map(|n| (n, f.path(key))));
    let Some((node, path)) = level else {
        return Notify { roles: default_roles.iter().map(|s| s.to_string()).collect(), ..Notify::default() };
    };
    let inner = fields(node, &path, LEVEL, r);
    let Some(target) = inner.as_ref().and_then(|f| f.get("notify")) else {
        if let Some(f) = inner {
            f.missing("notify", r);
        }
        return Notify::default();
    };
    let path = join(&path, "notify");
    let Some(f) = fields(target, &path, NOTIFY, r) else {
        return Notify::default();
    };
    let notify = Notify { roles: f.list("roles", r), teams: f.list("teams", r), users: f.list("users", r) };
    if notify == Notify::default() {
        r.at_value(&path, "nobody would be told: list `roles`, `teams` or `users`");
    }
    notify
}

fn escalation(top: &Fields, r: &mut Report) -> (Escalation, WarnAt) {
    let node = top.get("escalation");
    let f = node.and_then(|n| fields(n, "escalation", ESCALATION, r));
    let warn_at = f.as_ref().and_then(|f| f.parsed("warn_at", r));
    let escalation = Escalation {
        warning: notify(f.as_ref(), "warning", &[TEAM_LEAD], r),
        breach: notify(f.as_ref(), "breach", &[TEAM_LEAD, "superuser"], r),
    };
    (escalation, warn_at.unwrap_or_default())
}

fn targets(top: &Fields, warn: WarnAt, r: &mut Report) -> BTreeMap<Priority, Target> {
    let mut out = BTreeMap::new();
    let Some(node) = top.get("targets") else {
        top.missing("targets", r);
        return out;
    };
    let present: Vec<&str> = entries(node, "targets", r).iter().map(|(k, _)| k.text.as_str()).collect();
    for p in Priority::ALL.iter().filter(|p| !present.contains(&p.as_str())) {
        r.at_key("targets", format!("missing target for priority `{p}`"));
    }
    for (k, v) in entries(node, "targets", r) {
        let path = join("targets", &k.text);
        let priority = match k.text.parse::<Priority>() {
            Ok(p) => p,
            Err(e) => {
                r.at(k.pos, &path, e);
                continue;
            }
        };
        if let Some(target) = target(v, &path, warn, r) {
            out.insert(priority, target);
        }
    }
    out
}

fn target(node: &Node, path: &str, warn: WarnAt, r: &mut Report) -> Option<Target> {
    if node.as_text().is_some() {
        let total = parsed::<WorkDuration>(node, path, r)?;
        return Some(Target { total, warn, stages: BTreeMap::new() });
    }
    let f = fields(node, path, TARGET, r)?;
    let total = match f.get("total") {
        Some(_) => f.parsed::<WorkDuration>("total", r),
        None => {
            f.missing("total", r);
            None
        }
    };
    let warn = f.parsed("warn", r).unwrap_or(warn);
    let mut stages = BTreeMap::new();
    if let Some(n) = f.get("stages") {
        let stages_path = f.path("stages");
        for (k, v) in entries(n, &stages_path, r) {
            if let Some(d) = parsed(v, &join(&stages_path, &k.text), r) {
                stages.insert(k.text.clone(), d);
            }
        }
    }
    Some(Target { total: total?, warn, stages })
}
