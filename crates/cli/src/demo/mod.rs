//! `ghl-bridge demo`: the product on a fresh machine, with nothing else installed. It starts the
//! GHL sandbox with seed data and the five app emulators, writes one shipped template per app
//! into a temp folder as one project, runs the engine on SQLite and the HTTP server, lets the
//! first full comparison sync the seed data, drives realistic activity for `--duration` (with
//! GHL's webhooks duplicated and dropped), waits for the engine to catch up and compares once
//! more, then prints a summary per flow and checks that both sides of every flow agree. It
//! exits non-zero when they do not. Without `--once` it keeps running (engine, server,
//! emulators) until Ctrl-C so the admin API and the emulators can be explored. docs/demo.md.

mod activity;
mod check;
mod curl;
mod progress;
mod rescan;
mod stack;
mod summary;

use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{json, Value};

use crate::run_cmd::parse_duration;
use crate::sandbox_cmd::until_stopped;
use progress::Progress;
use stack::{Size, Stack};

/// Options of the demo.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// How long the activity runs (`60s`, `2m`).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    duration: Duration,
    /// GHL contacts seeded (each app starts with a fifth as many of its own).
    #[arg(long, default_value_t = 200)]
    contacts: usize,
    /// Seed of the generated data and of the activity.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Exit after the summary and the end check instead of running until Ctrl-C.
    #[arg(long)]
    once: bool,
    /// Test hook (hidden): after the last sync, change one Your App contact behind the engine's
    /// back, so the end check must fail. `crates/cli/tests/demo_once.rs` uses it.
    #[arg(long, hide = true)]
    sabotage: bool,
}

