//! Dry runs from the editor, on a real record: a few records of the flow's source connection
//! to pick from (or pasted JSON), the flow as the form has it now (unsaved edits included),
//! and per target field the value the target holds now (when the record is already linked
//! there) beside the value the flow would write, plus every warning. Nothing is written to any
//! app: the engine's `dry_run_with` computes the result, the connectors only read.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use connectors::{Connector, EntityKind, Record};
use engine::flow::{dry_run_with, DryRunOptions, Flow, FlowBody, Trigger};
use serde_json::{json, Map, Value};
use server::admin::flows as admin_flows;

use super::flows::{file_text, problem, problems};
use super::flows_edit::{form_yaml, pairs};
use crate::{render, Ui};

/// How long the editor waits for an app to list or read records.
const READ_WAIT: Duration = Duration::from_secs(8);
/// Records offered in `select#sample-source`.
const SAMPLES: usize = 10;

fn connector(ui: &Ui, name: &str) -> Option<Arc<dyn Connector>> {
    ui.app.engine.connectors.get(name).cloned()
}

/// The first page of a connection's records of a kind (empty when it cannot be read now).
pub async fn first_page(ui: &Ui, conn: &str, kind: &str) -> Vec<Record> {
    let (Some(c), Some(kind)) = (connector(ui, conn), EntityKind::parse(kind)) else {
        return Vec::new();
    };
    match tokio::time::timeout(READ_WAIT, c.list_all(kind, None)).await {
        Ok(Ok(page)) => page.records.into_iter().filter(|r| !r.deleted).collect(),
        Ok(Err(e)) => {
            tracing::warn!(connection = conn, error = %e, "dashboard: listing sample records failed");
            Vec::new()
        }
        Err(_) => Vec::new(),
    }
}

/// The field names real records carry (a connection's first page).
pub fn record_fields(records: &[Record]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in records.iter().take(25) {
        for k in r.fields.keys() {
            if !out.contains(k) {
                out.push(k.clone());
            }
        }
    }
    out
}

/// A record's label: its name, email or title, then its id.
fn label(r: &Record) -> String {
    let f = |k: &str| r.fields.get(k).and_then(Value::as_str).unwrap_or("").trim();
    let name = format!("{} {}", f("first_name"), f("last_name"));
    let best = [name.trim(), f("email"), f("title"), f("name"), f("body")]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or("");
    let best: String = best.chars().take(60).collect();
    if best.is_empty() {
        r.id.clone()
    } else {
        format!("{best} ({})", r.id)
    }
}

/// `select#sample-source` choices: `{value: "id" or "id|parent", label}`.
pub fn samples(records: &[Record], conn: &str, kind: &str) -> Value {
    let options: Vec<Value> = records
        .iter()
        .take(SAMPLES)
        .map(|r| {
            let value = match &r.parent_id {
                Some(p) => format!("{}|{p}", r.id),
                None => r.id.clone(),
            };
            json!({"value": value, "label": label(r)})
        })
        .collect();
    json!({"connection": conn, "kind": kind, "options": options})
}

/// Where an actions flow's records come from: its event trigger's connection and kind.
fn trigger_side(flow: &Flow) -> Option<(String, String)> {
    match &flow.trigger {
        Trigger::Event {
            connection, kind, ..
        } => Some((connection.clone(), kind.as_str().to_string())),
        _ => None,
    }
}

/// Samples for an actions flow (its trigger's records), or none.
pub async fn samples_for(ui: &Ui, name: &str) -> Value {
    let flow = admin_flows::flow_named(&ui.app, name).ok();
    match flow.as_ref().and_then(trigger_side) {
        Some((conn, kind)) => samples(&first_page(ui, &conn, &kind).await, &conn, &kind),
        None => json!({"connection": null, "kind": null, "options": []}),
    }
}

/// The sample: pasted JSON (a record `{id, fields}` or bare fields) or a record read now.
async fn sample(
    ui: &Ui,
    conn: &str,
    kind: EntityKind,
    chosen: &str,
    pasted: &str,
) -> Result<(Record, bool), String> {
    if !pasted.trim().is_empty() {
        let v: Value = serde_json::from_str(pasted).map_err(|e| {
            format!("sample record: not JSON ({e}); paste an object like {{\"email\": \"ada@example.com\"}}")
        })?;
        let Value::Object(obj) = v else {
            return Err("sample record: paste a JSON object of fields".into());
        };
        let (id, fields) = match obj.get("fields") {
            Some(Value::Object(f)) => (
                obj.get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("sample")
                    .to_string(),
                f.clone(),
            ),
            _ => ("sample".to_string(), obj),
        };
        return Ok((Record::new(kind, id, fields), false));
    }
    if chosen.is_empty() {
        return Err("sample: choose a record in the list, or paste one as JSON".into());
    }
    let (id, parent) = match chosen.split_once('|') {
        Some((i, p)) => (i, Some(p)),
        None => (chosen, None),
    };
    let c = connector(ui, conn).ok_or_else(|| {
        format!(
            "sample: connection `{conn}` is not running in this server; restart `ghl-bridge serve`"
        )
    })?;
    match tokio::time::timeout(READ_WAIT, c.get(kind, id, parent)).await {
        Ok(Ok(Some(r))) => Ok((r, true)),
        Ok(Ok(None)) => Err(format!(
            "sample: {conn} has no {kind} `{id}` any more; pick another"
        )),
        Ok(Err(e)) => Err(format!(
            "sample: reading {kind} `{id}` from {conn} failed: {e}"
        )),
        Err(_) => Err(format!(
            "sample: {conn} did not answer within {}s",
            READ_WAIT.as_secs()
        )),
    }
}

