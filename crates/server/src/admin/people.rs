//! `GET /api/v1/people`: the unified view of one person (every app's contact, tags, tasks,
//! notes and appointments), the same view `ghl-bridge view` prints.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::unified::{UnifiedView, ViewError, Who};

use super::error::{ApiError, ErrorBody};
use super::query::Params;
use crate::AppState;

/// One person by `email`, or by `contact` id (in `connection`, or GHL connections first).
/// The body is the engine's person view (`identity_id`, `summary`, `apps`).
#[utoipa::path(get, path = "/api/v1/people", params(
    ("email" = Option<String>, Query, description = "look the person up by email"),
    ("contact" = Option<String>, Query, description = "look the person up by a contact id"),
    ("connection" = Option<String>, Query, description = "the connection `contact` is in")),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 502, body = ErrorBody)))]
pub async fn person(
    State(s): State<Arc<AppState>>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let p = Params::new(q, &["email", "contact", "connection"])?;
    let who = match (p.text("email"), p.text("contact")) {
        (Some(email), None) => Who::Email(email),
        (None, Some(id)) => Who::Contact {
            connection: p.text("connection"),
            id,
        },
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_param(
                "contact",
                "give `email` or `contact`, not both",
            ))
        }
        (None, None) => return Err(ApiError::bad_param("email", "give `email` or `contact`")),
    };
    let view = UnifiedView::new(s.engine.store.as_ref(), &s.engine.connectors);
    match view.person(&who).await {
        Ok(Some(person)) => Ok(Json(person).into_response()),
        Ok(None) => Err(ApiError::not_found("no person matches")),
        Err(ViewError::Invalid(m)) => Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid", m)),
        Err(ViewError::Store(e)) => Err(e.into()),
        Err(e @ ViewError::Connector { .. }) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "app_unavailable",
            e.to_string(),
        )),
    }
}
