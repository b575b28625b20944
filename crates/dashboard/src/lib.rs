//! The web dashboard `ghl-bridge serve` shows under `/ui`: connect apps, build and test flows,
//! switch them on, and watch events, runs, latency, the dead-letter queue, the audit trail,
//! alerts and people — without writing code.
//!
//! Server-rendered HTML (minijinja templates compiled into the binary) with a vendored htmx
//! script for partial updates, so it works fully offline: no CDN, no build step. Every page
//! sits behind the admin login: the login form takes the admin token (made by
//! `ghl-bridge init`) and sets an HttpOnly, SameSite=Strict session cookie; state-changing
//! requests must also come from the dashboard's own origin. The pages call the same engine
//! and store functions as the admin API, so what the dashboard saves is what the CLI reads.
//!
//! Layout: `session.rs` (login, cookie, guard), `render.rs` (templates, layout, static files),
//! one module per page group (`pages/*.rs`) whose routes are listed in [`page_routes`].

mod pages;
mod render;
mod session;

use std::sync::Arc;

use axum::middleware::from_fn_with_state;
use axum::routing::get;
use axum::Router;
use server::AppState;

pub use render::render;
pub use session::Sessions;

/// Where the dashboard is mounted.
pub const PREFIX: &str = "/ui";

/// What the dashboard's handlers share: the server's state plus the login sessions.
pub struct Ui {
    /// The engine, store, connectors and admin settings of the running server.
    pub app: Arc<AppState>,
    /// Signed-in browsers.
    pub sessions: Sessions,
}

/// The dashboard's routes, to be merged into the server's router (they carry their own
/// `/ui` prefix). `/` redirects to the dashboard.
pub fn router(app: Arc<AppState>) -> Router {
    let ui = Arc::new(Ui {
        app,
        sessions: Sessions::default(),
    });
    let guarded = pages::routes()
        .layer(from_fn_with_state(ui.clone(), session::require_session))
        .with_state(ui.clone());
    let open = Router::new()
        .route(
            "/ui/login",
            get(session::login_form).post(session::login_submit),
        )
        .route("/ui/logout", axum::routing::post(session::logout))
        .route("/ui/static/{file}", get(render::static_file))
        .route("/", get(|| async { axum::response::Redirect::to("/ui/") }))
        .with_state(ui);
    open.merge(guarded)
}
