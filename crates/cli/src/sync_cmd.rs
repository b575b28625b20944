//! `ghl-bridge sync`: the sync engine by hand — `run` (one pass: poll, run every due job, say
//! what was written), `backfill` (every record of a sync flow, with a progress bar; see
//! `sync_backfill`) and `status` (per connection: poll cursors, last API call and error, dead
//! jobs; the queue).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use connectors::EntityKind;
use engine::flow::{Flow, FlowBody, SyncDirection, Trigger};
use engine::runtime::Engine;
use engine::store::{
    CallFilter, ChangeFilter, ChangeOp, DlqFilter, JobState, Page, QueueStats, RunFilter, Store,
};
use serde_json::{json, Value};

use crate::project_ctx::{
    self, find_flow, non_empty, open_existing_store, print_json, ProjectArgs,
};
use crate::run_cmd::{prepare, Prepared, RunArgs};

/// Options of `ghl-bridge sync`.
#[derive(Args, Debug, Clone)]
pub struct SyncArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(subcommand)]
    pub action: SyncAction,
}

/// What to do.
#[derive(Subcommand, Debug, Clone)]
pub enum SyncAction {
    /// One pass: poll the apps for changes, run every due job, print what was written.
    Run {
        /// Poll only the connections this flow reads (and flows sharing them, so none misses
        /// a change); due jobs of every flow still run.
        #[arg(long)]
        flow: Option<String>,
        /// Also compare every record in full (catches deletes and dropped webhooks; slow).
        #[arg(long)]
        reconcile: bool,
        /// A JSON summary instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Sync every record of a sync flow again (or those changed since a date), showing progress
    /// while the jobs run.
    Backfill(crate::sync_backfill::BackfillArgs),
    /// Per connection: poll cursors, last API call, last error, dead jobs; and the job queue.
    Status {
        /// JSON for other tools.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `ghl-bridge sync`.
pub async fn run(args: SyncArgs) -> Result<(), String> {
    match &args.action {
        SyncAction::Run {
            flow,
            reconcile,
            json,
        } => run_pass(&args.project, non_empty(flow), *reconcile, *json).await,
        SyncAction::Backfill(b) => crate::sync_backfill::run(&args.project, b).await,
        SyncAction::Status { json } => status(&args.project, *json).await,
    }
}

/// Loads the project (errors say what to do), then connects it and opens the store the way
/// `run` does.
pub async fn prepare_engine(
    p: &ProjectArgs,
    workers: usize,
) -> Result<(engine::flow::Project, Arc<Engine>), String> {
    let project = project_ctx::load(&p.project)?;
    let args = RunArgs {
        project: p.project.clone(),
        database: Some(p.database_url()),
        workers,
        poll_every: Duration::from_secs(30),
        reconcile_every: Duration::from_secs(3600),
        lease: Duration::from_secs(60),
        grace: Duration::from_secs(10),
        once: true,
        retry_base: engine::runtime::EngineOptions::default().retry_base,
    };
    let Prepared { engine, .. } = prepare(&args, "sync").await?;
    // Flows switched off with `flows disable` (or the admin API) stay off here too.
    if let Err(e) =
        engine::flow_state::load(engine.store.as_ref(), &engine.options.disabled_flows).await
    {
        engine.store.close().await;
        return Err(format!("reading the flows switched off: {e}"));
    }
    Ok((project, engine))
}

/// Fails when `flow` is off: in its file, or switched off with `flows disable`.
pub fn check_on(engine: &Engine, flow: &Flow) -> Result<(), String> {
    if !flow.enabled {
        return Err(format!(
            "flow `{}` is off in its file: set `enabled: true` in {} first",
            flow.name, flow.file
        ));
    }
    if !engine.flow_enabled(flow) {
        return Err(format!(
            "flow `{}` is switched off: `ghl-bridge flows enable '{}'` first",
            flow.name, flow.name
        ));
    }
    Ok(())
}

/// The (connection, kind) streams whose changes start a flow.
fn streams_of(flow: &Flow) -> BTreeSet<(String, EntityKind)> {
    let mut out = BTreeSet::new();
    match (&flow.body, &flow.trigger) {
        (FlowBody::Sync(s), _) => {
            for k in &s.kinds {
                out.insert((s.source.clone(), *k));
                if s.direction == SyncDirection::TwoWay {
                    out.insert((s.target.clone(), *k));
                }
            }
        }
        (
            FlowBody::Actions(_),
            Trigger::Event {
                connection, kind, ..
            },
        ) => {
            out.insert((connection.clone(), *kind));
        }
        _ => {}
    }
    out
}

/// `name` and every enabled flow that shares a change stream with it, transitively. Polling
/// with fewer flows would move a cursor past changes another flow never got.
pub fn flows_sharing_streams(flows: &[Flow], name: &str) -> Vec<Flow> {
    let mut picked: BTreeSet<String> = BTreeSet::from([name.to_string()]);
    let mut streams: BTreeSet<(String, EntityKind)> = flows
        .iter()
        .filter(|f| f.name == name)
        .flat_map(streams_of)
        .collect();
    loop {
        let before = picked.len();
        for f in flows.iter().filter(|f| f.enabled) {
            let mine = streams_of(f);
            if !picked.contains(&f.name) && mine.iter().any(|s| streams.contains(s)) {
                picked.insert(f.name.clone());
                streams.extend(mine);
            }
        }
        if picked.len() == before {
            break;
        }
    }
    flows
        .iter()
        .filter(|f| f.enabled && picked.contains(&f.name))
        .cloned()
        .collect()
}

/// The same engine with only `flows` (for polling, reconciling or backfilling part of it).
pub fn engine_with(engine: &Engine, flows: Vec<Flow>) -> Engine {
    Engine {
        store: engine.store.clone(),
        flows,
        connectors: engine.connectors.clone(),
        options: engine.options.clone(),
    }
}

/// Writes since `since` (of `flow` when given), counted per flow, connection, kind and op.
pub async fn writes_since(
    store: &dyn Store,
    since: chrono::DateTime<chrono::Utc>,
    flow: Option<&str>,
) -> Result<Vec<Value>, String> {
    let mut counts: BTreeMap<(String, String, String), [u64; 3]> = BTreeMap::new();
    let mut page = Page {
        limit: 1000,
        offset: 0,
    };
    loop {
        let changes = store
            .changes(&ChangeFilter {
                flow_id: flow.map(str::to_owned),
                since: Some(since),
                page,
                ..ChangeFilter::default()
            })
            .await
            .map_err(|e| format!("reading the audit log: {e}"))?;
        for c in &changes {
            let c = &c.change;
            let slot = counts
                .entry((c.flow_id.clone(), c.connection_id.clone(), c.kind.clone()))
                .or_default();
            slot[match c.op {
                ChangeOp::Create => 0,
                ChangeOp::Update => 1,
                ChangeOp::Delete => 2,
            }] += 1;
        }
        if changes.len() < page.limit as usize {
            break;
        }
        page.offset += page.limit;
    }
    Ok(counts
        .into_iter()
        .map(|((flow, connection, kind), [created, updated, deleted])| {
            json!({"flow": flow, "connection": connection, "kind": kind,
                   "created": created, "updated": updated, "deleted": deleted})
        })
        .collect())
}

/// One line per row of [`writes_since`].
pub fn writes_text(writes: &[Value]) -> String {
    if writes.is_empty() {
        return "nothing was written to any app (everything was already in step)\n".into();
    }
    let mut out = String::new();
    for w in writes {
        out.push_str(&format!(
            "flow `{}` → {} {}: {} created, {} updated, {} deleted\n",
            w["flow"].as_str().unwrap_or_default(),
            w["connection"].as_str().unwrap_or_default(),
            w["kind"].as_str().unwrap_or_default(),
            w["created"],
            w["updated"],
            w["deleted"]
        ));
    }
    out
}

fn queue_json(q: &QueueStats) -> Value {
    serde_json::to_value(q).unwrap_or_default()
}

async fn run_pass(
    p: &ProjectArgs,
    flow: Option<String>,
    reconcile: bool,
    as_json: bool,
) -> Result<(), String> {
    let (project, engine) = prepare_engine(p, 1).await?;
    let started = chrono::Utc::now();
    let poller = match &flow {
        Some(name) => {
            let f = find_flow(&project, name)?;
            if let Err(e) = check_on(&engine, f) {
                engine.store.close().await;
                return Err(e);
            }
            Arc::new(engine_with(
                &engine,
                flows_sharing_streams(&engine.flows, name),
            ))
        }
        None => engine.clone(),
    };
    let mut errors = Vec::new();
    let polled = poller.poll_once().await.unwrap_or_else(|e| {
        errors.push(format!("poll: {e}"));
        0
    });
    let reconciled = if reconcile {
        poller.reconcile_once().await.unwrap_or_else(|e| {
            errors.push(format!("reconcile: {e}"));
            0
        })
    } else {
        0
    };
    let ran = engine.run_until_idle().await.unwrap_or_else(|e| {
        errors.push(format!("jobs: {e}"));
        0
    });
    let store = engine.store.clone();
    let writes = writes_since(store.as_ref(), started, None).await;
    let stats = store.queue_stats().await;
    store.close().await;
    let writes = writes?;
    let stats = stats.map_err(|e| format!("reading the queue: {e}"))?;
    if as_json {
        print_json(&json!({
            "flows": poller.flows.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
            "polled": polled, "reconciled": reconciled, "ran": ran,
            "writes": writes, "queue": queue_json(&stats), "errors": errors,
        }));
    } else {
        let names: Vec<&str> = poller.flows.iter().map(|f| f.name.as_str()).collect();
        println!(
            "polled {polled} change(s){}{}, ran {ran} job(s)",
            if flow.is_some() {
                format!(" for {}", names.join(", "))
            } else {
                String::new()
            },
            if reconcile {
                format!(", reconciled {reconciled} record(s)")
            } else {
                String::new()
            }
        );
        print!("{}", writes_text(&writes));
        println!(
            "queue: {} pending ({} due), {} leased, {} dead",
            stats.pending, stats.due, stats.leased, stats.dead
        );
        if stats.pending > stats.due {
            println!(
                "{} job(s) wait for a retry: run `ghl-bridge sync run` again later, or keep `ghl-bridge serve` running",
                stats.pending - stats.due
            );
        }
        if stats.dead > 0 {
            println!(
                "{} job(s) failed for good: `ghl-bridge dlq list` shows why",
                stats.dead
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}; check the connection settings and `ghl-bridge sync status`",
            errors.join("; ")
        ))
    }
}

/// Jobs waiting or running per connection (of the record they are about): pending, leased,
/// and the newest error of a pending job (one waiting for a retry). Reads at most 20 000 jobs
/// of each state; `capped` says when there were more.
#[derive(Default)]
struct ConnQueue {
    pending: u64,
    leased: u64,
    retry_error: Option<(chrono::DateTime<chrono::Utc>, String)>,
}

async fn queue_by_connection(
    store: &dyn Store,
) -> Result<(BTreeMap<String, ConnQueue>, bool), engine::store::StoreError> {
    let mut out: BTreeMap<String, ConnQueue> = BTreeMap::new();
    let mut capped = false;
    for state in [JobState::Pending, JobState::Leased] {
        let mut page = Page {
            limit: 1000,
            offset: 0,
        };
        loop {
            let runs = store
                .list_runs(&RunFilter {
                    state: Some(state),
                    page,
                    ..RunFilter::default()
                })
                .await?;
            for r in &runs {
                let conn = r.entity_key.split(':').next().unwrap_or_default();
                let q = out.entry(conn.to_string()).or_default();
                if state == JobState::Pending {
                    q.pending += 1;
                    if let Some(e) = &r.last_error {
                        if q.retry_error
                            .as_ref()
                            .is_none_or(|(at, _)| r.updated_at > *at)
                        {
                            q.retry_error = Some((r.updated_at, e.clone()));
                        }
                    }
                } else {
                    q.leased += 1;
                }
            }
            if runs.len() < page.limit as usize {
                break;
            }
            page.offset += page.limit;
            if page.offset >= 20_000 {
                capped = true;
                break;
            }
        }
    }
    Ok((out, capped))
}

/// Connection status, read from the store only (no app is called).
async fn connection_status(
    store: &dyn Store,
    name: &str,
    app: &str,
    dead: &[engine::store::Job],
    queue: Option<&ConnQueue>,
) -> Result<Value, engine::store::StoreError> {
    let mut cursors = serde_json::Map::new();
    for k in EntityKind::ALL {
        if let Some(c) = store.cursor(name, &format!("changes:{k}")).await? {
            cursors.insert(k.as_str().into(), json!(c));
        }
    }
    let calls = store
        .calls(&CallFilter {
            connection_id: Some(name.to_string()),
            page: Page {
                limit: 500,
                offset: 0,
            },
            ..CallFilter::default()
        })
        .await?;
    let last_call = calls.first().map(|c| {
        json!({"at": c.call.at, "method": c.call.method, "path": c.call.path, "status": c.call.status})
    });
    let last_failed = calls
        .iter()
        .find(|c| c.call.status.is_none_or(|s| s >= 400))
        .map(|c| {
            json!({"at": c.call.at, "method": c.call.method, "path": c.call.path, "status": c.call.status})
        });
    let mine: Vec<&engine::store::Job> = dead
        .iter()
        .filter(|j| j.entity_key.split(':').next() == Some(name))
        .collect();
    Ok(json!({
        "connection": name,
        "app": app,
        "cursors": cursors,
        "last_call": last_call,
        "last_failed_call": last_failed,
        "pending_jobs": queue.map_or(0, |q| q.pending),
        "leased_jobs": queue.map_or(0, |q| q.leased),
        "retry_error": queue.and_then(|q| q.retry_error.as_ref().map(|(_, e)| e.clone())),
        "dead_jobs": mine.len(),
        "last_job_error": mine.first().and_then(|j| j.last_error.clone()),
    }))
}

async fn status(p: &ProjectArgs, as_json: bool) -> Result<(), String> {
    let project = project_ctx::load(&p.project)?;
    let store = open_existing_store(p).await?;
    let result = async {
        let dead = store
            .dlq_list(
                &DlqFilter::default(),
                Page {
                    limit: 1000,
                    offset: 0,
                },
            )
            .await?;
        let (queues, capped) = queue_by_connection(store.as_ref()).await?;
        let mut conns = Vec::new();
        for (name, c) in &project.connections {
            conns.push(
                connection_status(
                    store.as_ref(),
                    name,
                    c.app.as_str(),
                    &dead,
                    queues.get(name),
                )
                .await?,
            );
        }
        let q = store.queue_stats().await?;
        Ok::<_, engine::store::StoreError>((conns, q, capped))
    }
    .await;
    store.close().await;
    let (conns, q, capped) = result.map_err(|e| format!("reading the store: {e}"))?;
    if as_json {
        print_json(
            &json!({"connections": conns, "queue": queue_json(&q), "counts_capped": capped}),
        );
        return Ok(());
    }
    for c in &conns {
        println!(
            "{} ({})",
            c["connection"].as_str().unwrap_or_default(),
            c["app"].as_str().unwrap_or_default()
        );
        match c["cursors"].as_object().filter(|m| !m.is_empty()) {
            Some(m) => {
                for (k, v) in m {
                    let v = v.as_str().unwrap_or_default();
                    let shown: String = v.chars().take(48).collect();
                    println!(
                        "  polled {k} up to: {shown}{}",
                        if v.len() > 48 { "…" } else { "" }
                    );
                }
            }
            None => println!("  not polled yet"),
        }
        let call = |v: &Value| {
            format!(
                "{} {} {} → {}",
                v["at"].as_str().unwrap_or_default(),
                v["method"].as_str().unwrap_or_default(),
                v["path"].as_str().unwrap_or_default(),
                v["status"]
                    .as_u64()
                    .map_or("no answer".into(), |s| s.to_string())
            )
        };
        match c.get("last_call").filter(|v| !v.is_null()) {
            Some(v) => println!("  last API call: {}", call(v)),
            None => println!("  no API call recorded"),
        }
        if let Some(v) = c.get("last_failed_call").filter(|v| !v.is_null()) {
            println!("  last failed call: {}", call(v));
        }
        println!(
            "  jobs: {} pending, {} running, {} dead{}",
            c["pending_jobs"],
            c["leased_jobs"],
            c["dead_jobs"],
            if capped { " (counted up to 20000)" } else { "" }
        );
        if let Some(e) = c["retry_error"].as_str() {
            println!("  a job waits for a retry after: {e}");
        }
        if c["dead_jobs"].as_u64().unwrap_or(0) > 0 {
            println!(
                "  {} dead job(s); last error: {}",
                c["dead_jobs"],
                c["last_job_error"].as_str().unwrap_or("-")
            );
        }
    }
    println!(
        "queue (all connections): {} pending ({} due), {} leased, {} dead{}",
        q.pending,
        q.due,
        q.leased,
        q.dead,
        q.oldest_due_age_ms.map_or(String::new(), |ms| format!(
            "; oldest due job waits {}s",
            ms / 1000
        ))
    );
    if q.dead > 0 {
        println!("`ghl-bridge dlq list` shows the dead jobs; `dlq replay` runs them again");
    }
    Ok(())
}
