-- Job priority: `claim` hands out due jobs by priority (highest first), then oldest `run_at`, so
-- webhook work is never stuck behind a reconcile backfill. Jobs queued before this migration keep
-- running first-come first-served among real-time work (they get the default, 10 = real time).
ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 10;

-- The claim walks this index once per distinct priority (a handful): first to list the priorities
-- present (one seek each), then a range `priority = ? AND run_at <= now` in `run_at` order, stopped
-- at the batch size. So not-yet-due jobs of a high priority (retries, postponed work) are never
-- walked, and a deep backlog costs index seeks, not a sort. `jobs_due` stays for queue stats.
CREATE INDEX jobs_due_priority ON jobs (priority, run_at, id) WHERE state = 'pending';
