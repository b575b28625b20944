//! `/ui/connections`: every connection of the project with its status (from the connection
//! registry), token expiry, scopes and the Contacts-API endpoints they allow, and the rate
//! budget its connector has left; per connection, the test, the OAuth button (connect and
//! reconnect) and the token/key form.
//!
//! Nothing here is new logic: the consent goes through the server's
//! [`server::connect::start_consent`] (the callback sends the browser back to the connection's
//! page), the test is [`server::connect::test_connection`], and the form stores through
//! [`server::connect::secret::store_secret`], the function `ghl-bridge connect --token/--key`
//! uses. No page ever carries a secret: the form's input is a password field that is never
//! filled in again, and the registry's settings hold none.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{DateTime, Utc};
use engine::flow::{Connection, Setting};
use engine::store::ConnectionStatus;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use server::connect::check::{auth_kind, endpoints_for, READONLY_ENDPOINTS, WRITE_ENDPOINTS};
use server::connect::secret::{project_key, store_secret, SecretKind};
use server::connect::{start_consent, test_connection, ConsentOutcome};

use crate::{render, Ui};

/// What is left of a connector's rate budget, for people.
#[derive(Serialize)]
struct BudgetView {
    burst_remaining: u32,
    burst_max: u32,
    /// The burst window, e.g. `10 s`.
    window: String,
    daily_remaining: u64,
    daily_max: u64,
    /// Share left, 0–100, of the window and of the day.
    burst_pct: u32,
    daily_pct: u32,
}

/// One connection as the pages show it.
#[derive(Serialize)]
struct Row {
    name: String,
    app: String,
    /// `oauth`, `token` or `api_key`.
    auth: &'static str,
    /// The registry's status (`active`, `needs_reauth`, `paused`, `error`), or `not_connected`
    /// (no credentials anywhere) or `configured` (credentials in the project file).
    status: &'static str,
    /// Badge colour: `ok`, `warn` or `err`.
    tone: &'static str,
    /// What the status means and what to do.
    hint: String,
    /// A flow that is switched on uses it (so the running server built its connector).
    in_use: bool,
    expires_at: Option<String>,
    expires_in: Option<String>,
    expired: bool,
    scopes: Option<Vec<String>>,
    readonly_allowed: usize,
    write_allowed: usize,
    location: Option<String>,
    budget: Option<BudgetView>,
}

/// The registry entries by connection name.
async fn registry(ui: &Ui) -> HashMap<String, engine::store::Connection> {
    match ui.app.engine.store.connections().await {
        Ok(list) => list.into_iter().map(|c| (c.id.clone(), c)).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "dashboard: the connection registry could not be read");
            HashMap::new()
        }
    }
}

/// "in 59 min" / "expired 3 h ago".
fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (at - now).num_seconds();
    let span = |s: i64| match s {
        s if s < 90 => format!("{s} s"),
        s if s < 90 * 60 => format!("{} min", s / 60),
        s if s < 48 * 3600 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    };
    if secs >= 0 {
        format!("in {}", span(secs))
    } else {
        format!("expired {} ago", span(-secs))
    }
}

fn text_setting(conn: &Connection, name: &str) -> Option<String> {
    match conn.settings.get(name) {
        Some(Setting::Text(t)) if !t.trim().is_empty() => Some(t.trim().to_string()),
        _ => None,
    }
}

