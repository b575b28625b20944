//! The sandbox admin API under `/_sandbox/`: reset and seed, credentials, changes "as a person in
//! the GHL UI would make them" (they emit webhooks like API changes do), the request log, faults,
//! limits, webhook subscription and delivery behaviour, and the webhook signing keys.
//!
//! It needs no token: the sandbox is a local test fixture, never exposed beyond loopback.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::errors::{ApiError, ApiResult};
use super::faults::FaultRule;
use super::model::{Appointment, Note, Task};
use super::ratelimit::LimitConfig;
use super::routes::object;
use super::webhooks::DeliveryConfig;
use super::Ghl;

type G = State<Arc<Ghl>>;
type J = ApiResult<Json<Value>>;

/// Every admin route, relative to `/_sandbox`.
pub fn routes() -> Router<Arc<Ghl>> {
    Router::new()
        .route("/", get(overview))
        .route("/reset", post(reset))
        .route("/seed", post(reset))
        .route("/credentials", get(credentials))
        .route("/tokens", post(mint_token))
        .route("/tokens/expire", post(expire_token))
        .route("/apps", post(create_app))
        .route(
            "/apps/{clientId}/locations/{locationId}",
            axum::routing::delete(uninstall_app),
        )
        .route("/locations", get(locations))
        .route("/locations/{locationId}/settings", put(location_settings))
        .route("/locations/{locationId}/contacts", post(ui_create_contact))
        .route(
            "/contacts/{contactId}",
            get(ui_get_contact)
                .put(ui_update_contact)
                .delete(ui_delete_contact),
        )
        .route(
            "/contacts/{contactId}/tags",
            post(ui_add_tags).delete(ui_remove_tags),
        )
        .route("/contacts/{contactId}/tasks", post(ui_create_task))
        .route(
            "/contacts/{contactId}/tasks/{taskId}",
            put(ui_update_task).delete(ui_delete_task),
        )
        .route("/contacts/{contactId}/notes", post(ui_create_note))
        .route(
            "/contacts/{contactId}/notes/{noteId}",
            put(ui_update_note).delete(ui_delete_note),
        )
        .route(
            "/contacts/{contactId}/appointments",
            post(ui_create_appointment),
        )
        .route(
            "/appointments/{appointmentId}",
            put(ui_update_appointment).delete(ui_delete_appointment),
        )
        .route("/requests", get(requests).delete(clear_requests))
        .route("/faults", get(get_faults).put(set_faults))
        .route("/limits", get(get_limits).put(set_limits))
        .route("/webhooks", get(get_webhooks).put(set_webhooks))
        .route("/webhooks/deliveries", get(deliveries))
        .route("/webhook-keys", get(webhook_keys))
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> ApiResult<T> {
    let raw = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        &body[..]
    };
    serde_json::from_slice(raw)
        .map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")))
}

pub(crate) async fn overview(State(g): G) -> Json<Value> {
    Json(json!({
        "baseUrl": g.base_url(),
        "counts": g.store.read().counts(),
        "config": *g.config.read(),
        "credentials": *g.credentials.read(),
    }))
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct SeedBody {
    seed: Option<u64>,
    locations: Option<usize>,
    contacts: Option<usize>,
}

/// Drops everything and seeds again (`/reset` keeps the current sizes unless given).
async fn reset(State(g): G, body: Bytes) -> J {
    let b: SeedBody = parse(&body)?;
    let cfg = g.config.read().clone();
    let (seed, locations, contacts) = (
        b.seed.unwrap_or(cfg.seed),
        b.locations.unwrap_or(cfg.locations),
        b.contacts.unwrap_or(cfg.contacts),
    );
    if locations == 0 || locations > 1_000 {
        return Err(ApiError::unprocessable(vec![
            "locations must be between 1 and 1000".into(),
        ]));
    }
    let g2 = g.clone();
    tokio::task::spawn_blocking(move || g2.reseed(seed, locations, contacts))
        .await
        .map_err(|e| ApiError::bad_request(format!("seeding failed: {e}")))?;
    Ok(Json(
        json!({"counts": g.store.read().counts(), "credentials": *g.credentials.read()}),
    ))
}

async fn credentials(State(g): G) -> Json<Value> {
    Json(json!(*g.credentials.read()))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct MintBody {
    location_id: String,
    scopes: Vec<String>,
}

/// Mints a Private Integration Token with chosen scopes (e.g. read-only).
async fn mint_token(State(g): G, body: Bytes) -> ApiResult<(StatusCode, Json<Value>)> {
    let b: MintBody = parse(&body)?;
    let company = {
        let s = g.store.read();
        s.location(&b.location_id)
            .ok_or_else(|| ApiError::bad_request("Location not found"))?;
        s.company_id.clone()
    };
    if let Some(bad) = b
        .scopes
        .iter()
        .find(|s| !super::auth::ALL_SCOPES.contains(&s.as_str()))
    {
        return Err(ApiError::unprocessable(vec![format!(
            "unknown scope {bad}"
        )]));
    }
    let token = g.auth.lock().mint_pit(&company, &b.location_id, &b.scopes);
    Ok((
        StatusCode::CREATED,
        Json(json!({"token": token, "locationId": b.location_id, "scopes": b.scopes})),
    ))
}

/// Makes an access token expire now, to exercise refresh paths.
async fn expire_token(State(g): G, body: Bytes) -> J {
    let b: Map<String, Value> = parse(&body)?;
    let token = b.get("token").and_then(Value::as_str).unwrap_or_default();
    if !g.auth.lock().expire_token(token) {
        return Err(ApiError::bad_request("Unknown token"));
    }
    Ok(Json(json!({"expired": true})))
}

/// Registers another marketplace app (its own client id, secret, rate-limit budget and webhook URL).
async fn create_app(State(g): G, body: Bytes) -> ApiResult<(StatusCode, Json<Value>)> {
    let b: Map<String, Value> = parse(&body)?;
    let name = b.get("name").and_then(Value::as_str).unwrap_or("app");
    let url = b
        .get("webhookUrl")
        .and_then(Value::as_str)
        .map(str::to_string);
    let app = g.auth.lock().register_app(name, url);
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"clientId": app.client_id, "clientSecret": app.client_secret, "name": app.name}),
        ),
    ))
}

