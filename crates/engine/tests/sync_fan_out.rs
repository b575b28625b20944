//! One app synced with two others: GHL → Your App and GHL → a second REST app, two one-way flows
//! from the same source. Each pair keeps its own snapshots, so one flow's sync never makes the
//! other see its record as "unchanged" (both targets get every contact and every change), and a
//! second pass writes nothing anywhere.

use std::collections::BTreeMap;
use std::sync::Arc;

use connectors::ghl::{GhlConfig, GhlConnector};
use connectors::your_app::{YourAppConfig, YourAppConnector};
use connectors::{ChangeHint, Connector, EntityKind};
use engine::flow::load_project_with;
use engine::runtime::{Engine, EngineOptions};
use engine::store::{self, EventSource};
use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig as SandboxConfig, GhlSandbox};
use ghl_sandbox::rest::{Profile, RestConfig, RestSandbox};
use serde_json::Value;

const TO_CRM: &str = "name: ghl to crm\nsync:\n  source: ghl\n  target: crm\n  \
direction: one_way\n  kinds: [contact]\n  match:\n    contact: [email]\n";
const TO_INV: &str = "name: ghl to investors\nsync:\n  source: ghl\n  target: inv\n  \
direction: one_way\n  kinds: [contact]\n  match:\n    contact: [email]\n";

async fn contacts(app: &RestSandbox) -> Vec<Value> {
    let v: Value = reqwest::Client::new()
        .get(format!("{}/contacts?limit=100", app.api_url()))
        .bearer_auth(app.api_key())
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    v["data"].as_array().cloned().unwrap_or_default()
}

async fn writes(base: &str) -> usize {
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
        .filter(|r| r["method"] != "GET")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_flows_from_one_source_each_get_every_contact_and_change() {
    let limits = LimitConfig {
        burst_max: 100_000,
        burst_interval_ms: 10_000,
        daily_max: 10_000_000,
    };
    let ghl = GhlSandbox::start(SandboxConfig {
        contacts: 5,
        limits,
        ..Default::default()
    })
    .await
    .expect("ghl sandbox");
    let empty = |profile| RestConfig {
        contacts: 0,
        profile,
        ..Default::default()
    };
    let crm = RestSandbox::start(empty(Profile::YourApp))
        .await
        .expect("crm");
    let inv = RestSandbox::start(empty(Profile::InvestNext))
        .await
        .expect("inv");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("flows")).expect("flows dir");
    std::fs::write(dir.path().join("flows/crm.yaml"), TO_CRM).expect("flow");
    std::fs::write(dir.path().join("flows/inv.yaml"), TO_INV).expect("flow");
    let project_file = dir.path().join("ghl-bridge.yaml");
    std::fs::write(
        &project_file,
        "version: 1\nconnections:\n  ghl: {app: ghl}\n  crm: {app: your_app}\n  inv: {app: investnext}\n",
    )
    .expect("project");
    let project = load_project_with(&project_file, &|_: &str| None).expect("project loads");
    let mut connectors: BTreeMap<String, Arc<dyn Connector>> = BTreeMap::new();
    connectors.insert(
        "ghl".into(),
        Arc::new(
            GhlConnector::new(GhlConfig::private_integration(
                &ghl.base_url,
                ghl.location_id(),
                ghl.token(),
            ))
            .expect("ghl connector"),
        ),
    );
    for (name, app) in [("crm", &crm), ("inv", &inv)] {
        let c = YourAppConnector::new(YourAppConfig::default_for(app.api_url(), app.api_key()))
            .expect("rest connector");
        connectors.insert(name.into(), Arc::new(c));
    }
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("e.db").display());
    let store = store::open(&db).await.expect("store");
    let connectors = engine::audit::audited(connectors, &store);
    let engine = Engine {
        store,
        flows: project.flows,
        connectors,
        options: EngineOptions::default(),
    };

    engine.reconcile_once().await.expect("reconcile");
    engine.run_until_idle().await.expect("jobs run");
    assert_eq!(contacts(&crm).await.len(), 5, "the CRM gets every contact");
    assert_eq!(contacts(&inv).await.len(), 5, "the second app too");

    // A change in GHL reaches both targets.
    let (id, email) = {
        let st = ghl.state.store.read();
        let c = st.contacts.values().next().expect("a contact");
        (c.id.clone(), c.email.clone().expect("seeded email"))
    };
    let r = reqwest::Client::new()
        .put(format!("{}/_sandbox/contacts/{id}", ghl.base_url))
        .json(&serde_json::json!({"city": "Porto"}))
        .send()
        .await
        .expect("admin edit");
    assert!(
        r.status().is_success(),
        "{}",
        r.text().await.unwrap_or_default()
    );
    let hint = ChangeHint {
        kind: EntityKind::Contact,
        id: id.clone(),
        parent_id: None,
        deleted: false,
        event_id: "evt-porto".into(),
        event_type: "ContactUpdate".into(),
    };
    engine
        .ingest("ghl", &[hint], EventSource::Webhook)
        .await
        .expect("ingest");
    engine.run_until_idle().await.expect("jobs run");
    for (name, app) in [("crm", &crm), ("inv", &inv)] {
        let list = contacts(app).await;
        let c = list
            .iter()
            .find(|c| c["email"].as_str() == Some(email.as_str()))
            .unwrap_or_else(|| panic!("{name} holds {email}: {list:?}"));
        assert_eq!(c["city"], "Porto", "{name}: {c}");
    }

    // Nothing changed since: a second pass writes nowhere.
    let before = (writes(&crm.base_url).await, writes(&inv.base_url).await);
    engine.reconcile_once().await.expect("reconcile again");
    engine.run_until_idle().await.expect("jobs run");
    let after = (writes(&crm.base_url).await, writes(&inv.base_url).await);
    assert_eq!(before, after, "no writes after a no-op reconcile");
}
