//! A faithful local GoHighLevel: the 32 Contacts-API operations, OAuth 2.0 with rotating refresh
//! tokens, scopes, per-location isolation, rate limits with GHL's headers, signed webhooks with
//! realistic delivery, fault injection, deterministic seed data and an admin API under `/_sandbox/`.
//!
//! Everything in ghl-bridge is tested against this, over real HTTP, because the real GHL cannot
//! be reached from a test machine; users run it too, to try flows before going live.

pub mod admin;
pub mod auth;
pub mod consent;
pub mod errors;
pub mod faults;
pub mod gate;
pub mod model;
pub mod oauth;
pub mod ratelimit;
pub mod requestlog;
pub mod routes;
pub mod seed;
pub mod service;
mod service_related;
pub mod spec;
pub mod store;
pub mod validate;
pub mod webhooks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use axum::middleware::{from_fn_with_state, Next};
use axum::response::IntoResponse;
use axum::Router;
use parking_lot::{Mutex, RwLock};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use auth::AuthRegistry;
use errors::ApiError;
use faults::{FaultRule, Faults};
use ratelimit::{LimitConfig, RateLimiter};
use requestlog::RequestLog;
use store::Store;
use webhooks::{DeliveryConfig, WebhookDispatcher, WebhookKeys};

/// Every scope of a full-access Private Integration Token for the Contacts API (plus reading the
/// location's custom-field definitions, which a sync needs to map custom fields by name).
pub const CONTACT_SCOPES: &[&str] = &[
    "contacts.readonly",
    "contacts.write",
    "locations/customFields.readonly",
];

/// How a sandbox starts. Every knob is also changeable at run time through `/_sandbox/`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GhlConfig {
    /// Seed of the data generator, object ids, secrets and every random fault or delivery draw.
    /// Webhook ids stay fresh on every run, so a receiver never takes a new event for a replay.
    pub seed: u64,
    /// Number of locations (sub-accounts).
    pub locations: usize,
    /// Contacts generated per location.
    pub contacts: usize,
    /// Lifetime of OAuth access tokens (GHL: about a day).
    pub access_token_ttl_secs: i64,
    pub limits: LimitConfig,
    /// Webhook URL of the default app (installed on every location).
    pub webhook_url: Option<String>,
    pub delivery: DeliveryConfig,
    pub faults: Vec<FaultRule>,
    /// Where to load (or create) the webhook signing keys; fresh keys each start when unset.
    pub keys_dir: Option<PathBuf>,
}

impl Default for GhlConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            locations: 1,
            contacts: 50,
            access_token_ttl_secs: 86_399,
            limits: LimitConfig::default(),
            webhook_url: None,
            delivery: DeliveryConfig::default(),
            faults: Vec::new(),
            keys_dir: None,
        }
    }
}

/// Ready-made credentials of one location.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationCredentials {
    pub location_id: String,
    pub name: String,
    /// A Private Integration Token with every contacts scope.
    pub token: String,
}

/// What a user or test needs to talk to a fresh sandbox.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    pub company_id: String,
    pub locations: Vec<LocationCredentials>,
    /// The default OAuth app, installed on every location.
    pub client_id: String,
    pub client_secret: String,
}

/// The shared state of one sandbox.
pub struct Ghl {
    pub store: RwLock<Store>,
    pub auth: Mutex<AuthRegistry>,
    pub limiter: RateLimiter,
    pub faults: Faults,
    pub log: RequestLog,
    pub webhooks: WebhookDispatcher,
    pub keys: Arc<WebhookKeys>,
    pub config: RwLock<GhlConfig>,
    pub credentials: RwLock<Credentials>,
    base_url: OnceLock<String>,
}

impl Ghl {
    /// `http://127.0.0.1:<port>` once the listener is bound.
    pub fn base_url(&self) -> String {
        self.base_url.get().cloned().unwrap_or_default()
    }

    /// Drops all data, tokens, counts and logs, then generates data and credentials afresh.
    pub fn reseed(&self, seed: u64, locations: usize, contacts: usize) {
        let webhook_url = self.config.read().webhook_url.clone();
        let mut store = Store::new(seed);
        seed::generate(&mut store, seed, locations.max(1), contacts);
        let mut auth = self.auth.lock();
        // A fresh registry from the seed: a reset sandbox hands out the same secrets as a new one.
        let ttl = self.config.read().access_token_ttl_secs;
        *auth = AuthRegistry::new(seed, ttl);
        let mut creds = Credentials {
            company_id: store.company_id.clone(),
            ..Default::default()
        };
        let scopes: Vec<String> = CONTACT_SCOPES.iter().map(|s| s.to_string()).collect();
        for l in &store.locations {
            let token = auth.mint_pit(&store.company_id, &l.id, &scopes);
            creds.locations.push(LocationCredentials {
                location_id: l.id.clone(),
                name: l.name.clone(),
                token,
            });
        }
        let mut app = auth.register_app("ghl-bridge", webhook_url);
        app.installed_locations = store.locations.iter().map(|l| l.id.clone()).collect();
        auth.apps.insert(app.client_id.clone(), app.clone());
        creds.client_id = app.client_id;
        creds.client_secret = app.client_secret;
        *self.store.write() = store;
        *self.credentials.write() = creds;
        drop(auth);
        self.limiter.reset();
        self.faults.reseed(seed);
        self.log.clear();
        self.webhooks.clear_log();
        let mut cfg = self.config.write();
        cfg.seed = seed;
        cfg.locations = locations.max(1);
        cfg.contacts = contacts;
    }

