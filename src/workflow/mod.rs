//! Workflow definitions (YAML files in `workflows/`), their validation with line, column
//! and path for every error, routing, calendar files, and the engine's pure core.
//! No HTTP or database types: the server stores the YAML text and a version, calls
//! [`parse_and_validate`] on `PUT`/`validate`, and the engine functions on each action.

mod access;
pub mod calendar_file;
pub mod defaults;
pub mod engine;
pub mod files;
pub mod model;
mod parse;
mod read;
pub mod report;
pub mod routing;
mod routing_check;
pub mod service;
mod validate;
pub mod yaml;

pub use calendar_file::{england_and_wales, parse_calendar};
pub use engine::{
    ActionRequest, Actor, DictationState, Step, Transition, TransitionError, apply_action, apply_event,
    available_actions, is_in_queue_of, is_participant, reopen_for_approval, start,
};
pub use model::{
    Action, Builtin, Escalation, Notify, Permit, Priority, Stage, StageKind, Status, SystemEvent, Target, TeamRef, Who,
    WorkflowDef,
};
pub use report::{Pos, ValidationContext, ValidationError};
pub use routing::{Assign, RouteQuery, RoutingRule, RoutingTable, parse_and_validate_routing};

/// Parses a workflow file and checks it against the names the server knows, returning
/// the definition or every error found (a YAML syntax error stops at that error).
pub fn parse_and_validate(yaml_text: &str, ctx: &ValidationContext) -> Result<WorkflowDef, Vec<ValidationError>> {
    let mut r = report::Report::default();
    let Some(root) = yaml::parse(yaml_text, &mut r) else {
        return Err(r.into_errors());
    };
    let Some(def) = parse::workflow(&root, &mut r) else {
        return Err(r.into_errors());
    };
    validate::workflow(&def, ctx, &mut r);
    r.finish(def)
}

#[cfg(test)]
mod tests;
