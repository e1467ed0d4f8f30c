//! Reading multipart uploads: the audio part streamed to a staged blob under a size
//! limit, short text parts with a length bound, and transport errors as problems.

use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::http::{HeaderMap, StatusCode, header};

use crate::error::{ApiError, ApiResult};
use crate::storage::{BlobStore, StagedBlob};

/// Slack for multipart framing and text fields on top of the audio size limit.
const MULTIPART_SLACK: u64 = 1024 * 1024;

/// Checks an upload before reading it: 413 at once when `Content-Length` already exceeds
/// `limit` (plus framing), 415 naming the expected `part` when the body is not multipart.
pub fn open_upload(
    headers: &HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
    limit: u64,
    part: &str,
) -> ApiResult<Multipart> {
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit + MULTIPART_SLACK) {
        return Err(ApiError::payload_too_large(limit));
    }
    multipart.map_err(|e| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type",
            format!("expected multipart/form-data with a `{part}` part: {}", e.body_text()),
        )
    })
}

/// Streams a file part to a temporary blob (hashed, fsynced), refusing it past `limit`
/// bytes. On any error the temporary file is removed.
pub async fn stage_file(field: &mut Field<'_>, blobs: &dyn BlobStore, limit: u64) -> ApiResult<StagedBlob> {
    let mut pending = blobs.begin().await?;
    loop {
        let chunk = match field.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                pending.discard().await;
                return Err(malformed(e));
            }
        };
        if pending.bytes() + chunk.len() as u64 > limit {
            pending.discard().await;
            return Err(ApiError::payload_too_large(limit));
        }
        if let Err(e) = pending.write(&chunk).await {
            pending.discard().await;
            return Err(ApiError::Internal(e.into()));
        }
    }
    pending.finish().await.map_err(|e| ApiError::Internal(e.into()))
}

/// Reads a text part of at most `max` bytes; `invalid(name, message)` builds the error
/// for a part that is too long or not UTF-8.
pub async fn read_text(
    field: &mut Field<'_>,
    name: &str,
    max: usize,
    invalid: impl Fn(&str, String) -> ApiError,
) -> ApiResult<String> {
    let mut value = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(malformed)? {
        value.extend_from_slice(&chunk);
        if value.len() > max {
            return Err(invalid(name, format!("{name} is too long")));
        }
    }
    String::from_utf8(value).map_err(|_| invalid(name, format!("{name} is not UTF-8 text")))
}

pub fn malformed(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "Payload too large", e.body_text());
    }
    ApiError::bad_request(format!("malformed multipart body: {}", e.body_text()))
}
