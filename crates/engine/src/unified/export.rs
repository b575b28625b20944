//! Exports of the unified view: every record (one row per person per record), a report (one
//! row per person) and the activity timeline (one row per moment), as CSV for a spreadsheet or
//! JSON for other tools. [`render`] is the one entry point, so a flow action that writes a
//! report only has to choose the kind and the format.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::csv::to_csv;
use super::model::{Item, PersonView};
use super::timeline::{timeline, TimelineEntry};

/// What an export lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportKind {
    /// One row per person per record (contact, task, note, appointment) per app.
    Records,
    /// One row per person: contact details, task counts, notes, next and last activity.
    Report,
    /// One row per note, task or appointment, in date order.
    Timeline,
}

/// How an export is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Csv,
    Json,
}

/// Columns of [`ExportKind::Records`].
pub const RECORD_COLUMNS: &[&str] = &[
    "person",
    "name",
    "email",
    "connection",
    "app",
    "kind",
    "id",
    "title",
    "body",
    "status",
    "due_at",
    "start_at",
    "end_at",
    "tags",
    "updated_at",
    "linked_as",
];

/// Columns of [`ExportKind::Report`].
pub const REPORT_COLUMNS: &[&str] = &[
    "person",
    "name",
    "email",
    "phone",
    "company",
    "apps",
    "tags",
    "open_tasks",
    "overdue_tasks",
    "completed_tasks",
    "next_task",
    "next_task_due",
    "notes",
    "latest_note",
    "latest_note_at",
    "appointments",
    "next_appointment",
    "next_appointment_at",
    "last_activity_at",
];

/// Columns of [`ExportKind::Timeline`].
pub const TIMELINE_COLUMNS: &[&str] = &[
    "at", "person", "name", "event", "title", "detail", "apps", "ids",
];

/// A time as spreadsheets read it: RFC 3339 in UTC, to the second.
pub fn time_cell(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

fn person_cell(p: &PersonView) -> String {
    p.identity_id.map(|i| i.to_string()).unwrap_or_default()
}

/// One row per record of the person, in section order.
pub fn record_rows(p: &PersonView) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for s in &p.apps {
        for item in s.items() {
            rows.push(record_row(p, &s.connection, &s.app, &s.tags, item));
        }
    }
    rows
}

fn record_row(p: &PersonView, conn: &str, app: &str, tags: &[String], item: &Item) -> Vec<String> {
    let tags = if item.kind == connectors::EntityKind::Contact {
        tags.join("; ")
    } else {
        String::new()
    };
    vec![
        person_cell(p),
        opt(&p.summary.name),
        opt(&p.summary.email),
        conn.to_string(),
        app.to_string(),
        item.kind.to_string(),
        item.id.clone(),
        opt(&item.title),
        opt(&item.body),
        opt(&item.status),
        time_cell(item.due_at),
        time_cell(item.start_at),
        time_cell(item.end_at),
        tags,
        time_cell(item.updated_at),
        item.linked_as.map(|i| i.to_string()).unwrap_or_default(),
    ]
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    pub person: Option<i64>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub apps: Vec<String>,
    pub tags: Vec<String>,
    pub open_tasks: usize,
    pub overdue_tasks: usize,
    pub completed_tasks: usize,
    pub next_task: Option<String>,
    pub next_task_due: Option<DateTime<Utc>>,
    pub notes: usize,
    pub latest_note: Option<String>,
    pub latest_note_at: Option<DateTime<Utc>>,
    pub appointments: usize,
    pub next_appointment: Option<String>,
    pub next_appointment_at: Option<DateTime<Utc>>,
    pub last_activity_at: Option<DateTime<Utc>>,
}

