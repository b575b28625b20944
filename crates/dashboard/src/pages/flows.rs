//! `/ui/flows`: every flow of the project with its state, its run counts and an on/off switch
//! (htmx swaps the row), plus what the other flow pages share: reading a flow's file, showing
//! an admin refusal (with the loader's diagnostics) on a page, and the switch itself.
//!
//! The pages call the admin API's own functions (`server::admin::flows`), so a flow saved here
//! passes exactly the checks `PUT /api/v1/flows/{name}` and `ghl-bridge validate` apply, and a
//! switch here is the same persisted override the engine honours at once.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use engine::flow::{Flow, FlowBody, Trigger};
use engine::store::{JobState, Page, RunFilter};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use server::admin::flows as admin_flows;
use server::admin::ApiError;

use crate::{render, Ui};

/// One flow as the list and the editor show it.
#[derive(Debug, Clone, Serialize)]
pub struct FlowInfo {
    pub name: String,
    /// The name as a URL path segment.
    pub url: String,
    /// `sync` or `actions`.
    pub kind: String,
    /// `ghl → crm (contact, task)` or the trigger.
    pub summary: String,
    /// The file, relative to the project folder (`flows/x.yaml`); empty for a flow whose file
    /// is gone since the server started.
    pub file: String,
    /// Loaded by the running engine (false for a flow created since it started).
    pub running: bool,
    /// Runs, so people see at once whether it works: done, dead (failed for good), queued.
    pub done: usize,
    pub dead: usize,
    pub queued: usize,
    /// `on` or `off`, as the engine decides now.
    pub state: &'static str,
    /// `enabled: false` in the file (the switch cannot turn it on).
    pub off_in_file: bool,
}

fn summary(flow: &Flow) -> String {
    match &flow.body {
        FlowBody::Sync(s) => {
            let kinds: Vec<&str> = s.kinds.iter().map(|k| k.as_str()).collect();
            let arrow = match s.direction {
                engine::flow::SyncDirection::TwoWay => "⇄",
                engine::flow::SyncDirection::OneWay => "→",
            };
            format!("{} {arrow} {} ({})", s.source, s.target, kinds.join(", "))
        }
        FlowBody::Actions(actions) => {
            let trigger = match &flow.trigger {
                Trigger::Event {
                    connection,
                    kind,
                    event,
                    ..
                } => format!(
                    "{connection}.{kind}.{}",
                    json!(event).as_str().unwrap_or("")
                ),
                Trigger::Schedule(_) => "on a schedule".into(),
                Trigger::Manual => "manual".into(),
                Trigger::Changes => "changes".into(),
            };
            let names: Vec<&str> = actions.iter().map(|a| a.name()).collect();
            format!("{trigger}: {}", names.join(", "))
        }
    }
}

/// Counts of the flow's runs the store still holds, by state (up to 1,000 each).
async fn counts(ui: &Ui, name: &str) -> (usize, usize, usize) {
    let mut out = [0usize; 3];
    for (i, states) in [
        vec![JobState::Done],
        vec![JobState::Dead],
        vec![JobState::Pending, JobState::Leased],
    ]
    .into_iter()
    .enumerate()
    {
        for state in states {
            let filter = RunFilter {
                flow_id: Some(name.to_string()),
                state: Some(state),
                since: None,
                page: Page {
                    limit: 1000,
                    offset: 0,
                },
            };
            out[i] += ui
                .app
                .engine
                .store
                .list_runs(&filter)
                .await
                .map(|r| r.len())
                .unwrap_or(0);
        }
    }
    (out[0], out[1], out[2])
}

/// The flow's info: from the running engine when it has it, else from its file.
pub async fn info(ui: &Ui, name: &str) -> Option<FlowInfo> {
    let app = &ui.app;
    let dir = app.admin.flows_dir.as_deref();
    let file: Option<PathBuf> = dir.and_then(|d| admin_flows::file_of(app, d, name));
    let running = app.engine.flows.iter().find(|f| f.name == name);
    let flow = match (running, &file) {
        (Some(f), _) => f.clone(),
        (None, Some(p)) => {
            let text = std::fs::read_to_string(p).ok()?;
            admin_flows::check(app, &text, &p.display().to_string()).ok()?
        }
        (None, None) => return None,
    };
    let (done, dead, queued) = counts(ui, name).await;
    let on = running.is_some_and(|f| app.engine.flow_enabled(f));
    Some(FlowInfo {
        name: name.to_string(),
        url: super::flows_new::url_segment(name),
        kind: admin_flows::kind_of(&flow).to_string(),
        summary: summary(&flow),
        file: match (dir, &file) {
            (Some(d), Some(f)) => admin_flows::shown(d, f),
            _ => String::new(),
        },
        running: running.is_some(),
        done,
        dead,
        queued,
        state: if on { "on" } else { "off" },
        off_in_file: !flow.enabled,
    })
}

