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

// ----- arguments ---------------------------------------------------------------------------------

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

fn parse_args(list: &[String]) -> Res<Args> {
    let mut a = Args {
        backends: vec![Backend::Sqlite, Backend::Postgres],
        processes: vec![1, 3],
        processes_given: false,
        events: 20_000,
        rate: 500,
        seconds: 10,
        e2e_events: 1_000,
        workers: 4,
        idle_ms: u64::try_from(EngineOptions::default().idle_wait.as_millis()).unwrap_or(50),
        claim_batch: EngineOptions::default().claim_batch,
        phases: PHASES.iter().map(|p| p.to_string()).collect(),
        database_url: std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_string()),
        json: false,
    };
    fn num<T>(flag: &str, v: &str, min: T) -> Res<T>
    where
        T: FromStr + PartialOrd + std::fmt::Display,
    {
        match v.parse::<T>() {
            Ok(n) if n >= min => Ok(n),
            _ => Err(format!(
                "{flag} wants a number of at least {min}, not `{v}`"
            )),
        }
    }
    let mut it = list.iter();
    while let Some(flag) = it.next() {
        let flag = flag.as_str();
        if flag == "--json" {
            a.json = true;
            continue;
        }
        const WITH_VALUE: [&str; 11] = [
            "--backend",
            "--processes",
            "--events",
            "--rate",
            "--seconds",
            "--e2e-events",
            "--workers",
            "--idle-ms",
            "--claim-batch",
            "--phases",
            "--database-url",
        ];
        if !WITH_VALUE.contains(&flag) {
            return Err(format!("unknown argument `{flag}`\n{USAGE}"));
        }
        let v = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?
            .as_str();
        match flag {
            "--backend" => {
                a.backends = match v {
                    "sqlite" => vec![Backend::Sqlite],
                    "postgres" => vec![Backend::Postgres],
                    "both" => vec![Backend::Sqlite, Backend::Postgres],
                    _ => return Err(format!("--backend is sqlite, postgres or both\n{USAGE}")),
                }
            }
            "--processes" => {
                a.processes_given = v != "both";
                a.processes = match v {
                    "both" => vec![1, 3],
                    n => vec![num(flag, n, 1usize)?.min(16)],
                }
            }
            "--events" => a.events = num(flag, v, 8)?,
            "--rate" => a.rate = num(flag, v, 1)?,
            "--seconds" => a.seconds = num(flag, v, 1)?,
            "--e2e-events" => a.e2e_events = num(flag, v, 0)?,
            "--workers" => a.workers = num(flag, v, 1)?,
            "--idle-ms" => a.idle_ms = num(flag, v, 1)?,
            "--claim-batch" => a.claim_batch = num(flag, v, 1)?,
            "--phases" => {
                a.phases = v.split(',').map(|p| p.trim().to_string()).collect();
                if let Some(p) = a.phases.iter().find(|p| !PHASES.contains(&p.as_str())) {
                    return Err(format!(
                        "unknown phase `{p}`: {}\n{USAGE}",
                        PHASES.join(", ")
                    ));
                }
            }
            "--database-url" => a.database_url = v.to_string(),
            _ => return Err(format!("unknown argument `{flag}`\n{USAGE}")),
        }
    }
    Ok(a)
}

// ----- the executor: a real sync flow over counting connectors -----------------------------------

/// Runs per job in this process, as seen by the source connector of the flow: the worker tasks
/// that read a job's record. One run may read it more than once (on first sight of a person the
/// job reads the record again under the identity's lock), but always from the task of the worker
/// loop that claimed it; a second run needs a second claim, by another worker loop (another task,
/// here or in another process) or, after its lease ran out, counted as an attempt.
#[derive(Default)]
struct Executions(Mutex<HashMap<i64, HashSet<tokio::task::Id>>>);

impl Executions {
    fn record(&self) {
        let job = engine::audit::CURRENT_JOB.try_with(|j| *j).ok().flatten();
        if let (Some(job), Some(task)) = (job, tokio::task::try_id()) {
            let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(job.0).or_default().insert(task);
        }
    }

    fn snapshot(&self) -> Vec<(i64, u32)> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .map(|(job, tasks)| (*job, u32::try_from(tasks.len()).unwrap_or(u32::MAX)))
            .collect()
    }
}

/// An app whose records are all gone: `get` answers "not found" without any I/O.
struct Gone;

fn stub(what: &str) -> ConnectorError {
    ConnectorError::Unsupported(format!("{what} (queue_bench stub)"))
}

#[async_trait]
impl Connector for Gone {
    fn app(&self) -> &str {
        "your_app"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            kinds: vec![EntityKind::Contact],
            incremental: false,
            email_lookup_exact: false,
            native_tags: false,
            webhooks: false,
            deletes_visible: false,
        }
    }

    async fn list_changed(
        &self,
        _: EntityKind,
        _: Option<&str>,
    ) -> Result<ChangePage, ConnectorError> {
        Err(stub("listing"))
    }

    async fn list_all(&self, _: EntityKind, _: Option<&str>) -> Result<ChangePage, ConnectorError> {
        Err(stub("listing"))
    }

    async fn get(
        &self,
        _: EntityKind,
        _: &str,
        _: Option<&str>,
    ) -> Result<Option<Record>, ConnectorError> {
        Ok(None)
    }

    async fn find(&self, _: EntityKind, _: &MatchKey) -> Result<Option<Record>, ConnectorError> {
        Ok(None)
    }

    async fn create(
        &self,
        _: EntityKind,
        _: Option<&str>,
        _: &Map<String, Value>,
        _: &str,
    ) -> Result<Record, ConnectorError> {
        Err(stub("create"))
    }

    async fn update(
        &self,
        _: EntityKind,
        _: &str,
        _: Option<&str>,
        _: &Map<String, Value>,
    ) -> Result<Record, ConnectorError> {
        Err(stub("update"))
    }

    async fn delete(&self, _: EntityKind, _: &str, _: Option<&str>) -> Result<(), ConnectorError> {
        Ok(())
    }
}

