//! The HTTP face: shared `AppState`, the router with one `router()` per resource, and middleware.

pub mod actions;
pub mod auth;
pub mod dictation_view;
pub mod dictations;
pub mod extract;
pub mod health;
pub mod letters;
pub mod queue;
pub mod reports;
pub mod vocabularies;
pub mod workflows;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::clock::Clock;
use crate::config::Config;
use crate::error::{ApiError, problem_response};
use crate::ingest::Ingest;
use crate::storage::{BlobStore, Db};

/// Everything a request handler may need; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub blobs: Arc<dyn BlobStore>,
    pub clock: Clock,
    pub ingest: Ingest,
    pub stt: crate::jobs::runtime::SttStatus,
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(auth::router())
        .merge(dictations::router())
        .merge(vocabularies::router())
        .merge(actions::router())
        .merge(queue::router())
        .merge(workflows::router())
        .merge(reports::router())
        .merge(letters::router())
        .fallback(api_not_found);
    Router::new()
        .nest("/api/v1", api)
        .merge(health::router())
        .merge(crate::web::router())
        .fallback(not_found)
        // Upload size is enforced by the upload handler itself (with an early 413);
        // everything else keeps a small body limit.
        .layer(DefaultBodyLimit::max(1024 * 1024))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
                    let request_id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), uri = %req.uri().path(),
                        route = route.as_deref().unwrap_or("-"), request_id = %request_id)
                })
                .on_request(())
                .on_response(|res: &Response, latency: Duration, _span: &tracing::Span| {
                    tracing::info!(status = res.status().as_u16(), latency_ms = latency.as_millis() as u64, "response");
                }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// Unknown API paths: 401 for anonymous callers (nothing under /api is open), else 404.
async fn api_not_found(_user: crate::auth::CurrentUser) -> ApiError {
    ApiError::not_found("endpoint")
}

async fn not_found() -> Response {
    problem_response(StatusCode::NOT_FOUND, "not_found", "Not found", "no such page", None)
}

fn panic_response(_err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
}
