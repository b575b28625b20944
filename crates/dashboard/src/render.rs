//! Templates and static files, compiled into the binary so the dashboard needs nothing on disk
//! and nothing from the internet. Every page template extends `base.html` (navigation, the
//! vendored htmx script, the stylesheet); fragments (`_*.html`) are what htmx swaps in.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

/// Every template, by name. A page group adds its files here.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("overview.html", include_str!("../templates/overview.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("monitor.html", include_str!("../templates/monitor.html")),
    (
        "_queue_depth.html",
        include_str!("../templates/_queue_depth.html"),
    ),
    (
        "_flow_stats.html",
        include_str!("../templates/_flow_stats.html"),
    ),
    (
        "_live_events.html",
        include_str!("../templates/_live_events.html"),
    ),
    (
        "_live_runs.html",
        include_str!("../templates/_live_runs.html"),
    ),
    ("dlq.html", include_str!("../templates/dlq.html")),
    (
        "_dlq_table.html",
        include_str!("../templates/_dlq_table.html"),
    ),
    ("alerts.html", include_str!("../templates/alerts.html")),
    (
        "_alert_history.html",
        include_str!("../templates/_alert_history.html"),
    ),
    (
        "connections.html",
        include_str!("../templates/connections.html"),
    ),
    (
        "connection.html",
        include_str!("../templates/connection.html"),
    ),
    (
        "_connection_test.html",
        include_str!("../templates/_connection_test.html"),
    ),
    ("flows.html", include_str!("../templates/flows.html")),
    (
        "_flow_row.html",
        include_str!("../templates/_flow_row.html"),
    ),
    (
        "_flow_switch.html",
        include_str!("../templates/_flow_switch.html"),
    ),
    (
        "_flow_error.html",
        include_str!("../templates/_flow_error.html"),
    ),
    (
        "flows_new.html",
        include_str!("../templates/flows_new.html"),
    ),
    (
        "flow_edit.html",
        include_str!("../templates/flow_edit.html"),
    ),
    (
        "_flow_check.html",
        include_str!("../templates/_flow_check.html"),
    ),
    (
        "_mapping_row.html",
        include_str!("../templates/_mapping_row.html"),
    ),
    ("_dry_run.html", include_str!("../templates/_dry_run.html")),
    ("audit.html", include_str!("../templates/audit.html")),
    ("people.html", include_str!("../templates/people.html")),
    (
        "_people_results.html",
        include_str!("../templates/_people_results.html"),
    ),
    ("person.html", include_str!("../templates/person.html")),
];

/// The static files served under `/ui/static/`: (name, content type, bytes).
const STATIC: &[(&str, &str, &[u8])] = &[
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/htmx.min.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../static/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/app.js"),
    ),
];

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // HTML-escape every value: records and error messages come from other apps.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        for (name, text) in TEMPLATES {
            env.add_template(name, text)
                .unwrap_or_else(|e| panic!("dashboard template {name}: {e}"));
        }
        env
    })
}

/// Renders a template to a string; a template error becomes a readable message (never a
/// panic), logged with the template's name.
pub fn render(name: &str, ctx: impl Serialize) -> Result<String, String> {
    let t = env()
        .get_template(name)
        .map_err(|e| format!("template {name}: {e}"))?;
    t.render(minijinja::Value::from(minijinja::value::Serde(ctx)))
        .map_err(|e| {
            tracing::error!(template = name, error = %e, "dashboard template failed");
            format!("template {name}: {e}")
        })
}

/// A full page (or fragment) with status 200.
pub fn page(name: &str, ctx: impl Serialize) -> Response {
    page_status(StatusCode::OK, name, ctx)
}

/// A full page (or fragment) with the given status.
pub fn page_status(status: StatusCode, name: &str, ctx: impl Serialize) -> Response {
    match render(name, ctx) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Html(format!("<pre>{}</pre>", escape(&e))),
        )
            .into_response(),
    }
}

/// Minimal HTML escaping for text put into markup outside templates.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `GET /ui/static/{file}`.
pub async fn static_file(Path(file): Path<String>) -> Response {
    match STATIC.iter().find(|(n, _, _)| *n == file) {
        Some((_, ctype, bytes)) => (
            [
                (header::CONTENT_TYPE, *ctype),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        for (name, _) in TEMPLATES {
            env().get_template(name).expect(name);
        }
    }

    #[test]
    fn values_are_escaped() {
        let html = render(
            "error.html",
            serde_json::json!({"title": "x", "message": "<script>alert(1)</script>", "nav": ""}),
        )
        .unwrap();
        assert!(!html.contains("<script>alert(1)"));
        assert!(html.contains("&lt;script&gt;"));
    }
}
