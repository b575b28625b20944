//! The `/v1` routes of the contract. One set of handlers serves all four kinds; each route is
//! registered with its literal path (`/v1/contacts/{id}/notes`) so fault rules and the request
//! log can name it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use serde_json::{json, Map, Value};

use super::errors::{RestError, RestResult};
use super::schema::{iso, parse_time, Kind};
use super::service::Idempotency;
use super::store::{decode_cursor, encode_cursor, ListQuery, Record};
use super::webhooks::{valid_pattern, Subscription};
use super::RestApp;

type S = State<Arc<RestApp>>;

/// Parses a JSON object body; an empty body is an empty object. Malformed JSON is a 400.
pub fn object(body: &Bytes) -> RestResult<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(RestError::bad_request(
            "the request body must be a JSON object",
            json!({}),
        )),
        Err(e) => Err(RestError::bad_request(
            format!("invalid JSON body: {e}"),
            json!({"line": e.line(), "column": e.column()}),
        )),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A single record with its version as a strong `ETag`, so `If-Match` can echo it back.
pub fn record_response(status: StatusCode, body: Value) -> Response {
    let etag = body["version"].as_u64().map(|v| format!("\"{v}\""));
    let mut resp = (status, Json(body)).into_response();
    if let Some(Ok(v)) = etag.map(|e| e.parse()) {
        resp.headers_mut().insert("etag", v);
    }
    resp
}

/// Parses and checks the list parameters; unknown ones are refused so that a misspelt filter
/// (`updatedSince`) fails loudly instead of silently listing everything.
fn list_query(raw: Option<String>, allow_email: bool) -> RestResult<ListQuery> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| RestError::bad_request(format!("bad query string: {e}"), json!({})))?;
    let mut q = ListQuery {
        limit: 50,
        ..Default::default()
    };
    let mut unknown = Map::new();
    for (k, v) in pairs {
        match k.as_str() {
            "limit" => match v.parse::<usize>() {
                Ok(n) if (1..=100).contains(&n) => q.limit = n,
                _ => {
                    return Err(RestError::bad_param(
                        "limit",
                        "must be an integer from 1 to 100",
                    ))
                }
            },
            "cursor" if !v.is_empty() => {
                let at = decode_cursor(&v)
                    .ok_or_else(|| RestError::bad_param("cursor", "not a cursor from this API"))?;
                q.after = Some(at);
            }
            "cursor" => {}
            "updated_since" => {
                let t = parse_time(&v).ok_or_else(|| {
                    RestError::bad_param("updated_since", "must be an RFC 3339 date-time")
                })?;
                q.updated_since = Some(t);
            }
            "include_deleted" => match v.as_str() {
                "true" => q.include_deleted = true,
                "false" => q.include_deleted = false,
                _ => {
                    return Err(RestError::bad_param(
                        "include_deleted",
                        "must be true or false",
                    ))
                }
            },
            "email" if allow_email => q.email = Some(v),
            _ => {
                unknown.insert(k, json!("unknown parameter"));
            }
        }
    }
    if !unknown.is_empty() {
        let names: Vec<&str> = unknown.keys().map(String::as_str).collect();
        let message = format!("unknown query parameters: {}", names.join(", "));
        return Err(RestError::bad_request(
            message,
            json!({ "parameters": unknown }),
        ));
    }
    Ok(q)
}

fn page(records: Vec<&Record>, next: Option<super::store::OrderKey>) -> Json<Value> {
    let data: Vec<Value> = records.iter().map(|r| r.to_json()).collect();
    Json(json!({"data": data, "next_cursor": next.as_ref().map(encode_cursor)}))
}

async fn list(
    app: Arc<RestApp>,
    kind: Kind,
    contact: Option<String>,
    raw: Option<String>,
) -> RestResult<Json<Value>> {
    let q = list_query(raw, kind == Kind::Contact && contact.is_none())?;
    let store = app.store.lock();
    if let Some(c) = &contact {
        if store.live(Kind::Contact, c).is_none() {
            return Err(RestError::record_not_found("contact", c));
        }
    }
    let (records, next) = store.list(kind, contact.as_deref(), &q);
    Ok(page(records, next))
}

async fn get_one(app: Arc<RestApp>, kind: Kind, id: String) -> RestResult<Response> {
    let r = app.get(kind, &id)?;
    Ok(record_response(StatusCode::OK, r.to_json()))
}

