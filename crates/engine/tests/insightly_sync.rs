//! End to end: the GHL sandbox ⇄ engine (SQLite) ⇄ the Insightly emulator, over real HTTP,
//! with both connectors built from a project file by the connection factory
//! (`app: insightly` included). A one-way sync of contacts, tasks and notes from GHL, and a
//! two-way contact sync that settles and then stays quiet: no write goes back and forth.
//!
//! Insightly stamps records to the second and filters `updated_after_utc` strictly, so a
//! person's change made in the same second as the previous version of that record is invisible
//! to any poller; the tests move the emulator's clock forward before such changes instead of
//! sleeping.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use engine::connections::ConnectorFactory;
use engine::flow::load_project_with;
use engine::runtime::{Engine, EngineOptions};
use engine::store::{self, DlqFilter, Page};
use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::webhooks::WebhookKeys;
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use ghl_sandbox::insightly::{InsightlyConfig, InsightlySandbox};
use serde_json::{json, Map, Value};

/// Signing keys made once per test process (RSA key generation is slow in debug builds).
fn keys_dir() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("keys dir");
        WebhookKeys::load_or_create(dir.path()).expect("webhook keys");
        dir
    })
    .path()
    .to_path_buf()
}

const PROJECT: &str = "version: 1
connections:
  ghl:
    app: ghl
    base_url: ${GHL_URL}
    location_id: ${GHL_LOCATION}
    token: ${GHL_TOKEN}
  ins:
    app: insightly
    base_url: ${INS_URL}
    api_key: ${INS_KEY}
    requests_per_second: 1000
    page_size: 50
";

const ONE_WAY: &str = "name: ghl to insightly
sync:
  source: ghl
  target: ins
  kinds: [contact, task, note]
  match:
    contact: [email]
";

/// `business_id` is left out: it is each app's own organisation id, and GHL's ids mean nothing
/// to Insightly (and the other way round); companies travel as `company_name`.
const TWO_WAY: &str = "name: contacts both ways
sync:
  source: ghl
  target: ins
  direction: two_way
  kinds: [contact]
  match:
    contact: [email]
  mapping:
    contact:
      - {to: first_name, from: first_name}
      - {to: last_name, from: last_name}
      - {to: email, from: email}
      - {to: phone, from: phone}
      - {to: city, from: city}
      - {to: tags, from: tags}
";

struct World {
    ghl: GhlSandbox,
    ins: InsightlySandbox,
    engine: Engine,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl World {
    async fn start(ghl_contacts: usize, ins_contacts: usize, flow: &str) -> Self {
        let ghl = GhlSandbox::start(GhlConfig {
            contacts: ghl_contacts,
            limits: LimitConfig {
                burst_max: 1_000_000,
                burst_interval_ms: 10_000,
                daily_max: 100_000_000,
            },
            keys_dir: Some(keys_dir()),
            ..Default::default()
        })
        .await
        .expect("GHL sandbox");
        let ins = InsightlySandbox::start(InsightlyConfig {
            contacts: ins_contacts,
            seed: 7,
            ..Default::default()
        })
        .await
        .expect("Insightly emulator");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("flows")).expect("flows dir");
        std::fs::write(dir.path().join("flows/sync.yaml"), flow).expect("flow file");
        let file = dir.path().join("ghl-bridge.yaml");
        std::fs::write(&file, PROJECT).expect("project");
        let env: BTreeMap<&str, String> = [
            ("GHL_URL", ghl.base_url.clone()),
            ("GHL_LOCATION", ghl.location_id()),
            ("GHL_TOKEN", ghl.token()),
            ("INS_URL", ins.base_url.clone()),
            ("INS_KEY", ins.api_key()),
        ]
        .into();
        let project =
            load_project_with(&file, &|k: &str| env.get(k).cloned()).expect("project loads");
        let names: BTreeSet<String> = ["ghl", "ins"].map(String::from).into();
        let connectors = ConnectorFactory::new()
            .build_for(&project, &names)
            .expect("both connections build");
        assert_eq!(connectors["ins"].app(), "insightly");
        let db = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("engine.db").display()
        );
        let store = store::open(&db).await.expect("store opens");
        let engine = Engine {
            store,
            flows: project.flows,
            connectors,
            options: EngineOptions {
                process_id: "insightly-sync".into(),
                workers: 1,
                retry_base: Duration::from_millis(10),
                retry_cap: Duration::from_millis(100),
                ..EngineOptions::default()
            },
        };
        Self {
            ghl,
            ins,
            engine,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    /// Runs jobs until none is waiting (children wait for their contact with short retries).
    async fn drain(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            self.engine.run_until_idle().await.expect("jobs run");
            let stats = self.engine.store.queue_stats().await.expect("stats");
            if stats.pending == 0 && stats.leased == 0 {
                let dead = self
                    .engine
                    .store
                    .dlq_list(&DlqFilter::default(), Page::default())
                    .await
                    .expect("dlq");
                let dead: Vec<String> = dead
                    .into_iter()
                    .map(|j| format!("{}: {}", j.entity_key, j.last_error.unwrap_or_default()))
                    .collect();
                assert!(
                    dead.is_empty(),
                    "nothing in the dead-letter queue: {dead:#?}"
                );
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "jobs never settled: {stats:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn admin(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}/_sandbox{path}", self.ins.root_url));
        if !body.is_null() {
            req = req.json(&body);
        }
        let r = req.send().await.expect("admin");
        assert!(r.status().is_success(), "admin {path}: {}", r.status());
        r.json().await.unwrap_or(Value::Null)
    }

