//! A local emulator of the generic "Your App" REST contract (shared/reference/targets/README.md
//! §5): bearer-key auth, contacts with notes, tasks and appointments, `updated_since` plus cursor
//! paging ordered by `(updated_at, id)`, soft deletes with tombstones, `Idempotency-Key`,
//! `If-Match` versions, a fixed-window rate limit, HMAC-signed webhooks, fault injection, a
//! request log and an admin API under `/_sandbox/`.
//!
//! InvestNext and Invoco publish no API, so their connectors speak this same contract; the
//! [`Profile`] option only changes the app's name and the flavour of the seed data, never the
//! behaviour.
//!
//! Generic pieces come from the GHL emulator: fault rules and draws ([`crate::ghl::faults`]), the
//! request log ([`crate::ghl::requestlog`]) and the seeded id generator ([`crate::ghl::store::IdGen`]).

pub mod admin;
pub mod errors;
mod gate;
pub mod ratelimit;
mod routes;
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
use parking_lot::{Mutex, RwLock};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::ghl::faults::{FaultRule, Faults};
use crate::ghl::requestlog::RequestLog;
use crate::ghl::store::IdGen;
use errors::RestError;
use ratelimit::{Limiter, RateLimit};
use store::Store;
use webhooks::{DeliveryConfig, WebhookHub};

/// Which app the emulator presents itself as. Behaviour is identical for all three.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Profile {
    /// The generic contract.
    #[default]
    #[serde(rename = "your_app")]
    YourApp,
    /// InvestNext (no public API): investor-flavoured seed data.
    #[serde(rename = "investnext")]
    InvestNext,
    /// Invoco (no public API; the name is ambiguous): customer-account-flavoured seed data.
    #[serde(rename = "invoco")]
    Invoco,
}

impl Profile {
    /// Display name, used in the banner and the admin overview.
    pub fn app_name(self) -> &'static str {
        match self {
            Profile::YourApp => "Your App",
            Profile::InvestNext => "InvestNext",
            Profile::Invoco => "Invoco",
        }
    }

    /// Short name, used as the prefix of the default API key and webhook secret.
    pub fn slug(self) -> &'static str {
        match self {
            Profile::YourApp => "yourapp",
            Profile::InvestNext => "investnext",
            Profile::Invoco => "invoco",
        }
    }
}

/// How an emulator starts. Everything but the port can also be changed under `/_sandbox/`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RestConfig {
    pub profile: Profile,
    /// Seed of the data generator, record ids, default key and secret, fault and delivery draws.
    pub seed: u64,
    /// Contacts generated (each with 0–2 notes, 0–2 tasks and sometimes an appointment).
    pub contacts: usize,
    /// The one accepted bearer key; derived from the profile and seed when unset.
    pub api_key: Option<String>,
    pub limits: RateLimit,
    /// Receives every event, besides the subscriptions made through `/v1/webhooks`.
    pub webhook_url: Option<String>,
    /// HMAC secret of the default webhook URL; derived from the seed when unset.
    pub webhook_secret: Option<String>,
    pub delivery: DeliveryConfig,
    /// Fault rules; `route` is `*`, an operation id (`create-contact`) or `METHOD /template`.
    pub faults: Vec<FaultRule>,
}

impl Default for RestConfig {
    fn default() -> Self {
        Self {
            profile: Profile::YourApp,
            seed: 42,
            contacts: 50,
            api_key: None,
            limits: RateLimit::default(),
            webhook_url: None,
            webhook_secret: None,
            delivery: DeliveryConfig::default(),
            faults: Vec::new(),
        }
    }
}

impl RestConfig {
    /// Fills in the derived key and secret, so the running config states exactly what is used.
    fn resolved(mut self) -> Self {
        let mut ids = IdGen::new(self.seed ^ 0x6b65_7973);
        let slug = self.profile.slug();
        if self.api_key.is_none() {
            self.api_key = Some(format!("{slug}_test_{}", ids.next_id()));
        }
        if self.webhook_secret.is_none() {
            self.webhook_secret = Some(format!("whsec_{}", ids.next_id()));
        }
        self
    }
}

