//! The admin REST API under `/api/v1`: read the project's flows and connections, the queue,
//! the dead-letter queue (list, replay, discard) and the audit log, so a user can operate the
//! bridge without a database shell.
//!
//! Closed by default: every `/api/v1` route needs `Authorization: Bearer <token>` matching the
//! admin token read at startup ([`AdminToken::load`]); with no token configured every route
//! answers 401. The OpenAPI document at `/api/openapi.json` is public and is generated from the
//! handlers' `#[utoipa::path]` annotations; [`ROUTES`] is the single list the router is built
//! from, so a test can check that the document and the router agree.

pub(crate) mod allow;
pub(crate) mod auth;
mod catalog;
#[cfg(test)]
mod doc_tests;
mod error;
pub mod flows;
mod handlers;
pub(crate) mod limit;
mod people;
mod query;
mod runs;
mod validate;

use std::path::PathBuf;
use std::sync::Arc;

use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put, MethodRouter};
use axum::{Json, Router};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::AppState;

pub use allow::{AllowList, Cidr, ALLOW_ENV};
pub use auth::{AdminToken, TOKEN_ENV, TOKEN_FILE};
pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use limit::{Limiter, RateLimit, RATE_ENV};

/// How the admin side is set up besides its token: where flow files live, the project's
/// connections (flows are checked against them), the per-client rate limit and the optional
/// IP allowlist.
#[derive(Debug, Default)]
pub struct AdminOptions {
    /// The project's flows folder; `None` (embedding without a project) makes the flow-file
    /// routes answer 503.
    pub flows_dir: Option<PathBuf>,
    /// Every connection of the project and its app, so a new flow may use one no running flow
    /// uses yet.
    pub apps: engine::flow::Connections,
    /// Per-client-IP token buckets.
    pub limiter: Limiter,
    /// Clients allowed on the admin side; `None` allows every address.
    pub allow: Option<AllowList>,
    /// Serializes flow-file writes, so two creates of one name cannot both pass the check.
    /// (Leave it `Default::default()`.)
    pub write_lock: tokio::sync::Mutex<()>,
    /// The running alert rules and their recent notifications, for the dashboard's Alerts
    /// page; `None` when no alerts file is loaded. (Here rather than on `AppState` so every
    /// existing `AppState { .. }` keeps compiling.)
    pub alerts: Option<std::sync::Arc<alerts::AlertBoard>>,
}

/// Prefix every admin route is mounted under.
pub const PREFIX: &str = "/api/v1";

/// Every admin route as `(method, path under PREFIX)`: the router is built from this list
/// and the OpenAPI test compares the document against it, so the two cannot drift apart.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/catalog"),
    ("get", "/flows"),
    ("post", "/flows"),
    ("post", "/flows/validate"),
    ("get", "/flows/{name}"),
    ("put", "/flows/{name}"),
    ("delete", "/flows/{name}"),
    ("post", "/flows/{name}/dry-run"),
    ("post", "/flows/{name}/enable"),
    ("post", "/flows/{name}/disable"),
    ("get", "/connections"),
    ("get", "/connections/{name}/test"),
    ("get", "/runs"),
    ("get", "/events"),
    ("get", "/queue"),
    ("get", "/dlq"),
    ("post", "/dlq/{id}/replay"),
    ("delete", "/dlq/{id}"),
    ("get", "/audit/calls"),
    ("get", "/audit/changes"),
    ("get", "/people"),
];

/// The handler of one entry of [`ROUTES`].
fn handler(method: &str, path: &str) -> MethodRouter<Arc<AppState>> {
    match (method, path) {
        ("get", "/catalog") => get(catalog::list),
        ("get", "/flows") => get(handlers::flows),
        ("post", "/flows") => post(flows::create_flow),
        ("post", "/flows/validate") => post(validate::validate),
        ("get", "/flows/{name}") => get(flows::get_flow),
        ("put", "/flows/{name}") => put(flows::update_flow),
        ("delete", "/flows/{name}") => delete(flows::delete_flow),
        ("post", "/flows/{name}/dry-run") => post(flows::dry_run),
        ("post", "/flows/{name}/enable") => post(flows::enable),
        ("post", "/flows/{name}/disable") => post(flows::disable),
        ("get", "/connections") => get(handlers::connections),
        ("get", "/connections/{name}/test") => get(crate::connect::test_handler),
        ("get", "/runs") => get(runs::runs),
        ("get", "/events") => get(runs::events),
        ("get", "/queue") => get(runs::queue),
        ("get", "/dlq") => get(handlers::dlq_list),
        ("post", "/dlq/{id}/replay") => post(handlers::dlq_replay),
        ("delete", "/dlq/{id}") => delete(handlers::dlq_discard),
        ("get", "/audit/calls") => get(handlers::audit_calls),
        ("get", "/audit/changes") => get(handlers::audit_changes),
        ("get", "/people") => get(people::person),
        _ => unreachable!("route {method} {path} in ROUTES has no handler"),
    }
}

