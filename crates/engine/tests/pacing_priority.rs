//! Priority and pacing end to end, over real HTTP: the GHL sandbox with a scaled-down limit
//! (20 requests per second instead of 100 per 10 s) ⇄ engine (SQLite, worker loops) ⇄ the Your App
//! emulator. A reconcile backfill of 200 GHL contacts runs while webhooks for other contacts
//! arrive: the webhook work finishes long before the backfill does, GHL never answers 429, and
//! every contact is synced exactly once. Plus the two budget rules on their own, with a budget
//! the test controls: a reconcile is not started while the budget is low, and a backfill job is
//! handed back (without an attempt) while real-time work still runs.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use connectors::ghl::{GhlConfig, GhlConnector};
use connectors::your_app::{YourAppConfig, YourAppConnector};
use connectors::{
    Budget, Capabilities, ChangeHint, ChangePage, Connector, ConnectorError, EntityKind, MatchKey,
    Record,
};
use engine::flow::load_project_with;
use engine::pacing::BudgetPolicy;
use engine::runtime::{Engine, EngineOptions};
use engine::store::{self, EventSource, Job, JobId, JobState, Priority};
use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig as SandboxConfig, GhlSandbox};
use ghl_sandbox::rest::ratelimit::RateLimit;
use ghl_sandbox::rest::{RestConfig, RestSandbox};
use serde_json::{json, Map, Value};
use tokio::sync::watch;

const FLOW: &str = r#"
name: contacts to crm
sync:
  source: ghl
  target: crm
  direction: one_way
  kinds: [contact]
  match:
    contact: [email]
"#;

/// A real connector whose budget the test can force low.
struct Throttle {
    inner: Arc<dyn Connector>,
    low: Arc<AtomicBool>,
}

