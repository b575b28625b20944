//! The admin API under `/_sandbox/`: overview, reset and seed, the request log, faults, the
//! budget and queue depth, reading any record (soft-deleted contacts too, a contact with its
//! tasks and notes), changes "as a person in the app would make them" (they skip the key, the
//! budget, the queue, faults and the log, but move `updatedAt` exactly like API changes: what
//! a sync must notice), and a Stage Trigger "Post Webhook" delivery.
//!
//! No key is needed: the emulator is a local test fixture that listens on loopback only.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::errors::{SnError, SnResult};
use super::model::Kind;
use super::routes::{object, path_id};
use super::SnApp;
use crate::ghl::faults::FaultRule;
use crate::ghl::requestlog::LoggedRequest;

type S = State<Arc<SnApp>>;
type J = SnResult<Json<Value>>;

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> SnResult<T> {
    let raw = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        &body[..]
    };
    serde_json::from_slice(raw)
        .map_err(|e| SnError::bad_request(format!("invalid admin request: {e}")))
}

/// Every admin route, relative to `/_sandbox`.
pub fn routes() -> Router<Arc<SnApp>> {
    let mut r = Router::new()
        .route("/", get(overview))
        .route("/reset", post(reset))
        .route("/seed", post(reset))
        .route("/requests", get(requests).delete(clear_requests))
        .route("/faults", get(get_faults).put(set_faults))
        .route("/budget", get(get_budget).put(set_budget))
        .route("/stage-trigger", post(stage_trigger));
    for (kind, plural) in [
        (Kind::Contact, "contacts"),
        (Kind::Task, "tasks"),
        (Kind::Note, "notes"),
    ] {
        r = r
            .route(
                &format!("/{plural}"),
                post(move |s: S, b: Bytes| create(s, kind, b)),
            )
            .route(
                &format!("/{plural}/{{id}}"),
                get(move |s: S, p: Path<String>| read(s, kind, p))
                    .put(move |s: S, p: Path<String>, b: Bytes| edit(s, kind, p, b))
                    .delete(move |s: S, p: Path<String>| remove(s, kind, p)),
            );
    }
    r
}

/// URLs, counts, the budget used and the running configuration (the key included: loopback
/// only, and a test needs it).
pub(super) async fn overview(State(app): S) -> Json<Value> {
    let cfg = app.config.read().clone();
    Json(json!({
        "app": "SalesNexus",
        "contract": "SalesNexus Public API v1 (spec/salesnexus/API.md)",
        "base_url": app.base_url(),
        "api_url": format!("{}/api/v1", app.base_url()),
        "counts": app.store.lock().counts(),
        "budget_used": app.hourly.lock().used(),
        "config": cfg,
    }))
}

#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct SeedBody {
    seed: Option<u64>,
    contacts: Option<usize>,
}

/// Drops everything and seeds again; omitted values keep the current ones.
async fn reset(State(app): S, body: Bytes) -> J {
    let b: SeedBody = parse(&body)?;
    let cfg = app.config.read().clone();
    let seed = b.seed.unwrap_or(cfg.seed);
    let contacts = b.contacts.unwrap_or(cfg.contacts);
    if contacts > 1_000_000 {
        return Err(SnError::invalid("contacts must be at most 1000000"));
    }
    let a = app.clone();
    tokio::task::spawn_blocking(move || a.reseed(seed, contacts))
        .await
        .map_err(|e| SnError::invalid(format!("reseed failed: {e}")))?;
    Ok(Json(
        json!({"counts": app.store.lock().counts(), "seed": seed}),
    ))
}

fn log_entry(e: LoggedRequest) -> Value {
    json!({
        "seq": e.seq, "at": e.at, "method": e.method, "path": e.path, "query": e.query,
        "operation": e.operation_id, "status": e.status, "latency_us": e.latency_us,
        "body": e.body, "fault": e.fault,
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
            return Err(SnError::invalid(format!(
                "rules.{i}.{name} must be between 0 and 1"
            )));
        }
    }
    app.faults.set_rules(b.rules);
    app.config.write().faults = app.faults.rules();
    Ok(Json(json!({"rules": app.faults.rules()})))
}

fn budget_view(app: &SnApp) -> Value {
    let c = app.config.read();
    json!({
        "hourly_limit": c.hourly_limit, "window_secs": c.window_secs,
        "queue_depth": c.queue_depth, "used": app.hourly.lock().used(),
    })
}

async fn get_budget(State(app): S) -> Json<Value> {
    Json(budget_view(&app))
}