async fn create(
    app: Arc<RestApp>,
    kind: Kind,
    parent: Option<String>,
    headers: HeaderMap,
    body: Bytes,
) -> RestResult<Response> {
    let obj = object(&body)?;
    let idem = match header(&headers, "idempotency-key").map(str::trim) {
        None => None,
        Some(k) if k.is_empty() || k.len() > 255 => {
            return Err(RestError::bad_request(
                "Idempotency-Key must be 1 to 255 characters",
                json!({"headers": {"Idempotency-Key": "bad length"}}),
            ))
        }
        Some(k) => {
            let path = match &parent {
                Some(p) => format!("/v1/contacts/{p}/{}", kind.plural()),
                None => "/v1/contacts".to_string(),
            };
            let fingerprint =
                json!({"method": "POST", "path": path, "body": Value::Object(obj.clone())});
            Some(Idempotency {
                key: k.to_string(),
                fingerprint,
            })
        }
    };
    let created = app.create_idempotent(kind, parent.as_deref(), &obj, idem)?;
    let status = StatusCode::from_u16(created.status).unwrap_or(StatusCode::CREATED);
    let mut resp = record_response(status, created.body);
    if created.replayed {
        resp.headers_mut().insert(
            "idempotent-replayed",
            axum::http::HeaderValue::from_static("true"),
        );
    }
    Ok(resp)
}

async fn patch(
    app: Arc<RestApp>,
    kind: Kind,
    id: String,
    headers: HeaderMap,
    body: Bytes,
) -> RestResult<Response> {
    let obj = object(&body)?;
    let r = app.update(kind, &id, &obj, header(&headers, "if-match"))?;
    Ok(record_response(StatusCode::OK, r.to_json()))
}

