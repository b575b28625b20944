//! SQLite backend: one file in WAL mode. Reads go through a small reader pool; every write goes
//! through a single writer connection, multi-statement writes inside `BEGIN IMMEDIATE`, so writers
//! in this process queue on the pool and writers in other processes wait on the file lock (busy
//! timeout) instead of failing half-way with `SQLITE_BUSY`.

mod group_commit;
mod identity;
mod lease;
mod listing;
mod queue;
mod records;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Decode, Row, Sqlite, Transaction, Type};

use super::types::*;
use super::{Backend, OpenOptions, Store, StoreError};

const BACKEND: &str = "sqlite";

/// The SQLite store.
pub(crate) struct SqliteStore {
    /// Exactly one connection: in-process writers queue here.
    write: SqlitePool,
    /// Readers (WAL lets them run beside the writer).
    read: SqlitePool,
    /// Concurrent frequent writes (appends, claims, locks, call audit, completions) share one
    /// transaction: see `group_commit`.
    group: group_commit::GroupWriter,
}

impl SqliteStore {
    /// Opens (or with `mode=rwc` creates) the file and applies migrations.
    pub(crate) async fn open(url: &str, options: OpenOptions) -> Result<Self, StoreError> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(StoreError::invalid(
                "SQLite URL",
                "an in-memory database would lose every event and job on restart; \
                 use a file, e.g. `sqlite://data/ghl-bridge.db?mode=rwc`",
            ));
        }
        let connect = |source| StoreError::Connect {
            backend: BACKEND,
            source,
        };
        let base = SqliteConnectOptions::from_str(url)
            .map_err(connect)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(options.busy_timeout)
            .foreign_keys(true);
        let write = connect_retrying_busy(
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(60)),
            &base,
            options.busy_timeout,
        )
        .await
        .map_err(connect)?;
        // Two processes creating the same new file at once race on the first migration: the
        // loser fails (table exists, or its snapshot went stale) and, re-run, finds it applied.
        let migrator = super::migrate::sqlite();
        let mut tries: u64 = 0;
        loop {
            match migrator.run(&write).await {
                Ok(()) => break,
                Err(e) if tries < 3 => {
                    tries += 1;
                    tracing::debug!(error = %e, tries, "sqlite migration raced another process; re-running");
                    tokio::time::sleep(Duration::from_millis(50 * tries)).await;
                }
                Err(source) => {
                    return Err(StoreError::Migrate {
                        backend: BACKEND,
                        source,
                    })
                }
            }
        }
        let read = connect_retrying_busy(
            SqlitePoolOptions::new().max_connections(options.max_connections.max(1)),
            &base,
            options.busy_timeout,
        )
        .await
        .map_err(connect)?;
        Ok(Self {
            write,
            read,
            group: Default::default(),
        })
    }

    /// Starts a write transaction holding the database write lock from its first statement.
    async fn begin(&self, op: &'static str) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.write
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db(op))
    }
}

