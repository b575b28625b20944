//! The flow model: what a loaded, validated flow file means.
//!
//! Everything here has passed validation, so the engine never re-checks names, kinds, cron
//! expressions or templates at run time. The same model is what the dashboard edits; it
//! serializes to JSON for the admin API.

use std::collections::BTreeMap;

use connectors::EntityKind;
use serde::Serialize;
use serde_json::Value;

use super::filter::Filter;
use super::mapping::Mapping;
use super::template::Template;
use crate::unified::{ExportFormat, ExportKind};

/// The apps a connection can point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppKind {
    Ghl,
    YourApp,
    Insightly,
    Salesnexus,
    Investnext,
    Invoco,
}

impl AppKind {
    /// Every app, in the order the docs list them.
    pub const ALL: [AppKind; 6] = [
        Self::Ghl,
        Self::YourApp,
        Self::Insightly,
        Self::Salesnexus,
        Self::Investnext,
        Self::Invoco,
    ];

    /// The name written in `ghl-bridge.yaml` (`app: your_app`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ghl => "ghl",
            Self::YourApp => "your_app",
            Self::Insightly => "insightly",
            Self::Salesnexus => "salesnexus",
            Self::Investnext => "investnext",
            Self::Invoco => "invoco",
        }
    }

    /// Parses the name written in files.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The entity kinds the app's API has, so a flow naming another kind fails at load time
    /// rather than at its first run. SalesNexus has no tag or company objects (its appointments are
    /// Meeting-type tasks, which its connector reads and writes as appointments);
    /// the generic REST contract (Your App, InvestNext, Invoco) has no tag or business lists —
    /// contact tags still sync as the contact's `tags` field everywhere.
    pub fn kinds(self) -> &'static [EntityKind] {
        use EntityKind::*;
        match self {
            Self::Ghl | Self::Insightly => &[Contact, Task, Note, Appointment, Tag, Business],
            Self::Salesnexus => &[Contact, Task, Note, Appointment],
            Self::YourApp | Self::Investnext | Self::Invoco => &[Contact, Task, Note, Appointment],
        }
    }
}

impl std::fmt::Display for AppKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The canonical fields of a kind (see `connectors::record`); mappings, filters and actions may
/// also use `custom.<Field Name>` and connector-specific `x.<name>` fields.
pub fn canonical_fields(kind: EntityKind) -> &'static [&'static str] {
    match kind {
        EntityKind::Contact => &[
            "first_name",
            "last_name",
            "email",
            "phone",
            "company_name",
            "address1",
            "city",
            "state",
            "postal_code",
            "country",
            "website",
            "timezone",
            "source",
            "tags",
            "dnd",
            "business_id",
        ],
        EntityKind::Task => &["title", "body", "due_at", "completed", "assigned_to"],
        EntityKind::Note => &["body", "title"],
        EntityKind::Appointment => &["title", "start_at", "end_at", "status", "notes", "address"],
        EntityKind::Business | EntityKind::Tag => &["name"],
    }
}

/// Whether `name` is a field records of `kind` can carry.
pub fn is_known_field(kind: EntityKind, name: &str) -> bool {
    canonical_fields(kind).contains(&name)
        || name
            .strip_prefix("custom.")
            .or_else(|| name.strip_prefix("x."))
            .is_some_and(|rest| !rest.trim().is_empty())
}

/// One flow file, validated.
#[derive(Debug, Clone, Serialize)]
pub struct Flow {
    /// Unique within the project; shown on the dashboard and in the audit log.
    pub name: String,
    pub description: Option<String>,
    /// Disabled flows are loaded and validated but never run.
    pub enabled: bool,
    /// The file it came from, for messages.
    pub file: String,
    pub trigger: Trigger,
    /// Records that do not match are skipped (actions flows; syncs filter per kind).
    pub filter: Option<Filter>,
    pub body: FlowBody,
}

/// What a flow does once triggered.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowBody {
    /// Run these steps in order for the triggering record.
    Actions(Vec<Action>),
    /// Keep two connections in step.
    Sync(Box<SyncSpec>),
}

