//! Reading multipart uploads: the whole body under a byte limit, at most a few parts,
//! the one file part streamed to a staged blob under a size limit, short known text parts
//! with a length bound, and transport errors as problems.

use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};

use crate::error::{ApiError, ApiResult};
use crate::storage::{BlobStore, StagedBlob};

/// Slack for multipart framing and text fields on top of the audio size limit.
const MULTIPART_SLACK: u64 = 1024 * 1024;

/// Opens an upload: 413 at once when `Content-Length` already exceeds `limit` (plus
/// framing), 415 naming the expected `part` when the body is not multipart. The body is
/// read under the same bound whatever it declares (a chunked body gets 413 past it).
pub async fn open_upload(req: Request, limit: u64, part: &str) -> ApiResult<Multipart> {
    let bound = limit.saturating_add(MULTIPART_SLACK);
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > bound) {
        return Err(ApiError::payload_too_large(limit));
    }
    let (parts, body) = req.into_parts();
    let bound = usize::try_from(bound).unwrap_or(usize::MAX);
    let req = Request::from_parts(parts, Body::new(http_body_util::Limited::new(body, bound)));
    Multipart::from_request(req, &()).await.map_err(|e| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type",
            format!("expected multipart/form-data with a `{part}` part: {}", e.body_text()),
        )
    })
}

/// The most parts an upload form may have: the forms have a dozen fields at most.
pub const MAX_PARTS: usize = 32;

/// What an endpoint accepts in its multipart body.
#[derive(Debug, Clone, Copy)]
pub struct PartSpec<'a> {
    /// The name of the one file part.
    pub file: &'a str,
    /// The text parts it knows; any other name is refused.
    pub texts: &'a [&'a str],
    pub max_file_bytes: u64,
    /// The longest text part, in bytes.
    pub max_text_bytes: usize,
    /// The most parts (file and texts together): a form is a handful; the bound keeps a
    /// stream of small parts from growing the request's memory without end.
    pub max_parts: usize,
}

/// The parts read: the staged file (with the name the client gave it) and the text
/// parts in the order sent (repeats kept, for the endpoint to judge).
#[derive(Debug, Default)]
pub struct Parts {
    pub file: Option<(StagedBlob, Option<String>)>,
    pub texts: Vec<(String, String)>,
}

impl Parts {
    /// Removes the staged file, if any.
    pub async fn discard(self) {
        if let Some((staged, _)) = self.file {
            staged.discard().await;
        }
    }
}

/// Reads every part of `multipart` under `spec`. `invalid(name, message)` builds the
/// error for a part the endpoint does not accept (unknown, repeated file, too long, not
/// UTF-8). On any error the staged file is removed.
pub async fn read_parts(
    multipart: &mut Multipart,
    spec: &PartSpec<'_>,
    blobs: &dyn BlobStore,
    invalid: &(dyn Fn(&str, String) -> ApiError + Sync),
) -> ApiResult<Parts> {
    let mut parts = Parts::default();
    match read_into(multipart, spec, blobs, invalid, &mut parts).await {
        Ok(()) => Ok(parts),
        Err(e) => {
            parts.discard().await;
            Err(e)
        }
    }
}

async fn read_into(
    multipart: &mut Multipart,
    spec: &PartSpec<'_>,
    blobs: &dyn BlobStore,
    invalid: &(dyn Fn(&str, String) -> ApiError + Sync),
    parts: &mut Parts,
) -> ApiResult<()> {
    let mut seen = 0usize;
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        seen += 1;
        if seen > spec.max_parts {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "Payload too large",
                format!("the form has more than {} parts", spec.max_parts),
            ));
        }
        let name = field.name().unwrap_or_default().chars().take(64).collect::<String>();
        if name == spec.file {
            if parts.file.is_some() {
                return Err(invalid(&name, format!("send exactly one `{}` part", spec.file)));
            }
            let filename = field.file_name().map(|f| f.chars().take(255).collect::<String>());
            parts.file = Some((stage_file(&mut field, blobs, spec.max_file_bytes).await?, filename));
        } else if spec.texts.contains(&name.as_str()) {
            let text = read_text(&mut field, &name, spec.max_text_bytes, invalid).await?;
            parts.texts.push((name, text));
        } else {
            return Err(invalid(
                &name,
                format!("unknown field {name:?}; known fields are {}, {}", spec.file, spec.texts.join(", ")),
            ));
        }
    }
    Ok(())
}

/// Streams a file part to a temporary blob (hashed, fsynced), refusing it past `limit`
/// bytes. On any error the temporary file is removed.
async fn stage_file(field: &mut Field<'_>, blobs: &dyn BlobStore, limit: u64) -> ApiResult<StagedBlob> {
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
    invalid: &(dyn Fn(&str, String) -> ApiError + Sync),
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

#[cfg(test)]
#[path = "multipart_tests.rs"]
mod tests;