/// The admin routes, to be nested under [`PREFIX`]; all behind the bearer-token check,
/// unknown paths and wrong methods included (so they do not reveal what exists).
pub fn router(state: Arc<AppState>) -> Router<Arc<AppState>> {
    let mut r: Router<Arc<AppState>> = Router::new();
    for (method, path) in ROUTES {
        r = r.route(path, handler(method, path));
    }
    r.fallback(|| async { ApiError::not_found("no such admin route").into_response() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this admin route does not take that method",
            )
            .into_response()
        })
        .layer(from_fn_with_state(state.clone(), auth::require_token))
        .layer(from_fn_with_state(state.clone(), allow::require_allowed))
        .layer(from_fn_with_state(state, limit::rate_limit))
}

/// `/api/openapi.json`, public (no token) but behind the admin side's allowlist and rate limit.
pub fn openapi_router(state: Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/openapi.json", get(openapi_json))
        .layer(from_fn_with_state(state.clone(), allow::require_allowed))
        .layer(from_fn_with_state(state, limit::rate_limit))
}

/// Adds the bearer scheme the admin routes use to the document.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        // Every admin answer may also be refused by the allowlist or the rate limit.
        let refusal = |why: &str| {
            utoipa::openapi::ResponseBuilder::new()
                .description(why)
                .content(
                    "application/json",
                    utoipa::openapi::ContentBuilder::new()
                        .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let r = &mut op.responses.responses;
                r.entry("403".into()).or_insert_with(|| {
                    refusal("the client address is outside the admin allowlist").into()
                });
                r.entry("429".into()).or_insert_with(|| {
                    refusal("rate limited: see the Retry-After header and details.retry_after_secs")
                        .into()
                });
            }
        }
    }
}

/// The OpenAPI 3 description of the admin API.
#[derive(OpenApi)]
#[openapi(
    info(title = "ghl-bridge admin API", description = "Operate a running ghl-bridge server."),
    paths(
        catalog::list,
        handlers::flows,
        flows::create_flow,
        validate::validate,
        flows::get_flow,
        flows::update_flow,
        flows::delete_flow,
        flows::dry_run,
        flows::enable,
        flows::disable,
        handlers::connections,
        crate::connect::test_handler,
        runs::runs,
        runs::events,
        runs::queue,
        handlers::dlq_list,
        handlers::dlq_replay,
        handlers::dlq_discard,
        handlers::audit_calls,
        handlers::audit_changes,
        people::person,
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        catalog::CatalogOut,
        validate::ValidateOut,
        validate::DiagnosticOut,
        handlers::FlowOut,
        handlers::ConnectionOut,
        crate::connect::ConnectionTest,
        crate::connect::EndpointsOut,
        crate::connect::EndpointOut,
        runs::QueueOut,
        runs::RunOut,
        runs::RunsPage,
        runs::EventOut,
        runs::EventsPage,
        flows::FlowDetailOut,
        flows::FlowWriteOut,
        flows::FlowSwitchOut,
        flows::FlowIn,
        flows::DryRunIn,
        handlers::ListOut,
        handlers::ReplayOut,
    )),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

/// `GET /api/openapi.json`: public, so tools can discover the API before holding a token.
pub async fn openapi_json() -> Response {
    Json(ApiDoc::openapi()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_with_its_method() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for (method, path) in ROUTES {
            let full = format!("{PREFIX}{path}");
            assert!(
                doc["paths"][&full][*method].is_object(),
                "{method} {full} missing from the OpenAPI document"
            );
        }
        let documented = doc["paths"].as_object().unwrap().len();
        let distinct: std::collections::BTreeSet<_> = ROUTES.iter().map(|r| r.1).collect();
        assert_eq!(documented, distinct.len(), "document has extra paths");
    }
}