/// A connector that records the job runs reaching `get` (every sync job starts by re-fetching
/// its record from the source).
struct Counted {
    inner: Arc<dyn Connector>,
    executions: Arc<Executions>,
}

#[async_trait]
impl Connector for Counted {
    fn app(&self) -> &str {
        self.inner.app()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn list_changed(
        &self,
        kind: EntityKind,
        cursor: Option<&str>,
    ) -> Result<ChangePage, ConnectorError> {
        self.inner.list_changed(kind, cursor).await
    }

    async fn list_all(
        &self,
        kind: EntityKind,
        cursor: Option<&str>,
    ) -> Result<ChangePage, ConnectorError> {
        self.inner.list_all(kind, cursor).await
    }

    async fn get(
        &self,
        kind: EntityKind,
        id: &str,
        parent_id: Option<&str>,
    ) -> Result<Option<Record>, ConnectorError> {
        self.executions.record();
        self.inner.get(kind, id, parent_id).await
    }

    async fn find(
        &self,
        kind: EntityKind,
        key: &MatchKey,
    ) -> Result<Option<Record>, ConnectorError> {
        self.inner.find(kind, key).await
    }

    async fn create(
        &self,
        kind: EntityKind,
        parent_id: Option<&str>,
        fields: &Map<String, Value>,
        idempotency_key: &str,
    ) -> Result<Record, ConnectorError> {
        self.inner
            .create(kind, parent_id, fields, idempotency_key)
            .await
    }

    async fn update(
        &self,
        kind: EntityKind,
        id: &str,
        parent_id: Option<&str>,
        fields: &Map<String, Value>,
    ) -> Result<Record, ConnectorError> {
        self.inner.update(kind, id, parent_id, fields).await
    }

    async fn delete(
        &self,
        kind: EntityKind,
        id: &str,
        parent_id: Option<&str>,
    ) -> Result<(), ConnectorError> {
        self.inner.delete(kind, id, parent_id).await
    }
}

/// What an engine process runs; sent to child processes as one JSON line on stdin.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct WorkerSpec {
    db_url: String,
    executor: ExecutorSpec,
    workers: usize,
    idle_ms: u64,
    claim_batch: u32,
    max_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum ExecutorSpec {
    /// [`NOOP_FLOW`] over [`Gone`].
    Noop,
    /// [`SYNC_FLOW`] over the GHL sandbox and the Your App emulator.
    Sync {
        ghl_url: String,
        location_id: String,
        token: String,
        crm_url: String,
        crm_key: String,
    },
}

/// The connection hints are ingested on.
fn source_connection(spec: &ExecutorSpec) -> &'static str {
    match spec {
        ExecutorSpec::Noop => "app",
        ExecutorSpec::Sync { .. } => "ghl",
    }
}

fn build_engine(spec: &WorkerSpec, store: Arc<dyn Store>) -> Res<(Arc<Engine>, Arc<Executions>)> {
    let executions = Arc::new(Executions::default());
    let mut conns = Connections::new();
    let mut connectors: BTreeMap<String, Arc<dyn Connector>> = BTreeMap::new();
    let text = match &spec.executor {
        ExecutorSpec::Noop => {
            conns.insert("app".into(), AppKind::YourApp);
            conns.insert("crm".into(), AppKind::YourApp);
            let app = Counted {
                inner: Arc::new(Gone),
                executions: executions.clone(),
            };
            connectors.insert("app".into(), Arc::new(app));
            connectors.insert("crm".into(), Arc::new(Gone));
            NOOP_FLOW
        }
        ExecutorSpec::Sync {
            ghl_url,
            location_id,
            token,
            crm_url,
            crm_key,
        } => {
            conns.insert("ghl".into(), AppKind::Ghl);
            conns.insert("crm".into(), AppKind::YourApp);
            let ghl = GhlConnector::new(GhlConfig::private_integration(
                ghl_url.as_str(),
                location_id.as_str(),
                token.as_str(),
            ))
            .map_err(|e| e.to_string())?;
            let crm = YourAppConnector::new(YourAppConfig::default_for(
                crm_url.as_str(),
                crm_key.as_str(),
            ))
            .map_err(|e| e.to_string())?;
            let ghl = Counted {
                inner: Arc::new(ghl),
                executions: executions.clone(),
            };
            connectors.insert("ghl".into(), Arc::new(ghl));
            connectors.insert("crm".into(), Arc::new(crm));
            SYNC_FLOW
        }
    };
    let flow = parse_flow(text, "queue_bench.yaml", &conns).map_err(|e| e.to_string())?;
    let connectors = match spec.executor {
        ExecutorSpec::Noop => connectors,
        // As the engine runs real connectors: every outbound call in the audit.
        ExecutorSpec::Sync { .. } => engine::audit::audited(connectors, &store),
    };
    let engine = Engine {
        store,
        flows: vec![flow],
        connectors,
        options: EngineOptions {
            workers: spec.workers,
            idle_wait: Duration::from_millis(spec.idle_ms),
            claim_batch: spec.claim_batch,
            ..Default::default()
        },
    };
    Ok((Arc::new(engine), executions))
}

