//! Budget-aware scheduling. GHL allows 100 requests per 10 s (and a daily budget) per location,
//! shared by everything the engine does there. The connectors' pacers already make sure no
//! request draws a 429; what they cannot know is which request matters more. So while real-time
//! work is about (a real-time or poll job enqueued, run or waiting in the store within the last
//! burst window, by any process), the engine keeps the last quarter of a burst window (and the
//! last 5 % of the day) for it. While none is, the burst window goes to work that can wait (a
//! backfill then runs at the full allowed rate; the first webhook after a quiet spell waits for
//! the pacer's next free slot, and from then on the quarter is kept again):
//!
//! * the scheduler does not *start* a reconcile of a connection whose budget is low (it tries
//!   again on its next round, and logs why), and
//! * a worker that is about to run a backfill-priority job (a reconcile's) while a connection
//!   of its flow is low hands the job back for a short while ([`Store::postpone`]: no attempt
//!   is counted, nothing failed).
//!
//! Real-time and poll jobs are never held back: they go first anyway (claims are by priority),
//! and the pacer spaces their requests.
//!
//! [`Store::postpone`]: crate::store::Store::postpone

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use connectors::Budget;

use crate::flow::{FlowBody, SyncDirection};
use crate::runtime::Engine;
use crate::store::{Job, Priority, StoreError};
use crate::sync::{RecordRef, SyncError};

/// When a connection's budget counts as low, and how long held-back work waits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetPolicy {
    /// Low when less than this share of the burst window is left (default 0.25).
    pub min_burst_left: f64,
    /// Low when less than this share of the daily budget is left (default 0.05).
    pub min_daily_left: f64,
    /// How long a backfill job is handed back for while the burst window is low; `None` (the
    /// default) means a quarter of the connection's window (GHL: 2.5 s), since a window frees
    /// up within its own length once nobody spends it.
    pub postpone_for: Option<Duration>,
    /// How long a backfill job is handed back for while the daily budget is low (default
    /// 10 minutes: the day's budget does not come back within seconds, and re-checking every
    /// held-back job every few seconds would only churn the queue).
    pub postpone_daily_for: Duration,
    /// The burst reserve while no real-time work was seen within `realtime_window` (default 0:
    /// nothing to keep room for, so a backfill may use the whole window; the pacer still
    /// prevents 429s).
    pub idle_burst_left: f64,
    /// How far back real-time work counts as "about" (default 10 s, GHL's burst window).
    pub realtime_window: Duration,
}

impl Default for BudgetPolicy {
    fn default() -> Self {
        Self {
            min_burst_left: 0.25,
            min_daily_left: 0.05,
            postpone_for: None,
            postpone_daily_for: Duration::from_secs(600),
            idle_burst_left: 0.0,
            realtime_window: Duration::from_secs(10),
        }
    }
}

/// A connection whose budget is too low for work that can wait.
#[derive(Debug, Clone, PartialEq)]
pub struct Shortage {
    /// The connection.
    pub connection: String,
    /// Why, for logs: which budget and how much is left.
    pub why: String,
    /// How long to wait before trying again.
    pub wait: Duration,
}

/// Whether real-time work was seen lately, as last asked of the store (asked at most once a
/// second per engine, since every backfill job checks it). Shared by clones of the options.
#[derive(Debug, Clone, Default)]
pub struct RealtimeSeen(Arc<parking_lot::Mutex<Option<(Instant, bool)>>>);

impl BudgetPolicy {
    /// `Some((why, wait))` when `b` is too low for work that can wait, with real-time work about
    /// (the full reserve). See [`BudgetPolicy::shortage_given`].
    pub fn shortage(&self, b: &Budget) -> Option<(String, Duration)> {
        self.shortage_given(b, true)
    }

