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
    /// Admin API and OpenAPI document: only clients in these blocks (comma-separated CIDRs,
    /// IPv4 or IPv6, e.g. `127.0.0.1/32,10.0.0.0/8`); others get 403. Webhooks are not
    /// affected. Default: every address (the admin token still applies).
    #[arg(long, env = server::admin::ALLOW_ENV, value_name = "CIDR,...")]
    pub admin_allow: Option<server::admin::AllowList>,
    /// Admin API rate limit per client IP: `PER_SEC` or `PER_SEC:BURST`; over it, 429 with
    /// `Retry-After`.
    #[arg(long, env = server::admin::RATE_ENV, value_name = "RATE[:BURST]", default_value = "20:40")]
    pub admin_rate: server::admin::RateLimit,
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
    // Where the admin API reads and writes flow files, and the connections it checks them
    // against (the project was just loaded by `prepare`, so this load succeeds).
    let project = engine::flow::load_project(&args.run.project).ok();
    let admin = server::admin::AdminOptions {
        flows_dir: project.as_ref().map(|p| p.flows_dir.clone()),
        apps: project.as_ref().map(|p| p.apps()).unwrap_or_default(),
        limiter: server::admin::Limiter::new(args.admin_rate),
        allow: args.admin_allow.clone(),
        // The dashboard's Alerts page reads the rules and the notification history from here.
        alerts: alerts.as_ref().map(|a| a.board()),
        ..Default::default()
    };
    if let Some(allow) = &admin.allow {
        tracing::info!(%allow, "admin API restricted to these client addresses");
    }
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
        connect: server::connect::ConnectState::load(&args.run.project).map(Arc::new),
        admin,
    });
    // The admin API, webhooks and health from `server`, the dashboard under /ui.
    let app = server::router(state.clone()).merge(dashboard::router(state));
    let store = engine.store.clone();
    let alert_store = engine.store.clone();
    let budgets: Arc<dyn alerts::BudgetSource> = Arc::new(engine.connectors.clone());
    let switches = (engine.store.clone(), engine.options.disabled_flows.clone());
    run_until_stopped(engine, args.run.grace, move |mut stopped| {
        let mut tasks = Vec::new();
        // Flow switches made by other processes on the same database reach this one.
        tasks.push(tokio::spawn(engine::flow_state::follow(
            switches.0,
            switches.1,
            std::time::Duration::from_secs(5),
            stopped.clone(),
        )));
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
            if let Err(e) = axum::serve(
                listener,
                // The admin rate limit and allowlist key on the connecting address.
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
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
