//! `ghl-bridge bench <scenario>`: each scenario starts the emulators in this process and the
//! real `ghl-bridge serve` binary as a child on loopback, runs a bounded load, stops by itself
//! and returns a [`Report`] (text table or `--json`). docs/BENCHMARKS.md records the figures.
//!
//! The system under test is a separate process so its RSS and CPU time (from /proc) are its
//! own, not the load generator's.

pub mod latency;
pub mod load;
pub mod procstat;
pub mod report;
pub mod scenarios;
pub mod stack;
pub mod stack_pg;

pub use report::{Figure, Machine, Report};

use std::path::PathBuf;

/// The benchmarks `ghl-bridge bench` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// Signed GHL webhooks at concurrency 32: durably accepted per second, p50/p99.
    Ingest,
    /// Webhook to write in the target app, end to end.
    E2e,
    /// The 100k-contact backfill: rate and peak memory.
    Backfill,
    /// RSS of `serve` idle after start and after a burst.
    Memory,
    /// CPU time of `serve` per synced event.
    Cpu,
    /// Many flows / connections at once.
    Scale,
    /// Every scenario above, one after another.
    All,
}

impl Scenario {
    /// Every runnable scenario, in the order `all` runs them.
    pub const EACH: [Scenario; 6] = [
        Scenario::Ingest,
        Scenario::Memory,
        Scenario::Cpu,
        Scenario::E2e,
        Scenario::Backfill,
        Scenario::Scale,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Ingest => "ingest",
            Scenario::E2e => "e2e",
            Scenario::Backfill => "backfill",
            Scenario::Memory => "memory",
            Scenario::Cpu => "cpu",
            Scenario::Scale => "scale",
            Scenario::All => "all",
        }
    }

    /// Parses a command-line name; the error lists the valid ones.
    pub fn parse(s: &str) -> Result<Scenario, String> {
        Self::EACH
            .iter()
            .copied()
            .chain([Scenario::All])
            .find(|sc| sc.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown scenario {s:?}: use ingest, e2e, backfill, memory, cpu, scale or all"
                )
            })
    }
}

/// Options shared by every scenario; a scenario reads the ones it needs and ignores the rest.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Small sizes, for the CI smoke test: checks correctness, not speed.
    pub quick: bool,
    /// The `ghl-bridge` binary whose `serve` is measured.
    pub serve_bin: PathBuf,
    /// Length of a timed phase in seconds (ingest: the closed-loop phase).
    pub duration_secs: Option<u64>,
    /// Number of events / contacts / records a scenario works through.
    pub count: Option<usize>,
    /// Concurrent requests (ingest: 32).
    pub concurrency: Option<usize>,
    /// Fixed arrival rate per second of an open-loop phase (ingest: 1,000).
    pub rate: Option<u64>,
    /// GHL burst limit per 10 s window the sandbox enforces (backfill: 1,000, GHL's shape
    /// scaled up ×10 so a run finishes in minutes).
    pub burst: Option<u32>,
    /// Latency in ms the emulators add to every API call during the measurement (scale: 0,
    /// loopback). Real GHL and app APIs answer in tens to hundreds of ms; with it, a job waits
    /// on I/O as it does in production instead of keeping the CPU busy.
    pub api_latency_ms: Option<u64>,
}

/// Runs one scenario (not `all`; the caller loops over [`Scenario::EACH`]).
pub async fn run(scenario: Scenario, opts: &Options) -> Result<Report, String> {
    match scenario {
        Scenario::Ingest => scenarios::ingest::run(opts).await,
        Scenario::Memory => scenarios::memory::run(opts).await,
        Scenario::Cpu => scenarios::cpu::run(opts).await,
        Scenario::E2e => scenarios::e2e::run(opts).await,
        Scenario::Backfill => scenarios::backfill::run(opts).await,
        Scenario::Scale => scenarios::scale::run(opts).await,
        Scenario::All => Err("`all` is run by looping over Scenario::EACH".into()),
    }
}
