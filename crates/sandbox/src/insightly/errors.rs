//! Error answers as Insightly gives them: a status code and a short plain-text body. The
//! swagger documents no error body, and the public clients treat it as opaque text (amp-labs
//! mocks `API User does not have access to CommunityComments.` as text), so a client must branch
//! on the status; the text names the field or parameter at fault for a person to read.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsightlyError {
    pub status: StatusCode,
    pub message: String,
    /// Seconds to wait (429 only), sent as `Retry-After`.
    pub retry_after_secs: Option<u64>,
}

/// Result of every handler.
pub type InsightlyResult<T> = Result<T, InsightlyError>;

impl InsightlyError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    /// 400: "Often missing or invalid parameter" / "Data validation error".
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: "Authentication failed." / "Invalid api key provided."
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 404 "Record not found." naming the object and id.
    pub fn not_found(what: &str, id: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            format!("Record not found: {what} {id}."),
        )
    }

    /// 404 for a path the emulator does not serve.
    pub fn no_route(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            format!("No HTTP resource was found that matches {method} {path}."),
        )
    }

    /// 429 with the seconds until requests are allowed again.
    pub fn rate_limited(message: impl Into<String>, retry_after_secs: u64) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, message);
        e.retry_after_secs = Some(retry_after_secs);
        e
    }

    /// An injected 5xx (fault rules): nothing was done.
    pub fn server_error(status: StatusCode) -> Self {
        let reason = status.canonical_reason().unwrap_or("Server error");
        Self::new(status, reason)
    }
}

impl IntoResponse for InsightlyError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, self.message).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if let Some(secs) = self.retry_after_secs {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}
