//! `ghl-bridge sandbox <app>`: run an emulator until Ctrl-C, announcing itself with one JSON line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};

/// Which emulator to run.
#[derive(Subcommand)]
pub enum SandboxApp {
    /// The GoHighLevel emulator (Contacts API, OAuth, webhooks, limits, faults).
    Ghl(GhlArgs),
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

pub async fn run(app: SandboxApp) -> Result<(), String> {
    match app {
        SandboxApp::Ghl(args) => {
            let sandbox = args.start().await?;
            println!("{}", sandbox.ready_line());
            until_stopped().await;
            sandbox.shutdown().await;
            Ok(())
        }
    }
}
