//! Tests of workflow parsing, validation, routing, calendar data and the engine.
mod calendar_data_tests;
mod engine_tests;
mod parse_tests;
mod routing_tests;
mod yaml_tests;

use super::{ValidationContext, ValidationError, WorkflowDef, defaults, parse_and_validate};

/// The default context plus the teams and users the tests name.
pub fn ctx() -> ValidationContext {
    let mut ctx = ValidationContext::with_defaults();
    for team in ["ent-secretaries", "cancer-secretaries"] {
        ctx.known_teams.insert(team.into());
    }
    for user in ["dr.patel", "dr.okafor", "sec.jones", "sec.smith"] {
        ctx.known_users.insert(user.into());
    }
    ctx
}

pub fn clinic_letter() -> WorkflowDef {
    parse_and_validate(defaults::CLINIC_LETTER, &ctx()).expect("clinic-letter is valid")
}

/// Errors for a YAML text that must be invalid.
pub fn errors(yaml: &str) -> Vec<ValidationError> {
    match parse_and_validate(yaml, &ctx()) {
        Ok(_) => panic!("expected errors for:\n{yaml}"),
        Err(e) => e,
    }
}
