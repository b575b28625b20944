//! Values the store reads and writes. They derive serde because the admin API shows them as JSON;
//! the one secret (a connection's encrypted blob) is never serialized or printed.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::StoreError;

mod audit;
mod connection;
mod identity;
mod listing;

pub use audit::*;
pub use connection::*;
pub use identity::*;
pub use listing::*;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// Row id of a stored event; increases with arrival order.
    EventId
);
id_type!(
    /// Row id of a job.
    JobId
);
id_type!(
    /// One real-world thing (a person, a task…) that has records in several apps.
    IdentityId
);

/// Where an event came from; kept so the dashboard can tell pushes from pulls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    /// Pushed by the app (verified webhook).
    Webhook,
    /// Found by an incremental poll.
    Poll,
    /// Found by a full-scan reconcile.
    Reconcile,
    /// Triggered by a person (CLI, dashboard).
    Manual,
}

impl EventSource {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Poll => "poll",
            Self::Reconcile => "reconcile",
            Self::Manual => "manual",
        }
    }

    /// Parses the stored text.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "webhook" => Self::Webhook,
            "poll" => Self::Poll,
            "reconcile" => Self::Reconcile,
            "manual" => Self::Manual,
            _ => return None,
        })
    }
}

/// An event to store. `(connection_id, event_key)` is its dedup key: webhooks are delivered at
/// least once, so the same key arriving again must change nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// The connection it arrived on.
    pub connection_id: String,
    /// Stable id of the delivery (webhook id, or `kind:id:updated_at` for polls).
    pub event_key: String,
    /// Entity kind, e.g. `contact`.
    pub kind: String,
    /// The entity's id in that app.
    pub entity_id: String,
    /// The owning entity for child kinds (a task's contact).
    pub parent_id: Option<String>,
    /// How it arrived.
    pub source: EventSource,
    /// The raw payload (a hint; workers re-fetch the entity).
    pub payload: Value,
    /// When the engine received it.
    pub received_at: DateTime<Utc>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Its row id.
    pub id: EventId,
    /// What was appended.
    #[serde(flatten)]
    pub event: NewEvent,
}

/// An event together with the jobs it causes; appended in one transaction so that an event
/// acknowledged to a webhook sender is never without its work. A duplicate event enqueues nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct EventWithJobs {
    /// The event.
    pub event: NewEvent,
    /// Jobs to enqueue if the event is new; the new event's id is added to each job's `event_ids`.
    pub jobs: Vec<NewJob>,
}

/// What happened to one [`EventWithJobs`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendOutcome {
    /// The new event's id, or `None` when it was a duplicate (then `jobs` is empty).
    pub event_id: Option<EventId>,
    /// One entry per enqueued job.
    pub jobs: Vec<Enqueued>,
}

/// Default number of attempts before a job goes to the dead-letter queue.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;

/// At most this many (newest) event ids are kept on a coalesced job, so a webhook storm on one
/// entity cannot grow a row without bound; `coalesced` still counts every merge.
pub const MAX_EVENT_IDS_PER_JOB: usize = 100;

/// How urgent a job is: `claim` hands out due jobs by priority (highest first), then oldest
/// `run_at`, so real-time work never waits behind a backfill. Stored as an integer; any `i16` is
/// allowed, the three named levels are what the engine uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Priority(pub i16);

impl Priority {
    /// Someone is waiting for it: webhooks and manual triggers.
    pub const REALTIME: Self = Self(10);
    /// Found by an incremental poll: fresh, but nobody pushed it.
    pub const POLL: Self = Self(5);
    /// Bulk work (reconciles, backfills): runs when nothing more urgent is due, and is the work
    /// held back when an app's rate budget runs low.
    pub const BACKFILL: Self = Self(0);

    /// The priority of work caused by an event from `source`.
    pub fn for_source(source: EventSource) -> Self {
        match source {
            EventSource::Webhook | EventSource::Manual => Self::REALTIME,
            EventSource::Poll => Self::POLL,
            EventSource::Reconcile => Self::BACKFILL,
        }
    }
}

