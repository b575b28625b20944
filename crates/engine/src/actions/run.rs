//! The state of one actions run: the triggering record, the template context, the contacts read
//! so far, the commit being built; and the store-side helpers the steps share (links between
//! connections, creation markers, audit).
//!
//! **Markers.** A record a flow creates once (`create_related`, `add_note`) has a marker: a link
//! of kind [`MARKER_KIND`] whose external id names the flow, the step, the item and the contact
//! (`Onboard#1.0@<contact id>`), reserved in the store before the create (which gives it an
//! identity), and a snapshot of that identity holding the created record's id, written right
//! after the create. Both are written at once, outside the job's commit, because the commit of a
//! job that fails later is never applied, and the retry must know what the failed attempt made.
//! The created record itself is not linked to the marker's identity: a sync of that kind gives it
//! its own identity, as for any record.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use connectors::{Connector, EntityKind, Record};
use serde_json::{json, Map, Value};

use super::{ActionJob, ActionPayload, HintEvent, Origin};
use crate::flow::{action_context, record_value, text_of, with_contact, MapWarning};
use crate::store::{
    ChangeAudit, ChangeOp, Commit, FieldDiff, IdentityId, Link, SnapshotPut, StoreError,
};
use crate::sync::{hash_fields, RecordRef, SyncError};

/// Link kind of creation markers; never a real entity kind, so syncs never see them.
pub(crate) const MARKER_KIND: &str = "flow_marker";

/// The record a run is about, as re-fetched.
pub(crate) struct Start {
    pub r: RecordRef,
    pub record: Record,
}

/// Where a marker stands.
pub(crate) enum Marker {
    /// The record was made (its id is in the marker's snapshot).
    Done,
    /// Reserved now, by this run: nothing was made yet.
    Fresh(IdentityId),
    /// Reserved by an earlier attempt that did not confirm: the record may exist.
    Unconfirmed(IdentityId),
}

/// FNV-1a, 64 bits: a hash that stays the same across Rust versions and platforms, for marker
/// ids and idempotency keys that outlive the process.
pub(crate) fn stable_hash(text: &str, seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325_u64 ^ seed;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// An idempotency key for a create: stable for the same logical create, ASCII (it travels in an
/// HTTP header, and flow names may be any text).
pub(crate) fn idempotency_key(what: &str) -> String {
    format!(
        "ghl-bridge-{:016x}{:016x}",
        stable_hash(what, 0),
        stable_hash(what, 0x9e37_79b9_7f4a_7c15)
    )
}

pub(crate) struct Run<'a> {
    pub job: &'a ActionJob<'a>,
    pub now: DateTime<Utc>,
    /// `None` for scheduled runs and manual runs without a record.
    pub start: Option<Start>,
    /// Lists loaded by `fetch_related`, by their `as` name.
    pub fetched: Map<String, Value>,
    pub warnings: Vec<MapWarning>,
    pub commit: Commit,
    /// Contacts read in this run, by connection (the triggering contact's record there).
    pub contacts: BTreeMap<String, Record>,
}

impl<'a> Run<'a> {
    pub fn new(job: &'a ActionJob<'a>, now: DateTime<Utc>) -> Self {
        Self {
            job,
            now,
            start: None,
            fetched: Map::new(),
            warnings: Vec::new(),
            commit: Commit::default(),
            contacts: BTreeMap::new(),
        }
    }

    pub fn flow_name(&self) -> &str {
        &self.job.flow.name
    }

