//! SQLite events and job queue. Every multi-statement write runs under `BEGIN IMMEDIATE`, so the
//! read-then-write sequences below (coalescing, claiming, merging) see no concurrent writer.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use sqlx::SqliteConnection;

use super::group_commit::work;
use super::{col, db, now, opt_time_col, time_col, ts, unsigned, SqliteStore};
use crate::store::types::*;
use crate::store::{describe_job_state, micros, StoreError};

/// Columns of a job row, in the order `job_from_row` reads them.
macro_rules! job_cols {
    () => {
        "id, flow_id, entity_key, state, payload, event_ids, run_at, priority, attempts, \
         max_attempts, coalesced, lease_owner, lease_until, last_error, created_at, updated_at, \
         finished_at"
    };
}
pub(super) use job_cols;

pub(super) fn job_from_row(row: &SqliteRow) -> Result<Job, StoreError> {
    const T: &str = "jobs";
    let state: String = col(row, T, "state")?;
    let payload: Json<Value> = col(row, T, "payload")?;
    let event_ids: Json<Vec<EventId>> = col(row, T, "event_ids")?;
    Ok(Job {
        id: JobId(col(row, T, "id")?),
        flow_id: col(row, T, "flow_id")?,
        entity_key: col(row, T, "entity_key")?,
        state: JobState::parse(&state).ok_or_else(|| StoreError::Corrupt {
            table: T,
            column: "state",
            why: format!("unknown state `{state}`"),
        })?,
        payload: payload.0,
        event_ids: event_ids.0,
        run_at: time_col(row, T, "run_at")?,
        priority: priority_col(row)?,
        attempts: unsigned(col(row, T, "attempts")?, T, "attempts")?,
        max_attempts: unsigned(col(row, T, "max_attempts")?, T, "max_attempts")?,
        coalesced: unsigned(col(row, T, "coalesced")?, T, "coalesced")?,
        lease_owner: col(row, T, "lease_owner")?,
        lease_until: opt_time_col(row, T, "lease_until")?,
        last_error: col(row, T, "last_error")?,
        created_at: time_col(row, T, "created_at")?,
        updated_at: time_col(row, T, "updated_at")?,
        finished_at: opt_time_col(row, T, "finished_at")?,
    })
}

/// The priority column (an SQLite INTEGER, so range-checked into `i16`).
fn priority_col(row: &SqliteRow) -> Result<Priority, StoreError> {
    let v: i64 = col(row, "jobs", "priority")?;
    i16::try_from(v)
        .map(Priority)
        .map_err(|_| StoreError::Corrupt {
            table: "jobs",
            column: "priority",
            why: format!("{v} is out of range"),
        })
}

pub(super) fn event_from_row(row: &SqliteRow) -> Result<Event, StoreError> {
    const T: &str = "events";
    let source: String = col(row, T, "source")?;
    let payload: Json<Value> = col(row, T, "payload")?;
    Ok(Event {
        id: EventId(col(row, T, "id")?),
        event: NewEvent {
            connection_id: col(row, T, "connection_id")?,
            event_key: col(row, T, "event_key")?,
            kind: col(row, T, "kind")?,
            entity_id: col(row, T, "entity_id")?,
            parent_id: col(row, T, "parent_id")?,
            source: EventSource::parse(&source).ok_or_else(|| StoreError::Corrupt {
                table: T,
                column: "source",
                why: format!("unknown source `{source}`"),
            })?,
            payload: payload.0,
            received_at: time_col(row, T, "received_at")?,
        },
    })
}

