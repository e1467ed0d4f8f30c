//! The engine's pure core, table-driven: who may take which action in which stage, where
//! it leads, who holds the letter afterwards; system events; auto-approval.

use std::collections::BTreeMap;

use super::{clinic_letter, ctx};
use crate::workflow::{
    ActionRequest, Actor, DictationState, Status, SystemEvent, Transition, TransitionError, WorkflowDef, apply_action,
    apply_event, available_actions, defaults, is_in_queue_of, parse_and_validate, reopen_for_approval, start,
};

fn actor(username: &str) -> Actor {
    let (role, teams): (&str, &[&str]) = match username {
        "sec.jones" | "sec.brown" => ("secretary", &["ent-secretaries"]),
        "sec.smith" => ("secretary", &["cancer-secretaries"]),
        "lead" => ("team_lead", &["ent-secretaries"]),
        "admin" => ("superuser", &[]),
        _ => ("clinician", &[]),
    };
    Actor { username: username.into(), role: role.into(), teams: teams.iter().map(|t| t.to_string()).collect() }
}

/// A dr.patel dictation routed to the ENT pool, corrected earlier by sec.jones.
fn state(stage: &str, assignee: Option<&str>) -> DictationState {
    DictationState {
        stage: stage.into(),
        clinician: "dr.patel".into(),
        assignee: assignee.map(String::from),
        pool: Some("ent-secretaries".into()),
        previous_assignees: BTreeMap::from([("correct".into(), "sec.jones".into())]),
    }
}

#[derive(Debug, PartialEq)]
enum Want {
    Moves(&'static str, Status, Option<&'static str>),
    Invalid,
    Forbidden,
    NeedsComment,
    NeedsAssignee,
    BadAssignee,
}
use Want::*;

fn outcome(result: Result<Transition, TransitionError>) -> Result<(String, Status, Option<String>), Want> {
    match result {
        Ok(t) => Ok((t.to_stage, t.new_status, t.assignee)),
        Err(TransitionError::InvalidTransition { .. }) => Err(Invalid),
        Err(TransitionError::Forbidden { .. }) => Err(Forbidden),
        Err(TransitionError::CommentRequired { .. }) => Err(NeedsComment),
        Err(TransitionError::AssigneeRequired { .. }) => Err(NeedsAssignee),
        Err(TransitionError::InvalidAssignee { .. }) => Err(BadAssignee),
    }
}

fn expected(want: Want) -> Result<(String, Status, Option<String>), Want> {
    match want {
        Moves(stage, status, who) => Ok((stage.into(), status, who.map(String::from))),
        other => Err(other),
    }
}

type Row =
    (&'static str, Option<&'static str>, &'static str, &'static str, Option<&'static str>, Option<&'static str>, Want);

