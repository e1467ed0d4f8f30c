//! Oversight for team leads, managers and super-users: the letters at risk or breached
//! now, load per person, the reassign picker and bulk reassignment, and absences listed,
//! edited and cancelled.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, patch, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::actions::{service_error, visible};
use super::audit::record;
use super::client::Client;
use super::extract::{Json, Query};
use super::queue::time_field;
use crate::audit::action;
use crate::auth::CurrentUser;
use crate::auth::policy::{self, Permission};
use crate::error::{ApiError, ApiResult};
use crate::workflow::service::absence_edits::{self, Change};
use crate::workflow::service::actions::{ActionInput, act};
use crate::workflow::service::oversight::{self, Filter, Risk};
use crate::workflow::service::picker;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oversight/at-risk", get(at_risk))
        .route("/oversight/load", get(load))
        .route("/dictations/{id}/candidates", get(candidates))
        .route("/reassign", post(bulk_reassign))
        .route("/absences", get(list_absences))
        .route("/absences/{id}", patch(update_absence).delete(cancel_absence))
}

/// A blank query value is no filter.
fn given(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RiskQuery {
    team: Option<String>,
    clinician: Option<String>,
    specialty: Option<String>,
    holder: Option<String>,
    state: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

async fn at_risk(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Query(q): Query<RiskQuery>,
) -> ApiResult<axum::Json<oversight::RiskPage>> {
    policy::require(&user, Permission::ViewReports)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "validation_failed", "limit must be between 1 and 500"));
    }
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::invalid_field("offset", "validation_failed", "offset must be 0 or more"));
    }
    let risk: Risk = q
        .state
        .as_deref()
        .map(str::parse::<Risk>)
        .transpose()
        .map_err(|e: String| ApiError::invalid_field("state", "validation_failed", e))?
        .unwrap_or_default();
    let filter = Filter {
        team: given(q.team),
        clinician: given(q.clinician),
        specialty: given(q.specialty),
        holder: given(q.holder),
        risk,
    };
    let page = oversight::at_risk(&state.db, &user, &filter, state.clock.now_ms(), limit, offset).await?;
    let shown: Vec<&str> = page.items.iter().map(|i| i.id.as_str()).collect();
    record(&state, Some(&user), &client, action::OVERSIGHT_VIEW, None, json!({"view": "at_risk", "shown": shown}))
        .await?;
    Ok(axum::Json(page))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadQuery {
    team: Option<String>,
}

async fn load(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<LoadQuery>,
) -> ApiResult<axum::Json<oversight::LoadView>> {
    policy::require(&user, Permission::ViewReports)?;
    let team = given(q.team);
    Ok(axum::Json(oversight::load(&state.db, &user, team.as_deref(), state.clock.now_ms()).await?))
}

async fn candidates(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    visible(&state, &user, &id).await?;
    policy::require(&user, Permission::SuperviseWork)?;
    let people = picker::candidates(&state.db, &user, &id, state.clock.now_ms()).await.map_err(service_error)?;
    Ok(axum::Json(json!({"dictation": id, "candidates": people})))
}

/// The most letters one bulk reassignment takes.
const MAX_BULK: usize = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkBody {
    dictations: Vec<String>,
    assignee: String,
    comment: Option<String>,
}

