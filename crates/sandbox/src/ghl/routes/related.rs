//! Tasks, notes and appointments of a contact.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::{loc, object};
use crate::ghl::auth::TokenInfo;
use crate::ghl::errors::ApiResult;
use crate::ghl::model::{Appointment, Note, Task};
use crate::ghl::Ghl;

type G = State<Arc<Ghl>>;
type T = Extension<TokenInfo>;

pub async fn list_tasks(
    State(g): G,
    Extension(t): T,
    Path(cid): Path<String>,
) -> ApiResult<Json<Value>> {
    g.contact_in(loc(&t), &cid)?;
    Ok(Json(
        json!({"tasks": g.tasks_of(&cid).iter().map(Task::to_json).collect::<Vec<_>>()}),
    ))
}

pub async fn create_task(
    State(g): G,
    Extension(t): T,
    Path(cid): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let body = object(&body)?;
    g.contact_in(loc(&t), &cid)?;
    let task = g.create_task(&cid, &body)?;
    Ok((StatusCode::CREATED, Json(json!({"task": task.to_json()}))))
}

pub async fn get_task(
    State(g): G,
    Extension(t): T,
    Path((cid, tid)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    g.contact_in(loc(&t), &cid)?;
    Ok(Json(json!({"task": g.task(&cid, &tid)?.to_json()})))
}

pub async fn update_task(
    State(g): G,
    Extension(t): T,
    Path((cid, tid)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let body = object(&body)?;
    g.contact_in(loc(&t), &cid)?;
    Ok(Json(
        json!({"task": g.update_task(&cid, &tid, &body)?.to_json()}),
    ))
}

pub async fn complete_task(
    State(g): G,
    Extension(t): T,
    Path((cid, tid)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let body = object(&body)?;
    g.contact_in(loc(&t), &cid)?;
    let mut only = serde_json::Map::new();
    if let Some(c) = body.get("completed") {
        only.insert("completed".into(), c.clone());
    }
    Ok(Json(
        json!({"task": g.update_task(&cid, &tid, &only)?.to_json()}),
    ))
}

pub async fn delete_task(
    State(g): G,
    Extension(t): T,
    Path((cid, tid)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    g.contact_in(loc(&t), &cid)?;
    g.delete_task(&cid, &tid)?;
    Ok(Json(json!({"succeded": true})))
}

pub async fn appointments(
    State(g): G,
    Extension(t): T,
    Path(cid): Path<String>,
) -> ApiResult<Json<Value>> {
    g.contact_in(loc(&t), &cid)?;
    let events: Vec<Value> = g
        .appointments_of(&cid)
        .iter()
        .map(Appointment::to_json)
        .collect();
    Ok(Json(json!({"events": events})))
}

pub async fn list_notes(
    State(g): G,
    Extension(t): T,
    Path(cid): Path<String>,
) -> ApiResult<Json<Value>> {
    g.contact_in(loc(&t), &cid)?;
    Ok(Json(
        json!({"notes": g.notes_of(&cid).iter().map(Note::to_json).collect::<Vec<_>>()}),
    ))
}

pub async fn create_note(
    State(g): G,
    Extension(t): T,
    Path(cid): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let body = object(&body)?;
    g.contact_in(loc(&t), &cid)?;
    let note = g.create_note(&cid, &body)?;
    Ok((StatusCode::CREATED, Json(json!({"note": note.to_json()}))))
}

pub async fn get_note(
    State(g): G,
    Extension(t): T,
    Path((cid, nid)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    g.contact_in(loc(&t), &cid)?;
    Ok(Json(json!({"note": g.note(&cid, &nid)?.to_json()})))
}

pub async fn update_note(
    State(g): G,
    Extension(t): T,
    Path((cid, nid)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let body = object(&body)?;
    g.contact_in(loc(&t), &cid)?;
    Ok(Json(
        json!({"note": g.update_note(&cid, &nid, &body)?.to_json()}),
    ))
}

pub async fn delete_note(
    State(g): G,
    Extension(t): T,
    Path((cid, nid)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    g.contact_in(loc(&t), &cid)?;
    g.delete_note(&cid, &nid)?;
    Ok(Json(json!({"succeded": true})))
}
