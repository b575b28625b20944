//! Sub-resources of contacts and organisations (tags, notes created under the record) and the
//! few other routes a connector needs: `GET /Users/Me` (the connection check),
//! `GET /CustomFields/{objectName}` and `GET /Tags?record_type=`.
//!
//! Tags: `POST /{Object}/{id}/Tags` adds one (`{"TAG_NAME": "x"}`), `PUT` replaces the set (an
//! array of `APITag`, or one), `DELETE` removes the one named **in the body** (the v3.1 form) or
//! in the path (`DELETE …/Tags/{tagName}`, the v2.2 form, also accepted). Tag names compare
//! ignoring case.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::errors::{InsightlyError, InsightlyResult};
use super::routes::{id, json_body, object, params};
use super::schema::Obj;
use super::service::tag_name;
use super::InsightlyApp;

type S = State<Arc<InsightlyApp>>;
type R = InsightlyResult<Response>;

fn bad(m: impl Into<String>) -> InsightlyError {
    InsightlyError::bad_request(m)
}

async fn get_tags(app: Arc<InsightlyApp>, obj: Obj, raw: String) -> R {
    let id = id(&raw)?;
    let store = app.store.lock();
    let rec = store
        .get(obj, id)
        .ok_or_else(|| InsightlyError::not_found(obj.singular(), id))?;
    let tags: Vec<Value> = rec.tags.iter().map(|t| json!({"TAG_NAME": t})).collect();
    // The swagger documents 201 for this read.
    Ok((StatusCode::CREATED, Json(Value::Array(tags))).into_response())
}

async fn add_tag(app: Arc<InsightlyApp>, obj: Obj, raw: String, body: Bytes) -> R {
    let name = tag_name(&json_body(&body)?)?;
    let added = name.clone();
    app.edit_tags(obj, id(&raw)?, move |tags| {
        if !tags.iter().any(|t| t.eq_ignore_ascii_case(&added)) {
            tags.push(added);
        }
        Ok(())
    })?;
    Ok((StatusCode::CREATED, Json(json!({"TAG_NAME": name}))).into_response())
}

async fn replace_tags(app: Arc<InsightlyApp>, obj: Obj, raw: String, body: Bytes) -> R {
    let items = match json_body(&body)? {
        Value::Array(a) => a,
        Value::Null => Vec::new(),
        one => vec![one],
    };
    let mut names: Vec<String> = Vec::new();
    for item in &items {
        let n = tag_name(item)?;
        if !names.iter().any(|t| t.eq_ignore_ascii_case(&n)) {
            names.push(n);
        }
    }
    let out = app.edit_tags(obj, id(&raw)?, move |tags| {
        *tags = names;
        Ok(())
    })?;
    Ok((StatusCode::CREATED, Json(Value::Array(out))).into_response())
}

