//! The admin REST API under `/api/v1`: read the project's flows and connections, the queue,
//! the dead-letter queue (list, replay, discard) and the audit log, so a user can operate the
//! bridge without a database shell.
//!
//! Closed by default: every `/api/v1` route needs `Authorization: Bearer <token>` matching the
//! admin token read at startup ([`AdminToken::load`]); with no token configured every route
//! answers 401. The OpenAPI document at `/api/openapi.json` is public and is generated from the
//! handlers' `#[utoipa::path]` annotations; [`ROUTES`] is the single list the router is built
//! from, so a test can check that the document and the router agree.

mod auth;
mod catalog;
mod error;
mod handlers;
mod people;
mod query;
mod validate;

use std::sync::Arc;

use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, MethodRouter};
use axum::{Json, Router};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::AppState;

pub use auth::{AdminToken, TOKEN_ENV, TOKEN_FILE};
pub use error::{ApiError, ErrorBody, ErrorDetail};

/// Prefix every admin route is mounted under.
pub const PREFIX: &str = "/api/v1";

/// Every admin route as `(method, path under PREFIX)`: the router is built from this list
/// and the OpenAPI test compares the document against it, so the two cannot drift apart.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/catalog"),
    ("get", "/flows"),
    ("post", "/flows/validate"),
    ("get", "/connections"),
    ("get", "/runs"),
    ("get", "/events"),
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
        ("post", "/flows/validate") => post(validate::validate),
        ("get", "/connections") => get(handlers::connections),
        ("get", "/runs") => get(handlers::runs),
        ("get", "/events") => get(handlers::events),
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
        .layer(from_fn_with_state(state, auth::require_token))
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
    }
}

/// The OpenAPI 3 description of the admin API.
#[derive(OpenApi)]
#[openapi(
    info(title = "ghl-bridge admin API", description = "Operate a running ghl-bridge server."),
    paths(
        catalog::list,
        handlers::flows,
        validate::validate,
        handlers::connections,
        handlers::runs,
        handlers::events,
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
        handlers::RunsOut,
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
