//! `ghl-bridge serve`: everything `ghl-bridge run` does (workers, scheduler, graceful stop),
//! plus an HTTP server for webhook ingress, health, readiness and metrics (see the `server`
//! crate and docs/server.md).

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Args;
use server::{AppState, Metrics};

use crate::run_cmd::{prepare, run_until_stopped, Prepared, RunArgs};

/// Options of `ghl-bridge serve`: `run`'s, plus the listen address.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address the HTTP server listens on (`0.0.0.0:8080` to accept other hosts).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Runs `ghl-bridge serve` until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> Result<(), String> {
    if args.run.once {
        return Err("--once is for `ghl-bridge run`; `serve` runs until stopped".into());
    }
    let Prepared {
        engine,
        project_connections,
    } = prepare(&args.run, "serve").await?;
    // Bound before anything runs, so a busy port is reported and nothing starts.
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            engine.store.close().await;
            return Err(format!("--listen {}: {e}", args.listen));
        }
    };
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    // Tests and scripts read this line to learn the port when `--listen` ends in `:0`.
    tracing::info!(listen = %local, "serving HTTP on http://{local}");
    let state = Arc::new(AppState {
        engine: engine.clone(),
        project_connections: project_connections.into_iter().collect(),
        metrics: Metrics::default(),
        admin_token: server::admin::AdminToken::load(
            args.run
                .project
                .parent()
                .unwrap_or(std::path::Path::new(".")),
        ),
    });
    let app = server::router(state);
    let store = engine.store.clone();
    run_until_stopped(engine, args.run.grace, move |mut stopped| {
        let http = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(error = %e, "HTTP server failed");
            }
        });
        vec![http]
    })
    .await;
    store.close().await;
    Ok(())
}
