//! The SalesNexus connector: one account of the SalesNexus Public API v1
//! (spec/salesnexus/API.md) behind the [`Connector`] trait.
//!
//! | operation | how |
//! |---|---|
//! | kinds | contact; task; note; appointment = a task with `type: "Meeting"` and `dateFrom`/`dateTo`. No business (SalesNexus has no company object: `company_name` ⇄ the contact's `company` text) and no tag records (no tag resource: tags are the contact's `tags` field, kept in a multi-select custom field, default `Tags`) |
//! | `list_changed` | a full scan (no "updated since" exists), 100 per page, delivering what changed since a bounded cursor ([`listing`]) |
//! | `list_all` | every live record, page by page (`page` for contacts and notes, `pageNumber` for tasks) |
//! | `get` | `GET contacts/{id}`, `tasks/{id}?scope=all`, `notes/{id}`; 404 (unknown or soft-deleted) → `None`; a Meeting read as a task (or the reverse) → `None` |
//! | `find` (contacts) | by email: `search=<email>` filtered to the exact address ignoring case, the highest id when several; phone and external-id lookups do not exist (`None`) |
//! | `children` | notes by `contactId`; tasks and meetings by scanning the task list (it has no contact filter) |
//! | `create` | `POST`; never duplicated on retry: after an unclear outcome (5xx, timeout, unreadable answer) the record is looked up before any resend — contacts by email, tasks and meetings by title and dates among the contact's, notes by text among the contact's recent ones — and an engine retry of a create whose outcome was unclear looks up first too |
//! | `update` | `PUT` with the changed fields only (partial); a task's `completed` is its `status` |
//! | `delete` | `DELETE` (contacts: soft delete); already gone is fine |
//! | `parse_webhook` | the Stage Trigger "Post Webhook" payload as a hint for its contact ([`webhooks`]); SalesNexus sends no change webhooks |
//!
//! Limits: at most `max_in_flight` (2) requests in flight, the API's queue depth; an hourly
//! allowance counted here for [`Connector::budget`]; 429/502/503/504 waited out (`Retry-After`)
//! then `Transient`. Errors: 401 → `Reconnect`; 403, 409, 422 → `Rejected` with SalesNexus'
//! text; 404 → `NotFound` (`None` from `get`); other 5xx and network failures → `Transient`.

mod client;
pub mod config;
mod fields;
mod listing;
pub mod mapping;
pub mod models;
pub mod webhooks;

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::Utc;
use reqwest::Method;
use serde_json::{Map, Value};

pub use config::{SalesNexusConfig, SalesNexusConfigError, DEFAULT_BASE_URL};
pub use models::ChangeCursor;

use crate::connector::{Capabilities, ChangeHint, ChangePage, Connector, ConnectorError, MatchKey};
use crate::record::{EntityKind, Record};
use client::Client;

/// Create keys whose outcome was unclear, remembered so the engine's retry looks up first.
const UNCLEAR_KEYS: usize = 10_000;
/// A record found by a create's lookup must be this recent (seconds before the first send),
/// so an older note with the same text is not taken for the one just made.
const LOOKUP_WINDOW_SECS: i64 = 300;

/// One SalesNexus account as a [`Connector`].
#[derive(Debug)]
pub struct SalesNexusConnector {
    cfg: SalesNexusConfig,
    client: Client,
    unclear: Mutex<VecDeque<String>>,
    defs: fields::DefsCache,
}

fn int_id(kind: EntityKind, id: &str) -> Result<i64, ConnectorError> {
    id.trim().parse::<i64>().map_err(|_| {
        ConnectorError::Rejected(format!("SalesNexus {kind} ids are integers, not {id:?}"))
    })
}

impl SalesNexusConnector {
    /// Checks the configuration and builds the HTTP client.
    pub fn new(cfg: SalesNexusConfig) -> Result<Self, SalesNexusConfigError> {
        cfg.validate()?;
        let client = Client::new(&cfg).map_err(|message| SalesNexusConfigError { message })?;
        Ok(Self {
            cfg,
            client,
            unclear: Mutex::new(VecDeque::new()),
            defs: fields::DefsCache::default(),
        })
    }

    pub fn config(&self) -> &SalesNexusConfig {
        &self.cfg
    }

