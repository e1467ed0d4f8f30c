//! Workflow and routing definitions: list, read (JSON or YAML), validate, and store new
//! versions (super-user). Invalid files answer 422 `validation_failed` with every error's
//! line, column and path.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::audit::record_in;
use super::client::Client;
use super::extract::Query;
use crate::audit::action;
use crate::auth::CurrentUser;
use crate::auth::policy::{self, Permission};
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::storage::workflows::{self as store, StoredVersion};
use crate::workflow::service::defs;
use crate::workflow::{ValidationError, parse_and_validate, parse_and_validate_routing};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/workflows", get(list))
        .route("/workflows/{name}", get(get_one).put(put_one))
        .route("/workflows/{name}/validate", post(validate))
        .route("/workflows/{name}/versions", get(versions))
        .route("/routing", get(get_routing).put(put_routing))
        .route("/routing/validate", post(validate_routing))
}

/// 422 `validation_failed` with the `errors` list.
pub fn invalid(errors: &[ValidationError]) -> Response {
    let body = json!({
        "type": "https://dictaflow.org/problems/validation-failed",
        "title": "Validation failed",
        "status": 422,
        "detail": format!("{} problem(s) in the file; the first: {}", errors.len(),
            errors.first().map(ToString::to_string).unwrap_or_default()),
        "code": "validation_failed",
        "errors": errors,
    });
    let mut resp = (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    resp
}

fn summary(v: &StoredVersion) -> Value {
    json!({"name": v.name, "version": v.version, "created_at": rfc3339(v.created_at), "created_by": v.created_by})
}

fn wants_yaml(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("yaml"))
}

fn yaml_response(text: String) -> Response {
    ([(header::CONTENT_TYPE, "application/yaml; charset=utf-8")], text).into_response()
}

fn body_text(body: &Bytes) -> ApiResult<&str> {
    std::str::from_utf8(body).map_err(|_| ApiError::validation("the body must be UTF-8 YAML text"))
}

fn require_superuser(user: &CurrentUser) -> ApiResult<()> {
    policy::require(&user.0, Permission::ManageDefinitions)
}