/// The engine's worker loops in this process (the scheduler is not started: no poll or
/// reconcile may add work during a measurement).
struct LocalWorkers {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl LocalWorkers {
    fn start(engine: &Arc<Engine>) -> Self {
        let (stop, rx) = watch::channel(false);
        let tasks = (0..engine.options.workers)
            .map(|i| tokio::spawn(engine.clone().run_worker(i, rx.clone())))
            .collect();
        Self { stop, tasks }
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            if tokio::time::timeout(CHILD_STOP, t).await.is_err() {
                eprintln!("queue_bench: a worker loop did not stop within {CHILD_STOP:?}");
            }
        }
    }
}

// ----- child processes ---------------------------------------------------------------------------

/// `--worker`: reads a [`WorkerSpec`] line, says `ready`, runs workers from `start` until `stop`
/// (or stdin closing, or its lifetime ending), then prints its execution counts as one JSON line.
async fn worker_main() -> ExitCode {
    match worker_run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("queue_bench worker {}: {e}", std::process::id());
            ExitCode::FAILURE
        }
    }
}

async fn worker_run() -> Res<()> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            match line {
                Ok(l) if tx.send(l.trim().to_string()).is_ok() => {}
                _ => break,
            }
        }
    });
    let first = rx.recv().await.ok_or("stdin closed before the spec")?;
    let spec: WorkerSpec = serde_json::from_str(&first).map_err(|e| format!("spec: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(spec.max_secs);
    let store = store::open(&spec.db_url)
        .await
        .map_err(|e| format!("open store: {e}"))?;
    let (engine, executions) = build_engine(&spec, store.clone())?;
    println!("ready");
    let started = loop {
        tokio::select! {
            line = rx.recv() => match line.as_deref() {
                Some("start") => break true,
                Some(_) => continue,
                None => break false,
            },
            _ = tokio::time::sleep_until(deadline) => break false,
        }
    };
    if started {
        let workers = LocalWorkers::start(&engine);
        tokio::select! {
            _ = async { while let Some(l) = rx.recv().await { if l == "stop" { break; } } } => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
        workers.stop().await;
    }
    println!("{}", json!({ "executions": executions.snapshot() }));
    store.close().await;
    Ok(())
}

struct Child {
    process: tokio::process::Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Child {
    async fn send(&mut self, line: &str) -> Res<()> {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .map_err(|e| format!("writing to a worker process: {e}"))?;
        self.stdin
            .flush()
            .await
            .map_err(|e| format!("writing to a worker process: {e}"))
    }

    async fn line(&mut self, within: Duration) -> Res<String> {
        match tokio::time::timeout(within, self.stdout.next_line()).await {
            Ok(Ok(Some(l))) => Ok(l),
            Ok(Ok(None)) => Err("a worker process exited early (see its error above)".into()),
            Ok(Err(e)) => Err(format!("reading a worker process: {e}")),
            Err(_) => Err(format!("a worker process did not answer within {within:?}")),
        }
    }
}

/// Where the jobs run: this process's engine, or child processes.
enum Workers {
    Local {
        engine: Arc<Engine>,
        executions: Arc<Executions>,
        running: Option<LocalWorkers>,
    },
    Children(Vec<Child>),
}

impl Workers {
    async fn prepare(
        processes: usize,
        spec: &WorkerSpec,
        engine: &Arc<Engine>,
        executions: &Arc<Executions>,
    ) -> Res<Self> {
        if processes <= 1 {
            return Ok(Self::Local {
                engine: engine.clone(),
                executions: executions.clone(),
                running: None,
            });
        }
        let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
        let line = serde_json::to_string(spec).map_err(|e| e.to_string())?;
        let mut children = Vec::with_capacity(processes);
        for _ in 0..processes {
            let mut process = tokio::process::Command::new(&exe)
                .arg("--worker")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| format!("starting a worker process: {e}"))?;
            let stdin = process.stdin.take().ok_or("worker stdin")?;
            let stdout = process.stdout.take().ok_or("worker stdout")?;
            let mut child = Child {
                process,
                stdin,
                stdout: BufReader::new(stdout).lines(),
            };
            child.send(&line).await?;
            children.push(child);
        }
        for c in &mut children {
            let l = c.line(CHILD_READY).await?;
            if l != "ready" {
                return Err(format!("a worker process said `{l}` instead of `ready`"));
            }
        }
        Ok(Self::Children(children))
    }

    async fn start(&mut self) -> Res<()> {
        match self {
            Self::Local {
                engine, running, ..
            } => {
                *running = Some(LocalWorkers::start(engine));
                Ok(())
            }
            Self::Children(list) => {
                for c in list {
                    c.send("start").await?;
                }
                Ok(())
            }
        }
    }

    /// Stops every worker and returns the runs per job of all processes.
    async fn finish(self) -> Res<HashMap<i64, u32>> {
        let mut all: HashMap<i64, u32> = HashMap::new();
        match self {
            Self::Local {
                executions,
                running,
                ..
            } => {
                if let Some(w) = running {
                    w.stop().await;
                }
                for (job, n) in executions.snapshot() {
                    *all.entry(job).or_default() += n;
                }
            }
            Self::Children(mut list) => {
                for c in &mut list {
                    c.send("stop").await?;
                }
                for mut c in list {
                    let l = c.line(CHILD_STOP).await?;
                    #[derive(Deserialize)]
                    struct Report {
                        executions: Vec<(i64, u32)>,
                    }
                    let r: Report = serde_json::from_str(&l)
                        .map_err(|e| format!("a worker process's report `{l}`: {e}"))?;
                    for (job, n) in r.executions {
                        *all.entry(job).or_default() += n;
                    }
                    drop(c.stdin);
                    match tokio::time::timeout(CHILD_STOP, c.process.wait()).await {
                        Ok(Ok(s)) if s.success() => {}
                        Ok(Ok(s)) => return Err(format!("a worker process ended with {s}")),
                        _ => {
                            let _ = c.process.kill().await;
                            return Err("a worker process did not exit; killed".into());
                        }
                    }
                }
            }
        }
        Ok(all)
    }
}

// ----- a fresh store per phase, and reading its tables -------------------------------------------

/// PostgreSQL schemas this run created and has not dropped yet (dropped on Ctrl-C too).
static SCHEMAS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

async fn admin_connect(url: &str) -> Res<PgConnection> {
    match tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(url)).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(format!("PostgreSQL at --database-url: {e}")),
        Err(_) => Err("PostgreSQL at --database-url: connecting timed out".into()),
    }
}

