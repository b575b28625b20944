//! The Insightly connector: one Insightly instance (API v3.1) behind the [`Connector`] trait.
//!
//! | kind | Insightly | list_changed | list_all | get / find | create / update / delete |
//! |---|---|---|---|---|---|
//! | contact | `Contacts` | `Contacts/Search?updated_after_utc=` | `Contacts?skip=&top=` | `Contacts/{id}`; find by email (`Search` on `EMAIL_ADDRESS`, compared exactly ignoring case here) or phone | yes |
//! | task | `Tasks` | `Tasks/Search?…` | `Tasks` | `Tasks/{id}` | yes, linked to the contact (`LINKS`) |
//! | note | `Notes` | `Notes/Search?…` | `Notes` | `Notes/{id}` | create `POST Contacts/{id}/Notes` (v3.1 has no `POST /Notes`), update `PUT /Notes` |
//! | appointment | `Events` | `Events/Search?…` | `Events` | `Events/{id}` | yes, linked to the contact |
//! | business | `Organisations` | `Organisations/Search?…` | `Organisations` | `Organisations/{id}` | yes (create finds by name first) |
//! | tag | a contact's `TAGS` | Unsupported | Unsupported | on the contact (parent) | add `POST`, remove `DELETE Contacts/{id}/Tags` (name in the body); update Unsupported |
//!
//! `children(kind, contact)` reads `Contacts/{id}/Tasks|Notes|Events` (and a contact's tags).
//! Deletes are invisible in Insightly's lists (no tombstones): the engine finds them by
//! reconciling ids, and `get` answers `None` on a 404. Deleting what is already gone is fine.
//!
//! Creates never make two records for one logical create, though Insightly takes no
//! idempotency key: before any create the connector looks for what an earlier attempt may have
//! made — a contact by its email (exact, ignoring case; adopted and, where its fields differ,
//! updated), a business by its exact name, a task, note or event by a marker in its link to the
//! contact: the link's `DETAILS` is `ghl-bridge:<first 16 hex of SHA-256(idempotency key)>`. A contact without an email has no
//! lookup and could be duplicated when a create's answer is lost; a person then merges it.
//!
//! Rate budget: `budget()` reports Insightly's daily quota from `X-RateLimit-Limit` /
//! `X-RateLimit-Remaining`; errors follow [`client`]'s table. Webhooks: Insightly has no
//! subscription API; workflow posts can be parsed as hints ([`webhooks`]).

mod client;
pub mod config;
pub mod custom;
mod listing;
pub mod mapping;
pub mod models;
pub mod webhooks;
mod writes;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{json, Map, Value};

pub use config::{InsightlyConfig, InsightlyConfigError};
pub use listing::{ChangeCursor, ScanCursor};

use crate::connector::{Capabilities, ChangeHint, ChangePage, Connector, ConnectorError, MatchKey};
use crate::record::{EntityKind, Record};
use client::Client;
use custom::CustomDefs;
use models::{id_text, record_of, Object};

/// Custom-field definitions are fetched again on an unknown name only when older than this.
const DEFS_REFRESH_AFTER: Duration = Duration::from_secs(60);
/// More unknown organisations than this on one page load the whole list instead of one each.
const ORG_BATCH: usize = 10;

/// A path segment, percent-encoded.
pub(crate) fn seg(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A contact's tags as tag records.
pub(crate) fn tags_of(contact: &Record) -> Vec<Record> {
    contact
        .fields
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|t| tag_record(t, &contact.id))
        .collect()
}

fn tag_record(name: &str, contact_id: &str) -> Record {
    let mut r = Record::new(
        EntityKind::Tag,
        name,
        Map::from_iter([("name".to_string(), json!(name))]),
    );
    r.parent_id = Some(contact_id.to_string());
    r
}

fn parent(kind: EntityKind, parent_id: Option<&str>) -> Result<&str, ConnectorError> {
    parent_id.filter(|p| !p.trim().is_empty()).ok_or_else(|| {
        ConnectorError::Rejected(format!("an Insightly {kind} needs its contact's id"))
    })
}

struct LoadedDefs {
    defs: Arc<CustomDefs>,
    at: Instant,
}

/// One Insightly instance as a [`Connector`].
pub struct InsightlyConnector {
    client: Client,
    defs: tokio::sync::Mutex<HashMap<Object, LoadedDefs>>,
    /// Organisation names by id, for contacts' `company_name`.
    orgs: Mutex<HashMap<String, String>>,
    /// One find-or-create of an organisation at a time, so two contacts of a new company
    /// create it once.
    org_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for InsightlyConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InsightlyConnector")
            .field("config", &self.client.cfg)
            .finish_non_exhaustive()
    }
}

impl InsightlyConnector {
    /// Checks the configuration and builds the HTTP client.
    pub fn new(cfg: InsightlyConfig) -> Result<Self, InsightlyConfigError> {
        cfg.validate()?;
        let client = Client::new(cfg).map_err(InsightlyConfigError)?;
        Ok(Self {
            client,
            defs: tokio::sync::Mutex::new(HashMap::new()),
            orgs: Mutex::new(HashMap::new()),
            org_lock: tokio::sync::Mutex::new(()),
        })
    }

