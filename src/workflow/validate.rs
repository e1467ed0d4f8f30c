//! Semantic checks of a parsed workflow: known stages, roles, teams, users and calendar;
//! stage kinds against statuses; reachability, ways out and ways to an end; targets.

use std::collections::{BTreeSet, VecDeque};

use super::model::{Action, Builtin, Notify, Permit, Stage, StageKind, Status, TeamRef, Who, WorkflowDef};
use super::report::{Report, ValidationContext, index, join, unknown};

/// Runs every semantic check, reporting into `r`.
pub fn workflow(def: &WorkflowDef, ctx: &ValidationContext, r: &mut Report) {
    let names: BTreeSet<&str> = def.stages.iter().map(|s| s.name.as_str()).collect();
    let check = Checker { def, ctx, names };
    if !def.calendar.is_empty() && !ctx.calendar_ok(&def.calendar) {
        let known = ctx.known_calendars.iter().map(String::as_str);
        r.at_value("calendar", unknown("calendar", &def.calendar, known));
    }
    if !def.start.is_empty() {
        check.stage_ref(&def.start, "start", r);
    }
    for stage in &def.stages {
        check.stage(stage, r);
    }
    for action in &def.common_actions {
        check.action(action, None, &join("common_actions", &action.name), r);
    }
    if check.references_resolve() {
        check.graph(r);
    }
    check.targets(r);
    check.notify(&def.escalation.warning, "escalation.warning.notify", r);
    check.notify(&def.escalation.breach, "escalation.breach.notify", r);
}

struct Checker<'a> {
    def: &'a WorkflowDef,
    ctx: &'a ValidationContext,
    names: BTreeSet<&'a str>,
}

impl<'a> Checker<'a> {
    fn stage_ref(&self, name: &str, path: &str, r: &mut Report) -> bool {
        let known = self.names.contains(name);
        if !known {
            r.at_value(path, unknown("stage", name, self.names.iter().copied()));
        }
        known
    }

    fn role(&self, role: &str, path: &str, r: &mut Report) {
        if !self.ctx.known_roles.contains(role) {
            r.at_value(path, unknown("role", role, self.ctx.known_roles.iter().map(String::as_str)));
        }
    }

    fn team(&self, team: &str, path: &str, r: &mut Report) {
        if !self.ctx.team_ok(team) {
            r.at_value(path, unknown("team", team, self.ctx.known_teams.iter().map(String::as_str)));
        }
    }

    fn user(&self, user: &str, path: &str, r: &mut Report) {
        if !self.ctx.user_ok(user) {
            r.at_value(path, unknown("user", user, self.ctx.known_users.iter().map(String::as_str)));
        }
    }

    fn stage(&self, stage: &Stage, r: &mut Report) {
        let path = join("stages", &stage.name);
        let terminal_status = matches!(stage.status, Status::Dispatched | Status::Cancelled | Status::Failed);
        let status_path = join(&path, "status");
        match stage.kind {
            StageKind::Terminal if !terminal_status => r.at_value(
                &status_path,
                format!("a terminal stage ends as `dispatched`, `cancelled` or `failed`, not `{}`", stage.status),
            ),
            StageKind::Human | StageKind::Automatic
                if matches!(stage.status, Status::Dispatched | Status::Cancelled) =>
            {
                let msg = format!("status `{}` is final: make the stage `kind: terminal`", stage.status);
                r.at_value(&status_path, msg);
            }
            _ => {}
        }
        match (stage.kind, &stage.who) {
            (StageKind::Human, None) => {
                r.at_key(&path, "a human stage needs `who` (a role, a team, a user or `clinician`)")
            }
            (StageKind::Human, Some(who)) => self.who(who, &join(&path, "who"), r),
            (_, Some(_)) => r.at_key(&join(&path, "who"), "only human stages have `who`"),
            _ => {}
        }
        if stage.kind == StageKind::Terminal && !stage.actions.is_empty() {
            r.at_key(&join(&path, "actions"), "a terminal stage has no actions");
        }
        if stage.kind != StageKind::Automatic && !stage.on.is_empty() {
            r.at_key(&join(&path, "on"), "only automatic stages move on system events (`on`)");
        }
        for (event, to) in &stage.on {
            self.stage_ref(to, &join(&join(&path, "on"), event.as_str()), r);
        }
        for action in &stage.actions {
            self.action(action, Some(stage), &join(&join(&path, "actions"), &action.name), r);
        }
        self.auto_approve(stage, &path, r);
    }

    fn who(&self, who: &Who, path: &str, r: &mut Report) {
        match who {
            Who::Clinician => {}
            Who::User(u) => self.user(u, &join(path, "user"), r),
            Who::Pool { role, team } => {
                if let Some(role) = role {
                    self.role(role, &join(path, "role"), r);
                }
                if let Some(TeamRef::Named(team)) = team {
                    self.team(team, &join(path, "team"), r);
                }
            }
        }
    }

    fn action(&self, action: &Action, stage: Option<&Stage>, path: &str, r: &mut Report) {
        let to_path = join(path, "to");
        if let Some(to) = &action.to
            && self.stage_ref(to, &to_path, r)
            && let Some(stage) = stage
            && *to == stage.name
            && matches!(action.builtin, Some(b) if !b.changes_assignee())
        {
            let msg = format!("`{}` leads back to its own stage `{to}`: it must move the letter on", action.name);
            r.at_value(&to_path, msg);
        }
        if let Some(stage) = stage
            && stage.kind == StageKind::Automatic
            && action.builtin.is_some_and(Builtin::changes_assignee)
        {
            r.at_key(
                path,
                format!("nobody holds a letter in an automatic stage, so `{}` makes no sense here", action.name),
            );
        }
        for (i, permit) in action.by.iter().enumerate() {
            if let Permit::Role(role) = permit {
                self.role(role, &index(&join(path, "by"), i), r);
            }
        }
    }

