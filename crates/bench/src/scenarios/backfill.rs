//! The `backfill` scenario: N GHL contacts with their tasks and notes (the sandbox's seed: 0–2
//! of each per contact, about one on average) are copied into an empty Your App by the product's
//! own backfill, `ghl-bridge sync backfill --flow backfill --json`, run as a child process.
//!
//! GHL's limits keep their shape (a rolling 10 s burst window, a daily budget) but are scaled
//! up (`--burst`, default 1,000 per 10 s, so 100 requests/s) and the daily budget is out of the
//! way; Your App's limit is out of the way, so GHL's limit is the only bottleneck. The figures:
//! GHL requests made and how many drew a 429 (target 0), the achieved request rate as a share
//! of the allowed one (target ≥ 0.95) over the steady part and over the whole run, the wall
//! time against its floor (requests made ÷ allowed rate), the child's peak RSS (VmHWM, target
//! ≤ 150 MB for 100k contacts) and CPU time. Correctness: every GHL record is in Your App
//! exactly once (see [`meter::compare`]) and no job is left or dead.

#[path = "backfill_meter.rs"]
pub mod meter;

use std::process::Stdio;
use std::time::{Duration, Instant};

use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use ghl_sandbox::rest::ratelimit::RateLimit;
use ghl_sandbox::rest::{RestConfig, RestSandbox};
use serde_json::Value;
use tokio::sync::watch;

use crate::procstat;
use crate::{Figure, Options, Report};

/// Contacts of a default run: about 17,000 GHL requests, some 3 minutes at 100 requests/s.
pub const DEFAULT_CONTACTS: usize = 2_000;
/// Contacts of `--quick` (the CI smoke test): seconds, correctness only.
pub const QUICK_CONTACTS: usize = 100;
/// GHL's default burst (100 per 10 s) scaled up ten times.
pub const DEFAULT_BURST: u32 = 1_000;
/// Environment variable with more `sync backfill` arguments (e.g. `--budget-reserve 0`).
pub const EXTRA_ARGS_ENV: &str = "GHL_BRIDGE_BENCH_BACKFILL_ARGS";
/// Allowed rates above this (requests/s) count as no limit: the run then measures memory and
/// CPU, and the rate target is not judged.
const UNLIMITED_RATE: f64 = 10_000.0;
/// GHL's burst window.
const WINDOW_MS: u64 = 10_000;

/// The flow under test: contacts with their tasks and notes, GHL → Your App.
const FLOW: &str = "name: backfill
sync:
  source: ghl
  target: app
  direction: one_way
  kinds: [contact, task, note]
  match:
    contact: [email]
";

/// Runs the backfill benchmark; `Err` only when it could not run at all (a failed check is a
/// report with `ok: false`).
pub async fn run(opts: &Options) -> Result<Report, String> {
    let mut report = Report::start("backfill");
    let contacts = opts.count.unwrap_or(if opts.quick {
        QUICK_CONTACTS
    } else {
        DEFAULT_CONTACTS
    });
    let burst = opts.burst.unwrap_or(DEFAULT_BURST).max(1);
    let allowed = f64::from(burst) * 1000.0 / WINDOW_MS as f64;

    let seeding = Instant::now();
    let ghl = GhlSandbox::start(GhlConfig {
        contacts,
        seed: 7,
        limits: LimitConfig {
            burst_max: burst,
            burst_interval_ms: WINDOW_MS,
            daily_max: u64::from(u32::MAX),
        },
        ..Default::default()
    })
    .await
    .map_err(|e| format!("GHL sandbox: {e}"))?;
    let app = RestSandbox::start(RestConfig {
        contacts: 0,
        limits: RateLimit {
            limit: u32::MAX,
            window_secs: 60,
        },
        ..Default::default()
    })
    .await
    .map_err(|e| format!("Your App emulator: {e}"))?;
    let seeded_in = seeding.elapsed();
    let out = measure(opts, &mut report, &ghl, &app, contacts, burst, allowed).await;
    report.note(format!(
        "{contacts} GHL contacts seeded in {:.1}s; GHL limit {burst} requests per {}s ({allowed} /s), \
         daily budget out of the way; Your App unlimited",
        seeded_in.as_secs_f64(),
        WINDOW_MS / 1000
    ));
    ghl.shutdown().await;
    app.shutdown().await;
    out?;
    Ok(report.finish())
}

