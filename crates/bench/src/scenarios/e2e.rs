//! The `e2e` scenario: a contact change in the GHL sandbox → its signed webhook (delivered by the
//! sandbox itself to `serve`'s `/webhooks/ghl`) → the job re-fetches the contact from GHL → the
//! mapping → the write in the Your App emulator. Changes are made at a fixed rate (open loop:
//! the schedule never waits for the bridge), each with a unique marker in the mapped `city`
//! field, so every write in the emulator's request log names the change it carries.
//!
//! Latency = the moment the change was made (the sandbox queues its webhook in the same call)
//! → the emulator's log time of the write carrying its marker. Both clocks are this process's;
//! the log keeps milliseconds, so each sample is exact to 1 ms.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ghl_sandbox::rest::RestSandbox;
use serde_json::{json, Map, Value};

use crate::latency::Latencies;
use crate::stack::{Stack, StackOptions};
use crate::{procstat, Figure, Options, Report};

/// Every write method the Your App emulator accepts.
const WRITES: [&str; 3] = ["POST", "PATCH", "PUT"];

/// The marker of change `i` of a run: unique per change, found in the write's body.
pub(crate) fn marker(prefix: &str, i: usize) -> String {
    format!("{prefix}-{i}")
}

/// Writes (2xx POST/PATCH/PUT) in the emulator's log that carry a marker starting with
/// `prefix-`: marker index → the log time of each such write. Writes without a marker are
/// counted in the second value (a write the load did not cause, e.g. a poll's).
pub(crate) fn marked_writes(
    crm: &RestSandbox,
    prefix: &str,
) -> (BTreeMap<usize, Vec<DateTime<Utc>>>, usize) {
    let mut out: BTreeMap<usize, Vec<DateTime<Utc>>> = BTreeMap::new();
    let mut unmarked = 0;
    let lead = format!("{prefix}-");
    for e in crm.state.log.since(0, usize::MAX) {
        if !WRITES.contains(&e.method.as_str()) || !(200..300).contains(&e.status) {
            continue;
        }
        let Some(body) = &e.body else { continue };
        let mut found = Vec::new();
        find_markers(body, &lead, &mut found);
        if found.is_empty() {
            unmarked += 1;
            continue;
        }
        let at = DateTime::parse_from_rfc3339(&e.at)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|_| Utc::now());
        for i in found {
            out.entry(i).or_default().push(at);
        }
    }
    (out, unmarked)
}