/// What starts a flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A change reported by an app (webhook or poll): `ghl.contact.updated`.
    Event {
        /// The connection whose events start the flow.
        connection: String,
        app: AppKind,
        kind: EntityKind,
        event: EventType,
    },
    /// On a timer.
    Schedule(Schedule),
    /// Only when a person (or the API) runs it.
    Manual,
    /// Sync flows by default: changes on either synced connection, plus the periodic reconcile.
    Changes,
}

/// Which change of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    Created,
    Updated,
    Deleted,
    /// Created or updated.
    Changed,
    /// A task was marked completed.
    Completed,
}

impl EventType {
    /// Names as written after the kind: `ghl.task.completed`.
    pub const NAMES: [&'static str; 5] = ["created", "updated", "deleted", "changed", "completed"];

    /// Parses the written name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "created" => Self::Created,
            "updated" => Self::Updated,
            "deleted" => Self::Deleted,
            "changed" => Self::Changed,
            "completed" => Self::Completed,
            _ => return None,
        })
    }
}

/// A timer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// A fixed interval (`every: 15m`), at least one minute.
    Every { seconds: u64 },
    /// A cron expression (5 fields, or 6 with seconds), validated with croner.
    Cron { expr: String },
}

/// One step of an actions flow. `connection` is already resolved: when the file leaves it out,
/// it is the trigger's connection.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Create or update the mapped record in another connection, found by `match_on`.
    Upsert {
        connection: String,
        kind: EntityKind,
        match_on: Vec<MatchOn>,
        mapping: Mapping,
    },
    /// Create records under the triggering contact (onboarding tasks, notes …).
    CreateRelated {
        connection: String,
        kind: EntityKind,
        items: Vec<RelatedItem>,
    },
    /// Set fields on the triggering record (or its linked record in `connection`).
    Update {
        connection: String,
        kind: EntityKind,
        set: BTreeMap<String, FieldValue>,
    },
    /// Mark tasks completed: the triggering task, or the contact's open tasks with this title.
    CompleteTask {
        connection: String,
        title: Option<Template>,
    },
    AddTags {
        connection: String,
        tags: Vec<Template>,
    },
    RemoveTags {
        connection: String,
        tags: Vec<Template>,
    },
    AddNote {
        connection: String,
        body: Template,
    },
    /// Load the contact's related records so later templates can use them under `as_name`.
    FetchRelated {
        connection: String,
        kind: EntityKind,
        as_name: String,
    },
    /// Run one operation of the connection's app by id (GHL: any of its 32 Contacts-API
    /// operations), with inputs rendered against the run; its answer is kept under `as_name`
    /// for later templates. `operation` was checked to exist for the app when the flow loaded.
    Call {
        connection: String,
        operation: String,
        input: BTreeMap<String, InputValue>,
        as_name: Option<String>,
    },
    /// Write an export of the unified view (every linked person's records in every connection)
    /// to a file of the project folder: the triggering contact's person, or everyone when the
    /// run has no record. `to` is a template whose text was checked to be a relative path that
    /// stays inside the project folder; its rendered text is checked again at run time.
    Report {
        kind: ExportKind,
        format: ExportFormat,
        to: Template,
    },
}

/// One input of a `call`: text is a template, lists and maps hold inputs, anything else is
/// written as it is.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum InputValue {
    Template(Template),
    List(Vec<InputValue>),
    Map(BTreeMap<String, InputValue>),
    Constant(Value),
}

impl Action {
    /// The action's name as written in files.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Upsert { .. } => "upsert",
            Self::CreateRelated { .. } => "create_related",
            Self::Update { .. } => "update",
            Self::CompleteTask { .. } => "complete_task",
            Self::AddTags { .. } => "add_tags",
            Self::RemoveTags { .. } => "remove_tags",
            Self::AddNote { .. } => "add_note",
            Self::FetchRelated { .. } => "fetch_related",
            Self::Call { .. } => "call",
            Self::Report { .. } => "report",
        }
    }

    /// The one connection the action works in; `None` for `report`, which reads every
    /// connection of the project (so whatever connects a project's connections must connect
    /// them all for it).
    pub fn connection(&self) -> Option<&str> {
        match self {
            Self::Upsert { connection, .. }
            | Self::CreateRelated { connection, .. }
            | Self::Update { connection, .. }
            | Self::CompleteTask { connection, .. }
            | Self::AddTags { connection, .. }
            | Self::RemoveTags { connection, .. }
            | Self::AddNote { connection, .. }
            | Self::FetchRelated { connection, .. }
            | Self::Call { connection, .. } => Some(connection),
            Self::Report { .. } => None,
        }
    }
}

