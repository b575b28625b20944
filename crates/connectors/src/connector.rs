//! The contract every app connector fulfils.

use std::collections::HashMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::record::{EntityKind, Record};

/// What an app's API can do; the engine plans around it (e.g. a full-scan diff where there is
/// no incremental filter, an ID-set diff where deletes are invisible).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Kinds this connector reads and writes.
    pub kinds: Vec<EntityKind>,
    /// "Changed since" listing exists (otherwise `list_changed` is a full scan).
    pub incremental: bool,
    /// Exact lookup by email exists.
    pub email_lookup_exact: bool,
    /// Tags are a native concept (otherwise carried in a field).
    pub native_tags: bool,
    /// The app pushes webhooks.
    pub webhooks: bool,
    /// Deleted records show up as tombstones when listing.
    pub deletes_visible: bool,
}

/// A key that identifies the same person (or task …) in two apps.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum MatchKey {
    /// Lower-cased, trimmed.
    Email(String),
    /// E.164.
    Phone(String),
    /// This record's id in another app, as stored in the target (e.g. `external_ids.ghl`).
    ExternalId { app: String, id: String },
}

/// One page of a listing.
#[derive(Debug, Clone, Default)]
pub struct ChangePage {
    pub records: Vec<Record>,
    /// Where the next page (or the next incremental run, when `done`) starts.
    pub next_cursor: Option<String>,
    /// No more pages now.
    pub done: bool,
}

/// What a webhook says happened: a hint to re-fetch, never the truth itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeHint {
    pub kind: EntityKind,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// The app says it was deleted.
    #[serde(default)]
    pub deleted: bool,
    /// The app's own event id (for de-duplication).
    pub event_id: String,
    /// The app's event name (`ContactUpdate`, `contact.updated`, …).
    pub event_type: String,
}

/// Why a connector call failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ConnectorError {
    /// Try again later (5xx, timeout, rate limit).
    #[error("temporary failure: {0}")]
    Transient(String),
    /// The credentials are dead; a person must reconnect.
    #[error("reconnect needed: {0}")]
    Reconnect(String),
    /// The app refused the data; retrying the same data cannot help.
    #[error("rejected by the app: {0}")]
    Rejected(String),
    /// The record does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A webhook failed verification.
    #[error("webhook refused: {0}")]
    BadWebhook(String),
    /// This connector cannot do that.
    #[error("not supported by this app: {0}")]
    Unsupported(String),
}

impl ConnectorError {
    /// Whether a retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_))
    }
}

/// One app account the engine reads from and writes to.
#[async_trait]
pub trait Connector: Send + Sync {
    /// The app's short name (`ghl`, `your_app`, `insightly`, …).
    fn app(&self) -> &str;

    /// What the app can do.
    fn capabilities(&self) -> Capabilities;

    /// What is left of the app's rate budget, for scheduling: the engine holds back work that
    /// can wait (reconciles, backfill jobs) while it runs low, so real-time work keeps its
    /// room. `None` (the default) when the connector does not track one; nothing is held back.
    fn budget(&self) -> Option<crate::budget::Budget> {
        None
    }

    /// Records changed after `cursor` (None: from the beginning), oldest change first, one page.
    /// The cursor is opaque to the engine: persist `next_cursor` as given. A kind the app cannot
    /// list by change answers `Unsupported` (GHL's tasks and notes); the engine then relies on
    /// webhooks and `list_all` for it.
    async fn list_changed(
        &self,
        kind: EntityKind,
        cursor: Option<&str>,
    ) -> Result<ChangePage, ConnectorError>;

    /// Every live record of a kind, one page (for reconciliation: ids and `updated_at` at least).
    async fn list_all(
        &self,
        kind: EntityKind,
        cursor: Option<&str>,
    ) -> Result<ChangePage, ConnectorError>;

    /// The record as it is now; `Ok(None)` if it does not exist (or is deleted).
    async fn get(
        &self,
        kind: EntityKind,
        id: &str,
        parent_id: Option<&str>,
    ) -> Result<Option<Record>, ConnectorError>;

    /// The record matching a key, if exactly one does.
    async fn find(
        &self,
        kind: EntityKind,
        key: &MatchKey,
    ) -> Result<Option<Record>, ConnectorError>;

    /// One contact's tasks, notes or appointments (live ones), for flows that act on "the
    /// contact's tasks" (`fetch_related`, `complete_task` by title). An app that cannot list
    /// records per contact answers `Unsupported`; the engine then scans `list_all`.
    async fn children(
        &self,
        kind: EntityKind,
        contact_id: &str,
    ) -> Result<Vec<Record>, ConnectorError> {
        let _ = contact_id;
        Err(ConnectorError::Unsupported(format!(
            "{}: listing one contact's {kind} records",
            self.app()
        )))
    }

    /// Creates a record. `idempotency_key` is stable across retries of the same logical create,
    /// so a retried create never makes two records. A connector whose app takes no such key
    /// documents how it avoids duplicates instead (GHL: look the record up before any resend).
    async fn create(
        &self,
        kind: EntityKind,
        parent_id: Option<&str>,
        fields: &Map<String, Value>,
        idempotency_key: &str,
    ) -> Result<Record, ConnectorError>;

    /// Changes only the given fields. Where the app versions records, `fields` may carry the
    /// record's `x.version` as read: the connector then writes only if it is still current, and a
    /// conflict comes back `Transient` (re-fetch, decide again).
    async fn update(
        &self,
        kind: EntityKind,
        id: &str,
        parent_id: Option<&str>,
        fields: &Map<String, Value>,
    ) -> Result<Record, ConnectorError>;

    /// Deletes (or archives, where the app only archives) a record. Deleting a missing record is fine.
    async fn delete(
        &self,
        kind: EntityKind,
        id: &str,
        parent_id: Option<&str>,
    ) -> Result<(), ConnectorError>;

    /// Verifies and reads a webhook delivery into change hints.
    fn parse_webhook(
        &self,
        headers: &HashMap<String, String>,
        body: &[u8],
    ) -> Result<Vec<ChangeHint>, ConnectorError> {
        let _ = (headers, body);
        Err(ConnectorError::Unsupported("webhooks".into()))
    }
}
