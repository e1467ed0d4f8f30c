//! Resumable uploads for long recordings over unreliable networks: a session is opened with
//! the recording's length and the form's fields, the bytes follow in `PATCH` chunks with
//! `Content-Range`, each fsynced before it is acknowledged, and the last chunk hands the
//! file to the same ingest path as `POST /dictations` (same limits, same idempotency key).

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::audit::record;
use super::client::Client;
use super::dictation_view::render;
use super::dictations::{created, idempotency_key, ingest_error, prepare_fields, scope_of};
use super::extract::Json;
use crate::audit::action;
use crate::auth::CurrentUser;
use crate::auth::policy::{self, Permission};
use crate::clock::{Millis, rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::ingest::{IngestError, RawFields, Upload, fields::KNOWN_FIELDS};
use crate::storage::dictations::{self, Scope};
use crate::storage::partial::{PartError, Partials};
use crate::storage::uploads::{self, NewSession, Session};
use crate::storage::users::User;

pub fn router() -> Router<AppState> {
    Router::new().route("/uploads", post(create)).route("/clinicians", axum::routing::get(clinicians)).route(
        "/uploads/{id}",
        axum::routing::get(status).patch(append).delete(abandon).layer(DefaultBodyLimit::disable()),
    )
}

pub fn partials(state: &AppState) -> Partials {
    Partials::new(&state.config.storage.data_dir)
}

fn ttl_ms(state: &AppState) -> Millis {
    i64::try_from(state.config.limits.upload_session_hours).unwrap_or(i64::MAX / 3_600_000) * 3_600_000
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUpload {
    /// The recording's length in bytes.
    length: u64,
    filename: Option<String>,
    #[serde(default)]
    fields: RawFields,
}

async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    headers: HeaderMap,
    Json(req): Json<NewUpload>,
) -> ApiResult<Response> {
    policy::require(&user, Permission::UploadDictations)?;
    let key = idempotency_key(&headers)?;
    if let Some(bad) = req.fields.keys().find(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
        return Err(ApiError::invalid_field(
            bad,
            "validation_failed",
            format!("unknown field {bad:?}; known fields are {}", KNOWN_FIELDS.join(", ")),
        ));
    }
    if let Some(key) = &key
        && let Some(existing) = uploads::find_by_key(&state.db, &user.id, key).await?
    {
        if existing.expires_at <= state.clock.now_ms() {
            forget(&state, &existing).await?; // expired, not yet swept: the key is free again
        } else if existing.length != req.length {
            let detail =
                format!("this Idempotency-Key names an upload of {} bytes, not {}", existing.length, req.length);
            return Ok(with_offset(conflict("upload_length_mismatch", detail), existing.received));
        } else {
            return session_response(&state, &user, &client, &existing, StatusCode::OK).await;
        }
    }
    let limit = state.config.limits.max_upload_bytes;
    if req.length > limit {
        return Err(ApiError::payload_too_large(limit));
    }
    if req.length == 0 {
        return Err(ApiError::invalid_field("length", "empty_audio", "the recording is empty (0 bytes)"));
    }
    // The fields are checked now, before the bytes are sent, and again when they are in.
    prepare_fields(&state, &user, &req.fields).await?;
    let filename = req.filename.map(|f| f.chars().take(255).collect::<String>());
    let fields = serde_json::to_string(&req.fields).map_err(|e| ApiError::Internal(e.into()))?;
    let now = state.clock.now_ms();
    let new = NewSession {
        user_id: &user.id,
        idempotency_key: key.as_deref(),
        length: req.length,
        filename: filename.as_deref(),
        fields: &fields,
        expires_at: now + ttl_ms(&state),
    };
    let Some(session) = uploads::create(&state.db, &new, now).await? else {
        // A concurrent request with the same key opened it first: answer with that one.
        let key = key.unwrap_or_default();
        let s = uploads::find_by_key(&state.db, &user.id, &key).await?.ok_or_else(|| ApiError::not_found("upload"))?;
        return session_response(&state, &user, &client, &s, StatusCode::OK).await;
    };
    // A recording already sent in one piece under this key: the session is born finished.
    if let Some(d) = dictations::find_by_idempotency_key(&state.db, &user.id, &session.idempotency_key).await? {
        uploads::advance(&state.db, &session.id, 0, session.length, now, session.expires_at).await?;
        uploads::finished(&state.db, &session.id, &d, now).await?;
        let s =
            uploads::get(&state.db, &session.id, &user.id, now).await?.ok_or_else(|| ApiError::not_found("upload"))?;
        return session_response(&state, &user, &client, &s, StatusCode::OK).await;
    }
    session_response(&state, &user, &client, &session, StatusCode::CREATED).await
}

/// Removes a session and its bytes.
async fn forget(state: &AppState, s: &Session) -> ApiResult<()> {
    uploads::delete(&state.db, &s.id).await?;
    partials(state).remove(&s.id).await?;
    Ok(())
}

async fn session_response(
    state: &AppState,
    user: &User,
    client: &Client,
    s: &Session,
    status: StatusCode,
) -> ApiResult<Response> {
    let dictation = match &s.dictation_id {
        Some(id) => {
            let view = dictations::get(&state.db, id, &scope_of(user)).await?;
            record(state, Some(user), client, action::DICTATION_VIEW, Some(("dictation", id)), json!({})).await?;
            view.map(|v| render(&v, None))
        }
        None => None,
    };
    let body = json!({
        "id": s.id, "offset": s.received, "length": s.length, "expires_at": rfc3339(s.expires_at),
        "chunk_bytes": state.config.limits.upload_chunk_bytes, "dictation": dictation,
    });
    let mut resp = (status, axum::Json(body)).into_response();
    let h = resp.headers_mut();
    h.insert("upload-offset", HeaderValue::from(s.received));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/uploads/{}", s.id)) {
        h.insert(header::LOCATION, loc);
    }
    Ok(resp)
}

