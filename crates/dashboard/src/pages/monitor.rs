//! `/ui/monitor`: what the engine is doing now. Live tables of recent events and runs (htmx
//! re-fetches their fragments every 2 s), the queue's depth, and per flow over the last hour:
//! done / failed / retried counts with p50 and p99 latency, plus a latency chart drawn as
//! inline SVG on the server.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use engine::store::{EventFilter, Page, QueueStats, Run, RunFilter};
use serde::Serialize;
use serde_json::{json, Value};

use super::chart::latency_svg;
use super::latency::{buckets, flow_stats, human_ms, FlowStats};
use crate::{render, Ui};

/// Rows in each live table.
const LIVE_ROWS: u32 = 25;
/// The runs read for the last hour's statistics: at most this many pages of 1000.
const STAT_PAGES: u32 = 10;
/// The statistics' window, bucket width and bucket count (12 × 5 minutes = 1 hour).
const WINDOW_MINUTES: i64 = 60;
const BUCKET_MINUTES: i64 = 5;

/// A time as the tables show it: `HH:MM:SS` (UTC), with the full RFC 3339 time for `<time>`.
#[derive(Debug, Clone, Serialize)]
pub(super) struct When {
    pub short: String,
    pub full: String,
}

pub(super) fn when(t: DateTime<Utc>) -> When {
    When {
        short: t.format("%H:%M:%S").to_string(),
        full: t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

/// A time with its date, for lists that span days.
pub(super) fn when_dated(t: DateTime<Utc>) -> When {
    When {
        short: t.format("%Y-%m-%d %H:%M").to_string(),
        full: t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

/// One run as the tables show it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct RunRow {
    pub job_id: i64,
    pub flow: String,
    pub entity: String,
    pub state: &'static str,
    /// Badge class: ok, warn, err or empty.
    pub tone: &'static str,
    pub attempts: u32,
    pub max_attempts: u32,
    pub last_error: Option<String>,
    pub created: When,
    pub changed: When,
    pub duration: Option<String>,
}

pub(super) fn run_row(r: &Run) -> RunRow {
    use engine::store::JobState::*;
    let (state, tone) = match r.state {
        Pending if r.attempts > 0 => ("retrying", "warn"),
        Pending => ("pending", ""),
        Leased => ("running", ""),
        Done => ("done", "ok"),
        Dead => ("dead", "err"),
    };
    RunRow {
        job_id: r.job_id.0,
        flow: r.flow_id.clone(),
        entity: r.entity_key.clone(),
        state,
        tone,
        attempts: r.attempts,
        max_attempts: r.max_attempts,
        last_error: r.last_error.clone(),
        created: when(r.created_at),
        changed: when(r.updated_at),
        duration: r.duration_ms.map(human_ms),
    }
}

/// `GET /ui/monitor`.
pub async fn page(State(ui): State<Arc<Ui>>) -> Response {
    let (events, runs, queue, stats) = tokio::join!(
        events_ctx(&ui),
        runs_ctx(&ui),
        queue_ctx(&ui),
        stats_ctx(&ui)
    );
    render::page(
        "monitor.html",
        json!({
            "nav": "monitor",
            "events": events, "runs": runs, "queue": queue, "stats": stats,
        }),
    )
}

/// `GET /ui/monitor/events`: the live events table.
pub async fn events_fragment(State(ui): State<Arc<Ui>>) -> Response {
    render::page(
        "_live_events.html",
        json!({"events": events_ctx(&ui).await}),
    )
}

/// `GET /ui/monitor/runs`: the live runs table.
pub async fn runs_fragment(State(ui): State<Arc<Ui>>) -> Response {
    render::page("_live_runs.html", json!({"runs": runs_ctx(&ui).await}))
}

/// `GET /ui/monitor/queue`: the queue depth.
pub async fn queue_fragment(State(ui): State<Arc<Ui>>) -> Response {
    render::page("_queue_depth.html", json!({"queue": queue_ctx(&ui).await}))
}

/// `GET /ui/monitor/stats`: per-flow table and latency chart.
pub async fn stats_fragment(State(ui): State<Arc<Ui>>) -> Response {
    render::page("_flow_stats.html", json!({"stats": stats_ctx(&ui).await}))
}

/// `{"rows": [...]}` or `{"error": "..."}`: a store failure shows in place of the table.
fn rows_or_error<T: Serialize>(what: &str, r: Result<Vec<T>, engine::store::StoreError>) -> Value {
    match r {
        Ok(rows) => json!({"rows": rows}),
        Err(e) => {
            tracing::error!(error = %e, "dashboard could not read {what}");
            json!({"error": format!("Could not read {what} from the store: {e}. Check the database connection; this view retries every 2 s.")})
        }
    }
}

async fn events_ctx(ui: &Ui) -> Value {
    #[derive(Serialize)]
    struct Row {
        id: i64,
        when: When,
        connection: String,
        kind: String,
        entity: String,
        source: String,
    }
    let filter = EventFilter {
        page: Page {
            limit: LIVE_ROWS,
            offset: 0,
        },
        ..Default::default()
    };
    let r = ui.app.engine.store.list_events(&filter).await.map(|evs| {
        evs.into_iter()
            .map(|e| Row {
                id: e.id.0,
                when: when(e.event.received_at),
                connection: e.event.connection_id,
                kind: e.event.kind,
                entity: e.event.entity_id,
                source: serde_json::to_value(e.event.source)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            })
            .collect::<Vec<_>>()
    });
    rows_or_error("recent events", r)
}

async fn runs_ctx(ui: &Ui) -> Value {
    let filter = RunFilter {
        page: Page {
            limit: LIVE_ROWS,
            offset: 0,
        },
        ..Default::default()
    };
    let r = ui
        .app
        .engine
        .store
        .list_runs(&filter)
        .await
        .map(|runs| runs.iter().map(run_row).collect::<Vec<_>>());
    rows_or_error("recent runs", r)
}

pub(super) async fn queue_stats(ui: &Ui) -> Option<QueueStats> {
    match ui.app.engine.store.queue_stats().await {
        Ok(q) => Some(q),
        Err(e) => {
            tracing::error!(error = %e, "dashboard could not read the queue depth");
            None
        }
    }
}

async fn queue_ctx(ui: &Ui) -> Value {
    match queue_stats(ui).await {
        Some(q) => json!({
            "pending": q.pending, "due": q.due, "leased": q.leased, "dead": q.dead,
            "oldest": q.oldest_due_age_ms.map(|ms| human_ms(ms as i64)),
        }),
        None => {
            json!({"error": "Could not read the queue depth from the store; check the database connection."})
        }
    }
}

/// The runs changed within the last `minutes` (newest first), reading at most
/// [`STAT_PAGES`] pages; the flag says whether the cap cut the list short.
pub(super) async fn recent_runs(ui: &Ui, minutes: i64) -> Result<(Vec<Run>, bool), String> {
    let since = Utc::now() - Duration::minutes(minutes);
    let mut all = Vec::new();
    for p in 0..STAT_PAGES {
        let filter = RunFilter {
            since: Some(since),
            page: Page {
                limit: 1000,
                offset: p * 1000,
            },
            ..Default::default()
        };
        let got = ui
            .app
            .engine
            .store
            .list_runs(&filter)
            .await
            .map_err(|e| e.to_string())?;
        let full = got.len() == 1000;
        all.extend(got);
        if !full {
            return Ok((all, false));
        }
    }
    Ok((all, true))
}

/// Per-flow statistics over the last hour (see [`flow_stats`]).
pub(super) fn hour_stats(ui: &Ui, runs: &[Run]) -> Vec<FlowStats> {
    let flows: Vec<String> = ui.app.engine.flows.iter().map(|f| f.name.clone()).collect();
    flow_stats(runs, &flows, Utc::now() - Duration::minutes(WINDOW_MINUTES))
}

async fn stats_ctx(ui: &Ui) -> Value {
    #[derive(Serialize)]
    struct Row {
        #[serde(flatten)]
        stats: FlowStats,
        p50: Option<String>,
        p99: Option<String>,
    }
    let (runs, capped) = match recent_runs(ui, WINDOW_MINUTES).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "dashboard could not read runs for statistics");
            return json!({"error": format!("Could not read runs from the store: {e}. Check the database connection.")});
        }
    };
    let rows: Vec<Row> = hour_stats(ui, &runs)
        .into_iter()
        .map(|s| Row {
            p50: s.p50_ms.map(human_ms),
            p99: s.p99_ms.map(human_ms),
            stats: s,
        })
        .collect();
    let count = (WINDOW_MINUTES / BUCKET_MINUTES) as usize;
    let width = Duration::minutes(BUCKET_MINUTES);
    // Buckets end at the next whole bucket boundary, so their labels are round times.
    let now = Utc::now().timestamp();
    let step = width.num_seconds();
    let end = DateTime::from_timestamp((now / step + 1) * step, 0).unwrap_or_else(Utc::now);
    let chart = latency_svg(
        &buckets(&runs, end, width, count),
        "the last hour",
        &format!("{BUCKET_MINUTES}-minute"),
    );
    json!({"rows": rows, "chart": chart, "capped": capped, "runs": runs.len()})
}