#[test]
fn clinic_letter_actions() {
    use Status::*;
    // (stage, assignee, actor, action, comment, reassign to, outcome)
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        ("queue", None, "sec.jones", "claim", None, None, Moves("correct", InCorrection, Some("sec.jones"))),
        ("queue", None, "sec.smith", "claim", None, None, Forbidden),
        ("queue", None, "dr.patel", "claim", None, None, Forbidden),
        ("queue", None, "lead", "reassign", None, Some("sec.brown"), Moves("correct", InCorrection, Some("sec.brown"))),
        ("queue", None, "lead", "cancel", None, None, NeedsComment),
        ("queue", None, "lead", "cancel", Some("duplicate"), None, Moves("cancelled", Cancelled, None)),
        ("correct", Some("sec.jones"), "sec.jones", "claim", None, None, Invalid),
        ("correct", Some("sec.jones"), "sec.jones", "submit", None, None, Moves("review", AwaitingReview, Some("dr.patel"))),
        ("correct", Some("sec.jones"), "sec.brown", "submit", None, None, Forbidden),
        ("correct", Some("sec.jones"), "sec.jones", "approve", None, None, Invalid),
        ("correct", Some("sec.jones"), "sec.jones", "release", None, None, Moves("queue", Drafted, None)),
        ("correct", Some("sec.jones"), "lead", "release", None, None, Moves("queue", Drafted, None)),
        ("correct", Some("sec.jones"), "sec.brown", "release", None, None, Forbidden),
        ("correct", Some("sec.jones"), "lead", "reassign", None, Some("sec.brown"), Moves("correct", InCorrection, Some("sec.brown"))),
        ("correct", Some("sec.jones"), "lead", "reassign", None, Some("sec.smith"), BadAssignee),
        ("correct", Some("sec.jones"), "lead", "reassign", None, None, NeedsAssignee),
        ("correct", Some("sec.jones"), "sec.jones", "reassign", None, Some("sec.brown"), Forbidden),
        ("correct", Some("sec.jones"), "dr.patel", "cancel", Some("wrong patient"), None, Moves("cancelled", Cancelled, None)),
        ("correct", Some("sec.jones"), "dr.okafor", "cancel", Some("not mine"), None, Forbidden),
        ("review", Some("dr.patel"), "dr.patel", "approve", None, None, Moves("approved", Approved, None)),
        ("review", Some("dr.patel"), "sec.jones", "approve", None, None, Forbidden),
        ("review", Some("dr.patel"), "dr.patel", "return", None, None, NeedsComment),
        ("review", Some("dr.patel"), "dr.patel", "return", Some("   "), None, NeedsComment),
        ("review", Some("dr.patel"), "dr.patel", "return", Some("Dose is 5 mg"), None, Moves("correct", InCorrection, Some("sec.jones"))),
        ("review", Some("dr.patel"), "dr.patel", "reassign", None, Some("dr.okafor"), Moves("review", AwaitingReview, Some("dr.okafor"))),
        ("review", Some("dr.patel"), "dr.patel", "reassign", None, Some("sec.jones"), BadAssignee),
        ("review", Some("dr.okafor"), "dr.okafor", "approve", None, None, Moves("approved", Approved, None)),
        ("approved", None, "sec.brown", "dispatch", None, None, Moves("dispatched", Dispatched, None)),
        ("approved", None, "sec.smith", "dispatch", None, None, Forbidden),
        ("dispatched", None, "lead", "cancel", Some("late"), None, Invalid),
        ("received", None, "sec.jones", "submit", None, None, Invalid),
        ("received", None, "dr.patel", "cancel", Some("wrong patient"), None, Moves("cancelled", Cancelled, None)),
        ("received", None, "lead", "reassign", None, Some("sec.brown"), Invalid),
        ("correct", Some("sec.jones"), "sec.jones", "frobnicate", None, None, Invalid),
        ("failed", None, "lead", "retry", None, None, Moves("received", Received, None)),
        ("failed", None, "admin", "retry", None, None, Moves("received", Received, None)),
        ("failed", None, "sec.jones", "retry", None, None, Forbidden),
        ("failed", None, "lead", "type_from_audio", None, None, Moves("queue", Drafted, None)),
        ("nowhere", None, "lead", "cancel", Some("x"), None, Invalid),
    ];
    let def = clinic_letter();
    for (stage, assignee, who, action, comment, to, want) in rows {
        let request =
            ActionRequest { action: action.into(), comment: comment.map(String::from), assignee: to.map(actor) };
        let got = outcome(apply_action(&def, &state(stage, assignee), &actor(who), &request));
        assert_eq!(got, expected(want), "{who} {action} in {stage}");
    }
}

#[test]
fn system_events() {
    use Status::*;
    #[rustfmt::skip]
    let rows = [
        ("received", SystemEvent::RecognitionStarted, Moves("recognise", Transcribing, None)),
        ("received", SystemEvent::RecognitionDone, Moves("queue", Drafted, None)),
        ("recognise", SystemEvent::RecognitionDone, Moves("queue", Drafted, None)),
        ("recognise", SystemEvent::RecognitionFailed, Moves("failed", Failed, None)),
        ("recognise", SystemEvent::RecognitionStarted, Invalid),
        ("queue", SystemEvent::RecognitionDone, Invalid),
    ];
    let def = clinic_letter();
    for (stage, event, want) in rows {
        let got = outcome(apply_event(&def, &state(stage, None), event));
        assert_eq!(got, expected(want), "{event} in {stage}");
    }
    let done = apply_event(&def, &state("recognise", None), SystemEvent::RecognitionDone).unwrap();
    assert!(done.steps[0].automatic && done.stage_changed && !done.finished);
}

