//! A local emulator of the SalesNexus Public API v1 (spec/salesnexus/API.md; facts from the
//! official `salesnexus-cli` 0.2.6): `X-Api-Key` auth with `sn_live_` keys, `GET /api/v1/ping`,
//! contacts (`{data,totalItems,page,pageSize}` pages, fuzzy `search`, partial PUT, soft delete,
//! batch update and delete, custom fields by name that are created on first write), tasks
//! (`{data,pagination}` pages numbered by `pageNumber`, `scope`, date filters), notes (a flat
//! array), contact-field definitions, an hourly request budget with 429 + `Retry-After`, the
//! "queue depth 2" concurrency limit, fault injection, a request log and an admin API under
//! `/_sandbox/`.
//!
//! Generic pieces come from the GHL emulator: fault rules and draws ([`crate::ghl::faults`]),
//! the request log ([`crate::ghl::requestlog`]) and the seeded id generator
//! ([`crate::ghl::store::IdGen`], for the default API key).

pub mod admin;
pub mod errors;
mod gate;
pub mod model;
mod routes;
mod routes_activity;
pub mod seed;
pub mod store;

use std::net::SocketAddr;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, OnceLock};

use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::Router;
use parking_lot::{Mutex, RwLock};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::ghl::faults::{FaultRule, Faults};
use crate::ghl::requestlog::RequestLog;
use crate::ghl::store::IdGen;
use errors::SnError;
use gate::Hourly;
use model::{Kind, Rec};
use store::Store;

/// How an emulator starts. Everything but the port can also be changed under `/_sandbox/`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SnConfig {
    /// Seed of the data generator, the default key and the fault draws.
    pub seed: u64,
    /// Contacts generated (each with 0–4 tasks, some of them meetings, and 0–2 notes).
    pub contacts: usize,
    /// The one accepted key (`sn_live_<8>.<32>`); derived from the seed when unset.
    pub api_key: Option<String>,
    /// Requests allowed per window (the API's documented 10,000 per hour).
    pub hourly_limit: u32,
    /// Length of the budget window in seconds (3600; shorter only to test the reset).
    pub window_secs: u64,
    /// Requests one account may have in flight at once; one more is answered 429 (the API's
    /// "queue depth: 2"). `None` turns the limit off.
    pub queue_depth: Option<u32>,
    /// Whether tasks and notes show `updatedAt`. The API documents it for contacts only; turn
    /// this off to test a client's fallback (content hashes) for records without it.
    pub activity_updated_at: bool,
    /// Fault rules; `route` is `*`, an operation id (`create-contact`) or `METHOD /template`
    /// (`POST /api/v1/tasks`).
    pub faults: Vec<FaultRule>,
}

impl Default for SnConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            contacts: 50,
            api_key: None,
            hourly_limit: 10_000,
            window_secs: 3600,
            queue_depth: Some(2),
            activity_updated_at: true,
            faults: Vec::new(),
        }
    }
}

impl SnConfig {
    /// Fills in the derived key, so the running config states exactly what is accepted.
    fn resolved(mut self) -> Self {
        if self.api_key.is_none() {
            let mut ids = IdGen::new(self.seed ^ 0x736e_6b65);
            let prefix: String = ids.next_id().chars().take(8).collect();
            let secret: String = format!("{}{}", ids.next_id(), ids.next_id())
                .chars()
                .take(32)
                .collect();
            self.api_key = Some(format!("sn_live_{prefix}.{secret}"));
        }
        self
    }
}

/// The shared state of one emulator.
pub struct SnApp {
    pub store: Mutex<Store>,
    pub faults: Faults,
    pub log: RequestLog,
    /// The running configuration, with `api_key` always set.
    pub config: RwLock<SnConfig>,
    hourly: Mutex<Hourly>,
    in_flight: AtomicU32,
    base_url: OnceLock<String>,
}

impl SnApp {
    /// `http://127.0.0.1:<port>` once the listener is bound.
    pub fn base_url(&self) -> String {
        self.base_url.get().cloned().unwrap_or_default()
    }

