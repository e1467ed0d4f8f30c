//! The letter of a dictation: `GET /dictations/{id}/letter.docx`, `.pdf` and `.fhir.json`,
//! laid out by its template from the latest draft, the patient and recipient details, the
//! author's and approver's signature fields and the letterhead; and the letter details
//! themselves (`GET`/`PUT /dictations/{id}/letter-details`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::AppState;
use super::actions::visible;
use super::audit::{record, record_in};
use super::client::Client;
use super::dictation_view::render;
use super::extract::Json;
use crate::audit::action;
use crate::auth::CurrentUser;
use crate::auth::policy::{Permission, require};
use crate::error::{ApiError, ApiResult};
use crate::letters::template::Template;
use crate::letters::{Letter, LetterData, assemble, docx, fhir, pdf};
use crate::storage::dictations::DictationView;
use crate::storage::letters::{self as store, Details};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dictations/{id}/letter.docx", get(letter_docx))
        .route("/dictations/{id}/letter.pdf", get(letter_pdf))
        .route("/dictations/{id}/letter.fhir.json", get(letter_fhir))
        .route("/dictations/{id}/letter-details", get(get_details).put(put_details))
        .route("/dictations/{id}/deliveries", get(deliveries))
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// The letter of a visible dictation (`template` replaces its own, for a preview).
pub async fn letter_with(
    state: &AppState,
    view: &DictationView,
    template: Option<Template>,
) -> ApiResult<(Letter, LetterData, Template)> {
    let today = state.clock.now().date_naive();
    Ok(assemble::assemble(&state.db, view, today, template).await?)
}

/// The letter, once the export is on the audit trail.
async fn letter_of(
    state: &AppState,
    user: &CurrentUser,
    client: &Client,
    id: &str,
    format: &str,
) -> ApiResult<(Letter, LetterData)> {
    let view = visible(state, &user.0, id).await?;
    require(&user.0, Permission::WorkOnDictations)?;
    let details = json!({"format": format});
    record(state, Some(&user.0), client, action::LETTER_EXPORT, Some(("dictation", id)), details).await?;
    let (letter, data, _) = letter_with(state, &view, None).await?;
    Ok((letter, data))
}

fn document(bytes: Vec<u8>, content_type: &'static str, id: &str, ext: &str) -> ApiResult<Response> {
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The id is opaque; no patient detail goes into the file name.
    let safe: String = id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"letter-{safe}.{ext}\""))
        .map_err(|e| ApiError::Internal(e.into()))?;
    h.insert(header::CONTENT_DISPOSITION, disposition);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// Runs a document writer off the async threads (laying out and subsetting fonts is CPU work).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> anyhow::Result<T> + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::Internal(e.into()))?.map_err(ApiError::Internal)
}

async fn letter_docx(
    State(state): State<AppState>,
    user: CurrentUser,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (letter, _) = letter_of(&state, &user, &client, &id, "docx").await?;
    let bytes = blocking(move || docx::write(&letter)).await?;
    document(bytes, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", &id, "docx")
}

async fn letter_pdf(
    State(state): State<AppState>,
    user: CurrentUser,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (letter, _) = letter_of(&state, &user, &client, &id, "pdf").await?;
    let bytes = blocking(move || pdf::write(&letter)).await?;
    document(bytes, "application/pdf", &id, "pdf")
}

async fn letter_fhir(
    State(state): State<AppState>,
    user: CurrentUser,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let view = visible(&state, &user.0, &id).await?;
    require(&user.0, Permission::WorkOnDictations)?;
    let details = json!({"format": "fhir"});
    record(&state, Some(&user.0), &client, action::LETTER_EXPORT, Some(("dictation", &id)), details).await?;
    let (letter, data, _) = letter_with(&state, &view, None).await?;
    let now = state.clock.now();
    let bundle = blocking(move || fhir::document(&letter, &data, now)).await?;
    let mut resp = axum::Json(bundle).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/fhir+json"));
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

async fn get_details(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    visible(&state, &user, &id).await?;
    let mut d = store::details(&state.db, &id).await?.unwrap_or_default();
    if d.addressee.is_empty() {
        d.addressee = "gp".into();
    }
    Ok(axum::Json(json!(d)))
}

async fn put_details(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Path(id): Path<String>,
    Json(mut body): Json<Value>,
) -> ApiResult<axum::Json<Value>> {
    // The letter details, and optionally a new hospital number (kept on the dictation).
    let hospital: Option<String> = match body.as_object_mut().and_then(|o| o.remove("hospital_number")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(_) => return Err(ApiError::invalid_field("hospital_number", "validation_failed", "a string")),
    };
    let details: Details =
        serde_json::from_value(body).map_err(|e| ApiError::validation(format!("invalid letter details: {e}")))?;
    let view = visible(&state, &user, &id).await?;
    require(&user, Permission::WorkOnDictations)?;
    let status = text(&render(&view, None)["status"]).unwrap_or_default();
    if matches!(status.as_str(), "approved" | "dispatched" | "cancelled") {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "letter_locked",
            "Letter locked",
            format!("the letter is {status}; its details no longer change"),
        ));
    }
    let field = |e: crate::ingest::FieldError| ApiError::invalid_field(&e.field, e.code, e.message);
    let details = crate::letters::recipients::check(&details).map_err(field)?;
    let hospital = hospital.as_deref();
    if let Some(h) = hospital.filter(|h| !h.is_empty()) {
        state.config.letters.check_hospital_number(h).map_err(field)?;
    }
    let mut tx = state.db.begin_write().await?;
    store::put_details(&mut tx, &id, &details, Some(&user.id), state.clock.now_ms()).await?;
    if let Some(h) = hospital {
        store::set_hospital_number(&mut tx, &id, Some(h).filter(|h| !h.is_empty())).await?;
    }
    let audit = json!({"details": details, "hospital_number": hospital});
    record_in(&mut tx, &state, &user, &client, action::LETTER_DETAILS_EDIT, ("dictation", &id), audit).await?;
    tx.commit().await?;
    Ok(axum::Json(json!(details)))
}

/// The deliveries of a dispatched letter (to the EPR folder and the webhooks).
async fn deliveries(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    visible(&state, &user, &id).await?;
    Ok(axum::Json(json!({"items": store::deliveries_of(&state.db, &id).await?})))
}

/// 422 `letter_details_missing` when the letter's template requires details it lacks
/// (checked before an approval).
pub async fn require_details(state: &AppState, id: &str) -> ApiResult<()> {
    let view = crate::storage::dictations::get(&state.db, id, &crate::storage::dictations::Scope::All)
        .await?
        .ok_or_else(|| ApiError::not_found("dictation"))?;
    let (_, data, template) = letter_with(state, &view, None).await?;
    let missing = data.missing(&template.required);
    match missing.first() {
        None => Ok(()),
        Some(first) => Err(ApiError::Problem {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "letter_details_missing",
            title: "Letter details missing",
            detail: format!("the letter's template requires {} before approval", missing.join(", ")),
            field: Some(first.to_string()),
        }),
    }
}
