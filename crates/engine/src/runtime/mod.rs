//! The running engine: ingress (change hints → durable events and jobs, one transaction), worker
//! loops (claim, run, complete with the commit, or fail with backoff), and the scheduler (polls
//! with persisted cursors and periodic reconciles), which runs on exactly one process at a time
//! through a leader lease and moves to another when that process dies.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use connectors::{ChangeHint, EntityKind};
use serde_json::json;
use tokio::sync::watch;

use crate::actions::{ActionJob, ActionPayload, HintEvent, Origin};
use crate::flow::{Flow, FlowBody, SyncDirection, Trigger};
use crate::store::{
    EventSource, EventWithJobs, FailOutcome, Job, NewEvent, NewJob, Priority, Store, StoreError,
};
use crate::sync::{Connectors, RecordRef, SyncError, SyncJob};

mod polling;

/// Wakes this process's idle workers when `ingest` has enqueued jobs, so a webhook's job starts
/// at once instead of after up to `idle_wait` (50 ms) of sleep: at 200 webhooks/s that sleep was
/// most of the event-to-write latency (docs/BENCHMARKS.md, e2e). Process-local on purpose: other
/// processes sharing the store still find the job on their next claim, and a wake-up that finds
/// nothing (another worker took the job) only costs one empty claim.
static WORK_ARRIVED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Names this process in leases (must be unique per process).
    pub process_id: String,
    /// Worker loops in this process.
    pub workers: usize,
    /// How long a claimed job is ours before another process may take it.
    pub lease: Duration,
    /// Jobs claimed per round trip.
    pub claim_batch: u32,
    /// Pause of an idle worker.
    pub idle_wait: Duration,
    /// How often the leader polls each connection for changes.
    pub poll_every: Duration,
    /// How often the leader runs a full reconcile (catches dropped webhooks and deletes).
    pub reconcile_every: Duration,
    /// First retry delay; doubles per attempt up to `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// When a connection's rate budget is too low for reconciles and backfill jobs (see
    /// [`crate::pacing`]).
    pub budget: crate::pacing::BudgetPolicy,
    /// The project folder (the folder of `ghl-bridge.yaml`): flows' `report` actions write their
    /// files inside it. `None` makes `report` actions fail.
    pub project_dir: Option<std::path::PathBuf>,
    /// Flows switched off at runtime (admin API); shared, so a switch applies at once. See
    /// [`crate::flow_state`].
    pub disabled_flows: crate::flow_state::DisabledFlows,
    /// What the store last said of recent real-time work (see [`Engine::realtime_about`]).
    pub realtime_seen: crate::pacing::RealtimeSeen,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            process_id: format!("engine-{}-{}", std::process::id(), rand::random::<u32>()),
            workers: 4,
            lease: Duration::from_secs(60),
            claim_batch: 8,
            idle_wait: Duration::from_millis(50),
            poll_every: Duration::from_secs(60),
            reconcile_every: Duration::from_secs(3600),
            retry_base: Duration::from_secs(2),
            retry_cap: Duration::from_secs(600),
            budget: crate::pacing::BudgetPolicy::default(),
            project_dir: None,
            disabled_flows: Default::default(),
            realtime_seen: Default::default(),
        }
    }
}

/// Counts of one ingest call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct IngestReport {
    pub events: usize,
    pub duplicates: usize,
    pub jobs: usize,
}

/// The engine of one process.
pub struct Engine {
    pub store: Arc<dyn Store>,
    pub flows: Vec<Flow>,
    pub connectors: Connectors,
    pub options: EngineOptions,
}

impl Engine {
    /// Whether `flow` starts jobs: enabled in its file and not switched off at runtime.
    pub fn flow_enabled(&self, flow: &Flow) -> bool {
        flow.enabled && !self.options.disabled_flows.contains(&flow.name)
    }

    /// The flows a change hint on `connection` starts: syncs of its kind, and actions flows
    /// whose event trigger matches its connection, kind and event (see `actions::trigger` for how
    /// app event names are read; reconciles start no actions flow).
    fn flows_for(&self, connection: &str, hint: &ChangeHint, source: EventSource) -> Vec<&Flow> {
        let kind = hint.kind;
        let event = match source {
            EventSource::Reconcile => HintEvent::Reconcile,
            _ => HintEvent::classify(&hint.event_type, hint.deleted),
        };
        self.flows
            .iter()
            .filter(|f| self.flow_enabled(f))
            .filter(|f| match &f.body {
                FlowBody::Sync(s) => {
                    s.kinds.contains(&kind)
                        && (s.source == connection
                            || (s.direction == SyncDirection::TwoWay && s.target == connection))
                }
                FlowBody::Actions(_) => match &f.trigger {
                    Trigger::Event {
                        connection: c,
                        kind: k,
                        event: e,
                        ..
                    } => c == connection && *k == kind && event.fires(*e),
                    _ => false,
                },
            })
            .collect()
    }

