//! Task, note and contact-field routes.
//!
//! - Tasks page with `pageNumber` (not `page`) and `pageSize` ≤ 200 and answer the "ApiResponse
//!   envelope" `{data, pagination:{totalCount,pageNumber,pageSize}}`. `scope` is `own` (the
//!   default: only the key's user's tasks, on the list and on `GET /tasks/{id}`) or `all`;
//!   `startDate`/`endDate` (`YYYY-MM-DD`, inclusive) filter on `dateFrom`. There is no contact
//!   filter.
//! - Notes answer a flat JSON array, filtered by `contactId` / `opportunityId`, paged with
//!   `page`/`pageSize` (≤ 100 here; the API does not say).
//! - `GET /contact-fields` is a flat array of definitions, system fields first;
//!   `POST /contact-fields` adds one (409 on a name in use); `PUT /contact-fields/{name}`
//!   replaces a field's options.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

use super::errors::{SnError, SnResult};
use super::model::Kind;
use super::routes::{
    create, id_param, int_param, object, pairs, param, path_id, remove, update, S,
};
use super::store::{FieldDef, TaskFilter, API_USER_ID, FIELD_TYPES};
use super::SnApp;

fn own_only(q: &[(String, String)]) -> SnResult<bool> {
    match param(q, "scope").map(str::trim) {
        None | Some("") | Some("own") => Ok(true),
        Some("all") => Ok(false),
        Some(other) => Err(SnError::bad_request(format!(
            "scope must be own or all, not {other:?}"
        ))),
    }
}

fn date_param(q: &[(String, String)], name: &str) -> SnResult<Option<NaiveDate>> {
    match param(q, name) {
        None | Some("") => Ok(None),
        Some(v) => NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
            .map(Some)
            .map_err(|_| SnError::bad_request(format!("{name} must be YYYY-MM-DD"))),
    }
}

/// `GET /tasks?pageNumber=&pageSize=(≤200)&scope=own|all&startDate=&endDate=`.
async fn list_tasks(State(app): S, RawQuery(raw): RawQuery) -> SnResult<Json<Value>> {
    let q = pairs(raw)?;
    let page = int_param(&q, "pageNumber", 1, 1, usize::MAX)?;
    let size = int_param(&q, "pageSize", 20, 1, 200)?;
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    let filter = TaskFilter {
        own_only: own_only(&q)?,
        start: date_param(&q, "startDate")?.and_then(midnight),
        end: date_param(&q, "endDate")?
            .and_then(midnight)
            .map(|t| t + Duration::days(1)),
    };
    let found = app.store.lock().tasks_page(&filter, page, size);
    let data: Vec<Value> = found.rows.iter().map(|r| app.json(r)).collect();
    Ok(Json(json!({
        "data": data,
        "pagination": {"totalCount": found.total, "pageNumber": page, "pageSize": size},
    })))
}

/// `GET /tasks/{id}?scope=`: with `scope=own` (the default) another user's task is a 404.
async fn get_task(
    State(app): S,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> SnResult<Json<Value>> {
    let own = own_only(&pairs(q)?)?;
    let id = path_id(Kind::Task, &raw)?;
    let t = app.store.lock().get(Kind::Task, id)?.clone();
    if own && t.int("assignedToUserId") != Some(API_USER_ID) {
        return Err(SnError::not_found("Task", id));
    }
    Ok(Json(app.json(&t)))
}

/// `GET /notes?contactId=&opportunityId=&page=&pageSize=` → a flat array.
async fn list_notes(State(app): S, RawQuery(raw): RawQuery) -> SnResult<Json<Value>> {
    let q = pairs(raw)?;
    let page = int_param(&q, "page", 1, 1, usize::MAX)?;
    let size = int_param(&q, "pageSize", 20, 1, 100)?;
    let found = app.store.lock().notes_page(
        id_param(&q, "contactId")?,
        id_param(&q, "opportunityId")?,
        page,
        size,
    );
    Ok(Json(Value::Array(
        found.rows.iter().map(|r| app.json(r)).collect(),
    )))
}

async fn list_fields(State(app): S) -> Json<Value> {
    Json(json!(app.store.lock().fields))
}

fn flag(body: &serde_json::Map<String, Value>, name: &str) -> SnResult<bool> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(SnError::invalid(format!("{name} must be true or false"))),
    }
}