fn conflict(code: &'static str, detail: String) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, code, "Upload conflict", detail)
}

/// A problem answer that also carries the server's offset, so the client knows where to go on.
fn with_offset(e: ApiError, offset: u64) -> Response {
    let mut resp = e.into_response();
    resp.headers_mut().insert("upload-offset", HeaderValue::from(offset));
    resp
}

async fn session_of(state: &AppState, user: &User, id: &str) -> ApiResult<Session> {
    uploads::get(&state.db, id, &user.id, state.clock.now_ms()).await?.ok_or_else(|| ApiError::not_found("upload"))
}

async fn status(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let s = session_of(&state, &user, &id).await?;
    session_response(&state, &user, &client, &s, StatusCode::OK).await
}

async fn abandon(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let s = session_of(&state, &user, &id).await?;
    forget(&state, &s).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `Content-Range: bytes START-END/TOTAL`, or `bytes */TOTAL` (no bytes: finish or probe).
#[derive(Debug, PartialEq, Eq)]
struct ChunkRange {
    start: Option<(u64, u64)>,
    total: u64,
}

fn parse_content_range(v: &str) -> Option<ChunkRange> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let total = total.trim().parse().ok()?;
    if range.trim() == "*" {
        return Some(ChunkRange { start: None, total });
    }
    let (a, b) = range.trim().split_once('-')?;
    let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
    (a <= b && b < total).then_some(ChunkRange { start: Some((a, b)), total })
}

async fn append(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    client: Client,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, Response> {
    let s = session_of(&state, &user, &id).await.map_err(IntoResponse::into_response)?;
    if s.dictation_id.is_some() {
        return finish(&state, &user, &client, &s).await.map_err(|e| with_offset(e, s.received));
    }
    let bad_range = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_content_range",
            "Invalid Content-Range",
            format!("send Content-Range: bytes START-END/{} (or bytes */{} with no body)", s.length, s.length),
        )
    };
    let range = req
        .headers()
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_content_range)
        .ok_or_else(|| with_offset(bad_range(), s.received))?;
    if range.total != s.length {
        let detail = format!("the upload is {} bytes long, not {}", s.length, range.total);
        return Err(with_offset(conflict("upload_length_mismatch", detail), s.received));
    }
    let Some((start, end)) = range.start else {
        if s.received == s.length {
            return finish(&state, &user, &client, &s).await.map_err(|e| with_offset(e, s.received));
        }
        return session_response(&state, &user, &client, &s, StatusCode::OK).await.map_err(IntoResponse::into_response);
    };
    if start != s.received {
        let detail = format!("the server holds {} bytes; send the chunk that starts there", s.received);
        return Err(with_offset(conflict("upload_offset_mismatch", detail), s.received));
    }
    let received = write_chunk(&state, &s, req, end - start + 1).await.map_err(|e| with_offset(e, s.received))?;
    let s = Session { received, ..s };
    if received == s.length {
        return finish(&state, &user, &client, &s).await.map_err(|e| with_offset(e, s.received));
    }
    session_response(&state, &user, &client, &s, StatusCode::OK).await.map_err(IntoResponse::into_response)
}

