//! The caller's work: their queue, their notifications, and absences with cover (team leads).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::actions::service_error;
use super::audit::record;
use super::client::Client;
use super::extract::{Json, Query};
use crate::audit::action;
use crate::auth::CurrentUser;
use crate::auth::policy::{self, Permission};
use crate::clock::{parse_rfc3339, rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::storage::notifications;
use crate::workflow::service::absences::{self, NewAbsence};
use crate::workflow::service::queue::{QueueItem, queue_of};
use crate::workflow::service::working_time::{Span, working_times};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/queue", get(queue))
        .route("/notifications", get(list_notifications))
        .route("/notifications/unread-count", get(unread_count))
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
) -> ApiResult<axum::Json<QueuePage>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "validation_failed", "limit must be between 1 and 500"));
    }
    let now = state.clock.now_ms();
    let rows = queue_of(&state.db, &user, now, limit).await?;
    let shown: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    record(&state, Some(&user), &client, action::QUEUE_VIEW, None, json!({"shown": shown})).await?;
    let spans: Vec<Span> = rows
        .iter()
        .map(|r| Span {
            workflow: r.workflow_name.as_deref(),
            version: r.workflow_version,
            from: now,
            to: r.due_at.unwrap_or(now),
        })
        .collect();
    let left = working_times(&state.db, &spans).await?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut returns = crate::storage::history::open_returns(&state.db, &ids).await?;
    let items = rows.iter().zip(left).map(|(r, left)| {
        let mut entry = QueueEntry::of(r, left.seconds(), left.day_seconds());
        entry.returned = returns.remove(&r.id);
        entry
    });
    Ok(axum::Json(QueuePage { items: items.collect() }))
}

/// `GET /queue`: work-list items, the dictation's own fields and its turnaround state
/// (open the dictation for its recognition, transcript and draft).
#[derive(Serialize)]
struct QueuePage {
    items: Vec<QueueEntry>,
}

#[derive(Serialize)]
struct QueueEntry {
    id: String,
    status: String,
    stage: Option<String>,
    workflow: Option<WorkflowRef>,
    priority: String,
    specialty: Option<String>,
    letter_type: Option<String>,
    clinician: String,
    assignee: Option<String>,
    patient: Patient,
    created_at: String,
    updated_at: String,
    due_at: Option<String>,
    sla: Option<Sla>,
    pool: Option<String>,
    version: i64,
    /// Set while the letter is back with the secretary after a return: who, when and why.
    returned: Option<crate::storage::history::Returned>,
}

#[derive(Serialize)]
struct WorkflowRef {
    name: String,
    version: Option<i64>,
}

#[derive(Serialize)]
struct Patient {
    nhs_number: Option<String>,
    name: Option<String>,
    dob: Option<String>,
    hospital_number: Option<String>,
}

#[derive(Serialize)]
struct Sla {
    state: String,
    warn_at: Option<String>,
    breach_at: String,
    working_seconds_left: i64,
    working_day_seconds: i64,
}

impl QueueEntry {
    fn of(r: &QueueItem, working_seconds_left: i64, working_day_seconds: i64) -> Self {
        Self {
            id: r.id.clone(),
            status: r.status.clone(),
            stage: r.stage.clone(),
            workflow: r.workflow_name.clone().map(|name| WorkflowRef { name, version: r.workflow_version }),
            priority: r.priority.clone(),
            specialty: r.specialty.clone(),
            letter_type: r.letter_type.clone(),
            clinician: r.clinician.clone(),
            assignee: r.assignee.clone(),
            patient: Patient {
                nhs_number: r.patient_nhs_number.clone(),
                name: r.patient_name.clone(),
                dob: r.patient_dob.clone(),
                hospital_number: r.hospital_number.clone(),
            },
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
            due_at: r.due_at.map(rfc3339),
            sla: r.due_at.map(|due| Sla {
                state: r.sla_state.clone().unwrap_or_else(|| "on_track".into()),
                warn_at: r.warn_at.map(rfc3339),
                breach_at: rfc3339(due),
                working_seconds_left,
                working_day_seconds,
            }),
            pool: r.pool.clone(),
            version: r.version,
            returned: None,
        }
    }
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
    let unread = notifications::unread_count(&state.db, &user.id).await?;
    Ok(axum::Json(json!({ "items": items, "unread": unread })))
}

/// `GET /notifications/unread-count`: for the badge beside the navigation.
async fn unread_count(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(json!({ "unread": notifications::unread_count(&state.db, &user.id).await? })))
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

/// An RFC 3339 time field, or 422 naming it.
pub(super) fn time_field(field: &str, value: &str) -> ApiResult<i64> {
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
    let who = client.who(Some(&current.0));
    let entry = |applied: &absences::Applied| {
        let details = json!({"user": absence.user, "from": body.from, "to": body.to, "cover": absence.cover,
            "moved": applied.moved.len()});
        Some(who.entry(action::ABSENCE_CREATE).target("absence", &applied.absence_id).details(details))
    };
    let applied =
        absences::create(&state.db, &state.clock, &current.0, &absence, entry).await.map_err(service_error)?;
    let moved: Vec<Value> = applied.moved.iter().map(|(id, to)| json!({"dictation": id, "assignee": to})).collect();
    Ok((StatusCode::CREATED, axum::Json(json!({"id": applied.absence_id, "moved": moved, "kept": applied.kept}))))
}