    /// An Insightly list, read with the key (`/Contacts?top=500`).
    async fn ins_list(&self, path: &str) -> Vec<Value> {
        let v: Value = self
            .http
            .get(format!("{}{path}", self.ins.base_url))
            .basic_auth(self.ins.api_key(), Some(""))
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        v.as_array().cloned().unwrap_or_default()
    }

    /// Insightly contacts by lower-cased email.
    async fn ins_contacts(&self) -> BTreeMap<String, Value> {
        self.ins_list("/Contacts?top=500")
            .await
            .into_iter()
            .filter_map(|c| Some((c["EMAIL_ADDRESS"].as_str()?.to_lowercase(), c)))
            .collect()
    }

    /// Writes (not reads) each side has received so far.
    async fn writes(&self) -> (usize, usize) {
        let count = |v: Value, is_read: &dyn Fn(&Value) -> bool| {
            v["requests"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["method"] != "GET" && !is_read(r))
                .count()
        };
        let ghl: Value = reqwest::get(format!(
            "{}/_sandbox/requests?limit=100000",
            self.ghl.base_url
        ))
        .await
        .expect("log")
        .json()
        .await
        .expect("json");
        let ins = self
            .admin(reqwest::Method::GET, "/requests?limit=100000", Value::Null)
            .await;
        (
            count(ghl, &|r| r["path"] == "/contacts/search"),
            count(ins, &|_| false),
        )
    }

    /// Polls both sides and runs the jobs, until a round writes nothing (at most `max`).
    async fn settle(&self, max: usize) -> usize {
        for round in 1..=max {
            let before = self.writes().await;
            self.engine.poll_once().await.expect("poll");
            self.drain().await;
            if self.writes().await == before {
                return round;
            }
        }
        panic!("no quiet round in {max}: the sync keeps writing");
    }

    fn ghl_contacts(&self) -> BTreeMap<String, ghl_sandbox::ghl::model::Contact> {
        self.ghl
            .state
            .store
            .read()
            .contacts
            .values()
            .filter_map(|c| Some((c.email.clone()?.to_lowercase(), c.clone())))
            .collect()
    }
}

