//! The unified view: per linked person, the contact, tasks, notes, appointments and tags that
//! every connected app holds, side by side, with a merged summary — plus the exports built on
//! it (every record, a per-person report, an activity timeline) as CSV or JSON.
//!
//! The store's identity links say which contact of each connection is the same person; each
//! connector is then asked for that contact as it is now ([`connectors::Connector::get`]) and
//! for its children ([`connectors::Connector::children`]); each child's own link tells which
//! records are copies of one another, so the summary counts a task synced to three apps once.
//! An app that cannot be reached shows as a problem in its section; the rest of the view stands.
//!
//! ```no_run
//! # async fn demo(store: &dyn engine::store::Store, connectors: &engine::sync::Connectors)
//! # -> Result<(), engine::unified::ViewError> {
//! use engine::unified::{render, ExportFormat, ExportKind, Scope, UnifiedView, Who};
//! let view = UnifiedView::new(store, connectors);
//! if let Some(p) = view.person(&Who::Email("ada@example.com".into())).await? {
//!     println!("{} open tasks", p.summary.tasks.open);
//! }
//! let csv = view.export(&Scope::All, ExportKind::Report, ExportFormat::Csv).await?;
//! # let _ = csv; Ok(()) }
//! ```
//!
//! The user guide is `docs/unified-view.md`.

pub mod csv;
mod export;
mod gather;
mod model;
mod summary;
mod timeline;

use chrono::{DateTime, Utc};
use connectors::ConnectorError;

pub use export::{
    record_rows, render, report_row, table, time_cell, timeline_entries, ExportFormat, ExportKind,
    PersonEntry, ReportRow, RECORD_COLUMNS, REPORT_COLUMNS, TIMELINE_COLUMNS,
};
pub use model::{AppSection, Brief, Item, PeoplePage, PersonView, Summary, TaskCounts};
pub use timeline::{timeline, CopyRef, TimelineEntry};

use crate::store::{IdentityId, Store, StoreError};
use crate::sync::Connectors;

/// Whom to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// An identity of the store.
    Identity(IdentityId),
    /// A contact id in one connection (`None`: GHL connections first, then the others).
    Contact {
        connection: Option<String>,
        id: String,
    },
    /// An email address, looked up in each app (GHL first).
    Email(String),
}

/// One person, or every linked person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Person(Who),
    All,
}

/// The view could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// An app failed while looking a person up (failures while reading a found person's
    /// records are problems of the view instead).
    #[error("connection `{connection}`: {error}")]
    Connector {
        connection: String,
        error: ConnectorError,
    },
    /// The request itself is wrong (not an email, no such connection).
    #[error("{0}")]
    Invalid(String),
}

/// Reads unified views from a store and the project's connectors.
pub struct UnifiedView<'a> {
    store: &'a dyn Store,
    connectors: &'a Connectors,
    now: DateTime<Utc>,
}

impl<'a> UnifiedView<'a> {
    /// A view reader; "now" (for overdue tasks and next appointments) is the current time.
    pub fn new(store: &'a dyn Store, connectors: &'a Connectors) -> Self {
        Self {
            store,
            connectors,
            now: Utc::now(),
        }
    }

    /// The same reader judging "overdue" and "next" as of `now`.
    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    /// The people of a scope: one (none when nobody matches) or every linked person.
    pub async fn people(&self, scope: &Scope) -> Result<Vec<PersonView>, ViewError> {
        match scope {
            Scope::Person(who) => Ok(self.person(who).await?.into_iter().collect()),
            Scope::All => {
                let mut out = Vec::new();
                let mut offset = 0;
                loop {
                    let page = self.list(offset, 1000).await?;
                    out.extend(page.people);
                    offset += page.limit;
                    if offset >= page.total {
                        return Ok(out);
                    }
                }
            }
        }
    }

    /// An export of a scope (see [`render`]).
    pub async fn export(
        &self,
        scope: &Scope,
        kind: ExportKind,
        format: ExportFormat,
    ) -> Result<String, ViewError> {
        let people = self.people(scope).await?;
        Ok(render(&people, kind, format))
    }
}

/// Writes an export to a file without ever leaving a half-written one: a temporary file next to
/// it, then a rename. Parent folders are created.
pub fn write_export(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export".into());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