    fn auto_approve(&self, stage: &Stage, path: &str, r: &mut Report) {
        if stage.auto_approve_for.is_empty() {
            return;
        }
        let list_path = join(path, "auto_approve_for");
        let approve = self.def.action(stage, Builtin::Approve.as_str());
        if approve.is_none_or(|a| a.to.is_none()) {
            r.at_key(&list_path, "auto-approval needs an `approve` action with `to` in this stage");
        }
        for (i, user) in stage.auto_approve_for.iter().enumerate() {
            self.user(user, &index(&list_path, i), r);
        }
    }

    fn notify(&self, notify: &Notify, path: &str, r: &mut Report) {
        for (i, role) in notify.roles.iter().enumerate() {
            self.role(role, &index(&join(path, "roles"), i), r);
        }
        for (i, team) in notify.teams.iter().enumerate() {
            self.team(team, &index(&join(path, "teams"), i), r);
        }
        for (i, user) in notify.users.iter().enumerate() {
            self.user(user, &index(&join(path, "users"), i), r);
        }
    }

    /// Whether the start and every `to` and `on` name a stage; the graph checks only run
    /// then, so one typo does not also make stages look unreachable or stuck.
    fn references_resolve(&self) -> bool {
        let known = |name: &str| self.names.contains(name);
        let stage_refs = self.def.stages.iter().flat_map(|s| {
            let on = s.on.values().map(String::as_str);
            on.chain(s.actions.iter().filter_map(|a| a.to.as_deref()))
        });
        let common = self.def.common_actions.iter().filter_map(|a| a.to.as_deref());
        known(&self.def.start) && stage_refs.chain(common).all(known)
    }

    /// The stages a letter can move to from `stage` (itself included for stay-put actions).
    fn edges(&self, stage: &'a Stage) -> Vec<&'a str> {
        let mut out: Vec<&str> = stage.on.values().map(String::as_str).collect();
        for action in self.def.actions_in(stage) {
            out.push(action.to.as_deref().unwrap_or(&stage.name));
        }
        out.retain(|s| self.names.contains(s));
        out
    }

    fn graph(&self, r: &mut Report) {
        let stages = &self.def.stages;
        let terminals: Vec<&Stage> = stages.iter().filter(|s| s.kind == StageKind::Terminal).collect();
        if terminals.is_empty() && !stages.is_empty() {
            r.at_key("stages", "no stage is `kind: terminal`, so no letter can ever finish");
        }
        if self.names.contains(self.def.start.as_str()) {
            let reached = self.closure(&[self.def.start.as_str()], false);
            for s in stages.iter().filter(|s| !reached.contains(s.name.as_str())) {
                let msg = format!("stage `{}` cannot be reached from the start stage `{}`", s.name, self.def.start);
                r.at_key(&join("stages", &s.name), msg);
            }
        }
        let ends: Vec<&str> = terminals.iter().map(|s| s.name.as_str()).collect();
        let finishing = self.closure(&ends, true);
        for s in stages.iter().filter(|s| s.kind != StageKind::Terminal) {
            let path = join("stages", &s.name);
            if self.edges(s).iter().all(|to| *to == s.name) {
                let msg = format!(
                    "stage `{}` has no way out: add an action or event leading to another stage, or make it `kind: terminal`",
                    s.name
                );
                r.at_key(&path, msg);
            } else if !terminals.is_empty() && !finishing.contains(s.name.as_str()) {
                r.at_key(&path, format!("from stage `{}` no path leads to a terminal stage", s.name));
            }
        }
    }

    /// Stages reachable from `seeds` (or, `backwards`, that can reach them).
    fn closure(&self, seeds: &[&'a str], backwards: bool) -> BTreeSet<&'a str> {
        let mut seen: BTreeSet<&str> = seeds.iter().copied().collect();
        let mut queue: VecDeque<&str> = seeds.iter().copied().collect();
        while let Some(current) = queue.pop_front() {
            for s in &self.def.stages {
                let next: Vec<&str> = if backwards {
                    if self.edges(s).contains(&current) { vec![s.name.as_str()] } else { vec![] }
                } else if s.name == current {
                    self.edges(s)
                } else {
                    vec![]
                };
                for n in next {
                    if seen.insert(n) {
                        queue.push_back(n);
                    }
                }
            }
        }
        seen
    }

    fn targets(&self, r: &mut Report) {
        for (priority, target) in &self.def.targets {
            let path = join("targets", priority.as_str());
            if let crate::timers::WarnAt::After(w) = target.warn {
                let warn_path = join(&path, "warn");
                if w.unit != target.total.unit {
                    r.at_value(
                        &warn_path,
                        format!("write the warning in the same unit as the target ({})", target.total),
                    );
                } else if w.amount >= target.total.amount {
                    r.at_value(&warn_path, format!("the warning ({w}) must come before the breach ({})", target.total));
                }
            }
            for (stage, d) in &target.stages {
                let p = join(&join(&path, "stages"), stage);
                match self.def.stage(stage) {
                    None => r.at_key(&p, unknown("stage", stage, self.names.iter().copied())),
                    Some(s) if s.kind == StageKind::Terminal => r.at_key(&p, "a terminal stage has no target"),
                    Some(_) if d.unit == target.total.unit && d.amount > target.total.amount => {
                        r.at_value(
                            &p,
                            format!("the stage target ({d}) is longer than the whole letter's ({})", target.total),
                        );
                    }
                    Some(_) => {}
                }
            }
        }
    }
}
