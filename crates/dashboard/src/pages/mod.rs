//! The dashboard's pages, one module per group. [`routes`] lists every guarded route; a page
//! group adds its `mod` line and its `.route(...)` lines here.

mod alerts;
mod audit;
mod chart;
mod connections;
mod dlq;
mod flows;
mod flows_dry;
mod flows_edit;
mod flows_form;
mod flows_new;
mod flows_yaml;
mod latency;
mod monitor;
mod overview;
mod people;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;

use crate::Ui;

/// Every page behind the login.
pub fn routes() -> Router<Arc<Ui>> {
    Router::new()
        .route("/ui/", get(overview::page))
        .route("/ui/monitor", get(monitor::page))
        .route("/ui/monitor/events", get(monitor::events_fragment))
        .route("/ui/monitor/runs", get(monitor::runs_fragment))
        .route("/ui/monitor/queue", get(monitor::queue_fragment))
        .route("/ui/monitor/stats", get(monitor::stats_fragment))
        .route("/ui/dlq", get(dlq::page))
        .route("/ui/dlq/{id}/replay", axum::routing::post(dlq::replay))
        .route("/ui/dlq/{id}/discard", axum::routing::post(dlq::discard))
        .route("/ui/alerts", get(alerts::page))
        .route("/ui/alerts/history", get(alerts::history_fragment))
        .route("/ui/connections", get(connections::list))
        .route("/ui/connections/{name}", get(connections::detail))
        .route("/ui/connections/{name}/test", get(connections::test))
        .route("/ui/connections/{name}/connect", get(connections::connect))
        .route(
            "/ui/connections/{name}/secret",
            axum::routing::post(connections::save_secret),
        )
        .route("/ui/flows", get(flows::list))
        .route(
            "/ui/flows/new",
            get(flows_new::page).post(flows_new::create),
        )
        .route(
            "/ui/flows/{name}",
            get(flows_edit::page).post(flows_edit::save),
        )
        .route(
            "/ui/flows/{name}/preview",
            axum::routing::post(flows_edit::preview),
        )
        .route(
            "/ui/flows/{name}/dry-run",
            axum::routing::post(flows_dry::dry_run),
        )
        .route(
            "/ui/flows/{name}/toggle",
            axum::routing::post(flows::toggle),
        )
        .route("/ui/flow-row", get(flows_edit::new_row))
        .route("/ui/flow-row/removed", get(flows_edit::removed_row))
        .route("/ui/audit", get(audit::page))
        .route("/ui/people", get(people::page))
        .route("/ui/people/results", get(people::results))
        .route("/ui/people/export.csv", get(people::export_all))
        .route("/ui/people/contact", get(people::contact))
        .route("/ui/people/contact/export.csv", get(people::export_contact))
        .route("/ui/people/{id}", get(people::person))
        .route("/ui/people/{id}/export.csv", get(people::export_person))
}