    /// `Some((why, wait))` when `b` is too low for work that can wait: below `min_burst_left`
    /// while real-time work is about, below `idle_burst_left` otherwise.
    pub fn shortage_given(&self, b: &Budget, realtime: bool) -> Option<(String, Duration)> {
        let min_burst_left = if realtime {
            self.min_burst_left
        } else {
            self.idle_burst_left.min(self.min_burst_left)
        };
        if b.daily_left() < self.min_daily_left {
            return Some((
                format!(
                    "daily budget low: {} of {} requests left (below {:.0} %)",
                    b.daily_remaining,
                    b.daily_max,
                    self.min_daily_left * 100.0
                ),
                self.postpone_daily_for,
            ));
        }
        if b.burst_left() < min_burst_left {
            let wait = self.postpone_for.unwrap_or_else(|| {
                (Duration::from_millis(b.interval_ms) / 4)
                    .clamp(Duration::from_millis(100), Duration::from_secs(30))
            });
            return Some((
                format!(
                    "burst budget low: {} of {} requests left in the {} ms window (below {:.0} %)",
                    b.burst_remaining,
                    b.burst_max,
                    b.interval_ms,
                    min_burst_left * 100.0
                ),
                wait,
            ));
        }
        None
    }
}

/// What one budget-aware reconcile round did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReconcileRound {
    /// Change hints ingested.
    pub hints: usize,
    /// Connections reconciled.
    pub reconciled: Vec<String>,
    /// Connections not started because their budget was low (they stay owed).
    pub skipped: Vec<Shortage>,
}

impl Engine {
    /// Whether `connection`'s budget is too low for work that can wait, keeping the full
    /// reserve (as if real-time work were about).
    pub fn budget_shortage(&self, connection: &str) -> Option<Shortage> {
        self.budget_shortage_given(connection, true)
    }

    fn budget_shortage_given(&self, connection: &str, realtime: bool) -> Option<Shortage> {
        let budget = self.connectors.get(connection)?.budget()?;
        let (why, wait) = self.options.budget.shortage_given(&budget, realtime)?;
        Some(Shortage {
            connection: connection.to_string(),
            why,
            wait,
        })
    }

    /// Whether real-time or poll work was enqueued, run or waiting within the policy's
    /// `realtime_window`, in any process on this store; asked of the store at most once a second.
    /// A store error counts as yes (keep the reserve).
    pub async fn realtime_about(&self) -> bool {
        let seen = &self.options.realtime_seen;
        if let Some((at, v)) = *seen.0.lock() {
            if at.elapsed() < Duration::from_secs(1) {
                return v;
            }
        }
        let window = chrono::Duration::from_std(self.options.budget.realtime_window)
            .unwrap_or(chrono::Duration::seconds(10));
        let v = self
            .store
            .realtime_since(chrono::Utc::now() - window)
            .await
            .unwrap_or(true);
        *seen.0.lock() = Some((Instant::now(), v));
        v
    }

    /// The connections a reconcile scans: every enabled sync flow's source, and its target when
    /// it syncs both ways.
    pub fn reconciled_connections(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for f in self.flows.iter().filter(|f| f.enabled) {
            if let FlowBody::Sync(s) = &f.body {
                out.insert(s.source.clone());
                if s.direction == SyncDirection::TwoWay {
                    out.insert(s.target.clone());
                }
            }
        }
        out
    }

    /// Reconciles the connections in `owed` whose budget is not low, and removes them from
    /// `owed`; low ones are left in it (for the scheduler's next round) and logged. A failure
    /// leaves `owed` as it was.
    pub async fn reconcile_within_budget(
        &self,
        owed: &mut BTreeSet<String>,
    ) -> Result<ReconcileRound, SyncError> {
        let mut round = ReconcileRound::default();
        let mut run = BTreeSet::new();
        let realtime = self.realtime_about().await;
        for conn in owed.iter() {
            match self.budget_shortage_given(conn, realtime) {
                Some(s) => {
                    tracing::info!(connection = %conn, why = %s.why, "reconcile of this connection put off: its rate budget is kept for real-time work");
                    round.skipped.push(s);
                }
                None => {
                    run.insert(conn.clone());
                }
            }
        }
        if !run.is_empty() {
            round.hints = self.reconcile_only(Some(&run)).await?;
        }
        owed.retain(|c| !run.contains(c));
        round.reconciled = run.into_iter().collect();
        Ok(round)
    }

