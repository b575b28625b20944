//! The checks every Contacts/OAuth API call passes before its handler, in GHL's order: `Version`
//! header, bearer token, rate limit (with headers on every answer), token type and scope,
//! location access, request validation from the spec; then injected faults around the handler.
//! A second, outer layer logs every call.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::auth::{TokenInfo, UserType};
use super::errors::ApiError;
use super::faults::FaultAction;
use super::model::iso;
use super::requestlog::LoggedRequest;
use super::spec::{Operation, SPEC};
use super::validate::validate_body;
use super::Ghl;

/// The API version GHL's v2 endpoints require in the `Version` header.
pub const API_VERSION: &str = "2021-07-28";
/// Largest request body accepted (GHL answers 413 past about 1 MB as well).
pub const MAX_BODY: usize = 1 << 20;

/// What the gate learned about a call, passed to the log layer through response extensions.
#[derive(Debug, Clone, Default)]
pub struct CallInfo {
    pub operation_id: Option<String>,
    pub app_id: Option<String>,
    pub location_id: Option<String>,
    pub fault: Option<String>,
}

fn with_info(mut resp: Response, info: CallInfo) -> Response {
    resp.extensions_mut().insert(info);
    resp
}

fn bearer(req: &Request) -> Option<String> {
    let h = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = h.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

fn query_pairs(req: &Request) -> Vec<(String, String)> {
    req.uri()
        .query()
        .map(|q| serde_urlencoded::from_str(q).unwrap_or_default())
        .unwrap_or_default()
}

/// Outer layer: buffers the body once, times the call and records it in the request log.
pub async fn log_layer(State(state): State<Arc<Ghl>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                axum::Json(serde_json::json!({
                "statusCode": 413, "message": "request entity too large"})),
            )
                .into_response()
        }
    };
    let logged_body = crate::ghl::requestlog::body_excerpt(&method, &bytes);
    // Never keep OAuth secrets or tokens from form bodies in the log.
    let logged_body = if path.starts_with("/oauth/") {
        None
    } else {
        logged_body
    };
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let info = resp
        .extensions()
        .get::<CallInfo>()
        .cloned()
        .unwrap_or_default();
    state.log.push(LoggedRequest {
        seq: 0,
        at: iso(chrono::Utc::now()),
        method,
        path,
        query,
        operation_id: info.operation_id,
        app_id: info.app_id,
        location_id: info.location_id,
        status: resp.status().as_u16(),
        latency_us: start.elapsed().as_micros() as u64,
        body: logged_body,
        fault: info.fault,
    });
    resp
}

/// The five `X-RateLimit-*` headers of one answer.
type LimitHeaders = [(&'static str, String); 5];

/// Why the gate refused a call, with the rate-limit headers to send when the call was counted.
struct Rejection {
    error: ApiError,
    headers: Option<LimitHeaders>,
}

fn reject(error: ApiError, headers: Option<LimitHeaders>) -> Box<Rejection> {
    Box::new(Rejection { error, headers })
}

fn check_location(token: &TokenInfo, location_id: &str) -> Result<(), ApiError> {
    match &token.location_id {
        Some(l) if l == location_id => Ok(()),
        _ => Err(ApiError::forbidden(
            "The token does not have access to this location.",
        )),
    }
}

/// Everything before the handler, from the `Version` header to request validation.
fn admit(
    state: &Ghl,
    op: Option<&Operation>,
    req: &Request,
    body: &Bytes,
    info: &mut CallInfo,
) -> Result<(TokenInfo, LimitHeaders), Box<Rejection>> {
    match req.headers().get("version").and_then(|v| v.to_str().ok()) {
        None => {
            return Err(reject(
                ApiError::bad_request("version header was not found"),
                None,
            ))
        }
        Some(v) if v != API_VERSION => {
            return Err(reject(
                ApiError::bad_request(format!("Version {v} is not supported; use {API_VERSION}")),
                None,
            ))
        }
        Some(_) => {}
    }
    let Some(token) = bearer(req) else {
        return Err(reject(
            ApiError::unauthorized("Invalid JWT: no bearer token in the Authorization header"),
            None,
        ));
    };
    let info_tok = state
        .auth
        .lock()
        .resolve(&token)
        .map_err(|e| reject(e, None))?;
    info.app_id = Some(info_tok.app_id.clone());
    info.location_id = Some(info_tok.resource_id().to_string());
    let decision = state
        .limiter
        .check(&info_tok.app_id, info_tok.resource_id());
    let headers = decision.headers.clone();
    if !decision.allowed {
        let secs = decision.retry_after.as_secs_f64().ceil().max(1.0) as u64;
        return Err(reject(ApiError::too_many_requests(secs), Some(headers)));
    }
    let fail = |e: ApiError| reject(e, Some(headers.clone()));
    let Some(op) = op else {
        return Ok((info_tok, headers));
    };
    let path = req.uri().path();
    if path.starts_with("/contacts") && info_tok.user_type == UserType::Company {
        return Err(fail(ApiError::unauthorized(
            "This route needs a Sub-Account (Location) token; get one from /oauth/locationToken",
        )));
    }
    if path.starts_with("/oauth/") && info_tok.user_type != UserType::Company {
        return Err(fail(ApiError::unauthorized(
            "This route needs an Agency (Company) token",
        )));
    }
    if !info_tok.scopes.contains(&op.scope) {
        return Err(fail(ApiError::unauthorized(format!(
            "The token is not authorized for this scope. Missing scope: {}",
            op.scope
        ))));
    }
    let query = query_pairs(req);
    let missing: Vec<String> = op
        .required_query
        .iter()
        .filter(|name| !query.iter().any(|(k, v)| k == *name && !v.is_empty()))
        .map(|name| format!("{name} should not be empty"))
        .collect();
    if !missing.is_empty() {
        return Err(fail(ApiError::unprocessable(missing)));
    }
    if path.starts_with("/contacts") {
        if let Some((_, loc)) = query.iter().find(|(k, _)| k == "locationId") {
            check_location(&info_tok, loc).map_err(fail)?;
        }
    }
    if let Some(schema) = &op.body_schema {
        let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(body)
                .map_err(|e| fail(ApiError::bad_request(format!("Invalid JSON body: {e}"))))?
        };
        let errors = validate_body(&value, schema);
        if !errors.is_empty() {
            return Err(fail(ApiError::unprocessable(errors)));
        }
        if let Some(loc) = value.get("locationId").and_then(Value::as_str) {
            if path.starts_with("/contacts") {
                check_location(&info_tok, loc).map_err(fail)?;
            }
        }
    }
    Ok((info_tok, headers))
}

fn set_headers(resp: &mut Response, headers: &LimitHeaders) {
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            resp.headers_mut().insert(*name, v);
        }
    }
}

