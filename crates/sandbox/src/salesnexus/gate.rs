//! What every `/api/v1` call passes before and after its handler, in order: the `X-Api-Key`
//! check (401), the hourly budget (429 + `Retry-After` until the window resets), the queue depth
//! (a request beyond `queue_depth` in flight is answered 429 + `Retry-After: 1` at once), then
//! the injected faults around the handler; and, outermost, the request log.
//!
//! The API announces no remaining-budget headers (none are documented), so none are sent: a
//! client has to count its own requests.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::errors::SnError;
use super::SnApp;
use crate::ghl::faults::FaultAction;
use crate::ghl::requestlog::LoggedRequest;

/// Largest request body accepted.
const MAX_BODY: usize = 1 << 20;

/// The fixed budget window of the account's key.
#[derive(Debug, Default)]
pub struct Hourly {
    started: Option<Instant>,
    used: u32,
}

impl Hourly {
    /// Forgets the count.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Counts one request if it fits; otherwise the whole seconds until the window resets.
    fn take(&mut self, limit: u32, window: Duration) -> Result<u32, u64> {
        let now = Instant::now();
        let started = *self.started.get_or_insert(now);
        if now.duration_since(started) >= window {
            self.started = Some(now);
            self.used = 0;
        }
        if self.used >= limit {
            let left = window.saturating_sub(now.duration_since(self.started.unwrap_or(now)));
            return Err(left.as_secs_f64().ceil().max(1.0) as u64);
        }
        self.used += 1;
        Ok(limit - self.used)
    }

    /// Requests counted in the current window.
    pub fn used(&self) -> u32 {
        self.used
    }
}

/// What the gate learned about a call, handed to the log layer in the response's extensions.
#[derive(Debug, Clone, Default)]
struct CallInfo {
    operation: Option<String>,
    fault: Option<String>,
}

/// The operation id of a route, as fault rules and the log name it: `ping`, `list-contacts`,
/// `get-task`, `create-note`, `update-contact-field`, `batch-delete-contacts`, …
pub fn operation_id(method: &str, template: &str) -> Option<String> {
    let rest = template.strip_prefix("/api/v1/")?;
    let segs: Vec<&str> = rest.split('/').collect();
    let one = |plural: &str| plural.strip_suffix('s').unwrap_or(plural).to_string();
    let op = match (method, segs.as_slice()) {
        ("GET", ["ping"]) => "ping".to_string(),
        ("GET", [p]) => format!("list-{p}"),
        ("POST", [p]) => format!("create-{}", one(p)),
        (_, [p, b]) if b.starts_with("batch-") => format!("{b}-{p}"),
        ("GET", [p, _]) => format!("get-{}", one(p)),
        ("PUT", [p, _]) => format!("update-{}", one(p)),
        ("DELETE", [p, _]) => format!("delete-{}", one(p)),
        _ => return None,
    };
    Some(op)
}

/// Outer layer for everything but `/_sandbox`: buffers the body once, times the call and logs
/// it. The API key travels in a header, and headers are never kept.
pub async fn log_layer(State(app): State<Arc<SnApp>>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/_sandbox") {
        return next.run(req).await;
    }
    let start = Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return SnError::bad_request("request body larger than 1 MiB").into_response();
    };
    let logged_body = crate::ghl::requestlog::body_excerpt(&method, &bytes);
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let info = resp
        .extensions()
        .get::<CallInfo>()
        .cloned()
        .unwrap_or_default();
    app.log.push(LoggedRequest {
        seq: 0,
        at: super::model::iso(chrono::Utc::now()),
        method,
        path,
        query,
        operation_id: info.operation,
        app_id: None,
        location_id: None,
        status: resp.status().as_u16(),
        latency_us: start.elapsed().as_micros() as u64,
        body: logged_body,
        fault: info.fault,
    });
    resp
}

fn with_info(mut resp: Response, info: CallInfo) -> Response {
    resp.extensions_mut().insert(info);
    resp
}

