//! `ghl-bridge connect`: puts a connection's credentials in the store, sealed with the project
//! key, so the project file needs none — and tests connections.
//!
//! - `connect ghl --connection NAME`: the OAuth flow. A local listener takes GHL's redirect
//!   (`http://<--listen>/oauth/callback`), the consent URL is printed, the code is exchanged, the
//!   locations are printed and the tokens stored. The connection says `auth: oauth`.
//! - `connect ghl --connection NAME --token`: a Private Integration Token from stdin.
//! - `connect <app> --connection NAME --key`: an API key from stdin (used when the project file
//!   has no `api_key`).
//! - `connect test NAME [--json]`: reachable, latency, credentials, and GHL's scopes and endpoints.
//!
//! Secrets are read from stdin (not echoed on a terminal) and never printed.

use std::collections::HashMap;
use std::io::{IsTerminal, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use clap::Args;
use engine::connections::oauth::{new_state, oauth_config, OAuthConfig};
use engine::flow::{load_project, AppKind, Project};
use engine::store::{self, Store};
use ghl::oauth::InstalledLocation;
use ghl::TokenSet;
use secrets::SecretKey;
use server::connect::secret::SecretKind;
use tokio::sync::oneshot;

use crate::run_cmd::{default_database, parse_duration, redact_url};

/// Options of `ghl-bridge connect`.
#[derive(Args, Debug, Clone)]
pub struct ConnectArgs {
    /// `ghl`; another app (`insightly`, `salesnexus`, `your_app`, `investnext`, `invoco`) with
    /// `--key`; or `test`.
    pub target: String,
    /// With `test`: the connection to test.
    pub name: Option<String>,
    /// The connection's name in the project file.
    #[arg(long)]
    pub connection: Option<String>,
    /// GHL: store a Private Integration Token read from stdin instead of running OAuth.
    #[arg(long)]
    pub token: bool,
    /// Other apps: store an API key read from stdin.
    #[arg(long)]
    pub key: bool,
    /// With `test`: print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The project file.
    #[arg(long, default_value = "ghl-bridge.yaml")]
    pub project: PathBuf,
    /// Database URL (default: `ghl-bridge.db` next to the project file).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database: Option<String>,
    /// OAuth: where the callback listener listens; the redirect URI is
    /// `http://<this>/oauth/callback` and must be one your GHL app allows.
    #[arg(long, default_value = "127.0.0.1:8765")]
    pub listen: SocketAddr,
    /// OAuth: how long to wait for the consent.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// Runs `ghl-bridge connect`.
pub async fn run(args: ConnectArgs) -> Result<(), String> {
    let project = load_project(&args.project).map_err(|e| {
        format!(
            "{e}\n{} does not load; fix it first",
            args.project.display()
        )
    })?;
    if args.target == "test" {
        let name = args
            .name
            .clone()
            .or(args.connection.clone())
            .ok_or("name the connection to test: `ghl-bridge connect test NAME`")?;
        let store = open_store(&args).await?;
        let result = test(&store, &project, &name, args.json).await;
        store.close().await;
        return result;
    }
    let name = args.connection.clone().ok_or_else(|| {
        format!(
            "name the connection: `ghl-bridge connect {} --connection NAME`",
            args.target
        )
    })?;
    let conn = project.connections.get(&name).ok_or_else(|| {
        format!(
            "no connection `{name}` in {}; add it under `connections:` first",
            args.project.display()
        )
    })?;
    if conn.app.as_str() != args.target.replace('-', "_") {
        return Err(format!(
            "connection `{name}` is app `{}`, not `{}`; run `ghl-bridge connect {} --connection {name}`",
            conn.app.as_str(),
            args.target,
            conn.app.as_str()
        ));
    }
    let key = server::connect::secret::project_key(&project)?;
    let app = conn.app;
    let kind = match (app, args.token, args.key) {
        (AppKind::Ghl, true, _) => SecretKind::Token,
        (AppKind::Ghl, false, true) => {
            return Err("GHL takes `--token` (a Private Integration Token) or OAuth (no flag), not `--key`".into())
        }
        (AppKind::Ghl, false, false) => {
            let store = open_store(&args).await?;
            let r = oauth(&args, &project, &name, &key, &store).await;
            store.close().await;
            return r;
        }
        (_, _, true) => SecretKind::ApiKey,
        (_, _, false) => {
            return Err(format!(
                "`{}` connections take an API key: `ghl-bridge connect {} --connection {name} --key` < key.txt",
                app.as_str(),
                app.as_str()
            ))
        }
    };
    let secret = read_secret(match kind {
        SecretKind::Token => "the Private Integration Token",
        SecretKind::ApiKey => "the API key",
    })?;
    let store = open_store(&args).await?;
    // The same function as the dashboard's token form, so both store alike.
    let saved =
        server::connect::secret::store_secret(&*store, &key, &project, &name, kind, &secret).await;
    let result = match saved {
        Err(e) => Err(e),
        Ok(stored) => {
            let setting = stored.setting;
            println!("stored the {setting} of `{name}` sealed in the database");
            if stored.shadowed {
                println!("note: the project file also sets `{setting}`, and that one is used; remove it to use the stored one");
            }
            test(&store, &project, &name, false).await
        }
    };
    store.close().await;
    result
}

async fn open_store(args: &ConnectArgs) -> Result<Arc<dyn Store>, String> {
    let url = args
        .database
        .clone()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| default_database(&args.project));
    store::open(&url)
        .await
        .map_err(|e| format!("database {}: {e}", redact_url(&url)))
}

/// One line from stdin, not echoed on a terminal.
fn read_secret(what: &str) -> Result<String, String> {
    let tty = std::io::stdin().is_terminal();
    let mut text = String::new();
    if tty {
        eprint!("Paste {what} and press Enter (it is not shown): ");
        let _ = std::io::stderr().flush();
        let _ = std::process::Command::new("stty").arg("-echo").status();
        let r = std::io::stdin().read_line(&mut text);
        let _ = std::process::Command::new("stty").arg("echo").status();
        eprintln!();
        r.map_err(|e| format!("reading {what}: {e}"))?;
    } else {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("reading {what} from stdin: {e}"))?;
    }
    let t = text.trim().to_string();
    if t.is_empty() {
        return Err(format!(
            "{what} is empty; pipe it in, e.g. `... < secret.txt`"
        ));
    }
    Ok(t)
}

