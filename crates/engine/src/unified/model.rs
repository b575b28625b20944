//! The typed unified view: one person, every connected app's records of them, and a merged
//! summary. Everything serialises to JSON for the CLI, the dashboard and other tools.

use chrono::{DateTime, Utc};
use connectors::{EntityKind, Record};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::flow::parse_datetime;
use crate::store::IdentityId;

/// One person as every connected app holds them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonView {
    /// The identity linking the person's contacts across apps; `None` for a contact no flow has
    /// linked yet (then there is one app section).
    pub identity_id: Option<IdentityId>,
    /// Merged across apps: records linked to each other count once.
    pub summary: Summary,
    /// One section per app contact, GHL connections first, then by connection name.
    pub apps: Vec<AppSection>,
}

/// What one connection holds of a person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppSection {
    /// The connection's name in the project (`ghl`, `crm` …).
    pub connection: String,
    /// Its app (`ghl`, `your_app`, `investnext` …).
    pub app: String,
    /// The contact's id there.
    pub contact_id: String,
    /// The contact as the app holds it now; `None` when it is gone (deleted since it was linked).
    pub contact: Option<Item>,
    /// The contact's tags in that app.
    pub tags: Vec<String>,
    pub tasks: Vec<Item>,
    pub notes: Vec<Item>,
    pub appointments: Vec<Item>,
    /// What could not be read (app unreachable, a kind it cannot list per contact); the rest of
    /// the view stands.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl AppSection {
    /// Every record of the section: the contact, then tasks, notes and appointments.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.contact
            .iter()
            .chain(&self.tasks)
            .chain(&self.notes)
            .chain(&self.appointments)
    }
}

/// One record, with the fields a person reads first pulled out of the canonical fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub kind: EntityKind,
    /// Its id in its app.
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// The identity linking this record to its copies in other apps (a synced task or note);
    /// copies share it, which is how the summary counts them once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linked_as: Option<IdentityId>,
    /// Contact: the full name; task and appointment: the title; note: its title, else the first
    /// line of its text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Task and note text, appointment notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Task: `open`, `overdue` or `completed`; appointment: its status as the app says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Task due date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    /// Appointment start and end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_at: Option<DateTime<Utc>>,
    /// When the app last changed it, if the app says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Every canonical field, as the connector reads it.
    pub fields: Map<String, Value>,
}

fn text(r: &Record, field: &str) -> Option<String> {
    r.text(field)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn time(r: &Record, field: &str) -> Option<DateTime<Utc>> {
    r.text(field).and_then(|s| parse_datetime(s, false))
}

/// A contact's full name from its parts.
pub(crate) fn full_name(r: &Record) -> Option<String> {
    let parts: Vec<String> = ["first_name", "last_name"]
        .iter()
        .filter_map(|f| text(r, f))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The first line of a text, at most `max` characters (an ellipsis marks a cut).
pub(crate) fn first_line(s: &str, max: usize) -> String {
    let line = s
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    if line.chars().count() <= max {
        line.to_string()
    } else {
        let cut: String = line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

impl Item {
    /// The view of a record; `now` decides whether an open task is overdue.
    pub fn of(r: &Record, linked_as: Option<IdentityId>, now: DateTime<Utc>) -> Self {
        let (title, body, status) = match r.kind {
            EntityKind::Contact => (full_name(r), None, None),
            EntityKind::Task => {
                let done = r.fields.get("completed").and_then(Value::as_bool) == Some(true);
                let due = time(r, "due_at");
                let status = if done {
                    "completed"
                } else if due.is_some_and(|d| d < now) {
                    "overdue"
                } else {
                    "open"
                };
                (text(r, "title"), text(r, "body"), Some(status.to_string()))
            }
            EntityKind::Note => {
                let body = text(r, "body");
                let title = text(r, "title").or_else(|| body.as_deref().map(|b| first_line(b, 80)));
                (title, body, None)
            }
            EntityKind::Appointment => (text(r, "title"), text(r, "notes"), text(r, "status")),
            EntityKind::Business | EntityKind::Tag => (text(r, "name"), None, None),
        };
        Self {
            kind: r.kind,
            id: r.id.clone(),
            parent_id: r.parent_id.clone(),
            linked_as,
            title,
            body,
            status,
            due_at: time(r, "due_at"),
            start_at: time(r, "start_at"),
            end_at: time(r, "end_at"),
            updated_at: r.updated_at,
            fields: r.fields.clone(),
        }
    }

    /// The moment this record is about on a timeline: an appointment's start, else when it was
    /// last changed, else a task's due date.
    pub fn moment(&self) -> Option<DateTime<Utc>> {
        match self.kind {
            EntityKind::Appointment => self.start_at.or(self.updated_at),
            _ => self.updated_at.or(self.due_at),
        }
    }
}

/// The person merged across apps. Records linked to each other (a task synced from GHL to the
/// CRM) count once, read from the copy changed most recently.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// From the first app section that has it.
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    /// Every app's tags, once each (compared ignoring case), in order of first appearance.
    pub tags: Vec<String>,
    /// The connections holding the person's contact.
    pub apps: Vec<String>,
    pub tasks: TaskCounts,
    /// The open task due first (overdue ones included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_task: Option<Brief>,
    pub notes: usize,
    /// The note changed last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_note: Option<Brief>,
    pub appointments: usize,
    /// The first appointment from now on that is not cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_appointment: Option<Brief>,
    /// The latest change to any of the person's records in any app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_activity_at: Option<DateTime<Utc>>,
}

/// Tasks by status, merged across apps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TaskCounts {
    /// Not completed (overdue ones included).
    pub open: usize,
    /// Not completed and due before now.
    pub overdue: usize,
    pub completed: usize,
}

/// A record named in the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Brief {
    pub title: String,
    /// Due date, start, or last change, by what the record is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    /// The connection of the copy it was read from.
    pub connection: String,
    /// Its id there.
    pub id: String,
}

/// One page of people.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeoplePage {
    /// Linked people in all (every page).
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    pub people: Vec<PersonView>,
}