async fn remove_tag(app: Arc<InsightlyApp>, obj: Obj, raw: String, name: String) -> R {
    app.edit_tags(obj, id(&raw)?, move |tags| {
        let before = tags.len();
        tags.retain(|t| !t.eq_ignore_ascii_case(name.trim()));
        if tags.len() == before {
            // The swagger's 417: "Delete failed."
            return Err(InsightlyError::new(
                StatusCode::EXPECTATION_FAILED,
                format!("Delete failed: the record has no tag {name:?}."),
            ));
        }
        Ok(())
    })?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `POST /{Object}/{id}/Notes`: the one way to create a note in v3.1.
pub async fn add_note(app: Arc<InsightlyApp>, parent: Obj, raw: String, body: Bytes) -> R {
    let body = object(&body)?;
    let note = app.create(Obj::Note, &body, Some((parent, id(&raw)?)))?;
    Ok((StatusCode::CREATED, Json(note)).into_response())
}

/// `PUT /{Object}/{id}/Notes`: updates one of the record's notes (`NOTE_ID` in the body).
pub async fn update_note(app: Arc<InsightlyApp>, parent: Obj, raw: String, body: Bytes) -> R {
    let parent_id = id(&raw)?;
    let body = object(&body)?;
    let note_id = body
        .get("NOTE_ID")
        .and_then(|v| v.as_i64().or_else(|| v.as_str()?.trim().parse().ok()))
        .ok_or_else(|| bad("NOTE_ID is required to update a note."))?;
    {
        let store = app.store.lock();
        if store.get(parent, parent_id).is_none() {
            return Err(InsightlyError::not_found(parent.singular(), parent_id));
        }
        let linked = store
            .linked(Obj::Note, (parent, parent_id))
            .iter()
            .any(|n| n.id == note_id);
        if !linked {
            return Err(InsightlyError::not_found("Note", note_id));
        }
    }
    let note = app.update(Obj::Note, Some(note_id), &body)?;
    Ok((StatusCode::CREATED, Json(note)).into_response())
}

/// The tag routes of a contact or organisation.
pub fn parent_routes(obj: Obj) -> Router<Arc<InsightlyApp>> {
    let p = obj.plural();
    Router::new()
        .route(
            &format!("/v3.1/{p}/{{id}}/Tags"),
            get(move |State(a): S, Path(i): Path<String>| get_tags(a, obj, i))
                .post(move |State(a): S, Path(i): Path<String>, b: Bytes| add_tag(a, obj, i, b))
                .put(move |State(a): S, Path(i): Path<String>, b: Bytes| replace_tags(a, obj, i, b))
                .delete(
                    move |State(a): S, Path(i): Path<String>, b: Bytes| async move {
                        let name = tag_name(&json_body(&b)?)?;
                        remove_tag(a, obj, i, name).await
                    },
                ),
        )
        .route(
            &format!("/v3.1/{p}/{{id}}/Tags/{{tagName}}"),
            delete(move |State(a): S, Path((i, t)): Path<(String, String)>| {
                remove_tag(a, obj, i, t)
            }),
        )
}

async fn me(State(app): S) -> Json<Value> {
    Json(app.store.lock().me(app.started()))
}

async fn custom_fields(State(app): S, Path(name): Path<String>) -> R {
    let obj = Obj::parse(&name).ok_or_else(|| {
        bad(format!(
            "Invalid objectName {name:?}: one of Contacts, Organisations, Tasks, Notes, Events."
        ))
    })?;
    let store = app.store.lock();
    let defs: Vec<Value> = store
        .defs(obj)
        .iter()
        .enumerate()
        .map(|(i, d)| d.to_json(obj, i))
        .collect();
    Ok(Json(Value::Array(defs)).into_response())
}

/// `GET /Tags?record_type=contacts`: every tag used by records of that type.
async fn all_tags(State(app): S, RawQuery(q): RawQuery) -> R {
    let p = params(q, &["record_type", "skip", "top", "count_total"])?;
    let kind = p
        .record_type
        .clone()
        .ok_or_else(|| bad("record_type is required (contacts, organisations, …)."))?;
    let obj = Obj::parse(&kind)
        .filter(|o| o.has_tags())
        .ok_or_else(|| bad(format!("Invalid record_type {kind:?}.")))?;
    let store = app.store.lock();
    let mut seen = BTreeSet::new();
    let mut names = Vec::new();
    for t in store.all(obj).flat_map(|r| r.tags.iter()) {
        if seen.insert(t.to_lowercase()) {
            names.push(json!({"TAG_NAME": t}));
        }
    }
    let total = names.len();
    let rows: Vec<Value> = names.into_iter().skip(p.skip).take(p.top).collect();
    let mut resp = Json(Value::Array(rows)).into_response();
    if p.count_total {
        resp.headers_mut().insert("x-total-count", total.into());
    }
    Ok(resp)
}

/// `/Users/Me`, `/CustomFields/{objectName}`, `/Tags`.
pub fn misc_routes() -> Router<Arc<InsightlyApp>> {
    Router::new()
        .route("/v3.1/Users/Me", get(me))
        .route("/v3.1/CustomFields/{objectName}", get(custom_fields))
        .route("/v3.1/Tags", get(all_tags))
}
