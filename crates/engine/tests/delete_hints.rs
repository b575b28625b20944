//! A delete hint is a hint, not the truth: the worker re-reads the record before propagating a
//! delete. A reconcile that lists an app while a new record is being linked (its
//! `reconcile-missing` hint), or a stale webhook, must never delete a live record's twin.

use std::sync::Arc;

use connectors::ghl::{GhlConfig, GhlConnector};
use connectors::your_app::{YourAppConfig, YourAppConnector};
use connectors::{ChangeHint, Connector, EntityKind};
use engine::flow::load_project_with;
use engine::runtime::{Engine, EngineOptions};
use engine::store::{self, EventSource};
use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig as SandboxConfig, GhlSandbox};
use ghl_sandbox::rest::{RestConfig, RestSandbox};
use serde_json::Value;

const FLOW: &str = "name: contacts both ways
sync:
  source: ghl
  target: crm
  direction: two_way
  kinds: [contact]
  match:
    contact: [email]
  delete: propagate
";

async fn live_crm_contacts(crm: &RestSandbox) -> Vec<Value> {
    let v: Value = reqwest::Client::new()
        .get(format!("{}/contacts?limit=100", crm.api_url()))
        .bearer_auth(crm.api_key())
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    v["data"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_hint_for_a_live_record_deletes_nothing() {
    let ghl = GhlSandbox::start(SandboxConfig {
        contacts: 3,
        limits: LimitConfig {
            burst_max: 100_000,
            burst_interval_ms: 10_000,
            daily_max: 10_000_000,
        },
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
    std::fs::write(dir.path().join("flows/contacts.yaml"), FLOW).expect("flow");
    let file = dir.path().join("ghl-bridge.yaml");
    std::fs::write(
        &file,
        "version: 1\nconnections:\n  ghl: {app: ghl}\n  crm: {app: your_app}\n",
    )
    .expect("project");
    let project = load_project_with(&file, &|_: &str| None).expect("project loads");
    let mut connectors: engine::sync::Connectors = Default::default();
    let g: Arc<dyn Connector> = Arc::new(
        GhlConnector::new(GhlConfig::private_integration(
            &ghl.base_url,
            ghl.location_id(),
            ghl.token(),
        ))
        .expect("ghl connector"),
    );
    let c: Arc<dyn Connector> = Arc::new(
        YourAppConnector::new(YourAppConfig::default_for(crm.api_url(), crm.api_key()))
            .expect("crm connector"),
    );
    connectors.insert("ghl".into(), g);
    connectors.insert("crm".into(), c);
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("e.db").display());
    let engine = Engine {
        store: store::open(&db).await.expect("store"),
        flows: project.flows,
        connectors,
        options: EngineOptions::default(),
    };
    engine.reconcile_once().await.expect("reconcile");
    engine.run_until_idle().await.expect("backfill");
    assert_eq!(live_crm_contacts(&crm).await.len(), 3);

    // A deletion hint for a GHL contact that is still there (as a reconcile that raced the
    // contact's first sync would send): nothing may be deleted in the CRM.
    let id = ghl
        .state
        .store
        .read()
        .contacts
        .keys()
        .next()
        .cloned()
        .expect("a contact");
    let hint = ChangeHint {
        kind: EntityKind::Contact,
        id: id.clone(),
        parent_id: None,
        deleted: true,
        event_id: format!("reconcile-missing:contact:{id}"),
        event_type: "reconcile".into(),
    };
    engine
        .ingest("ghl", &[hint], EventSource::Reconcile)
        .await
        .expect("ingest");
    engine.run_until_idle().await.expect("jobs run");
    assert_eq!(
        live_crm_contacts(&crm).await.len(),
        3,
        "the CRM twin of a live GHL contact survives a wrong delete hint"
    );
    assert!(
        engine
            .store
            .find_link("ghl", "contact", &id)
            .await
            .expect("link")
            .is_some(),
        "and the contact stays linked"
    );

    // A real delete still propagates.
    ghl.state.delete_contact(&id).expect("delete in GHL");
    let hint = ChangeHint {
        kind: EntityKind::Contact,
        id: id.clone(),
        parent_id: None,
        deleted: true,
        event_id: "ghl-delete-1".into(),
        event_type: "ContactDelete".into(),
    };
    engine
        .ingest("ghl", &[hint], EventSource::Webhook)
        .await
        .expect("ingest");
    engine.run_until_idle().await.expect("jobs run");
    assert_eq!(
        live_crm_contacts(&crm).await.len(),
        2,
        "the real delete propagates"
    );
}
