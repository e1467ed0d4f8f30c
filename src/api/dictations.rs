//! Dictation endpoints: streaming upload, scoped listing, one dictation, and its audio with `Range`.

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::audit::record;
use super::client::Client;
use super::dictation_view::{add_working_time_left, render};
use super::extract::Query;
use super::multipart::{MAX_PARTS, PartSpec, open_upload, read_parts};
use crate::audit::action;
use crate::auth::CurrentUser;
use crate::auth::policy;
use crate::clock::parse_rfc3339;
use crate::domain::{Priority, Role};
use crate::error::{ApiError, ApiResult};
use crate::ingest::{IngestError, RawFields, Upload, UploadFields, fields::KNOWN_FIELDS};
use crate::storage::dictations::{self, ListFilter, Scope};
use crate::storage::users::{self, User};

mod range;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dictations", get(list).post(upload).layer(DefaultBodyLimit::disable()))
        .route("/dictations/{id}", get(get_one))
        .route("/dictations/{id}/audio", get(audio))
}

/// The dictations `user` may see (decided by [`policy::dictation_scope`]).
pub fn scope_of(user: &User) -> Scope {
    policy::dictation_scope(user)
}

const MAX_TEXT_PART: usize = 16 * 1024;

async fn upload(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    headers: HeaderMap,
    req: Request,
) -> ApiResult<Response> {
    let limit = state.config.limits.max_upload_bytes;
    let mut multipart = open_upload(req, limit, "audio").await?;
    let idempotency_key = idempotency_key(&headers)?;
    if let Some(key) = &idempotency_key
        && let Some(id) = dictations::find_by_idempotency_key(&state.db, &user.id, key).await?
    {
        // Read (and drop) the body so the client sees a clean response on a
        // reusable connection rather than a reset mid-upload.
        while let Ok(Some(mut field)) = multipart.next_field().await {
            while let Ok(Some(_)) = field.chunk().await {}
        }
        // A replay is a read of the dictation: the caller must still be allowed to see it
        // (404 otherwise, as for any letter outside their scope), and it is audited.
        let view =
            dictations::get(&state.db, &id, &scope_of(&user)).await?.ok_or_else(|| ApiError::not_found("dictation"))?;
        let details = json!({"idempotent_replay": true});
        record(&state, Some(&user), &client, action::DICTATION_VIEW, Some(("dictation", &id)), details).await?;
        return created(&view, &id, true);
    }
    let spec = PartSpec {
        file: "audio",
        texts: KNOWN_FIELDS,
        max_file_bytes: limit,
        max_text_bytes: MAX_TEXT_PART,
        max_parts: MAX_PARTS,
    };
    let invalid = |n: &str, m: String| ApiError::invalid_field(n, "validation_failed", m);
    let parts = read_parts(&mut multipart, &spec, state.blobs.as_ref(), &invalid).await?;
    let raw: RawFields = parts.texts.into_iter().collect();
    let Some((staged, filename)) = parts.file else {
        return Err(ApiError::invalid_field(
            "audio",
            "validation_failed",
            "the `audio` part with the recording is missing",
        ));
    };
    let prepared = prepare_fields(&state, &user, &raw).await;
    let (fields, clinician_id) = match prepared {
        Ok(v) => v,
        Err(e) => {
            staged.discard().await;
            return Err(e);
        }
    };
    if staged.bytes == 0 {
        staged.discard().await;
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_audio",
            "Empty audio",
            "the uploaded audio file is empty (0 bytes)",
        ));
    }
    let upload =
        Upload { staged, fields, uploader: user.clone(), clinician_id, idempotency_key, original_filename: filename };
    let id = state.ingest.accept(upload).await.map_err(ingest_error)?;
    record(&state, Some(&user), &client, action::DICTATION_CREATE, Some(("dictation", &id)), json!({})).await?;
    // The uploader has just sent every field shown, so the new letter is rendered whatever
    // their scope (a secretary uploading for a clinician of their team sees it anyway).
    let view = dictations::get(&state.db, &id, &Scope::All).await?.ok_or_else(|| ApiError::not_found("dictation"))?;
    created(&view, &id, false)
}

pub(super) fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let key = value.to_str().ok().map(str::trim).unwrap_or_default();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::invalid_field(
            "Idempotency-Key",
            "validation_failed",
            "Idempotency-Key must be 1-255 visible ASCII characters",
        ));
    }
    Ok(Some(key.to_string()))
}

