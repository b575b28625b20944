//! `ghl-bridge sandbox <app>`: run an emulator until Ctrl-C, announcing itself with one JSON line.
//! `ghl` is the GoHighLevel emulator; `your-app`, `investnext` and `invoco` all run the generic
//! REST-contract emulator, differing only in name and seed flavour (the latter two publish no API).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use ghl_sandbox::rest::ratelimit::RateLimit;
use ghl_sandbox::rest::{Profile, RestConfig, RestSandbox};

#[path = "sandbox_insightly.rs"]
pub mod sandbox_insightly;
#[path = "sandbox_salesnexus.rs"]
pub mod sandbox_salesnexus;

/// Which emulator to run.
#[derive(Subcommand)]
pub enum SandboxApp {
    /// The GoHighLevel emulator (Contacts API, OAuth, webhooks, limits, faults).
    Ghl(GhlArgs),
    /// The generic "Your App" REST contract (contacts, notes, tasks, appointments, webhooks).
    YourApp(RestArgs),
    /// InvestNext: the same generic contract (InvestNext publishes no API), investor-flavoured data.
    #[command(name = "investnext")]
    InvestNext(RestArgs),
    /// Invoco: the same generic contract (Invoco publishes no API), customer-account data.
    Invoco(RestArgs),
    /// Insightly API v3.1 (Basic auth, Search, tags, links, daily quota, workflow webhooks).
    Insightly(sandbox_insightly::InsightlyArgs),
    /// SalesNexus Public API v1 (X-Api-Key, fuzzy search, Meeting tasks, hourly limit, queue depth).
    #[command(name = "salesnexus")]
    Salesnexus(sandbox_salesnexus::SalesNexusArgs),
    /// All six emulators at once, each on a free port; one JSON line keyed by app.
    All(crate::sandbox_all::AllArgs),
}

/// Options of the generic REST emulator; all but the port can be changed under `/_sandbox/`.
#[derive(Args, Debug, Clone)]
pub struct RestArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Seed of the generated data, ids, default key and secret, and random faults.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Contacts generated (with some notes, tasks and appointments).
    #[arg(long, default_value_t = 50)]
    pub contacts: usize,
    /// The accepted bearer key (default: derived from the app and the seed).
    #[arg(long)]
    pub api_key: Option<String>,
    /// URL that receives every webhook event.
    #[arg(long)]
    pub webhook_url: Option<String>,
    /// HMAC secret of that URL's `X-Signature` (default: derived from the seed).
    #[arg(long)]
    pub webhook_secret: Option<String>,
    /// Requests allowed per window per API key.
    #[arg(long, default_value_t = 600)]
    pub rate_limit: u32,
    /// Length of the rate-limit window in seconds.
    #[arg(long, default_value_t = 60)]
    pub rate_window_secs: u64,
}

impl RestArgs {
    /// The emulator configuration these options describe, for one profile.
    pub fn config(&self, profile: Profile) -> RestConfig {
        RestConfig {
            profile,
            seed: self.seed,
            contacts: self.contacts,
            api_key: self.api_key.clone(),
            webhook_url: self.webhook_url.clone(),
            webhook_secret: self.webhook_secret.clone(),
            limits: RateLimit {
                limit: self.rate_limit,
                window_secs: self.rate_window_secs,
            },
            ..RestConfig::default()
        }
    }

    /// Starts the emulator these options describe.
    pub async fn start(&self, profile: Profile) -> Result<RestSandbox, String> {
        if self.rate_limit == 0 || self.rate_window_secs == 0 {
            return Err("--rate-limit and --rate-window-secs must be positive".into());
        }
        if self.api_key.as_deref().is_some_and(|k| k.trim().is_empty()) {
            return Err("--api-key must not be empty".into());
        }
        if let Some(u) = &self.webhook_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(format!("--webhook-url must be an http(s) URL, not {u}"));
            }
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        RestSandbox::start_on(addr, self.config(profile))
            .await
            .map_err(|e| format!("{e} (pick another --port, or 0 for a free one)"))
    }
}

/// Options of the GHL emulator; every one can also be changed at run time under `/_sandbox/`.
#[derive(Args, Debug, Clone)]
pub struct GhlArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Seed of the generated data, ids and random faults.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Contacts generated per location.
    #[arg(long, default_value_t = 50)]
    pub contacts: usize,
    /// Number of locations (sub-accounts).
    #[arg(long, default_value_t = 1)]
    pub locations: usize,
    /// Webhook URL of the default app.
    #[arg(long)]
    pub webhook_url: Option<String>,
    /// Lifetime of OAuth access tokens in seconds.
    #[arg(long, default_value_t = 86_399)]
    pub token_ttl: i64,
    /// Requests allowed per burst window per app and location.
    #[arg(long, default_value_t = 100)]
    pub burst_max: u32,
    /// Length of the burst window in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub burst_interval_ms: u64,
    /// Requests allowed per day per app and location.
    #[arg(long, default_value_t = 200_000)]
    pub daily_max: u64,
    /// Folder to load (or create) the webhook signing keys from; fresh keys when unset.
    #[arg(long)]
    pub keys_dir: Option<PathBuf>,
}

impl GhlArgs {
    /// The sandbox configuration these options describe.
    pub fn config(&self) -> GhlConfig {
        GhlConfig {
            seed: self.seed,
            contacts: self.contacts,
            locations: self.locations,
            access_token_ttl_secs: self.token_ttl,
            limits: LimitConfig {
                burst_max: self.burst_max,
                burst_interval_ms: self.burst_interval_ms,
                daily_max: self.daily_max,
            },
            webhook_url: self.webhook_url.clone(),
            keys_dir: self.keys_dir.clone(),
            ..GhlConfig::default()
        }
    }

    /// Starts the sandbox these options describe.
    pub async fn start(&self) -> Result<GhlSandbox, String> {
        if self.locations == 0 {
            return Err("--locations must be at least 1".into());
        }
        if self.burst_max == 0 || self.burst_interval_ms == 0 || self.daily_max == 0 {
            return Err("--burst-max, --burst-interval-ms and --daily-max must be positive".into());
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        GhlSandbox::start_on(addr, self.config())
            .await
            .map_err(|e| format!("{e} (pick another --port, or 0 for a free one)"))
    }
}

/// Waits for Ctrl-C (or SIGTERM).
pub async fn until_stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Runs one REST-contract emulator until stopped, after printing its ready line.
async fn run_rest(args: RestArgs, profile: Profile) -> Result<(), String> {
    let sandbox = args.start(profile).await?;
    println!("{}", sandbox.ready_line());
    until_stopped().await;
    sandbox.shutdown().await;
    Ok(())
}

pub async fn run(app: SandboxApp) -> Result<(), String> {
    match app {
        SandboxApp::Ghl(args) => {
            let sandbox = args.start().await?;
            println!("{}", sandbox.ready_line());
            until_stopped().await;
            sandbox.shutdown().await;
            Ok(())
        }
        SandboxApp::YourApp(args) => run_rest(args, Profile::YourApp).await,
        SandboxApp::InvestNext(args) => run_rest(args, Profile::InvestNext).await,
        SandboxApp::Invoco(args) => run_rest(args, Profile::Invoco).await,
        SandboxApp::Insightly(args) => sandbox_insightly::run(args).await,
        SandboxApp::Salesnexus(args) => sandbox_salesnexus::run(args).await,
        SandboxApp::All(args) => crate::sandbox_all::run(args).await,
    }
}