/// Prints the connection test; `Err` when it failed.
async fn test(
    store: &Arc<dyn Store>,
    project: &Project,
    name: &str,
    json: bool,
) -> Result<(), String> {
    let t = server::connect::test_connection(store, project, name).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&t).unwrap_or_default());
    } else {
        print!("{}", server::connect::render_table(&t));
    }
    if t.ok() {
        Ok(())
    } else {
        Err(format!("connection `{name}` failed its test"))
    }
}

type Outcome = Result<(TokenSet, Vec<InstalledLocation>), String>;

/// The callback listener's state.
struct Flow {
    config: OAuthConfig,
    store: Arc<dyn Store>,
    key: SecretKey,
    state: String,
    redirect_uri: String,
    done: Mutex<Option<oneshot::Sender<Outcome>>>,
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head><body><h1>{t}</h1><p>{}</p></body></html>",
        esc(body),
        t = esc(title)
    );
    (status, Html(html)).into_response()
}

async fn on_callback(
    State(f): State<Arc<Flow>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if q.get("state") != Some(&f.state) {
        // Not our consent (a stale tab, or a forged request): keep waiting for the real one.
        return page(StatusCode::BAD_REQUEST, "Not connected", "unknown `state`: this is not the consent ghl-bridge is waiting for; use the URL it printed");
    }
    let code = q.get("code").filter(|c| !c.is_empty());
    let outcome = match (q.get("error"), code) {
        (Some(e), _) => Err(format!(
            "GHL did not grant access ({e}); run the command again and approve"
        )),
        (None, None) => Err("the callback has no `code`; run the command again".into()),
        (None, Some(code)) => {
            f.config
                .complete(&*f.store, &f.key, code, &f.redirect_uri)
                .await
        }
    };
    let resp = match &outcome {
        Ok((_, locations)) => {
            let ids: Vec<&str> = locations.iter().map(|l| l.id.as_str()).collect();
            page(
                StatusCode::OK,
                "Connected",
                &format!(
                    "ghl-bridge stored the tokens for location(s) {}; you can close this tab.",
                    ids.join(", ")
                ),
            )
        }
        Err(m) => page(StatusCode::BAD_GATEWAY, "Not connected", m),
    };
    let done = f.done.lock().ok().and_then(|mut d| d.take());
    if let Some(tx) = done {
        let _ = tx.send(outcome);
    }
    resp
}

async fn oauth(
    args: &ConnectArgs,
    project: &Project,
    name: &str,
    key: &SecretKey,
    store: &Arc<dyn Store>,
) -> Result<(), String> {
    let conn = &project.connections[name];
    let config = oauth_config(conn, &project.dir())
        .map_err(|e| engine::connections::ConnectionErrors(e).to_string())?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("--listen {}: {e}; pick a free address", args.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let redirect_uri = config
        .redirect_uri
        .clone()
        .unwrap_or_else(|| format!("http://{local}/oauth/callback"));
    let state = new_state();
    let url = config.consent_url(&redirect_uri, &state);
    let (tx, rx) = oneshot::channel();
    let flow = Arc::new(Flow {
        config,
        store: store.clone(),
        key: key.clone(),
        state,
        redirect_uri: redirect_uri.clone(),
        done: Mutex::new(Some(tx)),
    });
    let app = Router::new()
        .route("/oauth/callback", get(on_callback))
        .with_state(flow);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await;
    });
    println!("Waiting for GHL on {redirect_uri}");
    println!("Open this URL in a browser, choose the sub-account and approve:");
    println!("{url}");
    let _ = std::io::stdout().flush();
    let outcome = tokio::time::timeout(args.timeout, rx).await;
    let _ = stop_tx.send(());
    let _ = server.await;
    let (tokens, locations) = match outcome {
        Err(_) => {
            return Err(format!(
                "no consent within {:?}; run the command again (or pass a longer --timeout)",
                args.timeout
            ))
        }
        Ok(Err(_)) => return Err("the callback listener stopped; run the command again".into()),
        Ok(Ok(r)) => r?,
    };
    println!("Connected `{name}`. Location(s):");
    for l in &locations {
        println!("  {} {}", l.id, l.name);
    }
    println!("Scopes: {}", tokens.scope);
    println!(
        "Access token expires {}; the tokens are stored sealed in the database.",
        tokens.expires_at.to_rfc3339()
    );
    let oauth_on = conn
        .settings
        .get("auth")
        .is_some_and(|a| a.expose().trim() == "oauth");
    if !oauth_on {
        println!(
            "note: add `auth: oauth` to connection `{name}` so `run`/`serve` use these tokens"
        );
    }
    Ok(())
}
