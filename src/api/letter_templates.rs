//! Letter templates and letterheads (super-user): `/letter-templates` (list, read, store,
//! preview with a real letter) and `/letterhead` (text, PNG logo), per department.
//! Invalid templates answer 422 `validation_failed` with every error's line; every change
//! is audited in its own transaction.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::actions::visible;
use super::audit::record_in;
use super::client::Client;
use super::extract::{Json, Query};
use super::letters::letter_with;
use crate::audit::action;
use crate::auth::CurrentUser;
use crate::auth::policy::{self, Permission};
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::letters::data::{REQUIRABLE, TEXT_FIELDS};
use crate::letters::template::{BLOCK_FIELDS, SHIPPED, Template, TemplateError, shipped};
use crate::letters::{Block, Letter, pdf};
use crate::storage::letters::{self as store, StoredLetterhead, StoredTemplate};

const MAX_LOGO_BYTES: usize = 2 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/letter-templates", get(list))
        .route("/letter-templates/preview", post(preview))
        .route("/letter-templates/{letter_type}", get(get_one).put(put_one))
        .route("/letterhead", get(get_letterhead).put(put_letterhead))
        .route("/letterhead/logo", put(put_logo).delete(delete_logo).layer(DefaultBodyLimit::max(MAX_LOGO_BYTES)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DepartmentQuery {
    #[serde(default)]
    department: String,
}

fn check_department(d: &str) -> ApiResult<String> {
    let d = d.trim();
    if d.chars().count() > 100 || d.chars().any(char::is_control) {
        return Err(ApiError::invalid_field("department", "validation_failed", "at most 100 characters, on one line"));
    }
    Ok(d.to_string())
}

fn check_letter_type(t: &str) -> ApiResult<()> {
    let ok =
        (1..=50).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_field("letter_type", "validation_failed", "letter types are 1-50 of a-z, 0-9 and _"))
    }
}

/// 422 `validation_failed` with each problem's line.
fn invalid(errors: &[TemplateError]) -> Response {
    let first = errors.first().map(|e| format!("line {}: {}", e.line, e.message)).unwrap_or_default();
    let body = json!({
        "type": "https://dictaflow.org/problems/validation-failed",
        "title": "Validation failed",
        "status": 422,
        "detail": format!("{} problem(s) in the template; the first: {first}", errors.len()),
        "code": "validation_failed",
        "errors": errors,
    });
    let mut resp = (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    resp
}

async fn list(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> ApiResult<axum::Json<Value>> {
    policy::require(&user, Permission::ReadDefinitions)?;
    let stored = store::templates(&state.db).await?;
    let mut items: Vec<Value> = SHIPPED
        .iter()
        .map(|(t, body)| json!({"letter_type": t, "department": "", "source": "shipped", "body": body}))
        .collect();
    items.extend(stored.iter().map(|t| {
        json!({"letter_type": t.letter_type, "department": t.department, "source": "custom", "body": t.body,
               "updated_at": rfc3339(t.updated_at)})
    }));
    Ok(axum::Json(json!({
        "items": items, "fields": TEXT_FIELDS, "blocks": BLOCK_FIELDS, "requirable": REQUIRABLE,
    })))
}

async fn get_one(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(letter_type): Path<String>,
    Query(q): Query<DepartmentQuery>,
) -> ApiResult<axum::Json<Value>> {
    policy::require(&user, Permission::ReadDefinitions)?;
    check_letter_type(&letter_type)?;
    let department = check_department(&q.department)?;
    let stored = store::template_for(&state.db, &letter_type, &department).await?;
    Ok(axum::Json(match stored {
        Some(t) => json!({"letter_type": letter_type, "department": t.department, "source": "custom", "body": t.body}),
        None => {
            json!({"letter_type": letter_type, "department": "", "source": "shipped", "body": shipped(Some(&letter_type))})
        }
    }))
}

/// The template text: a JSON `{"body"}` or the text itself.
fn template_text(body: &Bytes) -> ApiResult<String> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::validation("the template is not UTF-8 text"))?;
    if text.trim_start().starts_with('{') {
        let v: Value = serde_json::from_str(text).map_err(|e| ApiError::validation(format!("invalid JSON: {e}")))?;
        return v["body"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ApiError::invalid_field("body", "validation_failed", "the template text is missing"));
    }
    Ok(text.to_string())
}

