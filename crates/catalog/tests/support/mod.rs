//! The world the catalog's cases run in: the GHL sandbox and the REST emulator under the three
//! profiles (your_app, investnext, invoco) over real HTTP — plus, when a test binary asks for
//! them, the Insightly and SalesNexus emulators — one webhook receiver for all of them,
//! connectors named after their apps (as the snippets name them), and one SQLite store shared by
//! the engines each case builds from its entry's snippet.
#![allow(dead_code)] // each test binary uses a part

pub mod cases;
mod engine_cases;
mod ghl_cases;
pub mod insightly;
mod ops_cases;
mod polled;
mod polled_actions;
mod polled_cases;
mod rest_cases;
pub mod salesnexus;
mod timer_cases;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::HeaderMap;
use catalog::Entry;
use connectors::ghl::{GhlConfig, GhlConnector};
use connectors::your_app::{YourAppConfig, YourAppConnector};
use connectors::{Connector, EntityKind};
use engine::flow::{parse_flow, AppKind, Connections, Flow};
use engine::runtime::{Engine, EngineOptions};
use engine::store::{self, DlqFilter, EventSource, Page, Store};
use engine::sync::RecordRef;
use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig as SandboxConfig, GhlSandbox};
use ghl_sandbox::rest::{Profile, RestConfig, RestSandbox};
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, Mutex};

/// A text unique within the test run.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{prefix}{}", N.fetch_add(1, Ordering::SeqCst))
}

/// An object literal as a map.
pub fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("an object")
}

/// One webhook delivery.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Delivery {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Whether `v` holds the text `s` anywhere.
fn holds(v: &Value, s: &str) -> bool {
    match v {
        Value::String(t) => t == s,
        Value::Array(a) => a.iter().any(|x| holds(x, s)),
        Value::Object(m) => m.values().any(|x| holds(x, s)),
        _ => false,
    }
}