/// The target's current fields of a source record already linked there (by a sync).
async fn linked_target(ui: &Ui, source: &str, target: &str, r: &Record) -> Option<Record> {
    let store = &ui.app.engine.store;
    let kind = r.kind.as_str();
    let link = store.find_link(source, kind, &r.id).await.ok()??;
    let links = store.links_of(link.identity_id).await.ok()?;
    let other = links
        .into_iter()
        .find(|l| l.connection_id == target && l.kind == kind)?;
    let c = connector(ui, target)?;
    match tokio::time::timeout(READ_WAIT, c.get(r.kind, &other.external_id, None)).await {
        Ok(Ok(rec)) => rec,
        _ => None,
    }
}

fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        // Tags and other lists of text read as people write them.
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

fn answer(status: StatusCode, ctx: Value) -> Response {
    render::page_status(status, "_dry_run.html", ctx)
}

fn refused(p: Value) -> Response {
    answer(StatusCode::UNPROCESSABLE_ENTITY, json!({"error": p}))
}

/// `POST /ui/flows/{name}/dry-run`: the flow as the editor's form has it (the saved file when
/// the post carries no form) run on the chosen or pasted record.
pub async fn dry_run(State(ui): State<Arc<Ui>>, Path(name): Path<String>, body: Bytes) -> Response {
    let Some((file, text_now)) = file_text(&ui, &name) else {
        return refused(problem(&format!("no flow named `{name}`")));
    };
    let form = pairs(&body);
    let yaml = if form.has_sync_form() || form.yaml.is_some() {
        match form_yaml(&text_now, &form).0 {
            Ok(y) => y,
            Err(p) => return refused(p),
        }
    } else {
        text_now
    };
    let flow = match admin_flows::check(&ui.app, &yaml, &file.display().to_string()) {
        Ok(f) => f,
        Err(e) => return refused(problems(&e, &form.kind)),
    };
    let (conn, target, kind) = match &flow.body {
        FlowBody::Sync(s) => {
            let kind = EntityKind::parse(&form.kind)
                .filter(|k| s.kinds.contains(k))
                .or_else(|| s.kinds.first().copied());
            (s.source.clone(), Some(s.target.clone()), kind)
        }
        FlowBody::Actions(_) => match trigger_side(&flow) {
            Some((c, k)) => (c, None, EntityKind::parse(&k)),
            None => (String::new(), None, Some(EntityKind::Contact)),
        },
    };
    let Some(kind) = kind else {
        return refused(problem("kind: the flow names no kind to dry-run"));
    };
    let (record, real) =
        match sample(&ui, &conn, kind, &form.sample_source, &form.sample_record).await {
            Ok(r) => r,
            Err(e) => return refused(problem(&e)),
        };
    let run = match dry_run_with(&flow, &record, &DryRunOptions::default()) {
        Ok(r) => r,
        Err(e) => return refused(problem(&format!("dry run: {e}"))),
    };
    let current: Option<Map<String, Value>> = match (&target, real) {
        (Some(t), true) => linked_target(&ui, &conn, t, &record)
            .await
            .map(|r| r.fields),
        _ => None,
    };
    let sync = target.is_some();
    let rows: Vec<Value> = run
        .after
        .iter()
        .map(|(field, after)| {
            let before = if sync {
                current.as_ref().and_then(|c| c.get(field))
            } else {
                run.before.get(field)
            };
            let (b, a) = (text(before), text(Some(after)));
            json!({"field": field, "before": b, "after": a, "changed": b != a})
        })
        .collect();
    answer(
        StatusCode::OK,
        json!({
            "rows": rows,
            "sync": sync,
            "target": target,
            "linked": current.is_some(),
            "record_id": record.id,
            "source": conn,
            "warnings": run.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
            "skipped_by_filter": run.skipped_by_filter,
            "actions": run.actions.iter().map(|a| json!({"action": a.action, "connection": a.connection, "summary": a.summary})).collect::<Vec<_>>(),
            "error": null,
        }),
    )
}
