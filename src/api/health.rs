//! Liveness and readiness probes, and Prometheus metrics. `/healthz` and the `/readyz`
//! status code are public (load balancers); the `/readyz` details and `/metrics` are
//! served only to an [`Observer`] (`metrics.allow_from`, `metrics.bearer_token`, or a
//! signed-in super-user).

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::get;
use serde_json::json;

use super::AppState;
use super::client::Client;
use crate::auth::client_addr::IpNet;
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(json!({"status": "ok"}))
}

/// Whether the caller may see operational details, and whether it sent credentials at all.
#[derive(Debug, Clone, Copy)]
pub struct Observer {
    pub allowed: bool,
    pub presented: bool,
}

impl FromRequestParts<AppState> for Observer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Ok(client) = Client::from_request_parts(parts, state).await;
        let config = &state.config.metrics;
        let from_allowed = client
            .addr
            .as_deref()
            .and_then(|a| a.parse().ok())
            .is_some_and(|ip| config.allow_from.iter().filter_map(|n| IpNet::parse(n)).any(|n| n.contains(ip)));
        let presented = crate::auth::presented(parts, state.config.secure_cookies());
        if from_allowed {
            return Ok(Self { allowed: true, presented: presented.is_some() });
        }
        let Some(presented) = presented else { return Ok(Self { allowed: false, presented: false }) };
        let secret = config.bearer_token.expose();
        let scraper = matches!(&presented, crate::auth::Presented::Bearer(t)
            if !secret.is_empty() && crate::auth::constant_time_eq(t.as_bytes(), secret.as_bytes()));
        let allowed = scraper
            || crate::storage::users::user_for_token(
                &state.db,
                &crate::auth::token_hash(presented.token()),
                state.clock.now_ms(),
            )
            .await?
            .is_some_and(|u| u.role == crate::domain::Role::Superuser);
        Ok(Self { allowed, presented: true })
    }
}

impl Observer {
    /// `Ok` for an observer; else 401 without credentials, 403 with others.
    fn require(self) -> Result<(), ApiError> {
        match (self.allowed, self.presented) {
            (true, _) => Ok(()),
            (false, false) => Err(ApiError::unauthorized()),
            (false, true) => Err(ApiError::forbidden(
                "metrics are served to metrics.allow_from, the metrics bearer token and super-users",
            )),
        }
    }
}

async fn readyz(State(state): State<AppState>, observer: Observer) -> (StatusCode, axum::Json<serde_json::Value>) {
    use crate::jobs::runtime::ModelState;
    let database = match state.db.ping().await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            false
        }
    };
    let (model_ok, model) = match state.stt.get() {
        ModelState::Disabled => (true, json!({"state": "disabled"})),
        ModelState::Loading => (false, json!({"state": "loading"})),
        ModelState::Ready(name) => (true, json!({"state": "ready", "name": name})),
        ModelState::Failed(reason) => (false, json!({"state": "failed", "reason": reason})),
    };
    let audio_store = match state.blobs.check().await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), store = %state.blobs.location(), "readiness: audio store unreachable");
            false
        }
    };
    let ready = database && model_ok && audio_store;
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    if !observer.allowed {
        // The status code (and word) for load balancers; the details for observers.
        return (status, axum::Json(json!({"status": if ready { "ready" } else { "unavailable" }})));
    }
    // Warnings need a super-user's attention but do not make the server unready.
    let body = json!({
        "status": if ready { "ready" } else { "unavailable" },
        "database": if database { "ok" } else { "unreachable" },
        "model": model,
        "warnings": super::calendars::holiday_warnings(&state),
        "audio_store": if audio_store { "ok" } else { "unreachable" },
    });
    (status, axum::Json(body))
}

/// `GET /metrics`: this process's request and transcription metrics, plus gauges read from
/// the shared database (counts only; no patient data).
async fn metrics(
    State(state): State<AppState>,
    observer: Observer,
) -> Result<axum::response::Response, crate::error::ApiError> {
    observer.require()?;
    use crate::metrics::render_gauge;
    use axum::response::IntoResponse;
    use sqlx::Row;
    let mut out = String::new();
    crate::metrics::render_registry(&mut out);
    let by_status = |rows: Vec<sqlx::any::AnyRow>| -> Vec<(Vec<(&'static str, String)>, f64)> {
        rows.iter()
            .map(|r| {
                let status: String = r.try_get("status").unwrap_or_default();
                let n: i64 = r.try_get("n").unwrap_or_default();
                (vec![("status", status)], n as f64)
            })
            .collect()
    };
    let jobs = sqlx::query("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status").fetch_all(&state.db.pool).await?;
    render_gauge(&mut out, "dictaflow_jobs", "transcription jobs in the shared queue, by status", &by_status(jobs));
    let dictations =
        sqlx::query("SELECT status, COUNT(*) AS n FROM dictations GROUP BY status").fetch_all(&state.db.pool).await?;
    render_gauge(&mut out, "dictaflow_dictations", "dictations by status", &by_status(dictations));
    let now = state.clock.now_ms();
    let oldest: Option<i64> = sqlx::query_scalar("SELECT MIN(created_at) FROM jobs WHERE status = 'queued'")
        .fetch_one(&state.db.pool)
        .await?;
    let age = oldest.map_or(0.0, |t| (now - t).max(0) as f64 / 1000.0);
    render_gauge(
        &mut out,
        "dictaflow_oldest_queued_job_age_seconds",
        "age of the oldest queued transcription job",
        &[(vec![], age)],
    );
    let overdue: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= $1",
    )
    .bind(now)
    .fetch_one(&state.db.pool)
    .await?;
    render_gauge(&mut out, "dictaflow_timers_overdue", "timers due but not yet fired", &[(vec![], overdue as f64)]);
    let (ready, model) = match state.stt.get() {
        crate::jobs::runtime::ModelState::Ready(name) => (1.0, name),
        _ => (0.0, state.config.stt.model.clone()),
    };
    render_gauge(
        &mut out,
        "dictaflow_model_ready",
        "1 when this process has its model loaded",
        &[(vec![("model", model)], ready)],
    );
    let mut resp = out.into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(resp)
}
