//! The admin handlers: each reads what the engine and its store already offer.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::flow::{FlowBody, Trigger};
use engine::store::{CallFilter, ChangeFilter, DlqFilter, IdentityId, JobId, JobState};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::query::Params;
use crate::AppState;

type Q = Result<Query<HashMap<String, String>>, QueryRejection>;

/// One flow the server runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowOut {
    pub name: String,
    /// `sync` or `actions`.
    pub kind: String,
    /// Enabled in its file and not switched off at runtime.
    pub enabled: bool,
    /// Switched off at runtime (`POST /flows/{name}/disable`).
    pub disabled_at_runtime: bool,
    /// The trigger as written in the project (`{"event": {...}}`, `"changes"`, …).
    #[schema(value_type = Object)]
    pub trigger: Value,
    /// Connections the flow reads or writes.
    pub connections: Vec<String>,
}

/// One connection of the project. Never carries credentials.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionOut {
    pub name: String,
    /// The app (`ghl`, `insightly`…) when an enabled flow uses the connection.
    pub app: Option<String>,
    /// Whether an enabled flow uses it (only those take webhooks and calls).
    pub active: bool,
}

/// A page of rows, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListOut {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
    pub limit: u32,
    pub offset: u32,
}

/// The job a replay put back in the queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayOut {
    pub job_id: i64,
    pub state: String,
}

pub(crate) fn list<T: Serialize>(rows: Vec<T>, page: engine::store::Page) -> Response {
    let items = rows
        .iter()
        .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
        .collect();
    Json(ListOut {
        items,
        limit: page.limit,
        offset: page.offset,
    })
    .into_response()
}

/// Every string under a `connection`, `source` or `target` key, anywhere in `v`.
fn collect_connections(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("connection" | "source" | "target", Value::String(s)) => {
                        out.insert(s.clone());
                    }
                    _ => collect_connections(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_connections(x, out)),
        _ => {}
    }
}

/// Lists the flows the server runs.
#[utoipa::path(get, path = "/api/v1/flows", responses(
    (status = 200, body = Vec<FlowOut>), (status = 401, body = ErrorBody)))]
pub async fn flows(State(s): State<Arc<AppState>>) -> Response {
    let out: Vec<FlowOut> = s
        .engine
        .flows
        .iter()
        .map(|f| {
            let mut connections = BTreeSet::new();
            let trigger = serde_json::to_value(&f.trigger).unwrap_or(Value::Null);
            if let Trigger::Event { connection, .. } = &f.trigger {
                connections.insert(connection.clone());
            }
            collect_connections(
                &serde_json::to_value(&f.body).unwrap_or(Value::Null),
                &mut connections,
            );
            FlowOut {
                name: f.name.clone(),
                kind: match f.body {
                    FlowBody::Sync(_) => "sync",
                    FlowBody::Actions(_) => "actions",
                }
                .into(),
                enabled: s.engine.flow_enabled(f),
                disabled_at_runtime: s.engine.options.disabled_flows.contains(&f.name),
                trigger,
                connections: connections.into_iter().collect(),
            }
        })
        .collect();
    Json(out).into_response()
}

/// Lists the project's connections by name and app, without secrets.
#[utoipa::path(get, path = "/api/v1/connections", responses(
    (status = 200, body = Vec<ConnectionOut>), (status = 401, body = ErrorBody)))]
pub async fn connections(State(s): State<Arc<AppState>>) -> Response {
    let names: BTreeSet<&String> = s
        .project_connections
        .iter()
        .chain(s.engine.connectors.keys())
        .collect();
    let out: Vec<ConnectionOut> = names
        .into_iter()
        .map(|n| {
            let c = s.engine.connectors.get(n);
            ConnectionOut {
                name: n.clone(),
                app: c.map(|c| c.app().to_string()),
                active: c.is_some(),
            }
        })
        .collect();
    Json(out).into_response()
}

