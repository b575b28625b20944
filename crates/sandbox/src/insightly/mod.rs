//! A local emulator of the Insightly REST API v3.1 (`spec/insightly/v3-1.json`, facts in
//! shared/reference/targets/README.md §1): HTTP Basic auth with the API key (every variant
//! Insightly accepts), contacts, organisations, tasks, notes and events with `TAGS`,
//! `CUSTOMFIELDS` (`__c` names) and `LINKS`, `Search` with `field_name`/`field_value` and a
//! strict `updated_after_utc`, bare-array lists paged by `skip`/`top` (at most 500),
//! `X-Total-Count`, `brief`, `YYYY-MM-DD HH:MM:SS` datetimes, plain-text errors naming the
//! field, a daily request budget announced in `X-RateLimit-*` headers (429 + `Retry-After`
//! when spent), optional workflow webhooks, fault injection, a request log, a virtual clock and
//! an admin API under `/_sandbox/`.
//!
//! Generic pieces come from the GHL emulator: fault rules and draws ([`crate::ghl::faults`]), the
//! request log ([`crate::ghl::requestlog`]) and the seeded id generator ([`crate::ghl::store::IdGen`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ghl_sandbox::insightly::{InsightlyConfig, InsightlySandbox};
//! let sb = InsightlySandbox::start(InsightlyConfig::default()).await?;
//! // sb.base_url is `http://127.0.0.1:<port>/v3.1`; authenticate with Basic base64("<key>:").
//! println!("{} {}", sb.base_url, sb.api_key());
//! # Ok(()) }
//! ```

pub mod admin;
pub mod errors;
pub mod gate;
pub mod quota;
mod routes;
mod routes_sub;
pub mod schema;
pub mod seed;
pub mod service;
pub mod store;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::Router;
use chrono::{DateTime, Duration, Utc};
use parking_lot::{Mutex, RwLock};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::ghl::faults::{FaultRule, Faults};
use crate::ghl::requestlog::RequestLog;
use crate::ghl::store::IdGen;
use errors::InsightlyError;
use quota::{Quota, QuotaConfig};
use store::Store;
use webhooks::{WorkflowHooks, WorkflowTarget};

pub use routes::MAX_TOP;

/// How an emulator starts. Everything but the port can also be changed under `/_sandbox/`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InsightlyConfig {
    /// Seed of the data generator, record ids, the default key and fault draws.
    pub seed: u64,
    /// Contacts generated (with organisations, tasks, notes and events).
    pub contacts: usize,
    /// The accepted API key; derived from the seed when unset.
    pub api_key: Option<String>,
    /// The daily request budget (and an optional per-second cap).
    pub quota: QuotaConfig,
    /// Fault rules; `route` is `*`, an operation id (`post-contacts`) or `METHOD /v3.1/…`.
    pub faults: Vec<FaultRule>,
    /// Where a workflow posts added and updated records (none by default).
    pub webhook: WorkflowTarget,
}

impl Default for InsightlyConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            contacts: 50,
            api_key: None,
            quota: QuotaConfig::default(),
            faults: Vec::new(),
            webhook: WorkflowTarget::default(),
        }
    }
}

impl InsightlyConfig {
    /// Fills in the derived key, so the running config states exactly what is used. Insightly
    /// keys look like GUIDs.
    fn resolved(mut self) -> Self {
        if self.api_key.is_none() {
            let mut ids = IdGen::new(self.seed ^ 0x1a51_6e7c);
            let hex: String = ids
                .next_id()
                .bytes()
                .chain(ids.next_id().bytes())
                .map(|b| format!("{:x}", b % 16))
                .collect();
            self.api_key = Some(format!(
                "{}-{}-{}-{}-{}",
                &hex[0..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..32]
            ));
        }
        self
    }
}

/// The shared state of one emulator.
pub struct InsightlyApp {
    pub store: Mutex<Store>,
    pub quota: Quota,
    pub faults: Faults,
    pub log: RequestLog,
    pub hooks: WorkflowHooks,
    /// The running configuration, with `api_key` always set.
    pub config: RwLock<InsightlyConfig>,
    clock_offset: Mutex<i64>,
    started: DateTime<Utc>,
    root_url: OnceLock<String>,
}

impl InsightlyApp {
    /// `http://127.0.0.1:<port>` once the listener is bound.
    pub fn root_url(&self) -> String {
        self.root_url.get().cloned().unwrap_or_default()
    }

