//! `/ui/flows/new`: a new flow from one of the shipped templates (one of its flow files, with
//! its connection names changed to the project's) or a blank sync between two connections.
//! The file is created by the admin API's own create function: checked by the project loader,
//! refused with every diagnostic and nothing written when invalid, written atomically.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use engine::flow::AppKind;
use serde::Deserialize;
use serde_json::{json, Value};
use server::admin::flows as admin_flows;

use super::flows::{problem, problems};
use super::flows_yaml::{self, Y};
use crate::{render, Ui};

/// The new-flow form.
#[derive(Debug, Default, Deserialize)]
pub struct NewForm {
    /// `template` or `blank`.
    #[serde(default)]
    pub mode: String,
    #[serde(default)]
    pub template: String,
    /// A flow file of the template (`flows/contacts.yaml`); empty: its first.
    #[serde(default)]
    pub template_flow: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub direction: String,
}

fn page_ctx(ui: &Ui, form: &NewForm, error: Option<Value>) -> Value {
    let templates: Vec<Value> = templates::all()
        .into_iter()
        .map(|t| {
            let description = t.meta().map(|m| m.title).unwrap_or_default();
            let flows: Vec<&str> = t.flow_files().map(|f| f.path).collect();
            json!({"id": t.id, "description": description, "flows": flows})
        })
        .collect();
    let connections: Vec<Value> = ui
        .app
        .admin
        .apps
        .iter()
        .map(|(name, app)| json!({"name": name, "app": app.as_str()}))
        .collect();
    json!({
        "nav": "flows",
        "templates": templates,
        "connections": connections,
        "kinds": ["contact", "task", "note", "appointment", "tag", "business"],
        "form": {
            "mode": if form.mode.is_empty() { "template" } else { form.mode.as_str() },
            "template": form.template, "template_flow": form.template_flow, "name": form.name,
            "source": form.source, "target": form.target, "kind": form.kind,
            "direction": form.direction,
        },
        "error": error,
    })
}

/// `GET /ui/flows/new`.
pub async fn page(State(ui): State<Arc<Ui>>) -> Response {
    render::page("flows_new.html", page_ctx(&ui, &NewForm::default(), None))
}

