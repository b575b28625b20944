//! PostgreSQL backend, for several engine processes sharing one database. "Now" is the server's
//! `now()`, so leases mean the same thing to every process. Jobs are claimed with
//! `FOR UPDATE SKIP LOCKED`; the partial unique indexes on `jobs` make "one pending / one leased
//! job per entity" a database guarantee; races that surface as unique violations or deadlocks
//! are retried from the start of the transaction, which then re-reads what the winner wrote.

mod identity;
mod lease;
mod listing;
mod queue;
mod records;

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Decode, Postgres, Row, Transaction, Type};

use super::types::*;
use super::{Backend, OpenOptions, Store, StoreError};

const BACKEND: &str = "postgres";

/// How often a transaction that lost a race is re-run before the error is reported.
const RACE_RETRIES: usize = 8;

/// The PostgreSQL store.
pub(crate) struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects and applies migrations (sqlx serializes concurrent migrators with an advisory lock).
    pub(crate) async fn open(url: &str, options: OpenOptions) -> Result<Self, StoreError> {
        let connect = |source| StoreError::Connect {
            backend: BACKEND,
            source,
        };
        let opts = PgConnectOptions::from_str(url).map_err(connect)?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts)
            .await
            .map_err(connect)?;
        super::migrate::postgres()
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                backend: BACKEND,
                source,
            })?;
        Ok(Self { pool })
    }

    async fn begin(&self, op: &'static str) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool.begin().await.map_err(db(op))
    }
}

/// Maps a driver error of operation `op`.
fn db(op: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Database {
        backend: BACKEND,
        op,
        source,
    }
}

/// True when the error is a lost race worth re-running: deadlock or serialization failure, and
/// when `unique` also a unique violation (someone inserted the same key first).
fn lost_race(e: &StoreError, unique: bool) -> bool {
    let StoreError::Database {
        source: sqlx::Error::Database(d),
        ..
    } = e
    else {
        return false;
    };
    match d.code().as_deref() {
        Some("40P01") | Some("40001") => true,
        Some("23505") => unique,
        _ => false,
    }
}

/// Runs `attempt` until it succeeds, fails for a reason other than a lost race, or has lost
/// [`RACE_RETRIES`] races.
async fn retry_races<T, F, Fut>(unique: bool, mut attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(e) if tries + 1 < RACE_RETRIES && lost_race(&e, unique) => {
                tries += 1;
                tracing::debug!(error = %e, tries, "store transaction lost a race; re-running it");
            }
            other => return other,
        }
    }
}

/// Reads a column, reporting which one was unreadable.
fn col<'r, T>(row: &'r PgRow, table: &'static str, column: &'static str) -> Result<T, StoreError>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get(column).map_err(|e| StoreError::Corrupt {
        table,
        column,
        why: e.to_string(),
    })
}