/// Every flow name: the folder's files, then running flows whose file is gone.
fn names(ui: &Ui) -> Vec<String> {
    let app = &ui.app;
    let mut out: Vec<String> = app
        .admin
        .flows_dir
        .as_deref()
        .map(|d| {
            admin_flows::scan(app, d)
                .into_iter()
                .map(|(_, n)| n)
                .collect()
        })
        .unwrap_or_default();
    for f in &app.engine.flows {
        if !out.contains(&f.name) {
            out.push(f.name.clone());
        }
    }
    out
}

/// `GET /ui/flows`.
pub async fn list(State(ui): State<Arc<Ui>>) -> Response {
    let mut flows = Vec::new();
    for name in names(&ui) {
        if let Some(i) = info(&ui, &name).await {
            flows.push(i);
        }
    }
    render::page(
        "flows.html",
        json!({
            "nav": "flows",
            "flows": flows,
            "no_project": ui.app.admin.flows_dir.is_none(),
        }),
    )
}

/// The toggle's form: which fragment to answer with.
#[derive(Deserialize)]
pub struct ToggleForm {
    /// `row` (the list) or `editor`.
    #[serde(default)]
    view: String,
}

/// `POST /ui/flows/{name}/toggle`: switches a running flow off or on, at once (the admin
/// API's switch: persisted, honoured by the engine without a restart). Answers the list row or
/// the editor's switch box; a plain form post goes back to the list.
pub async fn toggle(
    State(ui): State<Arc<Ui>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ToggleForm>,
) -> Response {
    let Some(flow) = ui.app.engine.flows.iter().find(|f| f.name == name) else {
        return error_fragment(
            StatusCode::CONFLICT,
            &format!("Flow `{name}` is not loaded by the running server (created since it started?): restart `ghl-bridge serve` to switch it."),
        );
    };
    let want = !ui.app.engine.flow_enabled(flow);
    let error = admin_flows::switch(&ui.app, name.clone(), want)
        .await
        .err()
        .map(|e| e.message().to_string());
    if !headers.contains_key("hx-request") {
        return Redirect::to("/ui/flows").into_response();
    }
    let Some(info) = info(&ui, &name).await else {
        return error_fragment(StatusCode::NOT_FOUND, &format!("no flow named `{name}`"));
    };
    let template = if form.view == "editor" {
        "_flow_switch.html"
    } else {
        "_flow_row.html"
    };
    render::page(template, json!({"f": info, "error": error}))
}

fn error_fragment(status: StatusCode, message: &str) -> Response {
    render::page_status(status, "_flow_error.html", json!({ "message": message }))
}

/// An admin refusal as the pages show it: the message, and one line per diagnostic naming
/// the field (mapping rules as "mapping row N"), its line and column, and the help.
pub fn problems(e: &ApiError, kind: &str) -> Value {
    let diags = e
        .details()
        .get("diagnostics")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let prefix = format!("sync.mapping.{kind}[");
    let lines: Vec<Value> = diags
        .iter()
        .map(|d| {
            let field = d["field"].as_str().unwrap_or_default();
            let row = field
                .strip_prefix(&prefix)
                .and_then(|rest| rest.split(']').next().and_then(|n| n.parse::<usize>().ok()));
            json!({
                "field": field,
                "row": row.map(|r| r + 1),
                "line": d["line"],
                "col": d["col"],
                "message": d["message"],
                "help": d["help"],
            })
        })
        .collect();
    let field = e.details().get("field").and_then(Value::as_str);
    json!({
        "message": e.message(),
        "field": field,
        "diagnostics": lines,
    })
}

/// A problem found by the dashboard itself (before the loader), shaped like [`problems`].
pub fn problem(message: &str) -> Value {
    json!({"message": message, "field": null, "diagnostics": []})
}

/// The file of a flow and its text; `None` when the folder has no parsable file of that name.
pub fn file_text(ui: &Ui, name: &str) -> Option<(PathBuf, String)> {
    let dir = ui.app.admin.flows_dir.as_deref()?;
    let file = admin_flows::file_of(&ui.app, dir, name)?;
    let text = std::fs::read_to_string(&file).ok()?;
    Some((file, text))
}

/// The "no such flow" page.
pub fn not_found(name: &str) -> Response {
    render::page_status(
        StatusCode::NOT_FOUND,
        "error.html",
        json!({
            "nav": "flows",
            "title": "No such flow",
            "message": format!("There is no flow file named `{name}` in the project's flows folder. The list on /ui/flows shows every flow."),
        }),
    )
}
