//! The HTTP front of the engine (`ghl-bridge serve`): webhook ingress, health, readiness and
//! Prometheus metrics, served next to the engine's workers and scheduler in one process.
//!
//! `POST /webhooks/{connection}` verifies a delivery with the connection's own connector
//! (signature, timestamp window, body shape — every vendor rule stays in its connector) and
//! answers 200 only after [`Engine::ingest`] committed its events and jobs, so an
//! acknowledged delivery survives the process dying the next instant. A redelivery (same event
//! id) is recognised by the store and answered 200 without storing it again. See
//! `docs/server.md` for the status codes.

pub mod admin;
pub mod connect;
pub mod metrics;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use connectors::ConnectorError;
use engine::runtime::Engine;
use engine::store::EventSource;
use serde_json::{json, Value};

pub use metrics::{Metrics, Outcome};

/// Largest webhook body accepted (1 MiB); GHL's deliveries are a few KiB.
pub const MAX_BODY: usize = 1 << 20;

/// What the routes share.
pub struct AppState {
    /// The engine whose store and connectors the webhooks go to.
    pub engine: Arc<Engine>,
    /// Every connection named in the project, so a delivery to one that is configured but not
    /// used by an enabled flow gets a clear answer rather than a bare 404.
    pub project_connections: BTreeSet<String>,
    /// Counters shown on `/metrics`.
    pub metrics: Metrics,
    /// The admin API's bearer token, read once at startup; `None` closes the API (401).
    pub admin_token: Option<admin::AdminToken>,
    /// The admin side's flows folder, rate limit and IP allowlist.
    pub admin: admin::AdminOptions,
    /// The project, for `GET /connect/ghl/{connection}`, the OAuth callback and the connection
    /// test; `None` disables them (503).
    pub connect: Option<Arc<connect::ConnectState>>,
}

/// The server's routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/webhooks/{connection}", post(webhook))
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics_text))
        .merge(admin::openapi_router(state.clone()))
        .nest(admin::PREFIX, admin::router(state.clone()))
        .merge(connect::router(state.clone()))
        // The limit is enforced in the handler, so the answer can say why in JSON.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// A JSON error answer: `{"error": {"code", "message"}}`.
fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({"error": {"code": code, "message": message.into()}});
    (status, Json(body)).into_response()
}

/// Whether a connector's refusal is about the body (the sender authenticated, but sent
/// something unreadable: 400) rather than about who sent it (signature, secret, timestamp:
/// 401). Every connector checks authenticity before it reads the body, so a body complaint
/// means the signature passed.
fn is_body_problem(message: &str) -> bool {
    const AUTH: [&str; 7] = [
        "signature",
        "timestamp",
        "header",
        "secret",
        "oken",
        "Authorization",
        "password",
    ];
    message.starts_with("malformed webhook body")
        || message.contains("is not JSON")
        || message.contains("not a JSON object")
        || (!AUTH.iter().any(|a| message.contains(a))
            && (message.contains("body")
                || message.starts_with("not a ")
                || message.starts_with("no object at")
                || message.starts_with("the record has no")))
}

async fn webhook(
    State(s): State<Arc<AppState>>,
    Path(connection): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let Some(connector) = s.engine.connectors.get(&connection) else {
        let why = if s.project_connections.contains(&connection) {
            format!("connection `{connection}` is not used by any enabled flow, so it takes no webhooks")
        } else {
            format!("no connection `{connection}` in the project")
        };
        return error(StatusCode::NOT_FOUND, "unknown_connection", why);
    };
    let done = |outcome: Outcome, events: usize, resp: Response| {
        s.metrics
            .record(&connection, outcome, events, started.elapsed());
        resp
    };
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            tracing::warn!(%connection, limit = MAX_BODY, "webhook body too large; refused");
            let r = error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the body is larger than {MAX_BODY} bytes"),
            );
            return done(Outcome::Rejected, 0, r);
        }
    };
    let heads = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let hints = match connector.parse_webhook(&heads, &bytes) {
        Ok(h) => h,
        Err(ConnectorError::BadWebhook(m)) if is_body_problem(&m) => {
            tracing::warn!(%connection, reason = %m, "unreadable webhook refused");
            return done(
                Outcome::Rejected,
                0,
                error(StatusCode::BAD_REQUEST, "bad_body", m),
            );
        }
        Err(ConnectorError::BadWebhook(m)) => {
            tracing::warn!(%connection, reason = %m, "unverified webhook refused");
            return done(
                Outcome::Rejected,
                0,
                error(StatusCode::UNAUTHORIZED, "unverified", m),
            );
        }
        Err(ConnectorError::Unsupported(m)) => {
            let r = error(
                StatusCode::NOT_FOUND,
                "no_webhooks",
                format!("connection `{connection}` does not take webhooks ({m})"),
            );
            return done(Outcome::Rejected, 0, r);
        }
        Err(e) => {
            tracing::error!(%connection, error = %e, "webhook could not be read");
            return done(
                Outcome::Rejected,
                0,
                error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
            );
        }
    };
    if hints.is_empty() {
        // Verified, but no record changed: GHL's INSTALL/UNINSTALL, events of another
        // location, event types not synced. Logged with their type; answered 200 so the sender
        // does not retry.
        let event = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default();
        tracing::info!(%connection, %event, "verified webhook with no record change (app install/uninstall or other); nothing stored");
        return done(
            Outcome::Accepted,
            0,
            Json(json!({"events": 0, "duplicates": 0, "jobs": 0})).into_response(),
        );
    }
    match s
        .engine
        .ingest(&connection, &hints, EventSource::Webhook)
        .await
    {
        Ok(report) => {
            let outcome = if report.events == 0 {
                Outcome::Duplicate
            } else {
                Outcome::Accepted
            };
            done(outcome, report.events, Json(json!(report)).into_response())
        }
        Err(e) => {
            // Not acknowledged: the sender retries (GHL redelivers only on 429; a user's
            // reconcile catches what it does not).
            tracing::error!(%connection, error = %e, "webhook could not be stored");
            let r = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                format!("the store did not take the event: {e}"),
            );
            done(Outcome::Rejected, 0, r)
        }
    }
}

async fn ready(State(s): State<Arc<AppState>>) -> Response {
    match s.engine.store.queue_stats().await {
        Ok(_) => Json(json!({"status": "ready", "connections": s.engine.connectors.keys().collect::<Vec<_>>()})).into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "store_unreachable", e.to_string()),
    }
}

async fn metrics_text(State(s): State<Arc<AppState>>) -> Response {
    let queue = s.engine.store.queue_stats().await.ok();
    s.metrics.observe_connections(&s.engine.connectors).await;
    (
        [("content-type", "text/plain; version=0.0.4")],
        s.metrics.render(queue.as_ref()),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_complaints_are_400_and_the_rest_401() {
        assert!(is_body_problem("malformed webhook body: expected value"));
        assert!(is_body_problem("the body is not JSON: eof"));
        assert!(is_body_problem(
            "not a SalesNexus Stage Trigger delivery (action \"x\", expected \"PostWebhook\")"
        ));
        assert!(!is_body_problem(
            "the x-ghl-signature signature does not verify: bad"
        ));
        assert!(!is_body_problem("webhook timestamp 1 is too old"));
        assert!(!is_body_problem(
            "the x-ghl-signature signature does not verify: it does not match the body"
        ));
        assert!(!is_body_problem(
            "no X-Webhook-Token header (one is configured)"
        ));
    }
}