fn options(body: &serde_json::Map<String, Value>) -> SnResult<Vec<String>> {
    match body.get("options") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|o| {
                o.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| SnError::invalid("options must be strings"))
            })
            .collect(),
        Some(_) => Err(SnError::invalid("options must be an array of strings")),
    }
}

/// `POST /contact-fields` `{name, type (0–8), label, isRequired, isDropDown, multiSelect,
/// defaultValue, options}` → 201 with the definition; 409 when the name is taken.
async fn create_field(State(app): S, body: Bytes) -> SnResult<Response> {
    let body = object(&body)?;
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| SnError::invalid("name is required"))?;
    let type_code = match body.get("type") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_u64()
            .filter(|t| *t < FIELD_TYPES.len() as u64)
            .ok_or_else(|| {
                SnError::invalid(format!(
                    "type must be a field type code from 0 to 8 ({})",
                    FIELD_TYPES.join(", ")
                ))
            })? as u8,
    };
    let mut def = FieldDef::new(0, name, type_code);
    if let Some(label) = body.get("label").and_then(Value::as_str) {
        def.label = label.to_string();
    }
    def.is_required = flag(&body, "isRequired")?;
    def.is_drop_down = flag(&body, "isDropDown")?;
    def.multi_select = flag(&body, "multiSelect")?;
    def.default_value = body
        .get("defaultValue")
        .and_then(Value::as_str)
        .map(str::to_string);
    def.options = options(&body)?;
    let def = app.store.lock().add_field(def)?;
    Ok((StatusCode::CREATED, Json(json!(def))).into_response())
}

/// `PUT /contact-fields/{name}` `{options:[…]}`: replaces the options of a custom field.
async fn update_field(
    State(app): S,
    Path(name): Path<String>,
    body: Bytes,
) -> SnResult<Json<Value>> {
    let body = object(&body)?;
    let opts = options(&body)?;
    let mut store = app.store.lock();
    let def = store
        .fields
        .iter_mut()
        .find(|d| d.name.eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| SnError::not_found("Field", &name))?;
    if def.is_system {
        return Err(SnError::invalid(format!(
            "{} is a system field and cannot be changed",
            def.name
        )));
    }
    def.options = opts;
    Ok(Json(json!(def)))
}

/// Task, note and field routes; the caller adds the gate and the log layer.
pub fn api() -> Router<Arc<SnApp>> {
    let (t, n) = (Kind::Task, Kind::Note);
    Router::new()
        .route(
            "/api/v1/tasks",
            get(list_tasks).post(move |State(a): S, b: Bytes| create(a, t, b)),
        )
        .route(
            "/api/v1/tasks/{id}",
            get(get_task)
                .put(move |State(a): S, Path(id): Path<String>, b: Bytes| update(a, t, id, b))
                .delete(move |State(a): S, Path(id): Path<String>| remove(a, t, id)),
        )
        .route(
            "/api/v1/notes",
            get(list_notes).post(move |State(a): S, b: Bytes| create(a, n, b)),
        )
        .route(
            "/api/v1/notes/{id}",
            get(move |State(a): S, Path(id): Path<String>| super::routes::get_one(a, n, id))
                .put(move |State(a): S, Path(id): Path<String>, b: Bytes| update(a, n, id, b))
                .delete(move |State(a): S, Path(id): Path<String>| remove(a, n, id)),
        )
        .route(
            "/api/v1/contact-fields",
            get(list_fields).post(create_field),
        )
        .route("/api/v1/contact-fields/{name}", put(update_field))
}