    /// `http://127.0.0.1:<port>/v3.1`, what a connector is configured with.
    pub fn api_url(&self) -> String {
        format!("{}/v3.1", self.root_url())
    }

    /// The accepted API key.
    pub fn api_key(&self) -> String {
        self.config.read().api_key.clone().unwrap_or_default()
    }

    /// The emulator's time: the wall clock plus the admin offset, to the second (Insightly's
    /// resolution).
    pub fn now(&self) -> DateTime<Utc> {
        let t = Utc::now() + Duration::seconds(*self.clock_offset.lock());
        DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
    }

    /// When the emulator started (the API user's creation date).
    pub fn started(&self) -> DateTime<Utc> {
        self.started
    }

    /// Seconds the clock runs ahead of the wall clock.
    pub fn clock_offset(&self) -> i64 {
        *self.clock_offset.lock()
    }

    /// Moves the clock forward.
    pub fn advance_clock(&self, secs: u64) {
        let mut o = self.clock_offset.lock();
        *o = o.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX / 2));
    }

    /// Drops all records, counts and logs, then generates data afresh. The key, budget
    /// limits, faults, clock and webhook target stay.
    pub fn reseed(&self, seed: u64, contacts: usize) {
        let mut store = Store::new();
        seed::generate(&mut store, seed, contacts);
        *self.store.lock() = store;
        self.quota.reset();
        self.faults.reseed(seed);
        self.log.clear();
        self.hooks.clear();
        let mut cfg = self.config.write();
        cfg.seed = seed;
        cfg.contacts = contacts;
    }
}

/// Errors starting an emulator.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

async fn not_found(req: axum::extract::Request) -> axum::response::Response {
    InsightlyError::no_route(req.method().as_str(), req.uri().path()).into_response()
}

/// The whole HTTP surface: `/v3.1/…` behind auth, budget and faults; `/_sandbox/…` open.
pub fn router(state: Arc<InsightlyApp>) -> Router {
    let api = routes::api().route_layer(from_fn_with_state(state.clone(), gate::api_gate));
    Router::new()
        .merge(api)
        .nest("/_sandbox", admin::routes())
        .route("/_sandbox/", axum::routing::get(admin::overview))
        .fallback(not_found)
        .layer(from_fn_with_state(state.clone(), gate::log_layer))
        .with_state(state)
}

/// A running emulator; dropping it does not stop it, call [`InsightlySandbox::shutdown`].
pub struct InsightlySandbox {
    /// `http://127.0.0.1:<port>/v3.1`: the API's base URL, as a connector takes it.
    pub base_url: String,
    /// `http://127.0.0.1:<port>`: where `/_sandbox/` lives.
    pub root_url: String,
    pub state: Arc<InsightlyApp>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl InsightlySandbox {
    /// Starts on a random loopback port.
    pub async fn start(config: InsightlyConfig) -> Result<Self, StartError> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts on the given address (port 0 picks a free one).
    pub async fn start_on(addr: SocketAddr, config: InsightlyConfig) -> Result<Self, StartError> {
        let config = config.resolved();
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let state = Arc::new(InsightlyApp {
            store: Mutex::new(Store::new()),
            quota: Quota::new(config.quota),
            faults: Faults::new(config.seed),
            log: RequestLog::default(),
            hooks: WorkflowHooks::new(config.webhook.clone()),
            config: RwLock::new(config.clone()),
            clock_offset: Mutex::new(0),
            started: Utc::now(),
            root_url: OnceLock::new(),
        });
        let root_url = format!("http://{local}");
        let _ = state.root_url.set(root_url.clone());
        state.faults.set_rules(config.faults.clone());
        state.reseed(config.seed, config.contacts);
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(state.clone());
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "Insightly sandbox server stopped");
            }
        });
        let base_url = state.api_url();
        tracing::info!(%base_url, "Insightly sandbox (API v3.1) listening");
        Ok(Self {
            base_url,
            root_url,
            state,
            stop: Some(stop),
            task,
        })
    }

    /// The accepted API key.
    pub fn api_key(&self) -> String {
        self.state.api_key()
    }

    /// The one-line JSON that `ghl-bridge sandbox insightly` prints when ready.
    pub fn ready_line(&self) -> serde_json::Value {
        serde_json::json!({
            "base_url": self.base_url,
            "api_key": self.api_key(),
            "admin_url": format!("{}/_sandbox/", self.root_url),
        })
    }

    /// Stops accepting requests and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}