async fn measure(
    opts: &Options,
    report: &mut Report,
    ghl: &GhlSandbox,
    app: &RestSandbox,
    contacts: usize,
    burst: u32,
    allowed: f64,
) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let flows = dir.path().join("flows");
    std::fs::create_dir_all(&flows).map_err(|e| format!("{}: {e}", flows.display()))?;
    std::fs::write(flows.join("backfill.yaml"), FLOW).map_err(|e| format!("flow file: {e}"))?;
    let project = dir.path().join("ghl-bridge.yaml");
    std::fs::write(
        &project,
        "version: 1\nconnections:\n  ghl:\n    app: ghl\n    base_url: ${GHL_URL}\n    \
         location_id: ${GHL_LOCATION}\n    token: ${GHL_TOKEN}\n  app:\n    app: your_app\n    \
         base_url: ${APP_URL}\n    api_key: ${APP_KEY}\n",
    )
    .map_err(|e| format!("project file: {e}"))?;
    let db_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("engine.db").display()
    );
    let log = dir.path().join("backfill.log");
    let stderr = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;

    // Each contact costs about 8.5 GHL requests (measured): allow three times that floor, plus
    // 50 ms of work per contact (about 3 records; ~5 ms of CPU each when the limit is no
    // bottleneck) for a busy machine.
    let expected = contacts as f64 * 8.5 / allowed;
    let deadline = Duration::from_secs_f64(expected * 3.0 + contacts as f64 * 0.05 + 120.0);

    // More `sync backfill` arguments to compare settings, e.g. `--budget-reserve 0`.
    let extra = std::env::var(EXTRA_ARGS_ENV).unwrap_or_default();
    if !extra.trim().is_empty() {
        report.note(format!(
            "`sync backfill` run with {extra} (from {EXTRA_ARGS_ENV})"
        ));
    }
    let (stop, stopped) = watch::channel(false);
    let metering = tokio::spawn(meter::meter(ghl.state.clone(), stopped));
    let started = Instant::now();
    let mut child = tokio::process::Command::new(&opts.serve_bin)
        .args([
            "sync",
            "backfill",
            "--flow",
            "backfill",
            "--json",
            "--project",
        ])
        .arg(&project)
        .args(["--database", &db_url])
        .args(extra.split_whitespace())
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("GHL_BRIDGE_LOG_FORMAT")
        .env("GHL_URL", &ghl.base_url)
        .env("GHL_LOCATION", ghl.location_id())
        .env("GHL_TOKEN", ghl.token())
        .env("APP_URL", app.api_url())
        .env("APP_KEY", app.api_key())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("start {} sync backfill: {e}", opts.serve_bin.display()))?;
    let pid = child.id().ok_or("the backfill child exited at once")?;
    let mut stdout = child.stdout.take().ok_or("no stdout of the child")?;
    let reading = tokio::spawn(async move {
        let mut buf = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut stdout, &mut buf).await;
        buf
    });

    // Sample the child until it exits: VmHWM keeps the peak between samples.
    let mut last = procstat::sample(pid).unwrap_or_default();
    let mut max_rss = last.rss;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status.map_err(|e| format!("waiting for the backfill: {e}"))?,
            _ = tokio::time::sleep(Duration::from_millis(100)) => {
                if let Ok(s) = procstat::sample(pid) {
                    max_rss = max_rss.max(s.rss);
                    last = s;
                }
                if started.elapsed() > deadline {
                    let _ = child.kill().await;
                    let _ = stop.send(true);
                    return Err(format!(
                        "the backfill of {contacts} contacts did not finish within {deadline:?}; its log:\n{}",
                        tail(&log)
                    ));
                }
            }
        }
    };
    let wall = started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    let counts = metering.await.map_err(|e| format!("request meter: {e}"))?;
    let stdout = reading.await.unwrap_or_default();
    let summary: Value = serde_json::from_slice(&stdout).unwrap_or(Value::Null);
    if !status.success() || summary.is_null() {
        report.ok = false;
        report.note(format!(
            "`sync backfill` exited with {status}; stdout: {}; log:\n{}",
            String::from_utf8_lossy(&stdout),
            tail(&log)
        ));
    }
    let check = meter::compare(&ghl.state, &app.state);
    figures(report, &counts, &check, &summary, wall, allowed);
    report.figure(Figure::at_most(
        "peak RSS of `sync backfill` (VmHWM)",
        mb(last.peak_rss.max(max_rss)),
        "MB",
        150.0,
    ));
    report.figure(Figure::info(
        "CPU time of `sync backfill`",
        last.cpu.as_secs_f64(),
        "s",
    ));
    report.figure(Figure::info(
        "CPU per record synced",
        last.cpu.as_secs_f64() * 1000.0
            / (check.app_contacts + check.app_tasks + check.app_notes).max(1) as f64,
        "ms",
    ));
    let ops: Vec<String> = counts
        .per_operation
        .iter()
        .map(|(op, n)| format!("{op} {n}"))
        .collect();
    report.note(format!("GHL requests by operation: {}", ops.join(", ")));
    report.note(format!(
        "peak RSS and CPU are sampled every 100 ms until the child exits (burst {burst}); \
         the 100k run: `ghl-bridge bench backfill --count 100000` (about {:.0} min at this limit: \
         ~5 GHL requests per contact)",
        100_000.0 * 5.0 / allowed / 60.0
    ));
    Ok(())
}

