-- ghl-bridge store, PostgreSQL. Same tables as the SQLite schema, with native types.

-- Registered app connections. `secret` is an opaque blob the engine encrypted before storing.
CREATE TABLE connections (
    id          TEXT PRIMARY KEY,
    app         TEXT NOT NULL,
    name        TEXT NOT NULL,
    settings    JSONB NOT NULL,
    secret      BYTEA,
    status      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- Ingress log. (connection_id, event_key) is the dedup key of at-least-once deliveries.
CREATE TABLE events (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection_id TEXT NOT NULL,
    event_key     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    entity_id     TEXT NOT NULL,
    parent_id     TEXT,
    source        TEXT NOT NULL CHECK (source IN ('webhook', 'poll', 'reconcile', 'manual')),
    payload       JSONB NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL,
    stored_at     TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX events_dedup ON events (connection_id, event_key);
CREATE INDEX events_received ON events (received_at);

-- The job queue. Per (flow_id, entity_key): at most one pending job (enqueues coalesce into it)
-- and at most one leased job (per-entity ordering); both enforced by partial unique indexes.
CREATE TABLE jobs (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flow_id       TEXT NOT NULL,
    entity_key    TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'leased', 'done', 'dead')),
    payload       JSONB NOT NULL,
    event_ids     BIGINT[] NOT NULL,
    run_at        TIMESTAMPTZ NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    max_attempts  BIGINT NOT NULL,
    coalesced     BIGINT NOT NULL DEFAULT 0,
    lease_owner   TEXT,
    lease_until   TIMESTAMPTZ,
    last_error    TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ
);
CREATE UNIQUE INDEX jobs_one_pending ON jobs (flow_id, entity_key) WHERE state = 'pending';
CREATE UNIQUE INDEX jobs_one_leased ON jobs (flow_id, entity_key) WHERE state = 'leased';
CREATE INDEX jobs_due ON jobs (run_at, id) WHERE state = 'pending';
CREATE INDEX jobs_lease_end ON jobs (lease_until) WHERE state = 'leased';
CREATE INDEX jobs_dead ON jobs (finished_at) WHERE state = 'dead';
CREATE INDEX jobs_done ON jobs (finished_at) WHERE state = 'done';

-- One real-world thing with records in several apps.
CREATE TABLE identities (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

-- External records of identities: one external record belongs to exactly one identity.
CREATE TABLE links (
    identity_id   BIGINT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    connection_id TEXT NOT NULL,
    kind          TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (connection_id, kind, external_id)
);
CREATE INDEX links_identity ON links (identity_id);

-- Normalised match keys (`email:…`, `phone:…`, `ext:…`): one key belongs to one identity.
CREATE TABLE identity_keys (
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL,
    identity_id BIGINT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX identity_keys_identity ON identity_keys (identity_id);

-- Last synced state per identity and connection.
CREATE TABLE snapshots (
    identity_id   BIGINT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    connection_id TEXT NOT NULL,
    fields        JSONB NOT NULL,
    hash          TEXT NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (identity_id, connection_id)
);

-- Poll positions.
CREATE TABLE cursors (
    connection_id TEXT NOT NULL,
    stream        TEXT NOT NULL,
    value         TEXT NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (connection_id, stream)
);

-- Every API call the engine made (paths without query strings; never secrets).
CREATE TABLE audit_calls (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            TIMESTAMPTZ NOT NULL,
    connection_id TEXT NOT NULL,
    app           TEXT NOT NULL,
    method        TEXT NOT NULL,
    path          TEXT NOT NULL,
    status        INTEGER,
    latency_ms    BIGINT NOT NULL,
    job_id        BIGINT
);
CREATE INDEX audit_calls_at ON audit_calls (at);
CREATE INDEX audit_calls_connection ON audit_calls (connection_id, at);
CREATE INDEX audit_calls_job ON audit_calls (job_id);

-- Every record the engine created, updated or deleted, field by field.
CREATE TABLE audit_changes (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            TIMESTAMPTZ NOT NULL,
    flow_id       TEXT NOT NULL,
    identity_id   BIGINT,
    connection_id TEXT NOT NULL,
    kind          TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    op            TEXT NOT NULL CHECK (op IN ('create', 'update', 'delete')),
    diff          JSONB NOT NULL,
    job_id        BIGINT
);
CREATE INDEX audit_changes_at ON audit_changes (at);
CREATE INDEX audit_changes_connection ON audit_changes (connection_id, at);
CREATE INDEX audit_changes_flow ON audit_changes (flow_id, at);
CREATE INDEX audit_changes_identity ON audit_changes (identity_id, at);
CREATE INDEX audit_changes_job ON audit_changes (job_id);

-- Named leader leases for schedulers.
CREATE TABLE leader_leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    lease_until TIMESTAMPTZ NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL
);
