//! Response hardening and request time limits: security headers on every response,
//! a refusal of requests carrying two session cookies, and a timeout for every request
//! except uploads (bounded by size and decode time).

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::error::ApiError;

/// The web UI (served from this binary under `/app` and `/assets`) loads its own
/// scripts and styles, and plays recordings from `blob:` URLs; nothing else is allowed,
/// and no other site may frame the pages.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn set_default(resp: &mut Response, name: HeaderName, value: &'static str) {
    if !resp.headers().contains_key(&name) {
        resp.headers_mut().insert(name, HeaderValue::from_static(value));
    }
}

pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let api = is_api_path(req.uri().path());
    let mut resp = next.run(req).await;
    if api {
        // API answers carry patient data: never kept by a (possibly shared) browser cache.
        set_default(&mut resp, header::CACHE_CONTROL, "no-store");
    }
    set_default(&mut resp, header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set_default(&mut resp, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set_default(&mut resp, header::REFERRER_POLICY, "no-referrer");
    set_default(&mut resp, header::X_FRAME_OPTIONS, "DENY");
    if state.config.server.tls_cert.is_some() {
        set_default(&mut resp, header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
    resp
}

/// Answers 400 `duplicate_session_cookie` when a request carries the session cookie more
/// than once (one may have been planted by a neighbouring host or under another path):
/// which one the browser meant cannot be told, so neither is used.
pub async fn single_session_cookie(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let name = crate::auth::cookies::names(state.config.secure_cookies()).session;
    if crate::auth::cookies::count(req.headers(), name) > 1 {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "duplicate_session_cookie",
            "Duplicate session cookie",
            format!("the request carries more than one {name} cookie; sign out and clear this site's cookies"),
        )
        .into_response();
    }
    next.run(req).await
}

fn is_api_path(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/v1/")
}

/// Requests whose body is an audio upload: bounded by the upload limits instead.
fn is_upload(req: &Request) -> bool {
    req.method() == Method::POST && matches!(req.uri().path(), "/api/v1/dictations" | "/v1/audio/transcriptions")
}

/// Answers 503 `timeout` when a request (other than an upload) runs longer than `limit`.
pub async fn request_timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    if is_upload(&req) {
        return next.run(req).await;
    }
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "Request timed out",
            format!("the request took longer than {} seconds", limit.as_secs()),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::{get, post};
    use tower::ServiceExt;

    use super::*;

    async fn slow() -> &'static str {
        tokio::time::sleep(Duration::from_millis(300)).await;
        "done"
    }

    fn app() -> Router {
        Router::new()
            .route("/api/v1/slow", get(slow))
            .route("/api/v1/dictations", post(slow))
            .layer(axum::middleware::from_fn_with_state(Duration::from_millis(50), request_timeout))
    }

    async fn status(method: &str, path: &str) -> StatusCode {
        let req = axum::http::Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
        app().oneshot(req).await.unwrap().status()
    }

    #[tokio::test]
    async fn slow_requests_time_out_but_uploads_do_not() {
        assert_eq!(status("GET", "/api/v1/slow").await, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(status("POST", "/api/v1/dictations").await, StatusCode::OK);
    }
}
