//! `ghl-bridge sync backfill --flow NAME [--since DATE]`: syncs every record of a sync flow
//! again — after a first connect, a mapping change, or an outage longer than the apps keep
//! changes.
//!
//! It lists every live record on the flow's source (and target, for a two-way sync) as a
//! reconcile does, keeps those changed since `--since`, and enqueues one backfill-priority job
//! each (events and jobs in one transaction, as the engine's ingest does), under event keys
//! unique to this run so an earlier backfill of the same records does not hide them. Worker
//! loops in this process then run the queue (also jobs of other flows that are due, and other
//! processes may help) while a progress bar counts this backfill's jobs finished, with rate and
//! ETA. It stops when every job is done or dead, or when the rest only wait for a retry later
//! (a running `ghl-bridge serve` or the next `sync run` finishes them). Real-time work keeps
//! priority over the backfill and the apps' rate budgets are respected, as in `run`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use clap::Args;
use engine::flow::{FlowBody, SyncDirection};
use engine::store::{
    EventSource, EventWithJobs, JobId, JobState, NewEvent, NewJob, Priority, Store,
};
use engine::sync::RecordRef;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use tokio::sync::watch;

use crate::project_ctx::{find_flow, parse_since, print_json, ProjectArgs};
use crate::sync_cmd::{check_on, prepare_engine, writes_since, writes_text};

/// Options of `sync backfill`.
#[derive(Args, Debug, Clone)]
pub struct BackfillArgs {
    /// The sync flow to backfill (see `ghl-bridge flows list`).
    #[arg(long)]
    pub flow: String,
    /// Only records changed since: 2024-03-01, 2024-03-01T10:00:00Z, or back from now (7d).
    /// Records whose app does not say when they changed are always included.
    #[arg(long, value_parser = parse_since)]
    pub since: Option<chrono::DateTime<Utc>>,
    /// Worker loops running the jobs.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: u16,
    /// Enqueue the jobs and exit; a running `ghl-bridge serve` (or `sync run`) works them off.
    #[arg(long)]
    pub no_wait: bool,
    /// A final JSON summary instead of the progress bar and text.
    #[arg(long)]
    pub json: bool,
    /// Share of each app's burst window (in %) the backfill leaves for real-time work while
    /// there is some (a real-time or poll job within the last 10 s, in any process), as `run`
    /// and `serve` do (25). With none about it uses the whole rate limit either way; 0 never
    /// keeps a reserve. The pacer prevents 429s in every case.
    #[arg(long, default_value_t = 25.0, value_parser = parse_reserve)]
    pub budget_reserve: f64,
}

