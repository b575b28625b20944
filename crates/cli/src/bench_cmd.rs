//! `ghl-bridge bench <scenario>`: runs a benchmark of the `bench` crate against this very
//! binary's `serve` (started as a child process on loopback) and prints its figures as a text
//! table or `--json`. docs/BENCHMARKS.md lists the scenarios and the latest figures.

use clap::Args;

/// Options of `ghl-bridge bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// ingest, e2e, backfill, memory, cpu, scale, or all.
    pub scenario: String,
    /// One JSON object per scenario (a JSON array for `all`) instead of the text table.
    #[arg(long)]
    pub json: bool,
    /// Small sizes (the CI smoke test): checks correctness, the figures mean little.
    #[arg(long)]
    pub quick: bool,
    /// Length of a timed phase in seconds (ingest: the concurrency-32 phase; default 10).
    #[arg(long)]
    pub duration: Option<u64>,
    /// Events / contacts a scenario works through (cpu: synced events, default 2000).
    #[arg(long)]
    pub count: Option<usize>,
    /// Concurrent requests (ingest: default 32).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Fixed arrival rate per second of the open-loop phase (ingest: default 1000).
    #[arg(long)]
    pub rate: Option<u64>,
    /// GHL burst limit per 10 s window the sandbox enforces (backfill: default 1000).
    #[arg(long)]
    pub burst: Option<u32>,
    /// Latency in ms the emulators add to every API call during the measurement (scale;
    /// default 0: loopback speed), to compare processes when jobs wait on I/O as in production.
    #[arg(long, value_name = "MS")]
    pub api_latency: Option<u64>,
}

/// Runs the scenario(s); fails when a scenario fails or a correctness check does.
pub async fn run(args: BenchArgs) -> Result<(), String> {
    let scenario = bench::Scenario::parse(&args.scenario)?;
    let serve_bin = std::env::current_exe()
        .map_err(|e| format!("cannot find the ghl-bridge binary to benchmark: {e}"))?;
    let opts = bench::Options {
        quick: args.quick,
        serve_bin,
        duration_secs: args.duration,
        count: args.count,
        concurrency: args.concurrency,
        rate: args.rate,
        burst: args.burst,
        api_latency_ms: args.api_latency,
    };
    let list: Vec<bench::Scenario> = if scenario == bench::Scenario::All {
        bench::Scenario::EACH.to_vec()
    } else {
        vec![scenario]
    };
    let mut reports = Vec::new();
    let mut failed = Vec::new();
    for sc in list {
        match bench::run(sc, &opts).await {
            Ok(r) => {
                if !r.ok {
                    failed.push(format!(
                        "{}: a correctness check failed (see notes)",
                        sc.name()
                    ));
                }
                if !args.json {
                    println!("{}", r.to_text());
                }
                reports.push(r.to_json());
            }
            Err(e) => failed.push(format!("{}: {e}", sc.name())),
        }
    }
    if args.json {
        let out = if scenario == bench::Scenario::All {
            serde_json::Value::Array(reports)
        } else {
            reports.pop().unwrap_or(serde_json::Value::Null)
        };
        println!("{out}");
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("\n"))
    }
}