    fn unsupported(&self, kind: EntityKind) -> ConnectorError {
        let why = match kind {
            EntityKind::Business => {
                "SalesNexus has no company object (company_name is the contact's company text)"
            }
            EntityKind::Tag => {
                "SalesNexus contacts have no tag resource (tags are the contact's `tags` field)"
            }
            _ => "not available",
        };
        ConnectorError::Unsupported(format!("salesnexus: {kind} records: {why}"))
    }

    fn path(kind: EntityKind) -> &'static str {
        match kind {
            EntityKind::Contact => "contacts",
            EntityKind::Note => "notes",
            _ => "tasks",
        }
    }

    fn check_kind(&self, kind: EntityKind) -> Result<(), ConnectorError> {
        match kind {
            EntityKind::Tag | EntityKind::Business => Err(self.unsupported(kind)),
            _ => Ok(()),
        }
    }

    async fn read(&self, kind: EntityKind, id: &str) -> Result<Option<Record>, ConnectorError> {
        self.check_kind(kind)?;
        let Ok(n) = id.trim().parse::<i64>() else {
            return Ok(None); // not a SalesNexus id: no such record
        };
        let path = format!("{}/{n}", Self::path(kind));
        let scope = [("scope", "all".to_string())];
        let query: &[(&str, String)] = if kind.has_parent() && kind != EntityKind::Note {
            &scope
        } else {
            &[]
        };
        match self.client.call(Method::GET, &path, query, None).await {
            Ok(a) => {
                let obj = a.body.as_object().cloned().unwrap_or_default();
                if matches!(kind, EntityKind::Task | EntityKind::Appointment)
                    && models::task_kind(&obj) != kind
                {
                    return Ok(None);
                }
                Ok(Some(self.record_one(kind, &obj).await?))
            }
            Err(ConnectorError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn body(
        &self,
        kind: EntityKind,
        fields: &Map<String, Value>,
    ) -> Result<Map<String, Value>, ConnectorError> {
        let (body, unmapped) = models::body_of(kind, fields, &self.cfg.tags_field)?;
        if !unmapped.is_empty() {
            tracing::debug!(%kind, ?unmapped, "fields SalesNexus has no place for were not sent");
        }
        Ok(body)
    }

    fn remember_unclear(&self, key: &str) {
        let mut u = self.unclear.lock().unwrap_or_else(|e| e.into_inner());
        if !u.iter().any(|k| k == key) {
            u.push_back(key.to_string());
            if u.len() > UNCLEAR_KEYS {
                u.pop_front();
            }
        }
    }

    fn was_unclear(&self, key: &str) -> bool {
        let u = self.unclear.lock().unwrap_or_else(|e| e.into_inner());
        u.iter().any(|k| k == key)
    }

    fn forget_unclear(&self, key: &str) {
        let mut u = self.unclear.lock().unwrap_or_else(|e| e.into_inner());
        u.retain(|k| k != key);
    }

    /// The record a create may already have made: contacts by email; tasks and meetings by
    /// title and dates among the contact's; notes by text among the contact's. Only records
    /// created since `since` (seconds) count for tasks and notes.
    async fn lookup(
        &self,
        kind: EntityKind,
        body: &Map<String, Value>,
        since: chrono::DateTime<Utc>,
    ) -> Result<Option<Record>, ConnectorError> {
        let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::trim);
        if kind == EntityKind::Contact {
            return match text("email").filter(|e| !e.is_empty()) {
                Some(e) => self.find_by_email(e).await,
                None => Ok(None),
            };
        }
        let Some(contact) = body.get("contactId").and_then(models::text_of) else {
            return Ok(None);
        };
        let created = |r: &Record| -> bool { r.updated_at.is_none_or(|t| t >= since) };
        let same = |r: &Record, canonical: &str, app: &str| {
            let want = body.get(app).filter(|v| !v.is_null());
            let got = r.fields.get(canonical).filter(|v| !v.is_null());
            match (want.and_then(Value::as_str), got.and_then(Value::as_str)) {
                (Some(w), Some(g)) if mapping::TIME_FIELDS.contains(&canonical) => {
                    models::parse_time(w) == models::parse_time(g)
                }
                (Some(w), Some(g)) => w.trim() == g.trim(),
                _ => want.is_none() && got.is_none(),
            }
        };
        let pairs = mapping::pairs(kind);
        let keys: &[&str] = match kind {
            EntityKind::Note => &["noteText"],
            _ => &["title", "dateFrom", "dateTo", "details"],
        };
        let mut hits: Vec<Record> = self
            .children(kind, &contact)
            .await?
            .into_iter()
            .filter(|r| created(r))
            .filter(|r| {
                keys.iter().all(|app| {
                    pairs
                        .iter()
                        .find(|(_, a)| a == app)
                        .is_none_or(|(c, _)| same(r, c, app))
                })
            })
            .collect();
        hits.sort_by_key(|r| r.id.parse::<i64>().unwrap_or_default());
        Ok(hits.pop())
    }

    /// `POST`s a body, never twice for one record: an unclear outcome is looked up before a
    /// resend, and after the last try the key is remembered so the engine's retry looks first.
    async fn create_once(
        &self,
        kind: EntityKind,
        body: &Map<String, Value>,
        key: &str,
    ) -> Result<Record, ConnectorError> {
        let since = Utc::now() - chrono::Duration::seconds(LOOKUP_WINDOW_SECS);
        if self.was_unclear(key) {
            if let Some(found) = self.lookup(kind, body, since).await? {
                self.forget_unclear(key);
                return Ok(found);
            }
        }
        let body_v = Value::Object(body.clone());
        let mut last = None;
        for attempt in 0..=self.cfg.retries {
            if attempt > 0 {
                if let Some(found) = self.lookup(kind, body, since).await? {
                    tracing::info!(%kind, id = found.id, "SalesNexus create had happened; not sent again");
                    self.forget_unclear(key);
                    return Ok(found);
                }
                let wait =
                    std::time::Duration::from_millis(self.cfg.backoff_ms) * 2u32.pow(attempt - 1);
                tokio::time::sleep(wait).await;
            }
            match self
                .client
                .send(Method::POST, Self::path(kind), &[], Some(&body_v), false)
                .await
            {
                Ok(a) => {
                    self.forget_unclear(key);
                    let obj = a.body.as_object().cloned().unwrap_or_default();
                    return self.record_one(kind, &obj).await;
                }
                Err(f) if f.maybe_done => {
                    tracing::warn!(%kind, error = %f.error, "SalesNexus create outcome unclear; looking it up before any resend");
                    last = Some(f.error);
                }
                Err(f) => return Err(f.error),
            }
        }
        self.remember_unclear(key);
        Err(last.unwrap_or_else(|| ConnectorError::Transient("SalesNexus create failed".into())))
    }
}

#[async_trait]
impl Connector for SalesNexusConnector {
    fn app(&self) -> &str {
        "salesnexus"
    }

    /// Kinds contact, task, note and appointment; no incremental filter (full scans), no
    /// exact email lookup in the API (the fuzzy search is filtered here), tags in a custom
    /// field, webhooks only as Stage Trigger hints, no tombstones.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            kinds: vec![
                EntityKind::Contact,
                EntityKind::Task,
                EntityKind::Note,
                EntityKind::Appointment,
            ],
            incremental: false,
            email_lookup_exact: false,
            native_tags: false,
            webhooks: true,
            deletes_visible: false,
        }
    }

    fn budget(&self) -> Option<crate::budget::Budget> {
        Some(self.client.budget())
    }

    async fn list_changed(
        &self,
        kind: EntityKind,
        cursor: Option<&str>,
    ) -> Result<ChangePage, ConnectorError> {
        self.check_kind(kind)?;
        self.changed_page(kind, cursor).await
    }

    async fn list_all(
        &self,
        kind: EntityKind,
        cursor: Option<&str>,
    ) -> Result<ChangePage, ConnectorError> {
        self.check_kind(kind)?;
        self.all_page(kind, cursor).await
    }

    async fn get(
        &self,
        kind: EntityKind,
        id: &str,
        _parent_id: Option<&str>,
    ) -> Result<Option<Record>, ConnectorError> {
        self.read(kind, id).await
    }

    async fn find(
        &self,
        kind: EntityKind,
        key: &MatchKey,
    ) -> Result<Option<Record>, ConnectorError> {
        if kind != EntityKind::Contact {
            return Err(ConnectorError::Unsupported(format!(
                "salesnexus: find of {kind}"
            )));
        }
        match key {
            MatchKey::Email(e) => self.find_by_email(e).await,
            // The search matches names, emails and companies only; there is no external id.
            MatchKey::Phone(_) | MatchKey::ExternalId { .. } => Ok(None),
        }
    }

    async fn children(
        &self,
        kind: EntityKind,
        contact_id: &str,
    ) -> Result<Vec<Record>, ConnectorError> {
        SalesNexusConnector::children(self, kind, contact_id).await
    }

    async fn create(
        &self,
        kind: EntityKind,
        parent_id: Option<&str>,
        fields: &Map<String, Value>,
        idempotency_key: &str,
    ) -> Result<Record, ConnectorError> {
        self.check_kind(kind)?;
        let mut body = self.body(kind, fields)?;
        body.remove("status");
        if kind == EntityKind::Contact && !body.is_empty() {
            self.ensure_multi_select(fields).await?;
        }
        let required = match kind {
            EntityKind::Contact => "firstName",
            EntityKind::Note => "noteText",
            _ => "title",
        };
        let blank = body
            .get(required)
            .and_then(Value::as_str)
            .is_none_or(|s| s.trim().is_empty());
        if blank {
            let canonical = mapping::pairs(kind)
                .iter()
                .find(|(_, a)| *a == required)
                .map_or(required, |(c, _)| *c);
            return Err(ConnectorError::Rejected(format!(
                "SalesNexus requires {required} on a new {kind}: give `{canonical}` (map one in the flow)"
            )));
        }
        if kind.has_parent() {
            let p = parent_id.filter(|p| !p.is_empty()).ok_or_else(|| {
                ConnectorError::Rejected(format!("a SalesNexus {kind} needs its contact's id"))
            })?;
            body.insert(
                "contactId".into(),
                Value::from(int_id(EntityKind::Contact, p)?),
            );
        }
        let created = self.create_once(kind, &body, idempotency_key).await?;
        // `status` is "update only": a task made done is completed by a second write.
        if kind == EntityKind::Task
            && fields.get("completed") == Some(&Value::Bool(true))
            && created.fields.get("completed") != Some(&Value::Bool(true))
        {
            let done = Map::from_iter([("completed".to_string(), Value::Bool(true))]);
            return self.update(kind, &created.id, parent_id, &done).await;
        }
        Ok(created)
    }

    async fn update(
        &self,
        kind: EntityKind,
        id: &str,
        _parent_id: Option<&str>,
        fields: &Map<String, Value>,
    ) -> Result<Record, ConnectorError> {
        self.check_kind(kind)?;
        let n = int_id(kind, id)?;
        let mut body = self.body(kind, fields)?;
        if kind == EntityKind::Contact && !body.is_empty() {
            self.ensure_multi_select(fields).await?;
        }
        if kind == EntityKind::Appointment {
            body.remove("type"); // only a create needs to say it is a meeting
        }
        if body.is_empty() {
            return self
                .read(kind, id)
                .await?
                .ok_or_else(|| ConnectorError::NotFound(format!("SalesNexus {kind} {id}")));
        }
        let path = format!("{}/{n}", Self::path(kind));
        let a = self
            .client
            .call(Method::PUT, &path, &[], Some(&Value::Object(body)))
            .await?;
        match a.body.as_object().filter(|o| o.contains_key("id")) {
            Some(obj) => self.record_one(kind, obj).await,
            // The answer to a PUT is not documented: read the record back.
            None => self
                .read(kind, id)
                .await?
                .ok_or_else(|| ConnectorError::NotFound(format!("SalesNexus {kind} {id}"))),
        }
    }

    async fn delete(
        &self,
        kind: EntityKind,
        id: &str,
        _parent_id: Option<&str>,
    ) -> Result<(), ConnectorError> {
        self.check_kind(kind)?;
        let Ok(n) = id.trim().parse::<i64>() else {
            return Ok(()); // no such SalesNexus record
        };
        let path = format!("{}/{n}", Self::path(kind));
        match self.client.call(Method::DELETE, &path, &[], None).await {
            Ok(_) | Err(ConnectorError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn parse_webhook(
        &self,
        headers: &HashMap<String, String>,
        body: &[u8],
    ) -> Result<Vec<ChangeHint>, ConnectorError> {
        webhooks::parse(self.cfg.webhook_token.as_ref(), headers, body)
    }
}
