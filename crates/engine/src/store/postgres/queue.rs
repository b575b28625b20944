//! PostgreSQL events and job queue.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::PgConnection;

use super::{col, db, unsigned, PostgresStore};
use crate::store::types::*;
use crate::store::{describe_job_state, micros, StoreError};

/// Columns of a job row (qualified, so they also work beside a joined CTE).
macro_rules! job_cols {
    () => {
        "jobs.id, jobs.flow_id, jobs.entity_key, jobs.state, jobs.payload, jobs.event_ids, \
         jobs.run_at, jobs.priority, jobs.attempts, jobs.max_attempts, jobs.coalesced, \
         jobs.lease_owner, jobs.lease_until, jobs.last_error, jobs.created_at, jobs.updated_at, \
         jobs.finished_at"
    };
}
pub(super) use job_cols;

pub(super) fn job_from_row(row: &PgRow) -> Result<Job, StoreError> {
    const T: &str = "jobs";
    let state: String = col(row, T, "state")?;
    let payload: Json<Value> = col(row, T, "payload")?;
    let event_ids: Vec<i64> = col(row, T, "event_ids")?;
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
        event_ids: event_ids.into_iter().map(EventId).collect(),
        run_at: col(row, T, "run_at")?,
        priority: Priority(col(row, T, "priority")?),
        attempts: unsigned(col(row, T, "attempts")?, T, "attempts")?,
        max_attempts: unsigned(col(row, T, "max_attempts")?, T, "max_attempts")?,
        coalesced: unsigned(col(row, T, "coalesced")?, T, "coalesced")?,
        lease_owner: col(row, T, "lease_owner")?,
        lease_until: col(row, T, "lease_until")?,
        last_error: col(row, T, "last_error")?,
        created_at: col(row, T, "created_at")?,
        updated_at: col(row, T, "updated_at")?,
        finished_at: col(row, T, "finished_at")?,
    })
}

pub(super) fn event_from_row(row: &PgRow) -> Result<Event, StoreError> {
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
            received_at: col(row, T, "received_at")?,
        },
    })
}

fn ids(list: &[EventId]) -> Vec<i64> {
    list.iter().map(|e| e.0).collect()
}

/// Enqueues (or coalesces into the pending job of the same entity) inside the caller's
/// transaction. `ON CONFLICT` on the partial unique index makes this atomic against concurrent
/// enqueuers and claimers.
async fn enqueue_in(conn: &mut PgConnection, job: &NewJob) -> Result<Enqueued, StoreError> {
    const OP: &str = "enqueue job";
    job.validate()?;
    let (id, coalesced): (i64, i64) = sqlx::query_as(
        "INSERT INTO jobs AS j (flow_id, entity_key, state, payload, event_ids, run_at, attempts, \
           max_attempts, coalesced, created_at, updated_at, priority) \
         VALUES ($1, $2, 'pending', $3, $4, COALESCE($5, now()), 0, $6, 0, now(), now(), $8) \
         ON CONFLICT (flow_id, entity_key) WHERE state = 'pending' DO UPDATE SET \
           run_at = LEAST(j.run_at, EXCLUDED.run_at), \
           priority = GREATEST(j.priority, EXCLUDED.priority), \
           coalesced = j.coalesced + 1, \
           event_ids = ARRAY(SELECT e FROM (SELECT DISTINCT unnest(j.event_ids || EXCLUDED.event_ids) AS e \
             ORDER BY e DESC LIMIT $7) newest ORDER BY e), \
           payload = EXCLUDED.payload, \
           updated_at = now() \
         RETURNING id, coalesced",
    )
    .bind(&job.flow_id)
    .bind(&job.entity_key)
    .bind(Json(&job.payload))
    .bind(ids(&merge_event_ids(&[], &job.event_ids)))
    .bind(job.run_at)
    .bind(job.max_attempts_or_default())
    .bind(i64::try_from(MAX_EVENT_IDS_PER_JOB).unwrap_or(i64::MAX))
    .bind(job.priority.0)
    .fetch_one(&mut *conn)
    .await
    .map_err(db(OP))?;
    Ok(Enqueued {
        job_id: JobId(id),
        coalesced: coalesced > 0,
    })
}