#[test]
fn a_new_dictation_starts_at_received() {
    let t = start(&clinic_letter(), &state("", None)).unwrap();
    assert_eq!((t.to_stage.as_str(), t.new_status, t.assignee), ("received", Status::Received, None));
}

fn with_auto_approval(clinicians: &str) -> WorkflowDef {
    let yaml = defaults::CLINIC_LETTER.replace("auto_approve_for: []", clinicians);
    parse_and_validate(&yaml, &ctx()).unwrap()
}

#[test]
fn auto_approval_skips_review_for_listed_clinicians_only() {
    let def = with_auto_approval("auto_approve_for: [dr.patel]");
    let submit = ActionRequest { action: "submit".into(), ..Default::default() };
    let t = apply_action(&def, &state("correct", Some("sec.jones")), &actor("sec.jones"), &submit).unwrap();
    assert_eq!((t.to_stage.as_str(), t.new_status, t.assignee.as_deref()), ("approved", Status::Approved, None));
    let steps: Vec<(&str, &str, &str, bool)> =
        t.steps.iter().map(|s| (s.action.as_str(), s.from.as_str(), s.to.as_str(), s.automatic)).collect();
    assert_eq!(steps, [("submit", "correct", "review", false), ("approve", "review", "approved", true)]);

    let other = with_auto_approval("auto_approve_for: [dr.okafor]");
    let t = apply_action(&other, &state("correct", Some("sec.jones")), &actor("sec.jones"), &submit).unwrap();
    assert_eq!(t.to_stage, "review");
    assert_eq!(t.steps.len(), 1);
}

#[test]
fn an_edited_approved_letter_goes_back_to_where_it_was_approved() {
    let def = clinic_letter();
    let t = reopen_for_approval(&def, &state("approved", None), Some("review")).unwrap();
    assert_eq!(
        (t.to_stage.as_str(), t.new_status, t.assignee.as_deref()),
        ("review", Status::AwaitingReview, Some("dr.patel"))
    );
    let steps: Vec<(&str, &str, &str, bool)> =
        t.steps.iter().map(|s| (s.action.as_str(), s.from.as_str(), s.to.as_str(), s.automatic)).collect();
    assert_eq!(steps, [("reopen", "approved", "review", false)]);
    // Not approved: nothing to reopen.
    for stage in ["queue", "correct", "review", "dispatched"] {
        assert_eq!(reopen_for_approval(&def, &state(stage, None), None), None, "{stage}");
    }
    // Two stages approve into `approved` in the self-typed workflow: the one it came from.
    let self_typed = parse_and_validate(defaults::SELF_TYPED, &ctx()).unwrap();
    for from in ["self_correct", "review"] {
        let t = reopen_for_approval(&self_typed, &state("approved", None), Some(from)).unwrap();
        assert_eq!(t.to_stage, from);
    }
    let t = reopen_for_approval(&self_typed, &state("approved", None), Some("queue")).unwrap();
    assert_eq!(t.to_stage, "self_correct", "a stage that does not approve here is not trusted");
    // A clinician whose letters are approved automatically: approved again, both steps kept.
    let auto = with_auto_approval("auto_approve_for: [dr.patel]");
    let t = reopen_for_approval(&auto, &state("approved", None), Some("review")).unwrap();
    let actions: Vec<&str> = t.steps.iter().map(|s| s.action.as_str()).collect();
    assert_eq!((t.to_stage.as_str(), actions), ("approved", vec!["reopen", "approve"]));
}

