//! `bench ingest`: signed GHL webhooks against `POST /webhooks/ghl` of a real `serve` (SQLite).
//! Phase 1, closed loop at concurrency 32 for N seconds: durably accepted per second (`serve`
//! answers 200 only after the event's transaction committed) and p50/p99. Phase 2, open loop
//! at a fixed 1,000/s: p50/p99 measured from each request's scheduled start. Afterwards the
//! stored webhook events must equal the 200s: a benchmark that loses events fails.

use std::sync::Arc;
use std::time::Duration;

use crate::load::{closed_loop, open_loop, Ids, Phase};
use crate::stack::{Stack, StackOptions};
use crate::{Figure, Options, Report};

/// Runs the ingest benchmark.
pub async fn run(opts: &Options) -> Result<Report, String> {
    let mut report = Report::start("ingest");
    let concurrency = opts.concurrency.unwrap_or(32).max(1);
    let secs = opts
        .duration_secs
        .unwrap_or(if opts.quick { 2 } else { 10 });
    let rate = opts.rate.unwrap_or(if opts.quick { 200 } else { 1000 });
    let open_secs = if opts.quick { 1 } else { secs.clamp(1, 5) };
    let stack = Arc::new(
        Stack::start(
            &opts.serve_bin,
            StackOptions {
                ghl_contacts: 5,
                // One worker: the jobs the events create (each fetches an unknown contact from
                // the GHL sandbox, which answers 404) run beside the ingest, as in production,
                // without taking the cores from it; polls and reconciles are out of the way.
                serve_args: [
                    "--workers",
                    "1",
                    "--poll-every",
                    "1h",
                    "--reconcile-every",
                    "1h",
                ]
                .map(String::from)
                .to_vec(),
                ..Default::default()
            },
        )
        .await?,
    );
    let ids = Ids::new();
    // Warm-up: connections, SQLite pages, first allocations; its events count as stored too.
    let warm = closed_loop(&stack, &ids, concurrency, Duration::from_millis(300)).await;

    let cpu0 = crate::procstat::sample(stack.pid)?.cpu;
    let mut closed = closed_loop(&stack, &ids, concurrency, Duration::from_secs(secs)).await;
    let serve_cpu = crate::procstat::sample(stack.pid)?.cpu.saturating_sub(cpu0);
    let per_sec = closed.accepted as f64 / closed.elapsed.as_secs_f64().max(1e-9);
    report.figure(Figure::at_least(
        format!("accepted/s (concurrency {concurrency}, {secs} s)"),
        per_sec.round(),
        "/s",
        5000.0,
    ));
    report.figure(Figure::info(
        "serve CPU per accepted webhook",
        (serve_cpu.as_secs_f64() * 1e6 / closed.accepted.max(1) as f64).round(),
        "µs",
    ));
    report.figure(Figure::info(
        "p50 at concurrency",
        closed.latencies.percentile_ms(50.0),
        "ms",
    ));
    report.figure(Figure::info(
        "p99 at concurrency",
        closed.latencies.percentile_ms(99.0),
        "ms",
    ));

    let mut open = open_loop(&stack, &ids, rate, Duration::from_secs(open_secs)).await;
    report.figure(Figure::info(
        format!("p50 at fixed {rate}/s"),
        open.latencies.percentile_ms(50.0),
        "ms",
    ));
    report.figure(Figure::at_most(
        format!("p99 at fixed {rate}/s ({open_secs} s)"),
        open.latencies.percentile_ms(99.0),
        "ms",
        20.0,
    ));

    let accepted = warm.accepted + closed.accepted + open.accepted;
    let failed = warm.failed + closed.failed + open.failed;
    let stored = stack
        .count("SELECT count(*) FROM events WHERE source = 'webhook'")
        .await?;
    report.figure(Figure::info(
        "answered 200 (all phases)",
        accepted as f64,
        "",
    ));
    report.figure(Figure::info("stored webhook events", stored as f64, ""));
    report.figure(Figure::info("failed requests", failed as f64, ""));
    if stored != accepted as i64 {
        report.ok = false;
        report.note(format!(
            "LOST EVENTS: {accepted} answered 200 but {stored} stored"
        ));
    }
    if failed > 0 {
        report.ok = false;
        let why = [&warm, &closed, &open]
            .iter()
            .find_map(|p: &&Phase| p.first_error.clone())
            .unwrap_or_default();
        report.note(format!("{failed} requests failed; first: {why}"));
    }
    if accepted == 0 {
        report.ok = false;
        report.note(format!(
            "nothing accepted; serve log:\n{}",
            stack.log_tail()
        ));
    }
    report.note(format!(
        "serve --workers 1 over SQLite (WAL, synchronous=FULL); each event enqueues one job of \
         the one-way contact flow, which that worker runs concurrently (GHL sandbox answers 404 \
         for the unknown contact ids); the load generator and both emulators run in the bench \
         process on the same {} cores",
        report.machine.cores
    ));
    report.note(format!(
        "phase 1: {concurrency} keep-alive senders, closed loop, {} accepted in {:.2} s; \
         phase 2: open loop, {} requests scheduled at {rate}/s, latency from scheduled start",
        closed.accepted,
        closed.elapsed.as_secs_f64(),
        open.accepted + open.failed
    ));
    drop(stack);
    Ok(report.finish())
}