/// Waits until no job is pending or leased, showing progress; false when `limit` passed first.
async fn drain(stack: &Stack, progress: &Progress, what: &str, limit: Duration) -> bool {
    let start = Instant::now();
    loop {
        let left = match stack.engine.store.queue_stats().await {
            Ok(s) => s.pending + s.leased,
            Err(e) => {
                tracing::warn!(error = %e, "reading the queue failed");
                1
            }
        };
        if left == 0 {
            progress.finish(&format!(
                "{what}: done in {:.1}s",
                start.elapsed().as_secs_f64()
            ));
            return true;
        }
        if start.elapsed() > limit {
            progress.finish(&format!(
                "{what}: {left} job(s) still queued after {}s; going on",
                limit.as_secs()
            ));
            return false;
        }
        progress.waiting(what, left);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One full comparison (as the scheduler runs every `--reconcile-every`), then a drain. With
/// `every_record`, every record is compared again too, changed time or not (see `rescan`).
async fn reconcile(
    stack: &Stack,
    progress: &Progress,
    what: &str,
    limit: Duration,
    every_record: bool,
) {
    if let Err(e) = stack.engine.reconcile_once().await {
        println!("  {what}: the full comparison failed: {e}");
    }
    if every_record {
        let nonce = format!("{}", chrono::Utc::now().timestamp_micros());
        if let Err(e) = rescan::compare_everything(stack, &nonce).await {
            println!("  {what}: {e}");
        }
    }
    drain(stack, progress, what, limit).await;
}

fn print_world(stack: &Stack) {
    println!("Running on 127.0.0.1:");
    println!("  GHL sandbox   {}", stack.ghl.base_url);
    println!("  Your App      {}", stack.your_app.base_url);
    println!("  InvestNext    {}", stack.investnext.base_url);
    println!("  Invoco        {}", stack.invoco.base_url);
    println!("  Insightly     {}", stack.insightly.root_url);
    println!("  SalesNexus    {}", stack.salesnexus.base_url);
    println!(
        "  ghl-bridge    {}  (webhooks, admin API)",
        stack.server_url
    );
    println!("  project       {}", stack.dir.path().display());
    println!("Templates (one per app):");
    for (app, id) in stack::TEMPLATES {
        println!("  {app:<11} {id}");
    }
    for f in stack.sync_flows() {
        println!("  flow: {}", f.name);
    }
}

/// GHL's webhook counters (`GET /_sandbox/webhooks`), as one line.
async fn webhook_line(stack: &Stack) -> String {
    let url = format!("{}/_sandbox/webhooks", stack.ghl.base_url);
    let stats: Value = match reqwest::get(url).await {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    let s = &stats["stats"];
    let n = |k: &str| s[k].as_u64().unwrap_or(0);
    format!(
        "GHL webhooks: {} sent, {} duplicated, {} dropped, {} delivered late (a poll or the \
         full comparison catches what was dropped; duplicates are recognised and skipped)",
        n("emitted"),
        n("duplicated"),
        n("dropped"),
        n("reordered")
    )
}

/// Changes the first name of one Your App contact that is linked to a live GHL contact, through
/// Your App's admin API: a change the engine is not told about, which the end check must find.
async fn sabotage(stack: &Stack) -> Result<String, String> {
    let store = &stack.engine.store;
    let e = |e: engine::store::StoreError| format!("sabotage: reading links: {e}");
    let links = store
        .links_in(
            "your_app",
            "contact",
            engine::store::Page {
                limit: 1000,
                offset: 0,
            },
        )
        .await
        .map_err(e)?;
    let mut target = None;
    for l in links {
        let twins = store.links_of(l.identity_id).await.map_err(e)?;
        let live = twins.iter().any(|t| {
            t.connection_id == "ghl"
                && t.kind == "contact"
                && stack
                    .ghl
                    .state
                    .store
                    .read()
                    .contacts
                    .contains_key(&t.external_id)
        });
        if live {
            target = Some(l.external_id);
            break;
        }
    }
    let id = target.ok_or("sabotage: no Your App contact is linked to a live GHL contact")?;
    let url = format!("{}/_sandbox/contacts/{id}", stack.your_app.base_url);
    reqwest::Client::new()
        .patch(url)
        .json(&json!({"first_name": "Sabotaged"}))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("sabotage: {e}"))?;
    Ok(id)
}

/// The GHL contact the printed `curl` lines read: the oldest one with tasks.
fn sample_contact(stack: &Stack) -> String {
    let location = stack.ghl.location_id();
    let store = stack.ghl.state.store.read();
    let mut with_tasks: Vec<_> = store
        .contacts_in(&location)
        .filter(|c| store.tasks.get(&c.id).is_some_and(|t| !t.is_empty()))
        .collect();
    with_tasks.sort_by(|a, b| a.date_added.cmp(&b.date_added).then(a.id.cmp(&b.id)));
    with_tasks.first().map(|c| c.id.clone()).unwrap_or_default()
}

fn print_access(stack: &Stack) {
    let api = format!("{}{}", stack.server_url, server::admin::PREFIX);
    println!(
        "\nDashboard:    {}{}/  (log in with the admin token)",
        stack.server_url,
        dashboard::PREFIX
    );
    println!("Admin API:    {api}/flows");
    println!("Admin token:  {}", stack.admin_token);
    println!("  (a demo credential, made for this run only)");
    println!(
        "  curl -s -H 'Authorization: Bearer {}' {api}/flows",
        stack.admin_token
    );
    println!("  also: {api}/runs, {api}/events, {api}/dlq, {api}/audit/changes, {api}/people");
    println!("Metrics:      {}/metrics", stack.server_url);
    let creds = stack.ghl.credentials();
    println!("\nGHL sandbox, to try by hand:\n");
    println!("  base URL      {}", stack.ghl.base_url);
    println!("  location id   {}", stack.ghl.location_id());
    println!(
        "  token         {}   (Private Integration Token, contacts.readonly + contacts.write)",
        stack.ghl.token()
    );
    println!(
        "  OAuth app     client_id={}  (client secret: GET {}/_sandbox/credentials)",
        creds.client_id, stack.ghl.base_url
    );
    println!();
    let lines = curl::curl_lines(
        &stack.ghl.base_url,
        &stack.ghl.token(),
        &stack.ghl.location_id(),
        &sample_contact(stack),
    );
    for (what, line) in lines {
        println!("# {what}\n{line}\n");
    }
    println!("Emulators' admin APIs: <emulator>/_sandbox/  (docs/sandbox.md lists every knob)");
}

pub async fn run(args: DemoArgs) -> Result<(), String> {
    if args.contacts == 0 {
        return Err("--contacts must be at least 1".into());
    }
    println!("ghl-bridge demo: GoHighLevel and five apps, kept in step\n");
    let stack = stack::start(Size {
        contacts: args.contacts,
        seed: args.seed,
    })
    .await?;
    print_world(&stack);
    // Ctrl-C at any point stops everything cleanly (the temp project folder included).
    let outcome = tokio::select! {
        o = drive(&stack, &args) => Some(o),
        _ = until_stopped() => None,
    };
    let Some(outcome) = outcome else {
        println!("\nStopped before the end check.");
        stack.shutdown().await;
        return Ok(());
    };
    if let Err(e) = &outcome {
        println!("\n{e}");
    }
    print_access(&stack);
    if !args.once {
        println!("\nThe engine keeps syncing; change anything in an emulator and watch it follow.");
        println!("Press Ctrl-C to stop.");
        until_stopped().await;
    }
    stack.shutdown().await;
    outcome
}

/// Initial sync, activity, catching up, summary and end check. `Err` when the check failed.
async fn drive(stack: &Stack, args: &DemoArgs) -> Result<(), String> {
    // Jobs wait for a retry at most 4 s; a sync of the seed data takes well under this.
    let limit = Duration::from_secs(90 + args.contacts as u64 / 2);
    let progress = Progress::new(args.duration);
    println!("\nConnecting everything (first full comparison syncs the seed data):");
    reconcile(stack, &progress, "initial sync", limit, false).await;

    println!(
        "\nActivity for {}s (GHL webhooks: 15% duplicated, 5% dropped, 5% late):",
        args.duration.as_secs()
    );
    let live_since = chrono::Utc::now();
    let mut driver = activity::Driver::new(stack, args.seed).await?;
    driver.faulty_webhooks().await?;
    driver
        .run(args.duration, Duration::from_millis(150), &progress)
        .await;
    progress.finish(&format!(
        "activity: {} changes ({} refused by the apps)",
        driver.tally.total(),
        driver.tally.refused
    ));
    println!("  {}", driver.tally.describe());

    println!("\nCatching up:");
    // Late (reordered) webhooks land within a second; then every queued job runs.
    tokio::time::sleep(Duration::from_secs(1)).await;
    drain(stack, &progress, "draining", limit).await;
    reconcile(stack, &progress, "final full comparison", limit, true).await;

    let flows = stack.sync_flows();
    let rows = summary::collect(&stack.db_file, &flows, live_since).await?;
    println!(
        "\nSummary per flow (latency: a change's first webhook or poll event during the \
         activity → its job done):\n"
    );
    print!("{}", summary::render(&rows, driver.tally.conflicts));
    println!("{}", webhook_line(stack).await);

    if args.sabotage {
        let id = sabotage(stack).await?;
        println!("\n(sabotage: Your App contact {id} was changed behind the engine's back)");
    }
    println!("\nEnd check (both sides of every flow, record by record, mapped fields):");
    let report = check::run(
        &flows,
        &stack.engine.connectors,
        stack.engine.store.as_ref(),
    )
    .await?;
    for (flow, pairs) in &report.pairs {
        println!("  {flow}: {pairs} pair(s) compared");
    }
    if report.disagreements.is_empty() {
        println!(
            "  OK: {} pairs compared, no disagreement",
            report.total_pairs()
        );
        return Ok(());
    }
    for d in report.disagreements.iter().take(50) {
        println!("  DISAGREE {d}");
    }
    if report.disagreements.len() > 50 {
        println!("  … and {} more", report.disagreements.len() - 50);
    }
    Err(format!(
        "end check FAILED: {} disagreement(s) between the two sides of a flow (listed above)",
        report.disagreements.len()
    ))
}

/// The demo prints its own progress; engine and server logs stay at `error` unless `RUST_LOG`
/// asks for more (a retried job is expected here, and would only clutter the screen). Called
/// before logging starts, while nothing else reads the environment.
pub fn quiet_logs() {
    if std::env::var_os("RUST_LOG").is_none() {
        std::env::set_var("RUST_LOG", "error");
    }
}
