//! The engine's durable store: events, the job queue, identity links, snapshots, cursors, audit,
//! leader leases and the connection registry, behind one [`Store`] trait with two backends.
//!
//! * **SQLite** (`sqlite://path/to/file.db?mode=rwc`) is the embedded default: one file in WAL
//!   mode with `synchronous=FULL` (an acknowledged write survives power loss), a busy timeout, and
//!   every write on a single writer connection (multi-statement writes in `BEGIN IMMEDIATE`), so
//!   writers — also from other processes on the same file — serialize instead of failing mid-way.
//! * **PostgreSQL** (`postgres://…`) for several processes: jobs are claimed with
//!   `FOR UPDATE SKIP LOCKED`, and races between concurrent writers (two sides resolving the same
//!   person) surface as unique violations that the store retries by re-reading.
//!
//! "Now" is the database server's clock on PostgreSQL (shared by every process) and the process
//! clock on SQLite (the file lives on one machine). Times passed in by callers (`received_at`,
//! `run_at`, audit `at`) are stored as given. Both backends keep microsecond precision.
//!
//! Migrations live in `store/migrations/{sqlite,postgres}/NNNN_name.sql`, are compiled into the
//! binary and are applied (idempotently) by [`open`]. The guarantees, schema and tests are
//! described for users and operators in `docs/store.md`.

pub mod error;
mod migrate;
mod postgres;
mod sqlite;
pub mod types;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use error::StoreError;
pub use types::*;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// Embedded single file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// Tuning for [`open_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    /// Pool size: PostgreSQL connections, or SQLite reader connections (SQLite always has one
    /// writer connection besides).
    pub max_connections: u32,
    /// How long a SQLite writer waits for another process's write lock before failing.
    pub busy_timeout: Duration,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            busy_timeout: Duration::from_secs(10),
        }
    }
}

/// Opens the store the URL names and applies pending migrations.
///
/// `sqlite://path?mode=rwc` (creates the file) or `sqlite://path` (must exist);
/// `postgres://user:pass@host:5432/db` (also `postgresql://`). Add
/// `?options=-c%20search_path%3Dmyschema` to a PostgreSQL URL to use a schema other than `public`.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    open_with(url, OpenOptions::default()).await
}

/// [`open`] with explicit pool settings.
pub async fn open_with(url: &str, options: OpenOptions) -> Result<Arc<dyn Store>, StoreError> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "sqlite" => Ok(Arc::new(sqlite::SqliteStore::open(url, options).await?)),
        "postgres" | "postgresql" => {
            Ok(Arc::new(postgres::PostgresStore::open(url, options).await?))
        }
        other => Err(StoreError::UnsupportedUrl {
            scheme: other.chars().take(32).collect(),
        }),
    }
}

/// The engine's durable state. Every method is one transaction: it either happened completely
/// or not at all. Shared as `Arc<dyn Store>` between the ingress, the workers, the schedulers
/// and the admin API.
#[async_trait]
pub trait Store: Send + Sync {
    /// Which database this is.
    fn backend(&self) -> Backend;

    /// Closes the pools; later calls fail.
    async fn close(&self);

    // ----- events -------------------------------------------------------------------------------

    /// Stores events, skipping any whose `(connection_id, event_key)` is already stored. Returns
    /// one entry per input: the new id, or `None` for a duplicate (which changed nothing).
    async fn append_events(&self, events: &[NewEvent]) -> Result<Vec<Option<EventId>>, StoreError> {
        let batch: Vec<EventWithJobs> = events
            .iter()
            .map(|e| EventWithJobs {
                event: e.clone(),
                jobs: Vec::new(),
            })
            .collect();
        let out = self.append_events_and_enqueue(&batch).await?;
        Ok(out.into_iter().map(|o| o.event_id).collect())
    }

    /// Stores events and enqueues each new event's jobs in ONE transaction, so an event that was
    /// acknowledged to its sender always has its work queued. Duplicates enqueue nothing.
    async fn append_events_and_enqueue(
        &self,
        batch: &[EventWithJobs],
    ) -> Result<Vec<AppendOutcome>, StoreError>;

    /// Reads events by id (missing ids are skipped), ascending.
    async fn events(&self, ids: &[EventId]) -> Result<Vec<Event>, StoreError>;

    // ----- jobs ---------------------------------------------------------------------------------

    /// Enqueues a job, or merges it into the pending job of the same `(flow_id, entity_key)`
    /// (earliest `run_at` wins, highest `priority` wins, newest payload wins, event ids merge,
    /// `coalesced` counts), so a burst of webhooks for one contact becomes one run, and a webhook
    /// for a contact whose backfill job is still queued makes that job real-time work.
    async fn enqueue(&self, job: NewJob) -> Result<Enqueued, StoreError>;

