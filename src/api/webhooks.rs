//! Webhooks (super-user): configure receivers for escalations and transitions, and see
//! each delivery's attempts. The secret is write-only: never answered, never logged.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::audit::record_in;
use super::client::Client;
use super::extract::{Json, Query};
use crate::audit::action;
use crate::auth::CurrentUser;
use crate::auth::policy::{self, Permission};
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::storage::webhooks::{self as store, Delivery, NewWebhook, Webhook};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list).post(create))
        .route("/webhooks/{id}", get(get_one).delete(remove))
        .route("/webhooks/{id}/deliveries", get(deliveries))
}

/// Shortest secret accepted: receivers verify signatures with it.
const MIN_SECRET: usize = 16;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewBody {
    url: Option<String>,
    secret: Option<String>,
    events: Option<Vec<String>>,
    enabled: Option<bool>,
}

fn view(w: &Webhook) -> Value {
    json!({
        "id": w.id, "url": w.url, "events": w.events, "enabled": w.enabled,
        "secret_set": true, "created_at": rfc3339(w.created_at),
    })
}

fn delivery_view(d: &Delivery) -> Value {
    json!({
        "id": d.id, "event": d.event, "event_key": d.event_key, "status": d.status, "attempts": d.attempts,
        "next_attempt_at": (d.status == "pending").then(|| rfc3339(d.next_attempt_at)),
        "last_status": d.last_status, "last_error": d.last_error,
        "created_at": rfc3339(d.created_at), "delivered_at": d.delivered_at.map(rfc3339),
    })
}

fn superuser(user: &CurrentUser) -> ApiResult<()> {
    policy::require(&user.0, Permission::ManageDefinitions)
}

fn check_url(url: Option<&str>) -> ApiResult<String> {
    let url = url.map(str::trim).filter(|u| !u.is_empty());
    let url = url.ok_or_else(|| ApiError::invalid_field("url", "validation_failed", "url is required"))?;
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ApiError::invalid_field("url", "validation_failed", format!("url is not a valid URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ApiError::invalid_field(
            "url",
            "validation_failed",
            "url must be an http or https URL with a host",
        ));
    }
    Ok(parsed.to_string())
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    client: Client,
    Json(body): Json<NewBody>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    superuser(&user)?;
    let url = check_url(body.url.as_deref())?;
    let secret = body.secret.unwrap_or_default();
    if secret.chars().count() < MIN_SECRET {
        return Err(ApiError::invalid_field(
            "secret",
            "validation_failed",
            format!("secret must be at least {MIN_SECRET} characters"),
        ));
    }
    let events = crate::webhooks::parse_events(&body.events.unwrap_or_default())
        .map_err(|m| ApiError::invalid_field("events", "validation_failed", m))?;
    let new = NewWebhook {
        url: &url,
        secret: &secret,
        events: &events,
        enabled: body.enabled.unwrap_or(true),
        created_by: &user.0.id,
    };
    let mut tx = state.db.begin_write().await?;
    let id = store::insert(&mut tx, &new, state.clock.now_ms()).await?;
    let details = json!({"events": events, "enabled": new.enabled});
    record_in(&mut tx, &state, &user.0, &client, action::WEBHOOK_CREATE, ("webhook", &id), details).await?;
    tx.commit().await?;
    // The URL is not logged: some receivers carry a token in it.
    tracing::info!(webhook = %id, events = ?events, "webhook created");
    let hook = store::get(&state.db, &id).await?.ok_or_else(|| ApiError::not_found("webhook"))?;
    Ok((StatusCode::CREATED, axum::Json(view(&hook))))
}

async fn list(State(state): State<AppState>, user: CurrentUser) -> ApiResult<axum::Json<Value>> {
    superuser(&user)?;
    let items: Vec<Value> = store::list(&state.db).await?.iter().map(view).collect();
    Ok(axum::Json(json!({ "items": items })))
}

async fn get_one(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    superuser(&user)?;
    let hook = store::get(&state.db, &id).await?.ok_or_else(|| ApiError::not_found("webhook"))?;
    Ok(axum::Json(view(&hook)))
}

async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    superuser(&user)?;
    let mut tx = state.db.begin_write().await?;
    if store::delete(&mut tx, &id).await? {
        record_in(&mut tx, &state, &user.0, &client, action::WEBHOOK_DELETE, ("webhook", &id), json!({})).await?;
        tx.commit().await?;
        tracing::info!(webhook = %id, "webhook deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("webhook"))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveriesQuery {
    limit: Option<i64>,
}

async fn deliveries(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Query(q): Query<DeliveriesQuery>,
) -> ApiResult<axum::Json<Value>> {
    superuser(&user)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "validation_failed", "limit must be between 1 and 1000"));
    }
    store::get(&state.db, &id).await?.ok_or_else(|| ApiError::not_found("webhook"))?;
    let items: Vec<Value> = store::deliveries(&state.db, &id, limit).await?.iter().map(delivery_view).collect();
    Ok(axum::Json(json!({ "items": items })))
}
