//! The caller's notification settings (email address, an email per notification, the
//! daily digest, the weekly report), the weekly reports kept for download, and the email
//! outbox for super-users.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::audit::{record, record_in};
use super::client::Client;
use super::extract::{Json, Query};
use crate::audit::action;
use crate::auth::CurrentUser;
use crate::auth::policy::{self, Permission};
use crate::error::{ApiError, ApiResult};
use crate::notify::weekly::{WEEKLY_REPORT_ROLES, key_of, receives};
use crate::storage::notify_settings::{self, Settings};
use crate::storage::users::User;
use crate::storage::{email_outbox, weekly_reports};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me/notification-settings", get(get_settings).put(put_settings))
        .route("/reports/weekly", get(list_reports))
        .route("/reports/weekly/{id}", get(download))
        .route("/admin/email-outbox", get(outbox))
}

fn settings_json(state: &AppState, user: &User, s: &Settings) -> Value {
    json!({
        "email": s.email,
        "email_each": s.email_each,
        "daily_digest": s.daily_digest,
        "weekly_report": s.weekly_report,
        "weekly_report_default": WEEKLY_REPORT_ROLES.contains(&user.role),
        "weekly_report_allowed": policy::can(user, Permission::ViewReports),
        "receives_weekly_report": receives(user.role, s.weekly_report),
        "email_enabled": state.config.smtp.enabled(),
    })
}

async fn get_settings(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> ApiResult<axum::Json<Value>> {
    let s = notify_settings::get(&state.db, &user.id).await?;
    Ok(axum::Json(settings_json(&state, &user, &s)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    email: String,
    email_each: bool,
    daily_digest: bool,
    /// `null`: the role's default.
    weekly_report: Option<bool>,
}

/// Longest email address accepted (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;

fn check(user: &User, body: SettingsBody) -> ApiResult<Settings> {
    let email = body.email.trim().to_string();
    let bad = |detail: &str| ApiError::invalid_field("email", "validation_failed", detail.to_string());
    if email.len() > MAX_EMAIL {
        return Err(bad("email is too long"));
    }
    if !email.is_empty() && email.parse::<lettre::Address>().is_err() {
        return Err(bad("email must be an address like name@trust.nhs.uk"));
    }
    if email.is_empty() && (body.email_each || body.daily_digest || body.weekly_report == Some(true)) {
        return Err(bad("give an email address to receive emails"));
    }
    if body.weekly_report == Some(true) && !policy::can(user, Permission::ViewReports) {
        return Err(ApiError::invalid_field(
            "weekly_report",
            "validation_failed",
            "your role cannot view reports, so it cannot receive the weekly report",
        ));
    }
    Ok(Settings {
        email,
        email_each: body.email_each,
        daily_digest: body.daily_digest,
        weekly_report: body.weekly_report,
    })
}

async fn put_settings(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Json(body): Json<SettingsBody>,
) -> ApiResult<axum::Json<Value>> {
    let s = check(&user, body)?;
    let mut tx = state.db.begin_write().await?;
    notify_settings::put(&mut tx, &user.id, &s, state.clock.now_ms()).await?;
    let details = json!({"email_set": !s.email.is_empty(), "email_each": s.email_each,
        "daily_digest": s.daily_digest, "weekly_report": s.weekly_report});
    record_in(&mut tx, &state, &user, &client, action::NOTIFY_SETTINGS_PUT, ("user", &user.id), details).await?;
    tx.commit().await?;
    Ok(axum::Json(settings_json(&state, &user, &s)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<i64>,
}

fn limit_of(q: &ListQuery) -> ApiResult<i64> {
    let limit = q.limit.unwrap_or(52);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "validation_failed", "limit must be between 1 and 500"));
    }
    Ok(limit)
}

/// `GET /reports/weekly`: the weekly reports of the caller's scope, newest first.
async fn list_reports(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<Value>> {
    policy::require(&user, Permission::ViewReports)?;
    let items = weekly_reports::list(&state.db, &key_of(&user), limit_of(&q)?).await?;
    Ok(axum::Json(json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DownloadQuery {
    format: Option<String>,
}

/// `GET /reports/weekly/{id}?format=html|csv`: one report of the caller's scope, as a file.
async fn download(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Path(id): Path<String>,
    Query(q): Query<DownloadQuery>,
) -> ApiResult<Response> {
    policy::require(&user, Permission::ViewReports)?;
    let csv = match q.format.as_deref().unwrap_or("html") {
        "html" => false,
        "csv" => true,
        _ => return Err(ApiError::invalid_field("format", "validation_failed", "format must be html or csv")),
    };
    let found = weekly_reports::get(&state.db, &id).await?;
    let Some((scope, week, csv_text, html)) = found.filter(|(scope, ..)| *scope == key_of(&user)) else {
        return Err(ApiError::not_found("weekly report"));
    };
    let details = json!({"week_start": week, "scope": scope, "format": if csv { "csv" } else { "html" }});
    record(&state, Some(&user), &client, action::REPORT_WEEKLY_DOWNLOAD, Some(("weekly_report", &id)), details).await?;
    let (kind, ext, body) =
        if csv { ("text/csv; charset=utf-8", "csv", csv_text) } else { ("text/html; charset=utf-8", "html", html) };
    let disposition = format!("attachment; filename=\"turnaround-week-{week}.{ext}\"");
    Ok(([(header::CONTENT_TYPE, kind.to_string()), (header::CONTENT_DISPOSITION, disposition)], body).into_response())
}

/// `GET /admin/email-outbox`: the newest emails and their delivery state (super-users).
async fn outbox(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<Value>> {
    policy::require(&user, Permission::ManageUsers)?;
    let items = email_outbox::list(&state.db, limit_of(&q)?).await?;
    Ok(axum::Json(json!({ "items": items })))
}
