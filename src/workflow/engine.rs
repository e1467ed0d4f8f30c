//! The engine's pure core: given a definition, where a dictation stands and who asks,
//! decide a transition (new stage, status, assignee and the history steps to record) or
//! refuse it. The server loads and stores state; nothing here touches storage or HTTP.

use serde::Serialize;

pub use super::access::{Actor, DictationState, is_in_queue_of, is_participant};
use super::access::{may_hold, permitted};
use super::model::{Action, Builtin, Stage, StageKind, Status, SystemEvent, Who, WorkflowDef};

/// What the caller asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActionRequest {
    pub action: String,
    pub comment: Option<String>,
    /// For `reassign`: the user to give the letter to, as looked up by the server.
    pub assignee: Option<Actor>,
}

/// One history event to record (`{"action", "from", "to"}`; the server adds who and when).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub action: String,
    pub from: String,
    pub to: String,
    /// Taken by the system (an event, or auto-approval), not by the actor.
    pub automatic: bool,
}

/// The outcome of an accepted action or event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub from_stage: String,
    pub to_stage: String,
    pub new_status: Status,
    /// The assignee after the transition (`None`: open to the stage's pool).
    pub assignee: Option<String>,
    pub assignee_changed: bool,
    /// True when the letter entered a stage (another one), so stage timers restart.
    pub stage_changed: bool,
    /// True when the new stage is terminal.
    pub finished: bool,
    /// In order; more than one when auto-approval skipped a stage.
    pub steps: Vec<Step>,
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The action is not open in the current stage, or the state does not allow it now.
    #[error("cannot {action} in stage `{stage}`: {reason}")]
    InvalidTransition { stage: String, action: String, reason: String },
    /// The action is open but this user may not take it.
    #[error("{actor} may not {action} in stage `{stage}`")]
    Forbidden { stage: String, action: String, actor: String },
    #[error("{action} needs a comment")]
    CommentRequired { action: String },
    #[error("{action} needs the user to give the letter to")]
    AssigneeRequired { action: String },
    #[error("{user} cannot hold a letter in stage `{stage}`")]
    InvalidAssignee { user: String, stage: String },
}

impl TransitionError {
    /// The API problem `code` for this error.
    pub fn code(&self) -> &'static str {
        match self {
            TransitionError::InvalidTransition { .. } => "invalid_transition",
            TransitionError::Forbidden { .. } => "forbidden",
            _ => "validation_failed",
        }
    }
}

fn invalid(state: &DictationState, action: &str, reason: impl Into<String>) -> TransitionError {
    TransitionError::InvalidTransition { stage: state.stage.clone(), action: action.to_string(), reason: reason.into() }
}

fn current<'a>(def: &'a WorkflowDef, state: &DictationState, action: &str) -> Result<&'a Stage, TransitionError> {
    def.stage(&state.stage)
        .ok_or_else(|| invalid(state, action, "the dictation is at a stage this workflow does not have"))
}

/// The actions `actor` may take now (for buttons); comments are not checked.
pub fn available_actions<'a>(def: &'a WorkflowDef, state: &DictationState, actor: &Actor) -> Vec<&'a Action> {
    let Some(stage) = def.stage(&state.stage) else {
        return Vec::new();
    };
    def.actions_in(stage)
        .into_iter()
        .filter(|a| permitted(a, stage, state, actor) && precondition(a, stage, state, actor).is_ok())
        .collect()
}

/// State conditions beyond permission: claim needs a free letter, release a held one.
fn precondition(action: &Action, stage: &Stage, state: &DictationState, actor: &Actor) -> Result<(), String> {
    let Some(builtin) = action.builtin else {
        return Ok(());
    };
    if stage.kind != StageKind::Human && builtin.changes_assignee() {
        return Err("nobody holds a letter in this stage".into());
    }
    match (builtin, &state.assignee) {
        (Builtin::Claim, Some(a)) if *a == actor.username => Err("it is already yours".into()),
        (Builtin::Claim, Some(a)) => Err(format!("it is already claimed by {a}")),
        (Builtin::Release, None) => Err("nobody holds it".into()),
        _ => Ok(()),
    }
}

/// The assignee when a letter enters `stage`.
fn entry_assignee(stage: &Stage, state: &DictationState) -> Option<String> {
    match (&stage.kind, &stage.who) {
        (StageKind::Human, Some(Who::Clinician)) => Some(state.clinician.clone()),
        (StageKind::Human, Some(Who::User(u))) => Some(u.clone()),
        (StageKind::Human, _) => state.previous_assignees.get(&stage.name).cloned(),
        _ => None,
    }
}

