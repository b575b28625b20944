//! `POST /api/v1/flows/validate`: checks a flow file's YAML the way `ghl-bridge validate`
//! does, against the connections this server runs, and answers every problem with its line,
//! column and field, so an editor can check a flow before it is saved.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::flow::{parse_flow, AppKind, Connections, FlowBody};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use crate::AppState;

/// Largest flow file accepted (256 KiB).
const MAX_FLOW: usize = 256 << 10;

/// One problem in the flow.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiagnosticOut {
    pub line: usize,
    pub col: usize,
    /// The field at fault, as a path (`sync.match.contact`).
    pub field: String,
    pub message: String,
    pub help: Option<String>,
}

/// The verdict: `valid` with the flow's name and kind, or the diagnostics.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidateOut {
    pub valid: bool,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub diagnostics: Vec<DiagnosticOut>,
}

/// Validates a flow file (the request body, YAML) against the server's active connections.
/// An invalid flow is still a 200: the answer is the list of problems.
#[utoipa::path(post, path = "/api/v1/flows/validate",
    request_body(content = String, content_type = "application/yaml"),
    responses((status = 200, body = ValidateOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn validate(State(s): State<Arc<AppState>>, body: Body) -> Result<Response, ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_FLOW).await.map_err(|_| {
        ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the flow is larger than {MAX_FLOW} bytes"),
        )
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "bad_body",
            format!("the body is not UTF-8 text: {e}"),
        )
    })?;
    let connections: Connections = s
        .engine
        .connectors
        .iter()
        .filter_map(|(name, c)| Some((name.clone(), AppKind::parse(c.app())?)))
        .collect();
    let out = match parse_flow(text, "flow.yaml", &connections) {
        Ok(flow) => ValidateOut {
            valid: true,
            kind: Some(
                match flow.body {
                    FlowBody::Sync(_) => "sync",
                    FlowBody::Actions(_) => "actions",
                }
                .into(),
            ),
            name: Some(flow.name),
            diagnostics: Vec::new(),
        },
        Err(e) => ValidateOut {
            valid: false,
            name: None,
            kind: None,
            diagnostics: e
                .diagnostics
                .into_iter()
                .map(|d| DiagnosticOut {
                    line: d.line,
                    col: d.col,
                    field: d.path,
                    message: d.message,
                    help: d.help,
                })
                .collect(),
        },
    };
    Ok(Json(out).into_response())
}
