//! Workflow endpoints on one dictation: take an action, read the history, save the draft.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::audit::record;
use super::client::Client;
use super::dictation_view::render;
use super::dictations::scope_of;
use super::extract::Json;
use crate::audit::action as audit_action;
use crate::auth::CurrentUser;
use crate::auth::policy::{self, Permission};
use crate::error::{ApiError, ApiResult};
use crate::storage::dictations::{self, DictationView, Scope};
use crate::storage::history;
use crate::storage::users::User;
use crate::workflow::service::actions::{ActionInput, act};
use crate::workflow::service::{ServiceError, drafts};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dictations/{id}/actions/{action}", post(action))
        .route("/dictations/{id}/history", get(history_of))
        .route("/dictations/{id}/draft", put(save_draft))
}

/// The problem a refused workflow operation answers with.
pub fn service_error(e: ServiceError) -> ApiError {
    use crate::workflow::TransitionError as T;
    match e {
        ServiceError::NotFound => ApiError::not_found("dictation"),
        ServiceError::VersionConflict(m) => {
            ApiError::new(StatusCode::CONFLICT, "version_conflict", "Version conflict", m)
        }
        ServiceError::Transition(t @ T::InvalidTransition { .. }) => {
            ApiError::new(StatusCode::CONFLICT, "invalid_transition", "Invalid transition", t.to_string())
        }
        ServiceError::Transition(t @ T::Forbidden { .. }) => ApiError::forbidden(t.to_string()),
        ServiceError::Transition(t @ T::CommentRequired { .. }) => {
            ApiError::invalid_field("comment", "validation_failed", t.to_string())
        }
        ServiceError::Transition(t) => ApiError::invalid_field("assignee", "validation_failed", t.to_string()),
        ServiceError::Invalid(field, m) => ApiError::invalid_field(field, "validation_failed", m),
        ServiceError::Forbidden(m) => ApiError::forbidden(m),
        ServiceError::Internal(e) => ApiError::Internal(e),
    }
}

/// The dictation if the caller may see it, else 404.
pub async fn visible(state: &AppState, user: &User, id: &str) -> ApiResult<DictationView> {
    dictations::get(&state.db, id, &scope_of(user)).await?.ok_or_else(|| ApiError::not_found("dictation"))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    comment: Option<String>,
    assignee: Option<String>,
    /// The dictation `version` the caller saw (optional optimistic check).
    version: Option<i64>,
}

const MAX_COMMENT: usize = 4000;

async fn action(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Path((id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<axum::Json<Value>> {
    let body: ActionBody = if body.iter().all(u8::is_ascii_whitespace) {
        ActionBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::validation(format!("invalid action body: {e}")))?
    };
    if body.comment.as_ref().is_some_and(|c| c.chars().count() > MAX_COMMENT) {
        return Err(ApiError::invalid_field(
            "comment",
            "validation_failed",
            format!("at most {MAX_COMMENT} characters"),
        ));
    }
    visible(&state, &user, &id).await?;
    policy::require(&user, Permission::WorkOnDictations)?;
    if action == crate::workflow::Builtin::Approve.as_str() {
        super::letters::require_details(&state, &id).await?;
    }
    let input = ActionInput { action, comment: body.comment, assignee: body.assignee, expected_version: body.version };
    let who = client.who(Some(&user));
    let entry = |t: &crate::workflow::Transition| {
        let details = json!({
            "action": input.action, "from_stage": t.from_stage, "to_stage": t.to_stage,
            "status": t.new_status.as_str(), "assignee": t.assignee,
        });
        Some(who.entry(audit_action::TRANSITION).target("dictation", &id).details(details))
    };
    act(&state.db, &state.clock, &user, &id, &input, entry).await.map_err(service_error)?;
    // Approved or dispatched letters teach the lexicon; failures are logged, never answered.
    crate::lexicon::learn_store::learn_pending(&state.db, &state.clock, state.config.lexicon.learn_threshold).await;
    // The caller just acted on it, so show it even if it has left their scope.
    let view = dictations::get(&state.db, &id, &Scope::All).await?.ok_or_else(|| ApiError::not_found("dictation"))?;
    Ok(axum::Json(render(&view, None)))
}

async fn history_of(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    visible(&state, &user, &id).await?;
    record(&state, Some(&user), &client, audit_action::HISTORY_VIEW, Some(("dictation", &id)), json!({})).await?;
    let items = history::of_dictation(&state.db, &id).await?;
    Ok(axum::Json(json!(items)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DraftBody {
    text: String,
    base_version: i64,
}

async fn save_draft(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Path(id): Path<String>,
    Json(body): Json<DraftBody>,
) -> ApiResult<axum::Json<drafts::Draft>> {
    visible(&state, &user, &id).await?;
    policy::require(&user, Permission::WorkOnDictations)?;
    let who = client.who(Some(&user));
    let entry = |d: &drafts::Draft| {
        let details = json!({"version": d.version, "chars": d.text.chars().count()});
        Some(who.entry(audit_action::DRAFT_EDIT).target("dictation", &id).details(details))
    };
    let draft = drafts::save(&state.db, &state.clock, &user, &id, &body.text, body.base_version, entry)
        .await
        .map_err(service_error)?;
    Ok(axum::Json(draft))
}