    pub fn config(&self) -> &InsightlyConfig {
        &self.client.cfg
    }

    /// `GET /Users/Me`: checks the address and the key (the connection test).
    pub async fn check(&self) -> Result<Value, ConnectorError> {
        self.client.call(Method::GET, "Users/Me", &[], None).await
    }

    /// An object's custom-field definitions, fetched once (again when `stale_ok` is false and
    /// the cached copy is older than a minute).
    pub(crate) async fn custom_defs(
        &self,
        obj: Object,
        stale_ok: bool,
    ) -> Result<Arc<CustomDefs>, ConnectorError> {
        if !obj.has_custom() {
            return Ok(Arc::default());
        }
        let mut cache = self.defs.lock().await;
        if let Some(l) = cache.get(&obj) {
            if stale_ok || l.at.elapsed() < DEFS_REFRESH_AFTER {
                return Ok(l.defs.clone());
            }
        }
        let path = format!("CustomFields/{}", obj.path());
        let list = self.client.call(Method::GET, &path, &[], None).await?;
        let defs = Arc::new(CustomDefs::from_json(&list));
        cache.insert(
            obj,
            LoadedDefs {
                defs: defs.clone(),
                at: Instant::now(),
            },
        );
        Ok(defs)
    }

    fn org_name(&self, id: &str) -> Option<String> {
        self.orgs.lock().ok()?.get(id).cloned()
    }

    pub(crate) fn remember_org(&self, id: &str, name: &str) {
        if let Ok(mut m) = self.orgs.lock() {
            m.insert(id.to_string(), name.to_string());
        }
    }

    /// Makes sure the organisations these contact rows point to are named in the cache.
    async fn load_orgs(&self, rows: &[Value]) -> Result<(), ConnectorError> {
        let mut unknown: Vec<String> = rows
            .iter()
            .filter_map(|r| r.get("ORGANISATION_ID").and_then(id_text))
            .filter(|id| self.org_name(id).is_none())
            .collect();
        unknown.sort();
        unknown.dedup();
        if unknown.len() > ORG_BATCH {
            for o in self
                .all_rows("Organisations", vec![("brief", "true".into())])
                .await?
            {
                if let (Some(id), Some(name)) = (
                    o.get("ORGANISATION_ID").and_then(id_text),
                    o.get("ORGANISATION_NAME").and_then(Value::as_str),
                ) {
                    self.remember_org(&id, name);
                }
            }
            return Ok(());
        }
        for id in unknown {
            if let Some(o) = self
                .client
                .get_opt(&format!("Organisations/{}", seg(&id)))
                .await?
            {
                if let Some(name) = o.get("ORGANISATION_NAME").and_then(Value::as_str) {
                    self.remember_org(&id, name);
                }
            }
        }
        Ok(())
    }

    /// Rows of one object as records.
    pub(crate) async fn records(
        &self,
        obj: Object,
        rows: &[Value],
    ) -> Result<Vec<Record>, ConnectorError> {
        let defs = self.custom_defs(obj, true).await?;
        if obj == Object::Contacts {
            self.load_orgs(rows).await?;
        }
        let names = |id: &str| self.org_name(id);
        rows.iter()
            .map(|v| record_of(obj, v, &defs, &names))
            .collect()
    }

    /// One record as a canonical record.
    pub(crate) async fn record(&self, obj: Object, v: &Value) -> Result<Record, ConnectorError> {
        let mut all = self.records(obj, std::slice::from_ref(v)).await?;
        all.pop()
            .ok_or_else(|| ConnectorError::Transient("Insightly answered no record".into()))
    }

    /// `GET /{Object}/{id}`; `None` on 404.
    pub(crate) async fn get_record(
        &self,
        obj: Object,
        id: &str,
    ) -> Result<Option<Record>, ConnectorError> {
        match self
            .client
            .get_opt(&format!("{}/{}", obj.path(), seg(id)))
            .await?
        {
            Some(v) => Ok(Some(self.record(obj, &v).await?)),
            None => Ok(None),
        }
    }

    async fn find_contact(&self, key: &MatchKey) -> Result<Option<Record>, ConnectorError> {
        let (field, value) = match key {
            MatchKey::Email(e) => ("EMAIL_ADDRESS", e.trim().to_string()),
            MatchKey::Phone(p) => ("PHONE", p.trim().to_string()),
            // Insightly keeps no other app's ids on its records.
            MatchKey::ExternalId { .. } => return Ok(None),
        };
        if value.is_empty() {
            return Ok(None);
        }
        let query = vec![
            ("field_name", field.to_string()),
            ("field_value", value.clone()),
        ];
        let rows = self.all_rows("Contacts/Search", query).await?;
        let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
        let hits: Vec<&Value> = rows
            .iter()
            .filter(|r| {
                let got = r
                    .get(field)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .trim();
                match key {
                    MatchKey::Email(_) => got.eq_ignore_ascii_case(&value),
                    _ => !got.is_empty() && digits(got) == digits(&value),
                }
            })
            .collect();
        match hits.as_slice() {
            [one] => Ok(Some(self.record(Object::Contacts, one).await?)),
            _ => Ok(None),
        }
    }
}

