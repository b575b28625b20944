//! What every `/v3.1` call passes before and after its handler: HTTP Basic auth with the API
//! key, the request budget (`X-RateLimit-Limit` / `X-RateLimit-Remaining` on every
//! authenticated answer, 429 with `Retry-After` when spent), then the injected faults around
//! the handler; and, outermost, the request log.
//!
//! Accepted credentials (targets README §1.1): `base64(key)` (Insightly's own KB article and
//! older clients), `base64(key:)` (the documented form: key as user name, empty password) and
//! `base64(key:anything)` (the password is ignored). Standard and URL-safe base64 both decode.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{to_bytes, Body};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;

use super::errors::InsightlyError;
use super::InsightlyApp;
use crate::ghl::faults::FaultAction;
use crate::ghl::requestlog::LoggedRequest;

/// Largest request body accepted.
pub const MAX_BODY: usize = 1 << 20;

#[derive(Debug, Clone, Default)]
struct CallInfo {
    operation: Option<String>,
    fault: Option<String>,
}

/// The operation id of a route, as fault rules and the log name it: the swagger's path with
/// its method, lower-cased and dashed — `get-contacts`, `get-contacts-search`,
/// `post-contacts`, `put-contacts-id`, `delete-contacts-id-tags`, …
pub fn operation_id(method: &str, template: &str) -> Option<String> {
    let rest = template.strip_prefix("/v3.1/")?;
    let parts: Vec<String> = rest
        .split('/')
        .map(|s| {
            s.trim_matches(|c| c == '{' || c == '}')
                .to_ascii_lowercase()
                .replace("linkid", "id")
        })
        .collect();
    Some(format!(
        "{}-{}",
        method.to_ascii_lowercase(),
        parts.join("-")
    ))
}

/// Whether the `Authorization` header carries `key` in one of the accepted forms.
pub fn authorized(header: Option<&str>, key: &str) -> bool {
    let Some((scheme, token)) = header.and_then(|h| h.trim().split_once(' ')) else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") || key.is_empty() {
        return false;
    }
    let token = token.trim();
    let decoded = STANDARD
        .decode(token)
        .or_else(|_| URL_SAFE.decode(token))
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    match decoded {
        Some(d) => {
            d == key
                || d.strip_prefix(key)
                    .is_some_and(|rest| rest.starts_with(':'))
        }
        None => false,
    }
}

/// Outer layer of `/v3.1`: buffers the body once, times the call and logs it. The
/// `Authorization` header is never logged.
pub async fn log_layer(State(app): State<Arc<InsightlyApp>>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/_sandbox") {
        return next.run(req).await;
    }
    let start = Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return InsightlyError::bad_request("request body larger than 1 MiB").into_response();
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
        at: super::schema::fmt_time(app.now()),
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

/// Inner layer of every `/v3.1` route: 401 without the key; otherwise counted against the
/// budget (429 when spent) and answered with the `X-RateLimit-*` headers.
pub async fn api_gate(State(app): State<Arc<InsightlyApp>>, req: Request, next: Next) -> Response {
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
    let header = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if header.is_none() {
        let e = InsightlyError::unauthorized("Authentication failed.");
        return with_info(e.into_response(), info);
    }
    if !authorized(header, &app.api_key()) {
        let e = InsightlyError::unauthorized("Invalid api key provided.");
        return with_info(e.into_response(), info);
    }
    let verdict = app.quota.check(app.now());
    let mut resp = if verdict.allowed {
        run_with_faults(&app, &mut info, &method, &template, req, next).await
    } else if verdict.per_second {
        InsightlyError::rate_limited(
            "Too many requests per second. Slow down.",
            verdict.retry_after_secs,
        )
        .into_response()
    } else {
        InsightlyError::rate_limited(
            format!(
                "The daily API request limit of {} has been reached.",
                verdict.limit
            ),
            verdict.retry_after_secs,
        )
        .into_response()
    };
    for (name, value) in [
        ("x-ratelimit-limit", verdict.limit),
        ("x-ratelimit-remaining", verdict.remaining),
    ] {
        resp.headers_mut().insert(name, HeaderValue::from(value));
    }
    with_info(resp, info)
}

/// Draws the fault plan for a call (the GHL emulator's rules and generator) and applies it.
async fn run_with_faults(
    app: &InsightlyApp,
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
            InsightlyError::server_error(status).into_response()
        }
        FaultAction::Timeout(d) => {
            tokio::time::sleep(d).await;
            InsightlyError::server_error(StatusCode::GATEWAY_TIMEOUT).into_response()
        }
        action => {
            let resp = next.run(req).await;
            match action {
                FaultAction::Garble if resp.status().is_success() => {
                    crate::ghl::faults::garble(resp).await
                }
                // "Accepted, then an error": the write happened, the client sees a 500.
                FaultAction::AcceptThen422 if resp.status().is_success() => {
                    InsightlyError::server_error(StatusCode::INTERNAL_SERVER_ERROR).into_response()
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
    fn basic_auth_variants_and_operation_ids() {
        let enc = |s: &str| format!("Basic {}", STANDARD.encode(s));
        for ok in ["k-1", "k-1:", "k-1:whatever"] {
            assert!(authorized(Some(&enc(ok)), "k-1"), "{ok}");
        }
        for bad in ["k-2", "k-12:", ":k-1", ""] {
            assert!(!authorized(Some(&enc(bad)), "k-1"), "{bad}");
        }
        assert!(!authorized(Some("Bearer k-1"), "k-1"));
        assert!(!authorized(Some("Basic %%%"), "k-1"));
        assert_eq!(
            operation_id("GET", "/v3.1/Contacts/Search").as_deref(),
            Some("get-contacts-search")
        );
        assert_eq!(
            operation_id("DELETE", "/v3.1/Tasks/{id}/Links/{linkId}").as_deref(),
            Some("delete-tasks-id-links-id")
        );
    }
}
