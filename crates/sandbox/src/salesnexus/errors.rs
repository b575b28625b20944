//! Error answers of the SalesNexus emulator. The real API's error body format is undocumented:
//! its official CLI shows the raw response text for 409 and 422 (`client.py` `_raise_for_status`),
//! so every failure here is a plain-text body that names what is wrong (`firstName is required`,
//! `Field 'Tags' already exists`), with `Retry-After` on 429.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// An error answer: a status and a human-readable text body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnError {
    pub status: StatusCode,
    pub message: String,
    /// Seconds to wait, sent as `Retry-After` (429 only).
    pub retry_after: Option<u64>,
}

/// Result type of the emulator's handlers and store operations.
pub type SnResult<T> = Result<T, SnError>;

impl SnError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400: a malformed request (bad JSON, a bad query value).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: a missing, malformed or unknown API key.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 404 for `<what> <id>` (unknown, hard-deleted or soft-deleted).
    pub fn not_found(what: &str, id: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} {id} not found"))
    }

    /// 404 for an unknown route.
    pub fn no_route(method: &str, path: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("no route {method} {path}"))
    }

    /// 409: a clash with existing data (a custom field name that exists).
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// 422: validation; the message names the field.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// 429 with the seconds until a retry can succeed.
    pub fn too_many(retry_after: u64, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, message);
        e.retry_after = Some(retry_after.max(1));
        e
    }

    /// An injected 5xx (fault rules): nothing was done.
    pub fn server(status: StatusCode) -> Self {
        Self::new(status, status.canonical_reason().unwrap_or("server error"))
    }
}

impl IntoResponse for SnError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, self.message).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}
