//! The connection test: is the app reachable, are the credentials accepted, and — for GHL —
//! which scopes are granted and so which of the 17 Contacts-API endpoint groups of HighLevel's
//! scope table (spec/ghl/FACTS.md: 8 read-only, 9 write) the connection may call.
//!
//! The test never spends an OAuth refresh token: a refresh rotates the pair, and a running
//! `ghl-bridge serve` holding the old one would then lose the connection. An expired access
//! token is reported as such; the engine refreshes it on its next call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use connectors::{ConnectorError, EntityKind};
use engine::connections::ConnectorFactory;
use engine::flow::{AppKind, Project};
use engine::store::Store;
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

/// HighLevel's scope table: `contacts.readonly` allows these 8 endpoints.
pub const READONLY_ENDPOINTS: [&str; 8] = [
    "GET /contacts/:contactId",
    "GET /contacts/:contactId/tasks",
    "GET /contacts/:contactId/tasks/:taskId",
    "GET /contacts/:contactId/notes",
    "GET /contacts/:contactId/notes/:id",
    "GET /contacts/:contactId/appointments",
    "GET /contacts/",
    "GET /contacts/business/:businessId",
];

/// HighLevel's scope table: `contacts.write` allows these 9 endpoint groups.
pub const WRITE_ENDPOINTS: [&str; 9] = [
    "POST /contacts/",
    "PUT /contacts/:contactId",
    "DELETE /contacts/:contactId",
    "POST/PUT/DELETE /contacts/:contactId/tasks",
    "PUT /contacts/:contactId/tasks/:taskId/completed",
    "POST/DELETE /contacts/:contactId/tags",
    "POST/PUT/DELETE /contacts/:contactId/notes",
    "POST/DELETE /contacts/:contactId/campaigns",
    "POST/DELETE /contacts/:contactId/workflow",
];

const TIMEOUT: Duration = Duration::from_secs(10);

/// One endpoint (group) of the scope table and whether the connection's scopes allow it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EndpointOut {
    pub endpoint: String,
    /// The scope it needs.
    pub scope: String,
    pub allowed: bool,
}

/// The 17 endpoints, by scope.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EndpointsOut {
    /// The 8 endpoints `contacts.readonly` allows.
    pub readonly: Vec<EndpointOut>,
    /// The 9 endpoint groups `contacts.write` allows.
    pub write: Vec<EndpointOut>,
}

/// The answer of a connection test. Never carries a credential.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectionTest {
    pub connection: String,
    pub app: String,
    /// `token`, `oauth` or `api_key`.
    pub auth: String,
    /// The app answered (whatever it said).
    pub reachable: bool,
    /// The app accepted the credentials.
    pub authorized: bool,
    /// Time of the cheap call, in milliseconds.
    pub latency_ms: Option<u64>,
    /// HTTP status of the cheap call (GHL).
    pub status: Option<u16>,
    /// What was found, and what to do next when something is wrong.
    pub message: String,
    /// GHL: the granted scopes (from the OAuth token answer, or probed for a token).
    pub scopes: Option<Vec<String>>,
    /// GHL: `token` (the OAuth answer lists them) or `probe` (found by calling GHL).
    pub scopes_source: Option<String>,
    /// GHL: the 17 Contacts-API endpoints and whether the scopes allow each.
    pub endpoints: Option<EndpointsOut>,
    /// GHL OAuth: when the access token expires (it is refreshed ahead of that).
    #[schema(value_type = Option<String>)]
    pub token_expires_at: Option<DateTime<Utc>>,
    /// GHL: the location the connection works in.
    pub location_id: Option<String>,
}

impl ConnectionTest {
    fn new(connection: &str, app: &str, auth: &str) -> Self {
        Self {
            connection: connection.into(),
            app: app.into(),
            auth: auth.into(),
            reachable: false,
            authorized: false,
            latency_ms: None,
            status: None,
            message: String::new(),
            scopes: None,
            scopes_source: None,
            endpoints: None,
            token_expires_at: None,
            location_id: None,
        }
    }

    /// Whether everything checked out.
    pub fn ok(&self) -> bool {
        self.reachable && self.authorized
    }
}

/// The 17 endpoints, each allowed or not under `scopes`.
pub fn endpoints_for(scopes: &[String]) -> EndpointsOut {
    let has = |s: &str| scopes.iter().any(|g| g == s);
    let rows = |list: &[&str], scope: &str| {
        list.iter()
            .map(|e| EndpointOut {
                endpoint: e.to_string(),
                scope: scope.to_string(),
                allowed: has(scope),
            })
            .collect()
    };
    EndpointsOut {
        readonly: rows(&READONLY_ENDPOINTS, "contacts.readonly"),
        write: rows(&WRITE_ENDPOINTS, "contacts.write"),
    }
}

/// How a connection authenticates: `oauth` (GHL, `auth: oauth`), `token` (GHL's Private
/// Integration Token) or `api_key` (the other apps).
pub fn auth_kind(conn: &engine::flow::Connection) -> &'static str {
    match conn.settings.get("auth").map(|a| a.expose()) {
        Some(a) if a.trim() == "oauth" => "oauth",
        _ if conn.app == AppKind::Ghl => "token",
        _ => "api_key",
    }
}

