//! The admin API under `/_sandbox/`: reset and seed, the request log, faults, limits, webhook
//! settings and deliveries, reading any record (deleted ones too), and changes "as a person in
//! the app would make them": they skip auth, limits, faults, `If-Match` and the request log, but
//! bump versions and emit webhooks exactly like API changes, which is what a sync needs to be
//! tested against (changes it did not make).
//!
//! No key is needed: the emulator is a local test fixture that listens on loopback only.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::errors::{RestError, RestResult};
use super::ratelimit::RateLimit;
use super::routes::{object, record_response};
use super::schema::Kind;
use super::webhooks::DeliveryConfig;
use super::{Profile, RestApp};
use crate::ghl::faults::FaultRule;
use crate::ghl::requestlog::LoggedRequest;

type S = State<Arc<RestApp>>;
type J = RestResult<Json<Value>>;

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> RestResult<T> {
    let raw = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        &body[..]
    };
    serde_json::from_slice(raw)
        .map_err(|e| RestError::bad_request(format!("invalid admin request: {e}"), json!({})))
}

/// Every admin route, relative to `/_sandbox`.
pub fn routes() -> Router<Arc<RestApp>> {
    let mut r = Router::new()
        .route("/", get(overview))
        .route("/reset", post(reset))
        .route("/seed", post(reset))
        .route("/requests", get(requests).delete(clear_requests))
        .route("/faults", get(get_faults).put(set_faults))
        .route("/limits", get(get_limits).put(set_limits))
        .route("/webhooks", get(get_webhooks).put(set_webhooks))
        .route("/webhooks/deliveries", get(deliveries))
        .route(
            "/contacts",
            post(|s: S, b: Bytes| create(s, Kind::Contact, None, b)),
        )
        .route(
            "/contacts/{id}/tags",
            post(|s: S, p: Path<String>, b: Bytes| tags(s, p, b, true))
                .delete(|s: S, p: Path<String>, b: Bytes| tags(s, p, b, false)),
        );
    for kind in Kind::ALL {
        r = r.route(
            &format!("/{}/{{id}}", kind.plural()),
            get(move |s: S, p: Path<String>| read(s, kind, p))
                .patch(move |s: S, p: Path<String>, b: Bytes| edit(s, kind, p, b))
                .delete(move |s: S, p: Path<String>| remove(s, kind, p)),
        );
        if kind != Kind::Contact {
            r = r.route(
                &format!("/contacts/{{id}}/{}", kind.plural()),
                post(move |s: S, Path(c): Path<String>, b: Bytes| create(s, kind, Some(c), b)),
            );
        }
    }
    r
}

/// Name, profile, URLs, counts and the running configuration.
pub(super) async fn overview(State(app): S) -> Json<Value> {
    let cfg = app.config.read().clone();
    Json(json!({
        "app": cfg.profile.app_name(),
        "profile": cfg.profile,
        "contract": "generic REST (\"Your App\", targets README §5)",
        "base_url": app.base_url(),
        "api_url": format!("{}/v1", app.base_url()),
        "counts": app.store.lock().counts(),
        "config": cfg,
    }))
}

#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct SeedBody {
    seed: Option<u64>,
    contacts: Option<usize>,
    profile: Option<Profile>,
}

/// Drops everything and seeds again; omitted values keep the current ones.
async fn reset(State(app): S, body: Bytes) -> J {
    let b: SeedBody = parse(&body)?;
    let cfg = app.config.read().clone();
    let seed = b.seed.unwrap_or(cfg.seed);
    let contacts = b.contacts.unwrap_or(cfg.contacts);
    let profile = b.profile.unwrap_or(cfg.profile);
    if contacts > 1_000_000 {
        return Err(RestError::invalid_field(
            "contacts",
            "must be at most 1000000",
        ));
    }
    let a = app.clone();
    tokio::task::spawn_blocking(move || a.reseed(seed, contacts, profile))
        .await
        .map_err(|e| {
            RestError::server_error(StatusCode::INTERNAL_SERVER_ERROR)
                .with_details(json!({"reason": e.to_string()}))
        })?;
    Ok(Json(
        json!({"counts": app.store.lock().counts(), "seed": seed, "profile": profile}),
    ))
}

/// A request-log entry in this contract's words (see `gate::log_layer` for the storage).
fn log_entry(e: LoggedRequest) -> Value {
    json!({
        "seq": e.seq, "at": e.at, "method": e.method, "path": e.path, "query": e.query,
        "operation": e.operation_id, "status": e.status, "latency_us": e.latency_us,
        "idempotency_key": e.app_id, "body": e.body, "fault": e.fault,
    })
}

#[derive(serde::Deserialize)]
struct LogQuery {
    since: Option<u64>,
    limit: Option<usize>,
}

async fn requests(State(app): S, Query(q): Query<LogQuery>) -> Json<Value> {
    let entries = app
        .log
        .since(q.since.unwrap_or(0), q.limit.unwrap_or(1000).min(100_000));
    Json(json!({"requests": entries.into_iter().map(log_entry).collect::<Vec<_>>()}))
}

async fn clear_requests(State(app): S) -> Json<Value> {
    app.log.clear();
    Json(json!({"cleared": true}))
}

async fn get_faults(State(app): S) -> Json<Value> {
    Json(json!({"rules": app.faults.rules()}))
}

