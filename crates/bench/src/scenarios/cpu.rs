//! `bench cpu`: CPU time (utime + stime from /proc) of a real `serve` per synced event. N new
//! contacts are created in the GHL sandbox, and one signed `ContactCreate` webhook per contact
//! is posted; each event runs webhook → fetch from GHL → map → write to Your App. The CPU time
//! of `serve` from the first webhook until Your App holds all N contacts, divided by N.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use serde_json::{json, Map, Value};

use crate::load::{client, post_one};
use crate::procstat;
use crate::stack::{Stack, StackOptions};
use crate::{Figure, Options, Report};

/// Runs the CPU-per-event benchmark.
pub async fn run(opts: &Options) -> Result<Report, String> {
    let mut report = Report::start("cpu");
    let n = opts
        .count
        .unwrap_or(if opts.quick { 50 } else { 2000 })
        .max(1);
    let concurrency = opts.concurrency.unwrap_or(8).max(1);
    let stack = Arc::new(
        Stack::start(
            &opts.serve_bin,
            StackOptions {
                ghl_contacts: 0,
                // Webhooks only: no poll or reconcile finds the contacts first.
                serve_args: ["--poll-every", "1h", "--reconcile-every", "1h"]
                    .map(String::from)
                    .to_vec(),
                ..Default::default()
            },
        )
        .await?,
    );
    // Let start-up work finish so it is not billed to the events.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let location = stack.ghl.location_id();
    let run: u32 = rand::random();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let body: Map<String, Value> = json!({
            "firstName": format!("Bench{i}"),
            "lastName": "Cpu",
            "email": format!("cpu{run:08x}-{i}@bench.example"),
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        let c = stack
            .ghl
            .state
            .create_contact(&location, &body)
            .map_err(|e| format!("create GHL contact {i}: {e:?}"))?;
        ids.push(c.id);
    }
    let live = |s: &Stack| {
        s.crm.state.store.lock().counts()["contacts"]["live"]
            .as_u64()
            .unwrap_or(0)
    };
    let before_crm = live(&stack);
    let cpu0 = procstat::sample(stack.pid)?.cpu;
    let started = Instant::now();
    let http = client(concurrency);
    let results: Vec<Result<Duration, String>> = stream::iter(ids.iter().enumerate())
        .map(|(i, id)| {
            let (http, stack) = (http.clone(), stack.clone());
            let wh = format!("cpu-{run:08x}-{i}");
            async move { post_one(&http, &stack, id, &wh, "ContactCreate").await }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let failed: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    if let Some(e) = failed.first() {
        return Err(format!("{} webhooks refused; first: {e}", failed.len()));
    }
    let deadline = Instant::now() + Duration::from_secs(60 + n as u64 / 20);
    let target = before_crm + n as u64;
    while live(&stack) < target {
        if Instant::now() > deadline {
            return Err(format!(
                "Your App holds {} of {n} contacts after {:?}; serve log:\n{}",
                live(&stack) - before_crm,
                started.elapsed(),
                stack.log_tail()
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    let cpu = procstat::sample(stack.pid)?.cpu.saturating_sub(cpu0);
    let per_event_ms = cpu.as_secs_f64() * 1000.0 / n as f64;
    report.figure(Figure::at_most(
        "CPU time per synced event",
        (per_event_ms * 1000.0).round() / 1000.0,
        "ms",
        0.3,
    ));
    report.figure(Figure::info(
        "CPU time of serve",
        cpu.as_secs_f64() * 1000.0,
        "ms",
    ));
    report.figure(Figure::info("synced events", n as f64, ""));
    report.figure(Figure::info(
        "events synced per second (wall)",
        (n as f64 / elapsed.as_secs_f64()).round(),
        "/s",
    ));
    report.note(format!(
        "each event: signed ContactCreate webhook (concurrency {concurrency}) → job → GET the \
         contact from the GHL sandbox → map → search + create in Your App; serve defaults \
         (4 workers, SQLite), polls off; CPU clock resolution 10 ms"
    ));
    Ok(report.finish())
}