fn find_markers(v: &Value, lead: &str, out: &mut Vec<usize>) {
    match v {
        Value::String(s) => {
            if let Some(i) = s.strip_prefix(lead).and_then(|n| n.parse().ok()) {
                out.push(i);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| find_markers(x, lead, out)),
        Value::Object(o) => o.values().for_each(|x| find_markers(x, lead, out)),
        _ => {}
    }
}

/// Live contacts in the Your App emulator.
pub(crate) fn crm_contacts(crm: &RestSandbox) -> u64 {
    crm.state.store.lock().counts()["contacts"]["live"]
        .as_u64()
        .unwrap_or(0)
}

/// GHL contact ids, sorted (the seed is fixed, so the order is the same every run).
pub(crate) fn ghl_ids(ghl: &ghl_sandbox::ghl::GhlSandbox) -> Vec<String> {
    let mut ids: Vec<String> = ghl.state.store.read().contacts.keys().cloned().collect();
    ids.sort();
    ids
}

/// Sets `city` of a GHL contact the way a person in GHL would.
pub(crate) fn change_city(
    ghl: &ghl_sandbox::ghl::GhlSandbox,
    id: &str,
    city: &str,
) -> Result<(), String> {
    let mut body = Map::new();
    body.insert("city".into(), json!(city));
    ghl.state
        .update_contact(id, &body, false)
        .map(|_| ())
        .map_err(|e| format!("changing GHL contact {id}: {e:?}"))
}

/// Counts of a finished run. Change `i` is of record `i % records`. A change with no write of
/// its own is *superseded* when a later change of the same record was written (the two were
/// merged into one job, which wrote the newest state: correct, and what the engine's coalescing
/// is for); its latency is then that later write's. It is *lost* when no later write came.
pub(crate) struct Tally {
    pub latencies: Latencies,
    pub written: usize,
    pub superseded: usize,
    pub lost: usize,
    pub duplicates: usize,
    pub unmarked: usize,
    pub last_write: Option<DateTime<Utc>>,
}

/// Matches the writes in the log against the changes made (`sent[i]` = when change `i` was made).
pub(crate) fn tally(
    crm: &RestSandbox,
    prefix: &str,
    sent: &[DateTime<Utc>],
    records: usize,
) -> Tally {
    let (writes, unmarked) = marked_writes(crm, prefix);
    let records = records.max(1);
    let mut t = Tally {
        latencies: Latencies::new(),
        written: 0,
        superseded: 0,
        lost: 0,
        duplicates: 0,
        unmarked,
        last_write: None,
    };
    // Walk each record's changes newest first, remembering the first write of the newest
    // written change so far.
    let mut next_write: Vec<Option<DateTime<Utc>>> = vec![None; records];
    for (i, at0) in sent.iter().enumerate().rev() {
        let r = i % records;
        let own = writes.get(&i).and_then(|ats| ats.iter().min().copied());
        let first = match own {
            Some(first) => {
                t.written += 1;
                t.duplicates += writes[&i].len() - 1;
                t.last_write = t.last_write.max(Some(first));
                next_write[r] = Some(first);
                first
            }
            None => match next_write[r] {
                Some(later) => {
                    t.superseded += 1;
                    later
                }
                None => {
                    t.lost += 1;
                    continue;
                }
            },
        };
        t.latencies
            .record((first - *at0).to_std().unwrap_or(Duration::ZERO));
    }
    t
}

/// True once the newest change of every record has been written.
pub(crate) fn newest_written(
    crm: &RestSandbox,
    prefix: &str,
    changes: usize,
    records: usize,
) -> bool {
    let (writes, _) = marked_writes(crm, prefix);
    (changes.saturating_sub(records.max(1))..changes).all(|i| writes.contains_key(&i))
}

/// Waits until `done()` holds, checking every 100 ms; the error says what did not happen.
pub(crate) async fn wait_for(
    what: &str,
    within: Duration,
    mut done: impl FnMut() -> bool,
) -> Result<(), String> {
    let deadline = Instant::now() + within;
    while !done() {
        if Instant::now() >= deadline {
            return Err(format!("timed out after {within:?} waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Runs the `e2e` benchmark: `--rate` changes/s (200) for `--duration` s (30) over `--count`
/// contacts (1,000); `--quick`: 100/s for 2 s over 50 contacts.
pub async fn run(opts: &Options) -> Result<Report, String> {
    let mut report = Report::start("e2e");
    let rate = opts
        .rate
        .unwrap_or(if opts.quick { 100 } else { 200 })
        .max(1);
    let secs = opts
        .duration_secs
        .unwrap_or(if opts.quick { 2 } else { 30 });
    let contacts = opts
        .count
        .unwrap_or(if opts.quick { 50 } else { 1000 })
        .max(1);
    let events = (rate * secs) as usize;
    let stack = Stack::start(
        &opts.serve_bin,
        StackOptions {
            ghl_contacts: contacts,
            // Only webhooks make work during the measurement: the start-up poll is the
            // backfill, and no later poll or reconcile runs within the benchmark.
            serve_args: ["--poll-every", "1h", "--reconcile-every", "24h"]
                .map(String::from)
                .to_vec(),
            ..StackOptions::default()
        },
    )
    .await?;
    let outcome = measure(&stack, &mut report, rate, events, contacts).await;
    if outcome.is_err() {
        report.note(format!("serve log tail:\n{}", stack.log_tail()));
    }
    stack.shutdown().await;
    outcome?;
    Ok(report.finish())
}

async fn measure(
    stack: &Stack,
    report: &mut Report,
    rate: u64,
    events: usize,
    contacts: usize,
) -> Result<(), String> {
    // Warm-up: the start-up poll copies every contact, so the measured changes are updates of
    // linked records (the steady state), not first-time creates.
    let warm = Instant::now();
    wait_for(
        "the start-up backfill to copy every GHL contact to Your App",
        Duration::from_secs(120 + contacts as u64 / 10),
        || crm_contacts(&stack.crm) >= contacts as u64,
    )
    .await?;
    let idle_sql = "SELECT count(*) FROM jobs WHERE state NOT IN ('done', 'dead')";
    let deadline = Instant::now() + Duration::from_secs(60);
    while stack.count(idle_sql).await? > 0 {
        if Instant::now() >= deadline {
            return Err("the backfill's jobs did not finish within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    report.note(format!(
        "warm-up: backfill of {contacts} contacts in {:.1} s before the measurement",
        warm.elapsed().as_secs_f64()
    ));
    let ids = ghl_ids(&stack.ghl);
    stack
        .ghl
        .state
        .set_webhook_url(Some(format!("{}/webhooks/ghl", stack.url)));
    stack.crm.state.log.clear();
    stack.ghl.state.log.clear();
    let cpu0 = procstat::sample(stack.pid)?.cpu;

    // The open-loop schedule: change i is due at start + i / rate, whatever the bridge does.
    let prefix = format!("e2e{:06x}", rand::random::<u32>() & 0xff_ffff);
    let mut sent: Vec<DateTime<Utc>> = Vec::with_capacity(events);
    let start = tokio::time::Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut late = Duration::ZERO;
    for i in 0..events {
        let due = start + interval * i as u32;
        tokio::time::sleep_until(due).await;
        late = late.max(tokio::time::Instant::now() - due);
        sent.push(Utc::now());
        change_city(&stack.ghl, &ids[i % ids.len()], &marker(&prefix, i))?;
    }
    let offered = start.elapsed();
    let drain = wait_for(
        "every change to reach Your App",
        Duration::from_secs(60),
        || newest_written(&stack.crm, &prefix, events, ids.len()),
    )
    .await;
    // Late duplicates would show up just after the last first write.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cpu = procstat::sample(stack.pid)?.cpu.saturating_sub(cpu0);
    let mut t = tally(&stack.crm, &prefix, &sent, ids.len());
    let deliveries = stack.ghl.state.webhooks.stats();
    let per_event = |n: usize| n as f64 / events.max(1) as f64;
    let ghl_calls = per_event(stack.ghl.state.log.since(0, usize::MAX).len());
    let crm_calls = per_event(stack.crm.state.log.since(0, usize::MAX).len());

    let achieved = if events > 1 {
        (events - 1) as f64
            / (sent[events - 1] - sent[0])
                .to_std()
                .unwrap_or(offered)
                .as_secs_f64()
    } else {
        events as f64
    };
    report.figure(Figure::info("changes offered", events as f64, "events"));
    report.figure(Figure::info("achieved rate", achieved, "events/s"));
    report.figure(Figure::info(
        "latency p50",
        t.latencies.percentile_ms(50.0),
        "ms",
    ));
    report.figure(Figure::info(
        "latency p90",
        t.latencies.percentile_ms(90.0),
        "ms",
    ));
    report.figure(Figure::at_most(
        "latency p99",
        t.latencies.percentile_ms(99.0),
        "ms",
        50.0,
    ));
    report.figure(Figure::info(
        "latency max",
        t.latencies.percentile_ms(100.0),
        "ms",
    ));
    report.figure(Figure::at_most(
        "lost changes",
        t.lost as f64,
        "events",
        0.0,
    ));
    report.figure(Figure::info(
        "superseded changes",
        t.superseded as f64,
        "events",
    ));
    report.figure(Figure::at_most(
        "duplicate writes",
        t.duplicates as f64,
        "writes",
        0.0,
    ));
    report.figure(Figure::info(
        "serve CPU per event",
        cpu.as_secs_f64() * 1000.0 / events.max(1) as f64,
        "ms",
    ));
    report.figure(Figure::info("GHL API calls per event", ghl_calls, "calls"));
    report.figure(Figure::info("Your App calls per event", crm_calls, "calls"));
    report.note(format!(
        "{events} changes of `city` at {rate}/s over {} GHL contacts (each changed every {:.1} s), \
         one-way contact flow, serve on SQLite with default workers; schedule at most {:.1} ms late",
        contacts,
        contacts as f64 / rate as f64,
        late.as_secs_f64() * 1000.0
    ));
    report.note(format!(
        "webhooks: {} emitted, {} delivered, {} retried, {} failed; writes without a marker: {}",
        deliveries.emitted, deliveries.delivered, deliveries.retried, deliveries.failed, t.unmarked
    ));
    if let Err(e) = drain {
        report.note(e);
    }
    report.ok = t.lost == 0 && t.duplicates == 0;
    Ok(())
}
