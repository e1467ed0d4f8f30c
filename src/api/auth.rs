//! Login and logout.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::extract::Json;
use crate::auth::{self, CurrentUser, SESSION_COOKIE};
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::storage::users;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/me", axum::routing::get(|CurrentUser(user): CurrentUser| async move { axum::Json(user) }))
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

async fn login(State(state): State<AppState>, Json(req): Json<LoginRequest>) -> ApiResult<Response> {
    let found = users::find_for_login(&state.db, req.username.trim()).await?;
    let password = req.password;
    let (user, ok) = tokio::task::spawn_blocking(move || match found {
        Some((user, Some(hash))) => {
            let ok = auth::verify_password(&password, &hash);
            (Some(user), ok)
        }
        _ => {
            // Same work whether or not the user exists.
            auth::verify_password(&password, auth::dummy_hash());
            (None, false)
        }
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    let Some(user) = user.filter(|_| ok) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            "wrong username or password",
        ));
    };
    let now = state.clock.now_ms();
    let expires_at = now + state.config.auth.session_hours * 3_600_000;
    let (token, hash) = auth::new_token();
    users::insert_token(&state.db, &user.id, &hash, "session", now, Some(expires_at)).await?;
    tracing::info!(user = %user.username, "login");
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        state.config.auth.session_hours * 3600,
        if state.config.auth.secure_cookies { "; Secure" } else { "" }
    );
    let body = json!({
        "token": token,
        "expires_at": rfc3339(expires_at),
        "user": {"id": user.id, "username": user.username, "role": user.role, "teams": user.teams},
    });
    let mut resp = axum::Json(body).into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.into()))?);
    Ok(resp)
}

async fn logout(State(state): State<AppState>, _user: CurrentUser, headers: HeaderMap) -> ApiResult<Response> {
    let mut parts = axum::http::Request::new(()).into_parts().0;
    parts.headers = headers;
    if let Some(token) = auth::presented_token(&parts) {
        users::revoke_token(&state.db, &auth::token_hash(&token), state.clock.now_ms()).await?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("dictaflow_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(resp)
}