fn parse_reserve(s: &str) -> Result<f64, String> {
    match s.trim_end_matches('%').parse::<f64>() {
        Ok(v) if (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a percentage from 0 to 100")),
    }
}

/// Enqueues a batch of records; returns the ids of the jobs that will sync them.
async fn enqueue(
    store: &dyn Store,
    flow: &str,
    run_id: i64,
    refs: &[RecordRef],
) -> Result<Vec<JobId>, String> {
    let now = Utc::now();
    let batch: Vec<EventWithJobs> = refs
        .iter()
        .map(|r| EventWithJobs {
            event: NewEvent {
                connection_id: r.connection.clone(),
                event_key: format!("backfill:{flow}:{run_id}:{}:{}", r.kind, r.id),
                kind: r.kind.as_str().to_string(),
                entity_id: r.id.clone(),
                parent_id: r.parent_id.clone(),
                source: EventSource::Reconcile,
                payload: json!({"type": "backfill", "deleted": false}),
                received_at: now,
            },
            jobs: vec![NewJob {
                payload: json!(r),
                priority: Priority::BACKFILL,
                ..NewJob::new(flow, r.entity_key())
            }],
        })
        .collect();
    let out = store
        .append_events_and_enqueue(&batch)
        .await
        .map_err(|e| format!("enqueueing the backfill: {e}"))?;
    Ok(out
        .into_iter()
        .flat_map(|o| o.jobs.into_iter().map(|j| j.job_id))
        .collect())
}

/// Retries due within this many seconds are waited for before the backfill stops: a child
/// record's first try often comes before its contact's job finished (the workers run in
/// parallel), and its retry (2–4 s later) then succeeds. Leaving those to a later `serve` would
/// end almost every backfill with a few records not yet synced.
const SHORT_WAIT_SECS: i64 = 10;

/// This backfill's jobs as last seen: finished ones are counted and dropped; an unfinished
/// one keeps the time it waits until when it waits for a retry (or a rate-budget hold).
#[derive(Default)]
struct Tracker {
    remaining: BTreeMap<JobId, Option<chrono::DateTime<Utc>>>,
    /// Where the next check starts: each tick reads a window of jobs, going round, so jobs
    /// waiting for a retry at the front do not hide the others.
    next: Option<JobId>,
    done: u64,
    dead: u64,
}

impl Tracker {
    /// Reads up to `window` unfinished jobs, from where the last check stopped.
    async fn check(&mut self, store: &dyn Store, window: usize) -> Result<(), String> {
        let start = self.next.unwrap_or(JobId(i64::MIN));
        let ids: Vec<JobId> = self
            .remaining
            .range(start..)
            .chain(self.remaining.range(..start))
            .map(|(id, _)| *id)
            .take(window)
            .collect();
        self.next = self
            .remaining
            .range(ids.last().map_or(start, |l| JobId(l.0 + 1))..)
            .next()
            .map(|(id, _)| *id);
        for id in ids {
            let job = store
                .job(id)
                .await
                .map_err(|e| format!("reading job {id}: {e}"))?;
            let state = job.as_ref().map(|j| (j.state, j.run_at));
            match state {
                // Merged into another job of the same record: that one does the work.
                None | Some((JobState::Done, _)) => {
                    self.done += 1;
                    self.remaining.remove(&id);
                }
                Some((JobState::Dead, _)) => {
                    self.dead += 1;
                    self.remaining.remove(&id);
                }
                Some((JobState::Pending, run_at)) => {
                    self.remaining.insert(id, Some(run_at));
                }
                Some((JobState::Leased, _)) => {
                    self.remaining.insert(id, None);
                }
            }
        }
        Ok(())
    }

    /// True when every unfinished job was seen waiting to run more than [`SHORT_WAIT_SECS`]
    /// from now (a retry later): nothing is left for the workers to do soon. Shorter waits are
    /// waited out: a task or note tried while its contact was still being synced (or a job
    /// handed back while the burst budget was low) comes due again within seconds.
    fn only_waiting(&self) -> bool {
        let soon = Utc::now() + chrono::Duration::seconds(SHORT_WAIT_SECS);
        self.remaining
            .values()
            .all(|until| until.is_some_and(|t| t > soon))
    }
}

/// Runs `sync backfill`.
pub async fn run(p: &ProjectArgs, args: &BackfillArgs) -> Result<(), String> {
    let (project, engine) = prepare_engine(p, usize::from(args.workers)).await?;
    let mut options = engine.options.clone();
    options.budget.min_burst_left = args.budget_reserve / 100.0;
    let engine = Arc::new(engine::runtime::Engine {
        store: engine.store.clone(),
        flows: engine.flows.clone(),
        connectors: engine.connectors.clone(),
        options,
    });
    let store = engine.store.clone();
    let out = backfill(&project, engine, args).await;
    store.close().await;
    out
}

async fn backfill(
    project: &engine::flow::Project,
    engine: Arc<engine::runtime::Engine>,
    args: &BackfillArgs,
) -> Result<(), String> {
    let flow = find_flow(project, &args.flow)?;
    let FlowBody::Sync(spec) = &flow.body else {
        return Err(format!(
            "flow `{}` is an actions flow; only sync flows are backfilled (`ghl-bridge flows list` shows their kinds)",
            flow.name
        ));
    };
    check_on(&engine, flow)?;
    let show_bar = !args.json && std::io::stdout().is_terminal();
    let bar = ProgressBar::with_draw_target(
        None,
        if show_bar {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let started = Utc::now();
    let run_id = started.timestamp_micros();
    let mut sides = vec![spec.source.clone()];
    if spec.direction == SyncDirection::TwoWay {
        sides.push(spec.target.clone());
    }
    let store = engine.store.clone();
    let mut ids: BTreeSet<JobId> = BTreeSet::new();
    let (mut listed, mut skipped) = (0u64, 0u64);
    for conn in &sides {
        let connector = engine.connectors.get(conn).ok_or_else(|| {
            format!(
                "connection `{conn}` is not connected; check it with `ghl-bridge flows validate`"
            )
        })?;
        for kind in &spec.kinds {
            let mut cursor: Option<String> = None;
            loop {
                bar.set_message(format!("listing {conn} {kind} records: {listed} found"));
                let page = match connector.list_all(*kind, cursor.as_deref()).await {
                    Ok(p) => p,
                    Err(connectors::ConnectorError::Unsupported(_)) => break,
                    Err(e) => {
                        bar.finish_and_clear();
                        return Err(format!("listing {kind} records of `{conn}`: {e}; check the connection (`ghl-bridge sync status`) and try again"));
                    }
                };
                let refs: Vec<RecordRef> = page
                    .records
                    .iter()
                    .filter(|r| !r.deleted)
                    .filter(|r| {
                        let keep = match (args.since, r.updated_at) {
                            (Some(since), Some(at)) => at >= since,
                            _ => true,
                        };
                        skipped += u64::from(!keep);
                        keep
                    })
                    .map(|r| RecordRef {
                        connection: conn.clone(),
                        kind: r.kind,
                        id: r.id.clone(),
                        parent_id: r.parent_id.clone(),
                        deleted: false,
                    })
                    .collect();
                listed += refs.len() as u64;
                ids.extend(enqueue(store.as_ref(), &flow.name, run_id, &refs).await?);
                match page.next_cursor {
                    Some(c) if !page.done => cursor = Some(c),
                    _ => break,
                }
            }
        }
    }
    let total = ids.len() as u64;
    if args.no_wait || total == 0 {
        bar.finish_and_clear();
        let summary = json!({"flow": flow.name, "records": listed, "skipped_as_older": skipped,
                             "jobs": total, "waited": false});
        if args.json {
            print_json(&summary);
        } else if total == 0 {
            println!(
                "nothing to backfill: `{}` lists no records{}",
                sides.join("` and `"),
                if args.since.is_some() {
                    " changed since then"
                } else {
                    ""
                }
            );
        } else {
            println!("enqueued {total} job(s) for {listed} record(s); a running `ghl-bridge serve` works them off (`ghl-bridge sync status` shows the queue)");
        }
        return Ok(());
    }
    bar.set_length(total);
    bar.set_position(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40.cyan/blue} {pos}/{len} records  {per_sec}  ETA {eta}  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("");
    let (stop, stopped) = watch::channel(false);
    let tasks: Vec<_> = (0..engine.options.workers)
        .map(|i| tokio::spawn(engine.clone().run_worker(i, stopped.clone())))
        .collect();
    let mut tracker = Tracker {
        remaining: ids.into_iter().map(|id| (id, None)).collect(),
        ..Tracker::default()
    };
    let mut interrupted = false;
    let outcome = loop {
        if let Err(e) = tracker.check(store.as_ref(), 256).await {
            break Err(e);
        }
        bar.set_position(tracker.done + tracker.dead);
        if tracker.dead > 0 {
            bar.set_message(format!("{} failed", tracker.dead));
        }
        if tracker.remaining.is_empty() || tracker.only_waiting() {
            break Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            _ = tokio::signal::ctrl_c() => { interrupted = true; break Ok(()); }
        }
    };
    let _ = stop.send(true);
    for t in tasks {
        let _ = t.await;
    }
    bar.finish_and_clear();
    outcome?;
    let elapsed = (Utc::now() - started).num_milliseconds().max(1) as f64 / 1000.0;
    let writes = writes_since(store.as_ref(), started, Some(&flow.name)).await?;
    let left = tracker.remaining.len() as u64;
    let summary = json!({
        "flow": flow.name, "records": listed, "skipped_as_older": skipped, "jobs": total,
        "done": tracker.done, "dead": tracker.dead, "left": left, "interrupted": interrupted,
        "seconds": elapsed, "writes": writes, "waited": true,
    });
    if args.json {
        print_json(&summary);
    } else {
        println!(
            "backfilled `{}`: {} of {total} record(s) synced in {elapsed:.1}s ({:.1}/s)",
            flow.name,
            tracker.done,
            tracker.done as f64 / elapsed
        );
        print!("{}", writes_text(&writes));
        if left > 0 {
            println!(
                "{left} job(s) {}; a running `ghl-bridge serve` or the next `ghl-bridge sync run` finishes them",
                if interrupted { "were left queued (interrupted)" } else { "wait for a retry" }
            );
        }
    }
    if tracker.dead > 0 {
        return Err(format!(
            "{} record(s) failed for good; `ghl-bridge dlq list --flow '{}'` shows why, `dlq replay --all --flow '{}'` retries them",
            tracker.dead, flow.name, flow.name
        ));
    }
    Ok(())
}