/// Tests connection `name` of `project` with the credentials the store holds for it. `Err`
/// only when there is no such connection.
pub async fn test_connection(
    store: &Arc<dyn Store>,
    project: &Project,
    name: &str,
) -> Result<ConnectionTest, String> {
    let Some(conn) = project.connections.get(name) else {
        return Err(format!(
            "no connection `{name}` in {}",
            project.file.display()
        ));
    };
    let mut only = project.clone();
    only.connections.retain(|n, _| n == name);
    let factory = ConnectorFactory::new();
    let app = conn.app.as_str();
    let mut out = ConnectionTest::new(name, app, auth_kind(conn));
    if let Err(e) = factory.load_credentials(store, &only).await {
        out.message = e.to_string();
        return Ok(out);
    }
    if conn.app == AppKind::Ghl {
        match factory.ghl_target(conn, &project.dir()) {
            Ok(t) => ghl(&mut out, t).await,
            Err(e) => out.message = engine::connections::ConnectionErrors(e).to_string(),
        }
        return Ok(out);
    }
    let connector = match factory.build(conn, &project.dir()) {
        Ok(c) => c,
        Err(e) => {
            out.message = engine::connections::ConnectionErrors(e).to_string();
            return Ok(out);
        }
    };
    let started = Instant::now();
    let answer = tokio::time::timeout(TIMEOUT, connector.list_all(EntityKind::Contact, None)).await;
    out.latency_ms = Some(started.elapsed().as_millis() as u64);
    let key_hint = format!(
        "check the `api_key` setting, or store a new key with `ghl-bridge connect {app} --connection {name} --key`"
    );
    match answer {
        Err(_) => {
            out.message = format!("no answer within {TIMEOUT:?}; check `base_url` and the network")
        }
        Ok(Ok(_))
        | Ok(Err(ConnectorError::Unsupported(_)))
        | Ok(Err(ConnectorError::NotFound(_))) => {
            out.reachable = true;
            out.authorized = true;
            out.message = "reachable; the credentials are accepted".into();
        }
        Ok(Err(ConnectorError::Reconnect(m))) => {
            out.reachable = true;
            out.message = format!("the app refused the credentials ({m}); {key_hint}");
        }
        Ok(Err(e @ ConnectorError::Rejected(_))) => {
            out.reachable = true;
            let refused = is_auth_refusal(&e.to_string());
            out.authorized = !refused;
            out.message = if refused {
                format!("the app refused the credentials ({e}); {key_hint}")
            } else {
                format!("reachable, but the test read was refused: {e}")
            };
        }
        Ok(Err(e)) => {
            out.message = format!("could not reach the app: {e}; check `base_url` and the network");
        }
    }
    Ok(out)
}

fn is_auth_refusal(m: &str) -> bool {
    let m = m.to_ascii_lowercase();
    [
        "401",
        "403",
        "unauthor",
        "forbidden",
        "api key",
        "credential",
    ]
    .iter()
    .any(|w| m.contains(w))
}

/// A call's outcome: status and GHL's message.
struct Answer {
    status: u16,
    message: String,
}

async fn call(rb: reqwest::RequestBuilder) -> Result<Answer, String> {
    let resp = rb.send().await.map_err(|e| {
        let kind = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else {
            "request failed"
        };
        format!("{kind}: {}", e.without_url())
    })?;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let message = match &body["message"] {
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("; "),
        _ => String::new(),
    };
    Ok(Answer { status, message })
}