/// Enqueues (or coalesces) one job inside the caller's write transaction.
async fn enqueue_in(
    conn: &mut SqliteConnection,
    now: i64,
    job: &NewJob,
) -> Result<Enqueued, StoreError> {
    const OP: &str = "enqueue job";
    job.validate()?;
    let run_at = job.run_at.map(ts).unwrap_or(now);
    // Most enqueues are for an entity with no pending job: one statement. The partial unique
    // index `jobs_one_pending` turns the insert into a no-op when there is one, which is then
    // merged into below.
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO jobs (flow_id, entity_key, state, payload, event_ids, run_at, attempts, \
         max_attempts, coalesced, created_at, updated_at, priority) \
         VALUES (?1, ?2, 'pending', ?3, ?4, ?5, 0, ?6, 0, ?7, ?7, ?8) \
         ON CONFLICT (flow_id, entity_key) WHERE state = 'pending' DO NOTHING RETURNING id",
    )
    .bind(&job.flow_id)
    .bind(&job.entity_key)
    .bind(Json(&job.payload))
    .bind(Json(merge_event_ids(&[], &job.event_ids)))
    .bind(run_at)
    .bind(job.max_attempts_or_default())
    .bind(now)
    .bind(job.priority.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db(OP))?;
    if let Some(id) = inserted {
        return Ok(Enqueued {
            job_id: JobId(id),
            coalesced: false,
        });
    }
    let row = sqlx::query(
        "SELECT id, event_ids FROM jobs WHERE flow_id = ?1 AND entity_key = ?2 AND state = 'pending'",
    )
    .bind(&job.flow_id)
    .bind(&job.entity_key)
    .fetch_one(&mut *conn)
    .await
    .map_err(db(OP))?;
    let id: i64 = col(&row, "jobs", "id")?;
    let ids: Json<Vec<EventId>> = col(&row, "jobs", "event_ids")?;
    let merged = merge_event_ids(&ids.0, &job.event_ids);
    sqlx::query(
        "UPDATE jobs SET run_at = MIN(run_at, ?2), coalesced = coalesced + 1, event_ids = ?3, \
         payload = ?4, updated_at = ?5, priority = MAX(priority, ?6) WHERE id = ?1",
    )
    .bind(id)
    .bind(run_at)
    .bind(Json(&merged))
    .bind(Json(&job.payload))
    .bind(now)
    .bind(job.priority.0)
    .execute(&mut *conn)
    .await
    .map_err(db(OP))?;
    Ok(Enqueued {
        job_id: JobId(id),
        coalesced: true,
    })
}

/// Builds the `LeaseLost` error for a job, saying what became of it.
pub(super) async fn lease_lost(
    conn: &mut SqliteConnection,
    job_id: JobId,
    worker_id: &str,
) -> StoreError {
    let state = sqlx::query_as::<_, (String, Option<String>)>(
        "SELECT state, lease_owner FROM jobs WHERE id = ?1",
    )
    .bind(job_id.0)
    .fetch_optional(&mut *conn)
    .await
    .unwrap_or(None);
    StoreError::LeaseLost {
        job_id,
        worker_id: worker_id.to_string(),
        now: describe_job_state(state),
    }
}

/// Folds the pending job of the same entity (enqueued while `job_id` was leased or dead) into
/// `job_id`, which is about to become pending: only one pending job per entity may exist. The
/// merged job keeps the higher priority. Returns the absorbed job's `run_at`, for callers that
/// must not delay its work.
pub(super) async fn absorb_pending_sibling(
    conn: &mut SqliteConnection,
    job_id: i64,
    flow_id: &str,
    entity_key: &str,
    own_ids: &[EventId],
) -> Result<Option<i64>, StoreError> {
    const OP: &str = "merge pending job";
    let sibling = sqlx::query(
        "DELETE FROM jobs WHERE flow_id = ?1 AND entity_key = ?2 AND state = 'pending' \
         RETURNING payload, event_ids, coalesced, priority, run_at",
    )
    .bind(flow_id)
    .bind(entity_key)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db(OP))?;
    let Some(row) = sibling else { return Ok(None) };
    let payload: Json<Value> = col(&row, "jobs", "payload")?;
    let ids: Json<Vec<EventId>> = col(&row, "jobs", "event_ids")?;
    let coalesced: i64 = col(&row, "jobs", "coalesced")?;
    let priority = priority_col(&row)?;
    let run_at: i64 = col(&row, "jobs", "run_at")?;
    sqlx::query(
        "UPDATE jobs SET payload = ?2, event_ids = ?3, coalesced = coalesced + ?4 + 1, \
         priority = MAX(priority, ?5) WHERE id = ?1",
    )
    .bind(job_id)
    .bind(payload)
    .bind(Json(merge_event_ids(own_ids, &ids.0)))
    .bind(coalesced)
    .bind(priority.0)
    .execute(&mut *conn)
    .await
    .map_err(db(OP))?;
    Ok(Some(run_at))
}