async fn drop_schema(admin_url: &str, schema: &str) -> Res<()> {
    let mut admin = admin_connect(admin_url).await?;
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE"
        )))
        .await
        .map_err(|e| format!("drop schema {schema}: {e}"))?;
    let _ = admin.close().await;
    SCHEMAS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|(_, s)| s != schema);
    Ok(())
}

async fn drop_registered_schemas() {
    let list = SCHEMAS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for (url, schema) in list {
        if let Err(e) = drop_schema(&url, &schema).await {
            eprintln!("queue_bench: {e}");
        }
    }
}

enum Probe {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// One phase's store, and a side pool for reading its tables.
struct BenchDb {
    url: String,
    probe: Probe,
    dir: Option<tempfile::TempDir>,
    schema: Option<(String, String)>,
}

macro_rules! on_probe {
    ($probe:expr, |$p:ident| $body:expr) => {
        match $probe {
            Probe::Sqlite($p) => $body,
            Probe::Postgres($p) => $body,
        }
    };
}

fn sql_err(e: sqlx::Error) -> String {
    format!("reading the store's tables: {e}")
}

impl BenchDb {
    async fn open(backend: Backend, args: &Args) -> Res<(Self, Arc<dyn Store>)> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix("queue_bench")
                    .tempdir()
                    .map_err(|e| format!("temp dir: {e}"))?;
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("engine.db").display()
                );
                let store = store::open(&url).await.map_err(|e| e.to_string())?;
                let opts = SqliteConnectOptions::from_str(&url)
                    .map_err(sql_err)?
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(2)
                    .connect_with(opts)
                    .await
                    .map_err(sql_err)?;
                let db = Self {
                    url,
                    probe: Probe::Sqlite(pool),
                    dir: Some(dir),
                    schema: None,
                };
                Ok((db, store))
            }
            Backend::Postgres => {
                let admin_url = args.database_url.clone();
                let schema = format!(
                    "queue_bench_{}_{:08x}",
                    std::process::id(),
                    rand::random::<u32>()
                );
                let mut admin = admin_connect(&admin_url).await?;
                admin
                    .execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .await
                    .map_err(|e| format!("create schema: {e}"))?;
                let _ = admin.close().await;
                SCHEMAS
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((admin_url.clone(), schema.clone()));
                let sep = if admin_url.contains('?') { '&' } else { '?' };
                let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
                let opened = async {
                    let store = store::open(&url).await.map_err(|e| e.to_string())?;
                    let pool = PgPoolOptions::new()
                        .max_connections(2)
                        .connect(&url)
                        .await
                        .map_err(sql_err)?;
                    Ok::<_, String>((store, pool))
                }
                .await;
                match opened {
                    Ok((store, pool)) => {
                        let db = Self {
                            url,
                            probe: Probe::Postgres(pool),
                            dir: None,
                            schema: Some((admin_url, schema)),
                        };
                        Ok((db, store))
                    }
                    Err(e) => {
                        let _ = drop_schema(&admin_url, &schema).await;
                        Err(e)
                    }
                }
            }
        }
    }

    /// Closes the side pool and removes the database (file or schema).
    async fn remove(self) -> Res<()> {
        on_probe!(&self.probe, |p| p.close().await);
        drop(self.dir);
        match self.schema {
            Some((url, schema)) => drop_schema(&url, &schema).await,
            None => Ok(()),
        }
    }

    /// Jobs by state.
    async fn states(&self) -> Res<BTreeMap<String, i64>> {
        const SQL: &str = "SELECT state, COUNT(*) FROM jobs GROUP BY state";
        let rows: Vec<(String, i64)> =
            on_probe!(&self.probe, |p| sqlx::query_as(SQL).fetch_all(p).await).map_err(sql_err)?;
        Ok(rows.into_iter().collect())
    }

    /// Pending plus leased jobs.
    async fn open_jobs(&self) -> Res<i64> {
        let s = self.states().await?;
        Ok(s.get("pending").copied().unwrap_or(0) + s.get("leased").copied().unwrap_or(0))
    }

    /// Waits until no job is pending or leased; false at the deadline.
    async fn wait_drained(&self, within: Duration) -> Res<bool> {
        let deadline = Instant::now() + within;
        loop {
            if self.open_jobs().await? == 0 {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last `finished_at` of a done job, in microseconds since the epoch.
    async fn last_finished_us(&self) -> Res<Option<i64>> {
        match &self.probe {
            Probe::Sqlite(p) => {
                sqlx::query_scalar("SELECT MAX(finished_at) FROM jobs WHERE state = 'done'")
                    .fetch_one(p)
                    .await
            }
            Probe::Postgres(p) => {
                sqlx::query_scalar(
                    "SELECT (EXTRACT(EPOCH FROM MAX(finished_at)) * 1000000)::BIGINT \
                 FROM jobs WHERE state = 'done'",
                )
                .fetch_one(p)
                .await
            }
        }
        .map_err(sql_err)
    }

    /// For every event of a done job: its job's `finished_at` − its `received_at`, in µs.
    async fn latencies_us(&self) -> Res<Vec<i64>> {
        match &self.probe {
            Probe::Sqlite(p) => {
                sqlx::query_scalar(
                    "SELECT j.finished_at - e.received_at FROM jobs j \
                 JOIN json_each(j.event_ids) x JOIN events e ON e.id = x.value \
                 WHERE j.state = 'done'",
                )
                .fetch_all(p)
                .await
            }
            Probe::Postgres(p) => {
                sqlx::query_scalar(
                    "SELECT (EXTRACT(EPOCH FROM j.finished_at - e.received_at) * 1000000)::BIGINT \
                 FROM jobs j CROSS JOIN LATERAL unnest(j.event_ids) AS x(id) \
                 JOIN events e ON e.id = x.id WHERE j.state = 'done'",
                )
                .fetch_all(p)
                .await
            }
        }
        .map_err(sql_err)
    }

    /// `(id, attempts)` of every done job.
    async fn done_jobs(&self) -> Res<Vec<(i64, i64)>> {
        const SQL: &str =
            "SELECT CAST(id AS BIGINT), CAST(attempts AS BIGINT) FROM jobs WHERE state = 'done'";
        on_probe!(&self.probe, |p| sqlx::query_as(SQL).fetch_all(p).await).map_err(sql_err)
    }

    async fn events(&self) -> Res<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM events";
        on_probe!(&self.probe, |p| sqlx::query_scalar(SQL).fetch_one(p).await).map_err(sql_err)
    }

    /// A few last errors, for the report when something went wrong.
    async fn some_errors(&self) -> Res<Vec<String>> {
        const SQL: &str =
            "SELECT last_error FROM jobs WHERE last_error IS NOT NULL ORDER BY id LIMIT 3";
        on_probe!(&self.probe, |p| sqlx::query_scalar(SQL).fetch_all(p).await).map_err(sql_err)
    }
}

// ----- figures -----------------------------------------------------------------------------------

/// Whether every job ran exactly once.
#[derive(Debug, Clone, Default, Serialize)]
struct OnceCheck {
    /// Jobs done.
    done: usize,
    /// Runs seen by the connectors, over all processes.
    runs: u64,
    /// Done jobs that needed more than one attempt (their extra runs are retries, not duplicates).
    retried: usize,
    /// Done jobs that ran more often than `attempts + 1`.
    duplicate_runs: usize,
    /// Done jobs no process ran.
    never_ran: usize,
    /// Runs of jobs that are not done.
    runs_of_unfinished: usize,
    /// Jobs left pending, leased or dead.
    left: i64,
    ok: bool,
}

async fn check_once(db: &BenchDb, runs: &HashMap<i64, u32>) -> Res<OnceCheck> {
    let done = db.done_jobs().await?;
    let states = db.states().await?;
    let left = states
        .iter()
        .filter(|(s, _)| s.as_str() != "done")
        .map(|(_, n)| n)
        .sum();
    let mut c = OnceCheck {
        done: done.len(),
        runs: runs.values().map(|n| u64::from(*n)).sum(),
        left,
        ..Default::default()
    };
    let ids: HashSet<i64> = done.iter().map(|(id, _)| *id).collect();
    for (id, attempts) in &done {
        match runs.get(id) {
            None => c.never_ran += 1,
            Some(&n) => {
                if *attempts > 0 {
                    c.retried += 1;
                }
                if i64::from(n) > attempts + 1 {
                    c.duplicate_runs += 1;
                }
            }
        }
    }
    c.runs_of_unfinished = runs.keys().filter(|id| !ids.contains(id)).count();
    c.ok = c.duplicate_runs == 0 && c.never_ran == 0 && c.runs_of_unfinished == 0 && c.left == 0;
    if !c.ok {
        for e in db.some_errors().await? {
            eprintln!("    job error: {e}");
        }
    }
    Ok(c)
}

#[derive(Debug, Clone, Default, Serialize)]
struct QueueFigures {
    events: usize,
    entities: usize,
    jobs: usize,
    events_per_job: f64,
    ingest_s: f64,
    ingest_events_per_s: f64,
    drain_s: f64,
    drain_jobs_per_s: f64,
    /// Events / (ingest + drain time).
    through_events_per_s: f64,
    drained: bool,
    once: OnceCheck,
}

#[derive(Debug, Clone, Default, Serialize)]
struct LatencyFigures {
    offered_per_s: u32,
    seconds: u64,
    events: usize,
    ingest_errors: usize,
    /// Events / (last ingest returned − first offered).
    achieved_per_s: f64,
    ingest_call_p50_ms: f64,
    ingest_call_p99_ms: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// Events without a done job at the deadline.
    unfinished: usize,
    once: OnceCheck,
}

#[derive(Debug, Clone, Default, Serialize)]
struct E2eFigures {
    events: usize,
    jobs: usize,
    ingest_s: f64,
    drain_s: f64,
    drain_jobs_per_s: f64,
    /// Contacts the Your App emulator holds afterwards, and how many it should (one per distinct
    /// email, plus one per contact without an email).
    created: usize,
    expected: usize,
    drained: bool,
    once: OnceCheck,
}

#[derive(Debug, Clone, Serialize)]
struct RunFigures {
    backend: Backend,
    processes: usize,
    workers_per_process: usize,
    queue: Option<QueueFigures>,
    latency: Option<LatencyFigures>,
    e2e: Option<E2eFigures>,
    errors: Vec<String>,
    /// The machine's 1-minute load average when this configuration started and ended (this
    /// benchmark itself adds about 2 on a 2-core machine; more means other work was running).
    load_1m: (Option<f64>, Option<f64>),
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn rate(n: usize, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        f64::NAN
    }
}

// ----- phases ------------------------------------------------------------------------------------

#[derive(Debug, Default, Clone, Copy)]
struct Ingested {
    events: usize,
    duplicates: usize,
    jobs: usize,
}

/// Ingests `hints` in batches from several tasks as fast as the store takes them.
async fn ingest_backlog(
    engine: &Arc<Engine>,
    connection: &'static str,
    hints: Vec<ChangeHint>,
) -> Res<(Ingested, f64)> {
    let hints = Arc::new(hints);
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + INGEST_DEADLINE;
    let started = Instant::now();
    let tasks: Vec<_> = (0..BACKLOG_TASKS)
        .map(|_| {
            let (engine, hints, next) = (engine.clone(), hints.clone(), next.clone());
            tokio::spawn(async move {
                let mut total = Ingested::default();
                loop {
                    let i = next.fetch_add(BACKLOG_BATCH, Ordering::Relaxed);
                    if i >= hints.len() {
                        return Ok(total);
                    }
                    if Instant::now() >= deadline {
                        return Err(format!("ingest did not finish within {INGEST_DEADLINE:?}"));
                    }
                    let batch = &hints[i..(i + BACKLOG_BATCH).min(hints.len())];
                    let r = engine
                        .ingest(connection, batch, EventSource::Poll)
                        .await
                        .map_err(|e| format!("ingest: {e}"))?;
                    total.events += r.events;
                    total.duplicates += r.duplicates;
                    total.jobs += r.jobs;
                }
            })
        })
        .collect();
    let mut sum = Ingested::default();
    for t in tasks {
        let part = t.await.map_err(|e| format!("ingest task: {e}"))??;
        sum.events += part.events;
        sum.duplicates += part.duplicates;
        sum.jobs += part.jobs;
    }
    Ok((sum, started.elapsed().as_secs_f64()))
}

fn hint(id: String, event_id: String) -> ChangeHint {
    ChangeHint {
        kind: EntityKind::Contact,
        id,
        parent_id: None,
        deleted: false,
        event_id,
        event_type: "ContactUpdate".into(),
    }
}

/// Half the events for distinct contacts, half for a hot eighth of contacts (four each),
/// interleaved. Returns the hints and the number of distinct contacts.
fn queue_hints(n: usize) -> (Vec<ChangeHint>, usize) {
    let hot = (n / 8).max(1);
    let hints: Vec<ChangeHint> = (0..n)
        .map(|i| {
            let id = if i % 2 == 0 {
                format!("u{}", i / 2)
            } else {
                format!("h{}", (i / 2) % hot)
            };
            hint(id, format!("q-{i}"))
        })
        .collect();
    let entities = hints
        .iter()
        .map(|h| h.id.as_str())
        .collect::<HashSet<_>>()
        .len();
    (hints, entities)
}

fn micros_between(start: chrono::DateTime<Utc>, end_us: Option<i64>) -> f64 {
    match end_us {
        Some(end) => ((end - start.timestamp_micros()) as f64 / 1e6).max(0.0),
        None => f64::NAN,
    }
}

/// Runs `body` on a fresh store and removes the store afterwards, whatever happened.
async fn with_db<T, F, Fut>(backend: Backend, args: &Args, body: F) -> Res<T>
where
    F: FnOnce(Arc<dyn Store>, String, Arc<BenchDb>) -> Fut,
    Fut: std::future::Future<Output = Res<T>>,
{
    let (db, store) = BenchDb::open(backend, args).await?;
    let db = Arc::new(db);
    let out = body(store.clone(), db.url.clone(), db.clone()).await;
    store.close().await;
    let removed = match Arc::try_unwrap(db) {
        Ok(db) => db.remove().await,
        Err(_) => Err("the bench store is still in use".into()),
    };
    let out = out?;
    removed?;
    Ok(out)
}

async fn phase_queue(args: &Args, backend: Backend, processes: usize) -> Res<QueueFigures> {
    with_db(backend, args, |store, url, db| async move {
        let spec = WorkerSpec {
            db_url: url,
            executor: ExecutorSpec::Noop,
            workers: args.workers,
            idle_ms: args.idle_ms,
            claim_batch: args.claim_batch,
            max_secs: CHILD_LIFETIME.as_secs(),
        };
        let (engine, executions) = build_engine(&spec, store)?;
        let mut workers = Workers::prepare(processes, &spec, &engine, &executions).await?;
        let (hints, entities) = queue_hints(args.events);
        let (ingested, ingest_s) = ingest_backlog(&engine, "app", hints).await?;
        let jobs = usize::try_from(db.open_jobs().await?).unwrap_or(0);
        let drain_start = Utc::now();
        workers.start().await?;
        let drained = db.wait_drained(DRAIN_DEADLINE).await?;
        let runs = workers.finish().await?;
        let drain_s = micros_between(drain_start, db.last_finished_us().await?);
        let once = check_once(&db, &runs).await?;
        Ok(QueueFigures {
            events: ingested.events,
            entities,
            jobs,
            events_per_job: ingested.events as f64 / jobs.max(1) as f64,
            ingest_s,
            ingest_events_per_s: rate(ingested.events, ingest_s),
            drain_s,
            drain_jobs_per_s: rate(jobs, drain_s),
            through_events_per_s: rate(ingested.events, ingest_s + drain_s),
            drained,
            once,
        })
    })
    .await
}

async fn phase_latency(args: &Args, backend: Backend, processes: usize) -> Res<LatencyFigures> {
    with_db(backend, args, |store, url, db| async move {
        let spec = WorkerSpec {
            db_url: url,
            executor: ExecutorSpec::Noop,
            workers: args.workers,
            idle_ms: args.idle_ms,
            claim_batch: args.claim_batch,
            max_secs: CHILD_LIFETIME.as_secs(),
        };
        let (engine, executions) = build_engine(&spec, store)?;
        let mut workers = Workers::prepare(processes, &spec, &engine, &executions).await?;
        workers.start().await?;
        let total = usize::try_from(u64::from(args.rate) * args.seconds).unwrap_or(usize::MAX);
        let period = Duration::from_secs_f64(1.0 / f64::from(args.rate));
        let t0 = Instant::now() + Duration::from_millis(200);
        let mut calls = Vec::with_capacity(total);
        for i in 0..total {
            tokio::time::sleep_until(t0 + period.mul_f64(i as f64)).await;
            let engine = engine.clone();
            calls.push(tokio::spawn(async move {
                let h = hint(format!("l{i}"), format!("l-{i}"));
                let started = Instant::now();
                let r = engine
                    .ingest("app", std::slice::from_ref(&h), EventSource::Webhook)
                    .await;
                (started.elapsed(), Instant::now(), r.is_ok())
            }));
        }
        let deadline = Instant::now() + LATENCY_GRACE;
        let (mut call_ms, mut last, mut errors) = (Vec::with_capacity(total), t0, 0);
        for c in calls {
            match tokio::time::timeout_at(deadline, c).await {
                Ok(Ok((took, at, ok))) => {
                    call_ms.push(took.as_secs_f64() * 1e3);
                    last = last.max(at);
                    errors += usize::from(!ok);
                }
                _ => errors += 1,
            }
        }
        let achieved = rate(total - errors, (last - t0).as_secs_f64());
        let _ = db.wait_drained(LATENCY_GRACE).await?;
        let runs = workers.finish().await?;
        let mut lat: Vec<f64> = db
            .latencies_us()
            .await?
            .into_iter()
            .map(|us| us as f64 / 1e3)
            .collect();
        lat.sort_by(f64::total_cmp);
        call_ms.sort_by(f64::total_cmp);
        let events = usize::try_from(db.events().await?).unwrap_or(0);
        let once = check_once(&db, &runs).await?;
        Ok(LatencyFigures {
            offered_per_s: args.rate,
            seconds: args.seconds,
            events,
            ingest_errors: errors,
            achieved_per_s: achieved,
            ingest_call_p50_ms: percentile(&call_ms, 0.50),
            ingest_call_p99_ms: percentile(&call_ms, 0.99),
            p50_ms: percentile(&lat, 0.50),
            p90_ms: percentile(&lat, 0.90),
            p99_ms: percentile(&lat, 0.99),
            max_ms: lat.last().copied().unwrap_or(f64::NAN),
            unfinished: events.saturating_sub(lat.len()),
            once,
        })
    })
    .await
}

/// The GHL side of the end-to-end phase, shared by every configuration (it is only read).
struct GhlSide {
    sandbox: GhlSandbox,
    contact_ids: Vec<String>,
    /// One per distinct email plus one per contact without an email.
    expected: usize,
}

async fn start_ghl(contacts: usize) -> Res<GhlSide> {
    let sandbox = GhlSandbox::start(GhlSandboxConfig {
        contacts,
        limits: LimitConfig {
            burst_max: 1_000_000,
            burst_interval_ms: 10_000,
            daily_max: 100_000_000,
        },
        ..Default::default()
    })
    .await
    .map_err(|e| format!("GHL sandbox: {e}"))?;
    let location = sandbox.location_id();
    let (contact_ids, expected) = {
        let st = sandbox.state.store.read();
        let mine: Vec<_> = st
            .contacts
            .values()
            .filter(|c| c.location_id == location)
            .collect();
        let mut emails = HashSet::new();
        let mut without = 0;
        for c in &mine {
            match &c.email {
                Some(e) if !e.trim().is_empty() => {
                    emails.insert(e.trim().to_lowercase());
                }
                _ => without += 1,
            }
        }
        let mut ids: Vec<String> = mine.iter().map(|c| c.id.clone()).collect();
        ids.sort();
        (ids, emails.len() + without)
    };
    Ok(GhlSide {
        sandbox,
        contact_ids,
        expected,
    })
}

async fn phase_e2e(
    args: &Args,
    backend: Backend,
    processes: usize,
    ghl: &GhlSide,
) -> Res<E2eFigures> {
    let crm = RestSandbox::start(RestConfig {
        contacts: 0,
        limits: RateLimit {
            limit: 100_000_000,
            window_secs: 60,
        },
        ..Default::default()
    })
    .await
    .map_err(|e| format!("Your App emulator: {e}"))?;
    let out = with_db(backend, args, |store, url, db| {
        let crm = &crm;
        async move {
            let spec = WorkerSpec {
                db_url: url,
                executor: ExecutorSpec::Sync {
                    ghl_url: ghl.sandbox.base_url.clone(),
                    location_id: ghl.sandbox.location_id(),
                    token: ghl.sandbox.token(),
                    crm_url: crm.api_url(),
                    crm_key: crm.api_key(),
                },
                workers: args.workers,
                idle_ms: args.idle_ms,
                claim_batch: args.claim_batch,
                max_secs: CHILD_LIFETIME.as_secs(),
            };
            let (engine, executions) = build_engine(&spec, store)?;
            let mut workers = Workers::prepare(processes, &spec, &engine, &executions).await?;
            let hints: Vec<ChangeHint> = ghl
                .contact_ids
                .iter()
                .enumerate()
                .map(|(i, id)| hint(id.clone(), format!("e-{i}")))
                .collect();
            let (ingested, ingest_s) =
                ingest_backlog(&engine, source_connection(&spec.executor), hints).await?;
            let jobs = usize::try_from(db.open_jobs().await?).unwrap_or(0);
            let drain_start = Utc::now();
            workers.start().await?;
            let drained = db.wait_drained(DRAIN_DEADLINE).await?;
            let runs = workers.finish().await?;
            let drain_s = micros_between(drain_start, db.last_finished_us().await?);
            let once = check_once(&db, &runs).await?;
            let counts = crm.state.store.lock().counts();
            let created = counts["contacts"]["live"].as_u64().unwrap_or(0) as usize;
            Ok(E2eFigures {
                events: ingested.events,
                jobs,
                ingest_s,
                drain_s,
                drain_jobs_per_s: rate(jobs, drain_s),
                created,
                expected: ghl.expected,
                drained,
                once,
            })
        }
    })
    .await;
    crm.shutdown().await;
    out
}

// ----- the run -----------------------------------------------------------------------------------

fn fmt(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        format!("{v:.decimals$}")
    } else {
        "-".into()
    }
}

