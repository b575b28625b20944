//! A world for actions-flow tests: the GHL sandbox and the Your App emulator over real HTTP, a
//! project of flow files in a temp dir, a SQLite store, and an engine (or several, on one store).

#![allow(dead_code)] // each test binary uses a part

use std::collections::BTreeMap;
use std::sync::Arc;

use connectors::ghl::{GhlConfig, GhlConnector};
use connectors::your_app::{YourAppConfig, YourAppConnector};
use connectors::{ChangeHint, Connector, EntityKind};
use engine::flow::{load_project_with, Flow};
use engine::runtime::{Engine, EngineOptions};
use engine::store::{self, ChangeFilter, ChangeRecord, EventSource, Store};
use ghl::retry::RetryPolicy;
use ghl_sandbox::ghl::model::{Note, Task};
use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig as SandboxConfig, GhlSandbox};
use ghl_sandbox::rest::{RestConfig, RestSandbox};
use serde_json::{Map, Value};

pub struct World {
    pub ghl: GhlSandbox,
    pub crm: RestSandbox,
    pub engine: Engine,
    pub flows: Vec<Flow>,
    pub connectors: BTreeMap<String, Arc<dyn Connector>>,
    pub dir: tempfile::TempDir,
}

/// Engine options for tests: quick, deterministic retries.
pub fn options(process_id: &str) -> EngineOptions {
    EngineOptions {
        process_id: process_id.into(),
        ..EngineOptions::default()
    }
}

/// A world with these flow files (`(file name, YAML)`), no seeded contacts.
pub async fn world(flows: &[(&str, &str)]) -> World {
    world_with(flows, options("engine-a")).await
}

pub async fn world_with(flows: &[(&str, &str)], options: EngineOptions) -> World {
    let limits = LimitConfig {
        burst_max: 100_000,
        burst_interval_ms: 10_000,
        daily_max: 10_000_000,
    };
    let ghl = GhlSandbox::start(SandboxConfig {
        contacts: 0,
        limits,
        ..Default::default()
    })
    .await
    .expect("ghl sandbox");
    let crm = RestSandbox::start(RestConfig {
        contacts: 0,
        ..Default::default()
    })
    .await
    .expect("crm sandbox");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("flows")).expect("flows dir");
    for (name, text) in flows {
        std::fs::write(dir.path().join("flows").join(name), text).expect("flow file");
    }
    let project_file = dir.path().join("ghl-bridge.yaml");
    std::fs::write(
        &project_file,
        "version: 1\nconnections:\n  ghl: {app: ghl}\n  crm: {app: your_app}\n",
    )
    .expect("project");
    let project = load_project_with(&project_file, &|_: &str| None).expect("project loads");
    // No client-side retries: a fault fails the call, and the engine's retry is what is tested.
    let ghl_conn = GhlConnector::new(
        GhlConfig::private_integration(&ghl.base_url, ghl.location_id(), ghl.token())
            .with_retry(RetryPolicy::none()),
    )
    .expect("ghl connector");
    let crm_conn = YourAppConnector::new(YourAppConfig::default_for(crm.api_url(), crm.api_key()))
        .expect("crm connector");
    let mut connectors: BTreeMap<String, Arc<dyn Connector>> = BTreeMap::new();
    connectors.insert("ghl".into(), Arc::new(ghl_conn));
    connectors.insert("crm".into(), Arc::new(crm_conn));
    let store = store::open(&db_url(&dir)).await.expect("store opens");
    let engine = Engine {
        store,
        flows: project.flows.clone(),
        connectors: connectors.clone(),
        options,
    };
    World {
        ghl,
        crm,
        engine,
        flows: project.flows,
        connectors,
        dir,
    }
}

fn db_url(dir: &tempfile::TempDir) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("engine.db").display()
    )
}

impl World {
    /// Another engine (another process) on the same store file and apps.
    pub async fn another_engine(&self, options: EngineOptions) -> Engine {
        let store = store::open(&db_url(&self.dir)).await.expect("store opens");
        Engine {
            store,
            flows: self.flows.clone(),
            connectors: self.connectors.clone(),
            options,
        }
    }

    pub fn store(&self) -> &dyn Store {
        self.engine.store.as_ref()
    }

    pub fn location(&self) -> String {
        self.ghl.location_id()
    }

    /// Creates a GHL contact as a person would (GHL field names); returns its id.
    pub fn ghl_contact(&self, body: Value) -> String {
        let body = body.as_object().cloned().unwrap_or_default();
        self.ghl
            .state
            .create_contact(&self.location(), &body)
            .expect("contact created")
            .id
    }

    pub fn ghl_task(&self, contact: &str, body: Value) -> String {
        let body: Map<String, Value> = body.as_object().cloned().unwrap_or_default();
        self.ghl
            .state
            .create_task(contact, &body)
            .expect("task created")
            .id
    }

    pub fn ghl_tasks(&self, contact: &str) -> Vec<Task> {
        self.ghl.state.tasks_of(contact)
    }

    pub fn ghl_notes(&self, contact: &str) -> Vec<Note> {
        self.ghl.state.notes_of(contact)
    }

    pub fn ghl_tags(&self, contact: &str) -> Vec<String> {
        self.ghl
            .state
            .store
            .read()
            .contacts
            .get(contact)
            .map(|c| c.tags.clone())
            .unwrap_or_default()
    }

    /// Feeds a webhook-like hint to the engine; returns the jobs it enqueued.
    pub async fn hint(&self, connection: &str, h: ChangeHint) -> usize {
        self.engine
            .ingest(connection, &[h], EventSource::Webhook)
            .await
            .expect("ingest")
            .jobs
    }

    /// Runs queued jobs until none is due; returns how many ran.
    pub async fn run(&self) -> usize {
        self.engine.run_until_idle().await.expect("jobs run")
    }

    /// The change audit of one flow, oldest first.
    pub async fn changes(&self, flow: &str) -> Vec<ChangeRecord> {
        let mut all = self
            .store()
            .changes(&ChangeFilter {
                flow_id: Some(flow.into()),
                ..Default::default()
            })
            .await
            .expect("changes");
        all.reverse();
        all
    }

    /// Every CRM contact (Your App emulator), over its API.
    pub async fn crm_contacts(&self) -> Vec<Value> {
        let url = format!("{}/contacts?limit=100", self.crm.api_url());
        let v: Value = reqwest::Client::new()
            .get(url)
            .bearer_auth(self.crm.api_key())
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        v["data"].as_array().cloned().unwrap_or_default()
    }

    /// Writes (non-GET requests) the GHL sandbox has served so far.
    pub async fn ghl_writes(&self) -> usize {
        let v: Value = reqwest::get(format!(
            "{}/_sandbox/requests?limit=100000",
            self.ghl.base_url
        ))
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
    }
}

/// A webhook hint.
pub fn hint(
    kind: EntityKind,
    id: &str,
    parent: Option<&str>,
    event: &str,
    key: &str,
) -> ChangeHint {
    ChangeHint {
        kind,
        id: id.into(),
        parent_id: parent.map(str::to_string),
        deleted: false,
        event_id: key.into(),
        event_type: event.into(),
    }
}