/// The method and the matched route template (`/contacts/{contactId}`) of a request.
fn route_of(req: &Request) -> (String, String) {
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    (req.method().to_string(), template.unwrap_or_default())
}

/// Inner layer for bearer-authenticated API routes.
pub async fn api_gate(State(state): State<Arc<Ghl>>, req: Request, next: Next) -> Response {
    let (method, template) = route_of(&req);
    let op = SPEC.operation(&method, &template);
    let mut info = CallInfo {
        operation_id: op.map(|o| o.operation_id.clone()),
        ..Default::default()
    };
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_BODY).await.unwrap_or_default();
    let req = Request::from_parts(parts, Body::empty());
    let (token, headers) = match admit(&state, op, &req, &bytes, &mut info) {
        Ok(ok) => ok,
        Err(rejection) => {
            let mut resp = rejection.error.into_response();
            if let Some(h) = rejection.headers {
                set_headers(&mut resp, &h);
            }
            return with_info(resp, info);
        }
    };
    let (mut parts, _) = req.into_parts();
    parts.extensions.insert(token);
    let req = Request::from_parts(parts, Body::from(bytes));
    let mut resp = run_with_faults(&state, &mut info, &method, &template, req, next).await;
    set_headers(&mut resp, &headers);
    with_info(resp, info)
}

/// Draws the fault plan for a call and applies it around the handler.
async fn run_with_faults(
    state: &Ghl,
    info: &mut CallInfo,
    method: &str,
    template: &str,
    req: Request,
    next: Next,
) -> Response {
    let plan = state
        .faults
        .plan(info.operation_id.as_deref(), method, template);
    info.fault = plan.action.label();
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    match plan.action {
        FaultAction::ServerError(code) => ApiError::server_error(
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        )
        .into_response(),
        FaultAction::Timeout(d) => {
            tokio::time::sleep(d).await;
            ApiError::server_error(StatusCode::GATEWAY_TIMEOUT).into_response()
        }
        action => {
            let resp = next.run(req).await;
            match action {
                FaultAction::Garble if resp.status().is_success() => {
                    crate::ghl::faults::garble(resp).await
                }
                FaultAction::AcceptThen422 if resp.status().is_success() => {
                    ApiError::unprocessable(vec!["Unprocessable Entity".into()]).into_response()
                }
                _ => resp,
            }
        }
    }
}

/// Layer for the routes without a bearer token (`/oauth/token`, the consent pages): only faults,
/// so a test can make a token refresh fail, time out or answer garbage.
pub async fn fault_gate(State(state): State<Arc<Ghl>>, req: Request, next: Next) -> Response {
    let (method, template) = route_of(&req);
    let mut info = CallInfo {
        operation_id: SPEC
            .operation(&method, &template)
            .map(|o| o.operation_id.clone()),
        ..Default::default()
    };
    let resp = run_with_faults(&state, &mut info, &method, &template, req, next).await;
    with_info(resp, info)
}
