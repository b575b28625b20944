//! Running actions flows: one job runs a flow's steps, in order, for the record that triggered it.
//!
//! A job re-fetches its record first (a webhook is only a hint; a record gone meanwhile means
//! nothing to do), applies the flow's `filter` (a record that does not match is skipped, and the
//! job completes), then runs each action. Every write is a [`ChangeAudit`] in the returned
//! [`Commit`], which the worker applies with the job's completion. When a step fails, the writes
//! already made are audited at once (the failed job's commit is never applied) and the error
//! goes back to the worker, which retries the job later.
//!
//! **Re-running is safe.** A job runs again after a failure, a webhook can be delivered twice
//! under different ids, and a flow's own writes may trigger it again (adding a tag is a contact
//! update). So every step either converges or remembers what it made:
//!
//! * `upsert` finds the target by its link or match keys and writes only fields that differ;
//!   `update`, `complete_task`, `add_tags` and `remove_tags` write only what is not so already.
//! * `create_related` makes each item once per (flow, step, item, contact), and `add_note` a given
//!   text once per (flow, step, contact). Each creation is recorded as a marker in the store
//!   (see `run.rs`): reserved before the create, confirmed right after it, checked before any
//!   create. A marker reserved but never confirmed (the run died between the create and the
//!   confirmation) is settled by looking for the record among the contact's before creating it
//!   again, and creates carry a stable idempotency key for apps that honour one.
//! * `call` runs reads, converging writes and deletes (a record already gone counts as deleted)
//!   on every run, and operations that make something new once per (flow, step, record), with
//!   the same kind of marker holding the first call's answer (see `call.rs`).
//!
//! * `report` writes an export of the unified view into the project folder, replacing the whole
//!   file at once, so running it again rewrites the same file (see `report.rs`).
//!
//! Scheduled and manual runs ([`schedule`]) use the same runner; a scheduled run has no
//! triggering record.

mod call;
mod read;
mod report;
mod run;
pub mod schedule;
mod steps;
pub mod trigger;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::flow::{Flow, FlowBody};
use crate::store::{Commit, JobId, Store};
use crate::sync::{Connectors, RecordRef, SyncError};

pub use trigger::HintEvent;

/// What started an actions job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "origin", rename_all = "snake_case")]
pub enum Origin {
    /// A change reported by an app (webhook or poll).
    Event { event: HintEvent },
    /// A schedule's due time.
    Schedule { due_at: DateTime<Utc> },
    /// A person, through the CLI, dashboard or API.
    Manual,
}

/// The payload of an actions job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionPayload {
    /// The triggering record; `None` for scheduled runs and manual runs without one.
    #[serde(default)]
    pub record: Option<RecordRef>,
    #[serde(flatten)]
    pub origin: Origin,
}

impl ActionPayload {
    /// As stored in the job.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Everything one actions job needs.
pub struct ActionJob<'a> {
    pub flow: &'a Flow,
    pub store: &'a dyn Store,
    pub connectors: &'a Connectors,
    /// The job, for the audit trail.
    pub job_id: Option<JobId>,
    /// The project folder: where `report` actions write their files (`None`: an engine started
    /// without a project, whose `report` actions fail).
    pub project_dir: Option<&'a std::path::Path>,
}

/// Runs `flow`'s actions for the payload's record at run time `now` (due offsets count from it)
/// and returns the commit to apply with the job's completion. A record that no longer exists, or
/// that the filter rejects, gives an empty commit.
pub async fn run_actions(
    job: &ActionJob<'_>,
    payload: &ActionPayload,
    now: DateTime<Utc>,
) -> Result<Commit, SyncError> {
    let FlowBody::Actions(actions) = &job.flow.body else {
        return Err(SyncError::Permanent(format!(
            "flow `{}` is a sync, not an actions flow",
            job.flow.name
        )));
    };
    let mut run = run::Run::new(job, now);
    if !run.start(payload).await? {
        return Ok(Commit::default());
    }
    for (index, action) in actions.iter().enumerate() {
        if let Err(e) = run.step(index, action).await {
            run.audit_partial().await;
            return Err(e);
        }
    }
    Ok(run.finish())
}

/// [`run_actions`] for a stored job: reads its payload, runs now.
pub async fn run_job(job: &ActionJob<'_>, payload: &Value) -> Result<Commit, SyncError> {
    let payload: ActionPayload = serde_json::from_value(payload.clone())
        .map_err(|e| SyncError::Permanent(format!("unreadable actions job payload: {e}")))?;
    run_actions(job, &payload, Utc::now()).await
}