/// Reassigns each listed letter in its own transaction (each audited as a transition);
/// answers what happened to each, in order.
async fn bulk_reassign(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Json(body): Json<BulkBody>,
) -> ApiResult<axum::Json<Value>> {
    policy::require(&user, Permission::SuperviseWork)?;
    if body.dictations.is_empty() || body.dictations.len() > MAX_BULK {
        return Err(ApiError::invalid_field(
            "dictations",
            "validation_failed",
            format!("list 1 to {MAX_BULK} dictation ids"),
        ));
    }
    if body.assignee.trim().is_empty() {
        return Err(ApiError::invalid_field("assignee", "validation_failed", "name who takes the letters"));
    }
    let mut results = Vec::with_capacity(body.dictations.len());
    let mut moved = 0;
    for id in &body.dictations {
        let outcome = reassign_one(&state, &user, &client, id, &body.assignee, body.comment.clone()).await;
        match outcome {
            Ok(()) => {
                moved += 1;
                results.push(json!({"dictation": id, "ok": true}));
            }
            Err(ApiError::Problem { status, code, detail, .. }) => {
                let status = status.as_u16();
                results.push(json!({"dictation": id, "ok": false, "status": status, "code": code, "detail": detail}));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(axum::Json(json!({"moved": moved, "failed": body.dictations.len() - moved, "results": results})))
}

async fn reassign_one(
    state: &AppState,
    user: &crate::storage::users::User,
    client: &Client,
    id: &str,
    assignee: &str,
    comment: Option<String>,
) -> ApiResult<()> {
    visible(state, user, id).await?;
    let input = ActionInput {
        action: "reassign".into(),
        comment,
        assignee: Some(assignee.trim().to_string()),
        expected_version: None,
    };
    let who = client.who(Some(user));
    let entry = |t: &crate::workflow::Transition| {
        let details = json!({"action": "reassign", "bulk": true, "from_stage": t.from_stage, "to_stage": t.to_stage,
            "status": t.new_status.as_str(), "assignee": t.assignee});
        Some(who.entry(action::TRANSITION).target("dictation", id).details(details))
    };
    act(&state.db, &state.clock, user, id, &input, entry).await.map_err(service_error)?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AbsenceQuery {
    from: Option<String>,
    to: Option<String>,
}

/// Absences overlapping `[from, to)`; by default those not yet ended.
async fn list_absences(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<AbsenceQuery>,
) -> ApiResult<axum::Json<Value>> {
    policy::require(&user, Permission::ManageAbsences)?;
    let now = state.clock.now_ms();
    let from = q.from.as_deref().map(|v| time_field("from", v)).transpose()?.unwrap_or(now);
    let to = q.to.as_deref().map(|v| time_field("to", v)).transpose()?.unwrap_or(i64::MAX / 2);
    if from >= to {
        return Err(ApiError::invalid_field("from", "validation_failed", "from must be before to"));
    }
    let items = absence_edits::list(&state.db, &user, from, to, now).await?;
    Ok(axum::Json(json!({"items": items})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AbsencePatch {
    from: Option<String>,
    to: Option<String>,
    /// A username, or `null` / `""` for no cover (back to the pool).
    #[serde(default, deserialize_with = "present")]
    cover: Option<Option<String>>,
}

/// A field that is present (even as `null`) is `Some`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

async fn update_absence(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Path(id): Path<String>,
    Json(body): Json<AbsencePatch>,
) -> ApiResult<axum::Json<absence_edits::Edited>> {
    policy::require(&user, Permission::ManageAbsences)?;
    let change = Change {
        from: body.from.as_deref().map(|v| time_field("from", v)).transpose()?,
        to: body.to.as_deref().map(|v| time_field("to", v)).transpose()?,
        cover: body.cover.map(|c| c.map(|c| c.trim().to_string()).filter(|c| !c.is_empty())),
    };
    let who = client.who(Some(&user));
    let entry = |e: &absence_edits::Edited| {
        let moved = e.applied.as_ref().map_or(0, |a| a.moved.len());
        let details = json!({"from": e.from, "to": e.to, "cover": e.cover, "moved": moved});
        Some(who.entry(action::ABSENCE_UPDATE).target("absence", &id).details(details))
    };
    let edited =
        absence_edits::update(&state.db, &state.clock, &user, &id, &change, entry).await.map_err(absence_error)?;
    Ok(axum::Json(edited))
}

async fn cancel_absence(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<absence_edits::Cancelled>> {
    policy::require(&user, Permission::ManageAbsences)?;
    let who = client.who(Some(&user));
    let entry = |c: &absence_edits::Cancelled| {
        let details = json!({"outcome": c.outcome, "user": c.user});
        Some(who.entry(action::ABSENCE_CANCEL).target("absence", &id).details(details))
    };
    let done = absence_edits::cancel(&state.db, &state.clock, &user, &id, entry).await.map_err(absence_error)?;
    Ok(axum::Json(done))
}

/// As [`service_error`], but a missing absence is named as such.
fn absence_error(e: crate::workflow::service::ServiceError) -> ApiError {
    match e {
        crate::workflow::service::ServiceError::NotFound => ApiError::not_found("absence"),
        e => service_error(e),
    }
}
