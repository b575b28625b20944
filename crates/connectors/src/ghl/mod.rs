//! The GHL connector: one GHL location behind the [`Connector`] trait, through the `ghl` client
//! (pacing, safe retries, never-duplicated creates, paging streams, webhook verification).
//!
//! What each kind supports, and why:
//!
//! | kind | list_changed | list_all | get | find | create / update / delete |
//! |---|---|---|---|---|---|
//! | contact | yes: `changes_after`, cursor = JSON [`ChangeCursor`](ghl::paging::ChangeCursor) | search by `searchAfter` | yes | email, phone (GHL's duplicate search), external id (only with a configured custom field) | yes |
//! | task, note | **Unsupported** | every contact's, a batch of contacts per page | with the contact's id | Unsupported | yes (parent = contact) |
//! | appointment | **Unsupported** | like tasks | with the contact's id | Unsupported | **Unsupported**: GHL's Contacts API only lists them |
//! | tag | Unsupported | Unsupported | id = tag, parent = contact | Unsupported | create = add to the contact, delete = remove; update Unsupported |
//! | business | Unsupported | Unsupported | yes, from its contacts | Unsupported | Unsupported: link contacts through their `business_id` |
//!
//! Tasks, notes and appointments have no "changed since" in GHL, and a task or note change does
//! not touch its contact's `dateUpdated`, so deriving their changes from contact changes would
//! silently miss most of them. `list_changed` therefore answers `Unsupported` for them: the
//! engine learns of them from `Task*`/`Note*`/`Appointment*` webhooks (hints carry the contact
//! id, see [`webhooks`]) and from reconciliation with `list_all`; [`GhlConnector::children`]
//! reads one contact's. (GHL sends no webhook for a task edit other than completion, so
//! reconciliation is what catches those.)
//!
//! Creates ignore the engine's `idempotency_key`: GHL takes no such key, and the client never
//! sends a create twice without first looking the record up (contacts by email then phone, tasks
//! by title + due date + body, notes by body + title). A contact with neither email nor phone
//! whose create outcome is unclear comes back as [`ConnectorError::Rejected`] (GHL's
//! `OutcomeUnknown`): retrying could duplicate it, so a person has to look.

pub mod config;
mod listing;
pub mod mapping;
pub mod models;
pub mod operations;
pub mod webhooks;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use ghl::models::contact::Contact;
use ghl::models::misc::BulkBusiness;
use ghl::models::search::{Filter, SearchContact, SearchRequest};
use ghl::webhooks::WebhookVerifier;
use ghl::{GhlClient, GhlError};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

pub use config::{GhlConfig, GhlConfigError, GhlSettings, GhlWebhookSettings, DEFAULT_BASE_URL};
pub use models::CustomFieldDefs;

use crate::connector::{Capabilities, ChangeHint, ChangePage, Connector, ConnectorError, MatchKey};
use crate::record::{EntityKind, Record};
use models::{as_contact, tag_key};

/// A cached definition list is fetched again on an unknown name or id only when older than
/// this, so a contact carrying a field GHL does not list cannot cause a fetch per read.
const DEFS_REFRESH_AFTER: Duration = Duration::from_secs(60);

/// Maps a client error to what the engine can do about it.
pub fn connector_error(e: GhlError) -> ConnectorError {
    let m = e.to_string();
    match e {
        GhlError::Unauthorized { .. }
        | GhlError::ScopeMissing { .. }
        | GhlError::Forbidden { .. }
        | GhlError::ReconnectNeeded { .. } => ConnectorError::Reconnect(m),
        GhlError::NotFound { .. } => ConnectorError::NotFound(m),
        GhlError::RateLimited { .. } | GhlError::Transient { .. } | GhlError::TokenStore { .. } => {
            ConnectorError::Transient(m)
        }
        GhlError::Validation { .. }
        | GhlError::Duplicate { .. }
        | GhlError::OutcomeUnknown { .. }
        | GhlError::Config(_) => ConnectorError::Rejected(m),
    }
}

/// `Ok(None)` for a record GHL does not have.
fn found<T>(r: Result<T, GhlError>) -> Result<Option<T>, ConnectorError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(GhlError::NotFound { .. }) => Ok(None),
        Err(e) => Err(connector_error(e)),
    }
}