    /// The accepted key.
    pub fn api_key(&self) -> String {
        self.config.read().api_key.clone().unwrap_or_default()
    }

    /// A record as the API shows it, under the running configuration.
    pub fn json(&self, r: &Rec) -> Value {
        r.to_json(self.config.read().activity_updated_at)
    }

    /// Drops all records, counts and the log, then generates data afresh. The key, budget,
    /// queue depth and faults stay.
    pub fn reseed(&self, seed: u64, contacts: usize) {
        *self.store.lock() = seed::generate(seed, contacts);
        self.hourly.lock().reset();
        self.faults.reseed(seed);
        self.log.clear();
        let mut cfg = self.config.write();
        cfg.seed = seed;
        cfg.contacts = contacts;
    }

    /// Checks a body and creates a record (the API's and the admin API's creates).
    pub fn create(
        &self,
        kind: Kind,
        body: &serde_json::Map<String, Value>,
    ) -> errors::SnResult<Rec> {
        let changes = model::validate(kind, body, true)?;
        self.store.lock().create(kind, &changes)
    }

    /// Checks a body and applies it as a partial update.
    pub fn update(
        &self,
        kind: Kind,
        id: i64,
        body: &serde_json::Map<String, Value>,
    ) -> errors::SnResult<Rec> {
        let changes = model::validate(kind, body, false)?;
        self.store.lock().update(kind, id, &changes)
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
    SnError::no_route(req.method().as_str(), req.uri().path()).into_response()
}

/// The whole HTTP surface: `/api/v1/…` behind the key, budget, queue depth and faults;
/// `/_sandbox/…` open.
pub fn router(state: Arc<SnApp>) -> Router {
    let api = routes::api()
        .merge(routes_activity::api())
        .route_layer(from_fn_with_state(state.clone(), gate::api_gate));
    Router::new()
        .merge(api)
        .nest("/_sandbox", admin::routes())
        .route("/_sandbox/", axum::routing::get(admin::overview))
        .fallback(not_found)
        .layer(from_fn_with_state(state.clone(), gate::log_layer))
        .with_state(state)
}

/// A running emulator; dropping it does not stop it, call [`SnSandbox::shutdown`].
pub struct SnSandbox {
    pub base_url: String,
    pub state: Arc<SnApp>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl SnSandbox {
    /// Starts on a random loopback port.
    pub async fn start(config: SnConfig) -> Result<Self, StartError> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts on the given address (port 0 picks a free one).
    pub async fn start_on(addr: SocketAddr, config: SnConfig) -> Result<Self, StartError> {
        let config = config.resolved();
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let state = Arc::new(SnApp {
            store: Mutex::new(Store::new()),
            faults: Faults::new(config.seed),
            log: RequestLog::default(),
            config: RwLock::new(config.clone()),
            hourly: Mutex::new(Hourly::default()),
            in_flight: AtomicU32::new(0),
            base_url: OnceLock::new(),
        });
        let base_url = format!("http://{local}");
        let _ = state.base_url.set(base_url.clone());
        state.faults.set_rules(config.faults.clone());
        state.reseed(config.seed, config.contacts);
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(state.clone());
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "SalesNexus sandbox server stopped");
            }
        });
        tracing::info!(%base_url, "SalesNexus sandbox (Public API v1) listening");
        Ok(Self {
            base_url,
            state,
            stop: Some(stop),
            task,
        })
    }

    /// The accepted key.
    pub fn api_key(&self) -> String {
        self.state.api_key()
    }

    /// `<base_url>/api/v1`, where the API's paths start.
    pub fn api_url(&self) -> String {
        format!("{}/api/v1", self.base_url)
    }

    /// The one-line JSON that `ghl-bridge sandbox salesnexus` prints when ready.
    pub fn ready_line(&self) -> Value {
        serde_json::json!({"base_url": self.base_url, "api_key": self.api_key()})
    }

    /// Stops accepting requests and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}
