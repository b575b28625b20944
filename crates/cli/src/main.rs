//! The `ghl-bridge` binary.

mod audit_cmd;
mod bench_cmd;
mod catalog_cmd;
mod completions_cmd;
mod connect_cmd;
mod demo;
mod dlq_cmd;
mod export_cmd;
mod flows_cmd;
mod init_cmd;
mod project_ctx;
mod run_cmd;
mod sandbox_all;
mod sandbox_cmd;
mod secrets_cmd;
mod serve_cmd;
mod sync_backfill;
mod sync_cmd;
mod templates_cmd;
mod view_cmd;

use clap::{CommandFactory, Parser, Subcommand};

/// ghl-bridge keeps GoHighLevel and your other business apps in step.
#[derive(Parser)]
#[command(name = "ghl-bridge", version, about, propagate_version = true)]
struct Cli {
    /// Log lines on stderr: `text` for people, `json` (one object a line) for log collectors.
    /// The level filter is `RUST_LOG` (default `info`).
    #[arg(
        long,
        global = true,
        value_enum,
        env = "GHL_BRIDGE_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// GHL and five app emulators synced by the engine under realistic activity; a summary per
    /// flow and an end check (`--duration`, `--contacts`, `--once`). docs/demo.md.
    Demo(demo::DemoArgs),
    /// Run a local emulator (`ghl-bridge sandbox ghl|your-app|investnext|invoco|insightly|salesnexus`),
    /// or all six at once (`sandbox all`).
    Sandbox {
        #[command(subcommand)]
        app: sandbox_cmd::SandboxApp,
    },
    /// Run a project: sync its connections until Ctrl-C/SIGTERM (`--once`: one pass, then exit).
    Run(run_cmd::RunArgs),
    /// `run` plus an HTTP server: webhooks, /healthz, /readyz, /metrics (docs/server.md).
    Serve(serve_cmd::ServeArgs),
    /// List every trigger and action (`--json`, `--app ghl`, `--type trigger|action`).
    Catalog(catalog_cmd::CatalogArgs),
    /// List the ready projects (`--json`), or start one: `templates init <id> <folder>`.
    Templates(templates_cmd::TemplatesArgs),
    /// Show people as every app holds them (`--email`, `--contact`, `--all`; `--report`,
    /// `--timeline`; `--json`, `--csv`).
    View(view_cmd::ViewArgs),
    /// Prepare a project folder: secret key, admin token, starter ghl-bridge.yaml (`--dir`).
    Init(init_cmd::InitArgs),
    /// Seal a secret for the project file: `secrets seal --connection NAME --setting S` < value.
    Secrets(secrets_cmd::SecretsArgs),
    /// Store credentials sealed in the database: `connect ghl --connection NAME` (OAuth;
    /// `--token` < PIT), `connect <app> --connection NAME --key` < key; `connect test NAME`.
    Connect(connect_cmd::ConnectArgs),
    /// The project's flows: `list`, `validate` (file:line:col), `test NAME --sample FILE`
    /// (dry run), `enable`/`disable NAME`.
    Flows(flows_cmd::FlowsArgs),
    /// The sync by hand: `run` (one pass), `backfill --flow NAME` (progress bar), `status`.
    Sync(sync_cmd::SyncArgs),
    /// Jobs that failed for good: `list`, `replay ID|--all`, `discard ID`.
    Dlq(dlq_cmd::DlqArgs),
    /// What the engine did: `calls` (API calls) or `changes` (writes), with filters.
    Audit(audit_cmd::AuditArgs),
    /// The unified view of people as CSV (`--out FILE`, `--email`, `--report`).
    Export(export_cmd::ExportArgs),
    /// Print a shell completion script: `completions bash|zsh|fish|powershell`.
    Completions(completions_cmd::CompletionsArgs),
    /// Benchmarks against this binary's `serve` on loopback: `bench ingest|e2e|backfill|memory|
    /// cpu|scale|all` (`--json`, `--quick`). docs/BENCHMARKS.md.
    Bench(bench_cmd::BenchArgs),
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => fmt.init(),
        // `{"timestamp","level","fields":{"message",…},"target","span","spans"}` per line.
        LogFormat::Json => fmt.json().with_current_span(true).init(),
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Demo(_)) {
        demo::quiet_logs();
    }
    if matches!(cli.command, Command::Bench(_)) {
        demo::quiet_logs(); // the emulators in the bench process would log every request
    }
    init_logging(cli.log_format);
    let result = match cli.command {
        Command::Demo(args) => demo::run(args).await,
        Command::Sandbox { app } => sandbox_cmd::run(app).await,
        Command::Run(args) => run_cmd::run(args).await,
        Command::Serve(args) => serve_cmd::run(args).await,
        Command::Catalog(args) => catalog_cmd::run(args),
        Command::Templates(args) => templates_cmd::run(args),
        Command::View(args) => view_cmd::run(args).await,
        Command::Init(args) => init_cmd::run(args),
        Command::Secrets(args) => secrets_cmd::run(args),
        Command::Connect(args) => connect_cmd::run(args).await,
        Command::Flows(args) => flows_cmd::run(args).await,
        Command::Sync(args) => sync_cmd::run(args).await,
        Command::Dlq(args) => dlq_cmd::run(args).await,
        Command::Audit(args) => audit_cmd::run(args).await,
        Command::Export(args) => export_cmd::run(args).await,
        Command::Completions(args) => completions_cmd::run(args, Cli::command()),
        Command::Bench(args) => bench_cmd::run(args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