/// Converts a stored integer to a narrower unsigned type.
fn unsigned<T: TryFrom<i64>>(
    v: i64,
    table: &'static str,
    column: &'static str,
) -> Result<T, StoreError> {
    T::try_from(v).map_err(|_| StoreError::Corrupt {
        table,
        column,
        why: format!("{v} is out of range"),
    })
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn append_events_and_enqueue(
        &self,
        batch: &[EventWithJobs],
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        retry_races(false, || self.append_impl(batch)).await
    }

    async fn events(&self, ids: &[EventId]) -> Result<Vec<Event>, StoreError> {
        self.events_impl(ids).await
    }

    async fn enqueue(&self, job: NewJob) -> Result<Enqueued, StoreError> {
        retry_races(false, || self.enqueue_impl(&job)).await
    }

    async fn claim(
        &self,
        worker_id: &str,
        max: u32,
        lease_ttl: Duration,
    ) -> Result<Vec<Job>, StoreError> {
        retry_races(true, || self.claim_impl(worker_id, max, lease_ttl)).await
    }

    async fn extend_lease(
        &self,
        job_id: JobId,
        worker_id: &str,
        lease_ttl: Duration,
    ) -> Result<DateTime<Utc>, StoreError> {
        self.extend_lease_impl(job_id, worker_id, lease_ttl).await
    }

    async fn complete(
        &self,
        job_id: JobId,
        worker_id: &str,
        commit: Commit,
    ) -> Result<(), StoreError> {
        retry_races(false, || self.complete_impl(job_id, worker_id, &commit)).await
    }

    async fn fail(
        &self,
        job_id: JobId,
        worker_id: &str,
        error: &str,
        retry_after: Duration,
    ) -> Result<FailOutcome, StoreError> {
        retry_races(true, || {
            self.fail_impl(job_id, worker_id, error, retry_after)
        })
        .await
    }

    async fn postpone(
        &self,
        job_id: JobId,
        worker_id: &str,
        until: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, StoreError> {
        retry_races(true, || self.postpone_impl(job_id, worker_id, until)).await
    }

    async fn job(&self, job_id: JobId) -> Result<Option<Job>, StoreError> {
        self.job_impl(job_id).await
    }

    async fn dlq_list(&self, filter: &DlqFilter, page: Page) -> Result<Vec<Job>, StoreError> {
        self.dlq_list_impl(filter, page).await
    }

    async fn dlq_replay(&self, job_id: JobId) -> Result<JobId, StoreError> {
        retry_races(true, || self.dlq_replay_impl(job_id)).await
    }

    async fn dlq_discard(&self, job_id: JobId) -> Result<(), StoreError> {
        self.dlq_discard_impl(job_id).await
    }

    async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        self.queue_stats_impl().await
    }

    async fn realtime_since(&self, since: DateTime<Utc>) -> Result<bool, StoreError> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM jobs WHERE updated_at >= $1 AND priority > $2)",
        )
        .bind(since)
        .bind(Priority::BACKFILL.0)
        .fetch_one(&self.pool)
        .await
        .map_err(db("look for recent real-time jobs"))
    }

    async fn prune(&self, before: DateTime<Utc>) -> Result<PruneReport, StoreError> {
        self.prune_impl(before).await
    }

    async fn resolve_identity(
        &self,
        kind: &str,
        connection_id: &str,
        external_id: &str,
        keys: &[String],
    ) -> Result<Resolution, StoreError> {
        let keys = clean_keys(keys)?;
        retry_races(true, || {
            self.resolve_impl(kind, connection_id, external_id, &keys)
        })
        .await
    }

    async fn links_of(&self, identity_id: IdentityId) -> Result<Vec<Link>, StoreError> {
        self.links_of_impl(identity_id).await
    }

    async fn find_link(
        &self,
        connection_id: &str,
        kind: &str,
        external_id: &str,
    ) -> Result<Option<Link>, StoreError> {
        self.find_link_impl(connection_id, kind, external_id).await
    }

    async fn links_in(
        &self,
        connection_id: &str,
        kind: &str,
        page: Page,
    ) -> Result<Vec<Link>, StoreError> {
        self.links_in_impl(connection_id, kind, page).await
    }

    async fn remove_link(
        &self,
        connection_id: &str,
        kind: &str,
        external_id: &str,
    ) -> Result<bool, StoreError> {
        self.remove_link_impl(connection_id, kind, external_id)
            .await
    }

    async fn add_keys(
        &self,
        identity_id: IdentityId,
        keys: &[String],
    ) -> Result<Vec<KeyConflict>, StoreError> {
        let keys = clean_keys(keys)?;
        retry_races(false, || self.add_keys_impl(identity_id, &keys)).await
    }

    async fn keys_of(&self, identity_id: IdentityId) -> Result<Vec<String>, StoreError> {
        self.keys_of_impl(identity_id).await
    }

    async fn snapshot(
        &self,
        identity_id: IdentityId,
        connection_id: &str,
    ) -> Result<Option<Snapshot>, StoreError> {
        self.snapshot_impl(identity_id, connection_id, None).await
    }

    async fn snapshot_with(
        &self,
        identity_id: IdentityId,
        connection_id: &str,
        peer: &str,
    ) -> Result<Option<Snapshot>, StoreError> {
        self.snapshot_impl(identity_id, connection_id, Some(peer))
            .await
    }

    async fn put_snapshot(&self, snapshot: SnapshotPut) -> Result<(), StoreError> {
        self.put_snapshot_impl(snapshot).await
    }

    async fn cursor(
        &self,
        connection_id: &str,
        stream: &str,
    ) -> Result<Option<String>, StoreError> {
        self.cursor_impl(connection_id, stream).await
    }

    async fn set_cursor(&self, cursor: CursorSet) -> Result<(), StoreError> {
        self.set_cursor_impl(cursor).await
    }

    async fn record_call(&self, call: CallAudit) -> Result<(), StoreError> {
        self.record_call_impl(call).await
    }

    async fn record_change(&self, change: ChangeAudit) -> Result<(), StoreError> {
        self.record_change_impl(change).await
    }

    async fn calls(&self, filter: &CallFilter) -> Result<Vec<CallRecord>, StoreError> {
        self.calls_impl(filter).await
    }

    async fn changes(&self, filter: &ChangeFilter) -> Result<Vec<ChangeRecord>, StoreError> {
        self.changes_impl(filter).await
    }

    async fn try_lead(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        retry_races(true, || self.try_lead_impl(name, holder, ttl)).await
    }

    async fn release_lead(&self, name: &str, holder: &str) -> Result<bool, StoreError> {
        self.release_lead_impl(name, holder).await
    }

    async fn create_connection(&self, conn: NewConnection) -> Result<Connection, StoreError> {
        self.create_connection_impl(conn).await
    }

    async fn connection(&self, id: &str) -> Result<Option<Connection>, StoreError> {
        self.connection_impl(id).await
    }

    async fn connections(&self) -> Result<Vec<Connection>, StoreError> {
        self.connections_impl().await
    }

    async fn update_connection(
        &self,
        id: &str,
        patch: ConnectionPatch,
    ) -> Result<Connection, StoreError> {
        self.update_connection_impl(id, patch).await
    }

    async fn delete_connection(&self, id: &str) -> Result<bool, StoreError> {
        self.delete_connection_impl(id).await
    }

    async fn list_events(&self, filter: &EventFilter) -> Result<Vec<Event>, StoreError> {
        self.list_events_impl(filter).await
    }

    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>, StoreError> {
        self.list_runs_impl(filter).await
    }

    async fn flow_states(&self) -> Result<Vec<FlowState>, StoreError> {
        self.flow_states_impl().await
    }

    async fn set_flow_state(&self, flow_id: &str, enabled: Option<bool>) -> Result<(), StoreError> {
        self.set_flow_state_impl(flow_id, enabled).await
    }
}