async fn delete(
    app: Arc<RestApp>,
    kind: Kind,
    id: String,
    headers: HeaderMap,
) -> RestResult<StatusCode> {
    app.delete(kind, &id, header(&headers, "if-match"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The `tags` array of a tags request; anything else in the body is a validation error.
fn tags_body(body: &Bytes) -> RestResult<Vec<Value>> {
    let mut obj = object(body)?;
    let tags = obj.remove("tags");
    if let Some(extra) = obj.keys().next() {
        return Err(RestError::invalid_field(extra, "unknown field"));
    }
    match tags {
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(RestError::invalid_field(
            "tags",
            "must be an array of strings",
        )),
        None => Err(RestError::invalid_field("tags", "is required")),
    }
}

async fn tags(
    State(app): S,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
    add: bool,
) -> RestResult<Response> {
    let tags = tags_body(&body)?;
    let r = app.change_tags(&id, &tags, add, header(&headers, "if-match"))?;
    Ok(record_response(StatusCode::OK, r.to_json()))
}

fn subscription_json(s: &Subscription, with_secret: bool) -> Value {
    let mut v = json!(s);
    if with_secret {
        v["secret"] = json!(s.secret);
    }
    v
}

async fn create_webhook(State(app): S, body: Bytes) -> RestResult<(StatusCode, Json<Value>)> {
    let mut obj = object(&body)?;
    let mut problems = Map::new();
    let url = obj.remove("url");
    let url = match url.as_ref().and_then(Value::as_str) {
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => u.to_string(),
        _ => {
            problems.insert("url".into(), json!("must be an http(s) URL"));
            String::new()
        }
    };
    let events: Vec<String> = match obj.remove("events") {
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .filter_map(|e| e.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    if events.is_empty() || !events.iter().all(|e| valid_pattern(e)) {
        problems.insert(
            "events".into(),
            json!("must be a non-empty array of event types, `<kind>.*` or `*`"),
        );
    }
    let secret = match obj.remove("secret") {
        None => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        Some(_) => {
            problems.insert("secret".into(), json!("must be a non-empty string"));
            None
        }
    };
    for k in obj.keys() {
        problems.insert(k.clone(), json!("unknown field"));
    }
    if !problems.is_empty() {
        return Err(RestError::invalid_fields(problems));
    }
    let (id, secret) = {
        let mut store = app.store.lock();
        let id = store.new_token("wh_");
        (id, secret.unwrap_or_else(|| store.new_token("whsec_")))
    };
    let sub = Subscription {
        id,
        url,
        events,
        secret,
        created_at: iso(Utc::now()),
    };
    app.webhooks.subscribe(sub.clone());
    Ok((StatusCode::CREATED, Json(subscription_json(&sub, true))))
}

async fn list_webhooks(State(app): S) -> Json<Value> {
    let subs: Vec<Value> = app
        .webhooks
        .subscriptions()
        .iter()
        .map(|s| subscription_json(s, false))
        .collect();
    Json(json!({"data": subs, "next_cursor": null}))
}

async fn get_webhook(State(app): S, Path(id): Path<String>) -> RestResult<Json<Value>> {
    app.webhooks
        .subscriptions()
        .iter()
        .find(|s| s.id == id)
        .map(|s| Json(subscription_json(s, false)))
        .ok_or_else(|| RestError::record_not_found("webhook", &id))
}

async fn delete_webhook(State(app): S, Path(id): Path<String>) -> RestResult<StatusCode> {
    if app.webhooks.unsubscribe(&id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(RestError::record_not_found("webhook", &id))
    }
}

/// `DELETE /v1/webhooks` with `{"id": …}` or `{"url": …}` (every subscription to that URL), for
/// clients that read the contract's `POST|GET|DELETE /v1/webhooks` literally.
async fn delete_webhooks(State(app): S, body: Bytes) -> RestResult<StatusCode> {
    let obj = object(&body)?;
    if let Some(k) = obj.keys().find(|k| !["id", "url"].contains(&k.as_str())) {
        return Err(RestError::invalid_field(k, "unknown field"));
    }
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
    let (id, url) = (text("id"), text("url"));
    if id.is_none() && url.is_none() {
        return Err(RestError::invalid_field("id", "id or url is required"));
    }
    let gone = app.webhooks.unsubscribe_where(|s| {
        id.as_ref().is_none_or(|i| *i == s.id) && url.as_ref().is_none_or(|u| *u == s.url)
    });
    if gone == 0 {
        return Err(
            RestError::not_found("no subscription matches").with_details(Value::Object(obj))
        );
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Every `/v1` route; the caller adds the gate and the log layer.
pub fn api() -> Router<Arc<RestApp>> {
    let mut r = Router::new().route(
        "/v1/contacts",
        get(|State(a): S, RawQuery(q): RawQuery| list(a, Kind::Contact, None, q))
            .post(|State(a): S, h: HeaderMap, b: Bytes| create(a, Kind::Contact, None, h, b)),
    );
    for kind in Kind::ALL {
        let p = kind.plural();
        r = r.route(
            &format!("/v1/{p}/{{id}}"),
            get(move |State(a): S, Path(id): Path<String>| get_one(a, kind, id))
                .patch(
                    move |State(a): S, Path(id): Path<String>, h: HeaderMap, b: Bytes| {
                        patch(a, kind, id, h, b)
                    },
                )
                .delete(move |State(a): S, Path(id): Path<String>, h: HeaderMap| {
                    delete(a, kind, id, h)
                }),
        );
        if kind == Kind::Contact {
            continue;
        }
        r = r
            .route(
                &format!("/v1/{p}"),
                get(move |State(a): S, RawQuery(q): RawQuery| list(a, kind, None, q)),
            )
            .route(
                &format!("/v1/contacts/{{id}}/{p}"),
                get(
                    move |State(a): S, Path(c): Path<String>, RawQuery(q): RawQuery| {
                        list(a, kind, Some(c), q)
                    },
                )
                .post(
                    move |State(a): S, Path(c): Path<String>, h: HeaderMap, b: Bytes| {
                        create(a, kind, Some(c), h, b)
                    },
                ),
            );
    }
    r.route(
        "/v1/contacts/{id}/tags",
        axum::routing::post(|s: S, p: Path<String>, h: HeaderMap, b: Bytes| tags(s, p, h, b, true))
            .delete(|s: S, p: Path<String>, h: HeaderMap, b: Bytes| tags(s, p, h, b, false)),
    )
    .route(
        "/v1/webhooks",
        get(list_webhooks)
            .post(create_webhook)
            .delete(delete_webhooks),
    )
    .route("/v1/webhooks/{id}", get(get_webhook).delete(delete_webhook))
}
