-- The admin API lists recent runs (jobs, done ones included until `prune` removes them) with
-- when their last attempt started, and keeps per-flow enable/disable overrides.

-- When the job's current (or last) attempt was leased; NULL until first claimed. Existing rows
-- keep NULL: their start was never recorded. (A nullable column without default rewrites nothing.)
ALTER TABLE jobs ADD COLUMN started_at TIMESTAMPTZ;

-- Runs newest first (the admin API's `/runs`).
CREATE INDEX jobs_recent ON jobs (updated_at, id);

-- Flow enable/disable overrides set from the admin API; a flow without a row runs as its file
-- says (`enabled:`).
CREATE TABLE flow_state (
    flow_id     TEXT PRIMARY KEY,
    enabled     BOOLEAN NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
