//! What the admin API lists: recent events, recent runs (jobs, finished ones included until
//! `prune` removes them) and per-flow enable/disable overrides.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{EventSource, JobId, JobState, Page};

/// Which events to list (newest first). Every field narrows; `None` does not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFilter {
    /// Only events of this connection.
    pub connection_id: Option<String>,
    /// Only events about this kind of record (`contact`, `opportunity`…).
    pub kind: Option<String>,
    /// Only events from this source (webhook, poll, reconcile, manual).
    pub source: Option<EventSource>,
    /// Only events received at or after this time.
    pub since: Option<DateTime<Utc>>,
    pub page: Page,
}

/// Which runs to list (most recently changed first).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFilter {
    /// Only runs of this flow.
    pub flow_id: Option<String>,
    /// Only runs in this state.
    pub state: Option<JobState>,
    /// Only runs changed (queued, started, retried or finished) at or after this time.
    pub since: Option<DateTime<Utc>>,
    pub page: Page,
}

/// One run: a job as an operator wants to see it, without its payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub job_id: JobId,
    pub flow_id: String,
    pub entity_key: String,
    pub state: JobState,
    /// Failed attempts so far.
    pub attempts: u32,
    pub max_attempts: u32,
    /// Why the last attempt failed, if one did.
    pub last_error: Option<String>,
    /// Webhooks merged into this run.
    pub coalesced: u32,
    pub created_at: DateTime<Utc>,
    /// When the current or last attempt was leased; `None` while it never ran.
    pub started_at: Option<DateTime<Utc>>,
    /// When it was done or dead-lettered.
    pub finished_at: Option<DateTime<Utc>>,
    /// `finished_at - started_at` in milliseconds, for finished runs that recorded a start.
    pub duration_ms: Option<i64>,
    pub updated_at: DateTime<Utc>,
}

impl Run {
    /// Fills `duration_ms` from the two times.
    pub(crate) fn with_duration(mut self) -> Run {
        self.duration_ms = match (self.started_at, self.finished_at) {
            (Some(s), Some(f)) if f >= s => Some((f - s).num_milliseconds()),
            _ => None,
        };
        self
    }
}

/// A flow's enable/disable override, set from the admin API; it wins over the flow file's
/// `enabled:` until cleared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowState {
    pub flow_id: String,
    pub enabled: bool,
    pub updated_at: DateTime<Utc>,
}
