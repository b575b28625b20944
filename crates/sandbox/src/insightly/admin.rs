//! The admin API under `/_sandbox/`: overview, reset and seed, the request log, faults, the
//! request budget, a virtual clock, the workflow webhook, custom-field definitions, and changes
//! "as a person in the app would make them" (`/_sandbox/{Object}[/{id}]`): those skip auth, the
//! budget, faults and the log, but stamp `DATE_UPDATED_UTC` and fire workflow webhooks exactly
//! like API changes — what a sync must be tested against (changes it did not make).
//!
//! The clock: Insightly stamps records to the second and `updated_after_utc` is strict, so two
//! changes in one second are indistinguishable to a poller. Tests move the emulator's clock
//! (`POST /_sandbox/clock {"advance_secs": 2}`) instead of sleeping.
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

use super::errors::{InsightlyError, InsightlyResult};
use super::quota::QuotaConfig;
use super::routes::{id, object};
use super::schema::{fmt_time, Obj};
use super::store::CustomFieldDef;
use super::webhooks::WorkflowTarget;
use super::InsightlyApp;
use crate::ghl::faults::FaultRule;

type S = State<Arc<InsightlyApp>>;
type J = InsightlyResult<Json<Value>>;

fn bad(m: impl Into<String>) -> InsightlyError {
    InsightlyError::bad_request(m)
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> InsightlyResult<T> {
    let raw = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        &body[..]
    };
    serde_json::from_slice(raw).map_err(|e| bad(format!("invalid admin request: {e}")))
}

fn obj_of(name: &str) -> InsightlyResult<Obj> {
    Obj::parse(name).ok_or_else(|| {
        bad(format!(
            "unknown object {name:?}: Contacts, Organisations, Tasks, Notes or Events"
        ))
    })
}

/// Every admin route, relative to `/_sandbox`.
pub fn routes() -> Router<Arc<InsightlyApp>> {
    Router::new()
        .route("/", get(overview))
        .route("/reset", post(reset))
        .route("/seed", post(reset))
        .route("/requests", get(requests).delete(clear_requests))
        .route("/faults", get(get_faults).put(set_faults))
        .route("/quota", get(get_quota).put(set_quota))
        .route("/clock", get(get_clock).post(advance_clock))
        .route("/webhook", get(get_webhook).put(set_webhook))
        .route("/webhook/deliveries", get(deliveries))
        .route("/CustomFields/{object}", get(get_defs).post(add_def))
        .route("/{object}", post(create))
        .route("/{object}/{id}", get(read).put(edit).delete(remove))
}

/// Name, URLs, counts, budget, clock and the running configuration.
pub(super) async fn overview(State(app): S) -> Json<Value> {
    let cfg = app.config.read().clone();
    let now = app.now();
    Json(json!({
        "app": "Insightly",
        "api": "v3.1 (spec/insightly/v3-1.json)",
        "base_url": app.root_url(),
        "api_url": app.api_url(),
        "api_key": app.api_key(),
        "counts": app.store.lock().counts(),
        "quota": quota_json(&app),
        "now": fmt_time(now),
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
    let (seed, contacts) = {
        let cfg = app.config.read();
        (
            b.seed.unwrap_or(cfg.seed),
            b.contacts.unwrap_or(cfg.contacts),
        )
    };
    if contacts > 1_000_000 {
        return Err(bad("contacts must be at most 1000000"));
    }
    let a = app.clone();
    tokio::task::spawn_blocking(move || a.reseed(seed, contacts))
        .await
        .map_err(|e| bad(format!("reseed failed: {e}")))?;
    Ok(Json(
        json!({"counts": app.store.lock().counts(), "seed": seed}),
    ))
}

#[derive(serde::Deserialize)]
struct LogQuery {
    since: Option<u64>,
    limit: Option<usize>,
}

async fn requests(State(app): S, Query(q): Query<LogQuery>) -> Json<Value> {
    let entries: Vec<Value> = app
        .log
        .since(q.since.unwrap_or(0), q.limit.unwrap_or(1000).min(100_000))
        .into_iter()
        .map(|e| {
            json!({
                "seq": e.seq, "at": e.at, "method": e.method, "path": e.path, "query": e.query,
                "operation": e.operation_id, "status": e.status, "latency_us": e.latency_us,
                "body": e.body, "fault": e.fault,
            })
        })
        .collect();
    Json(json!({ "requests": entries }))
}

async fn clear_requests(State(app): S) -> Json<Value> {
    app.log.clear();
    Json(json!({"cleared": true}))
}

async fn get_faults(State(app): S) -> Json<Value> {
    Json(json!({"rules": app.faults.rules()}))
}

/// Replaces the fault rules: `{"rules": [FaultRule…]}` (the GHL emulator's rule format; routes
/// are `*`, an operation id such as `post-contacts`, or `METHOD /v3.1/Contacts/{id}`).
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
            return Err(bad(format!("rules.{i}.{name} must be between 0 and 1")));
        }
    }
    app.faults.set_rules(b.rules);
    app.config.write().faults = app.faults.rules();
    Ok(Json(json!({"rules": app.faults.rules()})))
}

fn quota_json(app: &InsightlyApp) -> Value {
    let cfg = app.quota.config();
    let used = app.quota.used(app.now());
    json!({
        "daily_quota": cfg.daily_quota,
        "per_second": cfg.per_second,
        "used": used,
        "remaining": cfg.daily_quota.saturating_sub(used),
    })
}

