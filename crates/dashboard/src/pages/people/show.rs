//! The person page's tables: each app's contact side by side (one column per app, one row per
//! field, differing values marked), and one timeline of everything — the engine's timeline of
//! notes, tasks and appointments (linked copies once, with every app holding one) plus each
//! app's contact and tags — newest first, each entry labelled with its apps.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use engine::unified::{timeline, PersonView};
use serde::Serialize;
use serde_json::{json, Value};

/// Contact fields shown first, in this order; the rest follow alphabetically.
const FIRST_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "tags",
];
/// Characters of a field value shown in the side-by-side table before it is cut.
const CELL: usize = 120;

/// A value as a table cell: text as is, anything else compact JSON, long values cut (the whole
/// value stays available in the cell's disclosure).
#[derive(Debug, Serialize, PartialEq)]
struct Cell {
    short: String,
    full: String,
    cut: bool,
}

fn cell(v: &Value) -> Cell {
    let full = match v {
        Value::String(s) => s.clone(),
        Value::Array(a) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    let cut = full.chars().count() > CELL;
    let short = if cut {
        full.chars().take(CELL - 1).collect::<String>() + "…"
    } else {
        full.clone()
    };
    Cell { short, full, cut }
}

/// One row of the side-by-side table.
#[derive(Debug, Serialize)]
struct FieldRow {
    field: String,
    cells: Vec<Option<Cell>>,
    /// The apps disagree on it.
    differs: bool,
}

fn field_rows(p: &PersonView) -> Vec<FieldRow> {
    let mut rest = BTreeSet::new();
    for c in p.apps.iter().filter_map(|s| s.contact.as_ref()) {
        rest.extend(
            c.fields
                .keys()
                .filter(|k| !FIRST_FIELDS.contains(&k.as_str()))
                .cloned(),
        );
    }
    let names = FIRST_FIELDS
        .iter()
        .map(|s| s.to_string())
        .chain(rest)
        .collect::<Vec<_>>();
    names
        .into_iter()
        .filter_map(|field| {
            let values: Vec<Option<&Value>> = p
                .apps
                .iter()
                .map(|s| {
                    s.contact
                        .as_ref()
                        .and_then(|c| c.fields.get(&field))
                        .filter(|v| !v.is_null())
                })
                .collect();
            if values.iter().all(Option::is_none) {
                return None;
            }
            let differs = values.windows(2).any(|w| w[0] != w[1]);
            Some(FieldRow {
                cells: values.into_iter().map(|v| v.map(cell)).collect(),
                field,
                differs,
            })
        })
        .collect()
}

/// An app a timeline entry is in.
#[derive(Debug, Serialize, Clone, PartialEq)]
struct Label {
    connection: String,
    app: String,
    id: String,
}

/// One moment on the page's timeline.
#[derive(Debug, Serialize)]
struct Entry {
    at: Option<DateTime<Utc>>,
    /// `contact`, `tags`, `task`, `note` or `appointment`.
    kind: String,
    /// What happened, e.g. `task overdue`, `contact`.
    event: String,
    title: Option<String>,
    detail: Option<String>,
    apps: Vec<Label>,
}

fn entries(p: &PersonView) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for s in &p.apps {
        let Some(c) = &s.contact else { continue };
        let label = vec![Label {
            connection: s.connection.clone(),
            app: s.app.clone(),
            id: s.contact_id.clone(),
        }];
        let text = |f: &str| c.fields.get(f).and_then(Value::as_str).map(str::to_string);
        let detail: Vec<String> = [text("email"), text("phone")]
            .into_iter()
            .flatten()
            .collect();
        out.push(Entry {
            at: c.updated_at,
            kind: "contact".into(),
            event: "contact".into(),
            title: c.title.clone(),
            detail: Some(detail.join(" · ")).filter(|d| !d.is_empty()),
            apps: label.clone(),
        });
        if !s.tags.is_empty() {
            out.push(Entry {
                at: c.updated_at,
                kind: "tags".into(),
                event: "tags".into(),
                title: Some(s.tags.join(", ")),
                detail: None,
                apps: label,
            });
        }
    }
    out.extend(timeline(p).into_iter().map(|e| {
        Entry {
            at: e.at,
            kind: e.kind.to_string(),
            event: e.event,
            title: e.title,
            detail: e.detail,
            apps: e
                .copies
                .into_iter()
                .map(|c| Label {
                    connection: c.connection,
                    app: c.app,
                    id: c.id,
                })
                .collect(),
        }
    }));
    // Newest first; undated entries last. The sort is stable, so ties keep the engine's order.
    out.sort_by(|a, b| {
        (a.at.is_none(), std::cmp::Reverse(a.at)).cmp(&(b.at.is_none(), std::cmp::Reverse(b.at)))
    });
    out
}

fn when(t: Option<DateTime<Utc>>) -> Value {
    match t {
        Some(t) => json!({
            "iso": t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "text": t.format("%Y-%m-%d %H:%M").to_string(),
        }),
        None => Value::Null,
    }
}

/// The person page's template context.
pub(super) fn context(p: &PersonView, export_href: &str) -> Value {
    let apps: Vec<Value> = p
        .apps
        .iter()
        .map(|s| {
            json!({
                "connection": s.connection,
                "app": s.app,
                "contact_id": s.contact_id,
                "gone": s.contact.is_none(),
                "updated": when(s.contact.as_ref().and_then(|c| c.updated_at)),
                "tags": s.tags,
                "tasks": s.tasks.len(),
                "notes": s.notes.len(),
                "appointments": s.appointments.len(),
                "problems": s.problems,
            })
        })
        .collect();
    let timeline: Vec<Value> = entries(p)
        .into_iter()
        .map(|e| {
            json!({
                "at": when(e.at),
                "kind": e.kind,
                "event": e.event,
                "title": e.title,
                "detail": e.detail,
                "apps": e.apps,
            })
        })
        .collect();
    let s = &p.summary;
    json!({
        "nav": "people",
        "identity": p.identity_id.map(|i| i.0),
        "summary": {
            "name": s.name, "email": s.email, "phone": s.phone, "company": s.company,
            "tags": s.tags, "apps": s.apps,
            "open_tasks": s.tasks.open, "overdue_tasks": s.tasks.overdue,
            "completed_tasks": s.tasks.completed, "notes": s.notes,
            "appointments": s.appointments,
            "last_activity": when(s.last_activity_at),
        },
        "apps": apps,
        "fields": field_rows(p),
        "timeline": timeline,
        "export_href": export_href,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_show_text_lists_and_cut_long_values() {
        assert_eq!(cell(&json!("Ada")).short, "Ada");
        assert_eq!(cell(&json!(["vip", "investor"])).short, "vip, investor");
        assert_eq!(cell(&json!({"a": 1})).short, r#"{"a":1}"#);
        let long = cell(&json!("y".repeat(300)));
        assert!(long.cut);
        assert_eq!(long.short.chars().count(), CELL);
        assert_eq!(long.full.len(), 300);
    }
}