/// Appends the body (exactly `len` bytes) at the session's offset, fsyncs, and records the
/// new offset. A body cut short keeps what arrived (acknowledged), then answers 400.
async fn write_chunk(state: &AppState, s: &Session, req: Request, len: u64) -> ApiResult<u64> {
    let busy = || {
        ApiError::new(StatusCode::CONFLICT, "upload_busy", "Upload busy", "another request is sending to this upload")
    };
    let mut w = partials(state).open_at(&s.id, s.received).await.map_err(|e| match e {
        PartError::Busy => busy(),
        PartError::Io(e) => ApiError::Internal(e.into()),
        PartError::Other(e) => ApiError::Internal(e),
    })?;
    let mut body = req.into_body();
    let mut problem = None;
    while let Some(frame) = body.frame().await {
        let data = match frame {
            Ok(f) => match f.into_data() {
                Ok(d) => d,
                Err(_) => continue,
            },
            Err(e) => {
                problem = Some(ApiError::bad_request(format!("the chunk was cut off: {e}")));
                break;
            }
        };
        if w.end() - s.received + data.len() as u64 > len {
            // Nothing of an over-long chunk is kept: its bytes are not the ones announced.
            drop(w);
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "content_range_mismatch",
                "Chunk longer than its range",
                format!("the body is longer than the {len} bytes its Content-Range announces"),
            ));
        }
        w.write(&data).await.map_err(|e| ApiError::Internal(e.into()))?;
    }
    let got = w.end() - s.received;
    if problem.is_none() && got != len {
        problem = Some(ApiError::new(
            StatusCode::BAD_REQUEST,
            "content_range_mismatch",
            "Chunk shorter than its range",
            format!("the body has {got} bytes but its Content-Range announces {len}"),
        ));
    }
    let end = w.sync().await.map_err(|e| ApiError::Internal(e.into()))?;
    let now = state.clock.now_ms();
    if !uploads::advance(&state.db, &s.id, s.received, end, now, now + ttl_ms(state)).await? {
        return Err(busy());
    }
    match problem {
        Some(p) => Err(p),
        None => Ok(end),
    }
}

/// Hands the complete upload to ingest (once: a retry answers with the same dictation).
/// Audio or fields that are refused end the session; a busy server keeps it for a retry.
async fn finish(state: &AppState, user: &User, client: &Client, s: &Session) -> ApiResult<Response> {
    if let Some(id) = &s.dictation_id {
        return replay(state, user, client, id).await;
    }
    if let Some(id) = dictations::find_by_idempotency_key(&state.db, &user.id, &s.idempotency_key).await? {
        uploads::finished(&state.db, &s.id, &id, state.clock.now_ms()).await?;
        return replay(state, user, client, &id).await;
    }
    let raw: RawFields = serde_json::from_str(&s.fields).map_err(|e| ApiError::Internal(e.into()))?;
    let (fields, clinician_id) = match prepare_fields(state, user, &raw).await {
        Ok(v) => v,
        Err(e) => {
            forget(state, s).await?;
            return Err(e);
        }
    };
    let staged = partials(state).stage(&s.id, state.blobs.as_ref()).await?;
    let upload = Upload {
        staged,
        fields,
        uploader: user.clone(),
        clinician_id,
        idempotency_key: Some(s.idempotency_key.clone()),
        original_filename: s.filename.clone(),
    };
    let id = match state.ingest.accept(upload).await {
        Ok(id) => id,
        Err(e @ (IngestError::Overloaded | IngestError::Internal(_))) => return Err(ingest_error(e)),
        Err(e) => {
            forget(state, s).await?;
            return Err(ingest_error(e));
        }
    };
    uploads::finished(&state.db, &s.id, &id, state.clock.now_ms()).await?;
    partials(state).remove(&s.id).await?;
    let details = json!({"upload": s.id, "bytes": s.length});
    record(state, Some(user), client, action::DICTATION_CREATE, Some(("dictation", &id)), details).await?;
    let view = dictations::get(&state.db, &id, &Scope::All).await?.ok_or_else(|| ApiError::not_found("dictation"))?;
    created(&view, &id, false)
}

async fn replay(state: &AppState, user: &User, client: &Client, id: &str) -> ApiResult<Response> {
    let view =
        dictations::get(&state.db, id, &scope_of(user)).await?.ok_or_else(|| ApiError::not_found("dictation"))?;
    let details = json!({"idempotent_replay": true});
    record(state, Some(user), client, action::DICTATION_VIEW, Some(("dictation", id)), details).await?;
    created(&view, id, true)
}

/// The clinicians the caller may upload for (the upload form's picker): a clinician
/// themselves, the clinicians of a secretary's or team lead's teams, everyone for super-users.
async fn clinicians(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<axum::Json<serde_json::Value>> {
    policy::require(&user, Permission::UploadDictations)?;
    let items: Vec<_> = crate::storage::accounts::list(&state.db)
        .await?
        .into_iter()
        .filter(|a| a.role == crate::domain::Role::Clinician && !a.disabled)
        .filter(|a| {
            let them = User {
                id: a.id.clone(),
                username: a.username.clone(),
                display_name: a.display_name.clone(),
                role: a.role,
                teams: a.teams.clone(),
            };
            policy::may_upload_for(&user, &them)
        })
        .map(|a| json!({"username": a.username, "display_name": a.display_name, "teams": a.teams}))
        .collect();
    Ok(axum::Json(json!({"items": items})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        let r = |s| parse_content_range(s);
        assert_eq!(r("bytes 0-9/10"), Some(ChunkRange { start: Some((0, 9)), total: 10 }));
        assert_eq!(r("bytes */10"), Some(ChunkRange { start: None, total: 10 }));
        for bad in ["bytes 5-4/10", "bytes 0-10/10", "0-9/10", "bytes 0-/10", "bytes a-b/c", "bytes 0-9"] {
            assert_eq!(r(bad), None, "{bad}");
        }
    }
}
