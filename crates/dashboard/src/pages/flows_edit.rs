//! `/ui/flows/{name}`: the flow editor. A sync gets the mapping form (rows of source field,
//! target field, transform and direction; the match keys, conflict and delete policies of one
//! kind); an actions flow gets its YAML. Every change is previewed as the YAML it would save
//! and checked by the project loader as you go; saving goes through the admin API's replace
//! (same checks, nothing written on error, atomic write). Saved flows take effect when
//! `ghl-bridge serve` restarts; the on/off switch applies at once.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};
use server::admin::flows as admin_flows;

use super::flows::{file_text, info, not_found, problem, problems};
use super::flows_dry;
use super::flows_form::{
    apply, match_choices, simple_transforms, sync_view, view_of_form, EditForm, Row, SyncView,
    CONFLICT_POLICIES, DELETE_POLICIES, RULE_DIRECTIONS, SYNC_DIRECTIONS,
};
use super::flows_yaml;
use crate::{render, Ui};

/// The editor's query: which kind's mapping, and what just happened.
#[derive(Debug, Default, Deserialize)]
pub struct EditQuery {
    kind: Option<String>,
    created: Option<String>,
}

/// Reads a posted form body as ordered pairs (rows repeat their field names).
pub fn pairs(body: &Bytes) -> EditForm {
    EditForm::from_pairs(serde_urlencoded::from_bytes(body).unwrap_or_default())
}

/// The choices every select of the editor offers (exactly the names the parser accepts).
fn choices(view: &SyncView) -> Value {
    json!({
        "transforms": simple_transforms(),
        "rule_directions": RULE_DIRECTIONS,
        "delete_policies": DELETE_POLICIES,
        "sync_directions": SYNC_DIRECTIONS,
        "conflict_policies": CONFLICT_POLICIES.iter().map(|(v, l)| json!({"value": v, "label": l})).collect::<Vec<_>>(),
        "match_keys": match_choices(&view.kind, &view.match_key),
    })
}

/// Source and target field names to suggest (datalists): the kind's canonical fields, plus
/// the fields of real records of each side when the connection answers quickly.
fn field_lists(view: &SyncView, src: &[String], tgt: &[String]) -> Value {
    let mut canonical: Vec<String> = connectors::EntityKind::parse(&view.kind)
        .map(|k| {
            engine::flow::canonical_fields(k)
                .iter()
                .map(|s| s.to_string())
                .collect()
        })
        .unwrap_or_default();
    let merge = |extra: &[String], base: &mut Vec<String>| {
        for f in extra {
            if !base.contains(f) {
                base.push(f.clone());
            }
        }
    };
    let mut source = canonical.clone();
    merge(src, &mut source);
    merge(tgt, &mut canonical);
    json!({"source": source, "target": canonical, "source_read": src, "target_read": tgt})
}

/// Everything the editor page renders.
#[allow(clippy::too_many_arguments)]
async fn editor_ctx(
    ui: &Ui,
    name: &str,
    file_shown: &str,
    yaml: &str,
    view: Option<SyncView>,
    validation: Option<Value>,
    saved: bool,
    created: bool,
) -> Value {
    let f = info(ui, name).await;
    let (choices, fields, samples) = match &view {
        Some(v) => {
            // One page of each side, read once: field names, and the source's as samples.
            let source = flows_dry::first_page(ui, &v.source, &v.kind).await;
            let target = flows_dry::first_page(ui, &v.target, &v.kind).await;
            let (src, tgt) = (
                flows_dry::record_fields(&source),
                flows_dry::record_fields(&target),
            );
            (
                choices(v),
                field_lists(v, &src, &tgt),
                flows_dry::samples(&source, &v.source, &v.kind),
            )
        }
        None => (json!({}), json!({}), flows_dry::samples_for(ui, name).await),
    };
    json!({
        "nav": "flows",
        "name": name,
        "url_name": super::flows_new::url_segment(name),
        "file": file_shown,
        "f": f,
        "yaml": yaml,
        "sync": view,
        "choices": choices,
        "fields": fields,
        "samples": samples,
        "validation": validation,
        "saved": saved,
        "created": created,
    })
}

fn shown(ui: &Ui, file: &std::path::Path) -> String {
    ui.app
        .admin
        .flows_dir
        .as_deref()
        .map(|d| admin_flows::shown(d, file))
        .unwrap_or_default()
}

/// `GET /ui/flows/{name}`.
pub async fn page(
    State(ui): State<Arc<Ui>>,
    Path(name): Path<String>,
    Query(q): Query<EditQuery>,
) -> Response {
    let Some((file, text)) = file_text(&ui, &name) else {
        return not_found(&name);
    };
    let doc = flows_yaml::parse(&text).ok();
    let view = doc
        .as_ref()
        .filter(|d| d.get("sync").is_some())
        .map(|d| sync_view(d, q.kind.as_deref()));
    let ctx = editor_ctx(
        &ui,
        &name,
        &shown(&ui, &file),
        &text,
        view,
        None,
        false,
        q.created.is_some(),
    )
    .await;
    render::page("flow_edit.html", ctx)
}

