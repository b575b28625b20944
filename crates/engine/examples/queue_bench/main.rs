//! Queue benchmark: how many events per second go through the engine's durable queue, and how
//! long an event waits until its job is done, on SQLite and on PostgreSQL with one or several
//! engine processes. It prints figures and asserts nothing about speed (a timed test would be
//! flaky on shared machines); it does check that every job ran exactly once.
//!
//! ```sh
//! cargo run --release -p engine --example queue_bench -- \
//!     [--backend sqlite|postgres|both] [--processes 1|3|both] [--events N] [--json]
//! ```
//!
//! More knobs: `--rate R` and `--seconds S` (latency phase, default 500 events/s for 10 s),
//! `--e2e-events M` (default 1000; 0 skips the phase), `--workers W` (worker loops per process,
//! default 4), `--idle-ms MS` and `--claim-batch N` (the engine's `idle_wait` and `claim_batch`;
//! default: the engine's defaults), `--phases queue,latency,e2e` (default all),
//! `--database-url URL` (default `$DATABASE_URL`, else `postgres://postgres@127.0.0.1:5432/test`).
//! `--processes both` (the default) runs PostgreSQL with 1 and 3 processes and SQLite with 1; ask
//! for `--backend sqlite --processes 3` to run SQLite with 3 processes on one file.
//!
//! Everything runs on loopback and is started here: a GHL sandbox (with a high rate limit) and a
//! Your App emulator in this process; the engine in this process (1 process) or as child processes
//! (this binary re-invoked with the hidden `--worker` flag, told what to do on stdin; they share
//! one store). Each phase gets a fresh store: a SQLite file in a temp dir, or a new PostgreSQL
//! schema that is dropped afterwards (also on Ctrl-C). Every wait has a deadline.
//!
//! Phases, per configuration (backend × processes):
//! 1. **queue** — N change hints (half for distinct contacts, half for a hot eighth of contacts,
//!    four each) go in through `Engine::ingest` in batches of 100 from 4 tasks while no worker
//!    runs; then the workers drain the backlog. The executor is the real one (worker loop →
//!    `SyncJob`) over a stub connector whose records are gone: `get` answers "not found" without
//!    I/O, the job reads one link, finds none and completes with an empty commit. So the figures
//!    are the queue's own: ingest transactions, claims, completions.
//! 2. **latency** — R events/s offered for S seconds, one event per `ingest` call (as webhooks
//!    arrive), open loop (each arrival on its own task at its scheduled time, so a slow store
//!    cannot slow the arrivals down), workers running, same stub executor. Latency = the event's
//!    `received_at` → its job's `finished_at`, both read from the store.
//! 3. **e2e** — M GHL sandbox contacts synced to the Your App emulator by a one-way contact sync
//!    over the real connectors (audited, as the engine runs them): ingest, then drain.
//!
//! Exactly once: the source connector records, per job, the worker tasks that ran it (every run
//! re-fetches the record; the job id comes from `engine::audit::CURRENT_JOB`, the task from
//! `tokio::task::try_id`); every process reports its counts at the end. A done job must have run
//! at most `attempts + 1` times (attempts count failed runs) and at least once, and no job may be
//! left pending, leased or dead.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use connectors::ghl::{GhlConfig, GhlConnector};
use connectors::your_app::{YourAppConfig, YourAppConnector};
use connectors::{
    Capabilities, ChangeHint, ChangePage, Connector, ConnectorError, EntityKind, MatchKey, Record,
};
use engine::flow::{parse_flow, AppKind, Connections};
use engine::runtime::{Engine, EngineOptions};
use engine::store::{self, Backend, EventSource, Store};
use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig as GhlSandboxConfig, GhlSandbox};
use ghl_sandbox::rest::ratelimit::RateLimit;
use ghl_sandbox::rest::{RestConfig, RestSandbox};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Connection, Executor, PgConnection, PgPool, SqlitePool};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::watch;
use tokio::time::Instant;

const USAGE: &str = "usage: queue_bench [--backend sqlite|postgres|both] [--processes 1|3|both] \
[--events N] [--rate EVENTS_PER_S] [--seconds S] [--e2e-events M] [--workers W] \
[--idle-ms MS] [--claim-batch N] [--phases queue,latency,e2e] [--database-url URL] [--json]";

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Hints per `ingest` call and concurrent ingest tasks when loading a backlog.
const BACKLOG_BATCH: usize = 100;
const BACKLOG_TASKS: usize = 4;

/// Deadlines: every wait of the benchmark ends.
const CHILD_READY: Duration = Duration::from_secs(30);
const CHILD_STOP: Duration = Duration::from_secs(30);
const CHILD_LIFETIME: Duration = Duration::from_secs(300);
const INGEST_DEADLINE: Duration = Duration::from_secs(90);
const DRAIN_DEADLINE: Duration = Duration::from_secs(90);
const LATENCY_GRACE: Duration = Duration::from_secs(30);