async fn row(
    ui: &Ui,
    conn: &Connection,
    reg: Option<&engine::store::Connection>,
    now: DateTime<Utc>,
) -> Row {
    let auth = auth_kind(conn);
    let connector = ui.app.engine.connectors.get(&conn.name);
    let setting = SecretKind::for_app(conn.app).setting();
    let (status, tone, hint) = match reg.map(|r| r.status) {
        Some(ConnectionStatus::Active) => (
            "active",
            "ok",
            "credentials stored sealed; in order".to_string(),
        ),
        Some(ConnectionStatus::NeedsReauth) => (
            "needs_reauth",
            "err",
            if auth == "oauth" {
                "the app refused the stored credentials: reconnect".to_string()
            } else {
                format!(
                    "the app refused the stored credentials: store a new {}",
                    setting.replace('_', " ")
                )
            },
        ),
        Some(ConnectionStatus::Paused) => {
            ("paused", "warn", "switched off by a person".to_string())
        }
        Some(ConnectionStatus::Error) => ("error", "err", "failing: run the test".to_string()),
        None if auth != "oauth" && conn.settings.contains_key(setting) => (
            "configured",
            "ok",
            format!("the {setting} is in the project file"),
        ),
        None if auth == "oauth" => (
            "not_connected",
            "warn",
            "not connected yet: connect with GHL".to_string(),
        ),
        None => (
            "not_connected",
            "warn",
            format!("no {setting} yet: store one"),
        ),
    };
    let settings = reg.map(|r| &r.settings).unwrap_or(&Value::Null);
    let live_expiry = match connector {
        Some(c) => c.token_expires_at().await,
        None => None,
    };
    let expiry = live_expiry.or_else(|| {
        settings["expires_at"]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc))
    });
    let scopes: Option<Vec<String>> = settings["scope"]
        .as_str()
        .map(|s| s.split_whitespace().map(str::to_string).collect());
    let allowed = scopes.as_deref().map(endpoints_for);
    let count = |rows: &[server::connect::EndpointOut]| rows.iter().filter(|r| r.allowed).count();
    let budget = connector.and_then(|c| c.budget()).map(|b| BudgetView {
        burst_remaining: b.burst_remaining,
        burst_max: b.burst_max,
        window: format!("{} s", (b.interval_ms as f64 / 1000.0).round()),
        daily_remaining: b.daily_remaining,
        daily_max: b.daily_max,
        burst_pct: (b.burst_left() * 100.0).round() as u32,
        daily_pct: (b.daily_left() * 100.0).round() as u32,
    });
    Row {
        name: conn.name.clone(),
        app: conn.app.as_str().to_string(),
        auth,
        status,
        tone,
        hint,
        in_use: connector.is_some(),
        expires_at: expiry.map(|e| e.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        expires_in: expiry.map(|e| relative(e, now)),
        expired: expiry.is_some_and(|e| e <= now),
        readonly_allowed: allowed.as_ref().map_or(0, |a| count(&a.readonly)),
        write_allowed: allowed.as_ref().map_or(0, |a| count(&a.write)),
        scopes,
        location: settings["location_id"]
            .as_str()
            .map(str::to_string)
            .or_else(|| text_setting(conn, "location_id")),
        budget,
    }
}

/// A page saying the server cannot show connections (no project) or this one (unknown).
fn problem(status: StatusCode, title: &str, message: String) -> Response {
    render::page_status(
        status,
        "error.html",
        json!({"nav": "connections", "title": title, "message": message}),
    )
}

/// 503: the server has no project to show connections of.
fn no_project() -> Response {
    problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "Connections",
        "This server was started without its project file, so it cannot show or connect connections. Start `ghl-bridge serve` in the project folder (or pass --project).".into(),
    )
}

/// `GET /ui/connections`.
pub async fn list(State(ui): State<Arc<Ui>>) -> Response {
    let Some(cs) = ui.app.connect.as_deref() else {
        return no_project();
    };
    let reg = registry(&ui).await;
    let now = Utc::now();
    let mut rows = Vec::new();
    for conn in cs.project.connections.values() {
        rows.push(row(&ui, conn, reg.get(&conn.name), now).await);
    }
    render::page(
        "connections.html",
        json!({"nav": "connections", "rows": rows, "file": cs.project.file.display().to_string()}),
    )
}

/// Query flags of the connection page: where the browser comes from.
#[derive(Deserialize, Default)]
pub struct PageQuery {
    /// Back from a consent that stored tokens.
    connected: Option<String>,
    /// Back from a consent that failed.
    connect_failed: Option<String>,
    /// Back from storing a token or key.
    saved: Option<String>,
}

/// Renders the connection page, with `error` (the form's) shown above the form.
async fn detail_page(
    ui: &Ui,
    name: &str,
    q: &PageQuery,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let Some(cs) = ui.app.connect.as_deref() else {
        return no_project();
    };
    let Some(conn) = cs.project.connections.get(name) else {
        return problem(
            StatusCode::NOT_FOUND,
            "No such connection",
            format!(
                "There is no connection `{name}` in {}. See the list on the Connections page.",
                cs.project.file.display()
            ),
        );
    };
    let reg = registry(ui).await;
    let row = row(ui, conn, reg.get(name), Utc::now()).await;
    let mut connected = Value::Null;
    let mut connect_error = Value::Null;
    match (
        cs.outcome(name),
        q.connected.is_some(),
        q.connect_failed.is_some(),
    ) {
        (
            Some(ConsentOutcome::Connected {
                locations, scopes, ..
            }),
            true,
            _,
        ) => {
            let locations: Vec<Value> = locations
                .iter()
                .map(|l| json!({"id": l.id, "name": l.name}))
                .collect();
            connected = json!({"locations": locations, "scopes": scopes});
        }
        (Some(ConsentOutcome::Failed(_)), true, _) => {}
        (_, true, _) => {
            // The server restarted since, or another tab: what the registry says.
            let locations: Vec<Value> = row
                .location
                .iter()
                .map(|id| json!({"id": id, "name": ""}))
                .collect();
            connected = json!({"locations": locations, "scopes": row.scopes});
        }
        (Some(ConsentOutcome::Failed(m)), _, true) => connect_error = json!(m),
        (_, _, true) => {
            connect_error =
                json!("The consent did not complete; connect again with the button below.")
        }
        _ => {}
    }
    let kind = SecretKind::for_app(conn.app);
    let secret_form = (row.auth != "oauth").then(|| {
        json!({
            "setting": kind.setting(),
            "label": match kind {
                SecretKind::Token => "Private Integration Token",
                SecretKind::ApiKey => "API key",
            },
            "shadowed": conn.settings.contains_key(kind.setting()),
        })
    });
    render::page_status(
        status,
        "connection.html",
        json!({
            "nav": "connections",
            "c": row,
            "connected": connected,
            "connect_error": connect_error,
            "saved": q.saved.is_some(),
            "secret_form": secret_form,
            "error": error,
            "readonly_total": READONLY_ENDPOINTS.len(),
            "write_total": WRITE_ENDPOINTS.len(),
        }),
    )
}