/// The YAML a posted editor form makes, and the view to show it with.
pub fn form_yaml(text: &str, form: &EditForm) -> (Result<String, Value>, Option<SyncView>) {
    if let Some(yaml) = &form.yaml {
        return (Ok(yaml.clone()), None);
    }
    let doc = match flows_yaml::parse(text) {
        Ok(d) => d,
        Err(e) => {
            return (
                Err(problem(&format!("the saved file does not read: {e}"))),
                None,
            )
        }
    };
    let view = view_of_form(&doc, form);
    (apply(&doc, form).map_err(|e| problem(&e)), Some(view))
}

/// Checks the YAML as the project loader does; the problems when it is invalid.
fn validate(ui: &Ui, yaml: &str, file: &str, kind: &str) -> Result<(), Value> {
    admin_flows::check(&ui.app, yaml, file)
        .map(|_| ())
        .map_err(|e| problems(&e, kind))
}

/// `POST /ui/flows/{name}/preview` (htmx, on every change): the YAML the form would save and
/// the loader's verdict on it.
pub async fn preview(State(ui): State<Arc<Ui>>, Path(name): Path<String>, body: Bytes) -> Response {
    let Some((file, text)) = file_text(&ui, &name) else {
        return not_found(&name);
    };
    let form = pairs(&body);
    let (yaml, _) = form_yaml(&text, &form);
    let (yaml, validation) = match yaml {
        Ok(y) => {
            let v = validate(&ui, &y, &shown(&ui, &file), &form.kind).err();
            (y, v)
        }
        Err(p) => (String::new(), Some(p)),
    };
    let valid = validation.is_none();
    render::page(
        "_flow_check.html",
        json!({"yaml": yaml, "validation": validation, "valid": valid, "sync": form.yaml.is_none()}),
    )
}

/// `POST /ui/flows/{name}`: saves the form (or the YAML of an actions flow). Invalid: the page
/// again with the problems in `div#validation`, status 422, nothing written.
pub async fn save(State(ui): State<Arc<Ui>>, Path(name): Path<String>, body: Bytes) -> Response {
    let Some((file, text)) = file_text(&ui, &name) else {
        return not_found(&name);
    };
    let form = pairs(&body);
    let file_shown = shown(&ui, &file);
    let (yaml, view) = form_yaml(&text, &form);
    let result = match &yaml {
        Ok(y) => {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/yaml"),
            );
            admin_flows::update_flow(
                State(ui.app.clone()),
                Path(name.clone()),
                headers,
                Body::from(y.clone()),
            )
            .await
            .map(|_| ())
            .map_err(|e| problems(&e, &form.kind))
        }
        Err(p) => Err(p.clone()),
    };
    let shown_yaml = yaml.clone().unwrap_or_else(|_| text.clone());
    match result {
        Ok(()) => {
            tracing::info!(flow = %name, "flow saved from the dashboard; takes effect on restart");
            // Show the file as written, read back from disk.
            let (view, yaml) = match file_text(&ui, &name) {
                Some((_, saved)) => {
                    let v = flows_yaml::parse(&saved)
                        .ok()
                        .filter(|d| d.get("sync").is_some())
                        .map(|d| sync_view(&d, Some(&form.kind)));
                    (v, saved)
                }
                None => (view, shown_yaml),
            };
            let ctx = editor_ctx(&ui, &name, &file_shown, &yaml, view, None, true, false).await;
            render::page("flow_edit.html", ctx)
        }
        Err(p) => {
            let ctx = editor_ctx(
                &ui,
                &name,
                &file_shown,
                &shown_yaml,
                view,
                Some(p),
                false,
                false,
            )
            .await;
            render::page_status(StatusCode::UNPROCESSABLE_ENTITY, "flow_edit.html", ctx)
        }
    }
}

/// The add-row query.
#[derive(Debug, Deserialize)]
pub struct RowQuery {
    #[serde(default)]
    kind: String,
}

/// `GET /ui/flow-row`: an empty mapping row (htmx appends it to `table#mapping`).
pub async fn new_row(Query(q): Query<RowQuery>) -> Response {
    let view = SyncView {
        kind: q.kind,
        ..SyncView::default()
    };
    render::page(
        "_mapping_row.html",
        json!({"row": Row { source_kind: "from".into(), ..Row::default() }, "choices": choices(&view)}),
    )
}

/// `GET /ui/flow-row/removed`: nothing; htmx removes the row the button sits in.
pub async fn removed_row() -> &'static str {
    ""
}