#[async_trait]
impl Connector for Throttle {
    fn app(&self) -> &str {
        self.inner.app()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn budget(&self) -> Option<Budget> {
        if !self.low.load(Ordering::SeqCst) {
            return self.inner.budget();
        }
        Some(Budget {
            burst_max: 100,
            burst_remaining: 3,
            interval_ms: 10_000,
            daily_max: 200_000,
            daily_remaining: 150_000,
        })
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

struct World {
    ghl: GhlSandbox,
    crm: RestSandbox,
    engine: Arc<Engine>,
    /// Forces the GHL connection's budget low.
    low: Arc<AtomicBool>,
    _dir: tempfile::TempDir,
}

async fn world(contacts: usize, limits: LimitConfig, options: EngineOptions) -> World {
    let ghl = GhlSandbox::start(SandboxConfig {
        contacts,
        limits,
        ..Default::default()
    })
    .await
    .expect("ghl sandbox");
    let crm = RestSandbox::start(RestConfig {
        contacts: 0,
        limits: RateLimit {
            limit: 1_000_000,
            window_secs: 60,
        },
        ..Default::default()
    })
    .await
    .expect("crm sandbox");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("flows")).expect("flows dir");
    std::fs::write(dir.path().join("flows/contacts.yaml"), FLOW).expect("flow file");
    let project_file = dir.path().join("ghl-bridge.yaml");
    std::fs::write(
        &project_file,
        "version: 1\nconnections:\n  ghl: {app: ghl}\n  crm: {app: your_app}\n",
    )
    .expect("project");
    let project = load_project_with(&project_file, &|_: &str| None).expect("project loads");
    let ghl_conn = GhlConnector::new(GhlConfig::private_integration(
        &ghl.base_url,
        ghl.location_id(),
        ghl.token(),
    ))
    .expect("ghl connector");
    let crm_conn = YourAppConnector::new(YourAppConfig::default_for(crm.api_url(), crm.api_key()))
        .expect("crm connector");
    let low = Arc::new(AtomicBool::new(false));
    let mut connectors: BTreeMap<String, Arc<dyn Connector>> = BTreeMap::new();
    connectors.insert(
        "ghl".into(),
        Arc::new(Throttle {
            inner: Arc::new(ghl_conn),
            low: low.clone(),
        }),
    );
    connectors.insert("crm".into(), Arc::new(crm_conn));
    let db = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("engine.db").display()
    );
    let store = store::open(&db).await.expect("store opens");
    let connectors = engine::audit::audited(connectors, &store);
    let engine = Arc::new(Engine {
        store,
        flows: project.flows,
        connectors,
        options,
    });
    World {
        ghl,
        crm,
        engine,
        low,
        _dir: dir,
    }
}

fn options() -> EngineOptions {
    EngineOptions {
        process_id: "pacing".into(),
        workers: 4,
        claim_batch: 2,
        idle_wait: Duration::from_millis(20),
        retry_base: Duration::from_millis(50),
        retry_cap: Duration::from_millis(200),
        ..EngineOptions::default()
    }
}

fn start_workers(w: &World, n: usize) -> (watch::Sender<bool>, Vec<tokio::task::JoinHandle<()>>) {
    let (stop, rx) = watch::channel(false);
    let tasks = (0..n)
        .map(|i| tokio::spawn(w.engine.clone().run_worker(i, rx.clone())))
        .collect();
    (stop, tasks)
}

async fn stop_workers(stop: watch::Sender<bool>, tasks: Vec<tokio::task::JoinHandle<()>>) {
    let _ = stop.send(true);
    for t in tasks {
        t.await.expect("worker ends");
    }
}

fn hint(id: &str, event: &str) -> ChangeHint {
    ChangeHint {
        kind: EntityKind::Contact,
        id: id.into(),
        parent_id: None,
        deleted: false,
        event_id: event.into(),
        event_type: "ContactCreate".into(),
    }
}

/// Every job of the (fresh) store.
async fn all_jobs(w: &World) -> Vec<Job> {
    let mut out = Vec::new();
    let mut misses = 0;
    let mut id = 1;
    while misses < 50 {
        match w.engine.store.job(JobId(id)).await.expect("read job") {
            Some(j) => {
                out.push(j);
                misses = 0;
            }
            None => misses += 1,
        }
        id += 1;
    }
    out
}

/// The job about one GHL contact.
async fn job_of(w: &World, contact: &str) -> Option<Job> {
    all_jobs(w)
        .await
        .into_iter()
        .find(|j| j.payload["id"] == contact)
}

async fn get_json(url: String) -> Value {
    reqwest::get(url)
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

async fn crm_contacts(w: &World) -> Vec<Value> {
    let mut out = Vec::new();
    let client = reqwest::Client::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{}/contacts?limit=100", w.crm.api_url());
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let v: Value = client
            .get(url)
            .bearer_auth(w.crm.api_key())
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        out.extend(v["data"].as_array().cloned().unwrap_or_default());
        match v["next_cursor"].as_str().or(v["nextCursor"].as_str()) {
            Some(c) if !c.is_empty() => cursor = Some(c.to_string()),
            _ => return out,
        }
    }
}

async fn eventually<T, F, Fut>(within: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhooks_overtake_a_paced_backfill_without_429s() {
    let limits = LimitConfig {
        burst_max: 20,
        burst_interval_ms: 1_000,
        daily_max: 1_000_000,
    };
    let w = world(200, limits, options()).await;
    let (stop, workers) = start_workers(&w, 4);

    // The backfill: the scheduler's budget-aware reconcile finds every GHL contact.
    let mut owed = w.engine.reconciled_connections();
    assert_eq!(owed, BTreeSet::from(["ghl".to_string()]));
    let round = w
        .engine
        .reconcile_within_budget(&mut owed)
        .await
        .expect("reconcile");
    assert_eq!((round.hints, round.skipped.len()), (200, 0));
    assert!(owed.is_empty());

    // Webhooks for ten new contacts arrive while it runs.
    let store = w.engine.store.clone();
    eventually(Duration::from_secs(60), "the backfill to get going", || {
        let store = store.clone();
        async move {
            let s = store.queue_stats().await.expect("stats");
            (s.pending + s.leased <= 180).then_some(())
        }
    })
    .await;
    let location = w.ghl.location_id();
    let mut webhook_contacts = Vec::new();
    for i in 0..10 {
        let body =
            json!({"firstName": format!("Hook{i}"), "email": format!("hook{i}@example.com")});
        let body = body.as_object().cloned().unwrap_or_default();
        let c = w
            .ghl
            .state
            .create_contact(&location, &body)
            .expect("create in GHL");
        let s = store.queue_stats().await.expect("stats");
        assert!(
            s.pending + s.leased > 40,
            "webhook {i} arrives while the backfill runs: {s:?}"
        );
        let report = w
            .engine
            .ingest(
                "ghl",
                &[hint(&c.id, &format!("wh-{i}"))],
                EventSource::Webhook,
            )
            .await
            .expect("ingest");
        assert_eq!(report.jobs, 1);
        webhook_contacts.push(c.id);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    eventually(Duration::from_secs(180), "every job to finish", || {
        let store = store.clone();
        async move {
            let s = store.queue_stats().await.expect("stats");
            (s.pending + s.leased == 0).then_some(())
        }
    })
    .await;
    stop_workers(stop, workers).await;

    // The webhook jobs finished before the backfill did, and quickly.
    let jobs = all_jobs(&w).await;
    let (hooks, backfill): (Vec<&Job>, Vec<&Job>) =
        jobs.iter().partition(|j| j.priority == Priority::REALTIME);
    assert_eq!((hooks.len(), backfill.len()), (10, 200));
    assert!(backfill.iter().all(|j| j.priority == Priority::BACKFILL));
    for j in &jobs {
        assert_eq!(j.state, JobState::Done, "{j:?}");
        assert_eq!(j.attempts, 0, "no failure, and handing back is none: {j:?}");
    }
    let finished = |j: &Job| j.finished_at.expect("finished");
    let backfill_start = backfill.iter().map(|j| j.created_at).min().expect("start");
    let backfill_end = backfill.iter().map(|j| finished(j)).max().expect("end");
    let mut latencies = Vec::new();
    for j in &hooks {
        assert!(
            finished(j) < backfill_end,
            "webhook job {} finished at {} after the backfill ended at {backfill_end}",
            j.id,
            finished(j)
        );
        latencies.push((finished(j) - j.created_at).num_milliseconds());
    }
    let held_back = backfill.iter().filter(|j| j.run_at > j.created_at).count();
    eprintln!(
        "backfill took {} ms ({held_back} of its jobs handed back for budget); webhook job latencies (ms): {latencies:?}",
        (backfill_end - backfill_start).num_milliseconds(),
    );
    assert!(
        latencies.iter().all(|ms| *ms < 5_000),
        "webhook jobs ran at once, not after the backlog: {latencies:?}"
    );
    assert!(
        held_back > 0,
        "the budget ran low and backfill jobs were handed back"
    );

    // GHL never answered 429.
    let log = get_json(format!("{}/_sandbox/requests?limit=100000", w.ghl.base_url)).await;
    let requests = log["requests"].as_array().cloned().unwrap_or_default();
    assert!(requests.len() >= 210, "{} GHL requests", requests.len());
    let limited: Vec<&Value> = requests.iter().filter(|r| r["status"] == 429).collect();
    assert!(limited.is_empty(), "429s from GHL: {limited:?}");

    // Every GHL contact is in the CRM exactly once, created once.
    let ghl_emails: BTreeSet<String> = w
        .ghl
        .state
        .store
        .read()
        .contacts
        .values()
        .filter_map(|c| c.email.clone())
        .map(|e| e.to_lowercase())
        .collect();
    assert_eq!(ghl_emails.len(), 210);
    let crm = crm_contacts(&w).await;
    let mut per_email: HashMap<String, usize> = HashMap::new();
    for c in &crm {
        let email = c["email"].as_str().unwrap_or_default().to_lowercase();
        *per_email.entry(email).or_default() += 1;
    }
    assert_eq!(crm.len(), 210, "one CRM contact per GHL contact");
    assert!(per_email.values().all(|n| *n == 1), "no duplicates");
    assert_eq!(
        per_email.keys().cloned().collect::<BTreeSet<_>>(),
        ghl_emails
    );
    let crm_log = get_json(format!("{}/_sandbox/requests?limit=100000", w.crm.base_url)).await;
    let creates = crm_log["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["method"] == "POST" && r["status"].as_u64().is_some_and(|s| s < 300))
        .count();
    assert_eq!(creates, 210, "each contact created once");
    for id in &webhook_contacts {
        let link = w
            .engine
            .store
            .find_link("ghl", "contact", id)
            .await
            .expect("find link")
            .expect("linked");
        let links = w
            .engine
            .store
            .links_of(link.identity_id)
            .await
            .expect("links");
        assert_eq!(links.iter().filter(|l| l.connection_id == "crm").count(), 1);
    }
}

/// Options whose reserve holds whether or not real-time work is about (the engine's default keeps
/// it only while there is some; see `without_realtime_work_the_backfill_may_use_the_whole_window`).
fn reserving() -> EngineOptions {
    let mut opts = options();
    opts.budget.idle_burst_left = opts.budget.min_burst_left;
    opts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_is_put_off_while_the_budget_is_low() {
    let w = world(5, LimitConfig::default(), reserving()).await;
    w.low.store(true, Ordering::SeqCst);
    let mut owed = w.engine.reconciled_connections();
    let round = w
        .engine
        .reconcile_within_budget(&mut owed)
        .await
        .expect("round");
    assert_eq!((round.hints, round.reconciled.len()), (0, 0));
    assert_eq!(round.skipped.len(), 1);
    assert_eq!(round.skipped[0].connection, "ghl");
    assert!(
        round.skipped[0].why.contains("burst budget low: 3 of 100"),
        "{:?}",
        round.skipped[0]
    );
    assert!(owed.contains("ghl"), "still owed");
    let log = get_json(format!("{}/_sandbox/requests", w.ghl.base_url)).await;
    assert_eq!(log["requests"], json!([]), "not a single GHL request");

    w.low.store(false, Ordering::SeqCst);
    let round = w
        .engine
        .reconcile_within_budget(&mut owed)
        .await
        .expect("round");
    assert_eq!(round.hints, 5);
    assert_eq!(round.reconciled, vec!["ghl".to_string()]);
    assert!(owed.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_job_is_handed_back_while_realtime_runs() {
    let mut opts = reserving();
    opts.budget = BudgetPolicy {
        postpone_for: Some(Duration::from_millis(100)),
        ..opts.budget
    };
    let w = world(2, LimitConfig::default(), opts).await;
    let ids: Vec<String> = w.ghl.state.store.read().contacts.keys().cloned().collect();
    let (old, hot) = (ids[0].clone(), ids[1].clone());
    w.low.store(true, Ordering::SeqCst);
    let (stop, workers) = start_workers(&w, 1);

    w.engine
        .ingest("ghl", &[hint(&old, "r-1")], EventSource::Reconcile)
        .await
        .expect("ingest");
    // Handed back again and again while the budget stays low, never run, never failed.
    let store = w.engine.store.clone();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let j = job_of(&w, &old).await.expect("backfill job");
    assert_ne!(j.state, JobState::Done);
    assert_eq!((j.priority, j.attempts), (Priority::BACKFILL, 0));
    assert!(j.run_at > j.created_at, "postponed: {j:?}");
    assert!(crm_contacts(&w).await.is_empty());

    // Real-time work is not held back.
    w.engine
        .ingest("ghl", &[hint(&hot, "wh-1")], EventSource::Webhook)
        .await
        .expect("ingest");
    let (w2, old, hot) = (&w, old.as_str(), hot.as_str());
    eventually(Duration::from_secs(20), "the webhook job", || async move {
        let j = job_of(w2, hot).await?;
        (j.state == JobState::Done).then_some(())
    })
    .await;
    assert_eq!(crm_contacts(&w).await.len(), 1);
    let j = job_of(&w, old).await.expect("backfill job");
    assert_ne!(j.state, JobState::Done, "still held back");

    // The budget recovers: the backfill job runs, with no attempt counted.
    w.low.store(false, Ordering::SeqCst);
    let done = eventually(Duration::from_secs(20), "the backfill job", || async move {
        let j = job_of(w2, old).await?;
        (j.state == JobState::Done).then_some(j)
    })
    .await;
    assert_eq!(done.attempts, 0);
    assert_eq!(crm_contacts(&w).await.len(), 2);
    assert_eq!(store.queue_stats().await.expect("stats").dead, 0);
    stop_workers(stop, workers).await;
}

/// With the default policy the reserve is kept only while real-time work is about: with none,
/// a backfill job runs even with 3 % of the window left (the pacer still prevents 429s); once a
/// webhook's job was seen, the next backfill job is handed back again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_realtime_work_the_backfill_may_use_the_whole_window() {
    let mut opts = options();
    opts.budget.postpone_for = Some(Duration::from_millis(100));
    let w = world(3, LimitConfig::default(), opts).await;
    let ids: Vec<String> = w.ghl.state.store.read().contacts.keys().cloned().collect();
    let (first, hot, second) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
    w.low.store(true, Ordering::SeqCst);
    let (stop, workers) = start_workers(&w, 1);
    w.engine
        .ingest("ghl", &[hint(&first, "r-1")], EventSource::Reconcile)
        .await
        .expect("ingest");
    let w2 = &w;
    let (first, hot, second) = (first.as_str(), hot.as_str(), second.as_str());
    let done = eventually(Duration::from_secs(20), "the backfill job", || async move {
        let j = job_of(w2, first).await?;
        (j.state == JobState::Done).then_some(j)
    })
    .await;
    assert_eq!(
        (done.priority, done.attempts),
        (Priority::BACKFILL, 0),
        "ran at once, never handed back"
    );
    assert_eq!(done.run_at, done.created_at, "never postponed");

    w.engine
        .ingest("ghl", &[hint(hot, "wh-1")], EventSource::Webhook)
        .await
        .expect("ingest");
    eventually(Duration::from_secs(20), "the webhook job", || async move {
        let j = job_of(w2, hot).await?;
        (j.state == JobState::Done).then_some(())
    })
    .await;
    // What the store says of real-time work is cached for a second: wait until the engine sees it.
    let engine = &w.engine;
    eventually(
        Duration::from_secs(5),
        "the engine to see real-time work",
        || async move { engine.realtime_about().await.then_some(()) },
    )
    .await;
    w.engine
        .ingest("ghl", &[hint(second, "r-2")], EventSource::Reconcile)
        .await
        .expect("ingest");
    let j = eventually(
        Duration::from_secs(5),
        "the backfill job handed back",
        || async move {
            let j = job_of(w2, second).await?;
            (j.run_at > j.created_at).then_some(j)
        },
    )
    .await;
    assert_eq!(j.attempts, 0, "handed back, not failed: {j:?}");
    let j = job_of(&w, second).await.expect("backfill job");
    assert_ne!(
        j.state,
        JobState::Done,
        "held back while real-time work is about"
    );
    stop_workers(stop, workers).await;
}
