//! The `scale` scenario: the e2e flow (GHL change → signed webhook → re-fetch → mapping → write
//! in Your App) on PostgreSQL with 1 and then 3 `ghl-bridge serve` processes sharing the store,
//! under saturating load: `--count` contacts (3,000) are changed, then their webhooks are posted
//! as fast as the processes accept them (32 at a time, spread round-robin over the processes).
//! Throughput = changes / (first webhook posted → last change written in Your App).
//!
//! Each configuration gets a fresh schema (dropped at the end, also after a failure) and fresh
//! emulators. Every change carries a unique marker, and the Your App emulator's request log must
//! show exactly one write per change: no duplicate, none lost.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use super::e2e::{change_city, crm_contacts, ghl_ids, marker, newest_written, tally, wait_for};
use crate::stack::ONE_WAY_CONTACTS;
use crate::stack_pg::{Fleet, PgSchema, DEFAULT_PG};
use crate::{procstat, Figure, Options, Report};
use ghl_sandbox::ghl::faults::FaultRule;

/// Webhooks in flight at once, unless `--concurrency` says otherwise.
const CONCURRENCY: usize = 32;

/// What one configuration measured.
struct Run {
    processes: usize,
    workers: usize,
    throughput: f64,
    ingest_rate: f64,
    lost: usize,
    duplicates: usize,
    rejected: usize,
    cpu_busy: f64,
    serve_cpu_ms_per_event: f64,
    bench_cpu_ms_per_event: f64,
    /// The rest of the machine's busy CPU time: PostgreSQL's backends, and whatever else runs.
    other_cpu_ms_per_event: f64,
}

/// Runs the `scale` benchmark: 1 then 3 processes; `--quick`: 60 contacts.
pub async fn run(opts: &Options) -> Result<Report, String> {
    let mut report = Report::start("scale");
    let count = opts
        .count
        .unwrap_or(if opts.quick { 60 } else { 3000 })
        .max(1);
    let admin_url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG.into());
    let mut runs = Vec::new();
    // The third run (full mode only) is the control: one process with as many workers as the
    // three processes have together, to tell processes from mere concurrency apart.
    let configs: &[(usize, usize)] = if opts.quick {
        &[(1, 4), (3, 4)]
    } else {
        &[(1, 4), (3, 4), (1, 12)]
    };
    for &(processes, workers) in configs {
        let mut schema = PgSchema::create(&admin_url).await?;
        let outcome = one(opts, &mut schema, (processes, workers), count).await;
        let dropped = schema.drop().await;
        let r = outcome?;
        dropped?;
        runs.push(r);
    }
    for r in &runs {
        let p = match (r.processes, r.workers) {
            (p, 4) => p.to_string(),
            (p, w) => format!("{p} x {w} workers"),
        };
        report.figure(Figure::info(
            format!("throughput, {p} process(es)"),
            r.throughput,
            "events/s",
        ));
        report.figure(Figure::info(
            format!("webhooks accepted, {p} process(es)"),
            r.ingest_rate,
            "events/s",
        ));
        report.figure(Figure::at_most(
            format!("duplicate writes, {p} process(es)"),
            r.duplicates as f64,
            "writes",
            0.0,
        ));
        report.figure(Figure::at_most(
            format!("lost changes, {p} process(es)"),
            r.lost as f64,
            "events",
            0.0,
        ));
        report.figure(Figure::info(
            format!("machine CPU busy, {p} process(es)"),
            r.cpu_busy,
            "%",
        ));
        report.figure(Figure::info(
            format!("serve CPU per event, {p} process(es)"),
            r.serve_cpu_ms_per_event,
            "ms",
        ));
        report.figure(Figure::info(
            format!("bench process CPU per event, {p} process(es)"),
            r.bench_cpu_ms_per_event,
            "ms",
        ));
        report.figure(Figure::info(
            format!("other CPU per event (PostgreSQL, rest of machine), {p} process(es)"),
            r.other_cpu_ms_per_event,
            "ms",
        ));
        if r.rejected > 0 {
            report.note(format!(
                "{p} process(es): {} webhooks were not accepted (non-2xx or connection error)",
                r.rejected
            ));
        }
    }
    let ratio = runs[1].throughput / runs[0].throughput.max(f64::MIN_POSITIVE);
    report.figure(Figure::at_least("throughput ratio 3 / 1", ratio, "x", 2.5));
    if let Some(ms) = opts.api_latency_ms.filter(|ms| *ms > 0) {
        report.note(format!(
            "every GHL and Your App API call took {ms} ms longer during the measurement \
             (--api-latency), as real APIs answer in tens to hundreds of ms instead of \
             loopback's fraction of a millisecond"
        ));
    }
    report.note(format!(
        "{count} contacts changed once each, then their signed ContactUpdate webhooks posted \
         {} at a time round-robin over the serve processes; PostgreSQL at {} (fresh \
         schema per configuration), serve --workers 4 each (the `1 x 12 workers` run: one \
         process with 12), no poll or reconcile during the measurement; machine has {} cores",
        opts.concurrency.unwrap_or(CONCURRENCY),
        redact(&admin_url),
        report.machine.cores
    ));
    report.ok = runs
        .iter()
        .all(|r| r.lost == 0 && r.duplicates == 0 && r.rejected == 0);
    Ok(report.finish())
}