impl SqliteStore {
    /// Appends through the group commit: concurrent callers share one transaction (and one
    /// fsync); each is answered only after that transaction committed.
    pub(super) async fn append_impl(
        &self,
        batch: &[EventWithJobs],
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        let batch = Arc::new(batch.to_vec());
        let work = work(move |c, now| {
            let batch = batch.clone();
            Box::pin(async move { append_in(c, now, &batch).await })
        });
        self.group.write(&self.write, work).await
    }

    pub(super) async fn events_impl(&self, ids: &[EventId]) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, connection_id, event_key, kind, entity_id, parent_id, source, payload, \
             received_at FROM events WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id",
        )
        .bind(Json(ids))
        .fetch_all(&self.read)
        .await
        .map_err(db("read events"))?;
        rows.iter().map(event_from_row).collect()
    }

    pub(super) async fn enqueue_impl(&self, job: NewJob) -> Result<Enqueued, StoreError> {
        let mut tx = self.begin("enqueue job").await?;
        let out = enqueue_in(&mut tx, now(), &job).await?;
        tx.commit().await.map_err(db("enqueue job"))?;
        Ok(out)
    }

    pub(super) async fn extend_lease_impl(
        &self,
        job_id: JobId,
        worker: &str,
        ttl: Duration,
    ) -> Result<DateTime<Utc>, StoreError> {
        const OP: &str = "extend lease";
        let mut tx = self.begin(OP).await?;
        let now = now();
        let until = now.saturating_add(micros(ttl));
        let done = sqlx::query(
            "UPDATE jobs SET lease_until = ?3, updated_at = ?4 \
             WHERE id = ?1 AND state = 'leased' AND lease_owner = ?2",
        )
        .bind(job_id.0)
        .bind(worker)
        .bind(until)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db(OP))?;
        if done.rows_affected() == 0 {
            return Err(lease_lost(&mut tx, job_id, worker).await);
        }
        tx.commit().await.map_err(db(OP))?;
        super::from_ts(until, "jobs", "lease_until")
    }

    pub(super) async fn complete_impl(
        &self,
        job_id: JobId,
        worker: &str,
        commit: Commit,
    ) -> Result<(), StoreError> {
        const OP: &str = "complete job";
        let worker = worker.to_string();
        let commit = Arc::new(commit);
        let work = work(move |tx, now| {
            let (worker, commit) = (worker.clone(), commit.clone());
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE jobs SET state = 'done', lease_until = NULL, finished_at = ?3, updated_at = ?3 \
                     WHERE id = ?1 AND state = 'leased' AND lease_owner = ?2",
                )
                .bind(job_id.0)
                .bind(&worker)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db(OP))?;
                if done.rows_affected() == 0 {
                    return Err(lease_lost(tx, job_id, &worker).await);
                }
                super::identity::apply_commit(tx, now, &commit).await?;
                if let Some(name) = &commit.release_lease {
                    sqlx::query("DELETE FROM leader_leases WHERE name = ?1 AND holder = ?2")
                        .bind(name)
                        .bind(&worker)
                        .execute(&mut *tx)
                        .await
                        .map_err(db(OP))?;
                }
                Ok(())
            })
        });
        self.group.write(&self.write, work).await
    }

    pub(super) async fn fail_impl(
        &self,
        job_id: JobId,
        worker: &str,
        error: &str,
        retry_after: Duration,
    ) -> Result<FailOutcome, StoreError> {
        const OP: &str = "fail job";
        let worker = worker.to_string();
        let error = error.to_string();
        let work = work(move |tx, now| {
            let (worker, error) = (worker.clone(), error.clone());
            Box::pin(async move {
                let row = sqlx::query(
                    "SELECT flow_id, entity_key, event_ids, attempts, max_attempts FROM jobs \
             WHERE id = ?1 AND state = 'leased' AND lease_owner = ?2",
                )
                .bind(job_id.0)
                .bind(&worker)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db(OP))?;
                let Some(row) = row else {
                    return Err(lease_lost(tx, job_id, &worker).await);
                };
                let attempts: i64 = col::<i64>(&row, "jobs", "attempts")? + 1;
                let max: i64 = col(&row, "jobs", "max_attempts")?;
                let attempts_u32: u32 = super::unsigned(attempts, "jobs", "attempts")?;
                let outcome = if attempts >= max {
                    sqlx::query(
                "UPDATE jobs SET state = 'dead', attempts = ?2, last_error = ?3, lease_until = NULL, \
                 finished_at = ?4, updated_at = ?4 WHERE id = ?1",
            )
            .bind(job_id.0)
            .bind(attempts)
            .bind(&error)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db(OP))?;
                    FailOutcome::Dead {
                        attempts: attempts_u32,
                    }
                } else {
                    let flow_id: String = col(&row, "jobs", "flow_id")?;
                    let entity_key: String = col(&row, "jobs", "entity_key")?;
                    let ids: Json<Vec<EventId>> = col(&row, "jobs", "event_ids")?;
                    absorb_pending_sibling(tx, job_id.0, &flow_id, &entity_key, &ids.0).await?;
                    let run_at = now.saturating_add(micros(retry_after));
                    sqlx::query(
                "UPDATE jobs SET state = 'pending', attempts = ?2, last_error = ?3, run_at = ?4, \
                 lease_owner = NULL, lease_until = NULL, updated_at = ?5 WHERE id = ?1",
            )
            .bind(job_id.0)
            .bind(attempts)
            .bind(&error)
            .bind(run_at)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db(OP))?;
                    FailOutcome::Retry {
                        attempts: attempts_u32,
                        run_at: super::from_ts(run_at, "jobs", "run_at")?,
                    }
                };
                Ok(outcome)
            })
        });
        self.group.write(&self.write, work).await
    }

    pub(super) async fn job_impl(&self, job_id: JobId) -> Result<Option<Job>, StoreError> {
        let row = sqlx::query(concat!("SELECT ", job_cols!(), " FROM jobs WHERE id = ?1"))
            .bind(job_id.0)
            .fetch_optional(&self.read)
            .await
            .map_err(db("read job"))?;
        row.as_ref().map(job_from_row).transpose()
    }

    pub(super) async fn dlq_list_impl(
        &self,
        filter: &DlqFilter,
        page: Page,
    ) -> Result<Vec<Job>, StoreError> {
        let (limit, offset) = page.sql();
        let rows = sqlx::query(concat!(
            "SELECT ",
            job_cols!(),
            " FROM jobs WHERE state = 'dead' AND (?1 IS NULL OR flow_id = ?1) \
              AND (?2 IS NULL OR entity_key = ?2) \
              ORDER BY finished_at DESC, id DESC LIMIT ?3 OFFSET ?4"
        ))
        .bind(&filter.flow_id)
        .bind(&filter.entity_key)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.read)
        .await
        .map_err(db("list dead jobs"))?;
        rows.iter().map(job_from_row).collect()
    }

    pub(super) async fn dlq_replay_impl(&self, job_id: JobId) -> Result<JobId, StoreError> {
        const OP: &str = "replay dead job";
        let mut tx = self.begin(OP).await?;
        let now = now();
        let row = sqlx::query(
            "SELECT flow_id, entity_key, event_ids FROM jobs WHERE id = ?1 AND state = 'dead'",
        )
        .bind(job_id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db(OP))?;
        let Some(row) = row else {
            return Err(StoreError::not_found(format!("dead job {job_id}")));
        };
        let flow_id: String = col(&row, "jobs", "flow_id")?;
        let entity_key: String = col(&row, "jobs", "entity_key")?;
        let ids: Json<Vec<EventId>> = col(&row, "jobs", "event_ids")?;
        absorb_pending_sibling(&mut tx, job_id.0, &flow_id, &entity_key, &ids.0).await?;
        sqlx::query(
            "UPDATE jobs SET state = 'pending', attempts = 0, last_error = NULL, run_at = ?2, \
             lease_owner = NULL, lease_until = NULL, finished_at = NULL, updated_at = ?2 WHERE id = ?1",
        )
        .bind(job_id.0)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db(OP))?;
        tx.commit().await.map_err(db(OP))?;
        Ok(job_id)
    }

    pub(super) async fn dlq_discard_impl(&self, job_id: JobId) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM jobs WHERE id = ?1 AND state = 'dead'")
            .bind(job_id.0)
            .execute(&self.write)
            .await
            .map_err(db("discard dead job"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("dead job {job_id}")));
        }
        Ok(())
    }

    pub(super) async fn queue_stats_impl(&self) -> Result<QueueStats, StoreError> {
        let now = now();
        let (pending, due, leased, dead, oldest): (i64, i64, i64, i64, Option<i64>) =
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM jobs WHERE state = 'pending'), \
                    (SELECT COUNT(*) FROM jobs WHERE state = 'pending' AND run_at <= ?1), \
                    (SELECT COUNT(*) FROM jobs WHERE state = 'leased'), \
                    (SELECT COUNT(*) FROM jobs WHERE state = 'dead'), \
                    (SELECT MIN(run_at) FROM jobs WHERE state = 'pending' AND run_at <= ?1)",
            )
            .bind(now)
            .fetch_one(&self.read)
            .await
            .map_err(db("queue stats"))?;
        let count = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(QueueStats {
            pending: count(pending),
            due: count(due),
            leased: count(leased),
            dead: count(dead),
            oldest_due_age_ms: oldest.map(|t| count(now.saturating_sub(t) / 1000)),
        })
    }

    pub(super) async fn prune_impl(
        &self,
        before: DateTime<Utc>,
    ) -> Result<PruneReport, StoreError> {
        const OP: &str = "prune";
        let mut tx = self.begin(OP).await?;
        let jobs = sqlx::query("DELETE FROM jobs WHERE state = 'done' AND finished_at < ?1")
            .bind(ts(before))
            .execute(&mut *tx)
            .await
            .map_err(db(OP))?
            .rows_affected();
        let events = sqlx::query("DELETE FROM events WHERE received_at < ?1")
            .bind(ts(before))
            .execute(&mut *tx)
            .await
            .map_err(db(OP))?
            .rows_affected();
        tx.commit().await.map_err(db(OP))?;
        Ok(PruneReport { jobs, events })
    }
}

/// Appends one caller's events and their jobs inside an open write transaction.
pub(super) async fn append_in(
    conn: &mut SqliteConnection,
    now: i64,
    batch: &[EventWithJobs],
) -> Result<Vec<AppendOutcome>, StoreError> {
    const OP: &str = "append events";
    let mut out = Vec::with_capacity(batch.len());
    for item in batch {
        let e = &item.event;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO events (connection_id, event_key, kind, entity_id, parent_id, source, \
             payload, received_at, stored_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
             ON CONFLICT (connection_id, event_key) DO NOTHING RETURNING id",
        )
        .bind(&e.connection_id)
        .bind(&e.event_key)
        .bind(&e.kind)
        .bind(&e.entity_id)
        .bind(&e.parent_id)
        .bind(e.source.as_str())
        .bind(Json(&e.payload))
        .bind(ts(e.received_at))
        .bind(now)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db(OP))?;
        let mut jobs = Vec::new();
        if let Some(id) = id {
            for job in &item.jobs {
                let mut job = job.clone();
                job.event_ids.push(EventId(id));
                jobs.push(enqueue_in(conn, now, &job).await?);
            }
        }
        out.push(AppendOutcome {
            event_id: id.map(EventId),
            jobs,
        });
    }
    Ok(out)
}