#[async_trait]
impl Connector for InsightlyConnector {
    fn app(&self) -> &str {
        "insightly"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            kinds: EntityKind::ALL.to_vec(),
            incremental: true,
            email_lookup_exact: true,
            native_tags: true,
            // Workflow posts can be parsed, but nothing subscribes to them: polling is the way.
            webhooks: false,
            deletes_visible: false,
        }
    }

    /// Insightly's daily quota as its headers last announced it (`None` before the first call).
    fn budget(&self) -> Option<crate::budget::Budget> {
        self.client.budget()
    }

    async fn list_changed(
        &self,
        kind: EntityKind,
        cursor: Option<&str>,
    ) -> Result<ChangePage, ConnectorError> {
        self.changed_page(kind, cursor).await
    }

    async fn list_all(
        &self,
        kind: EntityKind,
        cursor: Option<&str>,
    ) -> Result<ChangePage, ConnectorError> {
        self.all_page(kind, cursor).await
    }

    async fn get(
        &self,
        kind: EntityKind,
        id: &str,
        parent_id: Option<&str>,
    ) -> Result<Option<Record>, ConnectorError> {
        match Object::of(kind) {
            Some(obj) => self.get_record(obj, id).await,
            None => {
                let contact_id = parent(kind, parent_id)?;
                let Some(contact) = self.get_record(Object::Contacts, contact_id).await? else {
                    return Ok(None);
                };
                Ok(tags_of(&contact)
                    .into_iter()
                    .find(|t| t.id.eq_ignore_ascii_case(id.trim())))
            }
        }
    }

    async fn find(
        &self,
        kind: EntityKind,
        key: &MatchKey,
    ) -> Result<Option<Record>, ConnectorError> {
        match kind {
            EntityKind::Contact => self.find_contact(key).await,
            _ => Err(ConnectorError::Unsupported(format!(
                "Insightly: find of {kind}"
            ))),
        }
    }

    async fn children(
        &self,
        kind: EntityKind,
        contact_id: &str,
    ) -> Result<Vec<Record>, ConnectorError> {
        self.contact_children(kind, contact_id).await
    }

    async fn create(
        &self,
        kind: EntityKind,
        parent_id: Option<&str>,
        fields: &Map<String, Value>,
        idempotency_key: &str,
    ) -> Result<Record, ConnectorError> {
        match kind {
            EntityKind::Contact => self.create_contact(fields).await,
            EntityKind::Business => self.create_business(fields).await,
            EntityKind::Tag => {
                let contact_id = parent(kind, parent_id)?;
                let name = fields
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| {
                        ConnectorError::Rejected("a tag needs a non-empty name".into())
                    })?;
                self.add_tag(contact_id, name).await?;
                Ok(tag_record(name, contact_id))
            }
            _ => {
                let contact_id = parent(kind, parent_id)?;
                self.create_activity(kind, contact_id, fields, idempotency_key)
                    .await
            }
        }
    }

    async fn update(
        &self,
        kind: EntityKind,
        id: &str,
        _parent_id: Option<&str>,
        fields: &Map<String, Value>,
    ) -> Result<Record, ConnectorError> {
        match Object::of(kind) {
            Some(Object::Contacts) => self.update_contact(id, fields).await,
            Some(obj) => self.update_record(obj, id, fields).await,
            None => Err(ConnectorError::Unsupported(
                "Insightly: update of a tag (its name is its id)".into(),
            )),
        }
    }

    async fn delete(
        &self,
        kind: EntityKind,
        id: &str,
        parent_id: Option<&str>,
    ) -> Result<(), ConnectorError> {
        let done = match Object::of(kind) {
            Some(obj) => {
                let path = format!("{}/{}", obj.path(), seg(id));
                self.client.send(Method::DELETE, &path, &[], None).await
            }
            None => {
                let contact_id = parent(kind, parent_id)?;
                self.remove_tag(contact_id, id).await
            }
        };
        match done {
            // 404: already gone; 417 on a tag: "Delete failed", the tag is not there.
            Ok(_) | Err((Some(404), _)) => Ok(()),
            Err((Some(417), _)) if kind == EntityKind::Tag => Ok(()),
            Err((_, e)) => Err(e),
        }
    }

    fn parse_webhook(
        &self,
        headers: &HashMap<String, String>,
        body: &[u8],
    ) -> Result<Vec<ChangeHint>, ConnectorError> {
        webhooks::parse(self.client.cfg.webhook_secret.as_ref(), headers, body)
    }
}
