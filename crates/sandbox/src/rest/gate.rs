//! What every `/v1` call passes before and after its handler: the bearer key, the rate limit
//! (headers on every authenticated answer), then the injected faults around the handler; and,
//! outermost, the request log.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{to_bytes, Body};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::errors::RestError;
use super::schema::iso;
use super::RestApp;
use crate::ghl::faults::FaultAction;
use crate::ghl::requestlog::LoggedRequest;

/// Largest request body accepted.
pub const MAX_BODY: usize = 1 << 20;

/// What the gate learned about a call, handed to the log layer in the response's extensions.
#[derive(Debug, Clone, Default)]
struct CallInfo {
    operation: Option<String>,
    fault: Option<String>,
}

/// The operation id of a route, as fault rules and the log name it: `list-contacts`,
/// `create-note`, `update-task`, `add-contact-tags`, `list-contact-appointments`, …
pub fn operation_id(method: &str, template: &str) -> Option<String> {
    let segs: Vec<&str> = template.trim_start_matches("/v1/").split('/').collect();
    let one = |plural: &str| plural.strip_suffix('s').unwrap_or(plural).to_string();
    let op = match (method, segs.as_slice()) {
        ("GET", [p]) => format!("list-{p}"),
        ("POST", [p]) => format!("create-{}", one(p)),
        ("DELETE", [p]) => format!("delete-{p}"),
        ("GET", [p, _]) => format!("get-{}", one(p)),
        ("PATCH", [p, _]) => format!("update-{}", one(p)),
        ("DELETE", [p, _]) => format!("delete-{}", one(p)),
        ("POST", ["contacts", _, "tags"]) => "add-contact-tags".into(),
        ("DELETE", ["contacts", _, "tags"]) => "remove-contact-tags".into(),
        ("GET", ["contacts", _, c]) => format!("list-contact-{c}"),
        ("POST", ["contacts", _, c]) => format!("create-{}", one(c)),
        _ => return None,
    };
    Some(op)
}

/// Outer layer for everything but `/_sandbox`: buffers the body once, times the call and logs
/// it. The API key is never logged (it travels in a header, and headers are not kept).
///
/// The GHL log entry this reuses has no idempotency-key field; the emulator has no apps, so the
/// entry's `app_id` carries the `Idempotency-Key` and the admin API shows it under that name.
pub async fn log_layer(State(app): State<Arc<RestApp>>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/_sandbox") {
        return next.run(req).await;
    }
    let start = Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let idempotency_key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return RestError::bad_request(
            "request body larger than 1 MiB",
            serde_json::json!({"max_bytes": MAX_BODY}),
        )
        .into_response();
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
        at: iso(chrono::Utc::now()),
        method,
        path,
        query,
        operation_id: info.operation,
        app_id: idempotency_key,
        location_id: None,
        status: resp.status().as_u16(),
        latency_us: start.elapsed().as_micros() as u64,
        body: logged_body,
        fault: info.fault,
    });
    resp
}

fn bearer(req: &Request) -> Option<&str> {
    let h = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = h.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn with_info(mut resp: Response, info: CallInfo) -> Response {
    resp.extensions_mut().insert(info);
    resp
}

/// Inner layer of every `/v1` route: 401 without the right key; otherwise counted against the
/// key's window (429 when spent) and answered with the three `X-RateLimit-*` headers.
pub async fn api_gate(State(app): State<Arc<RestApp>>, req: Request, next: Next) -> Response {
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
    let key = app.api_key();
    let presented = bearer(&req).map(str::to_string);
    let Some(presented) = presented else {
        let e = RestError::unauthorized("missing Authorization: Bearer <api key> header");
        return with_info(e.into_response(), info);
    };
    if presented != key {
        return with_info(
            RestError::unauthorized("invalid API key").into_response(),
            info,
        );
    }
    let verdict = app.limiter.check(&key);
    let mut resp = if verdict.allowed {
        run_with_faults(&app, &mut info, &method, &template, req, next).await
    } else {
        let cfg = app.limiter.config();
        RestError::rate_limited(verdict.reset_secs, cfg.limit, cfg.window_secs).into_response()
    };
    for (name, value) in verdict.headers() {
        if let Ok(v) = HeaderValue::from_str(&value) {
            resp.headers_mut().insert(name, v);
        }
    }
    with_info(resp, info)
}

/// Draws the fault plan for a call (the GHL emulator's rules and generator) and applies it.
async fn run_with_faults(
    app: &RestApp,
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
            RestError::server_error(status).into_response()
        }
        FaultAction::Timeout(d) => {
            tokio::time::sleep(d).await;
            RestError::server_error(StatusCode::GATEWAY_TIMEOUT).into_response()
        }
        action => {
            let resp = next.run(req).await;
            match action {
                FaultAction::Garble if resp.status().is_success() && has_body(&resp) => {
                    crate::ghl::faults::garble(resp).await
                }
                FaultAction::AcceptThen422 if resp.status().is_success() => {
                    RestError::invalid_field("body", "rejected (injected fault: accept_then_422)")
                        .into_response()
                }
                _ => resp,
            }
        }
    }
}

fn has_body(resp: &Response) -> bool {
    resp.status() != StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::operation_id;

    #[test]
    fn operation_ids_follow_the_routes() {
        let op = |m, t| operation_id(m, t).unwrap_or_default();
        assert_eq!(op("GET", "/v1/contacts"), "list-contacts");
        assert_eq!(op("POST", "/v1/contacts"), "create-contact");
        assert_eq!(op("PATCH", "/v1/notes/{id}"), "update-note");
        assert_eq!(op("POST", "/v1/contacts/{id}/tags"), "add-contact-tags");
        assert_eq!(
            op("POST", "/v1/contacts/{id}/appointments"),
            "create-appointment"
        );
        assert_eq!(op("GET", "/v1/contacts/{id}/tasks"), "list-contact-tasks");
        assert_eq!(op("DELETE", "/v1/webhooks/{id}"), "delete-webhook");
    }
}
