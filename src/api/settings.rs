//! The caller's own settings kept on the server: `GET`/`PUT /api/v1/auth/me/settings/{name}`
//! with a JSON object (the foot pedal set-up is `pedal`).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde_json::Value;

use super::AppState;
use super::extract::Json;
use crate::auth::CurrentUser;
use crate::auth::policy::{self, Permission};
use crate::error::{ApiError, ApiResult};
use crate::storage::user_settings;

/// The settings a user may keep, and the largest document each may be (bytes of JSON).
const KNOWN: &[&str] = &["pedal"];
const MAX_BYTES: usize = 16 * 1024;

pub fn router() -> Router<AppState> {
    Router::new().route("/auth/me/settings/{name}", get(read).put(write))
}

fn known(name: &str) -> ApiResult<()> {
    if KNOWN.contains(&name) { Ok(()) } else { Err(ApiError::not_found("setting")) }
}

/// The saved setting, or `{}` when the user has saved none.
async fn read(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    policy::require(&user, Permission::OwnAccount)?;
    known(&name)?;
    let text = user_settings::get(&state.db, &user.id, &name).await?;
    let value = match text {
        Some(t) => serde_json::from_str(&t).map_err(|e| ApiError::Internal(e.into()))?,
        None => Value::Object(Default::default()),
    };
    Ok(axum::Json(value))
}

async fn write(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(name): Path<String>,
    Json(value): Json<Value>,
) -> ApiResult<axum::Json<Value>> {
    policy::require(&user, Permission::OwnAccount)?;
    known(&name)?;
    if !value.is_object() {
        return Err(ApiError::validation(format!("the {name} setting is a JSON object")));
    }
    let text = value.to_string();
    if text.len() > MAX_BYTES {
        return Err(ApiError::validation(format!("the {name} setting is longer than {MAX_BYTES} bytes")));
    }
    user_settings::put(&state.db, &user.id, &name, &text, state.clock.now_ms()).await?;
    Ok(axum::Json(value))
}