/// Replaces the fault rules: `{"rules": [FaultRule…]}` (the GHL emulator's rule format).
async fn set_faults(State(app): S, body: Bytes) -> J {
    #[derive(serde::Deserialize)]
    struct B {
        rules: Vec<FaultRule>,
    }
    let b: B = parse(&body)?;
    for (i, r) in b.rules.iter().enumerate() {
        let rates = [
            ("errorRate", r.error_rate),
            ("timeoutRate", r.timeout_rate),
            ("garbledRate", r.garbled_rate),
            ("acceptThen422Rate", r.accept_then_422_rate),
        ];
        if let Some((name, _)) = rates.iter().find(|(_, x)| !(0.0..=1.0).contains(x)) {
            return Err(RestError::invalid_field(
                &format!("rules.{i}.{name}"),
                "must be between 0 and 1",
            ));
        }
    }
    app.faults.set_rules(b.rules);
    app.config.write().faults = app.faults.rules();
    Ok(Json(json!({"rules": app.faults.rules()})))
}

async fn get_limits(State(app): S) -> Json<Value> {
    Json(json!(app.limiter.config()))
}

/// `{"limit": N, "window_secs": S}`; counts restart.
async fn set_limits(State(app): S, body: Bytes) -> J {
    let l: RateLimit = parse(&body)?;
    if l.limit == 0 || l.window_secs == 0 {
        return Err(RestError::invalid_field(
            "limit",
            "limit and window_secs must be positive",
        ));
    }
    app.limiter.set_config(l);
    app.config.write().limits = l;
    Ok(Json(json!(l)))
}

async fn get_webhooks(State(app): S) -> Json<Value> {
    let cfg = app.config.read().clone();
    Json(json!({
        "url": cfg.webhook_url,
        "secret": cfg.webhook_secret,
        "delivery": app.webhooks.config(),
        "subscriptions": app.webhooks.subscriptions().iter().map(|s| {
            let mut v = json!(s);
            v["secret"] = json!(s.secret);
            v
        }).collect::<Vec<_>>(),
        "stats": app.webhooks.stats(),
    }))
}

/// `{"url": "http://…" | null, "secret": "…", "delivery": {DeliveryConfig}}`, each optional.
async fn set_webhooks(State(app): S, body: Bytes) -> J {
    let b: Map<String, Value> = parse(&body)?;
    if let Some(k) = b
        .keys()
        .find(|k| !["url", "secret", "delivery"].contains(&k.as_str()))
    {
        return Err(RestError::invalid_field(k, "unknown field"));
    }
    let secret = match b.get("secret") {
        None => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(_) => {
            return Err(RestError::invalid_field(
                "secret",
                "must be a non-empty string",
            ))
        }
    };
    let url = match b.get("url") {
        None => app.config.read().webhook_url.clone(),
        Some(Value::Null) => None,
        Some(Value::String(u)) if u.starts_with("http://") || u.starts_with("https://") => {
            Some(u.clone())
        }
        Some(_) => {
            return Err(RestError::invalid_field(
                "url",
                "must be an http(s) URL or null",
            ))
        }
    };
    if let Some(d) = b.get("delivery") {
        let d: DeliveryConfig = serde_json::from_value(d.clone())
            .map_err(|e| RestError::invalid_field("delivery", &e.to_string()))?;
        for (name, rate) in [
            ("duplicate_rate", d.duplicate_rate),
            ("drop_rate", d.drop_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(RestError::invalid_field(
                    &format!("delivery.{name}"),
                    "must be between 0 and 1",
                ));
            }
        }
        app.webhooks.set_config(d.clone());
        app.config.write().delivery = d;
    }
    app.set_webhook(url, secret);
    Ok(get_webhooks(State(app)).await)
}

async fn deliveries(State(app): S) -> Json<Value> {
    Json(json!({"deliveries": app.webhooks.deliveries()}))
}

/// Any record, deleted or not; a contact comes with all its notes, tasks and appointments.
async fn read(State(app): S, kind: Kind, Path(id): Path<String>) -> J {
    let store = app.store.lock();
    let r = store
        .get(kind, &id)
        .ok_or_else(|| RestError::record_not_found(kind.name(), &id))?;
    let mut v = r.to_json();
    if kind == Kind::Contact {
        for child in Kind::CHILDREN {
            let q = super::store::ListQuery {
                limit: usize::MAX - 1,
                include_deleted: true,
                ..Default::default()
            };
            let (all, _) = store.list(child, Some(&id), &q);
            v[child.plural()] = Value::Array(all.iter().map(|c| c.to_json()).collect());
        }
    }
    Ok(Json(v))
}

async fn create(
    State(app): S,
    kind: Kind,
    parent: Option<String>,
    body: Bytes,
) -> RestResult<Response> {
    let r = app.create(kind, parent.as_deref(), &object(&body)?)?;
    Ok(record_response(StatusCode::CREATED, r.to_json()))
}

async fn edit(
    State(app): S,
    kind: Kind,
    Path(id): Path<String>,
    body: Bytes,
) -> RestResult<Response> {
    let r = app.update(kind, &id, &object(&body)?, None)?;
    Ok(record_response(StatusCode::OK, r.to_json()))
}

async fn remove(State(app): S, kind: Kind, Path(id): Path<String>) -> RestResult<StatusCode> {
    app.delete(kind, &id, None)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn tags(
    State(app): S,
    Path(id): Path<String>,
    body: Bytes,
    add: bool,
) -> RestResult<Response> {
    let tags = object(&body)?
        .get("tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let r = app.change_tags(&id, &tags, add, None)?;
    Ok(record_response(StatusCode::OK, r.to_json()))
}
