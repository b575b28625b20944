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

/// What calling an operation does, so the engine knows whether a flow may call it again when a
/// run repeats (a retry, a webhook delivered twice, the flow's own write coming back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationEffect {
    /// Reads only: always safe to repeat.
    Read,
    /// Writes a state that a repeat leaves as it is (set fields, add tags, follow, join a
    /// campaign): safe to repeat.
    Converges,
    /// Makes something new each time it is sent (create a task, enroll in a workflow that allows
    /// re-entry): the engine calls it once per flow step and triggering record.
    Once,
    /// Deletes: a repeat finds the thing gone, which counts as done.
    Delete,
}

/// One input or output of an operation, named as the app's API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OperationField {
    pub name: &'static str,
    /// `string`, `boolean`, `number`, `object`, `string[]`, `object[]` (`any` when the API says
    /// nothing more).
    #[serde(rename = "type")]
    pub ty: &'static str,
    pub required: bool,
    pub description: &'static str,
}

/// An operation an app connector can run by name ([`Connector::invoke`]): the flow action
/// `call` and the operations catalog are built from these, so a flow naming an unknown operation
/// or input fails when it loads, not when it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OperationSpec {
    /// Stable id; for GHL the `operationId` of its OpenAPI document.
    pub id: &'static str,
    /// HTTP method and path template, for people reading the catalog.
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub effect: OperationEffect,
    pub inputs: &'static [OperationField],
    pub outputs: &'static [OperationField],
}

impl OperationSpec {
    /// The input named `name`, if the operation has one.
    pub fn input(&self, name: &str) -> Option<&OperationField> {
        self.inputs.iter().find(|f| f.name == name)
    }

    /// Checks `input` against the operation's inputs and reads text written for a typed input
    /// (flows render templates to text): `"true"` for a boolean, `"42"` for a number, one text
    /// for a list of texts. Unknown and missing required inputs are `Rejected`, naming them.
    pub fn check_input(
        &self,
        input: &Map<String, Value>,
    ) -> Result<Map<String, Value>, ConnectorError> {
        let mut out = Map::new();
        for (name, value) in input {
            let Some(field) = self.input(name) else {
                let known: Vec<&str> = self.inputs.iter().map(|f| f.name).collect();
                return Err(ConnectorError::Rejected(format!(
                    "`{}` has no input `{name}` (inputs: {})",
                    self.id,
                    known.join(", ")
                )));
            };
            let value = coerce(field.ty, value.clone()).map_err(|found| {
                ConnectorError::Rejected(format!(
                    "`{}` input `{name}` must be {}, found {found}",
                    self.id, field.ty
                ))
            })?;
            out.insert(name.clone(), value);
        }
        for f in self.inputs.iter().filter(|f| f.required) {
            let given = out.get(f.name).is_some_and(|v| match v {
                Value::Null => false,
                Value::String(s) => !s.trim().is_empty(),
                _ => true,
            });
            if !given {
                return Err(ConnectorError::Rejected(format!(
                    "`{}` needs the input `{}` ({})",
                    self.id, f.name, f.description
                )));
            }
        }
        Ok(out)
    }
}

/// `value` as an input of type `ty`, or a description of what was found instead.
fn coerce(ty: &str, value: Value) -> Result<Value, String> {
    let text = |v: &Value| v.as_str().map(str::trim).map(str::to_owned);
    match (ty, &value) {
        (_, Value::Null) => Ok(value),
        ("boolean", Value::Bool(_)) | ("number", Value::Number(_)) => Ok(value),
        ("boolean", Value::String(_)) => match text(&value).as_deref() {
            Some("true") => Ok(Value::Bool(true)),
            Some("false") => Ok(Value::Bool(false)),
            _ => Err(format!("{value}")),
        },
        ("number", Value::String(_)) => text(&value)
            .and_then(|t| serde_json::from_str::<serde_json::Number>(&t).ok())
            .map(Value::Number)
            .ok_or_else(|| format!("{value}")),
        ("string", Value::String(_)) => Ok(value),
        ("string", Value::Number(_) | Value::Bool(_)) => Ok(Value::String(value.to_string())),
        ("string[]", Value::String(s)) => Ok(Value::Array(vec![Value::String(s.clone())])),
        ("string[]", Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(_) => Ok(i.clone()),
                Value::Number(_) => Ok(Value::String(i.to_string())),
                other => Err(format!("a list holding {other}")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        ("object", Value::Object(_)) => Ok(value),
        ("object[]" | "any[]", Value::Array(_)) => Ok(value),
        ("any", _) => Ok(value),
        _ => Err(format!("{value}")),
    }
}

/// The operations [`Connector::invoke`] accepts for an app (by its short name, as in
/// `ghl-bridge.yaml`), without building a connector: flows are checked against this when they
/// load. Apps whose connector runs no operations by name give an empty list.
pub fn operations_of(app: &str) -> &'static [OperationSpec] {
    match app {
        "ghl" => crate::ghl::operations::OPERATIONS.as_slice(),
        "your_app" | "investnext" | "invoco" => crate::your_app::operations::OPERATIONS,
        _ => &[],
    }
}

/// One operation of an app by id.
pub fn operation_of(app: &str, id: &str) -> Option<&'static OperationSpec> {
    operations_of(app).iter().find(|o| o.id == id)
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

    /// Which account of the app this connection works in (GHL: the location id), to label its
    /// rate-budget metrics. `None` (the default) when the app has one account per key.
    fn account(&self) -> Option<String> {
        None
    }

    /// When the access token in use expires, for connections whose token does (OAuth), so
    /// `/metrics` can show it and alerts can fire before a refresh is missed. `None` (the
    /// default) for static keys and Private Integration Tokens.
    async fn token_expires_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
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

    /// The operations [`Connector::invoke`] runs (see [`operations_of`]).
    fn operations(&self) -> &'static [OperationSpec] {
        operations_of(self.app())
    }

    /// Runs one of [`Connector::operations`] by id with inputs named as the app's API names them
    /// (path, query and body parameters in one map), and answers the app's response as JSON.
    /// This makes every operation of an app usable from a flow (`call`), beyond what the
    /// canonical record model covers. Creates stay duplicate-safe as in [`Connector::create`].
    async fn invoke(
        &self,
        operation: &str,
        input: &Map<String, Value>,
    ) -> Result<Value, ConnectorError> {
        let _ = input;
        Err(ConnectorError::Unsupported(format!(
            "{}: operation `{operation}`",
            self.app()
        )))
    }

    /// For an [`OperationEffect::Once`] operation whose earlier call may have happened (its answer
    /// was lost): the answer that call gave, found by looking the result up (GHL: a contact by
    /// email or phone, a task by title and due date, a note by body). `None` when nothing is
    /// found or the operation cannot be looked up; the engine then calls it again.
    async fn find_invoked(
        &self,
        operation: &str,
        input: &Map<String, Value>,
    ) -> Result<Option<Value>, ConnectorError> {
        let _ = (operation, input);
        Ok(None)
    }

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