fn tag_set(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["TAG_NAME"].as_str().or(t.as_str()))
        .map(str::to_lowercase)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_way_ghl_to_insightly_contacts_tasks_and_notes() {
    let w = World::start(6, 0, ONE_WAY).await;
    let found = w.engine.reconcile_once().await.expect("reconcile");
    assert!(found >= 6, "{found}");
    w.drain().await;

    let ghl = w.ghl_contacts();
    let ins = w.ins_contacts().await;
    assert_eq!(
        ins.len(),
        ghl.len(),
        "every GHL contact with an email, once"
    );
    let (tasks, notes) = {
        let s = w.ghl.state.store.read();
        (s.tasks.clone(), s.notes.clone())
    };
    for (email, g) in &ghl {
        let i = &ins[email];
        assert_eq!(i["FIRST_NAME"].as_str(), g.first_name.as_deref(), "{email}");
        assert_eq!(i["LAST_NAME"].as_str(), g.last_name.as_deref(), "{email}");
        let want: BTreeSet<String> = g.tags.iter().map(|t| t.to_lowercase()).collect();
        assert_eq!(tag_set(&i["TAGS"]), want, "{email}");
        let id = i["CONTACT_ID"].as_i64().expect("id");
        let ins_tasks = w.ins_list(&format!("/Contacts/{id}/Tasks")).await;
        let ghl_tasks = tasks.get(&g.id).map_or(0, Vec::len);
        assert_eq!(ins_tasks.len(), ghl_tasks, "{email}: tasks");
        let ins_notes = w.ins_list(&format!("/Contacts/{id}/Notes")).await;
        assert_eq!(
            ins_notes.len(),
            notes.get(&g.id).map_or(0, Vec::len),
            "{email}: notes"
        );
        for n in &ins_notes {
            let body = n["BODY"].as_str().unwrap_or_default();
            let first = body
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("Note")
                .trim();
            assert_eq!(
                n["TITLE"], first,
                "a GHL note has no title: the first line is used"
            );
        }
    }
    assert!(
        tasks.values().map(Vec::len).sum::<usize>() > 0,
        "the seed has tasks"
    );

    // A second reconcile writes nothing.
    let before = w.writes().await;
    w.engine.reconcile_once().await.expect("reconcile again");
    w.drain().await;
    assert_eq!(
        w.writes().await.1,
        before.1,
        "no write to Insightly after a no-op reconcile"
    );

    // A change in GHL reaches Insightly.
    let (email, g) = ghl.iter().next().expect("a contact");
    let body: Map<String, Value> = json!({"city": "Lisbon", "tags": ["moved"]})
        .as_object()
        .cloned()
        .unwrap_or_default();
    w.ghl
        .state
        .update_contact(&g.id, &body, true)
        .expect("GHL edit");
    w.engine.poll_once().await.expect("poll");
    w.drain().await;
    let i = &w.ins_contacts().await[email];
    assert_eq!(i["ADDRESS_MAIL_CITY"], "Lisbon");
    assert_eq!(tag_set(&i["TAGS"]), BTreeSet::from(["moved".to_string()]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_way_contacts_converge_without_ping_pong() {
    let w = World::start(5, 4, TWO_WAY).await;
    w.engine.reconcile_once().await.expect("reconcile");
    w.drain().await;
    let rounds = w.settle(5).await;
    assert!(rounds <= 3, "settled in {rounds} rounds");

    // Both sides hold the same people with the same values.
    let (ghl, ins) = (w.ghl_contacts(), w.ins_contacts().await);
    assert_eq!(
        ghl.keys().collect::<Vec<_>>(),
        ins.keys().collect::<Vec<_>>()
    );
    assert_eq!(ghl.len(), 9, "5 from GHL, 4 from Insightly");
    for (email, g) in &ghl {
        let i = &ins[email];
        assert_eq!(i["FIRST_NAME"].as_str(), g.first_name.as_deref(), "{email}");
        assert_eq!(
            i["ADDRESS_MAIL_CITY"].as_str(),
            g.city.as_deref(),
            "{email}"
        );
        let want: BTreeSet<String> = g.tags.iter().map(|t| t.to_lowercase()).collect();
        assert_eq!(tag_set(&i["TAGS"]), want, "{email}");
    }

    // Quiet: another poll and reconcile write nothing anywhere.
    let before = w.writes().await;
    w.engine.poll_once().await.expect("poll");
    w.engine.reconcile_once().await.expect("reconcile");
    w.drain().await;
    assert_eq!(w.writes().await, before, "no write goes back and forth");

    // A person's change in Insightly reaches GHL once, and its echo changes nothing.
    let (email, i) = ins.iter().next().expect("a contact");
    let id = i["CONTACT_ID"].as_i64().expect("id");
    w.admin(reqwest::Method::POST, "/clock", json!({"advance_secs": 2}))
        .await;
    w.admin(
        reqwest::Method::PUT,
        &format!("/Contacts/{id}"),
        json!({"ADDRESS_MAIL_CITY": "Porto", "LAST_NAME": "Edited"}),
    )
    .await;
    w.settle(4).await;
    let g = &w.ghl_contacts()[email];
    assert_eq!(
        (g.city.as_deref(), g.last_name.as_deref()),
        (Some("Porto"), Some("Edited"))
    );
    let before = w.writes().await;
    w.engine.poll_once().await.expect("poll");
    w.drain().await;
    assert_eq!(w.writes().await, before, "the echo changed nothing");

    // And a change in GHL reaches Insightly the same way.
    let body: Map<String, Value> = json!({"city": "Faro"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    w.ghl
        .state
        .update_contact(&g.id, &body, false)
        .expect("GHL edit");
    w.settle(4).await;
    assert_eq!(w.ins_contacts().await[email]["ADDRESS_MAIL_CITY"], "Faro");
    let before = w.writes().await;
    w.engine.poll_once().await.expect("poll");
    w.drain().await;
    assert_eq!(w.writes().await, before, "quiet again");
}

/// The YAML blocks of a markdown file, with the file name a `# flows/x.yaml` first line gives.
fn yaml_blocks(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```yaml") => current = Some(String::new()),
            (Some(block), l) if l.starts_with("```") => {
                out.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    out
}

#[test]
fn the_documented_project_and_flows_load_and_build() {
    let doc = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/connectors/insightly.md"
    );
    let text = std::fs::read_to_string(doc).expect("docs/connectors/insightly.md");
    let blocks = yaml_blocks(&text);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("flows")).expect("flows dir");
    let mut flows = 0;
    for block in &blocks {
        match block.lines().next().and_then(|l| l.strip_prefix("# ")) {
            Some(name) if name.starts_with("flows/") => {
                std::fs::write(dir.path().join(name), block).expect("flow");
                flows += 1;
            }
            _ => std::fs::write(dir.path().join("ghl-bridge.yaml"), block).expect("project"),
        }
    }
    assert_eq!(flows, 2, "two documented flows");
    let env: BTreeMap<&str, String> = [
        ("GHL_LOCATION_ID", "loc-1".to_string()),
        ("GHL_TOKEN", "pit-1".to_string()),
        ("INSIGHTLY_API_KEY", "key-1".to_string()),
        ("INSIGHTLY_HOOK_SECRET", "hook-1".to_string()),
    ]
    .into();
    let project = load_project_with(&dir.path().join("ghl-bridge.yaml"), &|k: &str| {
        env.get(k).cloned()
    })
    .unwrap_or_else(|e| panic!("the documented project loads: {e}"));
    assert_eq!(project.flows.len(), 2);
    let built = engine::connections::build_connectors(&project).expect("the connections build");
    assert_eq!(built["crm"].app(), "insightly");
}
