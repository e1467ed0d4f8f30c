//! The HTTP face: shared `AppState`, the router with one `router()` per resource, and middleware.

pub mod actions;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod calendars;
pub mod client;
pub mod dictation_view;
pub mod dictations;
pub mod extract;
pub mod hardening;
pub mod health;
pub mod letter_templates;
pub mod letters;
pub mod lexicon;
pub mod multipart;
pub mod notify;
pub mod oidc;
pub mod openai;
pub mod oversight;
pub mod queue;
pub mod recognition;
pub mod reports;
pub mod settings;
pub mod spellcheck;
pub mod uploads;
pub mod vocabularies;
pub mod webhooks;
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
    /// Group commit for the audit entries requests write on their own.
    pub audit: crate::audit::writer::AuditWriter,
    /// The single sign-on provider's discovery document and keys.
    pub oidc: crate::auth::oidc::ProviderCache,
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
        .merge(oversight::router())
        .merge(admin::router())
        .merge(audit::router())
        .merge(webhooks::router())
        .merge(calendars::router())
        .merge(oidc::router())
        .merge(letters::router())
        .merge(letter_templates::router())
        .merge(recognition::router())
        .merge(lexicon::router())
        .merge(spellcheck::router())
        .merge(notify::router())
        .merge(uploads::router())
        .merge(settings::router())
        .fallback(api_not_found)
        .route_layer(axum::middleware::from_fn(tag_route));
    Router::new()
        .nest("/api/v1", api)
        .merge(health::router())
        .merge(openai::router())
        .merge(crate::web::router())
        .route_layer(axum::middleware::from_fn(tag_route))
        .fallback(not_found)
        // Upload size is enforced by the upload handler itself (with an early 413);
        // everything else keeps a small body limit.
        .layer(DefaultBodyLimit::max(1024 * 1024))
        .layer(axum::middleware::from_fn_with_state(
            Duration::from_secs(state.config.server.request_timeout_seconds),
            hardening::request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), hardening::single_session_cookie))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn_with_state(state.clone(), hardening::security_headers))
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
        .layer(axum::middleware::from_fn(record_metrics))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// The route template that answered a request, for metrics labels.
#[derive(Clone, Debug)]
struct RouteLabel(String);

/// Runs after routing (as a route layer), so it sees the matched template; the innermost
/// router's template wins.
async fn tag_route(req: Request, next: axum::middleware::Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    let mut resp = next.run(req).await;
    if let Some(route) = route
        && resp.extensions().get::<RouteLabel>().is_none()
    {
        resp.extensions_mut().insert(RouteLabel(route));
    }
    resp
}

/// Counts every answer and its latency by method, matched route (never the raw path,
/// which may hold ids) and status.
async fn record_metrics(req: Request, next: axum::middleware::Next) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().as_str().to_string();
    let resp = next.run(req).await;
    let route = resp.extensions().get::<RouteLabel>().map_or("unmatched", |r| r.0.as_str()).to_string();
    let status = resp.status().as_u16().to_string();
    let labels = [("method", method.as_str()), ("route", route.as_str())];
    crate::metrics::count("http_requests_total", &[labels[0], labels[1], ("status", status.as_str())], 1.0);
    crate::metrics::observe("http_request_duration_seconds", &labels, started.elapsed().as_secs_f64());
    resp
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