    /// How long the scheduler lease lasts: three ticks, so one slow tick does not lose it.
    pub(crate) fn scheduler_ttl(&self) -> Duration {
        self.options.poll_every.max(Duration::from_secs(2)) * 3
    }

    /// Records change hints (from a verified webhook, a poll or a person) as events with their
    /// jobs, in one transaction. A redelivered event (same event id) is recognised and dropped.
    pub async fn ingest(
        &self,
        connection: &str,
        hints: &[ChangeHint],
        source: EventSource,
    ) -> Result<IngestReport, StoreError> {
        let now = Utc::now();
        let batch: Vec<EventWithJobs> = hints
            .iter()
            .map(|h| {
                let r = RecordRef {
                    connection: connection.to_string(),
                    kind: h.kind,
                    id: h.id.clone(),
                    parent_id: h.parent_id.clone(),
                    deleted: h.deleted,
                };
                let jobs = self
                    .flows_for(connection, h, source)
                    .into_iter()
                    .map(|f| NewJob {
                        payload: match &f.body {
                            FlowBody::Sync(_) => json!(r),
                            FlowBody::Actions(_) => ActionPayload {
                                record: Some(r.clone()),
                                origin: Origin::Event {
                                    event: HintEvent::classify(&h.event_type, h.deleted),
                                },
                            }
                            .to_json(),
                        },
                        // Webhooks and people first, then polls, then reconciles (backfills).
                        priority: Priority::for_source(source),
                        ..NewJob::new(f.name.clone(), r.entity_key())
                    })
                    .collect();
                EventWithJobs {
                    event: NewEvent {
                        connection_id: connection.to_string(),
                        event_key: h.event_id.clone(),
                        kind: h.kind.as_str().to_string(),
                        entity_id: h.id.clone(),
                        parent_id: h.parent_id.clone(),
                        source,
                        payload: json!({"type": h.event_type, "deleted": h.deleted}),
                        received_at: now,
                    },
                    jobs,
                }
            })
            .collect();
        let outcomes = self.store.append_events_and_enqueue(&batch).await?;
        let mut report = IngestReport::default();
        for o in outcomes {
            match o.event_id {
                Some(_) => report.events += 1,
                None => report.duplicates += 1,
            }
            report.jobs += o.jobs.len();
        }
        // One wake-up per new job (at most one per worker); with no worker waiting, one permit
        // is kept, so a worker between its empty claim and its sleep does not miss it.
        for _ in 0..report.jobs.min(self.options.workers.max(1)) {
            WORK_ARRIVED.notify_one();
        }
        crate::telemetry::events_ingested(
            connection,
            source.as_str(),
            report.events,
            report.duplicates,
        );
        Ok(report)
    }

    fn backoff(&self, attempts: u32) -> Duration {
        let exp = self
            .options
            .retry_base
            .saturating_mul(1 << attempts.min(16));
        exp.min(self.options.retry_cap)
    }

    /// Runs one job to its end (complete or fail); its outbound calls are audited under its id.
    /// The lease is extended every third of its length while the job runs, so a job slower than
    /// its lease (a paced or retried call) is never claimed by a second worker meanwhile.
    async fn execute(&self, worker: &str, job: Job) -> Result<(), StoreError> {
        let id = job.id;
        let work = crate::audit::CURRENT_JOB.scope(Some(id), self.execute_job(worker, job));
        tokio::pin!(work);
        let every = (self.options.lease / 3).max(Duration::from_millis(10));
        loop {
            tokio::select! {
                out = &mut work => return out,
                _ = tokio::time::sleep(every) => {
                    if let Err(e) = self.store.extend_lease(id, worker, self.options.lease).await {
                        tracing::warn!(job = %id, error = %e, "could not extend the lease of a running job");
                    }
                }
            }
        }
    }