async fn get_quota(State(app): S) -> Json<Value> {
    Json(quota_json(&app))
}

/// `{"daily_quota": N, "per_second": M | null, "used": K}`, each optional.
async fn set_quota(State(app): S, body: Bytes) -> J {
    #[derive(serde::Deserialize, Default)]
    #[serde(default, deny_unknown_fields)]
    struct B {
        daily_quota: Option<u64>,
        per_second: Option<Option<u32>>,
        used: Option<u64>,
    }
    let b: B = parse(&body)?;
    let mut cfg: QuotaConfig = app.quota.config();
    if let Some(q) = b.daily_quota {
        if q == 0 {
            return Err(bad("daily_quota must be positive"));
        }
        cfg.daily_quota = q;
    }
    if let Some(p) = b.per_second {
        if p == Some(0) {
            return Err(bad("per_second must be positive (or null for no cap)"));
        }
        cfg.per_second = p;
    }
    app.quota.set_config(cfg);
    app.config.write().quota = cfg;
    if let Some(u) = b.used {
        app.quota.set_used(u, app.now());
    }
    Ok(Json(quota_json(&app)))
}

async fn get_clock(State(app): S) -> Json<Value> {
    Json(json!({"now": fmt_time(app.now()), "offset_secs": app.clock_offset()}))
}

/// `{"advance_secs": N}`: moves the emulator's clock forward (never back).
async fn advance_clock(State(app): S, body: Bytes) -> J {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct B {
        advance_secs: u64,
    }
    let b: B = parse(&body)?;
    app.advance_clock(b.advance_secs);
    Ok(get_clock(State(app)).await)
}

async fn get_webhook(State(app): S) -> Json<Value> {
    Json(json!(app.hooks.target()))
}

/// `{"url": "http://…" | null, "secret": "…" | null}`.
async fn set_webhook(State(app): S, body: Bytes) -> J {
    let t: WorkflowTarget = parse(&body)?;
    if let Some(u) = &t.url {
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            return Err(bad("url must be an http(s) URL or null"));
        }
    }
    app.hooks.set_target(t.clone());
    app.config.write().webhook = t.clone();
    Ok(Json(json!(t)))
}

async fn deliveries(State(app): S) -> Json<Value> {
    Json(json!({"deliveries": app.hooks.deliveries()}))
}

async fn get_defs(State(app): S, Path(name): Path<String>) -> J {
    let obj = obj_of(&name)?;
    let store = app.store.lock();
    let defs: Vec<Value> = store
        .defs(obj)
        .iter()
        .enumerate()
        .map(|(i, d)| d.to_json(obj, i))
        .collect();
    Ok(Json(Value::Array(defs)))
}

/// Adds a custom field: `{"FIELD_LABEL": "Favourite Colour", "FIELD_TYPE": "TEXT"}`; the name
/// is derived as Insightly does (`Favourite_Colour__c`) unless `FIELD_NAME` is given.
async fn add_def(
    State(app): S,
    Path(name): Path<String>,
    body: Bytes,
) -> InsightlyResult<Response> {
    let obj = obj_of(&name)?;
    let b = object(&body)?;
    let text = |k: &str| {
        b.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let label = text("FIELD_LABEL").ok_or_else(|| bad("FIELD_LABEL is required"))?;
    let field_name = match text("FIELD_NAME") {
        Some(n) => n.to_string(),
        None => {
            let stem: String = label
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            format!("{stem}__c")
        }
    };
    if !field_name.ends_with("__c") {
        return Err(bad("FIELD_NAME must end in __c"));
    }
    let options = match b.get("OPTIONS") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|o| o.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let def = CustomFieldDef {
        name: field_name,
        label: label.to_string(),
        field_type: text("FIELD_TYPE").unwrap_or("TEXT").to_ascii_uppercase(),
        options,
    };
    let mut store = app.store.lock();
    let defs = store.custom_defs.entry(obj).or_default();
    if defs.iter().any(|d| d.name == def.name) {
        return Err(bad(format!("{} exists already", def.name)));
    }
    defs.push(def);
    let i = defs.len() - 1;
    Ok((StatusCode::CREATED, Json(defs[i].to_json(obj, i))).into_response())
}

async fn create(State(app): S, Path(name): Path<String>, body: Bytes) -> InsightlyResult<Response> {
    let obj = obj_of(&name)?;
    let rec = app.create(obj, &object(&body)?, None)?;
    Ok((StatusCode::CREATED, Json(rec)).into_response())
}

async fn read(State(app): S, Path((name, raw)): Path<(String, String)>) -> J {
    let (obj, id) = (obj_of(&name)?, id(&raw)?);
    let store = app.store.lock();
    let rec = store
        .get(obj, id)
        .ok_or_else(|| InsightlyError::not_found(obj.singular(), id))?;
    Ok(Json(store.render(rec, false)))
}

async fn edit(State(app): S, Path((name, raw)): Path<(String, String)>, body: Bytes) -> J {
    let (obj, id) = (obj_of(&name)?, id(&raw)?);
    Ok(Json(app.update(obj, Some(id), &object(&body)?)?))
}

async fn remove(
    State(app): S,
    Path((name, raw)): Path<(String, String)>,
) -> InsightlyResult<StatusCode> {
    app.delete(obj_of(&name)?, id(&raw)?)?;
    Ok(StatusCode::NO_CONTENT)
}
