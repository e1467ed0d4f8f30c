//! Workflow files: the shipped defaults are valid, and every kind of mistake is reported
//! with its line, column and path, all at once.

use super::{clinic_letter, ctx, errors};
use crate::timers::{WarnAt, WorkDuration};
use crate::workflow::{
    Builtin, Permit, Priority, StageKind, Status, TeamRef, ValidationContext, Who, defaults, parse_and_validate,
};

#[test]
fn shipped_workflows_are_valid_against_the_default_context() {
    for (name, yaml) in defaults::workflows() {
        let def =
            parse_and_validate(yaml, &ValidationContext::with_defaults()).unwrap_or_else(|e| panic!("{name}: {e:#?}"));
        assert_eq!(def.name, name);
        for p in Priority::ALL {
            assert!(def.target(*p).is_some(), "{name} has a {p} target");
        }
    }
}

#[test]
fn clinic_letter_reads_as_written() {
    let def = clinic_letter();
    assert_eq!(def.start, "received");
    let review = def.stage("review").unwrap();
    assert_eq!(review.status, Status::AwaitingReview);
    assert_eq!(review.who, Some(Who::Clinician));
    let ret = def.action(review, "return").unwrap();
    assert_eq!((ret.builtin, ret.to.as_deref()), (Some(Builtin::Return), Some("correct")));
    assert!(ret.comment_required);
    assert_eq!(ret.by, vec![Permit::Assignee]);
    let queue = def.stage("queue").unwrap();
    let pool = Who::Pool { role: Some("secretary".into()), team: Some(TeamRef::Routed) };
    assert_eq!(queue.who, Some(pool));
    assert_eq!(def.stage("dispatched").unwrap().kind, StageKind::Terminal);
    let cancel = def.action(queue, "cancel").expect("common action open in queue");
    assert_eq!(cancel.to.as_deref(), Some("cancelled"));
    assert!(def.action(def.stage("dispatched").unwrap(), "cancel").is_none());
    let routine = def.target(Priority::Routine).unwrap();
    assert_eq!(routine.total, WorkDuration::working_days(5));
    assert_eq!(routine.warn, WarnAt::Percent(80));
    assert_eq!(routine.stages["review"], WorkDuration::working_days(2));
    assert_eq!(def.target(Priority::TwoWeekWait).unwrap().total, WorkDuration::working_days(1));
    assert_eq!(def.escalation.warning.roles, vec!["team_lead"]);
    let whole = def.sla_target(Priority::Urgent, None);
    assert_eq!(whole, Some((WorkDuration::working_days(2), WarnAt::Percent(80))));
    let stage = def.sla_target(Priority::Routine, Some("queue"));
    assert_eq!(stage, Some((WorkDuration::working_days(2), WarnAt::Percent(80))));
    assert_eq!(def.sla_target(Priority::Urgent, Some("queue")), None);
}

#[test]
fn definition_serialises_to_json_for_the_api() {
    let json = serde_json::to_value(clinic_letter()).unwrap();
    assert_eq!(json["targets"]["routine"]["total"], "5 working days");
    assert_eq!(json["stages"][3]["status"], "in_correction");
}

/// A small valid workflow that the error cases below break one piece at a time.
const BASE: &str = "\
name: mini
calendar: england-and-wales
start: received
stages:
  received:
    kind: automatic
    status: received
    on: { recognition_done: correct }
  correct:
    status: in_correction
    who: { role: secretary }
    actions:
      submit: { to: review }
  review:
    status: awaiting_review
    who: clinician
    actions:
      approve: { to: done }
      return: { to: correct }
  done: { kind: terminal, status: dispatched }
targets:
  routine: 5 working days
  urgent: 2 working days
  two_week_wait: 1 working day
";

#[test]
fn base_is_valid() {
    parse_and_validate(BASE, &ctx()).unwrap();
}