/// The shared state of one emulator.
pub struct RestApp {
    pub store: Mutex<Store>,
    pub limiter: Limiter,
    pub faults: Faults,
    pub log: RequestLog,
    pub webhooks: WebhookHub,
    /// The running configuration, with `api_key` and `webhook_secret` always set.
    pub config: RwLock<RestConfig>,
    base_url: OnceLock<String>,
}

impl RestApp {
    /// `http://127.0.0.1:<port>` once the listener is bound.
    pub fn base_url(&self) -> String {
        self.base_url.get().cloned().unwrap_or_default()
    }

    /// The accepted bearer key.
    pub fn api_key(&self) -> String {
        self.config.read().api_key.clone().unwrap_or_default()
    }

    /// Drops all records, idempotency keys, counts, logs and subscriptions, then generates
    /// data afresh. The API key, default webhook target, limits and faults stay.
    pub fn reseed(&self, seed: u64, contacts: usize, profile: Profile) {
        let mut store = Store::new(seed);
        seed::generate(&mut store, seed, contacts, profile);
        *self.store.lock() = store;
        self.limiter.reset();
        self.faults.reseed(seed);
        self.log.clear();
        self.webhooks.reset(seed);
        let mut cfg = self.config.write();
        cfg.seed = seed;
        cfg.contacts = contacts;
        cfg.profile = profile;
    }

    /// Points the default webhook target somewhere else (or nowhere) and/or changes its secret.
    pub fn set_webhook(&self, url: Option<String>, secret: Option<String>) {
        let mut cfg = self.config.write();
        cfg.webhook_url = url;
        if let Some(s) = secret {
            cfg.webhook_secret = Some(s);
        }
        let secret = cfg.webhook_secret.clone().unwrap_or_default();
        self.webhooks.set_default(cfg.webhook_url.clone(), secret);
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
    RestError::not_found(format!("no route {} {}", req.method(), req.uri().path())).into_response()
}

/// The whole HTTP surface: `/v1/…` behind auth, limits and faults; `/_sandbox/…` open.
pub fn router(state: Arc<RestApp>) -> Router {
    let api = routes::api().route_layer(from_fn_with_state(state.clone(), gate::api_gate));
    Router::new()
        .merge(api)
        .nest("/_sandbox", admin::routes())
        // A nested `/` matches `/_sandbox` only; the documented overview URL ends in a slash.
        .route("/_sandbox/", axum::routing::get(admin::overview))
        .fallback(not_found)
        .layer(from_fn_with_state(state.clone(), gate::log_layer))
        .with_state(state)
}

/// A running emulator; dropping it does not stop it, call [`RestSandbox::shutdown`].
pub struct RestSandbox {
    pub base_url: String,
    pub state: Arc<RestApp>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl RestSandbox {
    /// Starts on a random loopback port.
    pub async fn start(config: RestConfig) -> Result<Self, StartError> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts on the given address (port 0 picks a free one).
    pub async fn start_on(addr: SocketAddr, config: RestConfig) -> Result<Self, StartError> {
        let config = config.resolved();
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let state = Arc::new(RestApp {
            store: Mutex::new(Store::new(config.seed)),
            limiter: Limiter::new(config.limits),
            faults: Faults::new(config.seed),
            log: RequestLog::default(),
            webhooks: WebhookHub::new(config.delivery.clone(), config.seed),
            config: RwLock::new(config.clone()),
            base_url: OnceLock::new(),
        });
        let base_url = format!("http://{local}");
        let _ = state.base_url.set(base_url.clone());
        state.faults.set_rules(config.faults.clone());
        state.reseed(config.seed, config.contacts, config.profile);
        state.set_webhook(config.webhook_url.clone(), None);
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(state.clone());
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "REST sandbox server stopped");
            }
        });
        let app_name = config.profile.app_name();
        tracing::info!(%base_url, app = app_name, "{app_name} sandbox (generic REST contract) listening");
        Ok(Self {
            base_url,
            state,
            stop: Some(stop),
            task,
        })
    }

    /// The accepted bearer key.
    pub fn api_key(&self) -> String {
        self.state.api_key()
    }

    /// `<base_url>/v1`, what a connector is configured with.
    pub fn api_url(&self) -> String {
        format!("{}/v1", self.base_url)
    }

    /// The one-line JSON that `ghl-bridge sandbox your-app|investnext|invoco` prints when ready.
    pub fn ready_line(&self) -> serde_json::Value {
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
