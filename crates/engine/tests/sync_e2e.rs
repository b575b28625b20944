//! End to end: the GHL sandbox ⇄ engine (SQLite) ⇄ the Your App emulator, over real HTTP, with a
//! two-way contact sync loaded from YAML. Backfill, a change on each side, echo suppression and a
//! propagated delete.

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
use ghl_sandbox::rest::{RestConfig, RestSandbox};
use serde_json::{json, Value};

const FLOW: &str = r#"
name: contacts both ways
sync:
  source: ghl
  target: crm
  direction: two_way
  kinds: [contact]
  match:
    contact: [email]
  delete: propagate
"#;

struct World {
    ghl: GhlSandbox,
    crm: RestSandbox,
    engine: Engine,
    _dir: tempfile::TempDir,
}

async fn world(contacts: usize) -> World {
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
    let crm = RestSandbox::start(RestConfig {
        contacts: 0,
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
    let mut connectors: BTreeMap<String, Arc<dyn Connector>> = BTreeMap::new();
    connectors.insert("ghl".into(), Arc::new(ghl_conn));
    connectors.insert("crm".into(), Arc::new(crm_conn));
    let db = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("engine.db").display()
    );
    let store = store::open(&db).await.expect("store opens");
    let connectors = engine::audit::audited(connectors, &store);
    let engine = Engine {
        store,
        flows: project.flows,
        connectors,
        options: EngineOptions::default(),
    };
    World {
        ghl,
        crm,
        engine,
        _dir: dir,
    }
}

async fn crm_contacts(w: &World) -> Vec<Value> {
    let url = format!(
        "{}/contacts?limit=100&include_deleted=true",
        w.crm.api_url()
    );
    let v: Value = reqwest::Client::new()
        .get(url)
        .bearer_auth(w.crm.api_key())
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
        .filter(|r| r["method"] != "GET" && r["path"] != "/contacts/search")
        .count()
}

fn hint(kind: EntityKind, id: &str, event: &str, deleted: bool) -> ChangeHint {
    ChangeHint {
        kind,
        id: id.into(),
        parent_id: None,
        deleted,
        event_id: event.into(),
        event_type: "test".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_way_contacts_backfill_change_echo_and_delete() {
    let w = world(6).await;
    // Backfill: a reconcile finds every GHL contact; the CRM gets each exactly once.
    let found = w.engine.reconcile_once().await.expect("reconcile");
    assert_eq!(found, 6);
    w.engine.run_until_idle().await.expect("jobs run");
    let crm = crm_contacts(&w).await;
    assert_eq!(crm.len(), 6, "{crm:?}");
    let ghl_emails: Vec<String> = w
        .ghl
        .state
        .store
        .read()
        .contacts
        .values()
        .filter_map(|c| c.email.clone())
        .collect();
    for c in &crm {
        assert!(
            ghl_emails.contains(&c["email"].as_str().unwrap_or_default().to_string()),
            "{c}"
        );
    }
    // A second reconcile changes nothing anywhere (echo suppression, no-op detection).
    let (ghl_writes, crm_writes) = (writes(&w.ghl.base_url).await, writes(&w.crm.base_url).await);
    w.engine.reconcile_once().await.expect("reconcile again");
    w.engine.run_until_idle().await.expect("jobs run");
    assert_eq!(
        writes(&w.ghl.base_url).await,
        ghl_writes,
        "no write to GHL after a no-op reconcile"
    );
    assert_eq!(
        writes(&w.crm.base_url).await,
        crm_writes,
        "no write to the CRM after a no-op reconcile"
    );

    // A change in the CRM flows back to GHL.
    let target = crm[0].clone();
    let crm_id = target["id"].as_str().unwrap_or_default().to_string();
    let email = target["email"].as_str().unwrap_or_default().to_string();
    let url = format!("{}/_sandbox/contacts/{crm_id}", w.crm.base_url);
    let r = reqwest::Client::new()
        .patch(url)
        .json(&json!({"city": "Lisbon"}))
        .send()
        .await
        .expect("admin edit");
    assert!(
        r.status().is_success(),
        "{}",
        r.text().await.unwrap_or_default()
    );
    let report = w
        .engine
        .ingest(
            "crm",
            &[hint(EntityKind::Contact, &crm_id, "evt-1", false)],
            EventSource::Webhook,
        )
        .await
        .expect("ingest");
    assert_eq!((report.events, report.jobs), (1, 1));
    let again = w
        .engine
        .ingest(
            "crm",
            &[hint(EntityKind::Contact, &crm_id, "evt-1", false)],
            EventSource::Webhook,
        )
        .await
        .expect("ingest");
    assert_eq!(
        (again.events, again.duplicates, again.jobs),
        (0, 1, 0),
        "a redelivered webhook is dropped"
    );
    w.engine.run_until_idle().await.expect("jobs run");
    let ghl_city = w
        .ghl
        .state
        .store
        .read()
        .contacts
        .values()
        .find(|c| c.email.as_deref() == Some(email.as_str()))
        .and_then(|c| c.city.clone());
    assert_eq!(ghl_city.as_deref(), Some("Lisbon"));

    // The echo of that write (GHL's webhook) changes nothing in the CRM.
    let ghl_id = w
        .ghl
        .state
        .store
        .read()
        .contacts
        .values()
        .find(|c| c.email.as_deref() == Some(email.as_str()))
        .map(|c| c.id.clone())
        .unwrap_or_default();
    let crm_writes = writes(&w.crm.base_url).await;
    w.engine
        .ingest(
            "ghl",
            &[hint(EntityKind::Contact, &ghl_id, "ghl-echo-1", false)],
            EventSource::Webhook,
        )
        .await
        .expect("ingest");
    w.engine.run_until_idle().await.expect("jobs run");
    assert_eq!(
        writes(&w.crm.base_url).await,
        crm_writes,
        "our own write coming back is dropped"
    );

    // A delete in GHL is propagated.
    w.ghl.state.delete_contact(&ghl_id).expect("delete in GHL");
    w.engine
        .ingest(
            "ghl",
            &[hint(EntityKind::Contact, &ghl_id, "ghl-del-1", true)],
            EventSource::Webhook,
        )
        .await
        .expect("ingest");
    w.engine.run_until_idle().await.expect("jobs run");
    let gone = crm_contacts(&w)
        .await
        .into_iter()
        .find(|c| c["id"] == crm_id.as_str())
        .expect("tombstone listed");
    assert!(gone["deleted_at"].is_string(), "{gone}");
    let stats = w.engine.store.queue_stats().await.expect("stats");
    assert_eq!(stats.dead, 0, "nothing in the dead-letter queue");

    // A delete in the CRM whose webhook was dropped is caught by the reconcile.
    let victim = crm_contacts(&w)
        .await
        .into_iter()
        .find(|c| c["deleted_at"].is_null())
        .expect("a live CRM contact");
    let victim_email = victim["email"].as_str().unwrap_or_default().to_string();
    let url = format!(
        "{}/_sandbox/contacts/{}",
        w.crm.base_url,
        victim["id"].as_str().unwrap_or_default()
    );
    let r = reqwest::Client::new()
        .delete(url)
        .send()
        .await
        .expect("admin delete");
    assert!(r.status().is_success());
    w.engine.reconcile_once().await.expect("reconcile");
    w.engine.run_until_idle().await.expect("jobs run");
    let still_in_ghl = w
        .ghl
        .state
        .store
        .read()
        .contacts
        .values()
        .any(|c| c.email.as_deref() == Some(victim_email.as_str()));
    assert!(
        !still_in_ghl,
        "the reconcile propagated the delete of {victim_email}"
    );

    // Every outbound call and every record change is in the audit, with no secret in it.
    let all = engine::store::CallFilter {
        page: engine::store::Page {
            limit: 1000,
            offset: 0,
        },
        ..Default::default()
    };
    let calls = w.engine.store.calls(&all).await.expect("calls");
    assert!(calls.len() < 1000, "the page holds every call");
    assert!(calls.iter().any(|c| c.call.method == "POST"
        && c.call.connection_id == "crm"
        && c.call.job_id.is_some()));
    assert!(calls
        .iter()
        .any(|c| c.call.method == "DELETE" && c.call.path == format!("/contact/{crm_id}")));
    let text = serde_json::to_string(&calls).unwrap_or_default();
    assert!(
        !text.contains(&w.ghl.token()) && !text.contains(&w.crm.api_key()),
        "no secret in the call audit"
    );
    let changes = w
        .engine
        .store
        .changes(&Default::default())
        .await
        .expect("changes");
    let city_change = changes.iter().find(|c| {
        c.change.connection_id == "ghl" && c.change.diff.iter().any(|d| d.field == "city")
    });
    let city_change = city_change.expect("the city change is audited");
    assert!(
        city_change
            .change
            .diff
            .iter()
            .any(|d| d.after == Some(json!("Lisbon"))),
        "{city_change:?}"
    );
}
