//! Liveness and readiness probes.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, axum::Json<serde_json::Value>) {
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
    let ready = database && model_ok;
    let body = json!({
        "status": if ready { "ready" } else { "unavailable" },
        "database": if database { "ok" } else { "unreachable" },
        "model": model,
    });
    (if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, axum::Json(body))
}
