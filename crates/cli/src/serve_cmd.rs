//! `ghl-bridge serve`: everything `ghl-bridge run` does (workers, scheduler, graceful stop),
//! plus an HTTP server for webhook ingress, health, readiness and metrics (see the `server`
//! crate and docs/server.md).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use alerts::Alerts;
use clap::Args;
use server::{AppState, Metrics};

use crate::run_cmd::{prepare, run_until_stopped, Prepared, RunArgs};

/// Options of `ghl-bridge serve`: `run`'s, plus the listen address.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address the HTTP server listens on (`0.0.0.0:8080` to accept other hosts).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Alert rules (docs/alerts.md). Default: `alerts.yaml` next to the project file, when it
    /// exists; a file named here must exist.
    #[arg(long, value_name = "FILE")]
    pub alerts: Option<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Runs `ghl-bridge serve` until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> Result<(), String> {
    if args.run.once {
        return Err("--once is for `ghl-bridge run`; `serve` runs until stopped".into());
    }
    // Checked before anything opens, so a broken file stops start-up with the field at fault.
    let alerts = load_alerts(&args)?;
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
    let alert_store = engine.store.clone();
    let budgets: Arc<dyn alerts::BudgetSource> = Arc::new(engine.connectors.clone());
    run_until_stopped(engine, args.run.grace, move |mut stopped| {
        let mut tasks = Vec::new();
        if let Some(alerts) = alerts {
            tasks.push(tokio::spawn(alerts.run(
                alert_store,
                budgets,
                stopped.clone(),
            )));
        }
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
        tasks.push(http);
        tasks
    })
    .await;
    store.close().await;
    Ok(())
}

/// The alert rules `serve` runs: `--alerts FILE` (which must exist), else `alerts.yaml` beside
/// the project file when there is one. `None` when there are none to run.
fn load_alerts(args: &ServeArgs) -> Result<Option<Alerts>, String> {
    let (path, explicit) = match &args.alerts {
        Some(p) => (p.clone(), true),
        None => (
            args.run
                .project
                .parent()
                .unwrap_or(Path::new("."))
                .join("alerts.yaml"),
            false,
        ),
    };
    if !explicit && !path.exists() {
        tracing::info!(path = %path.display(), "no alerts file; alerts are off");
        return Ok(None);
    }
    let alerts = Alerts::load(&path).map_err(|e| format!("alerts file {}: {e}", path.display()))?;
    tracing::info!(
        path = %path.display(),
        rules = alerts.config().rules.len(),
        interval = ?alerts.config().interval,
        "alerts loaded"
    );
    Ok(Some(alerts))
}
