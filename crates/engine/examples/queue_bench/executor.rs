//! The executor under test: a real sync flow over counting stub connectors.

use super::*;

/// Runs per job in this process, as seen by the source connector of the flow: the worker tasks
/// that read a job's record. One run may read it more than once (on first sight of a person the
/// job reads the record again under the identity's lock), but always from the task of the worker
/// loop that claimed it; a second run needs a second claim, by another worker loop (another task,
/// here or in another process) or, after its lease ran out, counted as an attempt.
#[derive(Default)]
pub(crate) struct Executions(pub(crate) Mutex<HashMap<i64, HashSet<tokio::task::Id>>>);

impl Executions {
    pub(crate) fn record(&self) {
        let job = engine::audit::CURRENT_JOB.try_with(|j| *j).ok().flatten();
        if let (Some(job), Some(task)) = (job, tokio::task::try_id()) {
            let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(job.0).or_default().insert(task);
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<(i64, u32)> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .map(|(job, tasks)| (*job, u32::try_from(tasks.len()).unwrap_or(u32::MAX)))
            .collect()
    }
}

/// An app whose records are all gone: `get` answers "not found" without any I/O.
pub(crate) struct Gone;

pub(crate) fn stub(what: &str) -> ConnectorError {
    ConnectorError::Unsupported(format!("{what} (queue_bench stub)"))
}

#[async_trait]
impl Connector for Gone {
    fn app(&self) -> &str {
        "your_app"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            kinds: vec![EntityKind::Contact],
            incremental: false,
            email_lookup_exact: false,
            native_tags: false,
            webhooks: false,
            deletes_visible: false,
        }
    }

    async fn list_changed(
        &self,
        _: EntityKind,
        _: Option<&str>,
    ) -> Result<ChangePage, ConnectorError> {
        Err(stub("listing"))
    }

    async fn list_all(&self, _: EntityKind, _: Option<&str>) -> Result<ChangePage, ConnectorError> {
        Err(stub("listing"))
    }

    async fn get(
        &self,
        _: EntityKind,
        _: &str,
        _: Option<&str>,
    ) -> Result<Option<Record>, ConnectorError> {
        Ok(None)
    }

    async fn find(&self, _: EntityKind, _: &MatchKey) -> Result<Option<Record>, ConnectorError> {
        Ok(None)
    }

    async fn create(
        &self,
        _: EntityKind,
        _: Option<&str>,
        _: &Map<String, Value>,
        _: &str,
    ) -> Result<Record, ConnectorError> {
        Err(stub("create"))
    }

    async fn update(
        &self,
        _: EntityKind,
        _: &str,
        _: Option<&str>,
        _: &Map<String, Value>,
    ) -> Result<Record, ConnectorError> {
        Err(stub("update"))
    }

    async fn delete(&self, _: EntityKind, _: &str, _: Option<&str>) -> Result<(), ConnectorError> {
        Ok(())
    }
}

/// A connector that records the job runs reaching `get` (every sync job starts by re-fetching
/// its record from the source).
pub(crate) struct Counted {
    pub(crate) inner: Arc<dyn Connector>,
    pub(crate) executions: Arc<Executions>,
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
        self.executions.record();
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

/// What an engine process runs; sent to child processes as one JSON line on stdin.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WorkerSpec {
    pub(crate) db_url: String,
    pub(crate) executor: ExecutorSpec,
    pub(crate) workers: usize,
    pub(crate) idle_ms: u64,
    pub(crate) claim_batch: u32,
    pub(crate) max_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum ExecutorSpec {
    /// [`NOOP_FLOW`] over [`Gone`].
    Noop,
    /// [`SYNC_FLOW`] over the GHL sandbox and the Your App emulator.
    Sync {
        ghl_url: String,
        location_id: String,
        token: String,
        crm_url: String,
        crm_key: String,
    },
}

/// The connection hints are ingested on.
pub(crate) fn source_connection(spec: &ExecutorSpec) -> &'static str {
    match spec {
        ExecutorSpec::Noop => "app",
        ExecutorSpec::Sync { .. } => "ghl",
    }
}

pub(crate) fn build_engine(
    spec: &WorkerSpec,
    store: Arc<dyn Store>,
) -> Res<(Arc<Engine>, Arc<Executions>)> {
    let executions = Arc::new(Executions::default());
    let mut conns = Connections::new();
    let mut connectors: BTreeMap<String, Arc<dyn Connector>> = BTreeMap::new();
    let text = match &spec.executor {
        ExecutorSpec::Noop => {
            conns.insert("app".into(), AppKind::YourApp);
            conns.insert("crm".into(), AppKind::YourApp);
            let app = Counted {
                inner: Arc::new(Gone),
                executions: executions.clone(),
            };
            connectors.insert("app".into(), Arc::new(app));
            connectors.insert("crm".into(), Arc::new(Gone));
            NOOP_FLOW
        }
        ExecutorSpec::Sync {
            ghl_url,
            location_id,
            token,
            crm_url,
            crm_key,
        } => {
            conns.insert("ghl".into(), AppKind::Ghl);
            conns.insert("crm".into(), AppKind::YourApp);
            let ghl = GhlConnector::new(GhlConfig::private_integration(
                ghl_url.as_str(),
                location_id.as_str(),
                token.as_str(),
            ))
            .map_err(|e| e.to_string())?;
            let crm = YourAppConnector::new(YourAppConfig::default_for(
                crm_url.as_str(),
                crm_key.as_str(),
            ))
            .map_err(|e| e.to_string())?;
            let ghl = Counted {
                inner: Arc::new(ghl),
                executions: executions.clone(),
            };
            connectors.insert("ghl".into(), Arc::new(ghl));
            connectors.insert("crm".into(), Arc::new(crm));
            SYNC_FLOW
        }
    };
    let flow = parse_flow(text, "queue_bench.yaml", &conns).map_err(|e| e.to_string())?;
    let connectors = match spec.executor {
        ExecutorSpec::Noop => connectors,
        // As the engine runs real connectors: every outbound call in the audit.
        ExecutorSpec::Sync { .. } => engine::audit::audited(connectors, &store),
    };
    let engine = Engine {
        store,
        flows: vec![flow],
        connectors,
        options: EngineOptions {
            workers: spec.workers,
            idle_wait: Duration::from_millis(spec.idle_ms),
            claim_batch: spec.claim_batch,
            ..Default::default()
        },
    };
    Ok((Arc::new(engine), executions))
}

/// The engine's worker loops in this process (the scheduler is not started: no poll or
/// reconcile may add work during a measurement).
pub(crate) struct LocalWorkers {
    pub(crate) stop: watch::Sender<bool>,
    pub(crate) tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl LocalWorkers {
    pub(crate) fn start(engine: &Arc<Engine>) -> Self {
        let (stop, rx) = watch::channel(false);
        let tasks = (0..engine.options.workers)
            .map(|i| tokio::spawn(engine.clone().run_worker(i, rx.clone())))
            .collect();
        Self { stop, tasks }
    }

    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            if tokio::time::timeout(CHILD_STOP, t).await.is_err() {
                eprintln!("queue_bench: a worker loop did not stop within {CHILD_STOP:?}");
            }
        }
    }
}
