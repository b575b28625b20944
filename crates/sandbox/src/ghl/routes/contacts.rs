//! Contact CRUD, upsert, duplicate lookup, the legacy list and contacts of a business.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::{loc, object};
use crate::ghl::auth::TokenInfo;
use crate::ghl::errors::{ApiError, ApiResult};
use crate::ghl::model::Contact;
use crate::ghl::Ghl;

type Q = Query<Vec<(String, String)>>;

fn q<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn num(query: &[(String, String)], key: &str, default: usize) -> ApiResult<usize> {
    match q(query, key) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| {
            ApiError::unprocessable(vec![format!(
                "{key} must be a number conforming to the specified constraints"
            )])
        }),
    }
}

pub async fn create(
    State(g): State<Arc<Ghl>>,
    Extension(tok): Extension<TokenInfo>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let body = object(&body)?;
    let c = g.create_contact(loc(&tok), &body)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"contact": c.to_created_json()})),
    ))
}

pub async fn get_one(
    State(g): State<Arc<Ghl>>,
    Extension(tok): Extension<TokenInfo>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let c = g.contact_in(loc(&tok), &id)?;
    Ok(Json(json!({"contact": c.to_full_json()})))
}

pub async fn update(
    State(g): State<Arc<Ghl>>,
    Extension(tok): Extension<TokenInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let body = object(&body)?;
    g.contact_in(loc(&tok), &id)?;
    let c = g.update_contact(&id, &body, true)?;
    Ok(Json(json!({"succeded": true, "contact": c.to_full_json()})))
}

pub async fn remove(
    State(g): State<Arc<Ghl>>,
    Extension(tok): Extension<TokenInfo>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    g.contact_in(loc(&tok), &id)?;
    g.delete_contact(&id)?;
    Ok(Json(json!({"succeded": true})))
}

pub async fn upsert(
    State(g): State<Arc<Ghl>>,
    Extension(tok): Extension<TokenInfo>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let body = object(&body)?;
    let (new, c) = g.upsert_contact(loc(&tok), &body)?;
    let trace = g.store.write().ids.next_id();
    Ok(Json(
        json!({"new": new, "contact": c.to_full_json(), "traceId": trace}),
    ))
}

/// `GET /contacts/search/duplicate?locationId&email|number`: the oldest matching contact or null,
/// honouring the location's duplicate-matching setting (email first, then phone).
pub async fn duplicate(
    State(g): State<Arc<Ghl>>,
    Extension(tok): Extension<TokenInfo>,
    Query(query): Q,
) -> ApiResult<Json<Value>> {
    let s = g.store.read();
    let location = loc(&tok);
    let mut ids = Vec::new();
    if let Some(e) = q(&query, "email") {
        ids = s.contacts_with_email(location, e);
    }
    if ids.is_empty() {
        if let Some(n) = q(&query, "number") {
            ids = s.contacts_with_phone(location, n);
        }
    }
    let found = ids
        .iter()
        .filter_map(|id| s.contacts.get(id))
        .min_by(|a, b| a.date_added.cmp(&b.date_added).then(a.id.cmp(&b.id)));
    Ok(Json(json!({"contact": found.map(Contact::to_full_json)})))
}

/// The deprecated `GET /contacts/`: sorted by `dateAdded`, paged with `startAfterId` + `startAfter`.
pub async fn legacy_list(
    State(g): State<Arc<Ghl>>,
    Extension(tok): Extension<TokenInfo>,
    Query(query): Q,
) -> ApiResult<Json<Value>> {
    let limit = num(&query, "limit", 20)?;
    if !(1..=100).contains(&limit) {
        return Err(ApiError::unprocessable(vec![
            "limit must not be greater than 100".into(),
        ]));
    }
    let start_after_id = q(&query, "startAfterId");
    let start_after: Option<i64> = match q(&query, "startAfter") {
        Some(v) => Some(v.parse().map_err(|_| {
            ApiError::unprocessable(vec![
                "startAfter must be a number conforming to the specified constraints".into(),
            ])
        })?),
        None => None,
    };
    let s = g.store.read();
    let mut all: Vec<&Contact> = s
        .contacts_in(loc(&tok))
        .filter(|c| q(&query, "query").is_none_or(|n| c.matches_text(&n.to_lowercase())))
        .collect();
    all.sort_by(|a, b| a.date_added.cmp(&b.date_added).then(a.id.cmp(&b.id)));
    let total = all.len();
    let start = match (start_after_id, start_after) {
        (Some(id), ms) => {
            let ms = ms.or_else(|| s.contacts.get(id).map(|c| c.date_added.timestamp_millis()));
            match ms {
                Some(ms) => all.partition_point(|c| {
                    (c.date_added.timestamp_millis(), c.id.as_str()) <= (ms, id)
                }),
                None => {
                    return Err(ApiError::bad_request(
                        "startAfterId does not match a contact",
                    ))
                }
            }
        }
        (None, Some(ms)) => all.partition_point(|c| c.date_added.timestamp_millis() <= ms),
        (None, None) => 0,
    };
    let page: Vec<&Contact> = all.iter().skip(start).take(limit).copied().collect();
    let last = page.last();
    let has_more = start + page.len() < total;
    let current_page = start / limit + 1;
    let next_url = match (has_more, last) {
        (true, Some(l)) => json!(format!(
            "{}/contacts/?locationId={}&limit={limit}&startAfterId={}&startAfter={}",
            g.base_url(),
            loc(&tok),
            l.id,
            l.date_added.timestamp_millis()
        )),
        _ => Value::Null,
    };
    Ok(Json(json!({
        "contacts": page.iter().map(|c| c.to_list_json()).collect::<Vec<_>>(),
        "count": page.len(),
        "meta": {
            "total": total,
            "nextPageUrl": next_url,
            "startAfterId": last.map(|c| c.id.clone()),
            "startAfter": last.map(|c| c.date_added.timestamp_millis()),
            "currentPage": current_page,
            "nextPage": if has_more { json!(current_page + 1) } else { Value::Null },
            "prevPage": if current_page > 1 { json!(current_page - 1) } else { Value::Null },
        }
    })))
}

/// `GET /contacts/business/{businessId}`: skip/limit paging, optional text query.
pub async fn by_business(
    State(g): State<Arc<Ghl>>,
    Extension(tok): Extension<TokenInfo>,
    Path(business_id): Path<String>,
    Query(query): Q,
) -> ApiResult<Json<Value>> {
    let limit = num(&query, "limit", 25)?;
    let skip = num(&query, "skip", 0)?;
    if limit > 100 {
        return Err(ApiError::unprocessable(vec![
            "limit must not be greater than 100".into(),
        ]));
    }
    let s = g.store.read();
    let mut all: Vec<&Contact> = s
        .contacts_in(loc(&tok))
        .filter(|c| c.business_id.as_deref() == Some(business_id.as_str()))
        .filter(|c| q(&query, "query").is_none_or(|n| c.matches_text(&n.to_lowercase())))
        .collect();
    all.sort_by(|a, b| a.date_added.cmp(&b.date_added).then(a.id.cmp(&b.id)));
    let page: Vec<Value> = all
        .iter()
        .skip(skip)
        .take(limit)
        .map(|c| c.to_list_json())
        .collect();
    Ok(Json(json!({"contacts": page, "count": all.len()})))
}