/// One record `create_related` makes.
#[derive(Debug, Clone, Serialize)]
pub struct RelatedItem {
    pub fields: BTreeMap<String, FieldValue>,
    /// `due: +2d` — `due_at` becomes the run time plus this.
    pub due: Option<Offset>,
}

/// A time offset such as `+2d` or `+1d4h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Offset {
    pub seconds: i64,
}

/// A value written into a field: a template when it is text, a constant otherwise.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum FieldValue {
    Template(Template),
    Constant(Value),
}

/// The keys that say two records are the same thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchOn {
    /// Contacts only; compared lower-cased and trimmed.
    Email,
    /// Contacts only; compared in E.164.
    Phone,
    /// The id the other app stored for this record (any kind).
    ExternalId,
}

impl MatchOn {
    /// Names as written in files.
    pub const NAMES: [&'static str; 3] = ["email", "phone", "external_id"];

    /// Parses a written name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "email" => Self::Email,
            "phone" => Self::Phone,
            "external_id" => Self::ExternalId,
            _ => return None,
        })
    }

    /// The name as written.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// Keys that make sense for a kind: people have emails and phones, everything has ids.
    pub fn valid_for(kind: EntityKind) -> &'static [MatchOn] {
        match kind {
            EntityKind::Contact => &[Self::Email, Self::Phone, Self::ExternalId],
            _ => &[Self::ExternalId],
        }
    }

    /// Used when a kind has no `match` entry.
    pub fn default_for(kind: EntityKind) -> Vec<MatchOn> {
        match kind {
            EntityKind::Contact => vec![Self::Email, Self::ExternalId],
            _ => vec![Self::ExternalId],
        }
    }
}

/// A declarative sync between two connections.
#[derive(Debug, Clone, Serialize)]
pub struct SyncSpec {
    pub source: String,
    pub target: String,
    pub kinds: Vec<EntityKind>,
    pub direction: SyncDirection,
    /// Match keys per kind, tried in order; every kind of `kinds` has an entry.
    pub match_on: BTreeMap<EntityKind, Vec<MatchOn>>,
    pub conflict: ConflictPolicy,
    pub delete: DeletePolicy,
    /// Records of a kind that fail its filter are not synced.
    pub filters: BTreeMap<EntityKind, Filter>,
    /// Every kind of `kinds` has one (the identity mapping when the file gives none).
    pub mapping: BTreeMap<EntityKind, Mapping>,
}

/// One way (source → target) or both ways.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncDirection {
    OneWay,
    TwoWay,
}

/// A side of a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Source,
    Target,
}

/// Who wins when both sides changed the same field since the last sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    /// The most recent change wins (by the apps' `updated_at`).
    LastWriterWins,
    /// A fixed side per field, `default` for the rest.
    SourceOfTruth {
        default: Side,
        fields: BTreeMap<String, Side>,
    },
}

impl ConflictPolicy {
    /// The side that wins `field` under a source-of-truth policy; `None` means "latest wins".
    pub fn winner(&self, field: &str) -> Option<Side> {
        match self {
            Self::LastWriterWins => None,
            Self::SourceOfTruth { default, fields } => {
                Some(fields.get(field).copied().unwrap_or(*default))
            }
        }
    }
}

/// What a delete on one side does to the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeletePolicy {
    /// Delete the linked record too.
    Propagate,
    /// Keep it, marked archived (tag or field, per connector).
    Archive,
    /// Leave it; only the link is dropped.
    Ignore,
}