async fn put_one(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Path(letter_type): Path<String>,
    Query(q): Query<DepartmentQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    policy::require(&user, Permission::ManageDefinitions)?;
    check_letter_type(&letter_type)?;
    let department = check_department(&q.department)?;
    let text = template_text(&body)?;
    if let Err(errors) = Template::parse(&text) {
        return Ok(invalid(&errors));
    }
    let now = state.clock.now_ms();
    let t = StoredTemplate {
        letter_type: letter_type.clone(),
        department: department.clone(),
        body: text,
        updated_at: now,
    };
    let mut tx = state.db.begin_write().await?;
    let before = store::put_template(&mut tx, &t, &user.id).await?;
    let details = json!({"letter_type": letter_type, "department": department, "before": before, "after": t.body});
    record_in(&mut tx, &state, &user, &client, action::LETTER_TEMPLATE_PUT, ("letter_template", &letter_type), details)
        .await?;
    tx.commit().await?;
    Ok(axum::Json(json!({"letter_type": letter_type, "department": department, "source": "custom", "body": t.body}))
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewBody {
    /// The template being edited (the dictation's own template when absent).
    body: Option<String>,
    dictation_id: String,
}

/// A laid-out letter as JSON, for the template editor's preview.
pub fn letter_json(letter: &Letter) -> Value {
    let blocks: Vec<Value> = letter
        .blocks
        .iter()
        .map(|b| match b {
            Block::Heading(h) => json!({"kind": "heading", "text": h}),
            Block::Lines(l) => json!({"kind": "lines", "lines": l}),
            Block::Paragraph(p) => json!({"kind": "paragraph", "text": p}),
            Block::Table(rows) => json!({"kind": "table", "rows": rows}),
        })
        .collect();
    let h = &letter.letterhead;
    json!({
        "title": letter.title,
        "department": letter.department,
        "letterhead": {"organisation": h.organisation, "address": h.address, "phone": h.phone, "email": h.email,
                       "logo": h.logo.as_ref().map(|l| format!("data:image/png;base64,{}",
                           base64::engine::general_purpose::STANDARD.encode(&l.bytes)))},
        "blocks": blocks,
    })
}

async fn preview(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(body): Json<PreviewBody>,
) -> ApiResult<Response> {
    policy::require(&user, Permission::ManageDefinitions)?;
    let view = visible(&state, &user, &body.dictation_id).await?;
    let template = match body.body.as_deref().map(Template::parse) {
        Some(Ok(t)) => Some(t),
        Some(Err(errors)) => return Ok(invalid(&errors)),
        None => None,
    };
    let (letter, data, template) = letter_with(&state, &view, template).await?;
    let mut out = letter_json(&letter);
    out["missing"] = json!(data.missing(&template.required));
    Ok(axum::Json(out).into_response())
}

async fn get_letterhead(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<DepartmentQuery>,
) -> ApiResult<axum::Json<Value>> {
    policy::require(&user, Permission::ReadDefinitions)?;
    let department = check_department(&q.department)?;
    let h = store::letterhead_for(&state.db, &department).await?.unwrap_or_default();
    Ok(axum::Json(json!({
        "department": h.department, "organisation": h.organisation, "address": h.address, "phone": h.phone,
        "email": h.email, "logo": h.logo_png.is_some(), "logo_width": h.logo_width, "logo_height": h.logo_height,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LetterheadBody {
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
}

async fn put_letterhead(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Query(q): Query<DepartmentQuery>,
    Json(body): Json<LetterheadBody>,
) -> ApiResult<axum::Json<Value>> {
    policy::require(&user, Permission::ManageDefinitions)?;
    let department = check_department(&q.department)?;
    for (field, value, max) in [
        ("organisation", &body.organisation, 200),
        ("address", &body.address, 500),
        ("phone", &body.phone, 50),
        ("email", &body.email, 200),
    ] {
        if value.chars().count() > max || value.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
            return Err(ApiError::invalid_field(field, "validation_failed", format!("at most {max} characters")));
        }
    }
    let h = StoredLetterhead {
        department: department.clone(),
        organisation: body.organisation.trim().to_string(),
        address: body.address.trim().to_string(),
        phone: body.phone.trim().to_string(),
        email: body.email.trim().to_string(),
        ..Default::default()
    };
    let mut tx = state.db.begin_write().await?;
    store::put_letterhead(&mut tx, &h, None, &user.id, state.clock.now_ms()).await?;
    let details = json!({"department": department, "after": h});
    record_in(&mut tx, &state, &user, &client, action::LETTERHEAD_PUT, ("letterhead", &department), details).await?;
    tx.commit().await?;
    Ok(axum::Json(json!(h)))
}

async fn set_logo(
    state: &AppState,
    user: &crate::storage::users::User,
    client: &Client,
    department: &str,
    logo: Option<(String, i64, i64)>,
) -> ApiResult<()> {
    let mut tx = state.db.begin_write().await?;
    let current = store::letterhead_for(&state.db, department).await?.filter(|h| h.department == department);
    let h = current.unwrap_or_else(|| StoredLetterhead { department: department.to_string(), ..Default::default() });
    let details =
        json!({"department": department, "logo": logo.as_ref().map(|(_, w, h)| json!({"width": w, "height": h}))});
    store::put_letterhead(&mut tx, &h, Some(logo), &user.id, state.clock.now_ms()).await?;
    record_in(&mut tx, state, user, client, action::LETTERHEAD_PUT, ("letterhead", department), details).await?;
    tx.commit().await?;
    Ok(())
}

async fn put_logo(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Query(q): Query<DepartmentQuery>,
    body: Bytes,
) -> ApiResult<axum::Json<Value>> {
    policy::require(&user, Permission::ManageDefinitions)?;
    let department = check_department(&q.department)?;
    let logo = pdf::check_logo(body.to_vec()).map_err(|m| ApiError::invalid_field("logo", "invalid_image", m))?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&logo.bytes);
    let (w, h) = (i64::from(logo.width_px), i64::from(logo.height_px));
    set_logo(&state, &user, &client, &department, Some((b64, w, h))).await?;
    Ok(axum::Json(json!({"department": department, "logo_width": w, "logo_height": h})))
}

async fn delete_logo(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Query(q): Query<DepartmentQuery>,
) -> ApiResult<StatusCode> {
    policy::require(&user, Permission::ManageDefinitions)?;
    let department = check_department(&q.department)?;
    set_logo(&state, &user, &client, &department, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
