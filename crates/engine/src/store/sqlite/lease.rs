//! SQLite: handing jobs out (`claim`) and taking them back unrun (`postpone`). Both run under
//! `BEGIN IMMEDIATE`, so nothing changes between picking a job and leasing it.

use std::cmp::Reverse;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::group_commit::work;
use super::queue::{absorb_pending_sibling, job_cols, job_from_row, lease_lost};
use super::{col, db, now, ts, SqliteStore};
use crate::store::types::*;
use crate::store::{micros, StoreError};

/// Jobs whose lease ran out (a crashed worker), oldest expiry first. `?1` now, `?2` max.
const EXPIRED_SQL: &str = "SELECT priority, run_at, id FROM jobs INDEXED BY jobs_lease_end \
     WHERE state = 'leased' AND lease_until < ?1 ORDER BY lease_until LIMIT ?2";

/// The highest priority of any pending job below `?1` (one seek in `jobs_due_priority`).
const NEXT_PRIORITY_SQL: &str = "SELECT priority FROM jobs INDEXED BY jobs_due_priority \
     WHERE state = 'pending' AND priority < ?1 ORDER BY priority DESC LIMIT 1";

/// Due pending jobs of priority `?1` whose entity has no leased job, oldest `run_at` first: a
/// range walk of `jobs_due_priority` stopped at `?3` rows. `?2` now.
const DUE_SQL: &str = "SELECT d.priority, d.run_at, d.id FROM jobs d INDEXED BY jobs_due_priority \
     WHERE d.state = 'pending' AND d.priority = ?1 AND d.run_at <= ?2 \
       AND NOT EXISTS (SELECT 1 FROM jobs l INDEXED BY jobs_one_leased WHERE l.state = 'leased' \
         AND l.flow_id = d.flow_id AND l.entity_key = d.entity_key) \
     ORDER BY d.run_at, d.id LIMIT ?3";

/// Leases one picked job (`?4`, by id: a rowid lookup whatever the statistics; an `IN` list is
/// not, SQLite may scan instead): a pending one to the worker; an expired one counts a failed
/// attempt and goes to the worker, or to the dead-letter queue at max_attempts. `?1` now, `?2`
/// worker, `?3` lease end.
const LEASE_SQL: &str = concat!(
    "UPDATE jobs SET \
       attempts = attempts + (state = 'leased'), \
       last_error = CASE WHEN state = 'leased' THEN 'the lease of worker `' || lease_owner \
         || '` expired before the job finished' ELSE last_error END, \
       lease_owner = CASE WHEN state = 'leased' AND attempts + 1 >= max_attempts \
         THEN lease_owner ELSE ?2 END, \
       lease_until = CASE WHEN state = 'leased' AND attempts + 1 >= max_attempts \
         THEN NULL ELSE ?3 END, \
       finished_at = CASE WHEN state = 'leased' AND attempts + 1 >= max_attempts \
         THEN ?1 ELSE NULL END, \
       started_at = CASE WHEN state = 'leased' AND attempts + 1 >= max_attempts \
         THEN started_at ELSE ?1 END, \
       state = CASE WHEN state = 'leased' AND attempts + 1 >= max_attempts \
         THEN 'dead' ELSE 'leased' END, \
       updated_at = ?1 \
     WHERE id = ?4 \
     RETURNING ",
    job_cols!()
);

/// A claim candidate: `(priority, run_at, id)` as stored (the order of the SELECTs above).
type Candidate = (i64, i64, i64);

