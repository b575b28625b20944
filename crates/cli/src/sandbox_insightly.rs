//! `ghl-bridge sandbox insightly`: the Insightly API v3.1 emulator, announced with one JSON line
//! (`{"base_url": "http://127.0.0.1:<port>/v3.1", "api_key": …, "admin_url": …}`) on stdout,
//! then logging to stderr until Ctrl-C.

use std::net::SocketAddr;

use clap::Args;
use ghl_sandbox::insightly::quota::QuotaConfig;
use ghl_sandbox::insightly::webhooks::WorkflowTarget;
use ghl_sandbox::insightly::{InsightlyConfig, InsightlySandbox};

/// Options of the Insightly emulator; all but the port can be changed under `/_sandbox/`.
#[derive(Args, Debug, Clone)]
pub struct InsightlyArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Seed of the generated data, ids, default key and random faults.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Contacts generated (with organisations, tasks, notes and events).
    #[arg(long, default_value_t = 50)]
    pub contacts: usize,
    /// The accepted API key, sent as Basic auth user name (default: derived from the seed).
    #[arg(long)]
    pub api_key: Option<String>,
    /// Requests allowed per UTC day (Insightly's plans: 1,000 to 100,000).
    #[arg(long, default_value_t = 40_000)]
    pub daily_quota: u64,
    /// Requests allowed per second (off by default: Insightly documents no such cap).
    #[arg(long)]
    pub per_second: Option<u32>,
    /// URL a workflow posts every added or updated record to (`{"entity": {…}}`).
    #[arg(long)]
    pub webhook_url: Option<String>,
}

impl InsightlyArgs {
    /// The emulator configuration these options describe.
    pub fn config(&self) -> InsightlyConfig {
        InsightlyConfig {
            seed: self.seed,
            contacts: self.contacts,
            api_key: self.api_key.clone(),
            quota: QuotaConfig {
                daily_quota: self.daily_quota,
                per_second: self.per_second,
            },
            webhook: WorkflowTarget {
                url: self.webhook_url.clone(),
                secret: None,
            },
            ..InsightlyConfig::default()
        }
    }

    /// Starts the emulator these options describe.
    pub async fn start(&self) -> Result<InsightlySandbox, String> {
        if self.daily_quota == 0 || self.per_second == Some(0) {
            return Err("--daily-quota and --per-second must be positive".into());
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
        InsightlySandbox::start_on(addr, self.config())
            .await
            .map_err(|e| format!("{e} (pick another --port, or 0 for a free one)"))
    }
}

/// Runs the emulator until stopped, after printing its ready line.
pub async fn run(args: InsightlyArgs) -> Result<(), String> {
    let sandbox = args.start().await?;
    println!("{}", sandbox.ready_line());
    super::until_stopped().await;
    sandbox.shutdown().await;
    Ok(())
}
