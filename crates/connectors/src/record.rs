//! The canonical record every connector reads and writes.
//!
//! Field names are the same in every app so that default mappings are the identity and the
//! unified view can put apps side by side:
//!
//! | kind | canonical fields |
//! |---|---|
//! | contact | `first_name, last_name, email, phone, company_name, address1, city, state, postal_code, country, website, timezone, source, tags` (array of strings), `dnd` (bool), `business_id`, `custom.<Field Name>` (custom fields by their human name) |
//! | task | `title, body, due_at` (RFC 3339), `completed` (bool), `assigned_to` |
//! | note | `body, title` |
//! | appointment | `title, start_at, end_at, status, notes, address` |
//! | business | `name` |
//! | tag | `name` |
//!
//! A connector may add fields of its own under `x.<name>`; mappings can read them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What kind of thing a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Contact,
    Task,
    Note,
    Appointment,
    Tag,
    Business,
}

impl EntityKind {
    /// Every kind, in a stable order.
    pub const ALL: [EntityKind; 6] = [
        Self::Contact,
        Self::Task,
        Self::Note,
        Self::Appointment,
        Self::Tag,
        Self::Business,
    ];

    /// The lower-case name used in flows and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contact => "contact",
            Self::Task => "task",
            Self::Note => "note",
            Self::Appointment => "appointment",
            Self::Tag => "tag",
            Self::Business => "business",
        }
    }

    /// Parses the lower-case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether records of this kind hang under a contact (tasks, notes, appointments).
    pub fn has_parent(self) -> bool {
        matches!(self, Self::Task | Self::Note | Self::Appointment)
    }
}

impl std::fmt::Display for EntityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One record of one app, in canonical field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub kind: EntityKind,
    /// The record's id in its app.
    pub id: String,
    /// For tasks, notes and appointments: the id of their contact in the same app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    pub fields: Map<String, Value>,
    /// When the app last changed it, if the app says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    /// A tombstone: the app deleted (or archived) it.
    #[serde(default)]
    pub deleted: bool,
}

impl Record {
    /// A live record with these fields.
    pub fn new(kind: EntityKind, id: impl Into<String>, fields: Map<String, Value>) -> Self {
        Self {
            kind,
            id: id.into(),
            parent_id: None,
            fields,
            updated_at: None,
            deleted: false,
        }
    }

    /// A field as text, if it is a non-empty string.
    pub fn text(&self, field: &str) -> Option<&str> {
        self.fields
            .get(field)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }
}