/// Validates the text fields and resolves who the dictation belongs to.
pub(super) async fn prepare_fields(
    state: &AppState,
    user: &User,
    raw: &RawFields,
) -> ApiResult<(UploadFields, String)> {
    policy::require(user, policy::Permission::UploadDictations)?;
    let fields = UploadFields::parse(raw, state.clock.now().date_naive())
        .map_err(|e| ApiError::invalid_field(&e.field, e.code, e.message))?;
    if let Some(h) = &fields.hospital_number {
        state
            .config
            .letters
            .check_hospital_number(h)
            .map_err(|e| ApiError::invalid_field(&e.field, e.code, e.message))?;
    }
    let clinician = match (&fields.clinician, user.role) {
        (None, Role::Clinician) => return Ok((fields, user.id.clone())),
        (None, _) => {
            return Err(ApiError::invalid_field(
                "clinician",
                "validation_failed",
                "name the clinician (username) whose dictation this is",
            ));
        }
        (Some(name), _) if *name == user.username && user.role == Role::Clinician => {
            return Ok((fields, user.id.clone()));
        }
        (Some(_), Role::Clinician) => {
            return Err(ApiError::forbidden("a clinician may upload only their own dictations"));
        }
        (Some(name), _) => users::find_by_username(&state.db, name).await?,
    };
    let Some(clinician) = clinician.filter(|c| c.role == Role::Clinician) else {
        return Err(ApiError::invalid_field("clinician", "validation_failed", "no active clinician has that username"));
    };
    if !policy::may_upload_for(user, &clinician) {
        return Err(ApiError::forbidden("you may upload only for clinicians in your teams"));
    }
    Ok((fields, clinician.id))
}

pub(super) fn ingest_error(e: IngestError) -> ApiError {
    match e {
        IngestError::Audio(crate::audio::AudioError::Io(e)) => {
            ApiError::Internal(anyhow::anyhow!("cannot read the staged upload: {e}"))
        }
        IngestError::Audio(a) => {
            let status =
                if a.is_unsupported() { StatusCode::UNSUPPORTED_MEDIA_TYPE } else { StatusCode::UNPROCESSABLE_ENTITY };
            ApiError::Problem {
                status,
                code: a.code(),
                title: "Audio not accepted",
                detail: a.to_string(),
                field: Some("audio".into()),
            }
        }
        IngestError::Field(f) => ApiError::invalid_field(&f.field, f.code, f.message),
        IngestError::Overloaded => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", "Overloaded", e.to_string())
        }
        IngestError::Internal(e) => ApiError::Internal(e),
    }
}

pub(super) fn created(view: &dictations::DictationView, id: &str, replayed: bool) -> ApiResult<Response> {
    let mut resp = (StatusCode::CREATED, axum::Json(render(view, None))).into_response();
    let location =
        HeaderValue::from_str(&format!("/api/v1/dictations/{id}")).map_err(|e| ApiError::Internal(e.into()))?;
    resp.headers_mut().insert(header::LOCATION, location);
    if replayed {
        resp.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(resp)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    clinician: Option<String>,
    assignee: Option<String>,
    priority: Option<String>,
    due_before: Option<String>,
    /// Search words (patient, NHS or hospital number, clinician, specialty, letter type).
    q: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

const STATUSES: &[&str] = &[
    "received",
    "transcribing",
    "drafted",
    "in_correction",
    "awaiting_review",
    "approved",
    "dispatched",
    "cancelled",
    "failed",
];

async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    if let Some(s) = q.status.as_deref().filter(|s| !STATUSES.contains(s)) {
        return Err(ApiError::invalid_field(
            "status",
            "validation_failed",
            format!("unknown status {s:?}; one of {}", STATUSES.join(", ")),
        ));
    }
    if let Some(p) = &q.priority {
        p.parse::<Priority>().map_err(|e| ApiError::invalid_field("priority", "validation_failed", e))?;
    }
    let due_before = q
        .due_before
        .as_deref()
        .map(|d| {
            parse_rfc3339(d).ok_or_else(|| {
                ApiError::invalid_field("due_before", "validation_failed", "due_before must be an RFC 3339 time")
            })
        })
        .transpose()?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "validation_failed", "limit must be between 1 and 500"));
    }
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let search = search_words(q.q.as_deref())?;
    let filters = json!({"status": q.status, "clinician": q.clinician, "assignee": q.assignee,
        "priority": q.priority, "due_before": q.due_before, "q": q.q});
    let filter = ListFilter {
        status: q.status,
        clinician: q.clinician,
        assignee: q.assignee,
        priority: q.priority,
        due_before,
        search,
        limit: limit + 1,
        after,
    };
    let mut rows = dictations::list(&state.db, &scope_of(&user), &filter).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(encode_cursor)
    } else {
        None
    };
    let mut items: Vec<_> = rows.iter().map(|v| render(v, None)).collect();
    add_working_time_left(&state, &mut items).await?;
    // A list shows patients' names and numbers: which letters were shown is recorded.
    let shown: Vec<&serde_json::Value> = items.iter().map(|d| &d["id"]).collect();
    let details = json!({"filters": filters, "shown": shown});
    record(&state, Some(&user), &client, action::DICTATION_LIST, None, details).await?;
    Ok(axum::Json(json!({"items": items, "next_cursor": next_cursor})))
}