pub(crate) fn unsupported(what: &str, kind: EntityKind) -> ConnectorError {
    ConnectorError::Unsupported(format!("GHL: {what} of {kind}"))
}

fn parent(kind: EntityKind, parent_id: Option<&str>) -> Result<&str, ConnectorError> {
    parent_id
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ConnectorError::Rejected(format!("a GHL {kind} needs its contact's id")))
}

struct LoadedDefs {
    defs: Arc<CustomFieldDefs>,
    at: Instant,
}

/// One GHL location as a [`Connector`].
pub struct GhlConnector {
    client: GhlClient,
    settings: GhlSettings,
    verifier: WebhookVerifier,
    defs: Mutex<Option<LoadedDefs>>,
}

impl std::fmt::Debug for GhlConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GhlConnector")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl GhlConnector {
    /// Checks the configuration and builds the client and the webhook verifier.
    pub fn new(config: GhlConfig) -> Result<Self, GhlConfigError> {
        config.settings.validate()?;
        let s = &config.settings;
        let mut b = GhlClient::builder(config.auth.clone())
            .base_url(&s.base_url)
            .location_id(&s.location_id);
        if let Some(p) = &config.pacer {
            b = b.pacer(p.clone());
        }
        if let Some(r) = config.retry {
            b = b.retry(r);
        }
        let client = b.build().map_err(|e| GhlConfigError(e.to_string()))?;
        Ok(Self {
            client,
            verifier: s.verifier()?,
            settings: config.settings,
            defs: Mutex::new(None),
        })
    }

    /// The underlying client (its budget, its pacer to share).
    pub fn client(&self) -> &GhlClient {
        &self.client
    }

    pub fn settings(&self) -> &GhlSettings {
        &self.settings
    }

    /// The location's custom-field definitions, fetched once and cached.
    pub async fn custom_fields(&self) -> Result<Arc<CustomFieldDefs>, ConnectorError> {
        let mut slot = self.defs.lock().await;
        if let Some(l) = slot.as_ref() {
            return Ok(l.defs.clone());
        }
        self.load_defs(&mut slot).await
    }

    /// Fetches the definitions again (someone added or renamed a field in GHL).
    pub async fn refresh_custom_fields(&self) -> Result<Arc<CustomFieldDefs>, ConnectorError> {
        let mut slot = self.defs.lock().await;
        self.load_defs(&mut slot).await
    }

    async fn load_defs(
        &self,
        slot: &mut Option<LoadedDefs>,
    ) -> Result<Arc<CustomFieldDefs>, ConnectorError> {
        let list = self
            .client
            .custom_field_definitions()
            .await
            .map_err(connector_error)?;
        let defs = Arc::new(CustomFieldDefs::new(&list));
        *slot = Some(LoadedDefs {
            defs: defs.clone(),
            at: Instant::now(),
        });
        Ok(defs)
    }

    /// The definitions, fetched again first when `missing` says they lack something and the
    /// cached copy is old enough.
    async fn defs_where(
        &self,
        missing: impl Fn(&CustomFieldDefs) -> bool,
    ) -> Result<Arc<CustomFieldDefs>, ConnectorError> {
        let mut slot = self.defs.lock().await;
        let defs = match slot.as_ref() {
            Some(l) if !missing(&l.defs) || l.at.elapsed() < DEFS_REFRESH_AFTER => {
                return Ok(l.defs.clone())
            }
            Some(_) | None => self.load_defs(&mut slot).await?,
        };
        Ok(defs)
    }

    /// Definitions for writing these fields (`None` when no custom field is written).
    async fn defs_for_write(
        &self,
        fields: &Map<String, Value>,
    ) -> Result<Option<Arc<CustomFieldDefs>>, ConnectorError> {
        if !models::has_custom(fields) {
            return Ok(None);
        }
        let defs = self
            .defs_where(|d| !models::unknown_custom_names(fields, d).is_empty())
            .await?;
        Ok(Some(defs))
    }

    /// A GHL contact as a record, custom fields named by the definitions.
    async fn record_of(&self, c: &Contact) -> Result<Record, ConnectorError> {
        if !models::contact_needs_defs(c) {
            return Ok(models::contact_record(c, None));
        }
        let defs = self
            .defs_where(|d| {
                c.custom_fields
                    .iter()
                    .filter_map(|f| f.id.as_deref())
                    .any(|id| d.name_of(id).is_none())
            })
            .await?;
        Ok(models::contact_record(c, Some(&defs)))
    }

    async fn records_of(&self, found: &[SearchContact]) -> Result<Vec<Record>, ConnectorError> {
        let mut out = Vec::with_capacity(found.len());
        for c in found {
            out.push(self.record_of(&as_contact(c)?).await?);
        }
        Ok(out)
    }

    async fn update_contact(
        &self,
        id: &str,
        fields: &Map<String, Value>,
    ) -> Result<Record, ConnectorError> {
        let defs = self.defs_for_write(fields).await?;
        let w = models::contact_write(fields, defs.as_deref(), true)?;
        for field in &w.skipped {
            tracing::warn!(field, contact = id, "GHL cannot update this field; skipped");
        }
        let err = connector_error;
        let mut latest = match w.update()? {
            Some(u) => Some(self.client.update_contact(id, &u).await.map_err(err)?),
            None => None,
        };
        let mut stale = false;
        if let Some(want) = &w.tags {
            let current = match &latest {
                Some(c) => c.tags.clone(),
                None => self.client.get_contact(id).await.map_err(err)?.tags,
            };
            let have: HashSet<String> = current.iter().map(|t| tag_key(t)).collect();
            let mut unique = HashSet::new();
            let wanted: Vec<String> = want
                .iter()
                .map(|t| tag_key(t))
                .filter(|t| !t.is_empty() && unique.insert(t.clone()))
                .collect();
            let add: Vec<&String> = wanted.iter().filter(|t| !have.contains(*t)).collect();
            let remove: Vec<&String> = current
                .iter()
                .filter(|t| !wanted.contains(&tag_key(t)))
                .collect();
            if !add.is_empty() {
                self.client.add_tags(id, &add).await.map_err(err)?;
            }
            if !remove.is_empty() {
                self.client.remove_tags(id, &remove).await.map_err(err)?;
            }
            stale |= !add.is_empty() || !remove.is_empty();
        }
        if let Some(business_id) = &w.business {
            self.set_business(id, business_id.clone()).await?;
            stale = true;
        }
        let contact = match latest.take() {
            Some(c) if !stale => c,
            _ => self.client.get_contact(id).await.map_err(err)?,
        };
        self.record_of(&contact).await
    }

    async fn set_business(
        &self,
        id: &str,
        business_id: Option<String>,
    ) -> Result<(), ConnectorError> {
        let update = BulkBusiness {
            location_id: None,
            ids: vec![id.to_string()],
            business_id,
        };
        let done = self
            .client
            .bulk_set_business(&update)
            .await
            .map_err(connector_error)?;
        if !done.success {
            return Err(ConnectorError::Rejected(format!(
                "GHL did not link contact {id} to the business"
            )));
        }
        Ok(())
    }

    async fn find_contact(&self, key: &MatchKey) -> Result<Option<Record>, ConnectorError> {
        let err = connector_error;
        let contact = match key {
            MatchKey::Email(email) => self
                .client
                .find_duplicate_contact(Some(email), None)
                .await
                .map_err(err)?
                .filter(|c| {
                    c.email
                        .as_deref()
                        .is_some_and(|e| e.trim().eq_ignore_ascii_case(email.trim()))
                }),
            MatchKey::Phone(phone) => self
                .client
                .find_duplicate_contact(None, Some(phone))
                .await
                .map_err(err)?,
            MatchKey::ExternalId { app, id } => {
                let Some(field) = self.settings.external_id_fields.get(app) else {
                    return Ok(None);
                };
                let defs = self.defs_where(|d| d.id_of(field).is_none()).await?;
                let field_id = defs.id_of(field).ok_or_else(|| {
                    ConnectorError::Rejected(format!(
                        "external_id_fields.{app}: GHL has no contact custom field {field:?}"
                    ))
                })?;
                let request = SearchRequest::new()
                    .page_limit(2)
                    .filter(Filter::eq(format!("customFields.{field_id}"), id.as_str()));
                let hits = self.client.search_contacts(&request).await.map_err(err)?;
                match hits.contacts.as_slice() {
                    [one] => Some(as_contact(one)?),
                    _ => None,
                }
            }
        };
        match contact {
            Some(c) => Ok(Some(self.record_of(&c).await?)),
            None => Ok(None),
        }
    }
}