/// Applies `request` from `actor` to a dictation.
pub fn apply_action(
    def: &WorkflowDef,
    state: &DictationState,
    actor: &Actor,
    request: &ActionRequest,
) -> Result<Transition, TransitionError> {
    let name = request.action.as_str();
    let stage = current(def, state, name)?;
    if stage.kind == StageKind::Terminal {
        return Err(invalid(state, name, "the letter is finished"));
    }
    let action = def.action(stage, name).ok_or_else(|| invalid(state, name, "the action is not open in this stage"))?;
    if !permitted(action, stage, state, actor) {
        return Err(TransitionError::Forbidden {
            stage: state.stage.clone(),
            action: name.to_string(),
            actor: actor.username.clone(),
        });
    }
    precondition(action, stage, state, actor).map_err(|reason| invalid(state, name, reason))?;
    if action.comment_required && request.comment.as_deref().is_none_or(|c| c.trim().is_empty()) {
        return Err(TransitionError::CommentRequired { action: name.to_string() });
    }
    let to = action.to.as_deref().unwrap_or(&stage.name);
    let target = current(def, &DictationState { stage: to.to_string(), ..state.clone() }, name)?;
    let assignee = match action.builtin {
        Some(Builtin::Claim) => Some(actor.username.clone()),
        Some(Builtin::Release) => None,
        Some(Builtin::Reassign) => {
            let user = request
                .assignee
                .as_ref()
                .ok_or_else(|| TransitionError::AssigneeRequired { action: name.to_string() })?;
            if !may_hold(target, state, user) {
                return Err(TransitionError::InvalidAssignee { user: user.username.clone(), stage: to.to_string() });
            }
            Some(user.username.clone())
        }
        _ if to == stage.name => state.assignee.clone(),
        _ => entry_assignee(target, state),
    };
    let step = Step { action: name.to_string(), from: stage.name.clone(), to: to.to_string(), automatic: false };
    Ok(settle(def, state, target, assignee, vec![step]))
}

/// Applies a system event (recognition started, done or failed) to a dictation.
pub fn apply_event(
    def: &WorkflowDef,
    state: &DictationState,
    event: SystemEvent,
) -> Result<Transition, TransitionError> {
    let stage = current(def, state, event.as_str())?;
    let to = stage
        .on
        .get(&event)
        .ok_or_else(|| invalid(state, event.as_str(), "this stage does not wait for that event"))?;
    let target = current(def, &DictationState { stage: to.clone(), ..state.clone() }, event.as_str())?;
    let step = Step { action: event.as_str().to_string(), from: stage.name.clone(), to: to.clone(), automatic: true };
    Ok(settle(def, state, target, entry_assignee(target, state), vec![step]))
}

/// Where a new dictation starts: the start stage, with auto-approval applied.
pub fn start(def: &WorkflowDef, state: &DictationState) -> Option<Transition> {
    let first = def.stage(&def.start)?;
    let step = Step { action: "receive".into(), from: String::new(), to: first.name.clone(), automatic: true };
    let fresh = DictationState { stage: String::new(), assignee: None, ..state.clone() };
    Some(settle(def, &fresh, first, entry_assignee(first, state), vec![step]))
}

/// The history action of a letter taken back for approval because its text changed.
pub const REOPEN: &str = "reopen";

/// An approved letter whose text was edited goes back to the stage where it is approved:
/// the stage it was approved from (`approved_from`, from its history) when that stage's
/// `approve` still leads here, else the first stage whose `approve` does. Auto-approval
/// applies as on any entry to that stage. `None` when the letter is not approved, or when
/// no stage of the workflow approves into its stage (the edit must then be refused).
pub fn reopen_for_approval(
    def: &WorkflowDef,
    state: &DictationState,
    approved_from: Option<&str>,
) -> Option<Transition> {
    let here = def.stage(&state.stage)?;
    if here.status != Status::Approved {
        return None;
    }
    let approves_here = |s: &&Stage| {
        s.name != here.name
            && def.action(s, Builtin::Approve.as_str()).and_then(|a| a.to.as_deref()) == Some(here.name.as_str())
    };
    let target = approved_from
        .and_then(|name| def.stage(name))
        .filter(approves_here)
        .or_else(|| def.stages.iter().find(approves_here))?;
    let step = Step { action: REOPEN.into(), from: here.name.clone(), to: target.name.clone(), automatic: false };
    Some(settle(def, state, target, entry_assignee(target, state), vec![step]))
}

/// Follows auto-approvals from `target` and builds the transition.
fn settle<'a>(
    def: &'a WorkflowDef,
    state: &DictationState,
    mut target: &'a Stage,
    mut assignee: Option<String>,
    mut steps: Vec<Step>,
) -> Transition {
    for _ in 0..def.stages.len() {
        let skip = target.auto_approve_for.contains(&state.clinician);
        let approve = def.action(target, Builtin::Approve.as_str());
        let Some(next) = approve.and_then(|a| a.to.as_deref()).and_then(|to| def.stage(to)) else {
            break;
        };
        if !skip || next.name == target.name {
            break;
        }
        steps.push(Step {
            action: Builtin::Approve.as_str().into(),
            from: target.name.clone(),
            to: next.name.clone(),
            automatic: true,
        });
        target = next;
        assignee = entry_assignee(target, state);
    }
    Transition {
        from_stage: state.stage.clone(),
        to_stage: target.name.clone(),
        new_status: target.status,
        assignee_changed: assignee != state.assignee,
        assignee,
        stage_changed: target.name != state.stage,
        finished: target.kind == StageKind::Terminal,
        steps,
    }
}