async fn ghl(out: &mut ConnectionTest, t: engine::connections::oauth::GhlTarget) {
    let name = out.connection.clone();
    out.location_id = Some(t.location_id.clone());
    let reconnect = if t.oauth.is_some() {
        format!("run `ghl-bridge connect ghl --connection {name}` to connect again")
    } else {
        format!("make a new Private Integration Token for the location and store it with `ghl-bridge connect ghl --connection {name} --token` (or fix the `token` setting)")
    };
    // The bearer as it stands: never refreshed here (see the module docs).
    let mut known_scopes = None;
    let mut bearer = None;
    if let Some(session) = &t.oauth {
        let tokens = session.tokens().await;
        out.token_expires_at = Some(tokens.expires_at);
        known_scopes = Some(
            tokens
                .scopes()
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        );
        if matches!(t.auth, ghl::Auth::OAuth(_)) {
            bearer = Some(tokens.access_token);
        }
    }
    // A token, or a location token minted from agency tokens.
    let bearer = match bearer {
        Some(b) => b,
        None => match t.auth.bearer().await {
            Ok(b) => b,
            Err(e) => {
                out.reachable = !matches!(e, ghl::GhlError::Transient { .. });
                out.message = format!("no usable credentials: {e}; {reconnect}");
                return;
            }
        },
    };
    let http = match reqwest::Client::builder().timeout(TIMEOUT).build() {
        Ok(h) => h,
        Err(e) => {
            out.message = format!("HTTP client: {e}");
            return;
        }
    };
    let base = t.base_url.trim_end_matches('/');
    let authed = |rb: reqwest::RequestBuilder| {
        rb.bearer_auth(bearer.expose())
            .header("Version", ghl::API_VERSION)
            .header("Accept", "application/json")
    };
    let started = Instant::now();
    let read = call(
        authed(http.get(format!("{base}/contacts/")))
            .query(&[("locationId", t.location_id.as_str()), ("limit", "1")]),
    )
    .await;
    out.latency_ms = Some(started.elapsed().as_millis() as u64);
    let read = match read {
        Ok(a) => a,
        Err(e) => {
            out.message =
                format!("could not reach GHL at {base}: {e}; check `base_url` and the network");
            return;
        }
    };
    out.reachable = true;
    out.status = Some(read.status);
    let missing_scope =
        |a: &Answer| a.status == 401 && a.message.to_ascii_lowercase().contains("scope");
    let read_allowed = match read.status {
        200..=299 => true,
        401 if missing_scope(&read) => false,
        401 if read.message.to_ascii_lowercase().contains("expired") && t.oauth.is_some() => {
            out.message = format!("GHL is reachable, but the access token has expired ({}); ghl-bridge refreshes it on its next sync call (`ghl-bridge run`/`serve`); if that fails, {reconnect}", read.message);
            if let Some(s) = known_scopes {
                out.endpoints = Some(endpoints_for(&s));
                out.scopes = Some(s);
                out.scopes_source = Some("token".into());
            }
            return;
        }
        401 => {
            out.message = format!(
                "GHL is reachable but refused the credentials ({}); {reconnect}",
                read.message
            );
            return;
        }
        403 => {
            out.message = format!("GHL is reachable but the credentials do not reach location {} ({}); check `location_id`, or {reconnect}", t.location_id, read.message);
            return;
        }
        s => {
            out.message = format!(
                "GHL answered {s} to the test read ({}); try again later",
                read.message
            );
            return;
        }
    };
    out.authorized = true;
    let (scopes, source) = match known_scopes {
        Some(s) => (s, "token"),
        None => {
            // A Private Integration Token does not list its scopes: probe. An empty create is
            // refused for its missing locationId (400/422) when the write scope is granted,
            // and for the scope (401) when it is not; nothing is created either way.
            let write = call(authed(http.post(format!("{base}/contacts/"))).json(&json!({}))).await;
            let mut s = Vec::new();
            if read_allowed {
                s.push("contacts.readonly".to_string());
            }
            if let Ok(w) = &write {
                if matches!(w.status, 200..=299 | 400 | 422) {
                    s.push("contacts.write".to_string());
                }
            }
            (s, "probe")
        }
    };
    let has = |x: &str| scopes.iter().any(|s| s == x);
    out.message = match (has("contacts.readonly"), has("contacts.write")) {
        (true, true) => "reachable; credentials accepted; reads and writes contacts".into(),
        (true, false) => format!("reachable; credentials accepted; READ-ONLY: contacts.write is not granted, so syncing into GHL fails; grant it ({reconnect})"),
        (false, true) => format!("reachable; credentials accepted; contacts.readonly is not granted, so GHL cannot be read; grant it ({reconnect})"),
        (false, false) => format!("reachable; credentials accepted, but no contacts scope is granted; {reconnect}"),
    };
    out.endpoints = Some(endpoints_for(&scopes));
    out.scopes = Some(scopes);
    out.scopes_source = Some(source.into());
}

/// The test as a table for people.
pub fn render_table(t: &ConnectionTest) -> String {
    let yn = |b: bool| if b { "yes" } else { "no" };
    let mut s = format!(
        "connection  {} ({}, auth: {})\nreachable   {}\nauthorized  {}\n",
        t.connection,
        t.app,
        t.auth,
        yn(t.reachable),
        yn(t.authorized)
    );
    if let Some(ms) = t.latency_ms {
        s.push_str(&format!("latency     {ms} ms\n"));
    }
    if let Some(l) = &t.location_id {
        s.push_str(&format!("location    {l}\n"));
    }
    if let Some(exp) = t.token_expires_at {
        s.push_str(&format!("expires     {}\n", exp.to_rfc3339()));
    }
    if let Some(sc) = &t.scopes {
        let src = t.scopes_source.as_deref().unwrap_or_default();
        s.push_str(&format!("scopes      {} ({src})\n", sc.join(" ")));
    }
    if let Some(e) = &t.endpoints {
        for (title, rows) in [("readonly", &e.readonly), ("write", &e.write)] {
            s.push_str(&format!("\n{title} endpoints:\n"));
            for r in rows.iter() {
                s.push_str(&format!(
                    "  {:<8} {}\n",
                    if r.allowed { "allowed" } else { "DENIED" },
                    r.endpoint
                ));
            }
        }
        s.push('\n');
    }
    s.push_str(&t.message);
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seventeen_endpoints_follow_the_scopes() {
        let e = endpoints_for(&["contacts.readonly".to_string()]);
        assert_eq!(e.readonly.len() + e.write.len(), 17);
        assert!(e.readonly.iter().all(|r| r.allowed));
        assert!(e.write.iter().all(|r| !r.allowed));
    }
}