    /// Sets the default app's webhook URL.
    pub fn set_webhook_url(&self, url: Option<String>) {
        self.config.write().webhook_url = url.clone();
        let client_id = self.credentials.read().client_id.clone();
        if let Some(app) = self.auth.lock().apps.get_mut(&client_id) {
            app.webhook_url = url;
        }
    }
}

/// Errors starting a sandbox.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("webhook signing keys: {0}")]
    Keys(#[from] webhooks::WebhookKeysError),
}

/// A running sandbox; dropping it does not stop it, call [`GhlSandbox::shutdown`].
pub struct GhlSandbox {
    pub base_url: String,
    pub state: Arc<Ghl>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

async fn not_found(req: axum::extract::Request) -> axum::response::Response {
    ApiError::not_found(format!("Cannot {} {}", req.method(), req.uri().path())).into_response()
}

async fn skip_sandbox_log(
    state: axum::extract::State<Arc<Ghl>>,
    req: axum::extract::Request,
    next: Next,
) -> axum::response::Response {
    if req.uri().path().starts_with("/_sandbox") {
        next.run(req).await
    } else {
        gate::log_layer(state, req, next).await
    }
}

/// The whole HTTP surface of the sandbox.
pub fn router(state: Arc<Ghl>) -> Router {
    let api = routes::contacts_api()
        .merge(oauth::agency_routes())
        .route_layer(from_fn_with_state(state.clone(), gate::api_gate));
    Router::new()
        .merge(api)
        .merge(
            oauth::open_routes().route_layer(from_fn_with_state(state.clone(), gate::fault_gate)),
        )
        .nest("/_sandbox", admin::routes())
        // axum serves a nested "/" only at "/_sandbox"; the documented "/_sandbox/" too.
        .route("/_sandbox/", axum::routing::get(admin::overview))
        .fallback(not_found)
        .layer(from_fn_with_state(state.clone(), skip_sandbox_log))
        .with_state(state)
}

impl GhlSandbox {
    /// Starts on a random loopback port.
    pub async fn start(config: GhlConfig) -> Result<Self, StartError> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts on the given address (port 0 picks a free one).
    pub async fn start_on(addr: SocketAddr, config: GhlConfig) -> Result<Self, StartError> {
        let keys = Arc::new(match &config.keys_dir {
            Some(dir) => WebhookKeys::load_or_create(dir)?,
            None => WebhookKeys::generate()?,
        });
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let state = Arc::new(Ghl {
            store: RwLock::new(Store::new(config.seed)),
            auth: Mutex::new(AuthRegistry::new(config.seed, config.access_token_ttl_secs)),
            limiter: RateLimiter::new(config.limits),
            faults: Faults::new(config.seed),
            log: RequestLog::default(),
            webhooks: WebhookDispatcher::new(keys.clone(), config.delivery.clone(), config.seed),
            keys,
            config: RwLock::new(config.clone()),
            credentials: RwLock::new(Credentials::default()),
            base_url: OnceLock::new(),
        });
        let base_url = format!("http://{local}");
        let _ = state.base_url.set(base_url.clone());
        state.faults.set_rules(config.faults.clone());
        state.reseed(config.seed, config.locations, config.contacts);
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(state.clone());
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "GHL sandbox server stopped");
            }
        });
        tracing::info!(%base_url, "GHL sandbox listening");
        Ok(Self {
            base_url,
            state,
            stop: Some(stop),
            task,
        })
    }

    /// Credentials of the first location and the default app.
    pub fn credentials(&self) -> Credentials {
        self.state.credentials.read().clone()
    }

    /// The first location's id.
    pub fn location_id(&self) -> String {
        self.credentials()
            .locations
            .first()
            .map(|l| l.location_id.clone())
            .unwrap_or_default()
    }

    /// A full-access Private Integration Token of the first location.
    pub fn token(&self) -> String {
        self.credentials()
            .locations
            .first()
            .map(|l| l.token.clone())
            .unwrap_or_default()
    }

    /// The one-line JSON that `ghl-bridge sandbox ghl` prints when ready.
    pub fn ready_line(&self) -> serde_json::Value {
        serde_json::json!({"base_url": self.base_url, "location_id": self.location_id(), "token": self.token()})
    }

    /// Stops accepting requests and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}
