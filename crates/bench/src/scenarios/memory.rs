//! `bench memory` (idle part): RSS of a real `serve` with the demo-sized project (GHL with 50
//! contacts + Your App, one sync flow) 5 s after it is ready, and again idle after a short
//! burst of webhooks. The 100k-backfill peak is the backfill scenario's figure.

use std::sync::Arc;
use std::time::Duration;

use crate::load::{closed_loop, Ids};
use crate::procstat;
use crate::stack::{Stack, StackOptions};
use crate::{Figure, Options, Report};

/// Runs the idle-memory benchmark.
pub async fn run(opts: &Options) -> Result<Report, String> {
    let mut report = Report::start("memory");
    let settle = Duration::from_secs(if opts.quick { 1 } else { 5 });
    let burst = Duration::from_secs(opts.duration_secs.unwrap_or(if opts.quick { 1 } else { 3 }));
    // The defaults of `serve` (4 workers, polls every 30 s): the first poll syncs the 50 contacts.
    let stack = Arc::new(Stack::start(&opts.serve_bin, StackOptions::default()).await?);
    let at_ready = procstat::sample(stack.pid)?;
    tokio::time::sleep(settle).await;
    let idle = procstat::sample(stack.pid)?;
    report.figure(Figure::info(
        "RSS when ready",
        round1(at_ready.rss_mb()),
        "MB",
    ));
    report.figure(Figure::at_most(
        format!("RSS idle {} s after ready", settle.as_secs()),
        round1(idle.rss_mb()),
        "MB",
        30.0,
    ));

    let ids = Ids::new();
    let p = closed_loop(&stack, &ids, 32, burst).await;
    let after_burst = procstat::sample(stack.pid)?;
    tokio::time::sleep(settle).await;
    let idle2 = procstat::sample(stack.pid)?;
    report.figure(Figure::info(
        "RSS right after the burst",
        round1(after_burst.rss_mb()),
        "MB",
    ));
    // The target is the idle process after start (above). After a burst it holds a few MB
    // more: code pages of the ingest path and allocator arenas, the same after 16,000 webhooks
    // as after 57,000 (docs/BENCHMARKS.md), so reported, not judged.
    report.figure(Figure::info(
        format!("RSS idle {} s after the burst", settle.as_secs()),
        round1(idle2.rss_mb()),
        "MB",
    ));
    report.figure(Figure::info(
        "peak RSS (VmHWM)",
        round1(idle2.peak_mb()),
        "MB",
    ));
    report.note(format!(
        "project: GHL sandbox with 50 contacts + Your App, one one-way contact flow, serve \
         defaults (4 workers, SQLite); burst: {} signed webhooks at concurrency 32 for {} s \
         ({} failed)",
        p.accepted,
        burst.as_secs(),
        p.failed
    ));
    if p.failed > 0 || p.accepted == 0 {
        report.ok = false;
        report.note(format!(
            "burst failed: {}",
            p.first_error.unwrap_or_else(|| "nothing accepted".into())
        ));
    }
    Ok(report.finish())
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}