    /// Runs a batch claimed at `claimed`. A job still waiting in the batch after a third of its
    /// lease has its lease extended before it starts, and is skipped when another worker has
    /// meanwhile reclaimed it (its lease ran out while earlier jobs of the batch ran). Returns
    /// the jobs run and the first store error (the batch goes on after one). With `pace`, a
    /// backfill job is handed back instead while its connections' budget is low (checked right
    /// before it would start, see [`crate::pacing`]).
    async fn execute_batch(
        &self,
        worker: &str,
        jobs: Vec<Job>,
        claimed: tokio::time::Instant,
        pace: bool,
    ) -> (usize, Option<StoreError>) {
        let (mut ran, mut first_error) = (0, None);
        for job in jobs {
            if claimed.elapsed() >= self.options.lease / 3 {
                match self
                    .store
                    .extend_lease(job.id, worker, self.options.lease)
                    .await
                {
                    Ok(_) => {}
                    Err(StoreError::LeaseLost { .. }) => continue,
                    Err(e) => {
                        first_error.get_or_insert(e);
                        continue;
                    }
                }
            }
            if pace && self.hold_back(worker, &job).await {
                continue;
            }
            ran += 1;
            if let Err(e) = self.execute(worker, job).await {
                first_error.get_or_insert(e);
            }
        }
        (ran, first_error)
    }