/// The queue phase's flow: `app` → `crm`, both stubs (see [`Gone`]).
const NOOP_FLOW: &str =
    "name: bench noop\nsync:\n  source: app\n  target: crm\n  kinds: [contact]\n";

/// The end-to-end flow: GHL contacts to Your App, matched by email.
const SYNC_FLOW: &str = "name: bench ghl to crm\nsync:\n  source: ghl\n  target: crm\n  \
direction: one_way\n  kinds: [contact]\n  match:\n    contact: [email]\n";

type Res<T> = Result<T, String>;

const PHASES: [&str; 3] = ["queue", "latency", "e2e"];

mod args;
mod bench_db;
mod executor;
mod figures;
mod phases;
mod report;
mod workers;

use args::*;
use bench_db::*;
use executor::*;
use figures::*;
use phases::*;
use report::*;
use workers::*;

/// The parsed command line (see [`args::parse_args`]).
#[derive(Debug, Clone, Serialize)]
struct Args {
    backends: Vec<Backend>,
    processes: Vec<usize>,
    #[serde(skip)]
    processes_given: bool,
    events: usize,
    rate: u32,
    seconds: u64,
    e2e_events: usize,
    workers: usize,
    idle_ms: u64,
    claim_batch: u32,
    phases: Vec<String>,
    #[serde(skip)]
    database_url: String,
    #[serde(skip)]
    json: bool,
}