/// The report line of a person.
pub fn report_row(p: &PersonView) -> ReportRow {
    let s = &p.summary;
    ReportRow {
        person: p.identity_id.map(|i| i.0),
        name: s.name.clone(),
        email: s.email.clone(),
        phone: s.phone.clone(),
        company: s.company.clone(),
        apps: s.apps.clone(),
        tags: s.tags.clone(),
        open_tasks: s.tasks.open,
        overdue_tasks: s.tasks.overdue,
        completed_tasks: s.tasks.completed,
        next_task: s.next_task.as_ref().map(|b| b.title.clone()),
        next_task_due: s.next_task.as_ref().and_then(|b| b.at),
        notes: s.notes,
        latest_note: s.latest_note.as_ref().map(|b| b.title.clone()),
        latest_note_at: s.latest_note.as_ref().and_then(|b| b.at),
        appointments: s.appointments,
        next_appointment: s.next_appointment.as_ref().map(|b| b.title.clone()),
        next_appointment_at: s.next_appointment.as_ref().and_then(|b| b.at),
        last_activity_at: s.last_activity_at,
    }
}

impl ReportRow {
    /// The cells, in [`REPORT_COLUMNS`] order.
    pub fn cells(&self) -> Vec<String> {
        vec![
            self.person.map(|i| i.to_string()).unwrap_or_default(),
            opt(&self.name),
            opt(&self.email),
            opt(&self.phone),
            opt(&self.company),
            self.apps.join("; "),
            self.tags.join("; "),
            self.open_tasks.to_string(),
            self.overdue_tasks.to_string(),
            self.completed_tasks.to_string(),
            opt(&self.next_task),
            time_cell(self.next_task_due),
            self.notes.to_string(),
            opt(&self.latest_note),
            time_cell(self.latest_note_at),
            self.appointments.to_string(),
            opt(&self.next_appointment),
            time_cell(self.next_appointment_at),
            time_cell(self.last_activity_at),
        ]
    }
}

/// A timeline entry with the person it belongs to (for exports of several people).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonEntry {
    pub person: Option<i64>,
    pub name: Option<String>,
    #[serde(flatten)]
    pub entry: TimelineEntry,
}

/// The timelines of several people, each in date order, people in the order given.
pub fn timeline_entries(people: &[PersonView]) -> Vec<PersonEntry> {
    people
        .iter()
        .flat_map(|p| {
            timeline(p).into_iter().map(move |entry| PersonEntry {
                person: p.identity_id.map(|i| i.0),
                name: p.summary.name.clone(),
                entry,
            })
        })
        .collect()
}

fn timeline_cells(e: &PersonEntry) -> Vec<String> {
    vec![
        time_cell(e.entry.at),
        e.person.map(|i| i.to_string()).unwrap_or_default(),
        opt(&e.name),
        e.entry.event.clone(),
        opt(&e.entry.title),
        opt(&e.entry.detail),
        e.entry
            .copies
            .iter()
            .map(|c| c.connection.as_str())
            .collect::<Vec<_>>()
            .join("; "),
        e.entry
            .copies
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>()
            .join("; "),
    ]
}

/// The header and rows of an export, as text cells.
pub fn table(
    people: &[PersonView],
    kind: ExportKind,
) -> (&'static [&'static str], Vec<Vec<String>>) {
    match kind {
        ExportKind::Records => (
            RECORD_COLUMNS,
            people.iter().flat_map(record_rows).collect(),
        ),
        ExportKind::Report => (
            REPORT_COLUMNS,
            people.iter().map(|p| report_row(p).cells()).collect(),
        ),
        ExportKind::Timeline => (
            TIMELINE_COLUMNS,
            timeline_entries(people)
                .iter()
                .map(timeline_cells)
                .collect(),
        ),
    }
}

/// Renders an export of these people. JSON: `Records` is the full views, `Report` the report
/// rows, `Timeline` the entries with their person.
pub fn render(people: &[PersonView], kind: ExportKind, format: ExportFormat) -> String {
    match format {
        ExportFormat::Csv => {
            let (header, rows) = table(people, kind);
            to_csv(header, &rows)
        }
        ExportFormat::Json => {
            let value = match kind {
                ExportKind::Records => serde_json::to_value(people),
                ExportKind::Report => {
                    serde_json::to_value(people.iter().map(report_row).collect::<Vec<_>>())
                }
                ExportKind::Timeline => serde_json::to_value(timeline_entries(people)),
            };
            // These types serialise infallibly (string keys, no custom serialisers).
            let value = value.unwrap_or_default();
            serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
        }
    }
}