/// Builds the `LeaseLost` error for a job, saying what became of it.
pub(super) async fn lease_lost(
    conn: &mut PgConnection,
    job_id: JobId,
    worker_id: &str,
) -> StoreError {
    let state = sqlx::query_as::<_, (String, Option<String>)>(
        "SELECT state, lease_owner FROM jobs WHERE id = $1",
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

/// Folds the pending job of the same entity into `job_id`, which is about to become pending
/// (only one pending job per entity may exist); the merged job keeps the higher priority. A
/// sibling inserted concurrently after this runs makes the caller's update fail with a unique
/// violation, and the caller's retry absorbs it. Returns the absorbed job's `run_at`, for
/// callers that must not delay its work.
pub(super) async fn absorb_pending_sibling(
    conn: &mut PgConnection,
    job_id: i64,
    flow_id: &str,
    entity_key: &str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    const OP: &str = "merge pending job";
    type Sibling = (Json<Value>, Vec<i64>, i64, i16, DateTime<Utc>);
    let sibling: Option<Sibling> = sqlx::query_as(
        "DELETE FROM jobs WHERE flow_id = $1 AND entity_key = $2 AND state = 'pending' \
         RETURNING payload, event_ids, coalesced, priority, run_at",
    )
    .bind(flow_id)
    .bind(entity_key)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db(OP))?;
    let Some((payload, sibling_ids, coalesced, priority, run_at)) = sibling else {
        return Ok(None);
    };
    let own: Vec<i64> = sqlx::query_scalar("SELECT event_ids FROM jobs WHERE id = $1")
        .bind(job_id)
        .fetch_one(&mut *conn)
        .await
        .map_err(db(OP))?;
    let own: Vec<EventId> = own.into_iter().map(EventId).collect();
    let theirs: Vec<EventId> = sibling_ids.into_iter().map(EventId).collect();
    sqlx::query(
        "UPDATE jobs SET payload = $2, event_ids = $3, coalesced = coalesced + $4 + 1, \
         priority = GREATEST(priority, $5) WHERE id = $1",
    )
    .bind(job_id)
    .bind(payload)
    .bind(ids(&merge_event_ids(&own, &theirs)))
    .bind(coalesced)
    .bind(priority)
    .execute(&mut *conn)
    .await
    .map_err(db(OP))?;
    Ok(Some(run_at))
}

impl PostgresStore {
    pub(super) async fn append_impl(
        &self,
        batch: &[EventWithJobs],
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        const OP: &str = "append events";
        let mut tx = self.begin(OP).await?;
        let mut out = Vec::with_capacity(batch.len());
        for item in batch {
            let e = &item.event;
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO events (connection_id, event_key, kind, entity_id, parent_id, source, \
                 payload, received_at, stored_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now()) \
                 ON CONFLICT (connection_id, event_key) DO NOTHING RETURNING id",
            )
            .bind(&e.connection_id)
            .bind(&e.event_key)
            .bind(&e.kind)
            .bind(&e.entity_id)
            .bind(&e.parent_id)
            .bind(e.source.as_str())
            .bind(Json(&e.payload))
            .bind(e.received_at)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db(OP))?;
            let mut jobs = Vec::new();
            if let Some(id) = id {
                // A fixed lock order (by entity) keeps concurrent batches from deadlocking;
                // results are reported in the caller's order.
                let mut order: Vec<usize> = (0..item.jobs.len()).collect();
                order.sort_by(|&a, &b| {
                    let (a, b) = (&item.jobs[a], &item.jobs[b]);
                    (&a.flow_id, &a.entity_key).cmp(&(&b.flow_id, &b.entity_key))
                });
                let mut results = vec![None; item.jobs.len()];
                for i in order {
                    let mut job = item.jobs[i].clone();
                    job.event_ids.push(EventId(id));
                    results[i] = Some(enqueue_in(&mut tx, &job).await?);
                }
                jobs = results.into_iter().flatten().collect();
            }
            out.push(AppendOutcome {
                event_id: id.map(EventId),
                jobs,
            });
        }
        tx.commit().await.map_err(db(OP))?;
        Ok(out)
    }

    pub(super) async fn events_impl(&self, list: &[EventId]) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, connection_id, event_key, kind, entity_id, parent_id, source, payload, \
             received_at FROM events WHERE id = ANY($1) ORDER BY id",
        )
        .bind(ids(list))
        .fetch_all(&self.pool)
        .await
        .map_err(db("read events"))?;
        rows.iter().map(event_from_row).collect()
    }

    pub(super) async fn enqueue_impl(&self, job: &NewJob) -> Result<Enqueued, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db("enqueue job"))?;
        enqueue_in(&mut conn, job).await
    }

    pub(super) async fn extend_lease_impl(
        &self,
        job_id: JobId,
        worker: &str,
        ttl: Duration,
    ) -> Result<DateTime<Utc>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db("extend lease"))?;
        let until: Option<DateTime<Utc>> = sqlx::query_scalar(
            "UPDATE jobs SET lease_until = now() + $3 * interval '1 microsecond', updated_at = now() \
             WHERE id = $1 AND state = 'leased' AND lease_owner = $2 RETURNING lease_until",
        )
        .bind(job_id.0)
        .bind(worker)
        .bind(micros(ttl))
        .fetch_optional(&mut *conn)
        .await
        .map_err(db("extend lease"))?;
        match until {
            Some(t) => Ok(t),
            None => Err(lease_lost(&mut conn, job_id, worker).await),
        }
    }

    pub(super) async fn complete_impl(
        &self,
        job_id: JobId,
        worker: &str,
        commit: &Commit,
    ) -> Result<(), StoreError> {
        const OP: &str = "complete job";
        let mut tx = self.begin(OP).await?;
        let done = sqlx::query(
            "UPDATE jobs SET state = 'done', lease_until = NULL, finished_at = now(), updated_at = now() \
             WHERE id = $1 AND state = 'leased' AND lease_owner = $2",
        )
        .bind(job_id.0)
        .bind(worker)
        .execute(&mut *tx)
        .await
        .map_err(db(OP))?;
        if done.rows_affected() == 0 {
            return Err(lease_lost(&mut tx, job_id, worker).await);
        }
        super::identity::apply_commit(&mut tx, commit).await?;
        if let Some(name) = &commit.release_lease {
            sqlx::query("DELETE FROM leader_leases WHERE name = $1 AND holder = $2")
                .bind(name)
                .bind(worker)
                .execute(&mut *tx)
                .await
                .map_err(db(OP))?;
        }
        tx.commit().await.map_err(db(OP))
    }

    pub(super) async fn fail_impl(
        &self,
        job_id: JobId,
        worker: &str,
        error: &str,
        retry_after: Duration,
    ) -> Result<FailOutcome, StoreError> {
        const OP: &str = "fail job";
        let mut tx = self.begin(OP).await?;
        let row: Option<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT flow_id, entity_key, attempts, max_attempts FROM jobs \
             WHERE id = $1 AND state = 'leased' AND lease_owner = $2 FOR UPDATE",
        )
        .bind(job_id.0)
        .bind(worker)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db(OP))?;
        let Some((flow_id, entity_key, attempts, max)) = row else {
            return Err(lease_lost(&mut tx, job_id, worker).await);
        };
        let attempts = attempts + 1;
        let attempts_u32: u32 = unsigned(attempts, "jobs", "attempts")?;
        let outcome = if attempts >= max {
            sqlx::query(
                "UPDATE jobs SET state = 'dead', attempts = $2, last_error = $3, lease_until = NULL, \
                 finished_at = now(), updated_at = now() WHERE id = $1",
            )
            .bind(job_id.0)
            .bind(attempts)
            .bind(error)
            .execute(&mut *tx)
            .await
            .map_err(db(OP))?;
            FailOutcome::Dead {
                attempts: attempts_u32,
            }
        } else {
            absorb_pending_sibling(&mut tx, job_id.0, &flow_id, &entity_key).await?;
            let run_at: DateTime<Utc> = sqlx::query_scalar(
                "UPDATE jobs SET state = 'pending', attempts = $2, last_error = $3, \
                 run_at = now() + $4 * interval '1 microsecond', lease_owner = NULL, \
                 lease_until = NULL, updated_at = now() WHERE id = $1 RETURNING run_at",
            )
            .bind(job_id.0)
            .bind(attempts)
            .bind(error)
            .bind(micros(retry_after))
            .fetch_one(&mut *tx)
            .await
            .map_err(db(OP))?;
            FailOutcome::Retry {
                attempts: attempts_u32,
                run_at,
            }
        };
        tx.commit().await.map_err(db(OP))?;
        Ok(outcome)
    }

    pub(super) async fn job_impl(&self, job_id: JobId) -> Result<Option<Job>, StoreError> {
        let row = sqlx::query(concat!("SELECT ", job_cols!(), " FROM jobs WHERE id = $1"))
            .bind(job_id.0)
            .fetch_optional(&self.pool)
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
            " FROM jobs WHERE state = 'dead' AND ($1::text IS NULL OR flow_id = $1) \
              AND ($2::text IS NULL OR entity_key = $2) \
              ORDER BY finished_at DESC, id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(&filter.flow_id)
        .bind(&filter.entity_key)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await
        .map_err(db("list dead jobs"))?;
        rows.iter().map(job_from_row).collect()
    }

    pub(super) async fn dlq_replay_impl(&self, job_id: JobId) -> Result<JobId, StoreError> {
        const OP: &str = "replay dead job";
        let mut tx = self.begin(OP).await?;
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT flow_id, entity_key FROM jobs WHERE id = $1 AND state = 'dead' FOR UPDATE",
        )
        .bind(job_id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db(OP))?;
        let Some((flow_id, entity_key)) = row else {
            return Err(StoreError::not_found(format!("dead job {job_id}")));
        };
        absorb_pending_sibling(&mut tx, job_id.0, &flow_id, &entity_key).await?;
        sqlx::query(
            "UPDATE jobs SET state = 'pending', attempts = 0, last_error = NULL, run_at = now(), \
             lease_owner = NULL, lease_until = NULL, finished_at = NULL, updated_at = now() \
             WHERE id = $1",
        )
        .bind(job_id.0)
        .execute(&mut *tx)
        .await
        .map_err(db(OP))?;
        tx.commit().await.map_err(db(OP))?;
        Ok(job_id)
    }

    pub(super) async fn dlq_discard_impl(&self, job_id: JobId) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM jobs WHERE id = $1 AND state = 'dead'")
            .bind(job_id.0)
            .execute(&self.pool)
            .await
            .map_err(db("discard dead job"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("dead job {job_id}")));
        }
        Ok(())
    }

    pub(super) async fn queue_stats_impl(&self) -> Result<QueueStats, StoreError> {
        let (pending, due, leased, dead, oldest_ms): (i64, i64, i64, i64, Option<f64>) =
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM jobs WHERE state = 'pending'), \
                    (SELECT COUNT(*) FROM jobs WHERE state = 'pending' AND run_at <= now()), \
                    (SELECT COUNT(*) FROM jobs WHERE state = 'leased'), \
                    (SELECT COUNT(*) FROM jobs WHERE state = 'dead'), \
                    (SELECT EXTRACT(EPOCH FROM now() - MIN(run_at))::float8 * 1000 \
                       FROM jobs WHERE state = 'pending' AND run_at <= now())",
            )
            .fetch_one(&self.pool)
            .await
            .map_err(db("queue stats"))?;
        let count = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(QueueStats {
            pending: count(pending),
            due: count(due),
            leased: count(leased),
            dead: count(dead),
            // Float to integer milliseconds: `as` saturates, and negatives cannot occur (run_at <= now).
            oldest_due_age_ms: oldest_ms.map(|ms| ms.max(0.0) as u64),
        })
    }

    pub(super) async fn prune_impl(
        &self,
        before: DateTime<Utc>,
    ) -> Result<PruneReport, StoreError> {
        const OP: &str = "prune";
        let mut tx = self.begin(OP).await?;
        let jobs = sqlx::query("DELETE FROM jobs WHERE state = 'done' AND finished_at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await
            .map_err(db(OP))?
            .rows_affected();
        let events = sqlx::query("DELETE FROM events WHERE received_at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await
            .map_err(db(OP))?
            .rows_affected();
        tx.commit().await.map_err(db(OP))?;
        Ok(PruneReport { jobs, events })
    }
}