/// The words of a search, NHS numbers with their spaces removed ("943 476 5919").
fn search_words(q: Option<&str>) -> ApiResult<Vec<String>> {
    let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) else { return Ok(Vec::new()) };
    if q.chars().count() > 100 {
        return Err(ApiError::invalid_field("q", "validation_failed", "search for at most 100 characters"));
    }
    let digits: String = q.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() >= 3 && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(vec![digits]);
    }
    Ok(q.split_whitespace().take(8).map(str::to_string).collect())
}

fn encode_cursor(view: &dictations::DictationView) -> String {
    use sqlx::Row;
    let at: i64 = view.row.try_get("created_at").unwrap_or_default();
    let id: String = view.row.try_get("id").unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{at}:{id}"))
}

fn decode_cursor(c: &str) -> ApiResult<(i64, String)> {
    let bad = || ApiError::invalid_field("cursor", "validation_failed", "cursor is not one this server issued");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (at, id) = text.split_once(':').ok_or_else(bad)?;
    Ok((at.parse().map_err(|_| bad())?, id.to_string()))
}

async fn get_one(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let view =
        dictations::get(&state.db, &id, &scope_of(&user)).await?.ok_or_else(|| ApiError::not_found("dictation"))?;
    record(&state, Some(&user), &client, action::DICTATION_VIEW, Some(("dictation", &id)), json!({})).await?;
    let segments = dictations::transcript_segments(&state.db, &id).await?;
    let mut one = [render(&view, segments.as_deref())];
    add_working_time_left(&state, &mut one).await?;
    let returned = crate::storage::history::open_returns(&state.db, std::slice::from_ref(&id)).await?.remove(&id);
    one[0]["returned"] = serde_json::to_value(returned).map_err(|e| ApiError::Internal(e.into()))?;
    if one[0]["transcription"].is_object() {
        // Which words the letter editor marks: the threshold set now, also for older drafts.
        let settings = crate::jobs::settings::effective(&state.db, &state.config.stt).await?.settings;
        one[0]["transcription"]["low_confidence_threshold"] = json!(settings.low_confidence_threshold);
    }
    let [d] = one;
    Ok(axum::Json(d))
}

async fn audio(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    use sqlx::Row;
    let view =
        dictations::get(&state.db, &id, &scope_of(&user)).await?.ok_or_else(|| ApiError::not_found("dictation"))?;
    policy::require(&user, policy::Permission::WorkOnDictations)?;
    if let Some(at) = view.row.try_get::<Option<i64>, _>("audio_purged_at").map_err(ApiError::from)? {
        return Err(ApiError::new(
            StatusCode::GONE,
            "audio_purged",
            "Audio purged",
            format!("the recording was deleted under the retention policy at {}", crate::clock::rfc3339(at)),
        ));
    }
    let sha: String = view.row.try_get("audio_sha256").map_err(ApiError::from)?;
    let container: String = view.row.try_get("audio_container").map_err(ApiError::from)?;
    let size = state.blobs.size(&sha).await?.ok_or_else(|| ApiError::not_found("audio"))?;
    let range = range::parse(headers.get(header::RANGE).and_then(|v| v.to_str().ok()), size);
    let (status, start, len) = match range {
        range::Outcome::Full => (StatusCode::OK, 0, size),
        range::Outcome::Partial { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        range::Outcome::Unsatisfiable => {
            let mut resp = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                "Range not satisfiable",
                format!("the audio is {size} bytes long"),
            )
            .into_response();
            resp.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}")).map_err(|e| ApiError::Internal(e.into()))?,
            );
            return Ok(resp);
        }
    };
    // Every byte served is accounted for: a playback's range requests are each recorded.
    let details = json!({"range": format!("{start}-{}", start + len.max(1) - 1), "of": size});
    record(&state, Some(&user), &client, action::AUDIO_DOWNLOAD, Some(("dictation", &id)), details).await?;
    let reader = state.blobs.read_range(&sha, start, len).await?;
    let mut resp = Response::new(Body::from_stream(tokio_util::io::ReaderStream::with_capacity(reader, 64 * 1024)));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime_for(&container)));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // Patient audio never stays in a (possibly shared) browser cache: every replay is a
    // request that is checked and audited.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{sha}\"")) {
        h.insert(header::ETAG, etag);
    }
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{size}", start + len - 1))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    Ok(resp)
}

fn mime_for(container: &str) -> &'static str {
    let map: HashMap<&str, &str> = [
        ("wav", "audio/wav"),
        ("flac", "audio/flac"),
        ("mp3", "audio/mpeg"),
        ("mp4", "audio/mp4"),
        ("ogg", "audio/ogg"),
        ("webm", "audio/webm"),
        ("mkv", "audio/x-matroska"),
        ("aiff", "audio/aiff"),
        ("caf", "audio/x-caf"),
    ]
    .into_iter()
    .collect();
    map.get(container).copied().unwrap_or("application/octet-stream")
}
