//! The clinical lexicon (super-user): `/api/v1/lexicon` list, add, remove, restore,
//! import and counts, and the learned substitutions to approve or reject.

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::routing::{delete, get, post};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::admin::admin_error;
use super::client::Client;
use super::extract::{Json, Query};
use crate::auth::CurrentUser;
use crate::auth::policy::{self, Permission};
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::lexicon::admin::{self, MAX_IMPORT_BYTES};
use crate::lexicon::store::{self, Filter};
use crate::lexicon::substitute::{self, Status};
use crate::lexicon::{Category, Source, key, release};
use crate::storage::users::User;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/lexicon", get(list).post(add))
        .route("/lexicon/stats", get(stats))
        .route("/lexicon/import", post(import).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES + 64 * 1024)))
        .route("/lexicon/substitutions", get(substitutions))
        .route("/lexicon/substitutions/{id}/approve", post(approve))
        .route("/lexicon/substitutions/{id}/reject", post(reject))
        .route("/lexicon/{id}", delete(remove))
        .route("/lexicon/{id}/restore", post(restore))
}

fn require(user: &User) -> ApiResult<()> {
    policy::require(user, Permission::ManageRecognition)
}

fn field<T>(name: &str, raw: Option<&str>, parse: impl Fn(&str) -> Option<T>) -> ApiResult<Option<T>> {
    raw.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            parse(s).ok_or_else(|| ApiError::invalid_field(name, "validation_failed", format!("unknown {name} {s:?}")))
        })
        .transpose()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    q: Option<String>,
    category: Option<String>,
    source: Option<String>,
    scope: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

fn decode_cursor(c: &str) -> ApiResult<usize> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("lex:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| ApiError::invalid_field("cursor", "validation_failed", "cursor is not one this server issued"))
}

/// One listed entry: (sort key, JSON).
fn release_items(filter: &Filter, suppressed: &std::collections::HashSet<String>) -> Vec<(String, Value)> {
    let q = filter.q.as_deref().map(key).unwrap_or_default();
    let wanted =
        filter.source.is_none_or(|s| s == Source::Release) && filter.scope.as_deref().is_none_or(|s| s == "global");
    release::entries()
        .iter()
        .filter(|e| wanted && e.key.contains(&q) && filter.category.is_none_or(|c| c == e.category))
        .map(|e| {
            let item = json!({
                "id": e.id, "term": e.term, "category": e.category.as_str(), "scope": "global",
                "source": "release", "removed": suppressed.contains(&e.id), "expansion": e.expansion,
            });
            (format!("{}\u{0}{}", e.key, e.id), item)
        })
        .collect()
}