/// The URL without its password, for the report.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].find(':') {
            Some(c) => format!("{}:***{}", &url[..s + 3 + c], &url[at..]),
            None => url.to_string(),
        },
        _ => url.to_string(),
    }
}

async fn one(
    opts: &Options,
    schema: &mut PgSchema,
    (processes, workers): (usize, usize),
    count: usize,
) -> Result<Run, String> {
    let concurrency = opts.concurrency.unwrap_or(CONCURRENCY).max(1);
    let workers = workers.to_string();
    let args = [
        "--poll-every",
        "1h",
        "--reconcile-every",
        "24h",
        "--workers",
        &workers,
    ];
    let fleet = Fleet::start(
        &opts.serve_bin,
        count,
        ONE_WAY_CONTACTS,
        &schema.url,
        processes,
        &args,
    )
    .await?;
    let latency = opts.api_latency_ms.unwrap_or(0);
    let outcome = measure(&fleet, schema, (processes, latency), count, concurrency)
        .await
        .map(|mut r| {
            r.workers = workers.parse().unwrap_or(4);
            r
        });
    let outcome = match outcome {
        Ok(r) => Ok(r),
        Err(e) => Err(format!(
            "{processes} process(es): {e}\n{}",
            fleet.log_tails()
        )),
    };
    fleet.shutdown().await;
    outcome
}