/// The template's connections and their apps (from its `ghl-bridge.yaml`).
fn template_connections(t: &templates::Template) -> BTreeMap<String, String> {
    let Some(doc) = t
        .file(templates::PROJECT_FILE)
        .and_then(|text| flows_yaml::parse(text).ok())
    else {
        return BTreeMap::new();
    };
    match doc.get("connections") {
        Some(Y::Map(entries)) => entries
            .iter()
            .map(|(k, v)| {
                let app = v.get("app").map(Y::scalar_text).unwrap_or_default();
                (k.scalar_text(), app)
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// Template connection → project connection: the chosen source and target for a sync's
/// sides, else the project's first connection of the same app; unmatched names stay (the
/// loader then names them).
fn renames(ui: &Ui, t: &templates::Template, doc: &Y, form: &NewForm) -> BTreeMap<String, String> {
    let project: &BTreeMap<String, AppKind> = &ui.app.admin.apps;
    let mut out = BTreeMap::new();
    for (name, app) in template_connections(t) {
        if project.contains_key(&name) {
            continue;
        }
        if let Some((p, _)) = project.iter().find(|(_, a)| a.as_str() == app) {
            out.insert(name, p.clone());
        }
    }
    let sync = doc.get("sync");
    for (side, chosen) in [("source", &form.source), ("target", &form.target)] {
        let written = sync.and_then(|s| s.get(side)).map(Y::scalar_text);
        if let (Some(w), false) = (written, chosen.is_empty()) {
            out.insert(w, chosen.clone());
        }
    }
    out
}

/// Renames connections in a flow tree: `sync.source/target`, every `connection:` value, and
/// the first part of an event trigger (`ghl.contact.updated`).
fn rename(y: &mut Y, map: &BTreeMap<String, String>, top: bool) {
    let Y::Map(entries) = y else {
        if let Y::Seq(items) = y {
            for i in items {
                rename(i, map, false);
            }
        }
        return;
    };
    for (k, v) in entries.iter_mut() {
        let key = k.scalar_text();
        match (key.as_str(), &mut *v) {
            ("connection" | "source" | "target", Y::Str(s)) if map.contains_key(s.as_str()) => {
                *s = map[s.as_str()].clone();
            }
            ("trigger" | "event", Y::Str(s)) if top || key == "event" => {
                if let Some((first, rest)) = s.split_once('.') {
                    if let Some(to) = map.get(first) {
                        *s = format!("{to}.{rest}");
                    }
                }
            }
            _ => rename(v, map, key == "trigger"),
        }
    }
}

/// The flow file a template choice makes.
fn from_template(ui: &Ui, form: &NewForm) -> Result<String, Value> {
    let t = templates::get(&form.template)
        .ok_or_else(|| problem("template: choose one of the listed templates"))?;
    let file = if form.template_flow.is_empty() {
        t.flow_files().next()
    } else {
        t.flow_files().find(|f| f.path == form.template_flow)
    }
    .ok_or_else(|| {
        problem(&format!(
            "template flow: `{}` has no flow file `{}`; it has: {}",
            t.id,
            form.template_flow,
            t.flow_files()
                .map(|f| f.path)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let mut doc = flows_yaml::parse(file.contents)
        .map_err(|e| problem(&format!("template flow {}: {e}", file.path)))?;
    let map = renames(ui, &t, &doc, form);
    rename(&mut doc, &map, true);
    if !form.name.trim().is_empty() {
        doc.set("name", Some(Y::s(form.name.trim())));
    }
    Ok(flows_yaml::emit(&doc))
}

/// The flow file of a blank sync.
fn blank(form: &NewForm) -> Result<String, Value> {
    if form.name.trim().is_empty() {
        return Err(problem("name: give the new flow a name"));
    }
    let kind = if form.kind.is_empty() {
        "contact"
    } else {
        &form.kind
    };
    let direction = if form.direction.is_empty() {
        "one_way"
    } else {
        &form.direction
    };
    let doc = Y::Map(vec![
        (Y::s("name"), Y::s(form.name.trim())),
        (
            Y::s("sync"),
            Y::Map(vec![
                (Y::s("source"), Y::s(form.source.as_str())),
                (Y::s("target"), Y::s(form.target.as_str())),
                (Y::s("direction"), Y::s(direction)),
                (Y::s("kinds"), Y::Seq(vec![Y::s(kind)])),
            ]),
        ),
    ]);
    Ok(flows_yaml::emit(&doc))
}

/// `POST /ui/flows/new`: creates the file and opens the editor; a refusal shows the form again
/// with the problems (nothing written).
pub async fn create(State(ui): State<Arc<Ui>>, Form(form): Form<NewForm>) -> Response {
    let text = match form.mode.as_str() {
        "blank" => blank(&form),
        _ => from_template(&ui, &form),
    };
    let text = match text {
        Ok(t) => t,
        Err(p) => {
            return render::page_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "flows_new.html",
                page_ctx(&ui, &form, Some(p)),
            )
        }
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/yaml"),
    );
    let created =
        admin_flows::create_flow(State(ui.app.clone()), headers, Body::from(text.clone())).await;
    match created {
        Ok(_) => {
            let name = flows_yaml::parse(&text)
                .ok()
                .and_then(|d| d.get("name").map(Y::scalar_text))
                .unwrap_or_default();
            tracing::info!(flow = %name, "flow created from the dashboard");
            Redirect::to(&format!("/ui/flows/{}?created=1", url_segment(&name))).into_response()
        }
        Err(e) => {
            let mut p = problems(&e, "");
            p["yaml"] = json!(text);
            render::page_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "flows_new.html",
                page_ctx(&ui, &form, Some(p)),
            )
        }
    }
}

/// A flow name as one URL path segment.
pub fn url_segment(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_renamed_in_syncs_triggers_and_actions() {
        let mut doc = flows_yaml::parse(
            "name: x\ntrigger: your_app.contact.updated\nactions:\n  - upsert: {connection: ghl}\n  - add_tags: [a]\n",
        )
        .unwrap();
        let map: BTreeMap<String, String> = [("your_app", "crm"), ("ghl", "ghl_main")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        rename(&mut doc, &map, true);
        let out = flows_yaml::emit(&doc);
        assert!(out.contains("trigger: crm.contact.updated"), "{out}");
        assert!(out.contains("connection: ghl_main"), "{out}");
        assert_eq!(url_segment("GHL ⇄ CRM"), "GHL%20%E2%87%84%20CRM");
    }
}