async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<Value>> {
    require(&user)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "validation_failed", "limit must be between 1 and 500"));
    }
    let offset = q.cursor.as_deref().map(decode_cursor).transpose()?.unwrap_or(0);
    let scope = q.scope.as_deref().filter(|s| !s.trim().is_empty()).map(|s| admin::scope_key(Some(s))).transpose();
    let filter = Filter {
        q: q.q.filter(|s| !s.trim().is_empty()),
        category: field("category", q.category.as_deref(), Category::parse)?,
        source: field("source", q.source.as_deref(), Source::parse)?,
        scope: scope.map_err(admin_error)?,
    };
    let suppressed = store::suppressed_ids(&state.db).await?;
    let mut items = release_items(&filter, &suppressed);
    if filter.source != Some(Source::Release) {
        items.extend(store::list(&state.db, &filter).await?.into_iter().map(|e| {
            let item = json!({
                "id": e.id, "term": e.term, "category": e.category.as_str(), "scope": e.scope,
                "source": e.source.as_str(), "removed": false, "created_at": rfc3339(e.created_at),
                "created_by": e.created_by,
            });
            (format!("{}\u{0}{}", key(&e.term), e.id), item)
        }));
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(limit).map(|(_, v)| v).collect();
    let next = offset + page.len();
    let next_cursor =
        (next < total).then(|| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("lex:{next}")));
    Ok(axum::Json(json!({"items": page, "total": total, "next_cursor": next_cursor})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddBody {
    term: String,
    category: Option<String>,
    scope: Option<String>,
}

async fn add(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Json(body): Json<AddBody>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    require(&user)?;
    let category = admin::category(body.category.as_deref()).map_err(admin_error)?;
    let scope = admin::scope_key(body.scope.as_deref()).map_err(admin_error)?;
    let who = client.who(Some(&user));
    let id =
        admin::add(&state.db, &who, &body.term, category, &scope, state.clock.now_ms()).await.map_err(admin_error)?;
    let term = crate::lexicon::validate_term(&body.term).unwrap_or_default();
    let item = json!({
        "id": id, "term": term, "category": category.as_str(), "scope": scope, "source": "added",
        "removed": false, "created_by": user.username,
    });
    Ok((StatusCode::CREATED, axum::Json(item)))
}

async fn remove(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    require(&user)?;
    admin::remove(&state.db, &client.who(Some(&user)), &id, state.clock.now_ms()).await.map_err(admin_error)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn restore(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    require(&user)?;
    admin::restore(&state.db, &client.who(Some(&user)), &id, state.clock.now_ms()).await.map_err(admin_error)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    category: Option<String>,
    scope: Option<String>,
}

/// The word list of an import: a multipart `file` part (with optional `category` and
/// `scope` parts) or a text/plain body.
async fn import_body(state: &AppState, req: Request, q: &mut ImportQuery) -> ApiResult<String> {
    let too_large = || ApiError::payload_too_large(MAX_IMPORT_BYTES as u64);
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !is_multipart {
        let bytes = axum::body::to_bytes(req.into_body(), MAX_IMPORT_BYTES).await.map_err(|_| too_large())?;
        return String::from_utf8(bytes.to_vec())
            .map_err(|_| ApiError::invalid_field("file", "validation_failed", "the word list is not UTF-8 text"));
    }
    let mut multipart = Multipart::from_request(req, state).await.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let mut file = None;
    let invalid = |name: &str, m: String| ApiError::invalid_field(name, "validation_failed", m);
    let file_error = |_: &str, m: String| if m.ends_with("too long") { too_large() } else { invalid("file", m) };
    let mut seen = 0;
    while let Some(mut part) = multipart.next_field().await.map_err(super::multipart::malformed)? {
        seen += 1;
        if seen > super::multipart::MAX_PARTS {
            return Err(invalid("file", format!("the form has more than {} parts", super::multipart::MAX_PARTS)));
        }
        let name = part.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" => {
                let max = MAX_IMPORT_BYTES;
                file = Some(super::multipart::read_text(&mut part, "file", max, &file_error).await?);
            }
            "category" => q.category = Some(super::multipart::read_text(&mut part, "category", 64, &invalid).await?),
            "scope" => q.scope = Some(super::multipart::read_text(&mut part, "scope", 200, &invalid).await?),
            _ => {}
        }
    }
    file.ok_or_else(|| invalid("file", "a `file` part with the word list is required".into()))
}

async fn import(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Query(mut q): Query<ImportQuery>,
    req: Request,
) -> ApiResult<axum::Json<admin::ImportReport>> {
    require(&user)?;
    let text = import_body(&state, req, &mut q).await?;
    let category = admin::category(q.category.as_deref()).map_err(admin_error)?;
    let scope = admin::scope_key(q.scope.as_deref()).map_err(admin_error)?;
    let who = client.who(Some(&user));
    let report =
        admin::import(&state.db, &who, &text, category, &scope, state.clock.now_ms()).await.map_err(admin_error)?;
    Ok(axum::Json(report))
}

async fn stats(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> ApiResult<axum::Json<Value>> {
    require(&user)?;
    let suppressed = store::suppressed_ids(&state.db).await?;
    let mut by_category: serde_json::Map<String, Value> =
        Category::ALL.iter().map(|c| (c.as_str().into(), json!(0))).collect();
    let mut by_source: serde_json::Map<String, Value> =
        Source::ALL.iter().map(|s| (s.as_str().into(), json!(0))).collect();
    let mut bump = |category: &str, source: &str, n: i64| {
        for (map, k) in [(&mut by_category, category), (&mut by_source, source)] {
            let v = map.entry(k.to_string()).or_insert(json!(0));
            *v = json!(v.as_i64().unwrap_or(0) + n);
        }
    };
    for e in release::entries().iter().filter(|e| !suppressed.contains(&e.id)) {
        bump(e.category.as_str(), "release", 1);
    }
    for (category, source, n) in store::counts(&state.db).await? {
        bump(&category, &source, n);
    }
    let total: i64 = by_source.values().filter_map(Value::as_i64).sum();
    let proposed = substitute::list(&state.db, Status::Proposed, 10_000).await?.len();
    Ok(axum::Json(json!({
        "total": total, "by_category": by_category, "by_source": by_source,
        "removed": suppressed.len(), "substitutions_proposed": proposed,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubstitutionQuery {
    status: Option<String>,
    limit: Option<i64>,
}

async fn substitutions(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<SubstitutionQuery>,
) -> ApiResult<axum::Json<Value>> {
    require(&user)?;
    let status = field("status", q.status.as_deref(), Status::parse)?.unwrap_or(Status::Proposed);
    let limit = q.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "validation_failed", "limit must be between 1 and 1000"));
    }
    let items = substitute::list(&state.db, status, limit).await?;
    Ok(axum::Json(json!({"items": items})))
}

async fn decide(state: &AppState, user: &User, client: &Client, id: &str, to: Status) -> ApiResult<axum::Json<Value>> {
    require(user)?;
    let sub = substitute::decide(&state.db, &client.who(Some(user)), id, to, state.clock.now_ms())
        .await
        .map_err(admin_error)?;
    Ok(axum::Json(json!(sub)))
}

async fn approve(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    decide(&state, &user, &client, &id, Status::Approved).await
}

async fn reject(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    decide(&state, &user, &client, &id, Status::Rejected).await
}
