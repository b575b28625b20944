//! `/ui/alerts`: the alert rules `serve` loaded (what each watches, its threshold, where it
//! notifies and what it reads right now) and the history of notifications with each channel's
//! delivery result. Channels show only their host, never a webhook URL's path or a password.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use serde_json::{json, Value};

use super::monitor::{when, when_dated, When};
use crate::{render, Ui};

/// `GET /ui/alerts`.
pub async fn page(State(ui): State<Arc<Ui>>) -> Response {
    let Some(board) = &ui.app.admin.alerts else {
        return render::page(
            "alerts.html",
            json!({"nav": "alerts", "loaded": false, "rules": [], "channels": [], "history": []}),
        );
    };
    #[derive(Serialize)]
    struct Rule<'a> {
        #[serde(flatten)]
        rule: &'a alerts::board::RuleView,
        firing: Option<bool>,
        reading: Option<String>,
        read_at: Option<When>,
    }
    let readings = board.readings();
    let rules: Vec<Rule> = board
        .rules()
        .iter()
        .map(|r| {
            let now = readings.get(&r.name);
            Rule {
                rule: r,
                firing: now.map(|n| n.firing),
                reading: now.map(|n| n.summary.clone()),
                read_at: now.map(|n| when(n.at)),
            }
        })
        .collect();
    render::page(
        "alerts.html",
        json!({
            "nav": "alerts", "loaded": true, "rules": rules, "channels": board.channels(),
            "interval": board.interval(), "last_check": board.last_check().map(when_dated),
            "history": history(&ui),
        }),
    )
}

/// `GET /ui/alerts/history`: the history table alone, refreshed by htmx.
pub async fn history_fragment(State(ui): State<Arc<Ui>>) -> Response {
    render::page("_alert_history.html", json!({"history": history(&ui)}))
}

fn history(ui: &Ui) -> Value {
    #[derive(Serialize)]
    struct Row {
        /// Not `at`: the flattened record has an `at` of its own.
        when: When,
        #[serde(flatten)]
        record: alerts::AlertRecord,
    }
    let rows: Vec<Row> = ui
        .app
        .admin
        .alerts
        .as_ref()
        .map(|b| b.history())
        .unwrap_or_default()
        .into_iter()
        .map(|r| Row {
            when: when_dated(r.at),
            record: r,
        })
        .collect();
    json!(rows)
}
