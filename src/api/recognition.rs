//! Speech models and recognition settings (super-users): `GET /api/v1/models` (the
//! manifest's models, which are installed, chosen and loaded), `GET|PUT
//! /api/v1/settings/recognition` (model, beam, language, VAD, low-confidence threshold and
//! British spelling for new transcriptions; every change audited). A new model is loaded
//! here, off the async runtime, before the change is stored; worker processes switch at
//! their next job.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::AppState;
use super::audit::record_in;
use super::client::Client;
use super::extract::Json;
use crate::audit::action;
use crate::auth::CurrentUser;
use crate::auth::policy::{self, Permission};
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::jobs::runtime::ModelState;
use crate::jobs::settings::{self, Effective, MAX_BEAM, Patch, RecognitionSettings};
use crate::models::Manifest;

pub fn router() -> Router<AppState> {
    Router::new().route("/models", get(list_models)).route("/settings/recognition", get(get_settings).put(put_settings))
}

fn manifest(state: &AppState) -> ApiResult<Manifest> {
    Manifest::load(&state.config.stt.models_dir).map_err(ApiError::Internal)
}

/// The model this process has loaded, if any.
fn loaded_model(state: &AppState) -> Option<String> {
    match state.stt.get() {
        ModelState::Ready(name) => Some(name),
        _ => None,
    }
}

async fn list_models(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> ApiResult<axum::Json<Value>> {
    policy::require(&user, Permission::ManageRecognition)?;
    let manifest = manifest(&state)?;
    let chosen = settings::effective(&state.db, &state.config.stt).await?.settings.model_name();
    let loaded = loaded_model(&state);
    let dir = &state.config.stt.models_dir;
    let items: Vec<Value> = manifest
        .models
        .iter()
        .map(|m| {
            let file = std::fs::metadata(dir.join(&m.file)).ok().filter(|f| f.is_file());
            json!({
                "name": m.name,
                "file": m.file,
                "size": file.as_ref().map(|f| f.len()).or(m.size),
                "installed": file.is_some(),
                "active": m.name == chosen,
                "loaded": loaded.as_deref() == Some(m.name.as_str()),
                "multilingual": m.multilingual,
                "fetch_command": format!("dictaflow models fetch {}", m.name),
            })
        })
        .collect();
    Ok(axum::Json(json!({"items": items, "active": chosen, "loaded": loaded})))
}

fn values(s: &RecognitionSettings) -> Value {
    json!({
        "model": s.model_name(),
        "beam_size": s.beam_size,
        "language": s.language,
        "vad": s.vad,
        "low_confidence_threshold": s.low_confidence_threshold,
        "british_spelling": s.british_spelling,
    })
}

fn render(state: &AppState, e: &Effective) -> Value {
    let mut body = values(&e.settings);
    let extra = json!({
        "source": if e.version == 0 { "config" } else { "database" },
        "version": e.version,
        "updated_at": e.updated_at.map(rfc3339),
        "updated_by": e.updated_by,
        "defaults": values(&RecognitionSettings::defaults(&state.config.stt)),
        "loaded_model": loaded_model(state),
        "max_beam_size": MAX_BEAM,
    });
    if let (Some(b), Value::Object(x)) = (body.as_object_mut(), extra) {
        b.extend(x);
    }
    body
}

async fn get_settings(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> ApiResult<axum::Json<Value>> {
    policy::require(&user, Permission::ManageRecognition)?;
    let e = settings::effective(&state.db, &state.config.stt).await?;
    Ok(axum::Json(render(&state, &e)))
}

const FIELDS: [&str; 6] = ["model", "beam_size", "language", "vad", "low_confidence_threshold", "british_spelling"];

fn wrong_type(field: &str, what: &str) -> ApiError {
    ApiError::invalid_field(field, "validation_failed", format!("{field} must be {what}"))
}

/// The body as a change, each field checked for its type; unknown fields are refused.
fn patch_of(body: &Map<String, Value>) -> ApiResult<Patch> {
    let mut p = Patch::default();
    for (key, v) in body {
        match key.as_str() {
            "model" => p.model = Some(v.as_str().ok_or_else(|| wrong_type(key, "a model name"))?.to_string()),
            "beam_size" => p.beam_size = Some(v.as_i64().ok_or_else(|| wrong_type(key, "a whole number"))?),
            "language" => {
                p.language = Some(v.as_str().ok_or_else(|| wrong_type(key, "a language code or \"\""))?.into())
            }
            "vad" => p.vad = Some(v.as_bool().ok_or_else(|| wrong_type(key, "true or false"))?),
            "british_spelling" => {
                p.british_spelling = Some(v.as_bool().ok_or_else(|| wrong_type(key, "true or false"))?)
            }
            "low_confidence_threshold" => {
                p.low_confidence_threshold = Some(v.as_f64().ok_or_else(|| wrong_type(key, "a number"))?)
            }
            _ => {
                let shown: String = key.chars().take(64).collect();
                return Err(ApiError::invalid_field(
                    &shown,
                    "validation_failed",
                    format!("unknown field {shown:?}; the fields are {}", FIELDS.join(", ")),
                ));
            }
        }
    }
    Ok(p)
}

async fn put_settings(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<Value>> {
    policy::require(&user, Permission::ManageRecognition)?;
    let Value::Object(body) = body else {
        return Err(ApiError::validation("the body must be a JSON object of settings"));
    };
    let patch = patch_of(&body)?;
    let stt = &state.config.stt;
    let before = settings::effective(&state.db, stt).await?;
    let next = settings::apply(&before.settings, patch, &stt.models_dir, &manifest(&state)?)
        .map_err(|e| ApiError::invalid_field(e.field, e.code, e.message))?;
    // This process switches now (so /readyz tells the truth and a file whisper.cpp
    // refuses is reported here); other processes switch at their next job.
    if next.model_name() != before.settings.model_name() && matches!(state.stt.get(), ModelState::Ready(_)) {
        state.stt.engine_for(&next.model, &stt.models_dir, stt.engine_config()).await.map_err(|e| {
            tracing::warn!(model = %next.model, error = %format!("{e:#}"), "cannot load the chosen model");
            ApiError::Problem {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "model_load_failed",
                title: "Invalid field",
                detail: format!("model {} could not be loaded: {e:#}", next.model_name()),
                field: Some("model".into()),
            }
        })?;
    }
    let mut tx = state.db.begin_write().await?;
    let version = settings::save(&mut tx, &next, &user.id, state.clock.now_ms()).await?;
    let details = json!({"version": version, "from": values(&before.settings), "to": values(&next)});
    let target = ("settings", "recognition");
    record_in(&mut tx, &state, &user, &client, action::RECOGNITION_SETTINGS_PUT, target, details).await?;
    tx.commit().await?;
    tracing::info!(version, model = %next.model_name(), beam_size = next.beam_size, "recognition settings changed");
    let saved = settings::effective(&state.db, stt).await?;
    Ok(axum::Json(render(&state, &saved)))
}