async fn list(State(state): State<AppState>, _user: CurrentUser) -> ApiResult<axum::Json<Value>> {
    let mut items = Vec::new();
    for v in store::latest_workflows(&state.db).await? {
        let mut item = summary(&v);
        if let Ok(def) = defs::parse_stored(&v) {
            item["description"] = json!(def.description);
        }
        items.push(item);
    }
    Ok(axum::Json(json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionQuery {
    version: Option<i64>,
}

async fn get_one(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(name): Path<String>,
    Query(q): Query<VersionQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let v = store::workflow(&state.db, &name, q.version).await?.ok_or_else(|| ApiError::not_found("workflow"))?;
    if wants_yaml(&headers) {
        return Ok(yaml_response(v.yaml));
    }
    let def = defs::parse_stored(&v)?;
    let mut body = summary(&v);
    body["definition"] = serde_json::to_value(&def).map_err(|e| ApiError::Internal(e.into()))?;
    body["yaml"] = json!(v.yaml);
    Ok(axum::Json(body).into_response())
}

async fn versions(State(state): State<AppState>, _user: CurrentUser, Path(name): Path<String>) -> ApiResult<Response> {
    let all = store::workflow_versions(&state.db, &name).await?;
    if all.is_empty() {
        return Err(ApiError::not_found("workflow"));
    }
    let items: Vec<Value> = all.iter().map(summary).collect();
    Ok(axum::Json(json!({ "items": items })).into_response())
}

/// Parses and checks a workflow file for `name`; `Err` is the 422 response.
async fn check(state: &AppState, name: &str, text: &str) -> ApiResult<Result<(), Response>> {
    let ctx = defs::context(&state.db, Some(name)).await?;
    match parse_and_validate(text, &ctx) {
        Err(errors) => Ok(Err(invalid(&errors))),
        Ok(def) if def.name != name => {
            let error = ValidationError {
                message: format!("the file is named `{}` but is stored as `{name}`", def.name),
                line: 1,
                column: 1,
                path: "name".into(),
            };
            let line = text.lines().position(|l| l.starts_with("name:")).map_or(1, |i| i + 1);
            Ok(Err(invalid(&[ValidationError { line, ..error }])))
        }
        Ok(_) => Ok(Ok(())),
    }
}

async fn validate(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    require_superuser(&user)?;
    match check(&state, &name, body_text(&body)?).await? {
        Err(resp) => Ok(resp),
        Ok(()) => Ok(axum::Json(json!({"valid": true, "errors": []})).into_response()),
    }
}

async fn put_one(
    State(state): State<AppState>,
    user: CurrentUser,
    client: Client,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    require_superuser(&user)?;
    let text = body_text(&body)?;
    if let Err(resp) = check(&state, &name, text).await? {
        return Ok(resp);
    }
    let mut tx = state.db.begin_write().await?;
    let version =
        store::insert_workflow(&mut tx, &name, text, &user.0.id, state.clock.now_ms()).await.map_err(conflict)?;
    let details = json!({"version": version});
    record_in(&mut tx, &state, &user.0, &client, action::WORKFLOW_PUT, ("workflow", &name), details).await?;
    tx.commit().await.map_err(conflict)?;
    tracing::info!(workflow = %name, version, by = %user.0.username, "workflow version stored");
    let v = store::workflow(&state.db, &name, Some(version)).await?.ok_or_else(|| ApiError::not_found("workflow"))?;
    Ok((StatusCode::OK, axum::Json(summary(&v))).into_response())
}

fn conflict(e: sqlx::Error) -> ApiError {
    if crate::storage::is_unique_violation(&e) {
        ApiError::new(
            StatusCode::CONFLICT,
            "version_conflict",
            "Version conflict",
            "another edit was stored at the same time; retry",
        )
    } else {
        e.into()
    }
}

async fn get_routing(State(state): State<AppState>, _user: CurrentUser, headers: HeaderMap) -> ApiResult<Response> {
    let v = store::routing(&state.db).await?.ok_or_else(|| ApiError::not_found("routing table"))?;
    if wants_yaml(&headers) {
        return Ok(yaml_response(v.yaml));
    }
    let table = defs::parse_stored_routing(&v)?;
    let mut body = summary(&v);
    body["rules"] = serde_json::to_value(&table.rules).map_err(|e| ApiError::Internal(e.into()))?;
    body["yaml"] = json!(v.yaml);
    Ok(axum::Json(body).into_response())
}

async fn check_routing(state: &AppState, text: &str) -> ApiResult<Result<(), Response>> {
    let ctx = defs::context(&state.db, None).await?;
    Ok(parse_and_validate_routing(text, &ctx).map(|_| ()).map_err(|errors| invalid(&errors)))
}

async fn validate_routing(State(state): State<AppState>, user: CurrentUser, body: Bytes) -> ApiResult<Response> {
    require_superuser(&user)?;
    match check_routing(&state, body_text(&body)?).await? {
        Err(resp) => Ok(resp),
        Ok(()) => Ok(axum::Json(json!({"valid": true, "errors": []})).into_response()),
    }
}

async fn put_routing(
    State(state): State<AppState>,
    user: CurrentUser,
    client: Client,
    body: Bytes,
) -> ApiResult<Response> {
    require_superuser(&user)?;
    let text = body_text(&body)?;
    if let Err(resp) = check_routing(&state, text).await? {
        return Ok(resp);
    }
    let mut tx = state.db.begin_write().await?;
    let version = store::insert_routing(&mut tx, text, &user.0.id, state.clock.now_ms()).await.map_err(conflict)?;
    let details = json!({"version": version});
    record_in(&mut tx, &state, &user.0, &client, action::ROUTING_PUT, ("routing", "routing"), details).await?;
    tx.commit().await.map_err(conflict)?;
    let v = store::routing(&state.db).await?.ok_or_else(|| ApiError::not_found("routing table"))?;
    Ok(axum::Json(summary(&v)).into_response())
}
