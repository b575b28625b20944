//! The `ghl-bridge` binary.

mod demo;
mod run_cmd;
mod sandbox_cmd;

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
    /// Run a local emulator (`ghl-bridge sandbox ghl|your-app|investnext|invoco`).
    Sandbox {
        #[command(subcommand)]
        app: sandbox_cmd::SandboxApp,
    },
    /// Run a project: sync its connections until Ctrl-C/SIGTERM (`--once`: one pass, then exit).
    Run(run_cmd::RunArgs),
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
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
