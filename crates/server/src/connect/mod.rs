//! Connecting GHL by OAuth from a running server, and the connection test.
//!
//! - `GET /connect/ghl/{connection}` (admin token, allowlist and rate limit, as the admin API):
//!   redirects to GHL's consent page with a one-time CSRF `state`.
//! - `GET /oauth/callback?code&state` (public: GHL's redirect lands here): checks the `state`,
//!   exchanges the code, lists the locations the tokens reach and stores the tokens sealed with
//!   the project key under the connection's name; answers a small page (JSON when asked). A
//!   consent started by the dashboard ([`start_consent`] with `return_to`) is sent back to its
//!   page instead, which reads the outcome with [`ConnectState::outcome`].
//! - `GET /api/v1/connections/{name}/test` (admin API): see [`check`].
//! - Tokens and API keys typed in rather than consented: see [`secret`].

pub mod check;
pub mod secret;

use std::collections::HashMap;
use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use engine::connections::oauth::{new_state, oauth_config};
use engine::flow::{load_project, Project};
use ghl::oauth::InstalledLocation;
use ghl::TokenSet;
use parking_lot::Mutex;
use secrets::SecretKey;
use serde::Deserialize;
use serde_json::json;

use crate::admin::{ApiError, ErrorBody};
use crate::AppState;
pub use check::{render_table, test_connection, ConnectionTest, EndpointOut, EndpointsOut};

/// How long a consent may take before its `state` is forgotten.
const STATE_TTL: Duration = Duration::from_secs(600);

/// A consent under way.
struct Pending {
    connection: String,
    redirect_uri: String,
    started: Instant,
    /// Where the callback sends the browser once done (a dashboard page), instead of answering.
    return_to: Option<String>,
}

/// How the latest consent of a connection ended, kept so the page the callback sends the
/// browser back to can show it (the redirect itself carries no data anyone could forge).
#[derive(Debug, Clone)]
pub enum ConsentOutcome {
    /// The tokens are stored sealed.
    Connected {
        /// The locations the tokens reach.
        locations: Vec<InstalledLocation>,
        /// The granted scopes.
        scopes: Vec<String>,
        /// When the access token expires.
        expires_at: DateTime<Utc>,
    },
    /// Nothing was stored; what went wrong and what to do next.
    Failed(String),
}

/// What the connect routes need: the project (connection settings) and the consents under way.
pub struct ConnectState {
    /// The project as loaded at startup.
    pub project: Project,
    pending: Mutex<HashMap<String, Pending>>,
    outcomes: Mutex<HashMap<String, ConsentOutcome>>,
}

impl ConnectState {
    /// For a loaded project.
    pub fn new(project: Project) -> Self {
        Self {
            project,
            pending: Mutex::new(HashMap::new()),
            outcomes: Mutex::new(HashMap::new()),
        }
    }

    /// How the latest consent of `connection` through this server ended, if one did.
    pub fn outcome(&self, connection: &str) -> Option<ConsentOutcome> {
        self.outcomes.lock().get(connection).cloned()
    }

    /// Loads the project file again (the server's engine does not keep it); `None`, logged,
    /// when it does not load, which only disables connecting.
    pub fn load(file: &FsPath) -> Option<Self> {
        match load_project(file) {
            Ok(p) => Some(Self::new(p)),
            Err(e) => {
                tracing::warn!(error = %e, "connect routes disabled: the project did not load");
                None
            }
        }
    }
}

/// The connect routes; `/connect/...` behind the admin token, the callback open.
pub fn router(state: Arc<AppState>) -> Router<Arc<AppState>> {
    let guarded = Router::new()
        .route("/connect/ghl/{connection}", get(start))
        // The admin API's guards, in its order: rate limit, address allowlist, token.
        .layer(from_fn_with_state(
            state.clone(),
            crate::admin::auth::require_token,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            crate::admin::allow::require_allowed,
        ))
        .layer(from_fn_with_state(state, crate::admin::limit::rate_limit));
    Router::new()
        .route("/oauth/callback", get(callback))
        .merge(guarded)
}

fn problem(status: StatusCode, code: &str, message: String) -> Response {
    ApiError::new(status, code, message).into_response()
}

const UNAVAILABLE: &str = "this server was started without its project file, so it cannot connect; use `ghl-bridge connect ghl --connection NAME`";

/// 503: the server has no project to connect with.
fn unavailable() -> Response {
    problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "connect_unavailable",
        UNAVAILABLE.into(),
    )
}

