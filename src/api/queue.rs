//! The caller's work: their queue, their notifications, and absences with cover (team leads).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::actions::service_error;
use super::audit::record;
use super::client::Client;
use super::dictation_view::{add_working_time_left, render};
use super::extract::{Json, Query};
use crate::audit::action;
use crate::auth::CurrentUser;
use crate::auth::policy::{self, Permission};
use crate::clock::parse_rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::storage::dictations;
use crate::storage::notifications;
use crate::workflow::service::absences::{self, NewAbsence};
use crate::workflow::service::queue::queue_of;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/queue", get(queue))
        .route("/notifications", get(list_notifications))
        .route("/notifications/read", post(read_all))
        .route("/notifications/{id}/read", post(read_one))
        .route("/absences", post(create_absence))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitQuery {
    limit: Option<usize>,
}

async fn queue(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Query(q): Query<LimitQuery>,
) -> ApiResult<axum::Json<Value>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "validation_failed", "limit must be between 1 and 500"));
    }
    let ids = queue_of(&state.db, &user, state.clock.now_ms(), limit).await?;
    record(&state, Some(&user), &client, action::QUEUE_VIEW, None, json!({"shown": ids})).await?;
    let mut items: Vec<Value> = dictations::get_many(&state.db, &ids).await?.iter().map(|v| render(v, None)).collect();
    add_working_time_left(&state, &mut items).await?;
    Ok(axum::Json(json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NotificationQuery {
    unread: Option<bool>,
    limit: Option<i64>,
}

async fn list_notifications(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<NotificationQuery>,
) -> ApiResult<axum::Json<Value>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "validation_failed", "limit must be between 1 and 500"));
    }
    let items = notifications::list(&state.db, &user.id, q.unread.unwrap_or(false), limit).await?;
    Ok(axum::Json(json!({ "items": items })))
}

async fn read_one(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if !notifications::exists(&state.db, &user.id, &id).await? {
        return Err(ApiError::not_found("notification"));
    }
    notifications::mark_read(&state.db, &user.id, Some(&id), state.clock.now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn read_all(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> ApiResult<axum::Json<Value>> {
    let n = notifications::mark_read(&state.db, &user.id, None, state.clock.now_ms()).await?;
    Ok(axum::Json(json!({ "marked": n })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AbsenceBody {
    user: String,
    from: String,
    to: String,
    cover: Option<String>,
}

fn time_field(field: &str, value: &str) -> ApiResult<i64> {
    parse_rfc3339(value)
        .ok_or_else(|| ApiError::invalid_field(field, "validation_failed", format!("{field} must be an RFC 3339 time")))
}

async fn create_absence(
    State(state): State<AppState>,
    current: CurrentUser,
    client: Client,
    Json(body): Json<AbsenceBody>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    policy::require(&current.0, Permission::ManageAbsences)?;
    let absence = NewAbsence {
        user: body.user,
        from: time_field("from", &body.from)?,
        to: time_field("to", &body.to)?,
        cover: body.cover.filter(|c| !c.trim().is_empty()),
    };
    let applied = absences::create(&state.db, &state.clock, &current.0, &absence).await.map_err(service_error)?;
    let details = json!({"user": absence.user, "from": body.from, "to": body.to, "cover": absence.cover,
        "moved": applied.moved.len()});
    record(&state, Some(&current.0), &client, action::ABSENCE_CREATE, Some(("absence", &applied.absence_id)), details)
        .await?;
    let moved: Vec<Value> = applied.moved.iter().map(|(id, to)| json!({"dictation": id, "assignee": to})).collect();
    Ok((StatusCode::CREATED, axum::Json(json!({"id": applied.absence_id, "moved": moved, "kept": applied.kept}))))
}