/// `{"hourly_limit": N, "window_secs": S, "queue_depth": N | null}`, each optional; the count
/// restarts.
async fn set_budget(State(app): S, body: Bytes) -> J {
    let b = object(&body)?;
    if let Some(k) = b
        .keys()
        .find(|k| !["hourly_limit", "window_secs", "queue_depth"].contains(&k.as_str()))
    {
        return Err(SnError::invalid(format!("{k}: unknown setting")));
    }
    let positive = |k: &str| -> SnResult<Option<u64>> {
        match b.get(k) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .filter(|n| *n > 0)
                .map(Some)
                .ok_or_else(|| SnError::invalid(format!("{k} must be a positive integer"))),
        }
    };
    let limit = positive("hourly_limit")?;
    let window = positive("window_secs")?;
    let depth = match b.get("queue_depth") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(_) => Some(positive("queue_depth")?.map(|d| d.min(u32::MAX.into()) as u32)),
    };
    {
        let mut c = app.config.write();
        if let Some(l) = limit {
            c.hourly_limit = l.min(u32::MAX.into()) as u32;
        }
        if let Some(w) = window {
            c.window_secs = w;
        }
        if let Some(d) = depth {
            c.queue_depth = d;
        }
    }
    app.hourly.lock().reset();
    Ok(Json(budget_view(&app)))
}

/// Any record, soft-deleted too (`deleted: true`); a contact comes with its tasks and notes.
async fn read(State(app): S, kind: Kind, Path(raw): Path<String>) -> J {
    let id = path_id(kind, &raw)?;
    let store = app.store.lock();
    let r = store
        .any(kind, id)
        .ok_or_else(|| SnError::not_found(kind.title(), id))?;
    let mut v = app.json(r);
    v["deleted"] = json!(r.deleted);
    if kind == Kind::Contact {
        let of = |t: &std::collections::BTreeMap<i64, super::model::Rec>| -> Vec<Value> {
            t.values()
                .filter(|x| x.int("contactId") == Some(id))
                .map(|x| app.json(x))
                .collect()
        };
        v["tasks"] = Value::Array(of(&store.tasks));
        v["notes"] = Value::Array(of(&store.notes));
    }
    Ok(Json(v))
}

async fn create(State(app): S, kind: Kind, body: Bytes) -> SnResult<Response> {
    let r = app.create(kind, &object(&body)?)?;
    Ok((StatusCode::CREATED, Json(app.json(&r))).into_response())
}

async fn edit(State(app): S, kind: Kind, Path(raw): Path<String>, body: Bytes) -> J {
    let id = path_id(kind, &raw)?;
    let r = app.update(kind, id, &object(&body)?)?;
    Ok(Json(app.json(&r)))
}

async fn remove(State(app): S, kind: Kind, Path(raw): Path<String>) -> SnResult<StatusCode> {
    let id = path_id(kind, &raw)?;
    app.store.lock().delete(kind, id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Posts a Stage Trigger "Post Webhook" payload, as SalesNexus does when an opportunity
/// enters a stage: `{"url", "contactId", "triggerId"?, "opportunity"?}` → the receiver's status.
/// The payload is the documented default: `{"triggerId","action":"PostWebhook",
/// "opportunity":{id,title,currentStageId,amount,currency},"contact":{"contactId"}}`.
async fn stage_trigger(State(app): S, body: Bytes) -> J {
    let b = object(&body)?;
    let url = b
        .get("url")
        .and_then(Value::as_str)
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .ok_or_else(|| SnError::invalid("url must be an http(s) URL"))?
        .to_string();
    let contact = b
        .get("contactId")
        .and_then(Value::as_i64)
        .ok_or_else(|| SnError::invalid("contactId is required"))?;
    app.store.lock().get(Kind::Contact, contact)?;
    let opportunity = b.get("opportunity").cloned().unwrap_or_else(|| {
        json!({"id": 501, "title": "New deal", "currentStageId": 3, "amount": 1200.0, "currency": "USD"})
    });
    let payload = json!({
        "triggerId": b.get("triggerId").cloned().unwrap_or(json!(77)),
        "action": "PostWebhook",
        "opportunity": opportunity,
        "contact": {"contactId": contact},
    });
    let resp = reqwest::Client::new()
        .post(&url)
        .timeout(std::time::Duration::from_secs(30))
        .json(&payload)
        .send()
        .await
        .map_err(|e| SnError::invalid(format!("delivery to {url} failed: {}", e.without_url())))?;
    Ok(Json(
        json!({"status": resp.status().as_u16(), "payload": payload}),
    ))
}