fn yes(ok: bool) -> &'static str {
    if ok {
        "yes"
    } else {
        "NO"
    }
}

fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

const QUEUE_HEAD: [&str; 9] = [
    "backend",
    "procs",
    "events",
    "jobs",
    "ev/job",
    "ingest ev/s",
    "drain jobs/s",
    "through ev/s",
    "once",
];
const LATENCY_HEAD: [&str; 11] = [
    "backend",
    "procs",
    "events",
    "ingest ev/s",
    "ingest call p50/p99 ms",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "unfinished",
    "once",
];
const E2E_HEAD: [&str; 7] = [
    "backend",
    "procs",
    "jobs",
    "drain s",
    "jobs/s",
    "created/expected",
    "once",
];

fn print_table(title: &str, head: &[&str], rows: &[Vec<String>]) {
    if rows.is_empty() {
        return;
    }
    let mut width: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.len());
        }
    }
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i < 2 {
                    format!("{c:<w$}", w = width[i])
                } else {
                    format!("{c:>w$}", w = width[i])
                }
            })
            .collect();
        println!("  {}", parts.join("  "));
    };
    println!("\n{title}");
    line(head.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r.clone());
    }
}

fn ratio(runs: &[RunFigures], f: impl Fn(&RunFigures) -> Option<f64>) -> Option<f64> {
    let pick = |n: usize| {
        runs.iter()
            .find(|r| r.backend == Backend::Postgres && r.processes == n)
            .and_then(&f)
    };
    match (pick(3), pick(1)) {
        (Some(a), Some(b)) if b > 0.0 && a.is_finite() && b.is_finite() => Some(a / b),
        _ => None,
    }
}

/// The 1-minute load average (Linux), to tell a quiet machine from a busy one in the figures.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
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
