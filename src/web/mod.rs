//! The browser face: the single-page application shell served at `/app/...`, its assets
//! (embedded in the binary at compile time) at `/assets/...`, and the role-aware landing at `/`.
//!
//! The application itself is plain ES modules and CSS under `web/`; it talks to the JSON API
//! with the session cookie and sends `X-CSRF-Token` (the readable `dictaflow_csrf` cookie, `__Host-` prefixed over HTTPS) on
//! every unsafe request.

mod assets;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::api::AppState;
use crate::auth::CurrentUser;
use crate::domain::Role;
use crate::error::ApiError;

/// The policy the application is built to run under: no inline script or style, no other origin;
/// media and downloads may use `blob:` URLs (in-browser recordings, exported files).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; media-src 'self' blob:; img-src 'self' data: blob:; \
     object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/app", get(shell))
        .route("/app/", get(shell))
        .route("/app/{*path}", get(shell))
        .route("/assets/{*path}", get(assets::serve))
}

/// Where each role starts.
pub fn home_of(role: Role) -> &'static str {
    match role {
        Role::Clinician => "/app/dictations",
        Role::Secretary => "/app/queue",
        Role::TeamLead | Role::Manager => "/app/board",
        Role::Superuser => "/app/workflows",
    }
}

async fn home(user: Result<CurrentUser, ApiError>) -> Redirect {
    match user {
        Ok(CurrentUser(user)) => Redirect::to(home_of(user.role)),
        Err(_) => Redirect::to("/app/login"),
    }
}

/// The application shell: the same page for every client-side route; the page decides what to
/// show after asking the API who is signed in (so no page content depends on the URL alone).
async fn shell() -> Response {
    let mut resp = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], assets::INDEX_HTML).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}
