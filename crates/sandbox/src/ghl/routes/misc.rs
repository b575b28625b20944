//! Tags, followers, campaigns, workflows and the bulk endpoints.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::{loc, object};
use crate::ghl::auth::TokenInfo;
use crate::ghl::errors::{ApiError, ApiResult};
use crate::ghl::service::contact_not_found;
use crate::ghl::Ghl;

type G = State<Arc<Ghl>>;
type T = Extension<TokenInfo>;

fn strings(body: &serde_json::Map<String, Value>, key: &str) -> Vec<String> {
    body.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

pub async fn add_tags(
    State(g): G,
    Extension(t): T,
    Path(cid): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let body = object(&body)?;
    g.contact_in(loc(&t), &cid)?;
    let tags = body
        .get("tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let c = g.change_tags(&cid, &tags, true)?;
    Ok((StatusCode::CREATED, Json(json!({"tags": c.tags}))))
}

pub async fn remove_tags(
    State(g): G,
    Extension(t): T,
    Path(cid): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let body = object(&body)?;
    g.contact_in(loc(&t), &cid)?;
    let tags = body
        .get("tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let c = g.change_tags(&cid, &tags, false)?;
    Ok(Json(json!({"tags": c.tags})))
}

/// Applies `f` to a contact of the caller's location under the store lock.
fn with_contact<R>(
    g: &Ghl,
    location: &str,
    id: &str,
    f: impl FnOnce(&mut crate::ghl::model::Contact) -> R,
) -> ApiResult<R> {
    let mut s = g.store.write();
    let c = s.contacts.get_mut(id).ok_or_else(contact_not_found)?;
    if c.location_id != location {
        return Err(ApiError::forbidden(
            "The token does not have access to this location.",
        ));
    }
    Ok(f(c))
}

pub async fn add_followers(
    State(g): G,
    Extension(t): T,
    Path(cid): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let wanted = strings(&object(&body)?, "followers");
    let (all, added) = with_contact(&g, loc(&t), &cid, |c| {
        let mut added = Vec::new();
        for f in wanted {
            if !c.followers.contains(&f) {
                c.followers.push(f.clone());
                added.push(f);
            }
        }
        (c.followers.clone(), added)
    })?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"followers": all, "followersAdded": added})),
    ))
}

pub async fn remove_followers(
    State(g): G,
    Extension(t): T,
    Path(cid): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let wanted = strings(&object(&body)?, "followers");
    let (all, removed) = with_contact(&g, loc(&t), &cid, |c| {
        let removed: Vec<String> = c
            .followers
            .iter()
            .filter(|f| wanted.contains(f))
            .cloned()
            .collect();
        c.followers.retain(|f| !wanted.contains(f));
        (c.followers.clone(), removed)
    })?;
    Ok(Json(json!({"followers": all, "followersRemoved": removed})))
}

pub async fn add_campaign(
    State(g): G,
    Extension(t): T,
    Path((cid, camp)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    with_contact(&g, loc(&t), &cid, |c| {
        if !c.campaigns.contains(&camp) {
            c.campaigns.push(camp);
        }
    })?;
    Ok((StatusCode::CREATED, Json(json!({"succeded": true}))))
}

pub async fn remove_campaign(
    State(g): G,
    Extension(t): T,
    Path((cid, camp)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    with_contact(&g, loc(&t), &cid, |c| c.campaigns.retain(|x| *x != camp))?;
    Ok(Json(json!({"succeded": true})))
}

pub async fn remove_all_campaigns(
    State(g): G,
    Extension(t): T,
    Path(cid): Path<String>,
) -> ApiResult<Json<Value>> {
    with_contact(&g, loc(&t), &cid, |c| c.campaigns.clear())?;
    Ok(Json(json!({"succeded": true})))
}

pub async fn add_workflow(
    State(g): G,
    Extension(t): T,
    Path((cid, wf)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let body = object(&body)?;
    if let Some(start) = body.get("eventStartTime").and_then(Value::as_str) {
        if chrono::DateTime::parse_from_rfc3339(start).is_err() {
            return Err(ApiError::unprocessable(vec![
                "eventStartTime must be a valid ISO 8601 date string".into(),
            ]));
        }
    }
    with_contact(&g, loc(&t), &cid, |c| {
        if !c.workflows.contains(&wf) {
            c.workflows.push(wf);
        }
    })?;
    Ok(Json(json!({"succeded": true})))
}

pub async fn remove_workflow(
    State(g): G,
    Extension(t): T,
    Path((cid, wf)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    with_contact(&g, loc(&t), &cid, |c| c.workflows.retain(|x| *x != wf))?;
    Ok(Json(json!({"succeded": true})))
}

/// `POST /contacts/bulk/tags/update/{add|remove}`: per-contact results, errors counted not fatal.
pub async fn bulk_tags(
    State(g): G,
    Extension(t): T,
    Path(kind): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let body = object(&body)?;
    let add = match kind.as_str() {
        "add" => true,
        "remove" => false,
        _ => {
            return Err(ApiError::bad_request(
                "type must be one of the following values: add, remove",
            ))
        }
    };
    let remove_all = body
        .get("removeAllTags")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let tags = body
        .get("tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut responses = Vec::new();
    let mut errors = 0;
    for cid in strings(&body, "contacts") {
        let result = g.contact_in(loc(&t), &cid).and_then(|c| {
            let tags = if !add && remove_all {
                c.tags.iter().map(|t| json!(t)).collect()
            } else {
                tags.clone()
            };
            g.change_tags(&cid, &tags, add)
        });
        match result {
            Ok(_) => responses.push(format!("{cid}: tags updated")),
            Err(e) => {
                errors += 1;
                responses.push(format!(
                    "{cid}: {}",
                    e.body["message"].as_str().unwrap_or("failed")
                ));
            }
        }
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({"succeded": errors == 0, "errorCount": errors, "responses": responses})),
    ))
}

/// `POST /contacts/bulk/business`: links (or, with a null businessId, unlinks) contacts.
pub async fn bulk_business(State(g): G, Extension(t): T, body: Bytes) -> ApiResult<Json<Value>> {
    let body = object(&body)?;
    let business = body
        .get("businessId")
        .and_then(Value::as_str)
        .map(str::to_string);
    let ids = strings(&body, "ids");
    let mut done = Vec::new();
    for id in &ids {
        if g.contact_in(loc(&t), id).is_ok() {
            g.set_business(id, business.clone());
            done.push(id.clone());
        }
    }
    Ok(Json(
        json!({"success": done.len() == ids.len(), "ids": done}),
    ))
}
