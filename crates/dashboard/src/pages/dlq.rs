//! `/ui/dlq`: the dead-letter queue — runs that failed every attempt — with why they failed,
//! and a button to put each back in the queue (replay) or drop it for good (discard, after a
//! confirmation). Buttons post with htmx and get the refreshed list back; without script they
//! are plain forms and get the whole page.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use engine::flow::{FlowBody, Trigger};
use engine::store::{DlqFilter, EventId, Job, JobId, JobState, Page};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::monitor::{when_dated, When};
use crate::{render, Ui};

/// Rows shown at once.
const LIMIT: u32 = 100;

/// `?flow=` narrows the list to one flow.
#[derive(Debug, Default, Deserialize)]
pub struct DlqQuery {
    #[serde(default)]
    flow: Option<String>,
}

#[derive(Serialize)]
struct Row {
    job_id: i64,
    flow: String,
    connection: String,
    entity: String,
    attempts: u32,
    max_attempts: u32,
    error: String,
    dead_since: When,
    created: When,
}

/// A message above the list after an action.
#[derive(Serialize)]
struct Notice {
    tone: &'static str,
    text: String,
}

/// `GET /ui/dlq`.
pub async fn page(State(ui): State<Arc<Ui>>, Query(q): Query<DlqQuery>) -> Response {
    let flow = q.flow.filter(|f| !f.is_empty());
    render::page("dlq.html", ctx(&ui, flow, None).await)
}

/// `POST /ui/dlq/{id}/replay`: back in the queue, due now, attempts reset.
pub async fn replay(
    State(ui): State<Arc<Ui>>,
    Path(raw): Path<String>,
    Query(q): Query<DlqQuery>,
    headers: HeaderMap,
) -> Response {
    act(&ui, &raw, q, &headers, Action::Replay).await
}

/// `POST /ui/dlq/{id}/discard`: deleted for good.
pub async fn discard(
    State(ui): State<Arc<Ui>>,
    Path(raw): Path<String>,
    Query(q): Query<DlqQuery>,
    headers: HeaderMap,
) -> Response {
    act(&ui, &raw, q, &headers, Action::Discard).await
}

#[derive(Clone, Copy)]
enum Action {
    Replay,
    Discard,
}

async fn act(ui: &Ui, raw: &str, q: DlqQuery, headers: &HeaderMap, action: Action) -> Response {
    let (status, notice) = match perform(ui, raw, action).await {
        Ok(text) => (StatusCode::OK, Notice { tone: "ok", text }),
        Err((status, text)) => (
            status,
            Notice {
                tone: "error",
                text,
            },
        ),
    };
    let ctx = ctx(ui, q.flow.filter(|f| !f.is_empty()), Some(notice)).await;
    // htmx swaps the refreshed list into the page; it only swaps 2xx answers, so the
    // fragment's notice carries the outcome and the status stays 200.
    if headers.contains_key("hx-request") {
        render::page("_dlq_table.html", ctx)
    } else {
        render::page_status(status, "dlq.html", ctx)
    }
}

async fn perform(ui: &Ui, raw: &str, action: Action) -> Result<String, (StatusCode, String)> {
    let store = &ui.app.engine.store;
    let id = raw.parse::<i64>().map(JobId).map_err(|_| {
        (
            StatusCode::BAD_REQUEST,
            format!("Job id `{raw}` is not a number; use the buttons in the list."),
        )
    })?;
    let internal = |e: engine::store::StoreError| {
        tracing::error!(job = id.0, error = %e, "dashboard DLQ action failed");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("The store refused the change to job {}: {e}. Try again; if it persists, check the database.", id.0),
        )
    };
    match store.job(id).await.map_err(internal)? {
        None => {
            return Err((
                StatusCode::NOT_FOUND,
                format!(
                    "Job {} is no longer in the dead-letter queue (someone else may have replayed or discarded it).",
                    id.0
                ),
            ))
        }
        Some(j) if j.state != JobState::Dead => {
            return Err((
                StatusCode::CONFLICT,
                format!(
                    "Job {} is not in the dead-letter queue any more (it is {}).",
                    id.0,
                    j.state.as_str()
                ),
            ))
        }
        Some(_) => {}
    }
    match action {
        Action::Replay => {
            store.dlq_replay(id).await.map_err(internal)?;
            tracing::info!(job = id.0, "dead job replayed from the dashboard");
            Ok(format!(
                "Job {} is back in the queue and runs shortly; watch it on the Monitor page.",
                id.0
            ))
        }
        Action::Discard => {
            store.dlq_discard(id).await.map_err(internal)?;
            tracing::info!(job = id.0, "dead job discarded from the dashboard");
            Ok(format!("Job {} was discarded.", id.0))
        }
    }
}