    pub fn connector(&self, name: &str) -> Result<&'a dyn Connector, SyncError> {
        self.job
            .connectors
            .get(name)
            .map(|c| c.as_ref())
            .ok_or_else(|| SyncError::Permanent(format!("connection `{name}` is not configured")))
    }

    /// Loads the triggering record and applies the filter. False: nothing to do (the record is
    /// gone, the event no longer holds, or the filter rejects it).
    pub async fn start(&mut self, payload: &ActionPayload) -> Result<bool, SyncError> {
        let Some(r) = &payload.record else {
            if matches!(payload.origin, Origin::Event { .. }) {
                return Err(SyncError::Permanent(
                    "an event job without its record".into(),
                ));
            }
            // No record: a filter has nothing to test, so it does not apply.
            if self.job.flow.filter.is_some() {
                tracing::debug!(flow = %self.flow_name(), "run without a record: filter not applied");
            }
            return Ok(true);
        };
        let Some(record) = self.load(r, &payload.origin).await? else {
            tracing::debug!(flow = %self.flow_name(), entity = %r.entity_key(), "nothing to do: the record is gone or the event no longer holds");
            return Ok(false);
        };
        if let Some(filter) = &self.job.flow.filter {
            if !filter.matches(&record.fields) {
                tracing::debug!(flow = %self.flow_name(), entity = %r.entity_key(), "skipped by the filter");
                return Ok(false);
            }
        }
        if record.kind == EntityKind::Contact {
            self.contacts.insert(r.connection.clone(), record.clone());
        }
        self.start = Some(Start {
            r: r.clone(),
            record,
        });
        Ok(true)
    }

    /// The record as it is now; for a `deleted` event, as it was last synced.
    async fn load(&self, r: &RecordRef, origin: &Origin) -> Result<Option<Record>, SyncError> {
        let connector = self.connector(&r.connection)?;
        let live = match r.deleted {
            true => None,
            false => connector
                .get(r.kind, &r.id, r.parent_id.as_deref())
                .await?
                .filter(|rec| !rec.deleted),
        };
        match origin {
            Origin::Event {
                event: HintEvent::Deleted,
            } => {
                if live.is_some() {
                    return Ok(None); // not deleted after all
                }
                // What the flow can know of a deleted record: its last synced snapshot, if any.
                let mut rec = Record::new(r.kind, r.id.clone(), self.last_known(r).await?);
                rec.parent_id = r.parent_id.clone();
                rec.deleted = true;
                Ok(Some(rec))
            }
            Origin::Event {
                event: HintEvent::Completed,
            } => Ok(live.filter(|rec| rec.fields.get("completed") == Some(&Value::Bool(true)))),
            Origin::Manual => match live {
                Some(rec) => Ok(Some(with_parent(rec, r))),
                None => Err(SyncError::Permanent(format!(
                    "{} {} does not exist in `{}`",
                    r.kind, r.id, r.connection
                ))),
            },
            _ => Ok(live.map(|rec| with_parent(rec, r))),
        }
    }

    async fn last_known(&self, r: &RecordRef) -> Result<Map<String, Value>, SyncError> {
        let store = self.job.store;
        let Some(link) = store
            .find_link(&r.connection, r.kind.as_str(), &r.id)
            .await?
        else {
            return Ok(Map::new());
        };
        let snap = store.snapshot(link.identity_id, &r.connection).await?;
        Ok(snap
            .and_then(|s| s.fields.as_object().cloned())
            .unwrap_or_default())
    }

    /// The template context now: the triggering record's fields (as updated by earlier steps),
    /// `id`, `now`, and every list loaded so far.
    pub fn ctx(&self) -> Map<String, Value> {
        let empty = Map::new();
        let fields = self.start.as_ref().map_or(&empty, |s| &s.record.fields);
        let mut ctx = action_context(fields, self.now);
        if let Some(s) = &self.start {
            ctx.insert("id".into(), Value::String(s.record.id.clone()));
            with_contact(&mut ctx, &s.record);
        }
        for (k, v) in &self.fetched {
            ctx.insert(k.clone(), v.clone());
        }
        ctx
    }

    pub fn start_or_err(&self, action: &str) -> Result<&Start, SyncError> {
        self.start.as_ref().ok_or_else(|| {
            SyncError::Permanent(format!(
                "`{action}` needs a triggering record, and this run has none (scheduled, or run by hand without one)"
            ))
        })
    }

    /// The triggering contact in the trigger's connection: the record itself, or a child's
    /// contact.
    fn start_contact(&self, action: &str) -> Result<(String, String), SyncError> {
        let s = self.start_or_err(action)?;
        let id = match s.record.kind {
            EntityKind::Contact => Some(s.record.id.clone()),
            k if k.has_parent() => s.record.parent_id.clone(),
            _ => None,
        };
        let id = id.ok_or_else(|| {
            SyncError::Permanent(format!(
                "`{action}`: {} {} has no contact",
                s.record.kind, s.record.id
            ))
        })?;
        Ok((s.r.connection.clone(), id))
    }

    /// The id of record (`connection`, `kind`, `id`) in `target`: itself in its own connection,
    /// else the record linked to it (links made earlier in this run first, then the store).
    pub async fn linked_id(
        &self,
        connection: &str,
        kind: EntityKind,
        id: &str,
        target: &str,
    ) -> Result<Option<String>, SyncError> {
        if connection == target {
            return Ok(Some(id.to_string()));
        }
        let k = kind.as_str();
        let here = |l: &Link| l.connection_id == connection && l.kind == k && l.external_id == id;
        if let Some(identity) = self
            .commit
            .links
            .iter()
            .find(|l| here(l))
            .map(|l| l.identity_id)
        {
            let there =
                self.commit.links.iter().find(|l| {
                    l.identity_id == identity && l.connection_id == target && l.kind == k
                });
            if let Some(l) = there {
                return Ok(Some(l.external_id.clone()));
            }
        }
        let store = self.job.store;
        let Some(link) = store.find_link(connection, k, id).await? else {
            return Ok(None);
        };
        Ok(store
            .links_of(link.identity_id)
            .await?
            .into_iter()
            .find(|l| l.connection_id == target && l.kind == k)
            .map(|l| l.external_id))
    }

    /// The triggering contact's id in `target` (`Retry` while it is not linked there yet: a sync
    /// or an upsert may link it soon).
    pub async fn contact_id_in(&self, target: &str, action: &str) -> Result<String, SyncError> {
        let (conn, id) = self.start_contact(action)?;
        self.linked_id(&conn, EntityKind::Contact, &id, target)
            .await?
            .ok_or_else(|| {
                SyncError::Retry(format!(
                    "`{action}`: contact {id} of `{conn}` is not linked to `{target}` yet"
                ))
            })
    }

    /// The triggering contact's record in `target`, read once per run.
    pub async fn contact_in(&mut self, target: &str, action: &str) -> Result<Record, SyncError> {
        if let Some(c) = self.contacts.get(target) {
            return Ok(c.clone());
        }
        let id = self.contact_id_in(target, action).await?;
        let found = self
            .connector(target)?
            .get(EntityKind::Contact, &id, None)
            .await?
            .filter(|c| !c.deleted);
        let contact = found.ok_or_else(|| {
            SyncError::Permanent(format!(
                "`{action}`: contact {id} does not exist in `{target}`"
            ))
        })?;
        self.contacts.insert(target.to_string(), contact.clone());
        Ok(contact)
    }

    /// Takes in a record this run just wrote (or changed fields of it), so later steps and
    /// templates see it as it is now.
    pub fn remember(&mut self, connection: &str, record: &Record) {
        if let Some(s) = self
            .start
            .as_mut()
            .filter(|s| s.r.connection == connection && s.record.id == record.id)
        {
            s.record.fields.extend(record.fields.clone());
        }
        if record.kind == EntityKind::Contact {
            let cached = self.contacts.get(connection).map(|c| c.id == record.id);
            if cached == Some(true) {
                self.contacts.insert(connection.to_string(), record.clone());
            }
        }
    }

    /// The marker `id` in `connection`: done, or reserved now, or left unconfirmed.
    pub async fn marker(&self, connection: &str, id: &str) -> Result<Marker, SyncError> {
        let store = self.job.store;
        if let Some(link) = store.find_link(connection, MARKER_KIND, id).await? {
            let made = store.snapshot(link.identity_id, connection).await?;
            return Ok(match made {
                Some(_) => Marker::Done,
                None => Marker::Unconfirmed(link.identity_id),
            });
        }
        let res = store
            .resolve_identity(MARKER_KIND, connection, id, &[])
            .await?;
        if !res.created {
            // Reserved between our look and our reservation: another run is making it now.
            return Err(SyncError::Retry(format!(
                "another run is creating `{id}` in `{connection}`"
            )));
        }
        Ok(Marker::Fresh(res.identity_id))
    }

    /// Records that the marker's record was made (its id, for people and for later checks).
    pub async fn confirm(
        &self,
        identity: IdentityId,
        connection: &str,
        made: &Record,
    ) -> Result<(), StoreError> {
        let Value::Object(fields) = json!({
            "kind": made.kind,
            "id": made.id,
            "parent_id": made.parent_id,
            "flow": self.flow_name(),
        }) else {
            return Ok(());
        };
        let hash = hash_fields(&fields);
        self.job
            .store
            .put_snapshot(SnapshotPut {
                identity_id: identity,
                connection_id: connection.to_string(),
                peer: String::new(),
                fields: Value::Object(fields),
                hash,
            })
            .await
    }

    /// Appends a change record to the commit.
    pub fn audit(
        &mut self,
        identity: Option<IdentityId>,
        connection: &str,
        record: (EntityKind, &str),
        op: ChangeOp,
        diff: Vec<FieldDiff>,
    ) {
        self.commit.changes.push(ChangeAudit {
            at: Utc::now(),
            flow_id: self.flow_name().to_string(),
            identity_id: identity,
            connection_id: connection.to_string(),
            kind: record.0.as_str().to_string(),
            external_id: record.1.to_string(),
            op,
            diff,
            job_id: self.job.job_id,
        });
    }

    /// After a failed step: the writes already made are audited now, since the job's commit
    /// will not be applied. Best effort; a store failure here is logged.
    pub async fn audit_partial(&mut self) {
        for change in std::mem::take(&mut self.commit.changes) {
            if let Err(e) = self.job.store.record_change(change).await {
                tracing::warn!(flow = %self.flow_name(), error = %e, "auditing a write of a failed run failed");
            }
        }
    }

    /// The commit, after logging the run's warnings.
    pub fn finish(self) -> Commit {
        for w in &self.warnings {
            tracing::warn!(flow = %self.job.flow.name, field = %w.field, "{}", w.message);
        }
        self.commit
    }
}

/// A child record read without its contact's id gets the one the hint named.
fn with_parent(mut rec: Record, r: &RecordRef) -> Record {
    if rec.parent_id.is_none() {
        rec.parent_id = r.parent_id.clone();
    }
    rec
}

/// Whether a record the contact already has is the one an unconfirmed marker stands for: the
/// same values in every field written except times (a due date counts from the run time, which
/// differs between attempts).
pub(crate) fn same_item(existing: &Record, wanted: &Map<String, Value>) -> bool {
    const TIMES: [&str; 3] = ["due_at", "start_at", "end_at"];
    wanted
        .iter()
        .filter(|(k, _)| !TIMES.contains(&k.as_str()))
        .all(|(k, v)| {
            existing
                .fields
                .get(k)
                .is_some_and(|e| text_of(e).trim() == text_of(v).trim())
        })
}

/// A record as one `fetch_related` element.
pub(crate) fn as_value(records: &[Record]) -> Value {
    Value::Array(records.iter().map(record_value).collect())
}
