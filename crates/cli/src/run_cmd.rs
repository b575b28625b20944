//! `ghl-bridge run`: loads a project, opens the store, connects every connection its enabled
//! flows use, and runs the engine — worker loops plus the scheduler (polls and reconciles, on
//! one process at a time through the `scheduler` leader lease) — until Ctrl-C or SIGTERM.
//!
//! Stopping is graceful: no new job is claimed, running jobs get `--grace` to finish, and the
//! scheduler lease is given up so another process takes over at once. A process killed outright
//! loses nothing either: its leased jobs run again elsewhere once their lease ends, and every
//! write the engine makes is recognised when it is repeated.
//!
//! `--once` polls every synced connection, reconciles once, runs every due job, prints a
//! summary on stdout and exits (non-zero when a step failed).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use engine::connections::{connections_in_use, ConnectorFactory};
use engine::flow::{load_project, FlowBody, Project};
use engine::runtime::{Engine, EngineOptions};
use engine::store::{self, QueueStats, Store};
use tokio::sync::watch;

use crate::sandbox_cmd::until_stopped;

/// Options of `ghl-bridge run`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// The project file (`ghl-bridge.yaml`: connections and the flows folder).
    #[arg(long, default_value = "ghl-bridge.yaml")]
    pub project: PathBuf,
    /// Database URL: `sqlite://path.db?mode=rwc` or `postgres://user@host/db` (default: the
    /// `ghl-bridge.db` SQLite file next to the project file).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database: Option<String>,
    /// Worker loops in this process.
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
    /// How often changes are polled (`30s`, `5m`, `1h`).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub poll_every: Duration,
    /// How often every record is compared in full (catches dropped webhooks and deletes).
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub reconcile_every: Duration,
    /// How long a claimed job is reserved for this process; renewed while it runs, so this is
    /// how soon another process takes over the jobs of one that died.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub lease: Duration,
    /// On Ctrl-C or SIGTERM, how long running jobs may take to finish.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub grace: Duration,
    /// Poll, reconcile and run every due job once, print a summary and exit.
    #[arg(long)]
    pub once: bool,
    /// First retry delay of a failed job; it doubles per attempt (up to 10 minutes) until the
    /// job reaches the dead-letter queue. Short values make failures show up in seconds.
    #[arg(long, default_value = "2s", value_parser = parse_duration, env = "GHL_BRIDGE_RETRY_BASE")]
    pub retry_base: Duration,
}

/// Parses `500ms`, `30s`, `5m`, `1h`, `1d`, combinations like `1h30m`, or bare seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration; write e.g. 30s, 5m or 1h".into());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit_len = rest[digits..]
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len() - digits);
        let (num, unit) = (&rest[..digits], &rest[digits..digits + unit_len]);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("`{text}` is not a duration; write e.g. 30s, 5m or 1h"))?;
        let one = match unit {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            "d" => Duration::from_secs(86_400),
            _ => {
                return Err(format!(
                    "`{text}`: unknown unit `{unit}`; use ms, s, m, h or d (e.g. 30s, 1h30m)"
                ))
            }
        };
        let part = u32::try_from(n)
            .ok()
            .and_then(|n| one.checked_mul(n))
            .ok_or_else(|| format!("`{text}` is too long"))?;
        total = total
            .checked_add(part)
            .ok_or_else(|| format!("`{text}` is too long"))?;
        rest = &rest[digits + unit_len..];
    }
    Ok(total)
}

/// `sqlite://<project folder>/ghl-bridge.db?mode=rwc`.
pub fn default_database(project: &Path) -> String {
    let dir = project
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    format!("sqlite://{}?mode=rwc", dir.join("ghl-bridge.db").display())
}

/// The URL with any password replaced by `***`, for logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_string()
            };
            format!("{scheme}://{masked}@{host}{tail}")
        }
        None => url.to_string(),
    }
}

/// Names this process in leases: host, pid and a random part (unique per run).
fn process_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    format!("{host}-{}", EngineOptions::default().process_id)
}

fn check(args: &RunArgs) -> Result<(), String> {
    if !(1..=256).contains(&args.workers) {
        return Err(format!("--workers must be 1 to 256, not {}", args.workers));
    }
    if args.poll_every < Duration::from_millis(100) {
        return Err("--poll-every must be at least 100ms".into());
    }
    if args.reconcile_every < Duration::from_secs(1) {
        return Err("--reconcile-every must be at least 1s".into());
    }
    if args.lease < Duration::from_secs(1) {
        return Err("--lease must be at least 1s".into());
    }
    Ok(())
}

