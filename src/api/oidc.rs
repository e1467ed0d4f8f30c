//! Single sign-on over HTTP: `GET /api/v1/auth/oidc/login` sends the browser to the
//! provider; `GET /api/v1/auth/oidc/callback` finishes the login (a session like a
//! password login: cookies, CSRF token, audit) and sends the browser to
//! `oidc.after_login`. 404 while `oidc.issuer` is not configured. The user is the one
//! bound to the provider's subject, or on a first sign-on the one the username claim
//! names (see `auth::oidc_subject`).

use axum::Router;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::audit::record;
use super::client::Client;
use crate::audit::action;
use crate::auth;
use crate::auth::oidc::{self, Pending};
use crate::auth::oidc_subject::{self, Identity, Refusal};
use crate::error::{ApiError, ApiResult};
use crate::storage::{accounts, users};

/// The cookie binding a login in progress to the browser that started it.
const STATE_COOKIE: &str = "dictaflow_oidc";
/// A login must come back from the provider within this time.
const LOGIN_MS: i64 = 10 * 60 * 1000;

pub fn router() -> Router<AppState> {
    Router::new().route("/auth/oidc/login", get(start)).route("/auth/oidc/callback", get(callback))
}

fn header_value(v: &str) -> ApiResult<HeaderValue> {
    HeaderValue::from_str(v).map_err(|e| ApiError::Internal(e.into()))
}

fn provider_error(e: oidc::OidcError) -> ApiError {
    tracing::warn!(error = %e, "single sign-on failed");
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "sso_unavailable",
        "Sign-on unavailable",
        "the identity provider could not be used",
    )
}

async fn start(State(state): State<AppState>) -> ApiResult<Response> {
    let cfg = &state.config.oidc;
    if !cfg.enabled() {
        return Err(ApiError::not_found("single sign-on"));
    }
    let metadata = state.oidc.metadata(cfg).await.map_err(provider_error)?;
    let pending = Pending::new();
    let url = oidc::authorize_url(&metadata, cfg, &pending).map_err(provider_error)?;
    accounts::save_oidc_login(&state.db, &pending.state, &pending.nonce, &pending.verifier, state.clock.now_ms())
        .await?;
    let secure = if state.config.secure_cookies() { "; Secure" } else { "" };
    // Lax: the provider's redirect back is a cross-site navigation.
    let cookie = format!(
        "{STATE_COOKIE}={}; Path=/api/v1/auth/oidc; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        pending.state,
        LOGIN_MS / 1000
    );
    let mut resp = StatusCode::SEE_OTHER.into_response();
    resp.headers_mut().insert(header::LOCATION, header_value(&url)?);
    resp.headers_mut().insert(header::SET_COOKIE, header_value(&cookie)?);
    Ok(resp)
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    /// The issuer of the answer (RFC 9207), when the provider names it.
    iss: Option<String>,
}

fn refused(detail: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized", format!("single sign-on failed: {detail}"))
}

fn refused_as(refusal: &Refusal) -> ApiError {
    match refusal {
        Refusal::BoundElsewhere(_) => ApiError::new(
            StatusCode::FORBIDDEN,
            "sso_identity_conflict",
            "Identity conflict",
            "this account is bound to another identity of the provider; ask a super-user",
        ),
        other => refused(&other.to_string()),
    }
}

fn state_cookie(parts: &Parts) -> Option<String> {
    crate::auth::cookie(parts, STATE_COOKIE).map(str::to_string)
}

async fn callback(State(state): State<AppState>, client: Client, parts: Parts) -> ApiResult<Response> {
    let cfg = &state.config.oidc;
    if !cfg.enabled() {
        return Err(ApiError::not_found("single sign-on"));
    }
    let q: CallbackQuery =
        Query::try_from_uri(&parts.uri).map(|Query(q)| q).map_err(|e| ApiError::bad_request(e.body_text()))?;
    let fail = |reason: String, error: Option<ApiError>| {
        let state = state.clone();
        let client = client.clone();
        async move {
            record(&state, None, &client, action::LOGIN_FAILED, None, json!({"via": "oidc", "reason": reason})).await?;
            Err::<Response, ApiError>(error.unwrap_or_else(|| refused(&reason)))
        }
    };
    if let Some(e) = q.error {
        return fail(format!("the provider answered {e:?}"), None).await;
    }
    let (Some(code), Some(st)) = (q.code, q.state) else {
        return Err(ApiError::bad_request("code and state are required"));
    };
    let bound = state_cookie(&parts).is_some_and(|c| c == st);
    let now = state.clock.now_ms();
    let taken = accounts::take_oidc_login(&state.db, &st, now - LOGIN_MS).await?;
    let Some((nonce, verifier)) = taken.filter(|_| bound) else {
        return fail("unknown, expired or foreign login state".into(), None).await;
    };
    if let Some(iss) = q.iss.filter(|iss| *iss != cfg.issuer) {
        return fail(format!("the answer comes from another issuer {iss:?}"), None).await;
    }
    let pending = Pending { state: st, nonce, verifier };
    let claims = match oidc::complete(&state.oidc, cfg, &code, &pending, now).await {
        Ok(c) => c,
        Err(e @ (oidc::OidcError::Token(_) | oidc::OidcError::Grant(_))) => return fail(e.to_string(), None).await,
        Err(e) => return Err(provider_error(e)),
    };
    let issuer = claims.issuer().as_str().to_string();
    let subject = claims.subject().as_str().to_string();
    let username = oidc::claim_text(&claims, &cfg.username_claim);
    let identity = Identity { issuer: &issuer, subject: &subject, username: username.as_deref() };
    let who = client.who(None);
    let signed_in = match oidc_subject::resolve(&state.db, &who, &identity, now).await? {
        Ok(s) => s,
        Err(refusal) => {
            let error = refused_as(&refusal);
            let reason = format!("{refusal} (subject {subject:?}, username claim {username:?})");
            return fail(reason, Some(error)).await;
        }
    };
    let user = signed_in.user;
    let expires_at = now + state.config.auth.session_hours * 3_600_000;
    let (token, hash) = auth::new_token();
    users::insert_token(&state.db, &user.id, &hash, "session", now, Some(expires_at)).await?;
    let details = json!({"via": "oidc", "issuer": issuer, "subject": subject, "first_sign_in": signed_in.first});
    record(&state, Some(&user), &client, action::LOGIN, Some(("account", &user.username)), details).await?;
    let secure = if state.config.secure_cookies() { "; Secure" } else { "" };
    let max_age = state.config.auth.session_hours * 3600;
    let csrf = auth::csrf_token_for(&token);
    let mut resp = StatusCode::SEE_OTHER.into_response();
    let h = resp.headers_mut();
    h.insert(header::LOCATION, header_value(&cfg.after_login)?);
    let [session, csrf] = auth::cookies::start(state.config.secure_cookies(), &token, &csrf, max_age);
    let ended = format!("{STATE_COOKIE}=; Path=/api/v1/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=0{secure}");
    for cookie in [session, csrf, ended] {
        h.append(header::SET_COOKIE, header_value(&cookie)?);
    }
    Ok(resp)
}