/// Connects a pool, retrying while another process holds the file lock.
///
/// Switching a new file into WAL mode needs an exclusive lock, and SQLite answers `SQLITE_BUSY`
/// for it without consulting the busy handler, so several processes starting on the same new
/// file at once would fail; waiting up to the busy timeout makes them all open.
async fn connect_retrying_busy(
    pool: SqlitePoolOptions,
    options: &SqliteConnectOptions,
    limit: Duration,
) -> Result<SqlitePool, sqlx::Error> {
    let started = std::time::Instant::now();
    let mut pause = Duration::from_millis(10);
    loop {
        match pool.clone().connect_with(options.clone()).await {
            Err(e) if is_busy(&e) && started.elapsed() < limit => {
                tracing::debug!(error = %e, "sqlite file locked while opening; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

/// Whether a driver error is SQLite's `SQLITE_BUSY` / `SQLITE_LOCKED` (file locked by another).
fn is_busy(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("5") | Some("6")) || d.message().contains("locked"))
}

/// Maps a driver error of operation `op`.
fn db(op: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Database {
        backend: BACKEND,
        op,
        source,
    }
}

/// Now, in stored form (microseconds since the epoch).
fn now() -> i64 {
    Utc::now().timestamp_micros()
}

/// A time in stored form.
fn ts(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// Reads a column, reporting which one was unreadable.
fn col<'r, T>(
    row: &'r SqliteRow,
    table: &'static str,
    column: &'static str,
) -> Result<T, StoreError>
where
    T: Decode<'r, Sqlite> + Type<Sqlite>,
{
    row.try_get(column).map_err(|e| StoreError::Corrupt {
        table,
        column,
        why: e.to_string(),
    })
}

/// Reads a stored time column.
fn time_col(
    row: &SqliteRow,
    table: &'static str,
    column: &'static str,
) -> Result<DateTime<Utc>, StoreError> {
    let v: i64 = col(row, table, column)?;
    from_ts(v, table, column)
}

/// Reads a nullable stored time column.
fn opt_time_col(
    row: &SqliteRow,
    table: &'static str,
    column: &'static str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let v: Option<i64> = col(row, table, column)?;
    v.map(|v| from_ts(v, table, column)).transpose()
}

fn from_ts(v: i64, table: &'static str, column: &'static str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(v).ok_or_else(|| StoreError::Corrupt {
        table,
        column,
        why: format!("{v} is not a time in microseconds"),
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
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn close(&self) {
        if let Err(e) = self.group.flush(&self.write).await {
            tracing::warn!(error = %e, "could not write the last call audit rows");
        }
        self.write.close().await;
        self.read.close().await;
    }

    async fn append_events_and_enqueue(
        &self,
        batch: &[EventWithJobs],
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        self.append_impl(batch).await
    }

    async fn events(&self, ids: &[EventId]) -> Result<Vec<Event>, StoreError> {
        self.events_impl(ids).await
    }

    async fn enqueue(&self, job: NewJob) -> Result<Enqueued, StoreError> {
        self.enqueue_impl(job).await
    }

    async fn claim(
        &self,
        worker_id: &str,
        max: u32,
        lease_ttl: Duration,
    ) -> Result<Vec<Job>, StoreError> {
        self.claim_impl(worker_id, max, lease_ttl).await
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
        self.complete_impl(job_id, worker_id, commit).await
    }

    async fn fail(
        &self,
        job_id: JobId,
        worker_id: &str,
        error: &str,
        retry_after: Duration,
    ) -> Result<FailOutcome, StoreError> {
        self.fail_impl(job_id, worker_id, error, retry_after).await
    }

    async fn postpone(
        &self,
        job_id: JobId,
        worker_id: &str,
        until: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, StoreError> {
        self.postpone_impl(job_id, worker_id, until).await
    }

    async fn job(&self, job_id: JobId) -> Result<Option<Job>, StoreError> {
        self.job_impl(job_id).await
    }

    async fn dlq_list(&self, filter: &DlqFilter, page: Page) -> Result<Vec<Job>, StoreError> {
        self.dlq_list_impl(filter, page).await
    }

    async fn dlq_replay(&self, job_id: JobId) -> Result<JobId, StoreError> {
        self.dlq_replay_impl(job_id).await
    }

    async fn dlq_discard(&self, job_id: JobId) -> Result<(), StoreError> {
        self.dlq_discard_impl(job_id).await
    }

    async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        self.queue_stats_impl().await
    }

    async fn realtime_since(&self, since: DateTime<Utc>) -> Result<bool, StoreError> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM jobs WHERE updated_at >= ?1 AND priority > ?2)",
        )
        .bind(ts(since))
        .bind(Priority::BACKFILL.0)
        .fetch_one(&self.read)
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
        self.resolve_impl(kind, connection_id, external_id, keys)
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
        self.add_keys_impl(identity_id, keys).await
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
        self.try_lead_impl(name, holder, ttl).await
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