/// (what, replace this, with this, expected path, line, column, message fragment)
type Case = (&'static str, &'static str, &'static str, &'static str, usize, usize, &'static str);

#[rustfmt::skip]
const CASES: &[Case] = &[
    ("syntax error", "status: in_correction", "status: in_correction: x", "", 10, 26, "YAML syntax error"),
    ("unknown top field", "start: received", "start: received\nowner: me", "owner", 4, 1, "unknown field `owner`"),
    ("typo in a field", "    who: { role: secretary }", "    whom: { role: secretary }", "stages.correct.whom", 11, 5, "did you mean `who`?"),
    ("unknown stage in to", "submit: { to: review }", "submit: { to: reveiw }", "stages.correct.actions.submit.to", 13, 21, "unknown stage `reveiw`; did you mean `review`?"),
    ("missing to", "approve: { to: done }", "approve: { label: Sign }", "stages.review.actions.approve.to", 18, 16, "missing field `to`"),
    ("unknown role", "role: secretary", "role: typist", "stages.correct.who.role", 11, 18, "unknown role `typist`"),
    ("unknown team", "role: secretary", "team: typing-pool", "stages.correct.who.team", 11, 18, "unknown team `typing-pool`"),
    ("unknown user", "who: clinician", "who: { user: dr.nobody }", "stages.review.who.user", 16, 18, "unknown user `dr.nobody`"),
    ("unknown status", "status: awaiting_review", "status: waiting", "stages.review.status", 15, 13, "unknown status `waiting`"),
    ("terminal with live status", "kind: terminal, status: dispatched", "kind: terminal, status: approved", "stages.done.status", 20, 35, "a terminal stage ends as"),
    ("zero duration", "urgent: 2 working days", "urgent: 0 working days", "targets.urgent", 23, 11, "greater than zero"),
    ("negative duration", "urgent: 2 working days", "urgent: -3 hours", "targets.urgent", 23, 11, "greater than zero"),
    ("unparseable duration", "routine: 5 working days", "routine: 5 weekdays", "targets.routine", 22, 12, "unknown unit `weekdays`"),
    ("warning after breach", "urgent: 2 working days", "urgent: { total: 2 working days, warn: 3 working days }", "targets.urgent.warn", 23, 42, "must come before the breach"),
    ("warning in another unit", "urgent: 2 working days", "urgent: { total: 2 working days, warn: 10 hours }", "targets.urgent.warn", 23, 42, "same unit"),
    ("missing priority", "  two_week_wait: 1 working day\n", "", "targets", 21, 1, "missing target for priority `two_week_wait`"),
    ("unknown priority", "two_week_wait:", "fast:", "targets.fast", 24, 3, "unknown priority `fast`"),
    ("stage target longer than letter", "urgent: 2 working days", "urgent: { total: 2 working days, stages: { review: 3 working days } }", "targets.urgent.stages.review", 23, 54, "longer than the whole letter"),
    ("unknown start", "start: received", "start: recieved", "start", 3, 8, "unknown stage `recieved`"),
    ("bad event", "on: { recognition_done: correct }", "on: { finished: correct }", "stages.received.on.finished", 8, 11, "unknown systemevent `finished`"),
    ("human stage without who", "    who: clinician\n", "", "stages.review", 14, 3, "needs `who`"),
    ("return with optional comment", "return: { to: correct }", "return: { to: correct, comment: optional }", "stages.review.actions.return.comment", 19, 39, "always needs a comment"),
    ("submit back to itself", "submit: { to: review }", "submit: { to: correct }", "stages.correct.actions.submit.to", 13, 21, "leads back to its own stage"),
    ("unknown calendar", "calendar: england-and-wales", "calendar: isle-of-man", "calendar", 2, 11, "unknown calendar `isle-of-man`"),
    ("unknown role in by", "approve: { to: done }", "approve: { to: done, by: [consultant] }", "stages.review.actions.approve.by[0]", 18, 33, "unknown role `consultant`"),
    ("duplicate key", "  done: { kind", "  review: {}\n  done: { kind", "stages.review", 20, 3, "duplicate key `review`"),
    ("claim in automatic stage", "on: { recognition_done: correct }", "on: { recognition_done: correct }\n    actions: { claim: {} }", "stages.received.actions.claim", 9, 16, "automatic stage"),
    ("auto-approval for unknown clinician", "    who: clinician\n", "    who: clinician\n    auto_approve_for: [dr.who]\n", "stages.review.auto_approve_for[0]", 17, 24, "unknown user `dr.who`"),
];

#[test]
fn each_mistake_is_reported_with_line_column_and_path() {
    for (what, from, to, path, line, column, fragment) in CASES {
        assert!(BASE.contains(from), "{what}: base lacks {from:?}");
        let yaml = BASE.replacen(from, to, 1);
        let errs = errors(&yaml);
        let hit = errs.iter().find(|e| e.path == *path && e.message.contains(fragment));
        let Some(e) = hit else {
            panic!("{what}: no error at {path} containing {fragment:?}; got {errs:#?}");
        };
        assert_eq!((e.line, e.column), (*line, *column), "{what}: {e}");
    }
}

#[test]
fn graph_mistakes_are_reported_at_the_stage() {
    let yaml = BASE.replacen("approve: { to: done }", "approve: { to: review2 }", 1).replacen(
        "  done: { kind",
        "  review2:\n    status: approved\n    who: clinician\n    actions: { approve: { to: review } }\n  \
             orphan:\n    status: drafted\n    who: clinician\n    actions: { submit: { to: done } }\n  \
             stuck:\n    status: drafted\n    who: clinician\n  done: { kind",
        1,
    );
    let errs = errors(&yaml);
    let find = |path: &str, fragment: &str| {
        errs.iter()
            .find(|e| e.path == path && e.message.contains(fragment))
            .unwrap_or_else(|| panic!("no {fragment:?} at {path}: {errs:#?}"))
    };
    assert_eq!(find("stages.orphan", "cannot be reached").line, 24);
    assert_eq!(find("stages.stuck", "has no way out").line, 28);
    assert_eq!(find("stages.stuck", "cannot be reached").column, 3);
    let circling = find("stages.review2", "no path leads to a terminal stage");
    assert_eq!((circling.line, circling.column), (20, 3));
    find("stages.review", "no path leads to a terminal stage");
    find("stages.done", "cannot be reached");
}

#[test]
fn every_error_is_reported_at_once_in_file_order() {
    let yaml = BASE
        .replacen("role: secretary", "role: typist", 1)
        .replacen("submit: { to: review }", "submit: { to: nowhere }", 1)
        .replacen("urgent: 2 working days", "urgent: 5 weekdays", 1);
    let errs = errors(&yaml);
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["stages.correct.who.role", "stages.correct.actions.submit.to", "targets.urgent"], "{errs:#?}");
}

#[test]
fn non_mapping_and_empty_documents_are_errors_not_panics() {
    for yaml in ["", "- a\n- b\n", "just text", "stages: 3", "name: x\n---\nname: y\n"] {
        let errs = errors(yaml);
        assert!(!errs.is_empty());
        assert!(errs.iter().all(|e| e.line >= 1 && e.column >= 1), "{yaml:?}: {errs:#?}");
    }
}

#[test]
fn errors_serialise_as_the_api_shape() {
    let errs = errors(&BASE.replacen("role: secretary", "role: typist", 1));
    let json = serde_json::to_value(&errs[0]).unwrap();
    let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["column", "line", "message", "path"]);
}
