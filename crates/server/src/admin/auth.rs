//! The admin token and the bearer check in front of every admin route.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use crate::AppState;

/// Environment variable holding the admin token; wins over the file.
pub const TOKEN_ENV: &str = "GHL_BRIDGE_ADMIN_TOKEN";

/// Where `ghl-bridge init` writes the admin token, relative to the project directory.
pub const TOKEN_FILE: &str = ".ghl-bridge/admin-token";

/// The admin API's shared secret. Its `Debug` never shows the value, so it cannot leak
/// through a log line or an error that prints the state.
#[derive(Clone)]
pub struct AdminToken(String);

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

impl AdminToken {
    /// Reads the token once at startup: `GHL_BRIDGE_ADMIN_TOKEN`, else
    /// `<project_dir>/.ghl-bridge/admin-token`, both trimmed. `None` (API closed) when
    /// neither exists or both are blank.
    pub fn load(project_dir: &Path) -> Option<AdminToken> {
        let file = project_dir.join(TOKEN_FILE);
        let (raw, source) = match std::env::var(TOKEN_ENV) {
            Ok(t) if !t.trim().is_empty() => (t, TOKEN_ENV.to_string()),
            _ => match std::fs::read_to_string(&file) {
                Ok(t) => (t, file.display().to_string()),
                Err(_) => (String::new(), String::new()),
            },
        };
        let token = raw.trim();
        if token.is_empty() {
            tracing::warn!(
                "admin API closed: no admin token (set {TOKEN_ENV} or run `ghl-bridge init`)"
            );
            return None;
        }
        // The source is logged, never the value.
        tracing::info!(%source, "admin API enabled at /api/v1");
        Some(AdminToken(token.to_string()))
    }

    /// A token given directly (embedding, tests).
    pub fn new(token: impl Into<String>) -> AdminToken {
        AdminToken(token.into())
    }

    /// Whether `given` is this token. Constant-time, so response timing does not reveal a
    /// prefix of the token; public for the dashboard's login form.
    pub fn matches(&self, given: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(given.as_bytes()))
    }
}

/// Middleware: 401 unless the request carries `Authorization: Bearer <admin token>`.
pub(crate) async fn require_token(
    State(s): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(token) = &s.admin_token else {
        return unauthorized(format!(
            "the admin API is closed: no admin token is configured; run `ghl-bridge init` \
             (it writes {TOKEN_FILE} next to the project file) or set {TOKEN_ENV}, then restart"
        ));
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            // The scheme name is case-insensitive (RFC 9110).
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        });
    match given {
        None => unauthorized("missing `Authorization: Bearer <admin token>` header".into()),
        Some(g) if token.matches(g) => next.run(req).await,
        Some(_) => unauthorized("the bearer token is not the admin token".into()),
    }
}

fn unauthorized(message: String) -> Response {
    let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_token_and_compare_is_exact() {
        let t = AdminToken::new("s3cret-value");
        assert!(!format!("{t:?}").contains("s3cret"));
        assert!(t.matches("s3cret-value"));
        assert!(!t.matches("s3cret-valu"));
        assert!(!t.matches("s3cret-value2"));
    }
}
