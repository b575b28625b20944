//! The admin API's one error shape: `{"error": {"code", "message", "details"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::store::StoreError;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// Body of every admin error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong: a stable `code` for programs, a `message` for people, and `details`
/// (e.g. `{"parameter": "limit"}`) naming what to fix.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[schema(value_type = Object)]
    pub details: Value,
}

/// An admin error: status plus [`ErrorBody`].
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    /// An error with empty details.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                error: ErrorDetail {
                    code: code.into(),
                    message: message.into(),
                    details: Value::Object(Default::default()),
                },
            },
        }
    }

    /// Attaches details.
    pub fn with_details(mut self, details: Value) -> ApiError {
        self.body.error.details = details;
        self
    }

    /// The HTTP status (the dashboard shows refusals on its own pages).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message for people, naming what to fix.
    pub fn message(&self) -> &str {
        &self.body.error.message
    }

    /// The machine-readable details (`diagnostics`, `field` …).
    pub fn details(&self) -> &Value {
        &self.body.error.details
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 400 `bad_query` naming the query parameter at fault.
    pub fn bad_param(parameter: &str, why: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            format!("query parameter `{parameter}`: {}", why.into()),
        )
        .with_details(serde_json::json!({ "parameter": parameter }))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match &e {
            StoreError::NotFound { .. } => ApiError::not_found(e.to_string()),
            StoreError::Invalid { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid", e.to_string())
            }
            _ => {
                tracing::error!(error = %e, "admin API: store error");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    e.to_string(),
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
