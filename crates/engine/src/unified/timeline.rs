//! A person's activity timeline: notes, tasks and appointments of every app in date order, a
//! record synced to several apps shown once with every app that holds a copy.

use chrono::{DateTime, Utc};
use connectors::EntityKind;
use serde::Serialize;

use super::model::PersonView;
use super::summary::{freshest, groups};

/// One moment of a person's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    /// A note's or task's last change (a task's due date when its app does not say when it
    /// changed), an appointment's start.
    pub at: Option<DateTime<Utc>>,
    pub kind: EntityKind,
    /// `note`, `task open`, `task overdue`, `task completed`, `appointment <status>`.
    pub event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The note's text, the task's description and due date, the appointment's notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Every app holding the record (linked copies are one entry).
    pub copies: Vec<CopyRef>,
}

/// Where one copy of a timeline record lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyRef {
    pub connection: String,
    pub app: String,
    pub id: String,
}

/// The person's timeline, oldest first (records without a date last).
pub fn timeline(p: &PersonView) -> Vec<TimelineEntry> {
    let mut out = Vec::new();
    for kind in [EntityKind::Note, EntityKind::Task, EntityKind::Appointment] {
        for g in groups(&p.apps, kind) {
            let Some(main) = freshest(&g) else { continue };
            let item = main.item;
            let event = match kind {
                EntityKind::Note => "note".to_string(),
                EntityKind::Task => format!("task {}", item.status.as_deref().unwrap_or("open")),
                _ => match &item.status {
                    Some(s) => format!("appointment {s}"),
                    None => "appointment".to_string(),
                },
            };
            let detail = match kind {
                EntityKind::Task => {
                    let due = item
                        .due_at
                        .map(|d| format!("due {}", d.format("%Y-%m-%d %H:%M UTC")));
                    match (&item.body, due) {
                        (Some(b), Some(d)) => Some(format!("{b} ({d})")),
                        (Some(b), None) => Some(b.clone()),
                        (None, d) => d,
                    }
                }
                _ => item.body.clone(),
            };
            out.push(TimelineEntry {
                at: item.moment(),
                kind,
                event,
                title: item.title.clone(),
                detail,
                copies: g
                    .iter()
                    .map(|c| CopyRef {
                        connection: c.connection.to_string(),
                        app: c.app.to_string(),
                        id: c.item.id.clone(),
                    })
                    .collect(),
            });
        }
    }
    out.sort_by(|a, b| (a.at.is_none(), a.at, &a.title).cmp(&(b.at.is_none(), b.at, &b.title)));
    out
}