#[async_trait]
impl Connector for GhlConnector {
    fn app(&self) -> &str {
        "ghl"
    }

    /// The client's pacer's view: the location's burst window and daily budget as GHL's
    /// `X-RateLimit-*` headers last announced them, less what was sent since.
    fn budget(&self) -> Option<crate::budget::Budget> {
        Some(self.client.budget().into())
    }

    /// The location: GHL's rate budget is per location.
    fn account(&self) -> Option<String> {
        self.client.location().map(str::to_string)
    }

    /// The OAuth token's expiry; `None` for a Private Integration Token.
    async fn token_expires_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.client.token_expires_at().await
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            kinds: EntityKind::ALL.to_vec(),
            incremental: true,
            email_lookup_exact: true,
            native_tags: true,
            webhooks: true,
            deletes_visible: false,
        }
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
        let c = &self.client;
        match kind {
            EntityKind::Contact => match found(c.get_contact(id).await)? {
                Some(contact) => Ok(Some(self.record_of(&contact).await?)),
                None => Ok(None),
            },
            EntityKind::Task => {
                let p = parent(kind, parent_id)?;
                let t = found(c.get_task(p, id).await)?;
                Ok(t.map(|t| models::task_record(&t, Some(p))))
            }
            EntityKind::Note => {
                let p = parent(kind, parent_id)?;
                let n = found(c.get_note(p, id).await)?;
                Ok(n.map(|n| models::note_record(&n, Some(p))))
            }
            EntityKind::Appointment | EntityKind::Tag => {
                let p = parent(kind, parent_id)?;
                let all = match self.children(kind, p).await {
                    Err(ConnectorError::NotFound(_)) => return Ok(None),
                    other => other?,
                };
                let key = tag_key(id);
                Ok(all.into_iter().find(|r| match kind {
                    EntityKind::Tag => tag_key(&r.id) == key,
                    _ => r.id == id,
                }))
            }
            EntityKind::Business => {
                // GHL's Contacts API has no business object: the business exists while
                // contacts link to it, and its name is their company name.
                let page = found(c.business_contacts(id, 0, 20, None).await)?;
                let Some(page) = page.filter(|p| p.count > 0) else {
                    return Ok(None);
                };
                let mut fields = Map::new();
                let name = page
                    .contacts
                    .iter()
                    .filter_map(|c| c.extra.get("companyName").and_then(Value::as_str))
                    .find(|n| !n.is_empty());
                if let Some(name) = name {
                    fields.insert("name".into(), Value::String(name.to_string()));
                }
                Ok(Some(Record::new(kind, id, fields)))
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
            _ => Err(unsupported("find", kind)),
        }
    }

    async fn children(
        &self,
        kind: EntityKind,
        contact_id: &str,
    ) -> Result<Vec<Record>, ConnectorError> {
        // The inherent method (listing.rs) does the work; this makes it reachable through
        // `dyn Connector`.
        GhlConnector::children(self, kind, contact_id).await
    }

    async fn create(
        &self,
        kind: EntityKind,
        parent_id: Option<&str>,
        fields: &Map<String, Value>,
        _idempotency_key: &str,
    ) -> Result<Record, ConnectorError> {
        let (c, err) = (&self.client, connector_error);
        match kind {
            EntityKind::Contact => {
                let defs = self.defs_for_write(fields).await?;
                let w = models::contact_write(fields, defs.as_deref(), false)?;
                let created = c.create_contact(&w.create()?).await.map_err(err)?;
                // Not fatal: the contact exists, and an error would have the engine create it
                // again. The record read back shows the missing link; the next sync sets it.
                if let Some(business_id) = w.business {
                    if let Err(e) = self.set_business(&created.id, business_id).await {
                        tracing::warn!(error = %e, "GHL contact created but not linked to its business");
                    }
                }
                // The create answer is a subset (no timezone, …): read the contact back. Should
                // that read fail, the answer still beats an error, which would have the engine
                // retry a create that happened.
                let contact = match c.get_contact(&created.id).await {
                    Ok(contact) => contact,
                    Err(e) => {
                        tracing::warn!(error = %e, "GHL contact created but not read back");
                        as_contact(&created)?
                    }
                };
                self.record_of(&contact).await
            }
            EntityKind::Task => {
                let p = parent(kind, parent_id)?;
                let t = c.create_task(p, &models::task_create(fields)?).await;
                Ok(models::task_record(&t.map_err(err)?, Some(p)))
            }
            EntityKind::Note => {
                let p = parent(kind, parent_id)?;
                let n = c.create_note(p, &models::note_create(fields)?).await;
                Ok(models::note_record(&n.map_err(err)?, Some(p)))
            }
            EntityKind::Tag => {
                let p = parent(kind, parent_id)?;
                let name = fields.get("name").and_then(Value::as_str).map(tag_key);
                let name = name.filter(|n| !n.is_empty()).ok_or_else(|| {
                    ConnectorError::Rejected("a tag needs a non-empty name".into())
                })?;
                c.add_tags(p, &[&name]).await.map_err(err)?;
                Ok(models::tag_record(&name, p))
            }
            EntityKind::Appointment | EntityKind::Business => Err(unsupported("create", kind)),
        }
    }

    async fn update(
        &self,
        kind: EntityKind,
        id: &str,
        parent_id: Option<&str>,
        fields: &Map<String, Value>,
    ) -> Result<Record, ConnectorError> {
        let (c, err) = (&self.client, connector_error);
        match kind {
            EntityKind::Contact => self.update_contact(id, fields).await,
            EntityKind::Task => {
                let p = parent(kind, parent_id)?;
                let t = c.update_task(p, id, &models::task_update(fields)?).await;
                Ok(models::task_record(&t.map_err(err)?, Some(p)))
            }
            EntityKind::Note => {
                let p = parent(kind, parent_id)?;
                let n = c.update_note(p, id, &models::note_update(fields)?).await;
                Ok(models::note_record(&n.map_err(err)?, Some(p)))
            }
            EntityKind::Appointment | EntityKind::Tag | EntityKind::Business => {
                Err(unsupported("update", kind))
            }
        }
    }

    async fn delete(
        &self,
        kind: EntityKind,
        id: &str,
        parent_id: Option<&str>,
    ) -> Result<(), ConnectorError> {
        let c = &self.client;
        let gone = match kind {
            EntityKind::Contact => found(c.delete_contact(id).await)?.map(drop),
            EntityKind::Task => found(c.delete_task(parent(kind, parent_id)?, id).await)?.map(drop),
            EntityKind::Note => found(c.delete_note(parent(kind, parent_id)?, id).await)?.map(drop),
            EntityKind::Tag => found(
                c.remove_tags(parent(kind, parent_id)?, &[tag_key(id)])
                    .await,
            )?
            .map(drop),
            EntityKind::Appointment | EntityKind::Business => {
                return Err(unsupported("delete", kind))
            }
        };
        if gone.is_none() {
            tracing::debug!(%kind, id, "GHL delete of a record already gone");
        }
        Ok(())
    }

    /// Every Contacts-API operation by `operationId` (see [`operations`]).
    async fn invoke(&self, op: &str, input: &Map<String, Value>) -> Result<Value, ConnectorError> {
        self.invoke_operation(op, input).await
    }

    async fn find_invoked(
        &self,
        op: &str,
        input: &Map<String, Value>,
    ) -> Result<Option<Value>, ConnectorError> {
        self.find_invoked_operation(op, input).await
    }

    fn parse_webhook(
        &self,
        headers: &HashMap<String, String>,
        body: &[u8],
    ) -> Result<Vec<ChangeHint>, ConnectorError> {
        webhooks::parse(&self.verifier, &self.settings.location_id, headers, body)
    }
}