    /// Leases up to `max` due jobs to `worker_id` for `lease_ttl`: highest `priority` first, then
    /// oldest `run_at` (then lowest id), so real-time work overtakes any backlog of backfill work.
    /// Never leases two jobs of one `(flow_id, entity_key)` at once. Jobs whose lease expired (a crashed
    /// worker) are claimable again; the expiry counts as a failed attempt, and a job that reaches
    /// its `max_attempts` that way goes to the dead-letter queue instead. `worker_id` must be
    /// unique per worker loop: it is what proves lease ownership.
    async fn claim(
        &self,
        worker_id: &str,
        max: u32,
        lease_ttl: Duration,
    ) -> Result<Vec<Job>, StoreError>;

    /// Pushes the lease of a job this worker holds to now + `lease_ttl`; returns the new end.
    /// `LeaseLost` when the worker no longer holds it.
    ///
    /// Here and in `complete` and `fail`, a lease that expired but was not yet reclaimed still
    /// belongs to its worker: nobody else can be running the job, so finishing it is safe and
    /// saves a re-run. Once another worker claimed it, the first one gets `LeaseLost`.
    async fn extend_lease(
        &self,
        job_id: JobId,
        worker_id: &str,
        lease_ttl: Duration,
    ) -> Result<chrono::DateTime<chrono::Utc>, StoreError>;

    /// Marks a leased job done and applies `commit` in the same transaction. `LeaseLost` (and
    /// nothing written) when the worker no longer holds the lease; any other failure also writes
    /// nothing and leaves the job leased.
    async fn complete(
        &self,
        job_id: JobId,
        worker_id: &str,
        commit: Commit,
    ) -> Result<(), StoreError>;

    /// Records a failed attempt. Below `max_attempts` the job returns to pending at now +
    /// `retry_after` (merging any job enqueued for the same entity meanwhile); at `max_attempts`
    /// it goes to the dead-letter queue keeping `error`.
    async fn fail(
        &self,
        job_id: JobId,
        worker_id: &str,
        error: &str,
        retry_after: Duration,
    ) -> Result<FailOutcome, StoreError>;

