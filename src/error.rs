//! `ApiError`: every failure a client can see, rendered as RFC 9457 problem+json with a stable `code`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A problem a client caused or may see. 5xx are logged with their cause and answered opaquely.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{detail}")]
    Problem { status: StatusCode, code: &'static str, title: &'static str, detail: String, field: Option<String> },
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Self::Problem { status, code, title, detail: detail.into(), field: None }
    }
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized", "valid credentials are required")
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found", format!("{what} not found"))
    }
    /// A bad request field: 422 naming the field.
    pub fn invalid_field(field: &str, code: &'static str, detail: impl Into<String>) -> Self {
        Self::Problem {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code,
            title: "Invalid field",
            detail: detail.into(),
            field: Some(field.to_string()),
        }
    }
    pub fn validation(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "Validation failed", detail)
    }
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", "Bad request", detail)
    }
    pub fn payload_too_large(limit: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "Payload too large",
            format!("the upload exceeds the limit of {limit} bytes"),
        )
    }
    pub fn code(&self) -> &'static str {
        match self {
            Self::Problem { code, .. } => code,
            Self::Internal(_) => "internal_error",
        }
    }
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Problem { status, .. } => *status,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(anyhow::Error::new(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, title, detail, field) = match &self {
            Self::Problem { status, code, title, detail, field } => {
                (*status, *code, *title, detail.as_str(), field.as_deref())
            }
            Self::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "Internal server error",
                    "an internal error occurred; it has been logged",
                    None,
                )
            }
        };
        problem_response(status, code, title, detail, field)
    }
}

/// Renders one problem+json response.
pub fn problem_response(status: StatusCode, code: &str, title: &str, detail: &str, field: Option<&str>) -> Response {
    let body = ProblemBody {
        kind: format!("https://dictaflow.org/problems/{}", code.replace('_', "-")),
        title,
        status: status.as_u16(),
        detail,
        code,
        field,
    };
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        // The rest of the request body is not read: the connection cannot carry another
        // request, and a client must not put it back in its pool.
        resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

pub type ApiResult<T> = Result<T, ApiError>;