async fn run(args: Args) -> Res<bool> {
    let started = std::time::Instant::now();
    let load_before = load_average();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut configs = Vec::new();
    for &b in &args.backends {
        for &p in &args.processes {
            if b == Backend::Sqlite && p > 1 && !args.processes_given {
                continue;
            }
            configs.push((b, p));
        }
    }
    let ghl = if args.e2e_events > 0 && args.phases.iter().any(|p| p == "e2e") {
        eprintln!("starting the GHL sandbox with {} contacts", args.e2e_events);
        Some(start_ghl(args.e2e_events).await?)
    } else {
        None
    };
    let mut results = Vec::new();
    for (backend, processes) in configs {
        let tag = format!("[{} ×{processes}]", backend_name(backend));
        let mut r = RunFigures {
            backend,
            processes,
            workers_per_process: args.workers,
            queue: None,
            latency: None,
            e2e: None,
            errors: Vec::new(),
            load_1m: (load_average(), None),
        };
        let wants = |p: &str| args.phases.iter().any(|x| x == p);
        if wants("queue") {
            eprintln!("{tag} queue: {} events, ingest then drain", args.events);
            match phase_queue(&args, backend, processes).await {
                Ok(q) => {
                    eprintln!(
                        "{tag}   ingest {} ev/s, drain {} jobs/s, exactly once: {}",
                        fmt(q.ingest_events_per_s, 0),
                        fmt(q.drain_jobs_per_s, 0),
                        yes(q.once.ok)
                    );
                    r.queue = Some(q);
                }
                Err(e) => r.errors.push(format!("queue: {e}")),
            }
        }
        if wants("latency") {
            eprintln!(
                "{tag} latency: {} events/s offered for {} s",
                args.rate, args.seconds
            );
            match phase_latency(&args, backend, processes).await {
                Ok(l) => {
                    eprintln!(
                        "{tag}   p50 {} ms, p99 {} ms, exactly once: {}",
                        fmt(l.p50_ms, 1),
                        fmt(l.p99_ms, 1),
                        yes(l.once.ok)
                    );
                    r.latency = Some(l);
                }
                Err(e) => r.errors.push(format!("latency: {e}")),
            }
        }
        if let (Some(ghl), true) = (&ghl, wants("e2e")) {
            eprintln!(
                "{tag} e2e: {} GHL contacts → Your App",
                ghl.contact_ids.len()
            );
            match phase_e2e(&args, backend, processes, ghl).await {
                Ok(e) => {
                    eprintln!(
                        "{tag}   drain {} jobs/s, exactly once: {}",
                        fmt(e.drain_jobs_per_s, 0),
                        yes(e.once.ok)
                    );
                    r.e2e = Some(e);
                }
                Err(e) => r.errors.push(format!("e2e: {e}")),
            }
        }
        for e in &r.errors {
            eprintln!("{tag} FAILED {e}");
        }
        r.load_1m.1 = load_average();
        results.push(r);
    }
    if let Some(g) = ghl {
        g.sandbox.shutdown().await;
    }
    let scale_queue = ratio(&results, |r| r.queue.as_ref().map(|q| q.drain_jobs_per_s));
    let scale_e2e = ratio(&results, |r| r.e2e.as_ref().map(|e| e.drain_jobs_per_s));
    let all_ok = results.iter().all(|r| {
        r.errors.is_empty()
            && r.queue.as_ref().is_none_or(|q| q.once.ok && q.drained)
            && r.latency
                .as_ref()
                .is_none_or(|l| l.once.ok && l.unfinished == 0)
            && r.e2e
                .as_ref()
                .is_none_or(|e| e.once.ok && e.drained && e.created == e.expected)
    });
    let elapsed = started.elapsed().as_secs_f64();
    let load_after = load_average();
    if args.json {
        let doc = json!({
            "benchmark": "queue_bench",
            "date": Utc::now().to_rfc3339(),
            "cpus": cpus,
            "load_average_1m": {"before": load_before, "after": load_after},
            "settings": args,
            "results": results,
            "postgres_3_vs_1": {"queue_drain": scale_queue, "e2e_drain": scale_e2e},
            "all_exactly_once": all_ok,
            "elapsed_s": elapsed,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?
        );
        return Ok(all_ok);
    }
    println!(
        "queue_bench — {cpus} CPUs, {} worker loops per process, claim batch {}, \
         idle wait {} ms, {}",
        args.workers,
        args.claim_batch,
        args.idle_ms,
        Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    let rows: Vec<Vec<String>> = results
        .iter()
        .filter_map(|r| {
            let q = r.queue.as_ref()?;
            Some(vec![
                backend_name(r.backend).into(),
                r.processes.to_string(),
                q.events.to_string(),
                q.jobs.to_string(),
                fmt(q.events_per_job, 2),
                fmt(q.ingest_events_per_s, 0),
                fmt(q.drain_jobs_per_s, 0),
                fmt(q.through_events_per_s, 0),
                yes(q.once.ok && q.drained).into(),
            ])
        })
        .collect();
    print_table(
        &format!(
            "Queue throughput — stub sync executor; {} hints in batches of {BACKLOG_BATCH} \
             from {BACKLOG_TASKS} tasks with workers idle, then drain",
            args.events
        ),
        &QUEUE_HEAD,
        &rows,
    );
    let rows: Vec<Vec<String>> = results
        .iter()
        .filter_map(|r| {
            let l = r.latency.as_ref()?;
            Some(vec![
                backend_name(r.backend).into(),
                r.processes.to_string(),
                l.events.to_string(),
                fmt(l.achieved_per_s, 0),
                format!(
                    "{}/{}",
                    fmt(l.ingest_call_p50_ms, 1),
                    fmt(l.ingest_call_p99_ms, 1)
                ),
                fmt(l.p50_ms, 1),
                fmt(l.p90_ms, 1),
                fmt(l.p99_ms, 1),
                fmt(l.max_ms, 1),
                l.unfinished.to_string(),
                yes(l.once.ok).into(),
            ])
        })
        .collect();
    print_table(
        &format!(
            "Job latency (event received_at → job finished_at) — {} events/s offered for {} s, \
             one event per ingest call, workers running",
            args.rate, args.seconds
        ),
        &LATENCY_HEAD,
        &rows,
    );
    let rows: Vec<Vec<String>> = results
        .iter()
        .filter_map(|r| {
            let e = r.e2e.as_ref()?;
            Some(vec![
                backend_name(r.backend).into(),
                r.processes.to_string(),
                e.jobs.to_string(),
                fmt(e.drain_s, 2),
                fmt(e.drain_jobs_per_s, 0),
                format!("{}/{}", e.created, e.expected),
                yes(e.once.ok && e.drained).into(),
            ])
        })
        .collect();
    print_table(
        "End to end — one-way contact sync GHL sandbox → Your App emulator over HTTP \
         (audited connectors), backlog then drain",
        &E2E_HEAD,
        &rows,
    );
    if scale_queue.is_some() || scale_e2e.is_some() {
        println!(
            "\nPostgreSQL, 3 processes vs 1: queue drain ×{}, end-to-end drain ×{}",
            scale_queue.map_or("-".into(), |v| fmt(v, 2)),
            scale_e2e.map_or("-".into(), |v| fmt(v, 2))
        );
    }
    for r in &results {
        for e in &r.errors {
            println!("FAILED {} ×{}: {e}", backend_name(r.backend), r.processes);
        }
    }
    println!(
        "\nevery job ran exactly once: {}; total {elapsed:.0} s; \
         1-minute load average {} before, {} after",
        yes(all_ok),
        load_before.map_or("-".into(), |v| fmt(v, 2)),
        load_after.map_or("-".into(), |v| fmt(v, 2))
    );
    Ok(all_ok)
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let list: Vec<String> = std::env::args().skip(1).collect();
    if list.first().map(String::as_str) == Some("--worker") {
        return worker_main().await;
    }
    if list.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args = match parse_args(&list) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let outcome = tokio::select! {
        r = run(args) => r,
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
    };
    // Dropped on every path (the phases drop their own; this catches an interrupted one).
    drop_registered_schemas().await;
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("queue_bench: {e}");
            ExitCode::FAILURE
        }
    }
}