    /// The connections a job will call: both sides of its sync flow, else the connection of the
    /// record it is about.
    fn job_connections(&self, job: &Job) -> Vec<String> {
        let flow = self.flows.iter().find(|f| f.name == job.flow_id);
        if let Some(FlowBody::Sync(s)) = flow.map(|f| &f.body) {
            return vec![s.source.clone(), s.target.clone()];
        }
        serde_json::from_value::<RecordRef>(job.payload.clone())
            .map(|r| vec![r.connection])
            .unwrap_or_default()
    }

    /// Hands a claimed backfill-priority job back (without counting an attempt) when a
    /// connection it will call is low on budget. True when the job was handed back (or is no
    /// longer ours) and must not run now.
    pub(crate) async fn hold_back(&self, worker: &str, job: &Job) -> bool {
        if job.priority > Priority::BACKFILL {
            return false;
        }
        let realtime = self.realtime_about().await;
        let Some(short) = self
            .job_connections(job)
            .iter()
            .find_map(|c| self.budget_shortage_given(c, realtime))
        else {
            return false;
        };
        // A little spread, so that the jobs handed back together do not all come due at once.
        let jitter = short.wait.mul_f64(rand::random::<f64>() * 0.25);
        let until = chrono::Utc::now()
            + chrono::Duration::from_std(short.wait + jitter).unwrap_or(chrono::Duration::zero());
        match self.store.postpone(job.id, worker, until).await {
            Ok(run_at) => {
                tracing::debug!(job = %job.id, connection = %short.connection, why = %short.why, %run_at, "backfill job handed back until the budget recovers");
                true
            }
            Err(StoreError::LeaseLost { .. }) => true,
            Err(e) => {
                // Running it is safe (the pacer still prevents 429s); it only costs headroom.
                tracing::warn!(job = %job.id, error = %e, "could not hand a backfill job back; running it now");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(burst_remaining: u32, daily_remaining: u64) -> Budget {
        Budget {
            burst_max: 100,
            burst_remaining,
            interval_ms: 10_000,
            daily_max: 200_000,
            daily_remaining,
        }
    }

    #[test]
    fn low_when_below_either_share() {
        let p = BudgetPolicy::default();
        assert_eq!(
            p.shortage(&budget(25, 10_000)),
            None,
            "exactly 25 % and 5 % are enough"
        );
        let (why, wait) = p.shortage(&budget(24, 200_000)).expect("burst low");
        assert!(why.contains("24 of 100"), "{why}");
        assert_eq!(
            wait,
            Duration::from_millis(2_500),
            "a quarter of the window"
        );
        let (why, wait) = p.shortage(&budget(100, 9_999)).expect("daily low");
        assert!(why.contains("daily"), "{why}");
        assert_eq!(wait, p.postpone_daily_for);
        let fixed = BudgetPolicy {
            postpone_for: Some(Duration::from_millis(300)),
            min_burst_left: 0.5,
            ..BudgetPolicy::default()
        };
        assert_eq!(
            fixed.shortage(&budget(40, 200_000)).map(|s| s.1),
            Some(Duration::from_millis(300))
        );
    }

    #[test]
    fn without_realtime_work_only_the_idle_reserve_holds() {
        let p = BudgetPolicy::default();
        assert!(p.shortage_given(&budget(24, 200_000), true).is_some());
        assert_eq!(
            p.shortage_given(&budget(1, 200_000), false),
            None,
            "the whole window for work that can wait"
        );
        let (why, _) = p
            .shortage_given(&budget(100, 9_999), false)
            .expect("the daily reserve holds regardless");
        assert!(why.contains("daily"), "{why}");
        let some = BudgetPolicy {
            idle_burst_left: 0.1,
            ..BudgetPolicy::default()
        };
        assert!(some.shortage_given(&budget(9, 200_000), false).is_some());
        assert!(some.shortage_given(&budget(10, 200_000), false).is_none());
    }
}