/// Loads the project, printing every problem found in it.
fn load(path: &Path) -> Result<Project, String> {
    load_project(path).map_err(|e| {
        eprintln!("{e}");
        let n = e.diagnostics.len();
        format!(
            "{} has {n} problem{}; nothing was started",
            path.display(),
            if n == 1 { "" } else { "s" }
        )
    })
}

/// A loaded project, its open store and its ready engine: what `run` and `serve` share.
pub struct Prepared {
    pub engine: Arc<Engine>,
    /// Every connection named in the project (used by a flow or not).
    pub project_connections: Vec<String>,
}

/// Runs `ghl-bridge run`.
pub async fn run(args: RunArgs) -> Result<(), String> {
    let Prepared { engine, .. } = prepare(&args, "run").await?;
    let store = engine.store.clone();
    let outcome = if args.once {
        run_once(&engine).await
    } else {
        run_until_stopped(engine, args.grace, |_| Vec::new()).await;
        Ok(())
    };
    store.close().await;
    outcome
}

/// Checks the options, loads the project, connects the connections its enabled flows use and
/// opens the store; `what` names the command in the start-up log line.
pub async fn prepare(args: &RunArgs, what: &str) -> Result<Prepared, String> {
    check(args)?;
    let retry_base = args.retry_base;
    let project = load(&args.project)?;
    let enabled = project.flows.iter().filter(|f| f.enabled).count();
    let syncs = project
        .flows
        .iter()
        .filter(|f| f.enabled && matches!(f.body, FlowBody::Sync(_)))
        .count();
    if syncs == 0 {
        tracing::warn!(
            flows = project.flows.len(),
            enabled,
            "no enabled sync flow: nothing will be polled or reconciled"
        );
    }
    let used = connections_in_use(&project);
    for (name, c) in &project.connections {
        if !used.contains(name) {
            tracing::info!(connection = %name, app = %c.app, "connection not used by any enabled flow; not connected");
        }
    }
    let url = args
        .database
        .clone()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| default_database(&args.project));
    let shown_url = redact_url(&url);
    let store = store::open(&url)
        .await
        .map_err(|e| format!("database {shown_url}: {e}"))?;
    let factory = ConnectorFactory::new();
    // Credentials stored by `ghl-bridge connect` (OAuth tokens, tokens, keys), sealed in the store.
    if let Err(e) = factory.load_credentials_for(&store, &project, &used).await {
        for err in &e.0 {
            eprintln!("error: {err}");
        }
        store.close().await;
        return Err("stored credentials could not be opened; nothing was started".into());
    }
    let connectors = factory.build_for(&project, &used).map_err(|e| {
        for err in &e.0 {
            eprintln!("error: {err}");
        }
        format!(
            "{} connection{} could not be set up; nothing was started",
            e.0.len(),
            if e.0.len() == 1 { "" } else { "s" }
        )
    })?;
    let connectors = engine::audit::audited(connectors, &store);
    let options = EngineOptions {
        process_id: process_id(),
        workers: args.workers,
        lease: args.lease,
        poll_every: args.poll_every,
        reconcile_every: args.reconcile_every,
        // One job per claim: a worker never holds jobs it has not started, so other workers and
        // processes take them, and a killed process strands at most one job per worker.
        claim_batch: 1,
        // Flows' `report` actions write here.
        project_dir: Some(project.dir()),
        retry_base,
        ..EngineOptions::default()
    };
    tracing::info!(
        project = %args.project.display(),
        database = %shown_url,
        flows = project.flows.len(),
        enabled,
        connections = ?connectors.keys().collect::<Vec<_>>(),
        process = %options.process_id,
        "ghl-bridge {what} starting"
    );
    let project_connections = project.connections.keys().cloned().collect();
    let engine = Arc::new(Engine {
        store,
        flows: project.flows,
        connectors,
        options,
    });
    // Flows switched off over the admin API or `ghl-bridge flows disable` stay off here too.
    match engine::flow_state::load(engine.store.as_ref(), &engine.options.disabled_flows).await {
        Ok(off) if !off.is_empty() => {
            tracing::info!(flows = ?off, "flows switched off over the admin API or CLI stay off")
        }
        Ok(_) => {}
        Err(e) => {
            engine.store.close().await;
            return Err(format!("reading the flows switched off: {e}"));
        }
    }
    Ok(Prepared {
        engine,
        project_connections,
    })
}

