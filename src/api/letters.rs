//! The letter of a dictation as a document: `GET /dictations/{id}/letter.docx` and `.pdf`,
//! laid out by `crate::letters` from the latest draft and the patient details.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use super::AppState;
use super::actions::visible;
use super::audit::record;
use super::client::Client;
use super::dictation_view::render;
use crate::audit::action;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::letters::{Letter, LetterSource, docx, pdf};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dictations/{id}/letter.docx", get(letter_docx))
        .route("/dictations/{id}/letter.pdf", get(letter_pdf))
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// The letter as it stands: the draft when there is one, else the recognised text.
fn source(d: &Value, today: String) -> LetterSource {
    let body = text(&d["draft"]["text"]).or_else(|| text(&d["transcription"]["text"])).unwrap_or_default();
    let clinician = text(&d["clinician"]);
    let typed_by = text(&d["draft"]["updated_by"]).filter(|u| Some(u) != clinician.as_ref());
    LetterSource {
        letter_type: text(&d["letter_type"]),
        specialty: text(&d["specialty"]),
        date: today,
        patient_name: text(&d["patient"]["name"]),
        patient_dob: text(&d["patient"]["dob"]),
        nhs_number: text(&d["patient"]["nhs_number"]),
        hospital_number: text(&d["patient"]["hospital_number"]),
        text: body,
        clinician,
        typed_by,
        status: text(&d["status"]),
    }
}

/// The letter, once the export is on the audit trail.
async fn letter_of(state: &AppState, user: &CurrentUser, client: &Client, id: &str, format: &str) -> ApiResult<Letter> {
    let view = visible(state, &user.0, id).await?;
    crate::auth::policy::require(&user.0, crate::auth::policy::Permission::WorkOnDictations)?;
    let details = serde_json::json!({"format": format});
    record(state, Some(&user.0), client, action::LETTER_EXPORT, Some(("dictation", id)), details).await?;
    let today = state.clock.now().date_naive().format("%Y-%m-%d").to_string();
    Ok(Letter::from_source(&source(&render(&view, None), today)))
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

async fn letter_docx(
    State(state): State<AppState>,
    user: CurrentUser,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let letter = letter_of(&state, &user, &client, &id, "docx").await?;
    let bytes = docx::write(&letter).map_err(ApiError::Internal)?;
    document(bytes, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", &id, "docx")
}

async fn letter_pdf(
    State(state): State<AppState>,
    user: CurrentUser,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let letter = letter_of(&state, &user, &client, &id, "pdf").await?;
    document(pdf::write(&letter), "application/pdf", &id, "pdf")
}
