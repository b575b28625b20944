//! A world for the templates' end-to-end tests: the GHL sandbox and one REST emulator (Your App,
//! InvestNext or Invoco profile) on loopback, the template's project written from the binary's
//! embedded copy into a temp folder exactly as shipped, loaded with environment variables that
//! point at the emulators, its connectors built the way `ghl-bridge run` builds them, a SQLite
//! store, and the engine. GHL's real signed webhooks arrive at a receiver on loopback and are
//! verified by the project's own GHL connection before they are ingested.
#![allow(dead_code)] // each test binary uses a part

mod apps;
pub mod insightly;
pub mod salesnexus;
mod settle;
#[allow(unused_imports)] // each test binary names the emulator it runs
pub use apps::{AppEmulator, AppSpec, Insightly, SalesNexus};

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use connectors::EntityKind;
use engine::flow::{load_project_with, Project};
use engine::runtime::{Engine, EngineOptions};
use engine::store::{self, EventSource, Link, Store};
use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// One webhook delivery as the receiver got it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Delivery {
    /// GHL's event type (`ContactCreate` …).
    pub fn event_type(&self) -> String {
        serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|v| v["type"].as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// Starts a receiver on 127.0.0.1:0 that answers 200 and hands every POST over a channel.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Delivery>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let headers = headers
                    .iter()
                    .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
                    .collect();
                let _ = tx.send(Delivery {
                    headers,
                    body: body.to_vec(),
                });
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the webhook receiver");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (url, rx)
}

/// The emulators, the project as shipped, and the engine running it.
pub struct Fx {
    pub template: templates::Template,
    pub ghl: GhlSandbox,
    pub app: AppEmulator,
    /// The project's name of the app's connection (`your_app`, `investnext`, `insightly` …).
    pub app_conn: String,
    pub dir: tempfile::TempDir,
    pub project: Project,
    pub engine: Engine,
    pub env: BTreeMap<String, String>,
    hooks: mpsc::UnboundedReceiver<Delivery>,
    http: reqwest::Client,
}

/// Starts the world for template `id`: GHL with `ghl_contacts` seeded contacts, the app's
/// emulator (a REST `Profile`, [`Insightly`] or [`SalesNexus`]) with `app_contacts` seeded
/// contacts.
pub async fn start(
    id: &str,
    app: impl Into<AppSpec>,
    ghl_contacts: usize,
    app_contacts: usize,
) -> Fx {
    let template = templates::get(id).unwrap_or_else(|| panic!("template `{id}` is shipped"));
    let ghl = GhlSandbox::start(GhlConfig {
        contacts: ghl_contacts,
        seed: 11,
        limits: LimitConfig {
            burst_max: 1_000_000,
            burst_interval_ms: 10_000,
            daily_max: 100_000_000,
        },
        ..Default::default()
    })
    .await
    .expect("GHL sandbox starts");
    let app = AppEmulator::start(app.into(), app_contacts).await;
    let (hook_url, hooks) = receiver().await;
    ghl.state.set_webhook_url(Some(hook_url));

    // The project exactly as the binary ships it.
    let dir = tempfile::tempdir().expect("temp dir");
    template.write_to(dir.path()).expect("template written");
    let meta = template.meta().expect("template.yaml reads");
    let mut env = BTreeMap::new();
    for s in &meta.settings {
        let value = match s.env.as_str() {
            "GHL_BASE_URL" => ghl.base_url.clone(),
            "GHL_LOCATION_ID" => ghl.location_id(),
            "GHL_TOKEN" => ghl.token(),
            "GHL_WEBHOOK_PUBLIC_KEY" => ghl.state.keys.ed25519_public_pem(),
            other => match app.setting(other) {
                Some(v) => v,
                None if other.ends_with("_URL") => app.api_url(),
                None if other.ends_with("_KEY") => app.api_key(),
                None => panic!("{id}: the test does not know what to put in {other}"),
            },
        };
        env.insert(s.env.clone(), value);
    }
    let project_file = dir.path().join(templates::PROJECT_FILE);
    let vars = env.clone();
    let project = load_project_with(&project_file, &move |k: &str| vars.get(k).cloned())
        .unwrap_or_else(|e| panic!("{id} loads:\n{e}"));
    let connectors = engine::connections::build_connectors(&project)
        .unwrap_or_else(|e| panic!("{id}: connections build:\n{e}"));
    let app_conn = project
        .connections
        .values()
        .find(|c| c.app.as_str() != "ghl")
        .map(|c| c.name.clone())
        .expect("an app connection besides GHL");
    let db = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("ghl-bridge.db").display()
    );
    let store = store::open(&db).await.expect("store opens");
    let connectors = engine::audit::audited(connectors, &store);
    let engine = Engine {
        store,
        flows: project.flows.clone(),
        connectors,
        options: EngineOptions {
            process_id: format!("template-test-{id}"),
            // As `ghl-bridge run` does: `report` actions write into the project folder.
            project_dir: Some(project.dir()),
            ..EngineOptions::default()
        },
    };
    Fx {
        template,
        ghl,
        app,
        app_conn,
        dir,
        project,
        engine,
        env,
        hooks,
        http: reqwest::Client::new(),
    }
}