/// Uninstalls an app from a location: its tokens there die and it gets an `UNINSTALL` webhook.
async fn uninstall_app(State(g): G, Path((client_id, location_id)): Path<(String, String)>) -> J {
    if g.auth.lock().uninstall(&client_id, &location_id).is_none() {
        return Err(ApiError::bad_request(
            "That app is not installed on that location",
        ));
    }
    g.announce_install(&client_id, &location_id, false);
    Ok(Json(json!({"uninstalled": true})))
}

async fn locations(State(g): G) -> Json<Value> {
    Json(json!({"locations": g.store.read().locations}))
}

async fn location_settings(State(g): G, Path(id): Path<String>, body: Bytes) -> J {
    let b: Map<String, Value> = parse(&body)?;
    let mut s = g.store.write();
    let l = s
        .location_mut(&id)
        .ok_or_else(|| ApiError::bad_request("Location not found"))?;
    if let Some(a) = b.get("allowDuplicates").and_then(Value::as_bool) {
        l.allow_duplicates = a;
    }
    Ok(Json(json!(l)))
}

async fn ui_create_contact(
    State(g): G,
    Path(loc): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let c = g.create_contact(&loc, &object(&body)?)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"contact": c.to_full_json()})),
    ))
}

/// The contact with its tasks, notes and appointments (a debugging view, not a GHL endpoint).
async fn ui_get_contact(State(g): G, Path(id): Path<String>) -> J {
    let c = g
        .store
        .read()
        .contacts
        .get(&id)
        .cloned()
        .ok_or_else(super::service::contact_not_found)?;
    let mut v = c.to_full_json();
    v["followers"] = json!(c.followers);
    v["campaigns"] = json!(c.campaigns);
    v["workflows"] = json!(c.workflows);
    Ok(Json(json!({
        "contact": v,
        "tasks": g.tasks_of(&id).iter().map(Task::to_json).collect::<Vec<_>>(),
        "notes": g.notes_of(&id).iter().map(Note::to_json).collect::<Vec<_>>(),
        "appointments": g.appointments_of(&id).iter().map(Appointment::to_json).collect::<Vec<_>>(),
    })))
}

async fn ui_update_contact(State(g): G, Path(id): Path<String>, body: Bytes) -> J {
    Ok(Json(
        json!({"contact": g.update_contact(&id, &object(&body)?, true)?.to_full_json()}),
    ))
}

async fn ui_delete_contact(State(g): G, Path(id): Path<String>) -> J {
    g.delete_contact(&id)?;
    Ok(Json(json!({"succeded": true})))
}

fn tags_of(body: &Bytes) -> ApiResult<Vec<Value>> {
    Ok(object(body)?
        .get("tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

async fn ui_add_tags(State(g): G, Path(id): Path<String>, body: Bytes) -> J {
    Ok(Json(
        json!({"tags": g.change_tags(&id, &tags_of(&body)?, true)?.tags}),
    ))
}

async fn ui_remove_tags(State(g): G, Path(id): Path<String>, body: Bytes) -> J {
    Ok(Json(
        json!({"tags": g.change_tags(&id, &tags_of(&body)?, false)?.tags}),
    ))
}

async fn ui_create_task(
    State(g): G,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    Ok((
        StatusCode::CREATED,
        Json(json!({"task": g.create_task(&id, &object(&body)?)?.to_json()})),
    ))
}

async fn ui_update_task(State(g): G, Path((cid, tid)): Path<(String, String)>, body: Bytes) -> J {
    Ok(Json(
        json!({"task": g.update_task(&cid, &tid, &object(&body)?)?.to_json()}),
    ))
}

async fn ui_delete_task(State(g): G, Path((cid, tid)): Path<(String, String)>) -> J {
    g.delete_task(&cid, &tid)?;
    Ok(Json(json!({"succeded": true})))
}

async fn ui_create_note(
    State(g): G,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    Ok((
        StatusCode::CREATED,
        Json(json!({"note": g.create_note(&id, &object(&body)?)?.to_json()})),
    ))
}

async fn ui_update_note(State(g): G, Path((cid, nid)): Path<(String, String)>, body: Bytes) -> J {
    Ok(Json(
        json!({"note": g.update_note(&cid, &nid, &object(&body)?)?.to_json()}),
    ))
}

async fn ui_delete_note(State(g): G, Path((cid, nid)): Path<(String, String)>) -> J {
    g.delete_note(&cid, &nid)?;
    Ok(Json(json!({"succeded": true})))
}

async fn ui_create_appointment(
    State(g): G,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let a = g.create_appointment(&id, &object(&body)?)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"appointment": a.to_json()})),
    ))
}

