//! `/ui/`: the first thing a user sees after signing in — how many flows and connections there
//! are, whether work is piling up or failing, which alerts fire — with links to the page that
//! says more, and the most recent failures.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use engine::store::{JobState, Page, RunFilter};
use serde_json::json;

use super::latency::human_ms;
use super::monitor::{hour_stats, queue_stats, recent_runs, run_row};
use crate::{render, Ui};

/// Failures listed on the overview.
const FAILURES: usize = 8;

/// `GET /ui/`.
pub async fn page(State(ui): State<Arc<Ui>>) -> Response {
    let engine = &ui.app.engine;
    let latest = RunFilter {
        page: Page {
            limit: 500,
            offset: 0,
        },
        ..Default::default()
    };
    let (queue, hour, recent) = tokio::join!(
        queue_stats(&ui),
        recent_runs(&ui, 60),
        engine.store.list_runs(&latest)
    );
    let oldest = queue
        .as_ref()
        .and_then(|q| q.oldest_due_age_ms)
        .map(|ms| human_ms(ms as i64));
    let enabled = engine
        .flows
        .iter()
        .filter(|f| engine.flow_enabled(f))
        .count();
    let hour = hour.ok().map(|(runs, _)| {
        let stats = hour_stats(&ui, &runs);
        let mut lat: Vec<i64> = runs.iter().filter_map(super::latency::latency_ms).collect();
        lat.sort_unstable();
        json!({
            "done": stats.iter().map(|s| s.done).sum::<u64>(),
            "failed": stats.iter().map(|s| s.failed).sum::<u64>(),
            "retried": stats.iter().map(|s| s.retried).sum::<u64>(),
            "p50": super::latency::percentile(&lat, 50.0).map(human_ms),
            "p99": super::latency::percentile(&lat, 99.0).map(human_ms),
        })
    });
    let failures: Option<Vec<_>> = recent.ok().map(|runs| {
        runs.iter()
            .filter(|r| r.last_error.is_some() && r.state != JobState::Done)
            .take(FAILURES)
            .map(run_row)
            .collect()
    });
    let firing = ui.app.admin.alerts.as_ref().map(|b| {
        b.readings()
            .into_iter()
            .filter(|(_, r)| r.firing)
            .map(|(name, _)| name)
            .collect::<Vec<_>>()
    });
    render::page(
        "overview.html",
        json!({
            "nav": "overview",
            "flows": engine.flows.len(),
            "enabled": enabled,
            "connections": ui.app.project_connections.len(),
            "queue": queue,
            "oldest": oldest,
            "hour": hour,
            "failures": failures,
            "firing": firing,
            "now": Utc::now().format("%H:%M UTC").to_string(),
        }),
    )
}
