//! Scheduled and manual runs of flows.
//!
//! **Schedules** fire on the scheduler's leader only (the `scheduler` lease of
//! [`Engine::run_scheduler`]), at each scheduler tick (`EngineOptions::poll_every`). Each
//! actions flow with a `schedule` trigger keeps the last due time it fired for as a cursor of
//! the pseudo-connection [`SCHEDULE_CONNECTION`] (stream = the flow's name), so a restart or a
//! new leader carries on where the last one stopped instead of firing again. A due time becomes
//! one event (deduplicated on the flow and the due time, so even two leaders overlapping at a
//! lease hand-over enqueue it once) and one job. Rules:
//!
//! * A schedule seen for the first time starts counting then; it does not fire at once.
//! * `every: 1h` fires at the first sight plus 1 h, 2 h …; `cron` at its times, in UTC.
//! * Due times missed while no engine ran fire once, for the latest of them, not once each.
//! * A scheduled run has no triggering record (see `docs/flows.md`).
//!
//! **Manual runs** ([`Engine::run_manual`]) enqueue a job for one flow, for a given record or
//! (flows triggered `manual` or by a schedule) for none, recorded as a `manual` event.

use std::str::FromStr;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::json;

use super::{ActionPayload, Origin};
use crate::flow::{Flow, FlowBody, Schedule, Trigger};
use crate::runtime::Engine;
use crate::store::{CursorSet, EventSource, EventWithJobs, JobId, NewEvent, NewJob};
use crate::sync::{RecordRef, SyncError};

/// The pseudo-connection holding schedule cursors and events (not a valid connection name, so
/// it never collides with one).
pub const SCHEDULE_CONNECTION: &str = "@schedule";

/// Connection of manual runs without a record.
pub const MANUAL_CONNECTION: &str = "@manual";

/// The leader lease the scheduler holds (the name `Engine::run_scheduler` uses).
pub const SCHEDULER_LEASE: &str = "scheduler";

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The latest due time of `schedule` after `last` and no later than `now`, if any.
pub fn latest_due(
    schedule: &Schedule,
    last: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match schedule {
        Schedule::Every { seconds } => {
            let every = i64::try_from(*seconds)
                .ok()
                .filter(|s| *s > 0)?
                .checked_mul(1000)?;
            let elapsed = (now - last).num_milliseconds();
            (elapsed >= every).then(|| last + Duration::milliseconds(elapsed / every * every))
        }
        Schedule::Cron { expr } => {
            let cron = croner::Cron::from_str(expr).ok()?;
            let prev = cron.find_previous_occurrence(&now, true).ok()?;
            (prev > last).then_some(prev)
        }
    }
}

impl Engine {
    /// Fires the schedules due at `now` if this process leads the scheduler (taking or renewing
    /// the lease, as [`Engine::run_scheduler`] does each tick). Returns the number of runs
    /// enqueued, or `None` when another process leads.
    pub async fn run_schedules(&self, now: DateTime<Utc>) -> Result<Option<usize>, SyncError> {
        let leads = self
            .store
            .try_lead(
                SCHEDULER_LEASE,
                &self.options.process_id,
                self.scheduler_ttl(),
            )
            .await?;
        if !leads {
            return Ok(None);
        }
        self.fire_due_schedules(now).await.map(Some)
    }