async fn ctx(ui: &Ui, flow: Option<String>, notice: Option<Notice>) -> Value {
    let store = &ui.app.engine.store;
    let filter = DlqFilter {
        flow_id: flow.clone(),
        entity_key: None,
    };
    let page = Page {
        limit: LIMIT,
        offset: 0,
    };
    let flows: Vec<String> = ui.app.engine.flows.iter().map(|f| f.name.clone()).collect();
    let jobs = match store.dlq_list(&filter, page).await {
        Ok(j) => j,
        Err(e) => {
            tracing::error!(error = %e, "dashboard could not list the dead-letter queue");
            return json!({
                "nav": "dlq", "flows": flows, "flow": flow, "notice": notice,
                "error": format!("Could not read the dead-letter queue from the store: {e}. Check the database connection, then reload."),
                "rows": [],
            });
        }
    };
    let connections = connections_of(ui, &jobs).await;
    let rows: Vec<Row> = jobs
        .iter()
        .map(|j| Row {
            job_id: j.id.0,
            flow: j.flow_id.clone(),
            connection: connections.get(&j.id.0).cloned().unwrap_or_default(),
            entity: j.entity_key.clone(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            error: j.last_error.clone().unwrap_or_default(),
            dead_since: when_dated(j.finished_at.unwrap_or(j.updated_at)),
            created: when_dated(j.created_at),
        })
        .collect();
    let total = store.queue_stats().await.ok().map(|q| q.dead);
    json!({
        "nav": "dlq", "rows": rows, "flows": flows, "flow": flow, "notice": notice,
        "total": total, "limit": LIMIT, "error": null,
    })
}

/// The connection each job came from: that of the newest event merged into it, else the one
/// its flow is triggered by (a sync shows both ends).
async fn connections_of(ui: &Ui, jobs: &[Job]) -> HashMap<i64, String> {
    let last: Vec<(i64, EventId)> = jobs
        .iter()
        .filter_map(|j| Some((j.id.0, *j.event_ids.last()?)))
        .collect();
    let ids: Vec<EventId> = last.iter().map(|(_, e)| *e).collect();
    let by_event: BTreeMap<i64, String> = match ui.app.engine.store.events(&ids).await {
        Ok(evs) => evs
            .into_iter()
            .map(|e| (e.id.0, e.event.connection_id))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "dashboard could not read the dead jobs' events");
            BTreeMap::new()
        }
    };
    let mut out: HashMap<i64, String> = last
        .into_iter()
        .filter_map(|(job, ev)| Some((job, by_event.get(&ev.0)?.clone())))
        .collect();
    for j in jobs {
        if out.contains_key(&j.id.0) {
            continue;
        }
        let Some(flow) = ui.app.engine.flows.iter().find(|f| f.name == j.flow_id) else {
            continue;
        };
        let conn = match (&flow.trigger, &flow.body) {
            (_, FlowBody::Sync(s)) => format!("{} ↔ {}", s.source, s.target),
            (Trigger::Event { connection, .. }, _) => connection.clone(),
            _ => continue,
        };
        out.insert(j.id.0, conn);
    }
    out
}