async fn measure(
    fleet: &Fleet,
    schema: &mut PgSchema,
    (processes, latency_ms): (usize, u64),
    count: usize,
    concurrency: usize,
) -> Result<Run, String> {
    // Warm-up: the start-up poll (one process holds the scheduler lease) copies every contact.
    wait_for(
        "the start-up backfill to copy every GHL contact to Your App",
        Duration::from_secs(120 + count as u64 / 10),
        || crm_contacts(&fleet.crm) >= count as u64,
    )
    .await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while schema
        .count("SELECT count(*) FROM jobs WHERE state NOT IN ('done', 'dead')")
        .await?
        > 0
    {
        if Instant::now() >= deadline {
            return Err("the backfill's jobs did not finish within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    fleet.crm.state.log.clear();
    if latency_ms > 0 {
        // From now on every API call takes `latency_ms` longer, on both emulators.
        let rules = vec![FaultRule {
            route: "*".into(),
            latency_ms,
            ..FaultRule::default()
        }];
        fleet.ghl.state.faults.set_rules(rules.clone());
        fleet.crm.state.faults.set_rules(rules);
    }
    let ids = ghl_ids(&fleet.ghl);
    let prefix = format!("sc{processes}x{:06x}", rand::random::<u32>() & 0xff_ffff);
    let mut sent: Vec<DateTime<Utc>> = Vec::with_capacity(count);
    // No webhook URL is set, so the sandbox sends nothing itself: the posts below are the load.
    for (i, id) in ids.iter().take(count).enumerate() {
        sent.push(Utc::now());
        change_city(&fleet.ghl, id, &marker(&prefix, i))?;
    }
    let bodies: Vec<(String, Vec<u8>, String)> = ids
        .iter()
        .take(count)
        .enumerate()
        .map(|(i, id)| {
            let (body, sig) = fleet.signed_contact_update(id, &format!("{prefix}-wh-{i}"));
            let url = format!("{}/webhooks/ghl", fleet.urls[i % fleet.urls.len()]);
            (url, body, sig)
        })
        .collect();
    let http = reqwest::Client::new();
    let rejected = Arc::new(AtomicUsize::new(0));
    let cpu0: Vec<Duration> = fleet
        .pids
        .iter()
        .map(|p| procstat::sample(*p).map(|s| s.cpu))
        .collect::<Result<_, _>>()?;
    let busy0 = cpu_jiffies();
    let me0 = procstat::sample(std::process::id())?.cpu;
    let start = Instant::now();
    let start_utc = Utc::now();
    futures_util::stream::iter(bodies)
        .for_each_concurrent(concurrency, |(url, body, sig)| {
            let (http, rejected) = (http.clone(), rejected.clone());
            async move {
                let r = http
                    .post(url)
                    .header("content-type", "application/json")
                    .header("x-ghl-signature", sig)
                    .body(body)
                    .send()
                    .await;
                if !matches!(&r, Ok(r) if r.status().is_success()) {
                    rejected.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
        .await;
    let posted = start.elapsed();
    let drain = wait_for(
        "every change to reach Your App",
        Duration::from_secs(60 + count as u64 / 10),
        || newest_written(&fleet.crm, &prefix, count, count),
    )
    .await;
    let busy = busy0.and_then(|b0| cpu_jiffies().map(|b1| busy_percent(b0, b1)));
    let measured = start.elapsed();
    let me = procstat::sample(std::process::id())?
        .cpu
        .saturating_sub(me0);
    let mut cpu = Duration::ZERO;
    for (p, c0) in fleet.pids.iter().zip(&cpu0) {
        cpu += procstat::sample(*p)?.cpu.saturating_sub(*c0);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t = tally(&fleet.crm, &prefix, &sent, count);
    drain?;
    let last = t.last_write.unwrap_or(start_utc);
    let elapsed = (last - start_utc)
        .to_std()
        .unwrap_or(start.elapsed())
        .max(Duration::from_millis(1));
    Ok(Run {
        processes,
        workers: 4,
        throughput: t.written as f64 / elapsed.as_secs_f64(),
        ingest_rate: count as f64 / posted.as_secs_f64().max(1e-3),
        lost: t.lost,
        duplicates: t.duplicates,
        rejected: rejected.load(Ordering::Relaxed),
        cpu_busy: busy.unwrap_or(0.0),
        serve_cpu_ms_per_event: cpu.as_secs_f64() * 1000.0 / count as f64,
        bench_cpu_ms_per_event: me.as_secs_f64() * 1000.0 / count as f64,
        other_cpu_ms_per_event: {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
            let all = busy.unwrap_or(0.0) / 100.0 * cores * measured.as_secs_f64();
            (all - cpu.as_secs_f64() - me.as_secs_f64()).max(0.0) * 1000.0 / count as f64
        },
    })
}

/// (busy, total) jiffies of all CPUs from /proc/stat; None off Linux.
fn cpu_jiffies() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().sum();
    // idle + iowait are not busy.
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

fn busy_percent(a: (u64, u64), b: (u64, u64)) -> f64 {
    let total = b.1.saturating_sub(a.1).max(1);
    100.0 * b.0.saturating_sub(a.0) as f64 / total as f64
}
