//! Signing in to the dashboard: the admin token, typed once into the login form, opens a
//! session held in memory (a random id in an HttpOnly, SameSite=Strict cookie, 12 hours). The
//! token itself is never stored in the browser. Every other page requires a session; a
//! request that changes something must also carry the dashboard's own `Origin` (or none, as
//! same-origin form posts from older browsers), which closes cross-site form posts even if a
//! browser ignored SameSite.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::json;

use crate::{render, Ui};

/// Name of the session cookie.
pub const COOKIE: &str = "ghlb_session";
/// How long a session lasts without signing in again.
pub const LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// The signed-in browsers: session id → when it ends.
#[derive(Default)]
pub struct Sessions(Mutex<HashMap<String, Instant>>);

impl Sessions {
    /// Opens a session and returns its id (32 random bytes, hex).
    pub fn open(&self) -> String {
        let id: String = (0..32)
            .map(|_| format!("{:02x}", rand::random::<u8>()))
            .collect();
        let mut map = self.0.lock();
        let now = Instant::now();
        map.retain(|_, until| *until > now);
        map.insert(id.clone(), now + LIFETIME);
        id
    }

    /// Whether `id` is a live session.
    pub fn valid(&self, id: &str) -> bool {
        self.0
            .lock()
            .get(id)
            .is_some_and(|until| *until > Instant::now())
    }

    /// Ends a session.
    pub fn close(&self, id: &str) {
        self.0.lock().remove(id);
    }
}

/// The session id the request's cookie carries, if any.
pub fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

/// Whether a state-changing request comes from the dashboard itself: its `Origin` (when the
/// browser sends one) names the host the request was sent to.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.trim_end_matches('/') == host)
}

/// Middleware of every dashboard page but the login: no session → the login page (htmx
/// requests get a full-page redirect header); a foreign origin on a change → 403.
pub async fn require_session(State(ui): State<Arc<Ui>>, req: Request, next: Next) -> Response {
    let signed_in = session_id(req.headers()).is_some_and(|id| ui.sessions.valid(&id));
    if !signed_in {
        if req.headers().contains_key("hx-request") {
            return ([("hx-redirect", "/ui/login")], StatusCode::UNAUTHORIZED).into_response();
        }
        return Redirect::to("/ui/login").into_response();
    }
    if req.method() != Method::GET && req.method() != Method::HEAD && !same_origin(req.headers()) {
        return (
            StatusCode::FORBIDDEN,
            "this change did not come from the dashboard's own pages",
        )
            .into_response();
    }
    next.run(req).await
}

/// `GET /ui/login`.
pub async fn login_form(State(ui): State<Arc<Ui>>) -> Response {
    let closed = ui.app.admin_token.is_none();
    render::page("login.html", json!({"closed": closed, "error": null}))
}

/// The login form's fields.
#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
}

/// `POST /ui/login`: the admin token opens a session.
pub async fn login_submit(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if !same_origin(&headers) {
        return (
            StatusCode::FORBIDDEN,
            "sign in from the dashboard's own page",
        )
            .into_response();
    }
    let Some(token) = &ui.app.admin_token else {
        return render::page_status(
            StatusCode::UNAUTHORIZED,
            "login.html",
            json!({"closed": true, "error": "No admin token is configured: run `ghl-bridge init` in the project folder, then restart `ghl-bridge serve`."}),
        );
    };
    if !token.matches(form.token.trim()) {
        tracing::warn!("dashboard sign-in refused: wrong admin token");
        return render::page_status(
            StatusCode::UNAUTHORIZED,
            "login.html",
            json!({"closed": false, "error": "That is not the admin token. It is in .ghl-bridge/admin-token in the project folder (or GHL_BRIDGE_ADMIN_TOKEN)."}),
        );
    }
    let id = ui.sessions.open();
    let cookie = format!(
        "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        LIFETIME.as_secs()
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to("/ui/")).into_response()
}

/// `POST /ui/logout`.
pub async fn logout(State(ui): State<Arc<Ui>>, headers: HeaderMap) -> Response {
    if let Some(id) = session_id(&headers) {
        ui.sessions.close(&id);
    }
    let cookie = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/ui/login")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_open_check_close() {
        let s = Sessions::default();
        let id = s.open();
        assert_eq!(id.len(), 64);
        assert!(s.valid(&id));
        assert!(!s.valid("nope"));
        s.close(&id);
        assert!(!s.valid(&id));
    }

    #[test]
    fn cookie_and_origin_are_read() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; ghlb_session=abc".parse().unwrap());
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(session_id(&h).as_deref(), Some("abc"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert!(!same_origin(&h));
    }
}