#[test]
fn self_typed_and_fast_track() {
    let ctx = ctx();
    let self_typed = parse_and_validate(defaults::SELF_TYPED, &ctx).unwrap();
    let t = apply_event(&self_typed, &state("recognise", None), SystemEvent::RecognitionDone).unwrap();
    assert_eq!((t.to_stage.as_str(), t.assignee.as_deref()), ("self_correct", Some("dr.patel")));
    let approve = ActionRequest { action: "approve".into(), ..Default::default() };
    let t = apply_action(&self_typed, &state("self_correct", Some("dr.patel")), &actor("dr.patel"), &approve).unwrap();
    assert_eq!(t.new_status, Status::Approved);
    let hand = ActionRequest { action: "hand_to_secretary".into(), ..Default::default() };
    let t = apply_action(&self_typed, &state("self_correct", Some("dr.patel")), &actor("dr.patel"), &hand).unwrap();
    assert_eq!((t.to_stage.as_str(), t.assignee), ("queue", None));

    let fast = parse_and_validate(defaults::FAST_TRACK, &ctx).unwrap();
    let mut fresh = state("recognise", None);
    fresh.previous_assignees.clear();
    let t = apply_event(&fast, &fresh, SystemEvent::RecognitionDone).unwrap();
    assert_eq!((t.to_stage.as_str(), t.new_status, t.assignee), ("correct", Status::InCorrection, None));
    let claim = ActionRequest { action: "claim".into(), ..Default::default() };
    let t = apply_action(&fast, &state("correct", None), &actor("sec.brown"), &claim).unwrap();
    assert_eq!((t.to_stage.as_str(), t.assignee.as_deref()), ("correct", Some("sec.brown")));
    let taken = apply_action(&fast, &state("correct", Some("sec.jones")), &actor("sec.brown"), &claim);
    assert!(matches!(taken, Err(TransitionError::InvalidTransition { reason, .. }) if reason.contains("sec.jones")));
}

#[test]
fn buttons_and_queues() {
    let def = clinic_letter();
    let names = |stage: &str, assignee: Option<&str>, who: &str| -> Vec<String> {
        let s = state(stage, assignee);
        available_actions(&def, &s, &actor(who)).iter().map(|a| a.name.clone()).collect()
    };
    assert_eq!(names("queue", None, "sec.jones"), ["claim"]);
    assert_eq!(names("correct", Some("sec.jones"), "sec.jones"), ["submit", "release"]);
    assert_eq!(names("correct", Some("sec.jones"), "lead"), ["release", "reassign", "cancel"]);
    assert_eq!(names("review", Some("dr.patel"), "dr.patel"), ["approve", "return", "reassign", "cancel"]);
    assert!(names("dispatched", None, "lead").is_empty());

    let queue = state("queue", None);
    assert!(is_in_queue_of(&def, &queue, &actor("sec.jones")));
    assert!(!is_in_queue_of(&def, &queue, &actor("sec.smith")));
    let held = state("correct", Some("sec.jones"));
    assert!(is_in_queue_of(&def, &held, &actor("sec.jones")));
    assert!(!is_in_queue_of(&def, &held, &actor("sec.brown")));
    let unrouted = DictationState { pool: None, ..queue };
    assert!(is_in_queue_of(&def, &unrouted, &actor("sec.smith")));
    assert!(!is_in_queue_of(&def, &state("recognise", None), &actor("sec.jones")));
}

#[test]
fn errors_map_to_api_codes() {
    let def = clinic_letter();
    let try_ = |stage: &str, who: &str, action: &str| {
        let request = ActionRequest { action: action.into(), ..Default::default() };
        apply_action(&def, &state(stage, Some("sec.jones")), &actor(who), &request).unwrap_err().code()
    };
    assert_eq!(try_("correct", "sec.jones", "approve"), "invalid_transition");
    assert_eq!(try_("correct", "sec.brown", "submit"), "forbidden");
    assert_eq!(try_("review", "sec.jones", "return"), "validation_failed");
}
