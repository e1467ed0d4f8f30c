//! Who may act on a letter: the people a stage's `who` covers, the `by` permissions of
//! an action, who may be given a letter, and whose queue a letter is in.

use std::collections::BTreeMap;

use super::model::{Action, Permit, Stage, StageKind, TeamRef, Who, WorkflowDef};

/// The user asking for an action (from their session).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    pub username: String,
    pub role: String,
    pub teams: Vec<String>,
}

/// Where a dictation stands, as stored by the server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DictationState {
    pub stage: String,
    /// Username of the dictating clinician.
    pub clinician: String,
    pub assignee: Option<String>,
    /// The team pool chosen by routing, if any.
    pub pool: Option<String>,
    /// Who last held each stage (stage name -> username), from history. Used to give a
    /// returned letter back to the secretary who corrected it; may be left empty.
    pub previous_assignees: BTreeMap<String, String>,
}

/// Whether `user` is covered by a stage's `who` (the stage's pool or person).
pub fn is_participant(stage: &Stage, state: &DictationState, user: &Actor) -> bool {
    match &stage.who {
        None => false,
        Some(Who::Clinician) => user.username == state.clinician,
        Some(Who::User(u)) => user.username == *u,
        Some(Who::Pool { role, team }) => {
            let role_ok = role.as_ref().is_none_or(|r| *r == user.role);
            let team_ok = match (team, &state.pool) {
                (None, _) | (Some(TeamRef::Routed), None) => true,
                (Some(TeamRef::Routed), Some(pool)) => user.teams.contains(pool),
                (Some(TeamRef::Named(t)), _) => user.teams.contains(t),
            };
            role_ok && team_ok
        }
    }
}

/// Whether the letter is in `actor`'s work: assigned to them, or unassigned and open to
/// them as a participant of the current stage.
pub fn is_in_queue_of(def: &WorkflowDef, state: &DictationState, actor: &Actor) -> bool {
    match (&state.assignee, def.stage(&state.stage)) {
        (Some(a), _) => *a == actor.username,
        (None, Some(stage)) => stage.kind == StageKind::Human && is_participant(stage, state, actor),
        (None, None) => false,
    }
}

pub(super) fn permitted(action: &Action, stage: &Stage, state: &DictationState, actor: &Actor) -> bool {
    action.by.iter().any(|p| match p {
        Permit::Assignee => state.assignee.as_deref() == Some(actor.username.as_str()),
        Permit::Participants => is_participant(stage, state, actor),
        Permit::DictatingClinician => actor.username == state.clinician,
        Permit::Role(role) => actor.role == *role,
    })
}

/// Whether `user` may be given a letter in `stage` by reassignment: a pool member, any
/// clinician for a clinician's stage (cover during leave), anyone for a named-user stage.
pub(super) fn may_hold(stage: &Stage, state: &DictationState, user: &Actor) -> bool {
    match &stage.who {
        Some(Who::Clinician) => user.username == state.clinician || user.role == "clinician",
        Some(Who::User(_)) => true,
        _ => is_participant(stage, state, user),
    }
}