    /// Hands a leased job back without running it: pending again at `until`, with the same
    /// attempts and last error (nothing failed: e.g. the app's rate budget is low and this is
    /// work that can wait). A job enqueued for the entity meanwhile is merged in (highest
    /// priority, earliest run time: merged-in real-time work is not delayed). Returns the run
    /// time it got. `LeaseLost` when the worker no longer holds the lease.
    async fn postpone(
        &self,
        job_id: JobId,
        worker_id: &str,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<chrono::DateTime<chrono::Utc>, StoreError>;

    /// Reads one job.
    async fn job(&self, job_id: JobId) -> Result<Option<Job>, StoreError>;

    /// Dead jobs, most recently dead first.
    async fn dlq_list(&self, filter: &DlqFilter, page: Page) -> Result<Vec<Job>, StoreError>;

    /// Puts a dead job back to pending with zero attempts, due now. Returns the pending job that
    /// will run it (the same id). `NotFound` unless the job is dead.
    async fn dlq_replay(&self, job_id: JobId) -> Result<JobId, StoreError>;

    /// Deletes a dead job. `NotFound` unless the job is dead.
    async fn dlq_discard(&self, job_id: JobId) -> Result<(), StoreError>;

    /// Queue depth.
    async fn queue_stats(&self) -> Result<QueueStats, StoreError>;

    /// Whether a job above backfill priority (real-time or poll work) was enqueued, claimed,
    /// finished or handed back at or after `since`, by any process: the engine keeps part of an
    /// app's rate budget for such work only while there is some (see `engine::pacing`).
    async fn realtime_since(
        &self,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError>;

    /// Deletes done jobs finished before `before` and events received before `before`
    /// (after that, a redelivery of such an old event is no longer recognised as a duplicate).
    async fn prune(&self, before: chrono::DateTime<chrono::Utc>)
        -> Result<PruneReport, StoreError>;

    // ----- identities ---------------------------------------------------------------------------

    /// Finds or creates the identity of an external record, atomically: the identity already
    /// linked to `(connection_id, kind, external_id)`; else the identity owning the first of
    /// `keys` (normalised, strongest first, e.g. `email:ada@example.com`) that any identity owns,
    /// linking the record to it; else a new identity. Keys no identity owns yet are attached to
    /// the result. Concurrent calls for the same person yield one identity.
    async fn resolve_identity(
        &self,
        kind: &str,
        connection_id: &str,
        external_id: &str,
        keys: &[String],
    ) -> Result<Resolution, StoreError>;

    /// Every external record of an identity.
    async fn links_of(&self, identity_id: IdentityId) -> Result<Vec<Link>, StoreError>;

    /// The link of one external record.
    async fn find_link(
        &self,
        connection_id: &str,
        kind: &str,
        external_id: &str,
    ) -> Result<Option<Link>, StoreError>;

    /// The links of one connection and kind, by external id (reconciles diff them against what
    /// the app still holds, to find deletes whose webhook was dropped).
    async fn links_in(
        &self,
        connection_id: &str,
        kind: &str,
        page: Page,
    ) -> Result<Vec<Link>, StoreError>;

    /// Removes a link; true when one existed.
    async fn remove_link(
        &self,
        connection_id: &str,
        kind: &str,
        external_id: &str,
    ) -> Result<bool, StoreError>;

    /// Attaches match keys to an identity. Keys owned by another identity are left alone and
    /// returned, so the caller can decide about merging.
    async fn add_keys(
        &self,
        identity_id: IdentityId,
        keys: &[String],
    ) -> Result<Vec<KeyConflict>, StoreError>;

    /// The match keys of an identity, sorted.
    async fn keys_of(&self, identity_id: IdentityId) -> Result<Vec<String>, StoreError>;

    // ----- snapshots and cursors ----------------------------------------------------------------

    /// Last synced state of an identity in a connection, synced with `peer` (`""`: outside a
    /// sync). See [`SnapshotPut::peer`].
    async fn snapshot_with(
        &self,
        identity_id: IdentityId,
        connection_id: &str,
        peer: &str,
    ) -> Result<Option<Snapshot>, StoreError>;

    /// The most recent snapshot of an identity in a connection, whatever it was synced with
    /// (what the engine last knew of a record, e.g. of one deleted since).
    async fn snapshot(
        &self,
        identity_id: IdentityId,
        connection_id: &str,
    ) -> Result<Option<Snapshot>, StoreError>;

    /// Writes a snapshot outside a job (jobs use [`Commit::snapshots`]).
    async fn put_snapshot(&self, snapshot: SnapshotPut) -> Result<(), StoreError>;

    /// A poll cursor.
    async fn cursor(&self, connection_id: &str, stream: &str)
        -> Result<Option<String>, StoreError>;

    /// Sets a poll cursor outside a job (jobs use [`Commit::cursors`]).
    async fn set_cursor(&self, cursor: CursorSet) -> Result<(), StoreError>;

    // ----- audit --------------------------------------------------------------------------------

    /// Records an API call (never with secrets: the path carries no query string).
    async fn record_call(&self, call: CallAudit) -> Result<(), StoreError>;

    /// Records a change outside a job (jobs use [`Commit::changes`]).
    async fn record_change(&self, change: ChangeAudit) -> Result<(), StoreError>;

    /// Call records matching the filter, newest first.
    async fn calls(&self, filter: &CallFilter) -> Result<Vec<CallRecord>, StoreError>;

    /// Change records matching the filter, newest first.
    async fn changes(&self, filter: &ChangeFilter) -> Result<Vec<ChangeRecord>, StoreError>;

    // ----- leader leases ------------------------------------------------------------------------

    /// Acquires or renews the named lease for `holder` until now + `ttl`. Another holder gets
    /// it only after it expired. True when `holder` holds it now.
    async fn try_lead(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError>;

    /// Gives the lease up early; true when `holder` held it.
    async fn release_lead(&self, name: &str, holder: &str) -> Result<bool, StoreError>;

    // ----- connections --------------------------------------------------------------------------

    /// Registers a connection; `AlreadyExists` when the id is taken.
    async fn create_connection(&self, conn: NewConnection) -> Result<Connection, StoreError>;

    /// Reads a connection.
    async fn connection(&self, id: &str) -> Result<Option<Connection>, StoreError>;

    /// All connections, by id.
    async fn connections(&self) -> Result<Vec<Connection>, StoreError>;

    /// Changes a connection; `NotFound` when it does not exist.
    async fn update_connection(
        &self,
        id: &str,
        patch: ConnectionPatch,
    ) -> Result<Connection, StoreError>;

    /// Removes a connection (its events, links and audit stay); true when it existed.
    async fn delete_connection(&self, id: &str) -> Result<bool, StoreError>;

    // ----- admin listings and flow overrides -----------------------------------------------------

    /// Stored events matching the filter, newest first (by id: arrival order).
    async fn list_events(&self, filter: &EventFilter) -> Result<Vec<Event>, StoreError>;

    /// Runs (jobs in any state, done ones until `prune` removes them) matching the filter, most
    /// recently changed first.
    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>, StoreError>;

    /// Every flow enable/disable override, by flow name.
    async fn flow_states(&self) -> Result<Vec<FlowState>, StoreError>;

    /// Sets (`Some`) or clears (`None`) a flow's enable/disable override.
    async fn set_flow_state(&self, flow_id: &str, enabled: Option<bool>) -> Result<(), StoreError>;
}

/// A duration as whole microseconds, saturating (a TTL of years is a caller bug, not a panic).
pub(crate) fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Text describing where a job is, for `LeaseLost` messages.
pub(crate) fn describe_job_state(state: Option<(String, Option<String>)>) -> String {
    match state {
        None => "missing".to_string(),
        Some((s, Some(owner))) if s == "leased" => format!("leased by `{owner}`"),
        Some((s, _)) => s,
    }
}
