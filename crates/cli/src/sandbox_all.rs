//! `ghl-bridge sandbox all`: every emulator at once — GHL, Your App, InvestNext, Invoco,
//! Insightly and SalesNexus — each on its own free port of 127.0.0.1, so a user can point a
//! whole project at them. It prints one JSON ready line keyed by app (each value is that
//! emulator's own ready line), then logs to stderr until Ctrl-C or SIGTERM.

use clap::{Args, Parser};
use ghl_sandbox::rest::Profile;
use serde_json::{json, Value};

use crate::sandbox_cmd::sandbox_insightly::InsightlyArgs;
use crate::sandbox_cmd::sandbox_salesnexus::SalesNexusArgs;
use crate::sandbox_cmd::{until_stopped, GhlArgs, RestArgs};

/// Options of `sandbox all`: what the emulators share. Each emulator's own knobs stay
/// reachable under its `/_sandbox/` admin API.
#[derive(Args, Debug, Clone)]
pub struct AllArgs {
    /// Seed of every emulator's generated data, ids and keys.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Contacts generated in each emulator.
    #[arg(long, default_value_t = 50)]
    pub contacts: usize,
}

/// Parses one emulator's options from its defaults plus the shared seed and size, so every
/// default stays the one its own subcommand documents.
fn defaults<T: Args>(seed: u64, contacts: usize) -> T {
    #[derive(Parser)]
    struct Wrap<A: Args> {
        #[command(flatten)]
        inner: A,
    }
    let (seed, contacts) = (seed.to_string(), contacts.to_string());
    Wrap::<T>::parse_from(["sandbox", "--seed", &seed, "--contacts", &contacts]).inner
}

/// Starts all six emulators, prints the ready line and serves until stopped.
pub async fn run(args: AllArgs) -> Result<(), String> {
    let (seed, n) = (args.seed, args.contacts);
    let ghl = defaults::<GhlArgs>(seed, n).start().await?;
    let rest = defaults::<RestArgs>(seed, n);
    let your_app = rest.start(Profile::YourApp).await?;
    let investnext = rest.start(Profile::InvestNext).await?;
    let invoco = rest.start(Profile::Invoco).await?;
    let insightly = defaults::<InsightlyArgs>(seed, n).start().await?;
    let salesnexus = defaults::<SalesNexusArgs>(seed, n).start().await?;
    let line: Value = json!({
        "ghl": ghl.ready_line(),
        "your_app": your_app.ready_line(),
        "investnext": investnext.ready_line(),
        "invoco": invoco.ready_line(),
        "insightly": insightly.ready_line(),
        "salesnexus": salesnexus.ready_line(),
    });
    println!("{line}");
    until_stopped().await;
    ghl.shutdown().await;
    your_app.shutdown().await;
    investnext.shutdown().await;
    invoco.shutdown().await;
    insightly.shutdown().await;
    salesnexus.shutdown().await;
    Ok(())
}