impl SqliteStore {
    /// Picks and leases in one `BEGIN IMMEDIATE` transaction (no other writer can change the
    /// queue in between), with a few single-table statements instead of one big one so that no
    /// plan depends on the query planner's statistics: each names its index (`INDEXED BY`).
    /// Candidates are the expired leases (up to `max`) and, walking priorities from the highest
    /// down, the due jobs of each priority until `max` are found: every step is an index seek or
    /// a walk stopped at `max` rows, so not-yet-due jobs are never visited and a deep backlog
    /// costs nothing extra. The best `max` of them by (priority desc, run_at, id) are leased.
    pub(super) async fn claim_impl(
        &self,
        worker: &str,
        max: u32,
        ttl: Duration,
    ) -> Result<Vec<Job>, StoreError> {
        const OP: &str = "claim jobs";
        if max == 0 {
            return Ok(Vec::new());
        }
        let limit = i64::from(max);
        let worker = worker.to_string();
        let work = work(move |tx, now| {
            let worker = worker.clone();
            Box::pin(async move {
                let mut picked: Vec<Candidate> = sqlx::query_as(EXPIRED_SQL)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db(OP))?;
                let mut due = 0usize;
                // Above every i16, so the first probe finds the highest priority.
                let mut below = i64::from(i16::MAX) + 1;
                while due < max as usize {
                    let priority: Option<i64> = sqlx::query_scalar(NEXT_PRIORITY_SQL)
                        .bind(below)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db(OP))?;
                    let Some(priority) = priority else { break };
                    let rows: Vec<Candidate> = sqlx::query_as(DUE_SQL)
                        .bind(priority)
                        .bind(now)
                        .bind(limit - due as i64)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db(OP))?;
                    due += rows.len();
                    picked.extend(rows);
                    below = priority;
                }
                picked.sort_by_key(|&(priority, run_at, id)| (Reverse(priority), run_at, id));
                picked.truncate(max as usize);
                if picked.is_empty() {
                    return Ok(Vec::new());
                }
                let until = now.saturating_add(micros(ttl));
                let mut rows = Vec::with_capacity(picked.len());
                for &(_, _, id) in &picked {
                    let row = sqlx::query(LEASE_SQL)
                        .bind(now)
                        .bind(&worker)
                        .bind(until)
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db(OP))?;
                    rows.extend(row);
                }
                Ok(rows)
            })
        });
        let rows = self.group.write(&self.write, work).await?;
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
        let now = now();
        let row = sqlx::query(
            "SELECT flow_id, entity_key, event_ids FROM jobs \
             WHERE id = ?1 AND state = 'leased' AND lease_owner = ?2",
        )
        .bind(job_id.0)
        .bind(worker)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db(OP))?;
        let Some(row) = row else {
            return Err(lease_lost(&mut tx, job_id, worker).await);
        };
        let flow_id: String = col(&row, "jobs", "flow_id")?;
        let entity_key: String = col(&row, "jobs", "entity_key")?;
        let ids: Json<Vec<EventId>> = col(&row, "jobs", "event_ids")?;
        let merged_run_at =
            absorb_pending_sibling(&mut tx, job_id.0, &flow_id, &entity_key, &ids.0).await?;
        let run_at = merged_run_at.map_or(ts(until), |t| t.min(ts(until)));
        sqlx::query(
            "UPDATE jobs SET state = 'pending', run_at = ?2, lease_owner = NULL, \
             lease_until = NULL, updated_at = ?3 WHERE id = ?1",
        )
        .bind(job_id.0)
        .bind(run_at)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db(OP))?;
        tx.commit().await.map_err(db(OP))?;
        super::from_ts(run_at, "jobs", "run_at")
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{open, NewJob, Priority};

    /// The claim must stay index-driven whatever statistics the planner has: a plan that scans
    /// `jobs` or sorts the due backlog would make every claim cost O(queue) once a backfill
    /// queues thousands of jobs. Checked without statistics and with (misleading) ones from a
    /// tiny table, which is what tempts the planner into scans.
    #[tokio::test]
    async fn claim_plans_use_their_indexes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("plan.db").display());
        let store = open(&url).await.expect("open");
        for i in 0..50 {
            let mut j = NewJob::new("f", format!("e{i}"));
            j.priority = [Priority::BACKFILL, Priority::REALTIME][i % 2];
            store.enqueue(j).await.expect("enqueue");
        }
        store.close().await;
        let pool = sqlx::SqlitePool::connect(&url).await.expect("connect");
        for analyzed in [false, true] {
            if analyzed {
                sqlx::query("ANALYZE")
                    .execute(&pool)
                    .await
                    .expect("analyze");
            }
            let cases: [(&str, usize, &[&str]); 4] = [
                (super::EXPIRED_SQL, 2, &["SEARCH jobs USING INDEX jobs_lease_end (lease_until<?)"]),
                (
                    super::NEXT_PRIORITY_SQL,
                    1,
                    &["SEARCH jobs USING COVERING INDEX jobs_due_priority (priority<?)"],
                ),
                (
                    super::DUE_SQL,
                    3,
                    &[
                        "SEARCH d USING INDEX jobs_due_priority (priority=? AND run_at<?)",
                        "SEARCH l USING COVERING INDEX jobs_one_leased (flow_id=? AND entity_key=?)",
                    ],
                ),
                (
                    super::LEASE_SQL,
                    4,
                    &["SEARCH jobs USING INTEGER PRIMARY KEY (rowid=?)"],
                ),
            ];
            for (sql, params, expected) in cases {
                let mut q = sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(
                    format!("EXPLAIN QUERY PLAN {sql}"),
                ));
                for _ in 0..params {
                    q = q.bind(1_i64);
                }
                let plan = q.fetch_all(&pool).await.expect("explain");
                let lines: Vec<&str> = plan.iter().map(|r| r.3.as_str()).collect();
                let text = lines.join("\n");
                for want in expected {
                    assert!(
                        lines.contains(want),
                        "analyzed={analyzed}: `{want}` in the plan of {sql}:\n{text}"
                    );
                }
                assert!(
                    !lines.iter().any(|l| l.starts_with("SCAN jobs")
                        || l.starts_with("SCAN d")
                        || l.starts_with("SCAN l")
                        || l.contains("TEMP B-TREE")),
                    "analyzed={analyzed}: no scan or sort in the plan of {sql}:\n{text}"
                );
            }
        }
        pool.close().await;
    }
}
