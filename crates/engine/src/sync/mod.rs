//! Declarative sync: one job moves one record's change from the side where it happened to the
//! other side — re-fetch (a webhook is only a hint), map, compare with the last synced snapshot,
//! write only what changed (or nothing), and hand back a [`Commit`] (links, snapshots, audit) that
//! the worker applies together with the job's completion.
//!
//! Echo suppression: after a write, each side's snapshot holds what was synced; when our own write
//! comes back as a webhook or poll, the re-fetched record equals its snapshot and nothing is done.
//! The other side's snapshot only takes the fields we wrote, so a change made there meanwhile is
//! never mistaken for an echo.

pub mod keys;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use connectors::{Connector, ConnectorError, EntityKind, Record};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::flow::Direction;
use crate::flow::{ConflictPolicy, DeletePolicy, Side, SyncDirection, SyncSpec};
use crate::store::{
    ChangeAudit, ChangeOp, Commit, FieldDiff, IdentityId, Link, LinkRef, SnapshotPut, Store,
    StoreError,
};

/// What a sync job is about: one record of one connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordRef {
    pub connection: String,
    pub kind: EntityKind,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// The app said it was deleted (the worker still checks).
    #[serde(default)]
    pub deleted: bool,
}

impl RecordRef {
    /// The job's entity key: jobs of one record run one at a time and coalesce.
    pub fn entity_key(&self) -> String {
        format!("{}:{}:{}", self.connection, self.kind, self.id)
    }
}

/// Why a job failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// May succeed later (app unavailable, parent not synced yet, rate limit).
    #[error("{0}")]
    Retry(String),
    /// Another worker is syncing the same identity right now: try again shortly, without
    /// counting an attempt.
    #[error("identity {0} is being synced by another worker")]
    Busy(IdentityId),
    /// Retrying the same data cannot help (refused data, unsupported operation).
    #[error("{0}")]
    Permanent(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

impl From<ConnectorError> for SyncError {
    fn from(e: ConnectorError) -> Self {
        match e {
            ConnectorError::Transient(_) | ConnectorError::Reconnect(_) => {
                Self::Retry(e.to_string())
            }
            other => Self::Permanent(other.to_string()),
        }
    }
}

/// The connections a flow works with, by project name.
pub type Connectors = BTreeMap<String, Arc<dyn Connector>>;

/// Stable hash of a field map (keys sorted by serde_json's map), for snapshots.
pub fn hash_fields(fields: &Map<String, Value>) -> String {
    use std::hash::{Hash, Hasher};
    let text = serde_json::to_string(fields).unwrap_or_default();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    format!("{:016x}{:08x}", h.finish(), text.len())
}

fn fields_of(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// Values equal for sync purposes (null and absent are the same).
pub(crate) fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    let norm = |v: Option<&Value>| v.filter(|v| !v.is_null()).cloned();
    norm(a) == norm(b)
}

/// The fields of `wanted` that differ from `before`, as audit diffs.
pub(crate) fn diff_of(before: &Map<String, Value>, wanted: &Map<String, Value>) -> Vec<FieldDiff> {
    wanted
        .iter()
        .filter(|(k, v)| !same(before.get(*k), Some(v)))
        .map(|(k, v)| FieldDiff {
            field: k.clone(),
            before: before.get(k).cloned(),
            after: Some(v.clone()),
        })
        .collect()
}

/// Everything one sync job needs.
pub struct SyncJob<'a> {
    pub flow_id: &'a str,
    pub spec: &'a SyncSpec,
    pub store: &'a dyn Store,
    pub connectors: &'a Connectors,
    pub job_id: Option<crate::store::JobId>,
    /// When set, the job holds the identity's lock (a store lease named `identity:<id>`, held
    /// by this worker) from reading to committing, so the two sides of one person are never
    /// synced at once — otherwise a stale read on one side could overwrite a fresh edit.
    pub lock: Option<IdentityLock<'a>>,
}