/// Frees a queue slot when the call ends, however it ends.
struct Slot<'a>(&'a SnApp);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn check_key(app: &SnApp, req: &Request) -> Result<(), SnError> {
    let presented = req
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    match presented {
        None | Some("") => Err(SnError::unauthorized("Missing X-Api-Key header")),
        Some(k) if !k.starts_with("sn_live_") => Err(SnError::unauthorized(
            "Invalid API key: keys start with sn_live_",
        )),
        Some(k) if k != app.api_key() => Err(SnError::unauthorized("Invalid or expired API key")),
        Some(_) => Ok(()),
    }
}

/// Inner layer of every `/api/v1` route.
pub async fn api_gate(State(app): State<Arc<SnApp>>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let mut info = CallInfo {
        operation: operation_id(&method, &template),
        fault: None,
    };
    if let Err(e) = check_key(&app, &req) {
        return with_info(e.into_response(), info);
    }
    let (limit, window, depth) = {
        let c = app.config.read();
        (
            c.hourly_limit,
            Duration::from_secs(c.window_secs.max(1)),
            c.queue_depth,
        )
    };
    if let Err(secs) = app.hourly.lock().take(limit, window) {
        let e = SnError::too_many(
            secs,
            format!("Rate limit of {limit} requests per hour exceeded"),
        );
        return with_info(e.into_response(), info);
    }
    let before = app.in_flight.fetch_add(1, Ordering::SeqCst);
    let _slot = Slot(&app);
    if depth.is_some_and(|d| before >= d) {
        let e = SnError::too_many(
            1,
            format!(
                "Too many concurrent requests: queue depth is {}",
                depth.unwrap_or_default()
            ),
        );
        return with_info(e.into_response(), info);
    }
    let resp = run_with_faults(&app, &mut info, &method, &template, req, next).await;
    with_info(resp, info)
}

/// Draws the fault plan for a call (the GHL emulator's rules and generator) and applies it.
async fn run_with_faults(
    app: &SnApp,
    info: &mut CallInfo,
    method: &str,
    template: &str,
    req: Request,
    next: Next,
) -> Response {
    let plan = app.faults.plan(info.operation.as_deref(), method, template);
    info.fault = plan.action.label();
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    match plan.action {
        FaultAction::ServerError(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            SnError::server(status).into_response()
        }
        FaultAction::Timeout(d) => {
            tokio::time::sleep(d).await;
            SnError::server(StatusCode::GATEWAY_TIMEOUT).into_response()
        }
        action => {
            let resp = next.run(req).await;
            match action {
                FaultAction::Garble if resp.status().is_success() => {
                    crate::ghl::faults::garble(resp).await
                }
                FaultAction::AcceptThen422 if resp.status().is_success() => {
                    SnError::invalid("request rejected (injected fault: accept_then_422)")
                        .into_response()
                }
                _ => resp,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_follow_the_routes() {
        let op = |m, t| operation_id(m, t).unwrap_or_default();
        assert_eq!(op("GET", "/api/v1/ping"), "ping");
        assert_eq!(op("GET", "/api/v1/contacts"), "list-contacts");
        assert_eq!(op("POST", "/api/v1/notes"), "create-note");
        assert_eq!(op("PUT", "/api/v1/tasks/{id}"), "update-task");
        assert_eq!(op("DELETE", "/api/v1/contacts/{id}"), "delete-contact");
        assert_eq!(
            op("DELETE", "/api/v1/contacts/batch-delete"),
            "batch-delete-contacts"
        );
        assert_eq!(op("POST", "/api/v1/contact-fields"), "create-contact-field");
        assert_eq!(
            op("PUT", "/api/v1/contact-fields/{name}"),
            "update-contact-field"
        );
    }

    #[test]
    fn the_budget_counts_then_refuses_until_the_window_resets() {
        let mut h = Hourly::default();
        let w = Duration::from_secs(3600);
        assert_eq!(h.take(2, w), Ok(1));
        assert_eq!(h.take(2, w), Ok(0));
        let wait = h.take(2, w).unwrap_err();
        assert!((3590..=3600).contains(&wait), "{wait}");
        assert_eq!(h.used(), 2);
        let mut short = Hourly::default();
        assert!(
            short.take(1, Duration::ZERO).is_ok(),
            "a zero window resets each time"
        );
    }
}