    async fn execute_job(&self, worker: &str, job: Job) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        let flow = self.flows.iter().find(|f| f.name == job.flow_id);
        let result = match flow.map(|f| (f, &f.body)) {
            Some((flow, FlowBody::Sync(spec))) => {
                match serde_json::from_value::<RecordRef>(job.payload.clone()) {
                    Ok(r) => {
                        let sj = SyncJob {
                            flow_id: &flow.name,
                            spec,
                            store: self.store.as_ref(),
                            connectors: &self.connectors,
                            job_id: Some(job.id),
                            lock: Some(crate::sync::IdentityLock {
                                holder: worker,
                                ttl: self.options.lease,
                                taken: std::sync::Mutex::new(None),
                            }),
                        };
                        let result = sj.run(&r).await;
                        let taken = sj
                            .lock
                            .as_ref()
                            .and_then(|l| l.taken.lock().ok().and_then(|mut t| t.take()));
                        (result, taken)
                    }
                    Err(e) => (
                        Err(SyncError::Permanent(format!("unreadable job payload: {e}"))),
                        None,
                    ),
                }
            }
            Some((flow, FlowBody::Actions(_))) => {
                let aj = ActionJob {
                    flow,
                    store: self.store.as_ref(),
                    connectors: &self.connectors,
                    job_id: Some(job.id),
                    project_dir: self.options.project_dir.as_deref(),
                };
                (crate::actions::run_job(&aj, &job.payload).await, None)
            }
            None => (
                Err(SyncError::Permanent(format!(
                    "flow `{}` is not loaded",
                    job.flow_id
                ))),
                None,
            ),
        };
        let (mut result, lock) = result;
        // A finished job gives its identity lock up in its completion's transaction.
        if let (Ok(commit), Some(name)) = (&mut result, &lock) {
            commit.release_lease = Some(name.clone());
        }
        let outcome = self.finish(worker, &job, result, started).await;
        let released = matches!(outcome, Ok(true));
        if let (Some(name), false) = (lock, released) {
            if let Err(e) = self.store.release_lead(&name, worker).await {
                tracing::warn!(error = %e, lock = %name, "could not release an identity lock; it expires with its lease");
            }
        }
        outcome.map(|_| ())
    }

    /// Records a job's outcome: complete with its commit, hand it back when its identity is busy,
    /// or fail it with backoff. `Ok(true)` when the job completed (its commit applied).
    async fn finish(
        &self,
        worker: &str,
        job: &Job,
        result: Result<crate::store::Commit, SyncError>,
        started: std::time::Instant,
    ) -> Result<bool, StoreError> {
        use crate::telemetry::{job_outcome, job_ran, JobOutcome};
        if let Err(SyncError::Busy(identity)) = &result {
            tracing::debug!(job = %job.id, %identity, "identity busy; handing the job back briefly");
            let until = chrono::Utc::now() + chrono::Duration::milliseconds(50);
            return match self.store.postpone(job.id, worker, until).await {
                Ok(_) | Err(StoreError::LeaseLost { .. }) => Ok(false),
                Err(e) => Err(e),
            };
        }
        match result {
            Ok(commit) => match self.store.complete(job.id, worker, commit).await {
                Ok(()) => {
                    job_outcome(&job.flow_id, JobOutcome::Done);
                    job_ran(&job.flow_id, started.elapsed(), Some(job.created_at));
                    Ok(true)
                }
                Err(StoreError::LeaseLost { .. }) => Ok(false),
                Err(e) => Err(e),
            },
            Err(e) => {
                let message = e.to_string();
                tracing::warn!(job = %job.id, flow = %job.flow_id, entity = %job.entity_key, error = %message, "job failed");
                job_outcome(&job.flow_id, JobOutcome::Failed);
                job_ran(&job.flow_id, started.elapsed(), None);
                match self
                    .store
                    .fail(job.id, worker, &message, self.backoff(job.attempts))
                    .await
                {
                    Ok(FailOutcome::Dead { attempts }) => {
                        tracing::error!(job = %job.id, attempts, "job moved to the dead-letter queue");
                        job_outcome(&job.flow_id, JobOutcome::Dead);
                        Ok(false)
                    }
                    Ok(FailOutcome::Retry { .. }) => {
                        job_outcome(&job.flow_id, JobOutcome::Retried);
                        Ok(false)
                    }
                    Err(StoreError::LeaseLost { .. }) => Ok(false),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Runs due jobs in this task until none is left (the CLI's `sync run --once`, tests).
    /// Returns the number of jobs run. Jobs waiting for a retry later are left waiting.
    pub async fn run_until_idle(&self) -> Result<usize, StoreError> {
        let worker = format!("{}-inline", self.options.process_id);
        let mut ran = 0;
        loop {
            let claimed = tokio::time::Instant::now();
            let jobs = self
                .store
                .claim(&worker, self.options.claim_batch, self.options.lease)
                .await?;
            if jobs.is_empty() {
                return Ok(ran);
            }
            let (n, error) = self.execute_batch(&worker, jobs, claimed, false).await;
            ran += n;
            if let Some(e) = error {
                return Err(e);
            }
        }
    }

    /// One worker loop until `stop` turns true.
    pub async fn run_worker(self: Arc<Self>, index: usize, mut stop: watch::Receiver<bool>) {
        let worker = format!("{}-w{index}", self.options.process_id);
        while !*stop.borrow() {
            let claimed = tokio::time::Instant::now();
            let jobs = match self
                .store
                .claim(&worker, self.options.claim_batch, self.options.lease)
                .await
            {
                Ok(j) => j,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming jobs failed");
                    Vec::new()
                }
            };
            if jobs.is_empty() {
                tokio::select! {
                    _ = tokio::time::sleep(self.options.idle_wait) => {}
                    _ = WORK_ARRIVED.notified() => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
            let (ran, error) = self.execute_batch(&worker, jobs, claimed, true).await;
            if let Some(e) = error {
                tracing::warn!(error = %e, "recording a job outcome failed; its lease will expire and it will run again");
            }
            if ran == 0 {
                // Everything claimed was handed back (budget low): pause like an idle worker
                // instead of spinning through the held-back backlog.
                tokio::select! {
                    _ = tokio::time::sleep(self.options.idle_wait) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    /// The scheduler loop: only the holder of the `scheduler` lease polls and reconciles.
    pub async fn run_scheduler(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let holder = self.options.process_id.clone();
        let ttl = self.scheduler_ttl();
        let mut last_reconcile: Option<tokio::time::Instant> = None;
        // Connections due for a reconcile that did not get it yet (put off while their rate
        // budget is low; tried again every tick).
        let mut owed = std::collections::BTreeSet::new();
        while !*stop.borrow() {
            match self.store.try_lead("scheduler", &holder, ttl).await {
                Ok(true) => {
                    if let Err(e) = self.fire_due_schedules(Utc::now()).await {
                        tracing::warn!(error = %e, "firing schedules failed");
                    }
                    if let Err(e) = self.poll_once().await {
                        tracing::warn!(error = %e, "poll failed");
                    }
                    let due =
                        last_reconcile.is_none_or(|t| t.elapsed() >= self.options.reconcile_every);
                    if due {
                        owed = self.reconciled_connections();
                        last_reconcile = Some(tokio::time::Instant::now());
                    }
                    if !owed.is_empty() {
                        if let Err(e) = self.reconcile_within_budget(&mut owed).await {
                            tracing::warn!(error = %e, "reconcile failed");
                            owed.clear();
                        }
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "scheduler lease check failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.options.poll_every) => {}
                _ = stop.changed() => {}
            }
        }
        let _ = self.store.release_lead("scheduler", &holder).await;
    }

    /// Starts the workers and the scheduler; they stop when `stop` turns true.
    pub fn spawn(self: Arc<Self>, stop: watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks: Vec<_> = (0..self.options.workers)
            .map(|i| tokio::spawn(self.clone().run_worker(i, stop.clone())))
            .collect();
        tasks.push(tokio::spawn(self.run_scheduler(stop)));
        tasks
    }
}