/// The rate, 429, wall-time and correctness figures.
fn figures(
    report: &mut Report,
    counts: &meter::Counts,
    check: &meter::Check,
    summary: &Value,
    wall: f64,
    allowed: f64,
) {
    let window = (WINDOW_MS / 1000) as i64;
    report.figure(Figure::info("GHL requests", counts.total as f64, ""));
    report.figure(Figure::at_most(
        "GHL 429 answers",
        counts.too_many as f64,
        "",
        0.0,
    ));
    report.figure(Figure::info("allowed GHL rate", allowed, "/s"));
    // A limit far beyond what the machine can send (a memory run) leaves nothing to compare.
    let limited = allowed <= UNLIMITED_RATE;
    match counts.steady_rate(window).filter(|_| limited) {
        Some(rate) => report.figure(Figure::at_least(
            "achieved / allowed rate, steady part",
            rate / allowed,
            "",
            0.95,
        )),
        None if !limited => report.note(format!(
            "the GHL limit ({allowed} /s) is beyond what this machine sends: rate figures do not apply"
        )),
        None => report.note(format!(
            "the run spans {} s of requests, too short for a steady part (first and last {window} s left out)",
            counts.span_secs()
        )),
    }
    report.figure(Figure::info(
        "achieved / allowed rate, whole run",
        counts.total as f64 / wall / allowed,
        "",
    ));
    let floor = counts.total as f64 / allowed;
    report.figure(Figure::info("wall time", wall, "s"));
    report.figure(Figure::info("floor (requests / allowed rate)", floor, "s"));
    report.figure(Figure::info(
        "wall time / floor",
        wall / floor.max(1e-9),
        "",
    ));
    let records = (check.ghl_contacts + check.ghl_tasks + check.ghl_notes).max(1);
    // What a backfill cannot do without: the listing (contact search pages, one task list and
    // one note list per contact) and one read of each record.
    let listing: u64 = ["search-contacts-advanced", "get-all-tasks", "get-all-notes"]
        .iter()
        .filter_map(|op| counts.per_operation.get(*op))
        .sum();
    let needed = (listing + records) as f64 / allowed;
    report.figure(Figure::info(
        "floor of the needed requests (listing + 1 read per record)",
        needed,
        "s",
    ));
    report.figure(Figure::info(
        "wall time / floor of needed",
        wall / needed.max(1e-9),
        "",
    ));
    report.figure(Figure::info(
        "GHL requests per record",
        counts.total as f64 / records as f64,
        "",
    ));
    report.figure(Figure::info(
        "records in GHL (contacts + tasks + notes)",
        records as f64,
        "",
    ));
    let left = summary["left"].as_u64().unwrap_or(0);
    let dead = summary["dead"].as_u64().unwrap_or(0);
    report.figure(Figure::at_most(
        "jobs left or dead",
        (left + dead) as f64,
        "",
        0.0,
    ));
    let wrong = check.missing_contacts
        + check.duplicate_contacts
        + check.task_mismatches
        + check.note_mismatches;
    report.figure(Figure::at_most(
        "records lost or written twice",
        wrong as f64
            + (check.ghl_contacts + check.ghl_tasks + check.ghl_notes)
                .abs_diff(check.app_contacts + check.app_tasks + check.app_notes)
                as f64,
        "",
        0.0,
    ));
    report.note(format!(
        "GHL {} contacts, {} tasks, {} notes; Your App {} contacts, {} tasks, {} notes; \
         {} contacts missing, {} twice, {} with other task counts, {} with other note counts",
        check.ghl_contacts,
        check.ghl_tasks,
        check.ghl_notes,
        check.app_contacts,
        check.app_tasks,
        check.app_notes,
        check.missing_contacts,
        check.duplicate_contacts,
        check.task_mismatches,
        check.note_mismatches
    ));
    if counts.too_many > 0 || counts.errors > 0 || !check.exact() || left + dead > 0 {
        report.ok = false;
    }
    if counts.errors > 0 {
        report.note(format!(
            "{} GHL answers ≥ 400 other than 429",
            counts.errors
        ));
    }
}

fn mb(bytes: u64) -> f64 {
    (bytes as f64 / (1024.0 * 1024.0) * 10.0).round() / 10.0
}

fn tail(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
