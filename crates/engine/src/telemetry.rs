//! What the engine reports to Prometheus, through the `metrics` facade: the engine records,
//! whoever runs it (`ghl-bridge serve`) installs the recorder and serves `/metrics`. Without a
//! recorder (`ghl-bridge run`, tests) every call here is a no-op, so the engine never depends
//! on the HTTP server. The names live here so the server can describe them and the docs
//! (`docs/server.md`) have one list to follow.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Jobs finished per flow and outcome (`done`, `failed`, `retried`, `dead`).
pub const JOBS_TOTAL: &str = "ghl_bridge_jobs_total";
/// How long one run of a job took (claim to outcome recorded), per flow.
pub const JOB_DURATION: &str = "ghl_bridge_job_duration_seconds";
/// From the first event of a job being stored to the job done, per flow.
pub const EVENT_TO_DONE: &str = "ghl_bridge_event_to_done_seconds";
/// Calls to an app's API, per connection and app.
pub const APP_CALL_DURATION: &str = "ghl_bridge_app_call_duration_seconds";
/// Calls to an app's API per connection, app and HTTP-like status.
pub const APP_CALLS_TOTAL: &str = "ghl_bridge_app_calls_total";
/// Change hints ingested (webhook, poll, reconcile, manual) per connection, source and
/// outcome (`new`, `duplicate`).
pub const EVENTS_INGESTED_TOTAL: &str = "ghl_bridge_events_ingested_total";

/// How one run of a job ended. `Failed` counts every failed run; `Retried` and `Dead` say what
/// became of it (scheduled again, or moved to the dead-letter queue), so
/// `failed = retried + dead` unless the store could not record the failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    Done,
    Failed,
    Retried,
    Dead,
}

impl JobOutcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Retried => "retried",
            Self::Dead => "dead",
        }
    }
}

/// Counts one job outcome of `flow`.
pub fn job_outcome(flow: &str, outcome: JobOutcome) {
    metrics::counter!(JOBS_TOTAL, "flow" => flow.to_string(), "outcome" => outcome.as_str())
        .increment(1);
}

/// Records a finished run of a job of `flow`: its duration and, when it is done, how long it
/// was since its first event was stored (`enqueued`).
pub fn job_ran(flow: &str, took: Duration, done_since: Option<DateTime<Utc>>) {
    metrics::histogram!(JOB_DURATION, "flow" => flow.to_string()).record(took.as_secs_f64());
    if let Some(enqueued) = done_since {
        let secs = (Utc::now() - enqueued).num_milliseconds().max(0) as f64 / 1000.0;
        metrics::histogram!(EVENT_TO_DONE, "flow" => flow.to_string()).record(secs);
    }
}

/// Records one call to an app (the audit wrapper sees every one).
pub fn app_call(connection: &str, app: &str, status: u16, took: Duration) {
    metrics::histogram!(APP_CALL_DURATION, "connection" => connection.to_string(), "app" => app.to_string())
        .record(took.as_secs_f64());
    metrics::counter!(APP_CALLS_TOTAL, "connection" => connection.to_string(), "app" => app.to_string(), "status" => status.to_string())
        .increment(1);
}

/// Counts the events of one ingest: `new` stored, `duplicate` dropped.
pub fn events_ingested(connection: &str, source: &'static str, new: usize, duplicate: usize) {
    for (outcome, n) in [("new", new), ("duplicate", duplicate)] {
        if n > 0 {
            metrics::counter!(EVENTS_INGESTED_TOTAL, "connection" => connection.to_string(), "source" => source, "outcome" => outcome)
                .increment(n as u64);
        }
    }
}