/// The lease a sync job holds on its identity while it reads, writes and commits.
pub struct IdentityLock<'a> {
    /// The worker holding it (unique per worker loop).
    pub holder: &'a str,
    /// How long the lock lives if the process dies holding it.
    pub ttl: std::time::Duration,
    /// The lock taken, to release after the commit.
    pub taken: std::sync::Mutex<Option<String>>,
}

/// The store lease name of an identity's lock.
pub fn identity_lock_name(identity: IdentityId) -> String {
    format!("identity:{identity}")
}

impl SyncJob<'_> {
    fn connector(&self, name: &str) -> Result<&Arc<dyn Connector>, SyncError> {
        self.connectors
            .get(name)
            .ok_or_else(|| SyncError::Permanent(format!("connection `{name}` is not configured")))
    }

    /// Runs the job for `r`; returns the commit to apply with the job's completion.
    pub async fn run(&self, r: &RecordRef) -> Result<Commit, SyncError> {
        let spec = self.spec;
        if !spec.kinds.contains(&r.kind) {
            return Ok(Commit::default());
        }
        let (this_side, other_conn, dir) = if r.connection == spec.source {
            (Side::Source, spec.target.as_str(), Direction::ToTarget)
        } else if r.connection == spec.target && spec.direction == SyncDirection::TwoWay {
            (Side::Target, spec.source.as_str(), Direction::ToSource)
        } else {
            return Ok(Commit::default());
        };
        let this = self.connector(&r.connection)?;
        // A record already linked: lock its identity before reading it, so the read cannot go
        // stale while the twin's job writes here.
        if let Some(link) = self
            .store
            .find_link(&r.connection, r.kind.as_str(), &r.id)
            .await?
        {
            self.lock_identity(link.identity_id).await?;
        }
        // A delete hint is re-checked like any other: a reconcile that raced a record's first
        // sync, or a stale webhook, must not delete a live record's twin. Only a child that
        // cannot be re-read (no contact id in the hint) is taken at its word.
        let record = match this.get(r.kind, &r.id, r.parent_id.as_deref()).await {
            Ok(rec) => rec,
            Err(ConnectorError::Rejected(_) | ConnectorError::Unsupported(_)) if r.deleted => None,
            Err(e) => return Err(e.into()),
        };
        match record {
            None => self.propagate_delete(r, other_conn).await,
            Some(rec) if rec.deleted => self.propagate_delete(r, other_conn).await,
            Some(rec) => {
                self.propagate_change(r, rec, this_side, other_conn, dir)
                    .await
            }
        }
    }

    /// Takes the identity's lock if this job runs with locking and does not hold it yet.
    /// `Ok(true)` when it was taken just now, `Busy` when another worker holds it.
    async fn lock_identity(&self, identity: IdentityId) -> Result<bool, SyncError> {
        let Some(lock) = &self.lock else {
            return Ok(false);
        };
        let name = identity_lock_name(identity);
        if lock
            .taken
            .lock()
            .map(|t| t.as_deref() == Some(name.as_str()))
            .unwrap_or(false)
        {
            return Ok(false);
        }
        if !self.store.try_lead(&name, lock.holder, lock.ttl).await? {
            return Err(SyncError::Busy(identity));
        }
        if let Ok(mut taken) = lock.taken.lock() {
            *taken = Some(name);
        }
        Ok(true)
    }

    async fn propagate_delete(&self, r: &RecordRef, other_conn: &str) -> Result<Commit, SyncError> {
        let mut commit = Commit::default();
        let kind = r.kind.as_str();
        let Some(link) = self.store.find_link(&r.connection, kind, &r.id).await? else {
            return Ok(commit); // never synced: nothing to do
        };
        commit.unlinks.push(LinkRef {
            connection_id: r.connection.clone(),
            kind: kind.into(),
            external_id: r.id.clone(),
        });
        let other_link = self
            .store
            .links_of(link.identity_id)
            .await?
            .into_iter()
            .find(|l| l.connection_id == other_conn && l.kind == kind);
        let Some(other_link) = other_link else {
            return Ok(commit);
        };
        let other = self.connector(other_conn)?;
        let other_parent = self.other_parent(r, other_conn).await.ok().flatten();
        let op = match self.spec.delete {
            DeletePolicy::Propagate => {
                other
                    .delete(r.kind, &other_link.external_id, other_parent.as_deref())
                    .await?;
                commit.unlinks.push(LinkRef {
                    connection_id: other_conn.into(),
                    kind: kind.into(),
                    external_id: other_link.external_id.clone(),
                });
                Some(ChangeOp::Delete)
            }
            DeletePolicy::Archive if r.kind == EntityKind::Contact => {
                let current = other.get(r.kind, &other_link.external_id, None).await?;
                let mut tags: Vec<Value> = current
                    .and_then(|c| c.fields.get("tags").and_then(Value::as_array).cloned())
                    .unwrap_or_default();
                if !tags.iter().any(|t| t.as_str() == Some("archived")) {
                    tags.push(Value::String("archived".into()));
                }
                let mut f = Map::new();
                f.insert("tags".into(), Value::Array(tags));
                other
                    .update(r.kind, &other_link.external_id, None, &f)
                    .await?;
                Some(ChangeOp::Update)
            }
            DeletePolicy::Archive | DeletePolicy::Ignore => None,
        };
        if let Some(op) = op {
            commit.changes.push(self.audit(
                Some(link.identity_id),
                other_conn,
                r.kind,
                &other_link.external_id,
                op,
                Vec::new(),
            ));
        }
        Ok(commit)
    }

    /// For a child record: its contact's id on the other side (Retry while not synced yet).
    async fn other_parent(
        &self,
        r: &RecordRef,
        other_conn: &str,
    ) -> Result<Option<String>, SyncError> {
        if !r.kind.has_parent() {
            return Ok(None);
        }
        let parent = r
            .parent_id
            .as_deref()
            .ok_or_else(|| SyncError::Permanent(format!("{} {} has no contact", r.kind, r.id)))?;
        let link = self
            .store
            .find_link(&r.connection, "contact", parent)
            .await?;
        let other = match link {
            Some(l) => self
                .store
                .links_of(l.identity_id)
                .await?
                .into_iter()
                .find(|x| x.connection_id == other_conn && x.kind == "contact"),
            None => None,
        };
        other.map(|l| Some(l.external_id)).ok_or_else(|| {
            SyncError::Retry(format!(
                "contact {parent} of {} {} is not synced to `{other_conn}` yet",
                r.kind, r.id
            ))
        })
    }

    fn audit(
        &self,
        identity: Option<IdentityId>,
        conn: &str,
        kind: EntityKind,
        id: &str,
        op: ChangeOp,
        diff: Vec<FieldDiff>,
    ) -> ChangeAudit {
        ChangeAudit {
            at: Utc::now(),
            flow_id: self.flow_id.to_string(),
            identity_id: identity,
            connection_id: conn.to_string(),
            kind: kind.as_str().to_string(),
            external_id: id.to_string(),
            op,
            diff,
            job_id: self.job_id,
        }
    }

    /// Drops from `wanted` the fields the other side changed since the last sync and that it
    /// wins: every one this side did not change itself (`this_before`: this side's last synced
    /// record, mapped like `wanted`; `None` on first sight, when everything counts as changed),
    /// since writing this side's unchanged value would undo the other side's edit; and those
    /// changed on both sides that the conflict policy gives to the other side.
    fn resolve_conflicts(
        &self,
        this_side: Side,
        rec: &Record,
        this_before: Option<&Map<String, Value>>,
        other_now: &Record,
        other_snap: Option<&Map<String, Value>>,
        wanted: &mut Map<String, Value>,
    ) {
        if self.spec.direction != SyncDirection::TwoWay {
            return;
        }
        let other_side = match this_side {
            Side::Source => Side::Target,
            Side::Target => Side::Source,
        };
        let fields: Vec<String> = wanted.keys().cloned().collect();
        for f in fields {
            let other_changed = match other_snap {
                Some(snap) => !same(other_now.fields.get(&f), snap.get(&f)),
                None => other_now.fields.get(&f).is_some_and(|v| !v.is_null()),
            };
            if !other_changed {
                continue;
            }
            let this_changed = this_before.is_none_or(|b| !same(b.get(&f), wanted.get(&f)));
            let other_wins = !this_changed
                || match &self.spec.conflict {
                    ConflictPolicy::LastWriterWins => {
                        match (rec.updated_at, other_now.updated_at) {
                            (Some(a), Some(b)) => b > a,
                            _ => false,
                        }
                    }
                    policy => policy.winner(&f) == Some(other_side),
                };
            if other_wins {
                wanted.remove(&f);
            }
        }
    }

    async fn propagate_change(
        &self,
        r: &RecordRef,
        rec: Record,
        this_side: Side,
        other_conn: &str,
        dir: Direction,
    ) -> Result<Commit, SyncError> {
        let spec = self.spec;
        let kind = r.kind.as_str();
        let mut commit = Commit::default();
        if let Some(filter) = spec.filters.get(&r.kind) {
            if !filter.matches(&rec.fields) {
                return Ok(commit);
            }
        }
        let match_on = spec.match_on.get(&r.kind).cloned().unwrap_or_default();
        let keys = keys::keys_of(&rec, &match_on);
        let mut key_strings: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
        key_strings.push(keys::external_key(&r.connection, r.kind, &r.id));
        let identity = self
            .store
            .resolve_identity(kind, &r.connection, &r.id, &key_strings)
            .await?
            .identity_id;
        // First sight: the identity is known only now, so its lock is taken only now, after the
        // read. The read can be stale only if another job wrote this record in between, and such
        // a job commits a snapshot of this side of the identity before it releases the lock. So
        // read again under the lock only when one exists: a record new to the engine (every
        // record of a backfill) costs the app one read, not two.
        let rec = if self.lock_identity(identity).await?
            && self
                .store
                .snapshot(identity, &r.connection)
                .await?
                .is_some()
        {
            match self
                .connector(&r.connection)?
                .get(r.kind, &r.id, r.parent_id.as_deref())
                .await?
            {
                Some(fresh) if !fresh.deleted => fresh,
                _ => return Ok(commit), // gone meanwhile: its delete hint will follow
            }
        } else {
            rec
        };
        let this_hash = hash_fields(&rec.fields);
        let this_snap = self
            .store
            .snapshot_with(identity, &r.connection, other_conn)
            .await?;
        if this_snap.as_ref().is_some_and(|s| s.hash == this_hash) {
            return Ok(commit); // unchanged since the last sync: an echo of our own write, or a repeat
        }
        let mapping = spec
            .mapping
            .get(&r.kind)
            .ok_or_else(|| SyncError::Permanent(format!("no mapping for {kind}")))?;
        let out = mapping.apply(&rec, dir);
        let mut mapped = out.fields;
        // What this side held at the last sync, mapped the same way: fields equal there are not
        // this side's changes (see `resolve_conflicts`).
        let this_before = this_snap
            .as_ref()
            .map(|s| mapping.apply(&fields_of(&s.fields), dir).fields);
        // A field this side held at the last sync and holds no more was cleared there: clear it
        // on the other side too (null), or the other side's value would come back. A field the
        // mapping skipped with a warning is not a clear.
        for k in this_before.iter().flat_map(|b| b.keys()) {
            let skipped = out
                .warnings
                .iter()
                .any(|w| w.field.split(", ").any(|f| f == k));
            if !mapped.contains_key(k) && !skipped {
                mapped.insert(k.clone(), Value::Null);
            }
        }
        let other = self.connector(other_conn)?.clone();
        let other_parent = self.other_parent(r, other_conn).await?;
        let other_link = self
            .store
            .links_of(identity)
            .await?
            .into_iter()
            .find(|l| l.connection_id == other_conn && l.kind == kind);
        let other_snap = self
            .store
            .snapshot_with(identity, other_conn, &r.connection)
            .await?
            .map(|s| fields_of(&s.fields));
        // The other side's record: linked, or found by a match key on first sight.
        let mut existing: Option<Record> = None;
        if let Some(l) = &other_link {
            existing = other
                .get(r.kind, &l.external_id, other_parent.as_deref())
                .await?;
        } else {
            for (_, key) in &keys {
                if let Some(found) = other.find(r.kind, key).await? {
                    existing = Some(found);
                    break;
                }
            }
        }
        // `held`: the fields the other side's record has, before or after our write. Only those
        // go into its snapshot, so a field it cannot hold is never taken for one it cleared.
        let (other_id, op, written, held) = match existing.filter(|e| !e.deleted) {
            Some(current) => {
                let baseline = other_snap.clone().unwrap_or_else(|| current.fields.clone());
                let mut wanted: Map<String, Value> = mapped
                    .iter()
                    .filter(|(k, v)| {
                        !same(baseline.get(*k), Some(v)) || !same(current.fields.get(*k), Some(v))
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                self.resolve_conflicts(
                    this_side,
                    &rec,
                    this_before.as_ref(),
                    &current,
                    other_snap.as_ref(),
                    &mut wanted,
                );
                wanted.retain(|k, v| !same(current.fields.get(k), Some(v)));
                let mut held: Vec<String> = current.fields.keys().cloned().collect();
                if !wanted.is_empty() {
                    let mut send = wanted.clone();
                    // Apps with optimistic concurrency (If-Match) get the version we just read.
                    if let Some(v) = current.fields.get("x.version") {
                        send.insert("x.version".into(), v.clone());
                    }
                    let after = other
                        .update(r.kind, &current.id, other_parent.as_deref(), &send)
                        .await?;
                    held.extend(after.fields.into_iter().map(|(k, _)| k));
                }
                let diff = diff_of(&current.fields, &wanted);
                (
                    current.id.clone(),
                    (!diff.is_empty()).then_some(ChangeOp::Update),
                    (wanted, diff),
                    held,
                )
            }
            None if other_link.is_some() => {
                // Linked but gone on the other side: its own delete job decides; leave it.
                return Ok(commit);
            }
            None => {
                let idem = format!("{}:{kind}:{}:{other_conn}", self.flow_id, identity);
                let fields: Map<String, Value> = mapped
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let created = other
                    .create(r.kind, other_parent.as_deref(), &fields, &idem)
                    .await?;
                let diff = diff_of(&Map::new(), &fields);
                let held = created.fields.keys().cloned().collect();
                (
                    created.id.clone(),
                    Some(ChangeOp::Create),
                    (fields, diff),
                    held,
                )
            }
        };
        let (wrote, diff) = written;
        commit.links.push(Link {
            identity_id: identity,
            connection_id: r.connection.clone(),
            kind: kind.into(),
            external_id: r.id.clone(),
        });
        commit.links.push(Link {
            identity_id: identity,
            connection_id: other_conn.into(),
            kind: kind.into(),
            external_id: other_id.clone(),
        });
        commit.snapshots.push(SnapshotPut {
            identity_id: identity,
            connection_id: r.connection.clone(),
            peer: other_conn.into(),
            fields: Value::Object(rec.fields.clone()),
            hash: this_hash,
        });
        // The other side's snapshot takes what we wrote, and this side's values of the fields it
        // did not take (a conflict it won): those then differ from its record, so its own job
        // sends its winning values back here.
        let mut other_fields = other_snap.unwrap_or_default();
        for (k, v) in mapped.iter().chain(wrote.iter()) {
            if other_fields.contains_key(k) || held.contains(k) {
                other_fields.insert(k.clone(), v.clone());
            }
        }
        let other_hash = hash_fields(&other_fields);
        commit.snapshots.push(SnapshotPut {
            identity_id: identity,
            connection_id: other_conn.into(),
            peer: r.connection.clone(),
            fields: Value::Object(other_fields),
            hash: other_hash,
        });
        if let Some(op) = op {
            commit.changes.push(self.audit(
                Some(identity),
                other_conn,
                r.kind,
                &other_id,
                op,
                diff,
            ));
        }
        Ok(commit)
    }
}
