//! `ghl-bridge sandbox salesnexus`: the SalesNexus Public API v1 emulator. It prints one JSON
//! ready line, `{"base_url": "http://127.0.0.1:<port>", "api_key": "sn_live_…"}`, then logs to
//! stderr until Ctrl-C or SIGTERM. The API is at `<base_url>/api/v1`; the admin API (budget,
//! queue depth, faults, request log, changes "as a person in the app") at `<base_url>/_sandbox/`.

use std::net::SocketAddr;

use clap::Args;
use ghl_sandbox::salesnexus::{SnConfig, SnSandbox};

/// Options of the SalesNexus emulator; all but the port can be changed under `/_sandbox/`.
#[derive(Args, Debug, Clone)]
pub struct SalesNexusArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Seed of the generated data, the default key and random faults.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Contacts generated (with tasks, Meeting-type tasks, notes and custom fields).
    #[arg(long, default_value_t = 50)]
    pub contacts: usize,
    /// The accepted `X-Api-Key` (must start `sn_live_`; default: derived from the seed).
    #[arg(long)]
    pub api_key: Option<String>,
    /// Requests allowed per hour (the API's documented 10,000).
    #[arg(long, default_value_t = 10_000)]
    pub hourly_limit: u32,
}

impl SalesNexusArgs {
    /// The emulator configuration these options describe.
    pub fn config(&self) -> SnConfig {
        SnConfig {
            seed: self.seed,
            contacts: self.contacts,
            api_key: self.api_key.clone(),
            hourly_limit: self.hourly_limit,
            ..SnConfig::default()
        }
    }

    /// Starts the emulator these options describe.
    pub async fn start(&self) -> Result<SnSandbox, String> {
        if self.hourly_limit == 0 {
            return Err("--hourly-limit must be positive".into());
        }
        if let Some(k) = &self.api_key {
            if !k.trim().starts_with("sn_live_") || k.trim() != k {
                return Err(
                    "--api-key must start with sn_live_ (and have no spaces), as SalesNexus keys do"
                        .into(),
                );
            }
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        SnSandbox::start_on(addr, self.config())
            .await
            .map_err(|e| format!("{e} (pick another --port, or 0 for a free one)"))
    }
}

/// Runs the emulator until stopped, after printing its ready line.
pub async fn run(args: SalesNexusArgs) -> Result<(), String> {
    let sandbox = args.start().await?;
    println!("{}", sandbox.ready_line());
    super::until_stopped().await;
    sandbox.shutdown().await;
    Ok(())
}