pub struct World {
    pub ghl: GhlSandbox,
    pub rest: BTreeMap<&'static str, RestSandbox>,
    pub ghl_conn: Arc<GhlConnector>,
    pub connectors: BTreeMap<String, Arc<dyn Connector>>,
    pub store: Arc<dyn Store>,
    /// The Insightly emulator, when the binary started it ([`World::with_insightly`]).
    pub ins: Option<ghl_sandbox::insightly::InsightlySandbox>,
    /// The SalesNexus emulator, when the binary started it ([`World::with_salesnexus`]).
    pub sn: Option<ghl_sandbox::salesnexus::SnSandbox>,
    /// `http://…/hook`: deliveries to `<hook_url>/<app>` reach [`World::delivery`].
    pub hook_url: String,
    hooks: Mutex<mpsc::UnboundedReceiver<(String, Delivery)>>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn receiver() -> (String, mpsc::UnboundedReceiver<(String, Delivery)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook/{app}",
        axum::routing::post(
            move |Path(app): Path<String>, headers: HeaderMap, body: Bytes| {
                let tx = tx.clone();
                async move {
                    let headers = headers
                        .iter()
                        .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
                        .collect();
                    let _ = tx.send((
                        app,
                        Delivery {
                            headers,
                            body: body.to_vec(),
                        },
                    ));
                    "ok"
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (url, rx)
}

impl World {
    pub async fn start() -> World {
        let (hook_url, rx) = receiver().await;
        let limits = LimitConfig {
            burst_max: 1_000_000,
            burst_interval_ms: 10_000,
            daily_max: 100_000_000,
        };
        let ghl = GhlSandbox::start(SandboxConfig {
            contacts: 0,
            limits,
            ..Default::default()
        })
        .await
        .expect("ghl sandbox");
        ghl.state.set_webhook_url(Some(format!("{hook_url}/ghl")));
        let mut config =
            GhlConfig::private_integration(&ghl.base_url, ghl.location_id(), ghl.token());
        config.settings.webhooks.ed25519_public_key_pem = Some(ghl.state.keys.ed25519_public_pem());
        config.settings.webhooks.rsa_public_key_pem = Some(ghl.state.keys.rsa_public_pem());
        let ghl_conn = Arc::new(GhlConnector::new(config).expect("ghl connector"));
        let mut connectors: BTreeMap<String, Arc<dyn Connector>> = BTreeMap::new();
        connectors.insert("ghl".into(), ghl_conn.clone());
        let mut rest = BTreeMap::new();
        for (app, profile) in [
            ("your_app", Profile::YourApp),
            ("investnext", Profile::InvestNext),
            ("invoco", Profile::Invoco),
        ] {
            let sb = RestSandbox::start(RestConfig {
                profile,
                contacts: 0,
                ..Default::default()
            })
            .await
            .expect("rest emulator");
            let secret = format!("whsec-{app}");
            sb.state
                .set_webhook(Some(format!("{hook_url}/{app}")), Some(secret.clone()));
            let cfg = match app {
                "your_app" => YourAppConfig::default_for(sb.api_url(), sb.api_key()),
                _ => YourAppConfig::profile(app, sb.api_url(), sb.api_key()).expect("profile"),
            };
            let conn = YourAppConnector::new(cfg.with_webhook_secret(secret)).expect("connector");
            connectors.insert(app.into(), Arc::new(conn));
            rest.insert(app, sb);
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("catalog.db").display()
        );
        let store = store::open(&url).await.expect("store");
        World {
            ghl,
            rest,
            ghl_conn,
            connectors,
            store,
            ins: None,
            sn: None,
            hook_url,
            hooks: Mutex::new(rx),
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    /// The project's connections: one per app, named after it.
    pub fn connections() -> Connections {
        AppKind::ALL
            .iter()
            .map(|a| (a.as_str().to_string(), *a))
            .collect()
    }

    /// The entry's snippet as a loaded flow (it must load as it is).
    pub fn flow(entry: &Entry) -> Flow {
        parse_flow(
            &entry.snippet,
            &format!("{}.yaml", entry.id),
            &Self::connections(),
        )
        .unwrap_or_else(|e| panic!("the snippet of {} does not load:\n{e}", entry.id))
    }

    /// An engine running the entry's flow (and `extra` flows) on the shared store.
    pub fn engine(&self, entry: &Entry) -> Engine {
        Engine {
            store: self.store.clone(),
            flows: vec![Self::flow(entry)],
            connectors: self.connectors.clone(),
            options: EngineOptions {
                // One process id for every engine of the world: they take turns, never at once.
                process_id: "catalog-tests".into(),
                retry_base: Duration::ZERO,
                retry_cap: Duration::ZERO,
                // `report` actions write here.
                project_dir: Some(self.project_dir().to_path_buf()),
                ..EngineOptions::default()
            },
        }
    }

    /// The project folder of the engines (a temporary one, beside the store).
    pub fn project_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// The next delivery from `app` whose body names `id` and has type `event` (others are
    /// skipped: they belong to earlier steps or to the flows' own writes).
    pub async fn webhook(&self, app: &str, event: &str, id: &str) -> Delivery {
        let what = format!("{event} webhook naming {id}");
        self.delivery(app, &what, |body| body["type"] == event && holds(body, id))
            .await
    }

    /// The next delivery to `<hook_url>/<app>` whose JSON body passes `pick` (others are
    /// skipped); `what` names it in the failure.
    pub async fn delivery(&self, app: &str, what: &str, pick: impl Fn(&Value) -> bool) -> Delivery {
        let mut rx = self.hooks.lock().await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let got = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .unwrap_or_else(|_| panic!("no {what} from {app} within 15 s"))
                .expect("receiver open");
            if got.0 == app && pick(&got.1.json()) {
                return got.1;
            }
        }
    }

    /// Waits for the webhook, verifies and ingests it as the server would, and runs the jobs.
    /// Returns how many jobs ran.
    pub async fn on_webhook(&self, engine: &Engine, app: &str, event: &str, id: &str) -> usize {
        let d = self.webhook(app, event, id).await;
        let hints = self.connectors[app]
            .parse_webhook(&d.headers, &d.body)
            .unwrap_or_else(|e| panic!("{app} {event} webhook refused: {e}"));
        assert!(!hints.is_empty(), "the {event} webhook gave no hint");
        engine
            .ingest(app, &hints, EventSource::Webhook)
            .await
            .expect("ingest");
        self.run(engine).await
    }

    /// Runs due jobs (a failing one is retried at once until it is dead-lettered); every job of
    /// the flow must have succeeded.
    pub async fn run(&self, engine: &Engine) -> usize {
        let ran = engine.run_until_idle().await.expect("jobs run");
        let filter = DlqFilter {
            flow_id: Some(engine.flows[0].name.clone()),
            entity_key: None,
        };
        let page = Page {
            limit: 10,
            offset: 0,
        };
        let dead = engine.store.dlq_list(&filter, page).await.expect("dlq");
        let errors: Vec<String> = dead.iter().filter_map(|j| j.last_error.clone()).collect();
        assert!(dead.is_empty(), "the flow failed: {errors:?}");
        ran
    }

    /// Runs the entry's flow by hand for a record, as the dashboard would; returns jobs run.
    pub async fn manual(&self, engine: &Engine, r: RecordRef) -> usize {
        let name = engine.flows[0].name.clone();
        engine.run_manual(&name, Some(r)).await.expect("manual run");
        self.run(engine).await
    }

    /// Links two records as one identity, as a sync or an upsert would.
    pub async fn link(&self, kind: EntityKind, a: (&str, &str), b: (&str, &str)) {
        let key = vec![unique("test-link:")];
        for (conn, id) in [a, b] {
            self.store
                .resolve_identity(kind.as_str(), conn, id, &key)
                .await
                .expect("link");
        }
    }
}

/// A reference to a record, for manual runs.
pub fn rec(connection: &str, kind: EntityKind, id: &str, parent: Option<&str>) -> RecordRef {
    RecordRef {
        connection: connection.into(),
        kind,
        id: id.into(),
        parent_id: parent.map(str::to_string),
        deleted: false,
    }
}

/// GHL data "as a person in GHL" (the sandbox's own service, which emits webhooks).
impl World {
    pub fn ghl_contact(&self, body: Value) -> String {
        self.ghl
            .state
            .create_contact(&self.ghl.location_id(), &obj(body))
            .expect("contact")
            .id
    }
    pub fn ghl_update(&self, id: &str, body: Value) {
        self.ghl
            .state
            .update_contact(id, &obj(body), false)
            .expect("update");
    }
    pub fn ghl_task(&self, contact: &str, title: &str) -> String {
        let body = json!({"title": title, "dueDate": "2030-01-01T09:00:00Z"});
        self.ghl
            .state
            .create_task(contact, &obj(body))
            .expect("task")
            .id
    }
    pub fn ghl_note(&self, contact: &str, body: &str) -> String {
        self.ghl
            .state
            .create_note(contact, &obj(json!({"body": body})))
            .expect("note")
            .id
    }
    pub fn ghl_appointment(&self, contact: &str, title: &str) -> String {
        let body = json!({"title": title, "startTime": "2030-01-02T10:00:00.000Z", "endTime": "2030-01-02T10:30:00.000Z"});
        self.ghl
            .state
            .create_appointment(contact, &obj(body))
            .expect("appointment")
            .id
    }
    /// The contact as the sandbox holds it, if it exists.
    pub fn ghl_get(&self, id: &str) -> Option<ghl_sandbox::ghl::model::Contact> {
        self.ghl.state.store.read().contacts.get(id).cloned()
    }
    pub fn ghl_tags(&self, id: &str) -> Vec<String> {
        self.ghl_get(id).map(|c| c.tags).unwrap_or_default()
    }
    pub fn ghl_notes(&self, id: &str) -> Vec<String> {
        self.ghl
            .state
            .notes_of(id)
            .into_iter()
            .map(|n| n.body)
            .collect()
    }
    pub fn ghl_tasks(&self, id: &str) -> Vec<ghl_sandbox::ghl::model::Task> {
        self.ghl.state.tasks_of(id)
    }
    /// A new GHL contact with a unique email.
    pub fn ghl_person(&self, first: &str) -> (String, String) {
        let email = format!("{}@example.com", unique(&first.to_lowercase()));
        let id =
            self.ghl_contact(json!({"firstName": first, "lastName": "Tester", "email": email}));
        (id, email)
    }
}

/// REST app data through its API (as a person using the app).
impl World {
    pub async fn api(&self, app: &str, method: reqwest::Method, path: &str, body: Value) -> Value {
        let sb = &self.rest[app];
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", sb.api_url()))
            .bearer_auth(sb.api_key());
        if !body.is_null() {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("api call");
        let status = resp.status();
        let text = resp.text().await.expect("answer");
        assert!(
            status.is_success(),
            "{app} {method} {path}: {status} {text}"
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
    pub async fn post(&self, app: &str, path: &str, body: Value) -> Value {
        self.api(app, reqwest::Method::POST, path, body).await
    }
    pub async fn patch(&self, app: &str, path: &str, body: Value) -> Value {
        self.api(app, reqwest::Method::PATCH, path, body).await
    }
    pub async fn get(&self, app: &str, path: &str) -> Value {
        self.api(app, reqwest::Method::GET, path, Value::Null).await
    }
    /// The status of a GET (404 for a deleted record).
    pub async fn status(&self, app: &str, path: &str) -> u16 {
        let sb = &self.rest[app];
        self.http
            .get(format!("{}{path}", sb.api_url()))
            .bearer_auth(sb.api_key())
            .send()
            .await
            .expect("get")
            .status()
            .as_u16()
    }
    /// A new contact with a unique email; returns (id, email).
    pub async fn person(&self, app: &str, first: &str) -> (String, String) {
        let email = format!("{}@example.com", unique(&first.to_lowercase()));
        let c = self
            .post(
                app,
                "/contacts",
                json!({"first_name": first, "last_name": "Tester", "email": email}),
            )
            .await;
        (c["id"].as_str().expect("id").to_string(), email)
    }
    /// A child record (`tasks`, `notes`, `appointments`) of a contact; returns its id.
    pub async fn child(&self, app: &str, contact: &str, plural: &str, body: Value) -> String {
        let r = self
            .post(app, &format!("/contacts/{contact}/{plural}"), body)
            .await;
        r["id"].as_str().expect("id").to_string()
    }
    /// The `data` of a list.
    pub async fn list(&self, app: &str, path: &str) -> Vec<Value> {
        let v = self.get(app, path).await;
        v["data"].as_array().cloned().unwrap_or_default()
    }
    pub async fn tags(&self, app: &str, contact: &str) -> Vec<String> {
        let c = self.get(app, &format!("/contacts/{contact}")).await;
        c["tags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }
    pub async fn notes(&self, app: &str, contact: &str) -> Vec<String> {
        self.list(app, &format!("/contacts/{contact}/notes"))
            .await
            .iter()
            .filter_map(|n| n["body"].as_str().map(str::to_string))
            .collect()
    }
}