/// Why a consent did not start: the status and code the admin route answers, and a message
/// saying what to do.
#[derive(Debug)]
pub struct NotStarted {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

/// Starts a GHL consent for `connection`: remembers a one-time `state` (10 minutes) and returns
/// the consent page URL to send the browser to. The redirect URI is the connection's
/// `redirect_uri`, else this server's `/oauth/callback` as the request's `Host` names it.
/// `return_to` (a path on this server, e.g. a dashboard page) makes the callback send the
/// browser there with `?connected=1` or `?connect_failed=1` instead of answering itself.
pub fn start_consent(
    s: &AppState,
    connection: &str,
    headers: &HeaderMap,
    return_to: Option<&str>,
) -> Result<String, NotStarted> {
    let fail = |status, code, message| NotStarted {
        status,
        code,
        message,
    };
    let Some(cs) = s.connect.as_deref() else {
        return Err(fail(
            StatusCode::SERVICE_UNAVAILABLE,
            "connect_unavailable",
            UNAVAILABLE.into(),
        ));
    };
    if let Some(to) = return_to {
        // Only a path on this server: never an open redirect.
        if !to.starts_with('/') || to.starts_with("//") || to.contains(['\\', '?', '#']) {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                "bad_return_to",
                format!("return_to `{to}` must be a plain path on this server"),
            ));
        }
    }
    let Some(conn) = cs.project.connections.get(connection) else {
        return Err(fail(
            StatusCode::NOT_FOUND,
            "unknown_connection",
            format!("no connection `{connection}` in the project"),
        ));
    };
    let config = oauth_config(conn, &cs.project.dir()).map_err(|e| {
        fail(
            StatusCode::BAD_REQUEST,
            "not_connectable",
            engine::connections::ConnectionErrors(e).to_string(),
        )
    })?;
    let redirect_uri = config.redirect_uri.clone().unwrap_or_else(|| {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        let scheme = headers
            .get("x-forwarded-proto")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("http");
        format!("{scheme}://{host}/oauth/callback")
    });
    let state = new_state();
    {
        let mut pending = cs.pending.lock();
        pending.retain(|_, p| p.started.elapsed() < STATE_TTL);
        pending.insert(
            state.clone(),
            Pending {
                connection: connection.to_string(),
                redirect_uri: redirect_uri.clone(),
                started: Instant::now(),
                return_to: return_to.map(str::to_string),
            },
        );
    }
    tracing::info!(%connection, "GHL consent started");
    Ok(config.consent_url(&redirect_uri, &state))
}

/// `GET /connect/ghl/{connection}`: 302 to the consent page.
async fn start(
    State(s): State<Arc<AppState>>,
    Path(connection): Path<String>,
    headers: HeaderMap,
) -> Response {
    match start_consent(&s, &connection, &headers, None) {
        Ok(url) => (StatusCode::FOUND, [(header::LOCATION, url)]).into_response(),
        Err(e) => problem(e.status, e.code, e.message),
    }
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

/// A failed callback: JSON or a small page, both saying what to do next.
fn callback_error(json: bool, status: StatusCode, message: String) -> Response {
    if json {
        return problem(status, "connect_failed", message);
    }
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Not connected</title></head>\
         <body><h1>Not connected</h1><p id=\"error\">{}</p></body></html>",
        escape(&message)
    );
    (status, Html(page)).into_response()
}

/// `GET /oauth/callback?code&state`.
async fn callback(
    State(s): State<Arc<AppState>>,
    Query(q): Query<CallbackQuery>,
    headers: HeaderMap,
) -> Response {
    let json = wants_json(&headers);
    let Some(cs) = s.connect.as_deref() else {
        return unavailable();
    };
    let pending = q
        .state
        .as_deref()
        .and_then(|st| cs.pending.lock().remove(st));
    let Some(p) = pending.filter(|p| p.started.elapsed() < STATE_TTL) else {
        return callback_error(json, StatusCode::BAD_REQUEST, "unknown or expired `state` (the consent was not started here, was already used, or took over 10 minutes); start again at /connect/ghl/<connection>".into());
    };
    let outcome = finish(&s, cs, &p, q).await;
    let kept = match &outcome {
        Ok((tokens, locations)) => ConsentOutcome::Connected {
            locations: locations.clone(),
            scopes: tokens.scopes().iter().map(|s| s.to_string()).collect(),
            expires_at: tokens.expires_at,
        },
        Err((_, m)) => ConsentOutcome::Failed(m.clone()),
    };
    cs.outcomes.lock().insert(p.connection.clone(), kept);
    if let Some(to) = &p.return_to {
        return back_to(to, outcome.is_ok());
    }
    match outcome {
        Ok((tokens, locations)) => {
            let restart = "restart `ghl-bridge serve` (or `run`) so it uses the new tokens";
            if json {
                return Json(json!({
                    "connection": p.connection,
                    "locations": locations,
                    "scopes": tokens.scopes(),
                    "expires_at": tokens.expires_at,
                    "next": restart,
                }))
                .into_response();
            }
            let items: String = locations
                .iter()
                .map(|l| {
                    format!(
                        "<li class=\"location\" data-location-id=\"{}\">{} {}</li>",
                        escape(&l.id),
                        escape(&l.id),
                        escape(&l.name)
                    )
                })
                .collect();
            Html(format!(
                "<!doctype html><html><head><meta charset=\"utf-8\"><title>Connected</title></head>\
                 <body><h1>Connection {} connected</h1><p>Locations:</p><ul id=\"locations\">{items}</ul>\
                 <p>Scopes: {}</p><p>The tokens are stored encrypted; {restart}.</p></body></html>",
                escape(&p.connection),
                escape(&tokens.scope)
            ))
            .into_response()
        }
        Err((status, m)) => callback_error(json, status, m),
    }
}

