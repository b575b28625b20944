//! The one error type of the store. Each variant says what failed so that an operator reading a
//! log line (or an admin API response) knows where to look without a debugger.

use super::types::JobId;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names no backend this build supports.
    #[error(
        "unsupported database URL scheme `{scheme}`: use `sqlite://path/to/file.db?mode=rwc` \
         or `postgres://user@host:5432/db`"
    )]
    UnsupportedUrl {
        /// The part before `:` (never the whole URL, which may hold a password).
        scheme: String,
    },

    /// The database could not be reached or opened.
    #[error("cannot open the {backend} database: {source}")]
    Connect {
        /// `sqlite` or `postgres`.
        backend: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },

    /// Applying the schema migrations failed (the store refuses to run on a schema it does not know).
    #[error("migrating the {backend} database failed: {source}")]
    Migrate {
        /// `sqlite` or `postgres`.
        backend: &'static str,
        /// The migrator's error.
        #[source]
        source: sqlx::migrate::MigrateError,
    },

    /// A statement failed; `op` names the store operation that ran it.
    #[error("{op} failed on {backend}: {source}")]
    Database {
        /// `sqlite` or `postgres`.
        backend: &'static str,
        /// The store operation, e.g. `claim jobs`.
        op: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },

    /// The job's lease is not (any longer) held by this worker, so nothing was written: another
    /// worker reclaimed it after the lease expired, or it already finished. The caller must not
    /// treat its work as committed.
    #[error(
        "job {job_id} is not leased by worker `{worker_id}` (it is {now}); nothing was written"
    )]
    LeaseLost {
        /// The job the worker tried to finish or extend.
        job_id: JobId,
        /// The worker that thought it held the lease.
        worker_id: String,
        /// What the job is now, e.g. "leased by `w2`", "done", "missing".
        now: String,
    },

    /// The addressed row does not exist (or is not in the state the operation needs).
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. "dead job 42".
        what: String,
    },

    /// A row with the same identity already exists.
    #[error("{what} already exists")]
    AlreadyExists {
        /// What collided, e.g. "connection `ghl-main`".
        what: String,
    },

    /// The caller passed a value the store cannot accept.
    #[error("invalid {what}: {why}")]
    Invalid {
        /// The argument, e.g. "job flow_id".
        what: &'static str,
        /// What is wrong and what is allowed.
        why: String,
    },

    /// A stored value could not be decoded (hand-edited database or a bug).
    #[error("corrupt value in {table}.{column}: {why}")]
    Corrupt {
        /// Table name.
        table: &'static str,
        /// Column name.
        column: &'static str,
        /// What was wrong with it.
        why: String,
    },
}

impl StoreError {
    /// Builds an `Invalid` error.
    pub(crate) fn invalid(what: &'static str, why: impl Into<String>) -> Self {
        Self::Invalid {
            what,
            why: why.into(),
        }
    }

    /// Builds a `NotFound` error.
    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    /// True for `LeaseLost`, so workers can tell "someone else owns this now" from a real failure.
    pub fn is_lease_lost(&self) -> bool {
        matches!(self, Self::LeaseLost { .. })
    }
}