impl Fx {
    pub fn store(&self) -> &dyn Store {
        self.engine.store.as_ref()
    }

    pub fn location(&self) -> String {
        self.ghl.location_id()
    }

    async fn call(&self, method: Method, url: String, body: Value) -> Value {
        let mut req = self.http.request(method.clone(), &url);
        if method != Method::GET && method != Method::DELETE {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("admin call");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert!(status.is_success(), "{method} {url}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// The GHL sandbox's admin API ("a person in GHL"), which emits GHL's webhooks.
    pub async fn ghl_admin(&self, method: Method, path: &str, body: Value) -> Value {
        let url = format!("{}/_sandbox{path}", self.ghl.base_url);
        self.call(method, url, body).await
    }

    /// Creates a GHL contact as a person would (GHL's field names); returns its id.
    pub async fn ghl_contact(&self, body: Value) -> String {
        let v = self
            .ghl_admin(
                Method::POST,
                &format!("/locations/{}/contacts", self.location()),
                body,
            )
            .await;
        v["contact"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("contact id in {v}"))
            .to_string()
    }

    /// A GHL contact with its tasks, notes and appointments (admin view).
    pub async fn ghl_view(&self, id: &str) -> Value {
        self.ghl_admin(Method::GET, &format!("/contacts/{id}"), json!({}))
            .await
    }

    /// The app emulator's admin API ("a person in the app").
    pub async fn app_admin(&self, method: Method, path: &str, body: Value) -> Value {
        let url = format!("{}/_sandbox{path}", self.app.admin_root());
        self.call(method, url, body).await
    }

    /// A record of the app as its admin API shows it (deleted ones too).
    pub async fn app_record(&self, plural: &str, id: &str) -> Value {
        self.app_admin(Method::GET, &format!("/{plural}/{id}"), json!({}))
            .await
    }

    /// Every live record of a kind in the app, through its API (`contacts`, `tasks` …).
    pub async fn app_list(&self, plural: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{}/{plural}?limit=100", self.app.api_url());
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let v: Value = self
                .http
                .get(url)
                .bearer_auth(self.app.api_key())
                .send()
                .await
                .expect("list")
                .json()
                .await
                .expect("JSON");
            out.extend(v["data"].as_array().cloned().unwrap_or_default());
            match v["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return out,
            }
        }
    }

    /// The app's live contacts with this email.
    pub async fn app_contacts_by_email(&self, email: &str) -> Vec<Value> {
        self.app_list("contacts")
            .await
            .into_iter()
            .filter(|c| c["email"] == email)
            .collect()
    }

    /// The app's live records of a kind under one contact.
    pub async fn app_children(&self, plural: &str, contact_id: &str) -> Vec<Value> {
        self.app_list(plural)
            .await
            .into_iter()
            .filter(|r| r["contact_id"] == contact_id)
            .collect()
    }

    /// Waits for one delivery of each listed GHL event type (a list may name a type twice),
    /// ingesting every delivery that arrives meanwhile as `ghl-bridge` would: verified by the
    /// project's GHL connection, then ingested as webhook events. Returns the jobs enqueued.
    pub async fn deliver(&mut self, types: &[&str]) -> usize {
        let mut wanted: Vec<String> = types.iter().map(|t| t.to_string()).collect();
        let mut jobs = 0;
        while !wanted.is_empty() {
            let d = tokio::time::timeout(Duration::from_secs(15), self.hooks.recv())
                .await
                .unwrap_or_else(|_| panic!("webhooks {wanted:?} within 15 s"))
                .expect("receiver open");
            let t = d.event_type();
            if let Some(i) = wanted.iter().position(|w| *w == t) {
                wanted.remove(i);
            }
            jobs += self.ingest(&d).await;
        }
        jobs
    }

    /// Ingests every delivery already received, without waiting.
    pub async fn drain(&mut self) -> usize {
        let mut jobs = 0;
        while let Ok(d) = self.hooks.try_recv() {
            jobs += self.ingest(&d).await;
        }
        jobs
    }

    async fn ingest(&self, d: &Delivery) -> usize {
        let ghl = self.engine.connectors.get("ghl").expect("a ghl connection");
        let hints = ghl
            .parse_webhook(&d.headers, &d.body)
            .unwrap_or_else(|e| panic!("a sandbox webhook verifies: {e}"));
        self.engine
            .ingest("ghl", &hints, EventSource::Webhook)
            .await
            .expect("ingest")
            .jobs
    }

    /// Ingests a GHL webhook-like hint under a fresh event id, as when GHL delivers the same
    /// change again with a new webhook id; returns the jobs enqueued.
    pub async fn redeliver(
        &self,
        kind: EntityKind,
        id: &str,
        parent: Option<&str>,
        event_type: &str,
    ) -> usize {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let hint = connectors::ChangeHint {
            kind,
            id: id.to_string(),
            parent_id: parent.map(str::to_string),
            deleted: false,
            event_id: format!("redelivery-{n}"),
            event_type: event_type.to_string(),
        };
        self.engine
            .ingest("ghl", &[hint], EventSource::Webhook)
            .await
            .expect("ingest")
            .jobs
    }

    /// Runs every due job; returns how many ran.
    pub async fn run(&self) -> usize {
        self.engine.run_until_idle().await.expect("jobs run")
    }

    /// What `ghl-bridge run --once` does: one poll, one reconcile, every due job.
    pub async fn pass(&self) -> usize {
        self.engine.poll_once().await.expect("poll");
        self.engine.reconcile_once().await.expect("reconcile");
        self.run().await
    }

    /// Writes each emulator has served so far: (GHL, app). Searches are reads.
    pub async fn writes(&self) -> (usize, usize) {
        (
            writes(&self.ghl.base_url).await,
            writes(&self.app.admin_root()).await,
        )
    }

    /// The link of a record, if linked.
    pub async fn link(&self, conn: &str, kind: EntityKind, id: &str) -> Option<Link> {
        self.store()
            .find_link(conn, kind.as_str(), id)
            .await
            .expect("find link")
    }

    /// The id of a record's twin in `other`, through the identity links.
    pub async fn twin(
        &self,
        conn: &str,
        kind: EntityKind,
        id: &str,
        other: &str,
    ) -> Option<String> {
        let link = self.link(conn, kind, id).await?;
        self.store()
            .links_of(link.identity_id)
            .await
            .expect("links")
            .into_iter()
            .find(|l| l.connection_id == other && l.kind == kind.as_str())
            .map(|l| l.external_id)
    }

    /// Fails the test when any job ended in the dead-letter queue or waits for a retry.
    pub async fn assert_queue_clean(&self) {
        let s = self.store().queue_stats().await.expect("stats");
        assert_eq!((s.dead, s.pending), (0, 0), "queue: {s:?}");
    }
}

async fn writes(base: &str) -> usize {
    let v: Value = reqwest::get(format!("{base}/_sandbox/requests?limit=100000"))
        .await
        .expect("request log")
        .json()
        .await
        .expect("JSON");
    v["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["method"] != "GET" && r["path"] != "/contacts/search")
        .count()
}

/// A path of the project folder.
pub fn path_in(fx: &Fx, rel: &str) -> PathBuf {
    fx.dir.path().join(rel)
}
