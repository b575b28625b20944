//! End to end: the GHL sandbox ⇄ engine (SQLite) ⇄ the SalesNexus emulator, over real HTTP, with
//! flows loaded from YAML. A one-way sync of contacts, tasks and notes (tags landing in the
//! `Tags` custom field), and a two-way contact sync that converges: after each change every
//! further poll and reconcile writes nothing to either side (no ping-pong), although
//! SalesNexus has no "updated since" and is polled by full scans.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use connectors::ghl::{GhlConfig, GhlConnector};
use connectors::salesnexus::{SalesNexusConfig, SalesNexusConnector};
use connectors::{ChangeHint, Connector, EntityKind};
use engine::flow::load_project_with;
use engine::runtime::{Engine, EngineOptions};
use engine::store::{self, EventSource};
use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig as SandboxConfig, GhlSandbox};
use ghl_sandbox::salesnexus::{SnConfig, SnSandbox};
use serde_json::{json, Map, Value};

const ONE_WAY: &str = r#"
name: ghl to salesnexus
sync:
  source: ghl
  target: crm
  direction: one_way
  kinds: [contact, task, note]
  match:
    contact: [email]
"#;

const TWO_WAY: &str = r#"
name: contacts both ways
sync:
  source: ghl
  target: crm
  direction: two_way
  kinds: [contact]
  match:
    contact: [email]
"#;

