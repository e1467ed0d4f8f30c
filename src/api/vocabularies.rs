//! Recognition vocabularies (super-user; a clinician may edit their own list).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::audit::record_in;
use super::client::Client;
use super::extract::Json;
use crate::audit::action;
use crate::auth::CurrentUser;
use crate::auth::policy;
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::vocabulary::{self, Scope};

pub fn router() -> Router<AppState> {
    Router::new().route("/vocabularies", get(list)).route("/vocabularies/{scope}", get(get_one).put(put).delete(delete))
}

fn may_edit(user: &CurrentUser, scope: &Scope) -> Result<(), ApiError> {
    if policy::may_edit_vocabulary(&user.0, scope) {
        Ok(())
    } else {
        Err(ApiError::forbidden("only a super-user (or the clinician, for their own list) may edit vocabularies"))
    }
}

fn parse_scope(raw: &str) -> ApiResult<Scope> {
    Scope::parse(raw).map_err(|e| ApiError::invalid_field("scope", "validation_failed", e))
}

async fn list(State(state): State<AppState>, _user: CurrentUser) -> ApiResult<axum::Json<Value>> {
    let items: Vec<Value> = vocabulary::list(&state.db)
        .await?
        .into_iter()
        .map(|(scope, terms, at)| json!({"scope": scope, "terms": terms, "updated_at": rfc3339(at)}))
        .collect();
    Ok(axum::Json(json!({"items": items})))
}

async fn get_one(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(raw): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let scope = parse_scope(&raw)?;
    let (terms, at) = vocabulary::get(&state.db, &scope).await?.ok_or_else(|| ApiError::not_found("vocabulary"))?;
    Ok(axum::Json(json!({"scope": scope.key(), "terms": terms, "updated_at": rfc3339(at)})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PutBody {
    terms: Vec<String>,
}

async fn put(
    State(state): State<AppState>,
    user: CurrentUser,
    client: Client,
    Path(raw): Path<String>,
    Json(body): Json<PutBody>,
) -> ApiResult<axum::Json<Value>> {
    let scope = parse_scope(&raw)?;
    may_edit(&user, &scope)?;
    let terms =
        vocabulary::clean_terms(&body.terms).map_err(|e| ApiError::invalid_field("terms", "validation_failed", e))?;
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    vocabulary::put(&mut tx, &scope, &terms, &user.0.id, now).await?;
    let details = json!({"terms": terms.len()});
    record_in(&mut tx, &state, &user.0, &client, action::VOCABULARY_PUT, ("vocabulary", &scope.key()), details).await?;
    tx.commit().await?;
    Ok(axum::Json(json!({"scope": scope.key(), "terms": terms, "updated_at": rfc3339(now)})))
}

async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    client: Client,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    let scope = parse_scope(&raw)?;
    may_edit(&user, &scope)?;
    let mut tx = state.db.begin_write().await?;
    if vocabulary::delete(&mut tx, &scope).await? {
        let key = scope.key();
        record_in(&mut tx, &state, &user.0, &client, action::VOCABULARY_DELETE, ("vocabulary", &key), json!({}))
            .await?;
        tx.commit().await?;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("vocabulary"))
    }
}
