//! Login (throttled, audited, with a CSRF token for the browser), logout, the caller,
//! and personal API tokens.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::audit::{record, record_in};
use super::client::Client;
use super::extract::Json;
use crate::audit::action;
use crate::auth::policy::{self, Permission};
use crate::auth::throttle::Admission;
use crate::auth::{self, CurrentUser, cookies};
use crate::clock::{parse_rfc3339, rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::storage::{accounts, users};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/me", get(|CurrentUser(user): CurrentUser| async move { axum::Json(user) }))
        .route("/auth/tokens", get(list_tokens).post(create_token))
        .route("/auth/tokens/{id}", delete(revoke_token))
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

fn rate_limited(retry_after: u64) -> Response {
    let mut resp = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "Too many requests",
        format!("too many failed logins; try again in {retry_after} seconds"),
    )
    .into_response();
    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    resp
}

fn cookie_header(value: &str) -> ApiResult<HeaderValue> {
    HeaderValue::from_str(value).map_err(|e| ApiError::Internal(e.into()))
}

async fn login(State(state): State<AppState>, client: Client, Json(req): Json<LoginRequest>) -> ApiResult<Response> {
    let username = req.username.trim().chars().take(128).collect::<String>();
    let now = state.clock.now_ms();
    let account = Some(("account", username.as_str()));
    let addr = client.addr.as_deref();
    let reservation = match auth::throttle::admit(&state.db, &state.config.auth, &username, addr, now).await? {
        Admission::Throttled(wait) => return Ok(rate_limited(wait)),
        Admission::Admitted(reservation) => reservation,
    };
    let (user, hash) = match users::find_for_login(&state.db, &username).await? {
        Some((user, Some(hash))) => (Some(user), Some(hash)),
        _ => (None, None),
    };
    let ok = auth::hashing::verify(req.password, hash).await.map_err(ApiError::Internal)?;
    let Some(user) = user.filter(|_| ok) else {
        record(&state, None, &client, action::LOGIN_FAILED, account, json!({})).await?;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            "wrong username or password",
        ));
    };
    auth::throttle::succeeded(&state.db, &reservation).await?;
    let expires_at = now + state.config.auth.session_hours * 3_600_000;
    let (token, hash) = auth::new_token();
    users::insert_token(&state.db, &user.id, &hash, "session", now, Some(expires_at)).await?;
    record(&state, Some(&user), &client, action::LOGIN, account, json!({})).await?;
    tracing::info!(user = %user.username, "login");
    let max_age = state.config.auth.session_hours * 3600;
    let csrf = auth::csrf_token_for(&token);
    let body = json!({
        "token": token,
        "expires_at": rfc3339(expires_at),
        "csrf_token": csrf,
        "user": {"id": user.id, "username": user.username, "role": user.role, "teams": user.teams},
    });
    let mut resp = axum::Json(body).into_response();
    for cookie in cookies::start(state.config.secure_cookies(), &token, &csrf, max_age) {
        resp.headers_mut().append(header::SET_COOKIE, cookie_header(&cookie)?);
    }
    Ok(resp)
}

async fn logout(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let mut parts = axum::http::Request::new(()).into_parts().0;
    parts.headers = headers;
    if let Some(token) = auth::presented_token(&parts, state.config.secure_cookies()) {
        users::revoke_token(&state.db, &auth::token_hash(&token), state.clock.now_ms()).await?;
    }
    record(&state, Some(&user), &client, action::LOGOUT, Some(("account", &user.username)), json!({})).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    for cookie in cookies::end(state.config.secure_cookies()) {
        resp.headers_mut().append(header::SET_COOKIE, cookie_header(&cookie)?);
    }
    Ok(resp)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    expires_at: Option<String>,
}

const DAY_MS: i64 = 86_400_000;
/// Tokens without an explicit expiry last this long; none may last longer than the maximum.
const DEFAULT_TOKEN_DAYS: i64 = 90;
const MAX_TOKEN_DAYS: i64 = 366;

/// A token as listed to its owner or a super-user: never the secret.
pub fn token_json(t: &accounts::TokenInfo) -> Value {
    json!({"id": t.id, "name": t.name, "created_at": rfc3339(t.created_at), "expires_at": t.expires_at.map(rfc3339)})
}

async fn create_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Json(body): Json<NewToken>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    policy::require(&user, Permission::OwnAccount)?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid_field("name", "validation_failed", "a token name has 1-100 characters"));
    }
    let now = state.clock.now_ms();
    let expires_at = match body.expires_at.as_deref() {
        None => now + DEFAULT_TOKEN_DAYS * DAY_MS,
        Some(v) => parse_rfc3339(v).ok_or_else(|| {
            ApiError::invalid_field("expires_at", "validation_failed", "expires_at must be an RFC 3339 time")
        })?,
    };
    if expires_at <= now || expires_at > now + MAX_TOKEN_DAYS * DAY_MS {
        return Err(ApiError::invalid_field(
            "expires_at",
            "validation_failed",
            format!("expires_at must be in the future and at most {MAX_TOKEN_DAYS} days away"),
        ));
    }
    let (token, hash) = auth::new_token();
    let mut tx = state.db.begin_write().await?;
    let id = accounts::insert_named_token(&mut tx, &user.id, &hash, name, now, Some(expires_at)).await?;
    record_in(&mut tx, &state, &user, &client, action::TOKEN_CREATE, ("token", &id), json!({"name": name})).await?;
    tx.commit().await?;
    let info = accounts::TokenInfo {
        id,
        name: Some(name.to_string()),
        kind: "api".into(),
        created_at: now,
        expires_at: Some(expires_at),
    };
    let mut out = token_json(&info);
    // The secret is shown this once; only its hash is stored.
    out["token"] = json!(token);
    Ok((StatusCode::CREATED, axum::Json(out)))
}

async fn list_tokens(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> ApiResult<axum::Json<Value>> {
    policy::require(&user, Permission::OwnAccount)?;
    let items: Vec<Value> =
        accounts::live_api_tokens(&state.db, &user.id, state.clock.now_ms()).await?.iter().map(token_json).collect();
    Ok(axum::Json(json!({"items": items})))
}

async fn revoke_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    policy::require(&user, Permission::OwnAccount)?;
    let mut tx = state.db.begin_write().await?;
    let revoked = accounts::revoke_api_token(&mut tx, &user.id, &id, state.clock.now_ms()).await?;
    if !revoked {
        return Err(ApiError::not_found("token"));
    }
    record_in(&mut tx, &state, &user, &client, action::TOKEN_REVOKE, ("token", &id), json!({})).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