/// The callback's work once its `state` checked out: the code exchanged, the locations listed
/// and the tokens stored sealed. Messages say what to do next and hold no secret.
async fn finish(
    s: &AppState,
    cs: &ConnectState,
    p: &Pending,
    q: CallbackQuery,
) -> Result<(TokenSet, Vec<InstalledLocation>), (StatusCode, String)> {
    let again = match p.return_to {
        Some(_) => "connect again with the button on this page".to_string(),
        None => format!("start again at /connect/ghl/{}", p.connection),
    };
    let bad = |m: String| (StatusCode::BAD_REQUEST, m);
    if let Some(e) = q.error {
        return Err(bad(format!("GHL did not grant access ({e}); {again}")));
    }
    let Some(code) = q.code.filter(|c| !c.is_empty()) else {
        return Err(bad(format!("the callback has no `code`; {again}")));
    };
    let Some(conn) = cs.project.connections.get(&p.connection) else {
        return Err((
            StatusCode::NOT_FOUND,
            format!("no connection `{}` in the project", p.connection),
        ));
    };
    let config = oauth_config(conn, &cs.project.dir())
        .map_err(|e| bad(engine::connections::ConnectionErrors(e).to_string()))?;
    let key = match SecretKey::load(&cs.project.dir()) {
        Ok((k, _)) => k,
        Err(e) => {
            return Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the tokens cannot be sealed: {e}; then {again}"),
            ))
        }
    };
    let (tokens, locations) = config
        .complete(&*s.engine.store, &key, &code, &p.redirect_uri)
        .await
        .map_err(|m| (StatusCode::BAD_GATEWAY, m))?;
    tracing::info!(connection = %p.connection, locations = locations.len(), "GHL connected; tokens stored sealed");
    Ok((tokens, locations))
}

/// Sends the browser back to the page that started the consent. A page that navigates on
/// its own rather than a redirect: the dashboard's session cookie is SameSite=Strict, and a
/// redirect chain that began on GHL's consent page is cross-site, so a browser would land on
/// the dashboard without its session; a navigation this page starts is same-site.
fn back_to(to: &str, connected: bool) -> Response {
    let (flag, title) = if connected {
        ("connected=1", "Connected")
    } else {
        ("connect_failed=1", "Not connected")
    };
    let url = escape(&format!("{to}?{flag}"));
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"0;url={url}\"><link rel=\"icon\" href=\"data:,\">\
         <title>{title}</title></head>\
         <body><p>{title}. <a id=\"continue\" href=\"{url}\">Back to the dashboard</a></p></body></html>"
    );
    ([(header::CACHE_CONTROL, "no-store")], Html(page)).into_response()
}

/// Tests a connection: reachable (a real, cheap call), latency, the credentials accepted and,
/// for GHL, the granted scopes and which of the 17 Contacts-API endpoints they allow.
#[utoipa::path(
    get,
    path = "/api/v1/connections/{name}/test",
    params(("name" = String, Path, description = "The connection's name in ghl-bridge.yaml")),
    responses(
        (status = 200, description = "The test ran (see `reachable`, `authorized`, `message`)", body = ConnectionTest),
        (status = 404, description = "No such connection", body = ErrorBody),
        (status = 401, description = "Missing or wrong admin token", body = ErrorBody),
    ),
    tag = "connections"
)]
pub async fn test_handler(State(s): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    let Some(cs) = s.connect.as_deref() else {
        return unavailable();
    };
    match test_connection(&s.engine.store, &cs.project, &name).await {
        Ok(t) => Json(t).into_response(),
        Err(m) => problem(StatusCode::NOT_FOUND, "unknown_connection", m),
    }
}
