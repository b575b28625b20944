//! `GET /api/v1/ping` and the contact routes, with the helpers every route shares (query
//! parameters, JSON bodies, integer ids). Unknown query parameters are ignored, as the API's
//! framework does: `GET /tasks?page=2` is page 1 (tasks count pages with `pageNumber`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::errors::{SnError, SnResult};
use super::model::{field_updates, Kind};
use super::store::{ACCOUNT_ID, API_USER_EMAIL};
use super::SnApp;

pub(super) type S = State<Arc<SnApp>>;

/// The query string as pairs; a malformed one is a 400.
pub(super) fn pairs(raw: Option<String>) -> SnResult<Vec<(String, String)>> {
    serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| SnError::bad_request(format!("bad query string: {e}")))
}

/// The value of a query parameter (the first one, names compared ignoring case).
pub(super) fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// An integer parameter: absent → `default`; at least `min`; above `max` it is cut to `max`
/// (the API answers with the page size it used).
pub(super) fn int_param(
    q: &[(String, String)],
    name: &str,
    default: usize,
    min: usize,
    max: usize,
) -> SnResult<usize> {
    match param(q, name) {
        None | Some("") => Ok(default),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if n >= min => Ok(n.min(max)),
            _ => Err(SnError::bad_request(format!(
                "{name} must be an integer of at least {min}"
            ))),
        },
    }
}

/// An optional id parameter (`contactId=12`).
pub(super) fn id_param(q: &[(String, String)], name: &str) -> SnResult<Option<i64>> {
    match param(q, name) {
        None | Some("") => Ok(None),
        Some(v) => v
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| SnError::bad_request(format!("{name} must be an integer"))),
    }
}

/// A path id; anything but an integer matches no record (404), like a typed route.
pub(super) fn path_id(kind: Kind, raw: &str) -> SnResult<i64> {
    raw.parse::<i64>()
        .map_err(|_| SnError::not_found(kind.title(), raw))
}

/// A JSON object body; empty is `{}`, anything else malformed is a 400.
pub(super) fn object(body: &Bytes) -> SnResult<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(SnError::bad_request(
            "the request body must be a JSON object",
        )),
        Err(e) => Err(SnError::bad_request(format!("invalid JSON body: {e}"))),
    }
}

async fn ping(State(app): S) -> Json<Value> {
    let _ = app;
    Json(json!({"message": "pong", "user": API_USER_EMAIL, "accountId": ACCOUNT_ID}))
}

/// `GET /contacts?page=&pageSize=(≤100)&search=` → `{data,totalItems,page,pageSize}`.
async fn list_contacts(State(app): S, RawQuery(raw): RawQuery) -> SnResult<Json<Value>> {
    let q = pairs(raw)?;
    let page = int_param(&q, "page", 1, 1, usize::MAX)?;
    let size = int_param(&q, "pageSize", 20, 1, 100)?;
    let found = app
        .store
        .lock()
        .contacts_page(param(&q, "search"), page, size);
    let data: Vec<Value> = found.rows.iter().map(|r| app.json(r)).collect();
    Ok(Json(
        json!({"data": data, "totalItems": found.total, "page": page, "pageSize": size}),
    ))
}

pub(super) async fn get_one(app: Arc<SnApp>, kind: Kind, raw: String) -> SnResult<Json<Value>> {
    let id = path_id(kind, &raw)?;
    let r = app.store.lock().get(kind, id)?.clone();
    Ok(Json(app.json(&r)))
}

pub(super) async fn create(app: Arc<SnApp>, kind: Kind, body: Bytes) -> SnResult<Response> {
    let r = app.create(kind, &object(&body)?)?;
    Ok((StatusCode::CREATED, Json(app.json(&r))).into_response())
}

pub(super) async fn update(
    app: Arc<SnApp>,
    kind: Kind,
    raw: String,
    body: Bytes,
) -> SnResult<Json<Value>> {
    let id = path_id(kind, &raw)?;
    let r = app.update(kind, id, &object(&body)?)?;
    Ok(Json(app.json(&r)))
}

pub(super) async fn remove(app: Arc<SnApp>, kind: Kind, raw: String) -> SnResult<StatusCode> {
    let id = path_id(kind, &raw)?;
    app.store.lock().delete(kind, id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The contact ids a batch body selects (`selectionMode: ids`); saved lookups are not
/// emulated, so `lookup` names one that does not exist.
fn selection(body: &Map<String, Value>) -> SnResult<Vec<i64>> {
    match body.get("selectionMode").and_then(Value::as_str) {
        Some("ids") => {
            let ids = body.get("contactIds").and_then(Value::as_array);
            let ids = ids.ok_or_else(|| {
                SnError::invalid("contactIds is required when selectionMode is ids")
            })?;
            ids.iter()
                .map(|v| {
                    v.as_i64()
                        .ok_or_else(|| SnError::invalid("contactIds must be integers"))
                })
                .collect()
        }
        Some("lookup") => {
            let id = body
                .get("lookupId")
                .and_then(Value::as_i64)
                .ok_or_else(|| {
                    SnError::invalid("lookupId is required when selectionMode is lookup")
                })?;
            Err(SnError::not_found("Lookup", id))
        }
        _ => Err(SnError::invalid("selectionMode must be ids or lookup")),
    }
}

/// `POST /contacts/batch-update` `{selectionMode, contactIds|lookupId, fieldUpdates}`.
async fn batch_update(State(app): S, body: Bytes) -> SnResult<Json<Value>> {
    let body = object(&body)?;
    let ids = selection(&body)?;
    let updates = match body.get("fieldUpdates") {
        Some(Value::Object(m)) if !m.is_empty() => m.clone(),
        _ => return Err(SnError::invalid("fieldUpdates is required")),
    };
    let changes = field_updates(&updates)?;
    let (ok, failed) = app.store.lock().batch_update(&ids, &changes)?;
    Ok(Json(
        json!({"successCount": ok, "failedCount": failed.len(), "failedIds": failed}),
    ))
}

/// `DELETE /contacts/batch-delete` with a JSON body.
async fn batch_delete(State(app): S, body: Bytes) -> SnResult<Json<Value>> {
    let ids = selection(&object(&body)?)?;
    let (ok, failed) = app.store.lock().batch_delete(&ids);
    Ok(Json(json!({
        "successCount": ok, "deletedCount": ok, "opportunitiesDeletedCount": 0, "failedIds": failed,
    })))
}

/// Ping and the contact routes; the caller adds the gate and the log layer.
pub fn api() -> Router<Arc<SnApp>> {
    let k = Kind::Contact;
    Router::new()
        .route("/api/v1/ping", get(ping))
        .route(
            "/api/v1/contacts",
            get(list_contacts).post(move |State(a): S, b: Bytes| create(a, k, b)),
        )
        .route("/api/v1/contacts/batch-update", post(batch_update))
        .route("/api/v1/contacts/batch-delete", delete(batch_delete))
        .route(
            "/api/v1/contacts/{id}",
            get(move |State(a): S, Path(id): Path<String>| get_one(a, k, id))
                .put(move |State(a): S, Path(id): Path<String>, b: Bytes| update(a, k, id, b))
                .delete(move |State(a): S, Path(id): Path<String>| remove(a, k, id)),
        )
}