/// Dead jobs, newest first.
#[utoipa::path(get, path = "/api/v1/dlq", params(
    ("flow" = Option<String>, Query, description = "only this flow"),
    ("entity" = Option<String>, Query, description = "only this entity key"),
    ("limit" = Option<u32>, Query, description = "1-1000, default 100"),
    ("offset" = Option<u32>, Query)),
    responses((status = 200, body = ListOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn dlq_list(State(s): State<Arc<AppState>>, q: Q) -> Result<Response, ApiError> {
    let p = Params::new(q, &["flow", "entity", "limit", "offset"])?;
    let page = p.page()?;
    let filter = DlqFilter {
        flow_id: p.text("flow"),
        entity_key: p.text("entity"),
    };
    Ok(list(s.engine.store.dlq_list(&filter, page).await?, page))
}

fn job_id(raw: &str) -> Result<JobId, ApiError> {
    raw.parse::<i64>().map(JobId).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_path",
            format!("job id `{raw}` is not an integer"),
        )
        .with_details(serde_json::json!({"parameter": "id"}))
    })
}

/// 404 when the job does not exist, 409 when it exists but is not dead.
async fn ensure_dead(s: &AppState, id: JobId) -> Result<(), ApiError> {
    match s.engine.store.job(id).await? {
        None => Err(ApiError::not_found(format!("no job {id}"))),
        Some(j) if j.state != JobState::Dead => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_dead",
            format!(
                "job {id} is not in the dead-letter queue (it is {:?})",
                j.state
            )
            .to_lowercase(),
        )
        .with_details(serde_json::json!({"job_id": id.0}))),
        Some(_) => Ok(()),
    }
}

/// Puts a dead job back in the queue, due now, with its attempts reset.
#[utoipa::path(post, path = "/api/v1/dlq/{id}/replay", params(("id" = i64, Path, description = "job id")),
    responses((status = 200, body = ReplayOut), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn dlq_replay(
    State(s): State<Arc<AppState>>,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let id = job_id(&raw)?;
    ensure_dead(&s, id).await?;
    let job = s.engine.store.dlq_replay(id).await?;
    Ok(Json(ReplayOut {
        job_id: job.0,
        state: "pending".into(),
    })
    .into_response())
}

/// Deletes a dead job for good.
#[utoipa::path(delete, path = "/api/v1/dlq/{id}", params(("id" = i64, Path, description = "job id")),
    responses((status = 204), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn dlq_discard(
    State(s): State<Arc<AppState>>,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let id = job_id(&raw)?;
    ensure_dead(&s, id).await?;
    s.engine.store.dlq_discard(id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Recorded API calls to the apps, newest first.
#[utoipa::path(get, path = "/api/v1/audit/calls", params(
    ("connection" = Option<String>, Query), ("app" = Option<String>, Query),
    ("job" = Option<i64>, Query), ("since" = Option<String>, Query, description = "RFC 3339"),
    ("until" = Option<String>, Query, description = "RFC 3339"),
    ("limit" = Option<u32>, Query), ("offset" = Option<u32>, Query)),
    responses((status = 200, body = ListOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn audit_calls(State(s): State<Arc<AppState>>, q: Q) -> Result<Response, ApiError> {
    let p = Params::new(
        q,
        &[
            "connection",
            "app",
            "job",
            "since",
            "until",
            "limit",
            "offset",
        ],
    )?;
    let filter = CallFilter {
        connection_id: p.text("connection"),
        app: p.text("app"),
        job_id: p.int("job")?.map(JobId),
        since: p.time("since")?,
        until: p.time("until")?,
        page: p.page()?,
    };
    Ok(list(s.engine.store.calls(&filter).await?, filter.page))
}

/// Recorded field changes written to the apps, newest first.
#[utoipa::path(get, path = "/api/v1/audit/changes", params(
    ("connection" = Option<String>, Query), ("flow" = Option<String>, Query),
    ("identity" = Option<i64>, Query), ("job" = Option<i64>, Query),
    ("since" = Option<String>, Query, description = "RFC 3339"),
    ("until" = Option<String>, Query, description = "RFC 3339"),
    ("limit" = Option<u32>, Query), ("offset" = Option<u32>, Query)),
    responses((status = 200, body = ListOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn audit_changes(State(s): State<Arc<AppState>>, q: Q) -> Result<Response, ApiError> {
    let p = Params::new(
        q,
        &[
            "connection",
            "flow",
            "identity",
            "job",
            "since",
            "until",
            "limit",
            "offset",
        ],
    )?;
    let filter = ChangeFilter {
        connection_id: p.text("connection"),
        flow_id: p.text("flow"),
        identity_id: p.int("identity")?.map(IdentityId),
        job_id: p.int("job")?.map(JobId),
        since: p.time("since")?,
        until: p.time("until")?,
        page: p.page()?,
    };
    Ok(list(s.engine.store.changes(&filter).await?, filter.page))
}
