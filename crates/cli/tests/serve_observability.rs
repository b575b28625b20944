//! What an operator sees of a real `ghl-bridge serve` after real work (a signed GHL webhook
//! synced into Your App): `/metrics` counts the job per flow with its duration and event-to-done
//! histograms, the app calls per connection, the webhook per outcome, and shows GHL's rate
//! budget below its limit; `--log-format json` writes one parseable JSON object per line with
//! level, target and fields, and never the token.

mod serve_support;
mod support;

use std::time::Duration;

use serde_json::{json, Map, Value};
use serve_support::*;
use support::*;

/// The value of the first sample of `name` carrying every label in `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_and_json_logs_parse() {
    let w = world(0, ONE_WAY).await;
    project_with_webhook_keys(&w);
    let server = Server::start_with(&w, &w.db_url, "serve", &["--log-format", "json"], &[]).await;
    let url = server.url.clone();
    let http = reqwest::Client::new();

    w.ghl
        .state
        .set_webhook_url(Some(format!("{url}/webhooks/ghl")));
    let body: Map<String, Value> = json!({"email": "grace@example.com", "firstName": "Grace"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    w.ghl
        .state
        .create_contact(&w.ghl.location_id(), &body)
        .expect("create a GHL contact");
    let flow = "contacts to crm";
    let scrape = || async {
        http.get(format!("{url}/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text")
    };
    // The job is done once the counter says so (the contact lands in Your App first).
    let text = eventually(
        Duration::from_secs(30),
        "a done job in /metrics",
        || async {
            let text = scrape().await;
            (sample(
                &text,
                "ghl_bridge_jobs_total",
                &[("flow", flow), ("outcome", "done")],
            )
            .unwrap_or(0.0)
                >= 1.0)
                .then_some(text)
        },
    )
    .await;
    let crm = w.crm_contacts().await;
    assert!(
        crm.iter()
            .any(|c| c.to_string().contains("grace@example.com")),
        "{crm:?}"
    );

    let get = |name: &str, labels: &[(&str, &str)]| {
        sample(&text, name, labels).unwrap_or_else(|| panic!("{name} {labels:?} missing:\n{text}"))
    };
    assert!(
        get(
            "ghl_bridge_events_in_total",
            &[("connection", "ghl"), ("outcome", "accepted")]
        ) >= 1.0
    );
    assert!(
        get(
            "ghl_bridge_events_ingested_total",
            &[
                ("connection", "ghl"),
                ("source", "webhook"),
                ("outcome", "new")
            ]
        ) >= 1.0
    );
    assert!(get("ghl_bridge_job_duration_seconds_count", &[("flow", flow)]) >= 1.0);
    assert!(
        get(
            "ghl_bridge_job_duration_seconds_bucket",
            &[("flow", flow), ("le", "+Inf")]
        ) >= 1.0
    );
    assert!(get("ghl_bridge_event_to_done_seconds_count", &[("flow", flow)]) >= 1.0);
    assert!(
        text.contains("# TYPE ghl_bridge_event_to_done_seconds histogram"),
        "{text}"
    );
    // The job read GHL and wrote Your App: both connections' calls are timed.
    for (connection, app) in [("ghl", "ghl"), ("crm", "your_app")] {
        let labels = [("connection", connection), ("app", app)];
        assert!(
            get("ghl_bridge_app_call_duration_seconds_count", &labels) >= 1.0,
            "{connection}"
        );
        assert!(
            get("ghl_bridge_app_calls_total", &labels) >= 1.0,
            "{connection}"
        );
    }
    // GHL's rate budget per location: spent some, so below the limit.
    let location = w.ghl.location_id();
    let budget = [
        ("connection", "ghl"),
        ("location", location.as_str()),
        ("window", "daily"),
    ];
    let (left, limit) = (
        get("ghl_bridge_rate_budget_remaining", &budget),
        get("ghl_bridge_rate_budget_limit", &budget),
    );
    assert!(
        limit > 0.0 && left < limit,
        "remaining {left} of {limit}\n{text}"
    );
    // A Private Integration Token never expires: no expiry series for it.
    assert!(
        sample(
            &text,
            "ghl_bridge_token_expires_in_seconds",
            &[("connection", "ghl")]
        )
        .is_none(),
        "{text}"
    );
    assert!(
        sample(&text, "ghl_bridge_jobs_pending", &[]).is_some(),
        "{text}"
    );

    // Every log line is a JSON object with level, target and fields; the token never shows.
    let log = server.log_text();
    let mut messages = Vec::new();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(v["level"].is_string() && v["target"].is_string(), "{line}");
        assert!(
            v["fields"].is_object() && v["timestamp"].is_string(),
            "{line}"
        );
        messages.push(
            v["fields"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    assert!(
        messages.iter().any(|m| m.starts_with("serving HTTP on")),
        "{log}"
    );
    assert!(
        !log.contains(&w.ghl.token()),
        "the token is in the log:\n{log}"
    );
}