    /// Enqueues one run per schedule due at `now`. The caller holds the scheduler lease.
    pub(crate) async fn fire_due_schedules(&self, now: DateTime<Utc>) -> Result<usize, SyncError> {
        let mut fired = 0;
        for flow in self.flows.iter().filter(|f| self.flow_enabled(f)) {
            let (Trigger::Schedule(schedule), FlowBody::Actions(_)) = (&flow.trigger, &flow.body)
            else {
                continue;
            };
            let last = self
                .store
                .cursor(SCHEDULE_CONNECTION, &flow.name)
                .await?
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&Utc));
            let due = match last {
                // First sight (or an unreadable cursor): count from now.
                None => None,
                Some(last) => match latest_due(schedule, last, now) {
                    Some(due) => Some(due),
                    None => continue,
                },
            };
            if let Some(due) = due {
                if self.enqueue_scheduled(flow, due, now).await? {
                    fired += 1;
                }
            }
            self.store
                .set_cursor(CursorSet {
                    connection_id: SCHEDULE_CONNECTION.into(),
                    stream: flow.name.clone(),
                    value: stamp(due.unwrap_or(now)),
                })
                .await?;
        }
        Ok(fired)
    }

    /// One run of `flow` for `due`: false when that due time was enqueued already.
    async fn enqueue_scheduled(
        &self,
        flow: &Flow,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, SyncError> {
        let payload = ActionPayload {
            record: None,
            origin: Origin::Schedule { due_at: due },
        };
        let batch = [EventWithJobs {
            event: NewEvent {
                connection_id: SCHEDULE_CONNECTION.into(),
                event_key: format!("schedule:{}:{}", flow.name, stamp(due)),
                kind: "schedule".into(),
                entity_id: flow.name.clone(),
                parent_id: None,
                // No `schedule` source exists in the store; like a person's run, it is an
                // engine-made trigger (the payload says which).
                source: EventSource::Manual,
                payload: json!({"type": "schedule", "due_at": stamp(due)}),
                received_at: now,
            },
            jobs: vec![NewJob {
                payload: payload.to_json(),
                ..NewJob::new(flow.name.clone(), "schedule")
            }],
        }];
        let out = self.store.append_events_and_enqueue(&batch).await?;
        let new = out.first().is_some_and(|o| o.event_id.is_some());
        if new {
            tracing::info!(flow = %flow.name, due = %stamp(due), "schedule fired");
        }
        Ok(new)
    }

    /// Runs `flow_name` by hand: for `record`, or with none (flows triggered `manual` or by a
    /// schedule). An event-triggered flow needs a record of its trigger's connection and kind;
    /// a sync needs one of its connections. Enqueues one job, as a webhook would, and returns
    /// it; workers (or [`Engine::run_until_idle`]) run it.
    pub async fn run_manual(
        &self,
        flow_name: &str,
        record: Option<RecordRef>,
    ) -> Result<JobId, SyncError> {
        let flow = self
            .flows
            .iter()
            .find(|f| f.name == flow_name)
            .ok_or_else(|| SyncError::Permanent(format!("no flow is named `{flow_name}`")))?;
        if !flow.enabled {
            return Err(SyncError::Permanent(format!(
                "flow `{flow_name}` is disabled"
            )));
        }
        match (&flow.trigger, &record) {
            (
                Trigger::Event {
                    connection, kind, ..
                },
                Some(r),
            ) if r.connection != *connection || r.kind != *kind => {
                return Err(SyncError::Permanent(format!(
                    "flow `{flow_name}` runs for {kind} records of `{connection}`, not for a {} of `{}`",
                    r.kind, r.connection
                )));
            }
            (Trigger::Event { .. } | Trigger::Changes, None) => {
                return Err(SyncError::Permanent(format!(
                    "flow `{flow_name}` runs for a record: name one"
                )));
            }
            _ => {}
        }
        let payload = match &flow.body {
            FlowBody::Sync(_) => json!(record),
            FlowBody::Actions(_) => ActionPayload {
                record: record.clone(),
                origin: Origin::Manual,
            }
            .to_json(),
        };
        let now = Utc::now();
        let (connection, kind, entity_id, parent_id) = match &record {
            Some(r) => (
                r.connection.clone(),
                r.kind.as_str().to_string(),
                r.id.clone(),
                r.parent_id.clone(),
            ),
            None => (
                MANUAL_CONNECTION.into(),
                "run".into(),
                flow.name.clone(),
                None,
            ),
        };
        let entity_key = record
            .as_ref()
            .map_or_else(|| "manual".to_string(), RecordRef::entity_key);
        let batch = [EventWithJobs {
            event: NewEvent {
                connection_id: connection,
                event_key: format!(
                    "manual:{}:{}:{:016x}",
                    flow.name,
                    now.timestamp_micros(),
                    rand::random::<u64>()
                ),
                kind,
                entity_id,
                parent_id,
                source: EventSource::Manual,
                payload: json!({"type": "manual", "flow": flow.name}),
                received_at: now,
            },
            jobs: vec![NewJob {
                payload,
                ..NewJob::new(flow.name.clone(), entity_key)
            }],
        }];
        let out = self.store.append_events_and_enqueue(&batch).await?;
        out.first()
            .and_then(|o| o.jobs.first())
            .map(|j| j.job_id)
            .ok_or_else(|| SyncError::Retry("the manual run was not enqueued".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap()
    }

    #[test]
    fn every_fires_on_its_grid_and_collapses_missed_runs() {
        let s = Schedule::Every { seconds: 3600 };
        let last = t("2024-03-05T09:00:00Z");
        assert_eq!(latest_due(&s, last, t("2024-03-05T09:59:59Z")), None);
        assert_eq!(
            latest_due(&s, last, t("2024-03-05T10:00:00Z")),
            Some(t("2024-03-05T10:00:00Z"))
        );
        assert_eq!(
            latest_due(&s, last, t("2024-03-05T13:20:00Z")),
            Some(t("2024-03-05T13:00:00Z"))
        );
    }

    #[test]
    fn cron_fires_at_its_times() {
        let s = Schedule::Cron {
            expr: "0 * * * *".into(),
        };
        let last = t("2024-03-05T09:00:00Z");
        assert_eq!(latest_due(&s, last, t("2024-03-05T09:30:00Z")), None);
        assert_eq!(
            latest_due(&s, last, t("2024-03-05T11:30:00Z")),
            Some(t("2024-03-05T11:00:00Z"))
        );
    }
}