async fn ui_update_appointment(State(g): G, Path(id): Path<String>, body: Bytes) -> J {
    Ok(Json(
        json!({"appointment": g.update_appointment(&id, &object(&body)?)?.to_json()}),
    ))
}

async fn ui_delete_appointment(State(g): G, Path(id): Path<String>) -> J {
    g.delete_appointment(&id)?;
    Ok(Json(json!({"succeded": true})))
}

#[derive(serde::Deserialize)]
struct LogQuery {
    since: Option<u64>,
    limit: Option<usize>,
}

async fn requests(State(g): G, Query(q): Query<LogQuery>) -> Json<Value> {
    Json(
        json!({"requests": g.log.since(q.since.unwrap_or(0), q.limit.unwrap_or(1000).min(100_000))}),
    )
}

async fn clear_requests(State(g): G) -> Json<Value> {
    g.log.clear();
    Json(json!({"cleared": true}))
}

async fn get_faults(State(g): G) -> Json<Value> {
    Json(json!({"rules": g.faults.rules()}))
}

/// Replaces the fault rules: `{"rules": [FaultRule…]}` (an empty list clears them).
async fn set_faults(State(g): G, body: Bytes) -> J {
    #[derive(serde::Deserialize)]
    struct B {
        rules: Vec<FaultRule>,
    }
    let b: B = parse(&body)?;
    for (i, r) in b.rules.iter().enumerate() {
        for (name, rate) in [
            ("errorRate", r.error_rate),
            ("timeoutRate", r.timeout_rate),
            ("garbledRate", r.garbled_rate),
            ("acceptThen422Rate", r.accept_then_422_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(ApiError::unprocessable(vec![format!(
                    "rules.{i}.{name} must be between 0 and 1"
                )]));
            }
        }
    }
    g.faults.set_rules(b.rules);
    g.config.write().faults = g.faults.rules();
    Ok(Json(json!({"rules": g.faults.rules()})))
}

async fn get_limits(State(g): G) -> Json<Value> {
    Json(json!(g.limiter.config()))
}

async fn set_limits(State(g): G, body: Bytes) -> J {
    let l: LimitConfig = parse(&body)?;
    if l.burst_max == 0 || l.burst_interval_ms == 0 || l.daily_max == 0 {
        return Err(ApiError::unprocessable(vec![
            "burstMax, burstIntervalMs and dailyMax must be positive".into(),
        ]));
    }
    g.limiter.set_config(l);
    g.config.write().limits = l;
    Ok(Json(json!(l)))
}

async fn get_webhooks(State(g): G) -> Json<Value> {
    Json(
        json!({"url": g.config.read().webhook_url, "delivery": g.webhooks.config(), "stats": g.webhooks.stats()}),
    )
}

/// `{"url": "http://…" | null, "delivery": {DeliveryConfig}}`, both optional.
async fn set_webhooks(State(g): G, body: Bytes) -> J {
    let b: Map<String, Value> = parse(&body)?;
    if let Some(u) = b.get("url") {
        let url = u.as_str().map(str::to_string);
        if let Some(u) = &url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(ApiError::unprocessable(vec![
                    "url must be an http(s) URL".into()
                ]));
            }
        }
        g.set_webhook_url(url);
    }
    if let Some(d) = b.get("delivery") {
        let d: DeliveryConfig = serde_json::from_value(d.clone())
            .map_err(|e| ApiError::unprocessable(vec![format!("delivery: {e}")]))?;
        for (name, rate) in [
            ("duplicateRate", d.duplicate_rate),
            ("reorderRate", d.reorder_rate),
            ("dropRate", d.drop_rate),
            ("missingFieldsRate", d.missing_fields_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(ApiError::unprocessable(vec![format!(
                    "delivery.{name} must be between 0 and 1"
                )]));
            }
        }
        g.webhooks.set_config(d.clone());
        g.config.write().delivery = d;
    }
    Ok(get_webhooks(State(g)).await)
}

async fn deliveries(State(g): G) -> Json<Value> {
    Json(json!({"deliveries": g.webhooks.deliveries()}))
}

async fn webhook_keys(State(g): G) -> Json<Value> {
    Json(json!({
        "ed25519PublicKey": g.keys.ed25519_public_pem(),
        "rsaPublicKey": g.keys.rsa_public_pem(),
        "ed25519Header": "x-ghl-signature",
        "rsaHeader": "x-wh-signature",
    }))
}