struct World {
    ghl: GhlSandbox,
    sn: SnSandbox,
    engine: Engine,
    /// A GHL connector of the test's own, to change GHL "as a person" over its API.
    ghl_conn: GhlConnector,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn world(flow: &str, contacts: usize) -> World {
    let limits = LimitConfig {
        burst_max: 100_000,
        burst_interval_ms: 10_000,
        daily_max: 10_000_000,
    };
    let ghl = GhlSandbox::start(SandboxConfig {
        contacts,
        limits,
        ..Default::default()
    })
    .await
    .expect("ghl sandbox");
    let sn = SnSandbox::start(SnConfig {
        contacts: 0,
        ..Default::default()
    })
    .await
    .expect("salesnexus sandbox");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("flows")).expect("flows dir");
    std::fs::write(dir.path().join("flows/sync.yaml"), flow).expect("flow file");
    let project_file = dir.path().join("ghl-bridge.yaml");
    std::fs::write(
        &project_file,
        "version: 1\nconnections:\n  ghl: {app: ghl}\n  crm: {app: salesnexus}\n",
    )
    .expect("project");
    let project = load_project_with(&project_file, &|_: &str| None).expect("project loads");
    let ghl_config =
        || GhlConfig::private_integration(&ghl.base_url, ghl.location_id(), ghl.token());
    let mut sn_config = SalesNexusConfig::new(&sn.base_url, sn.api_key());
    sn_config.backoff_ms = 10;
    let mut connectors: BTreeMap<String, Arc<dyn Connector>> = BTreeMap::new();
    connectors.insert(
        "ghl".into(),
        Arc::new(GhlConnector::new(ghl_config()).expect("ghl connector")),
    );
    connectors.insert(
        "crm".into(),
        Arc::new(SalesNexusConnector::new(sn_config).expect("salesnexus connector")),
    );
    let db = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("engine.db").display()
    );
    let store = store::open(&db).await.expect("store opens");
    let connectors = engine::audit::audited(connectors, &store);
    let options = EngineOptions {
        retry_base: Duration::from_millis(10),
        ..EngineOptions::default()
    };
    let engine = Engine {
        store,
        flows: project.flows,
        connectors,
        options,
    };
    World {
        ghl_conn: GhlConnector::new(ghl_config()).expect("ghl connector"),
        ghl,
        sn,
        engine,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

impl World {
    /// Runs every job, waiting out retries (a task whose contact is not synced yet), until
    /// nothing is pending.
    async fn settle(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            self.engine.run_until_idle().await.expect("jobs run");
            let stats = self.engine.store.queue_stats().await.expect("stats");
            if stats.pending == 0 && stats.leased == 0 {
                assert_eq!(stats.dead, 0, "nothing in the dead-letter queue");
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "jobs never settle: {stats:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn sn_admin(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let mut rb = self
            .http
            .request(method, format!("{}/_sandbox{path}", self.sn.base_url));
        if !body.is_null() {
            rb = rb.json(&body);
        }
        let r = rb.send().await.expect("admin call");
        assert!(r.status().is_success(), "admin {path}: {}", r.status());
        r.json().await.unwrap_or(Value::Null)
    }

    /// Every live SalesNexus contact, as the API lists it.
    async fn sn_contacts(&self) -> Vec<Value> {
        let v: Value = self
            .http
            .get(format!("{}/contacts?pageSize=100", self.sn.api_url()))
            .header("X-Api-Key", self.sn.api_key())
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        v["data"].as_array().cloned().unwrap_or_default()
    }

    /// Writes (non-GET calls) each app has answered so far.
    async fn writes(&self) -> (usize, usize) {
        let count = |base: String| async move {
            let v: Value = reqwest::get(format!("{base}/_sandbox/requests?limit=100000"))
                .await
                .expect("log")
                .json()
                .await
                .expect("json");
            v["requests"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["method"] != "GET" && r["path"] != "/contacts/search")
                .count()
        };
        (
            count(self.ghl.base_url.clone()).await,
            count(self.sn.base_url.clone()).await,
        )
    }

    /// One scheduler pass of each kind: poll both sides, then reconcile, then run the jobs.
    async fn pass(&self) {
        self.engine.poll_once().await.expect("poll");
        self.settle().await;
        self.engine.reconcile_once().await.expect("reconcile");
        self.settle().await;
    }

    fn ghl_contact_by_email(&self, email: &str) -> ghl_sandbox::ghl::model::Contact {
        self.ghl
            .state
            .store
            .read()
            .contacts
            .values()
            .find(|c| c.email.as_deref() == Some(email))
            .cloned()
            .expect("the GHL contact")
    }
}

fn hint(kind: EntityKind, id: &str, event: &str) -> ChangeHint {
    ChangeHint {
        kind,
        id: id.into(),
        parent_id: None,
        deleted: false,
        event_id: event.into(),
        event_type: "test".into(),
    }
}

fn fields(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_way_contacts_tasks_and_notes_from_ghl() {
    let w = world(ONE_WAY, 6).await;
    let found = w.engine.reconcile_once().await.expect("reconcile");
    assert!(found >= 6, "{found}");
    w.settle().await;

    let (ghl_contacts, ghl_tasks, ghl_notes) = {
        let s = w.ghl.state.store.read();
        let contacts: Vec<_> = s.contacts.values().cloned().collect();
        let tasks: usize = contacts
            .iter()
            .map(|c| s.tasks.get(&c.id).map_or(0, Vec::len))
            .sum();
        let notes: usize = contacts
            .iter()
            .map(|c| s.notes.get(&c.id).map_or(0, Vec::len))
            .sum();
        (contacts, tasks, notes)
    };
    let sn = w.sn_contacts().await;
    assert_eq!(sn.len(), 6, "{sn:?}");
    for c in &ghl_contacts {
        let email = c.email.clone().unwrap_or_default();
        let twin = sn
            .iter()
            .find(|s| s["email"] == email.as_str())
            .expect("synced by email");
        assert_eq!(twin["firstName"], json!(c.first_name));
        assert_eq!(twin["city"], json!(c.city));
        assert_eq!(twin["zip"], json!(c.postal_code));
        let tags = twin["customFields"]["Tags"].as_str().unwrap_or_default();
        assert_eq!(
            tags,
            c.tags.join(", "),
            "GHL tags in the Tags field of {email}"
        );
        assert!(
            twin["customFields"]["Lead Score"].is_number(),
            "custom fields by name: {twin}"
        );
    }
    let counts = w.sn_admin(reqwest::Method::GET, "/", Value::Null).await["counts"].clone();
    assert_eq!(counts["tasks"], json!(ghl_tasks), "{counts}");
    assert_eq!(counts["notes"], json!(ghl_notes), "{counts}");

    // Nothing changed: another pass writes nothing.
    let before = w.writes().await;
    w.pass().await;
    assert_eq!(
        w.writes().await.1,
        before.1,
        "no write to SalesNexus after a no-op pass"
    );

    // A change in GHL (webhook hint) reaches SalesNexus.
    let c = &ghl_contacts[0];
    let change = fields(json!({"city": "Lisbon", "tags": ["vip", "board"]}));
    w.ghl_conn
        .update(EntityKind::Contact, &c.id, None, &change)
        .await
        .expect("GHL edit");
    w.engine
        .ingest(
            "ghl",
            &[hint(EntityKind::Contact, &c.id, "evt-1")],
            EventSource::Webhook,
        )
        .await
        .expect("ingest");
    w.settle().await;
    let email = c.email.clone().unwrap_or_default();
    let twin = w
        .sn_contacts()
        .await
        .into_iter()
        .find(|s| s["email"] == email.as_str())
        .expect("twin");
    assert_eq!(twin["city"], "Lisbon");
    assert_eq!(twin["customFields"]["Tags"], "vip, board");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_way_contacts_converge_without_ping_pong() {
    let w = world(TWO_WAY, 5).await;
    w.engine.reconcile_once().await.expect("backfill");
    w.settle().await;
    assert_eq!(w.sn_contacts().await.len(), 5);
    // The first full scans of both sides, and a reconcile: our own writes come back and are
    // recognised; nothing is written anywhere.
    w.pass().await;
    let quiet = w.writes().await;
    w.pass().await;
    w.pass().await;
    assert_eq!(w.writes().await, quiet, "no ping-pong after the backfill");

    // A change made in SalesNexus (no webhook: found by the full scan) flows to GHL.
    let sn = w.sn_contacts().await;
    let target = sn[1].clone();
    let id = target["id"].as_i64().expect("id");
    let email = target["email"].as_str().unwrap_or_default().to_string();
    w.sn_admin(
        reqwest::Method::PUT,
        &format!("/contacts/{id}"),
        json!({"city": "Lisbon", "customFields": {"Tags": "vip, partner"}}),
    )
    .await;
    w.pass().await;
    let g = w.ghl_contact_by_email(&email);
    assert_eq!(g.city.as_deref(), Some("Lisbon"));
    let tags: BTreeSet<String> = g.tags.iter().cloned().collect();
    assert_eq!(
        tags,
        BTreeSet::from(["vip".to_string(), "partner".to_string()])
    );
    let settled = w.writes().await;
    w.pass().await;
    w.pass().await;
    assert_eq!(
        w.writes().await,
        settled,
        "the echo of our GHL write changes nothing"
    );

    // A change made in GHL flows to SalesNexus, found by GHL's change poll.
    let change = fields(json!({"city": "Oslo", "custom.Interests": ["Land", "Retail"]}));
    w.ghl_conn
        .update(EntityKind::Contact, &g.id, None, &change)
        .await
        .expect("GHL edit");
    w.pass().await;
    let twin = w
        .sn_contacts()
        .await
        .into_iter()
        .find(|s| s["id"] == id)
        .expect("twin");
    assert_eq!(twin["city"], "Oslo");
    assert_eq!(twin["customFields"]["Interests"], "Land, Retail");
    let settled = w.writes().await;
    w.pass().await;
    w.pass().await;
    assert_eq!(
        w.writes().await,
        settled,
        "converged: nothing bounces back and forth"
    );
    let g = w.ghl_contact_by_email(&email);
    assert_eq!(g.city.as_deref(), Some("Oslo"));
}
