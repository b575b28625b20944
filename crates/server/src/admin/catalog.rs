//! `GET /api/v1/catalog`: the triggers and actions a flow can use, from the `catalog` crate
//! (the same entries `ghl-bridge catalog` prints).

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use axum::Json;
use catalog::EntryType;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::query::Params;

/// The matching catalog entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogOut {
    pub count: usize,
    /// Entries: id, app, kind (`trigger`/`action`), title, description, inputs, outputs,
    /// snippet.
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<Value>,
}

/// Lists catalog entries, optionally of one app and one type.
#[utoipa::path(get, path = "/api/v1/catalog", params(
    ("app" = Option<String>, Query, description = "an app id, e.g. `ghl`"),
    ("type" = Option<String>, Query, description = "`trigger` or `action`")),
    responses((status = 200, body = CatalogOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn list(
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let p = Params::new(q, &["app", "type"])?;
    let app = p.text("app");
    if let Some(a) = &app {
        if !catalog::APPS.iter().any(|(id, _)| id == a) {
            let known: Vec<&str> = catalog::APPS.iter().map(|(id, _)| *id).collect();
            return Err(ApiError::bad_param(
                "app",
                format!("unknown app `{a}`; known: {}", known.join(", ")),
            ));
        }
    }
    let kind = match p.text("type") {
        None => None,
        Some(t) => Some(EntryType::parse(&t).ok_or_else(|| {
            ApiError::bad_param("type", format!("`{t}` is not `trigger` or `action`"))
        })?),
    };
    let entries: Vec<Value> = catalog::filtered(app.as_deref(), kind)
        .into_iter()
        .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
        .collect();
    Ok(Json(CatalogOut {
        count: entries.len(),
        entries,
    })
    .into_response())
}
