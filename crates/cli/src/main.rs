//! The `ghl-bridge` binary.

mod catalog_cmd;
mod demo;
mod init_cmd;
mod run_cmd;
mod sandbox_cmd;
mod secrets_cmd;
mod serve_cmd;
mod templates_cmd;
mod view_cmd;

use clap::{Parser, Subcommand};

/// ghl-bridge keeps GoHighLevel and your other business apps in step.
#[derive(Parser)]
#[command(name = "ghl-bridge", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the GHL sandbox with seed data and print how to use it (runs until Ctrl-C).
    Demo(demo::DemoArgs),
    /// Run a local emulator (`ghl-bridge sandbox ghl|your-app|investnext|invoco|insightly|salesnexus`).
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
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    init_logging();
    let cli = Cli::parse();
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
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
