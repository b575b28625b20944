//! PostgreSQL: handing jobs out (`claim`) and taking them back unrun (`postpone`).

use std::cmp::Reverse;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::queue::{absorb_pending_sibling, job_cols, job_from_row, lease_lost};
use super::{db, PostgresStore};
use crate::store::types::*;
use crate::store::{micros, StoreError};

/// The claim, as one statement: due pending jobs whose entity has no leased job, plus jobs whose
/// lease expired (counted as a failed attempt; dead-lettered at max_attempts), highest priority
/// first, then oldest run_at. `$1` worker, `$2` max, `$3` lease TTL in microseconds.
///
/// SKIP LOCKED lets claimers in many processes take disjoint jobs without waiting on each other.
/// Every step is an index seek or a walk that stops at `max` rows: `prios` lists the distinct
/// priorities of pending jobs by skipping through `jobs_due_priority` (one seek per priority);
/// for each, the due range `priority = p AND run_at <= now()` of the same index is walked in
/// run_at order up to `max` (LATERAL). Not-yet-due jobs are never visited, and only
/// (priorities + 1) × max candidates are sorted, however deep the backlog. Candidates locked but
/// dropped by the final LIMIT are released when the statement ends.
const CLAIM_SQL: &str = concat!(
    "WITH RECURSIVE prios AS ( \
       (SELECT j.priority AS p FROM jobs j WHERE j.state = 'pending' \
          ORDER BY j.priority DESC LIMIT 1) \
       UNION ALL \
       SELECT (SELECT j.priority FROM jobs j WHERE j.state = 'pending' AND j.priority < prios.p \
          ORDER BY j.priority DESC LIMIT 1) \
       FROM prios WHERE prios.p IS NOT NULL), \
     expired AS ( \
       SELECT j.id, j.priority, j.run_at FROM jobs j \
       WHERE j.state = 'leased' AND j.lease_until < now() \
       ORDER BY j.lease_until LIMIT $2 FOR UPDATE SKIP LOCKED), \
     due AS ( \
       SELECT d.id, d.priority, d.run_at FROM prios CROSS JOIN LATERAL ( \
         SELECT j.id, j.priority, j.run_at FROM jobs j \
         WHERE j.state = 'pending' AND j.priority = prios.p AND j.run_at <= now() \
           AND NOT EXISTS (SELECT 1 FROM jobs l WHERE l.state = 'leased' \
             AND l.flow_id = j.flow_id AND l.entity_key = j.entity_key) \
         ORDER BY j.run_at, j.id LIMIT $2 FOR UPDATE SKIP LOCKED) d), \
     picked AS ( \
       SELECT c.id FROM (SELECT * FROM expired UNION ALL SELECT * FROM due) c \
       ORDER BY c.priority DESC, c.run_at, c.id LIMIT $2) \
     UPDATE jobs SET \
       attempts = jobs.attempts + CASE WHEN jobs.state = 'leased' THEN 1 ELSE 0 END, \
       last_error = CASE WHEN jobs.state = 'leased' THEN 'the lease of worker `' \
         || jobs.lease_owner || '` expired before the job finished' ELSE jobs.last_error END, \
       lease_owner = CASE WHEN jobs.state = 'leased' AND jobs.attempts + 1 >= jobs.max_attempts \
         THEN jobs.lease_owner ELSE $1 END, \
       lease_until = CASE WHEN jobs.state = 'leased' AND jobs.attempts + 1 >= jobs.max_attempts \
         THEN NULL ELSE now() + $3 * interval '1 microsecond' END, \
       finished_at = CASE WHEN jobs.state = 'leased' AND jobs.attempts + 1 >= jobs.max_attempts \
         THEN now() ELSE NULL END, \
       started_at = CASE WHEN jobs.state = 'leased' AND jobs.attempts + 1 >= jobs.max_attempts \
         THEN jobs.started_at ELSE now() END, \
       state = CASE WHEN jobs.state = 'leased' AND jobs.attempts + 1 >= jobs.max_attempts \
         THEN 'dead' ELSE 'leased' END, \
       updated_at = now() \
     FROM picked WHERE jobs.id = picked.id \
     RETURNING ",
    job_cols!()
);

impl PostgresStore {
    pub(super) async fn claim_impl(
        &self,
        worker: &str,
        max: u32,
        ttl: Duration,
    ) -> Result<Vec<Job>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(CLAIM_SQL)
            .bind(worker)
            .bind(i64::from(max))
            .bind(micros(ttl))
            .fetch_all(&self.pool)
            .await
            .map_err(db("claim jobs"))?;
        let mut jobs = rows
            .iter()
            .map(job_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        jobs.retain(|j| j.state == JobState::Leased);
        jobs.sort_by_key(|j| (Reverse(j.priority), j.run_at, j.id));
        Ok(jobs)
    }

    pub(super) async fn postpone_impl(
        &self,
        job_id: JobId,
        worker: &str,
        until: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, StoreError> {
        const OP: &str = "postpone job";
        let mut tx = self.begin(OP).await?;
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT flow_id, entity_key FROM jobs \
             WHERE id = $1 AND state = 'leased' AND lease_owner = $2 FOR UPDATE",
        )
        .bind(job_id.0)
        .bind(worker)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db(OP))?;
        let Some((flow_id, entity_key)) = row else {
            return Err(lease_lost(&mut tx, job_id, worker).await);
        };
        let merged_run_at =
            absorb_pending_sibling(&mut tx, job_id.0, &flow_id, &entity_key).await?;
        let run_at = merged_run_at.map_or(until, |t| t.min(until));
        let run_at: DateTime<Utc> = sqlx::query_scalar(
            "UPDATE jobs SET state = 'pending', run_at = $2, lease_owner = NULL, \
             lease_until = NULL, updated_at = now() WHERE id = $1 RETURNING run_at",
        )
        .bind(job_id.0)
        .bind(run_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(db(OP))?;
        tx.commit().await.map_err(db(OP))?;
        Ok(run_at)
    }
}