/// Jobs default to real time, so a caller that does not think about priority is never starved.
impl Default for Priority {
    fn default() -> Self {
        Self::REALTIME
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Work to do for one entity in one flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewJob {
    /// The flow that handles it.
    pub flow_id: String,
    /// What it is about, e.g. `ghl:contact:abc`; jobs of one `(flow_id, entity_key)` run one at a
    /// time, in order, and pending ones coalesce.
    pub entity_key: String,
    /// Flow-specific input; when jobs coalesce the newest payload wins.
    pub payload: Value,
    /// Events that caused it.
    pub event_ids: Vec<EventId>,
    /// Earliest run time; `None` means now.
    pub run_at: Option<DateTime<Utc>>,
    /// Failures allowed before the dead-letter queue; `None` means [`DEFAULT_MAX_ATTEMPTS`].
    pub max_attempts: Option<u32>,
    /// How urgent it is; when jobs coalesce the highest priority wins (a webhook merged into a
    /// queued backfill job makes it real-time work).
    #[serde(default)]
    pub priority: Priority,
}

impl NewJob {
    /// A job due now with an empty payload.
    pub fn new(flow_id: impl Into<String>, entity_key: impl Into<String>) -> Self {
        Self {
            flow_id: flow_id.into(),
            entity_key: entity_key.into(),
            payload: Value::Null,
            event_ids: Vec::new(),
            run_at: None,
            max_attempts: None,
            priority: Priority::default(),
        }
    }

    /// Checks what the database cannot (empty names, zero attempts).
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        if self.flow_id.trim().is_empty() {
            return Err(StoreError::invalid("job flow_id", "must not be empty"));
        }
        if self.entity_key.trim().is_empty() {
            return Err(StoreError::invalid("job entity_key", "must not be empty"));
        }
        if self.max_attempts == Some(0) {
            return Err(StoreError::invalid(
                "job max_attempts",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// The attempts limit with the default applied.
    pub(crate) fn max_attempts_or_default(&self) -> i64 {
        i64::from(self.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS))
    }
}

/// The result of an enqueue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enqueued {
    /// The pending job that will do the work (an existing one when coalesced).
    pub job_id: JobId,
    /// True when merged into a job that was already pending for the same entity.
    pub coalesced: bool,
}

/// Lifecycle of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for `run_at`.
    Pending,
    /// A worker holds it until `lease_until`.
    Leased,
    /// Completed.
    Done,
    /// Failed `max_attempts` times; in the dead-letter queue.
    Dead,
}

impl JobState {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Leased => "leased",
            Self::Done => "done",
            Self::Dead => "dead",
        }
    }

    /// Parses the stored text.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "leased" => Self::Leased,
            "done" => Self::Done,
            "dead" => Self::Dead,
            _ => return None,
        })
    }
}

/// A stored job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Row id.
    pub id: JobId,
    /// The flow that handles it.
    pub flow_id: String,
    /// What it is about.
    pub entity_key: String,
    /// Where it is in its lifecycle.
    pub state: JobState,
    /// Flow-specific input (newest on coalescing).
    pub payload: Value,
    /// The newest events merged into it (at most [`MAX_EVENT_IDS_PER_JOB`]), ascending.
    pub event_ids: Vec<EventId>,
    /// Earliest (next) run time.
    pub run_at: DateTime<Utc>,
    /// How urgent it is (the highest of the jobs merged into it).
    pub priority: Priority,
    /// Failed attempts so far (an expired lease counts as one).
    pub attempts: u32,
    /// Failures allowed before the dead-letter queue.
    pub max_attempts: u32,
    /// How many enqueues were merged into it.
    pub coalesced: u64,
    /// The worker holding the lease.
    pub lease_owner: Option<String>,
    /// When the lease ends.
    pub lease_until: Option<DateTime<Utc>>,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// When it was first enqueued.
    pub created_at: DateTime<Utc>,
    /// Last state change.
    pub updated_at: DateTime<Utc>,
    /// When it was completed or dead-lettered.
    pub finished_at: Option<DateTime<Utc>>,
}

/// What `fail` did with the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FailOutcome {
    /// Back to pending; runs again at `run_at`.
    Retry {
        /// Failed attempts so far.
        attempts: u32,
        /// The next run time.
        run_at: DateTime<Utc>,
    },
    /// Moved to the dead-letter queue.
    Dead {
        /// Failed attempts (= max_attempts).
        attempts: u32,
    },
}

/// Queue depth for dashboards and health checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct QueueStats {
    /// Jobs waiting (due or not).
    pub pending: u64,
    /// Pending jobs whose run time has come.
    pub due: u64,
    /// Jobs held by workers.
    pub leased: u64,
    /// Jobs in the dead-letter queue.
    pub dead: u64,
    /// How long the longest-waiting due job has been due, in milliseconds (backlog indicator).
    pub oldest_due_age_ms: Option<u64>,
}

/// Offset paging for list operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// Rows to return (capped at 1000).
    pub limit: u32,
    /// Rows to skip.
    pub offset: u32,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            limit: 100,
            offset: 0,
        }
    }
}

impl Page {
    /// `(limit, offset)` as SQL integers, with the limit capped so one request cannot load a table.
    pub(crate) fn sql(self) -> (i64, i64) {
        (i64::from(self.limit.min(1000)), i64::from(self.offset))
    }
}

/// Which dead jobs to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DlqFilter {
    /// Only this flow.
    pub flow_id: Option<String>,
    /// Only this entity.
    pub entity_key: Option<String>,
}

/// Rows removed by `prune`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PruneReport {
    /// Done jobs removed.
    pub jobs: u64,
    /// Events removed.
    pub events: u64,
}

/// Union of two event-id lists, ascending, keeping the newest [`MAX_EVENT_IDS_PER_JOB`].
pub(crate) fn merge_event_ids(a: &[EventId], b: &[EventId]) -> Vec<EventId> {
    let mut all: Vec<EventId> = a.iter().chain(b).copied().collect();
    all.sort_unstable();
    all.dedup();
    let skip = all.len().saturating_sub(MAX_EVENT_IDS_PER_JOB);
    all.split_off(skip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_newest_sorted_unique() {
        let a: Vec<EventId> = (0..80).map(EventId).collect();
        let b: Vec<EventId> = (50..150).map(EventId).collect();
        let m = merge_event_ids(&a, &b);
        assert_eq!(m.len(), MAX_EVENT_IDS_PER_JOB);
        assert_eq!(m.first(), Some(&EventId(50)));
        assert_eq!(m.last(), Some(&EventId(149)));
    }
}
