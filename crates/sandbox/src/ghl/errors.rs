//! GHL-shaped error answers.
//!
//! GoHighLevel answers errors with NestJS-style bodies: `{"statusCode":400,"message":"…"}`, and for
//! validation failures `{"statusCode":422,"message":["…","…"],"error":"Unprocessable Entity"}`.
//! Clients (ours and GHL's SDKs) key off those shapes, so the sandbox reproduces them exactly.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// An error answer of the GHL API: status plus the exact JSON body GHL would send.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status of the answer.
    pub status: StatusCode,
    /// JSON body, already in GHL's shape.
    pub body: Value,
    /// Seconds a client should wait before retrying (429 only).
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body,
            retry_after_secs: None,
        }
    }

    /// 400 with a single message, as GHL answers bad ids and malformed requests.
    pub fn bad_request(message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(
            StatusCode::BAD_REQUEST,
            json!({"statusCode": 400, "message": message}),
        )
    }

    /// 400 with extra `meta` (GHL uses it for duplicate contacts).
    pub fn bad_request_with_meta(message: impl Into<String>, meta: Value) -> Self {
        let message = message.into();
        Self::new(
            StatusCode::BAD_REQUEST,
            json!({"statusCode": 400, "message": message, "meta": meta}),
        )
    }

    /// 401: missing, unknown or expired token, or a scope the token lacks.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(
            StatusCode::UNAUTHORIZED,
            json!({"statusCode": 401, "message": message, "error": "Unauthorized"}),
        )
    }

    /// 403: the token belongs to another location or company.
    pub fn forbidden(message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(
            StatusCode::FORBIDDEN,
            json!({"statusCode": 403, "message": message, "error": "Forbidden"}),
        )
    }

    /// 404 for routes that do not exist at all.
    pub fn not_found(message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(
            StatusCode::NOT_FOUND,
            json!({"statusCode": 404, "message": message, "error": "Not Found"}),
        )
    }

    /// 422 with class-validator style messages, one per problem.
    pub fn unprocessable(messages: Vec<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"statusCode": 422, "message": messages, "error": "Unprocessable Entity"}),
        )
    }

    /// 429 when the burst window or the daily budget is spent.
    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"statusCode": 429, "message": "Too Many Requests", "error": "Too Many Requests"}),
        );
        e.retry_after_secs = Some(retry_after_secs);
        e
    }

    /// A 5xx answer, used by fault injection.
    pub fn server_error(status: StatusCode) -> Self {
        let reason = status.canonical_reason().unwrap_or("Internal Server Error");
        Self::new(
            status,
            json!({"statusCode": status.as_u16(), "message": reason, "error": reason}),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            resp.headers_mut()
                .insert("retry-after", HeaderValue::from(secs));
        }
        resp
    }
}

/// Result type of every sandbox handler.
pub type ApiResult<T> = Result<T, ApiError>;
