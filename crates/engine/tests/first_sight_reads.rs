//! How often a sync job reads a record it sees for the first time. GHL's rate budget is the
//! scarce resource, so a record new to the engine (every record of a backfill) must cost one read,
//! not two; but when another job wrote the record between the job's read and its taking the
//! identity's lock, the job must read it again, or it would copy a stale record over the other
//! job's write.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use connectors::ghl::{GhlConfig, GhlConnector};
use connectors::your_app::{YourAppConfig, YourAppConnector};
use connectors::{
    Capabilities, ChangePage, Connector, ConnectorError, EntityKind, MatchKey, Record,
};
use engine::flow::{load_project_with, FlowBody};
use engine::store::{self, SnapshotPut, Store};
use engine::sync::{IdentityLock, RecordRef, SyncJob};
use ghl_sandbox::ghl::{GhlConfig as SandboxConfig, GhlSandbox};
use ghl_sandbox::rest::{RestConfig, RestSandbox};
use serde_json::{json, Map, Value};

const FLOW: &str = r#"
name: contacts both ways
sync:
  source: ghl
  target: crm
  direction: two_way
  kinds: [contact]
  match:
    contact: [email]
"#;

/// The GHL connector, counting its reads; on its first read it can play "another job": change
/// the record in GHL and commit that job's link and snapshot, as a twin job would between this
/// job's read and its lock.
struct Counted {
    inner: GhlConnector,
    reads: AtomicUsize,
    store: Arc<dyn Store>,
    twin_writes_city: Mutex<Option<String>>,
}

#[async_trait]
impl Connector for Counted {
    fn app(&self) -> &str {
        self.inner.app()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
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
        self.reads.fetch_add(1, Ordering::SeqCst);
        let read = self.inner.get(kind, id, parent_id).await?;
        let twin = self.twin_writes_city.lock().expect("lock").take();
        if let Some(city) = twin {
            let mut f = Map::new();
            f.insert("city".into(), json!(city));
            self.inner.update(kind, id, None, &f).await?;
            let identity = self
                .store
                .resolve_identity("contact", "ghl", id, &[])
                .await
                .expect("twin links the record")
                .identity_id;
            self.store
                .put_snapshot(SnapshotPut {
                    identity_id: identity,
                    connection_id: "ghl".into(),
                    peer: "crm".into(),
                    fields: json!({"city": city}),
                    hash: "written by the twin".into(),
                })
                .await
                .expect("twin's snapshot");
        }
        Ok(read)
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
    store: Arc<dyn Store>,
    counted: Arc<Counted>,
    connectors: BTreeMap<String, Arc<dyn Connector>>,
    flows: Vec<engine::flow::Flow>,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let ghl = GhlSandbox::start(SandboxConfig {
        contacts: 1,
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
    let db = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("engine.db").display()
    );
    let store = store::open(&db).await.expect("store opens");
    let counted = Arc::new(Counted {
        inner: GhlConnector::new(GhlConfig::private_integration(
            &ghl.base_url,
            ghl.location_id(),
            ghl.token(),
        ))
        .expect("ghl connector"),
        reads: AtomicUsize::new(0),
        store: store.clone(),
        twin_writes_city: Mutex::new(None),
    });
    let crm_conn = YourAppConnector::new(YourAppConfig::default_for(crm.api_url(), crm.api_key()))
        .expect("crm connector");
    let mut connectors: BTreeMap<String, Arc<dyn Connector>> = BTreeMap::new();
    connectors.insert("ghl".into(), counted.clone());
    connectors.insert("crm".into(), Arc::new(crm_conn));
    World {
        ghl,
        crm,
        store,
        counted,
        connectors,
        flows: project.flows,
        _dir: dir,
    }
}

impl World {
    fn contact_id(&self) -> String {
        let store = self.ghl.state.store.read();
        store.contacts.keys().next().expect("one contact").clone()
    }

    /// Runs the flow's job for the GHL contact as a worker does: with the identity lock.
    async fn run_job(&self, id: &str) {
        let flow = &self.flows[0];
        let FlowBody::Sync(spec) = &flow.body else {
            panic!("a sync flow")
        };
        let job = SyncJob {
            flow_id: &flow.name,
            spec,
            store: self.store.as_ref(),
            connectors: &self.connectors,
            job_id: None,
            lock: Some(IdentityLock {
                holder: "worker-1",
                ttl: std::time::Duration::from_secs(30),
                taken: Mutex::new(None),
            }),
        };
        let r = RecordRef {
            connection: "ghl".into(),
            kind: EntityKind::Contact,
            id: id.into(),
            parent_id: None,
            deleted: false,
        };
        // The write to the CRM happens in `run`; the commit (links, snapshots) is not needed here.
        job.run(&r).await.expect("the job runs");
    }

    async fn crm_cities(&self) -> Vec<Value> {
        let v: Value = reqwest::Client::new()
            .get(format!("{}/contacts?limit=100", self.crm.api_url()))
            .bearer_auth(self.crm.api_key())
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        v["data"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|c| c["city"].clone())
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_new_to_the_engine_is_read_once() {
    let w = world().await;
    let id = w.contact_id();
    w.run_job(&id).await;
    assert_eq!(w.counted.reads.load(Ordering::SeqCst), 1, "one GHL read");
    assert_eq!(w.crm_cities().await.len(), 1, "the contact reached the CRM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_written_by_another_job_before_the_lock_is_read_again() {
    let w = world().await;
    let id = w.contact_id();
    *w.counted.twin_writes_city.lock().expect("lock") = Some("Written By The Twin".into());
    w.run_job(&id).await;
    assert_eq!(
        w.counted.reads.load(Ordering::SeqCst),
        2,
        "read again under the lock"
    );
    assert_eq!(
        w.crm_cities().await,
        vec![json!("Written By The Twin")],
        "the CRM got the record as the other job left it, not the stale first read"
    );
}