/// `GET /ui/connections/{name}`.
pub async fn detail(
    State(ui): State<Arc<Ui>>,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    detail_page(&ui, &name, &q, StatusCode::OK, None).await
}

/// `GET /ui/connections/{name}/test`: the test result fragment htmx swaps into `#test-result`.
pub async fn test(State(ui): State<Arc<Ui>>, Path(name): Path<String>) -> Response {
    let Some(cs) = ui.app.connect.as_deref() else {
        return no_project();
    };
    match test_connection(&ui.app.engine.store, &cs.project, &name).await {
        Ok(t) => render::page(
            "_connection_test.html",
            json!({
                "t": t,
                "ok": t.ok(),
                "endpoints": t.endpoints,
                "expires_at": t
                    .token_expires_at
                    .map(|e| e.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                "expires_in": t.token_expires_at.map(|e| relative(e, Utc::now())),
            }),
        ),
        // 200: htmx swaps no 4xx answer in, and the message is the answer.
        Err(m) => render::page("_connection_test.html", json!({"missing": m})),
    }
}

/// `GET /ui/connections/{name}/connect`: starts a GHL consent whose callback brings the browser
/// back to the connection's page (the OAuth button; also "Reconnect").
pub async fn connect(
    State(ui): State<Arc<Ui>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let back = format!("{}/connections/{name}", crate::PREFIX);
    match start_consent(&ui.app, &name, &headers, Some(&back)) {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(e) => problem(e.status, "Cannot connect", e.message),
    }
}

/// The token/key form's field.
#[derive(Deserialize)]
pub struct SecretForm {
    #[serde(default)]
    secret: String,
}

/// `POST /ui/connections/{name}/secret`: stores a token or API key sealed, like
/// `ghl-bridge connect --token/--key`, then shows the page again (never the secret).
pub async fn save_secret(
    State(ui): State<Arc<Ui>>,
    Path(name): Path<String>,
    Form(form): Form<SecretForm>,
) -> Response {
    let Some(cs) = ui.app.connect.as_deref() else {
        return no_project();
    };
    let Some(conn) = cs.project.connections.get(&name) else {
        return detail_page(&ui, &name, &PageQuery::default(), StatusCode::OK, None).await;
    };
    let kind = SecretKind::for_app(conn.app);
    let field = match kind {
        SecretKind::Token => "Private Integration Token",
        SecretKind::ApiKey => "API key",
    };
    let stored = match project_key(&cs.project) {
        Ok(key) => {
            store_secret(
                &*ui.app.engine.store,
                &key,
                &cs.project,
                &name,
                kind,
                &form.secret,
            )
            .await
        }
        Err(e) => Err(e),
    };
    match stored {
        Ok(_) => {
            Redirect::to(&format!("{}/connections/{name}?saved=1", crate::PREFIX)).into_response()
        }
        Err(m) => {
            let q = PageQuery::default();
            let error = format!("{field}: {m}");
            detail_page(&ui, &name, &q, StatusCode::BAD_REQUEST, Some(error)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_reads_for_people() {
        let now = Utc::now();
        assert_eq!(
            relative(now + chrono::Duration::seconds(3540), now),
            "in 59 min"
        );
        assert_eq!(
            relative(now - chrono::Duration::seconds(3 * 3600), now),
            "expired 3 h ago"
        );
        assert_eq!(relative(now + chrono::Duration::days(5), now), "in 5 days");
    }
}
