//! Error answers of the "Your App" contract: one JSON shape for every failure,
//! `{"error":{"code":…,"message":…,"details":{…}}}`, so a connector can branch on `code` alone
//! and show `message` to a person. `details` always exists (possibly empty), so clients never
//! need to test for its presence.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// An error answer: status, stable code, human message, machine-readable details.
#[derive(Debug, Clone)]
pub struct RestError {
    pub status: StatusCode,
    /// One of `not_found`, `validation_failed`, `conflict`, `rate_limited`, `unauthorized`,
    /// `precondition_failed`, or `server_error` for injected 5xx answers.
    pub code: &'static str,
    pub message: String,
    pub details: Value,
    /// Seconds to wait before retrying (429 only); sent as `Retry-After`.
    pub retry_after_secs: Option<u64>,
}

/// Result type of every handler of the emulator.
pub type RestResult<T> = Result<T, RestError>;

impl RestError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Value::Object(Map::new()),
            retry_after_secs: None,
        }
    }

    /// Replaces `details`.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// 404 for an unknown (or soft-deleted) record, or an unknown route.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 404 naming the kind and id, the common case.
    pub fn record_not_found(kind: &str, id: &str) -> Self {
        Self::not_found(format!("{kind} {id} not found"))
            .with_details(json!({"kind": kind, "id": id}))
    }

    /// 400: the request itself is malformed (bad JSON, bad query parameter, bad cursor).
    pub fn bad_request(message: impl Into<String>, details: Value) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "validation_failed", message).with_details(details)
    }

    /// 400 naming one query parameter and what is wrong with it.
    pub fn bad_param(name: &str, problem: &str) -> Self {
        Self::bad_request(
            format!("invalid query parameter {name}: {problem}"),
            json!({"parameters": {name: problem}}),
        )
    }

    /// 422 with one entry per offending field: `details.fields.<name> = "<problem>"`; the
    /// message names every field too, so a log line alone says what to fix.
    pub fn invalid_fields(problems: Map<String, Value>) -> Self {
        let names: Vec<String> = problems
            .iter()
            .map(|(k, v)| format!("{k} ({})", v.as_str().unwrap_or("invalid")))
            .collect();
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("validation failed: {}", names.join(", ")),
        )
        .with_details(json!({ "fields": problems }))
    }

    /// 422 for one field.
    pub fn invalid_field(name: &str, problem: &str) -> Self {
        let mut m = Map::new();
        m.insert(name.to_string(), Value::String(problem.to_string()));
        Self::invalid_fields(m)
    }

    /// 409: the change clashes with existing data (e.g. an email another contact uses).
    pub fn conflict(message: impl Into<String>, details: Value) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message).with_details(details)
    }

    /// 412: `If-Match` named a version that is no longer current.
    pub fn precondition_failed(expected: &str, current: u64) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            format!("If-Match {expected} does not match the current version {current}"),
        )
        .with_details(json!({"if_match": expected, "current_version": current}))
    }

    /// 401: missing or wrong API key.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 429 with the seconds until the window resets.
    pub fn rate_limited(retry_after_secs: u64, limit: u32, window_secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("rate limit of {limit} requests per {window_secs} s exceeded"),
        )
        .with_details(json!({"retry_after": retry_after_secs}));
        e.retry_after_secs = Some(retry_after_secs);
        e
    }

    /// An injected 5xx (fault rules): nothing was done.
    pub fn server_error(status: StatusCode) -> Self {
        let reason = status.canonical_reason().unwrap_or("server error");
        Self::new(status, "server_error", reason)
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let body =
            json!({"error": {"code": self.code, "message": self.message, "details": self.details}});
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            resp.headers_mut()
                .insert("retry-after", HeaderValue::from(secs));
        }
        resp
    }
}