/// `--once`: one poll, one reconcile, every due job; a summary on stdout.
async fn run_once(engine: &Engine) -> Result<(), String> {
    let mut failed = Vec::new();
    let polled = match engine.poll_once().await {
        Ok(n) => n,
        Err(e) => {
            tracing::error!(error = %e, "poll failed");
            failed.push(format!("poll: {e}"));
            0
        }
    };
    let reconciled = match engine.reconcile_once().await {
        Ok(n) => n,
        Err(e) => {
            tracing::error!(error = %e, "reconcile failed");
            failed.push(format!("reconcile: {e}"));
            0
        }
    };
    let ran = match engine.run_until_idle().await {
        Ok(n) => n,
        Err(e) => {
            tracing::error!(error = %e, "running jobs failed");
            failed.push(format!("jobs: {e}"));
            0
        }
    };
    let stats = engine
        .store
        .queue_stats()
        .await
        .map_err(|e| format!("reading the queue: {e}"))?;
    println!("{}", summary(polled, reconciled, ran, &stats));
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}

/// The `--once` summary.
fn summary(polled: usize, reconciled: usize, ran: usize, s: &QueueStats) -> String {
    let mut text = format!(
        "polled {polled} change(s), reconciled {reconciled} record(s), ran {ran} job(s); \
         queue: {} pending ({} due), {} leased, {} dead",
        s.pending, s.due, s.leased, s.dead
    );
    if s.pending > s.due {
        text.push_str(&format!(
            "\n{} job(s) wait for a retry; run again later, or keep `ghl-bridge run` running",
            s.pending - s.due
        ));
    }
    if s.leased > 0 {
        text.push_str(&format!(
            "\n{} job(s) are held by another process (or one that stopped; they run again when its lease ends)",
            s.leased
        ));
    }
    if s.dead > 0 {
        text.push_str(&format!(
            "\n{} job(s) are in the dead-letter queue and need a look",
            s.dead
        ));
    }
    text
}

/// Runs the workers and the scheduler, plus the tasks `extra` starts (the HTTP server of
/// `serve`), until Ctrl-C or SIGTERM, then stops them all gracefully.
pub async fn run_until_stopped(
    engine: Arc<Engine>,
    grace: Duration,
    extra: impl FnOnce(watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>>,
) {
    let (stop, stopped) = watch::channel(false);
    let store: Arc<dyn Store> = engine.store.clone();
    let workers = engine.options.workers;
    let mut tasks = extra(stopped.clone());
    tasks.extend(engine.spawn(stopped));
    tracing::info!(workers, "running; Ctrl-C or SIGTERM stops");
    until_stopped().await;
    tracing::info!(grace = ?grace, "stopping: no new jobs are claimed; running jobs may finish");
    let _ = stop.send(true);
    let finish = async {
        for t in tasks {
            if let Err(e) = t.await {
                tracing::error!(error = %e, "an engine task ended abnormally");
            }
        }
    };
    tokio::select! {
        _ = finish => tracing::info!("stopped"),
        _ = tokio::time::sleep(grace) => tracing::warn!("jobs still running after the grace period; they run again once their lease ends"),
        _ = until_stopped() => tracing::warn!("stopped at once on a second signal; running jobs run again once their lease ends"),
    }
    if let Ok(q) = store.queue_stats().await {
        tracing::info!(
            pending = q.pending,
            leased = q.leased,
            dead = q.dead,
            "queue at exit"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5 minutes")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("99999999999999h").is_err());
    }

    #[test]
    fn urls_are_redacted_and_defaults_sit_next_to_the_project() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/x?sslmode=require"),
            "postgres://app:***@db:5432/x?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(
            redact_url("sqlite:///tmp/a.db?mode=rwc"),
            "sqlite:///tmp/a.db?mode=rwc"
        );
        assert_eq!(
            default_database(Path::new("/srv/p/ghl-bridge.yaml")),
            "sqlite:///srv/p/ghl-bridge.db?mode=rwc"
        );
        assert_eq!(
            default_database(Path::new("ghl-bridge.yaml")),
            "sqlite://./ghl-bridge.db?mode=rwc"
        );
    }

    #[test]
    fn summaries_say_what_is_left() {
        let s = QueueStats {
            pending: 3,
            due: 1,
            leased: 1,
            dead: 2,
            oldest_due_age_ms: None,
        };
        let text = summary(5, 6, 7, &s);
        assert!(text.starts_with("polled 5 change(s), reconciled 6 record(s), ran 7 job(s)"));
        assert!(text.contains("2 job(s) wait for a retry"), "{text}");
        assert!(text.contains("dead-letter"), "{text}");
    }
}
