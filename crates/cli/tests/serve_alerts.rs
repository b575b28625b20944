//! Alerts in `ghl-bridge serve` over real HTTP: with `alerts.yaml` beside the project file, a
//! `dlq_growth` rule over a job really in the dead-letter queue is delivered to a webhook
//! receiver started here, naming the rule; a broken `alerts.yaml` stops start-up with a non-zero
//! exit naming the field at fault.

mod serve_support;
mod support;

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::{extract::State, routing::post, Json, Router};
use engine::store::{FailOutcome, NewJob};
use serde_json::Value;
use serve_support::*;
use support::*;

/// Bodies the receiver got.
type Received = Arc<Mutex<Vec<Value>>>;

/// A webhook receiver on a free port; returns its URL and what it got.
async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let app = Router::new()
        .route(
            "/hook",
            post(
                |State(got): State<Received>, Json(v): Json<Value>| async move {
                    got.lock().expect("lock").push(v);
                    "ok"
                },
            ),
        )
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the receiver");
    let addr = listener.local_addr().expect("receiver address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), got)
}

/// A job failed once with one attempt allowed: in the dead-letter queue, as a worker leaves it.
async fn dead_job(db: &str) {
    let store = open_store(db).await;
    let mut job = NewJob::new("retired flow", "contact:gone-1");
    job.max_attempts = Some(1);
    store.enqueue(job).await.expect("enqueue");
    let claimed = store
        .claim("test-worker", 1, Duration::from_secs(30))
        .await
        .expect("claim");
    let out = store
        .fail(
            claimed[0].id,
            "test-worker",
            "connection refused",
            Duration::from_secs(1),
        )
        .await
        .expect("fail");
    assert!(matches!(out, FailOutcome::Dead { .. }), "{out:?}");
    store.close().await;
}

fn alerts_file(w: &World) -> std::path::PathBuf {
    w.project
        .parent()
        .expect("project directory")
        .join("alerts.yaml")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_delivers_a_firing_dlq_rule_to_a_webhook() {
    let w = world(0, ONE_WAY).await;
    project_with_webhook_keys(&w);
    let (hook, got) = receiver().await;
    std::fs::write(
        alerts_file(&w),
        format!(
            "interval: 1s
channels:
  ops-hook:
    type: webhook
    url: \"{hook}\"
rules:
  - name: dead-letters-now
    condition: {{ type: dlq_growth, min_new: 1, window: 1h }}
    channels: [ops-hook]
"
        ),
    )
    .expect("alerts.yaml");
    dead_job(&w.db_url).await;

    let server = Server::start(&w, &w.db_url, "serve").await;
    let event = eventually(Duration::from_secs(30), "the alert at the receiver", || {
        let got = got.clone();
        async move { got.lock().expect("lock").first().cloned() }
    })
    .await;
    assert_eq!(event["rule"], "dead-letters-now", "{event}");
    assert_eq!(event["kind"], "dlq_growth", "{event}");
    assert_eq!(event["status"], "firing", "{event}");
    assert!(
        server.log_text().contains("alerts loaded"),
        "{}",
        server.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_a_broken_alerts_file_naming_the_field() {
    let w = world(0, ONE_WAY).await;
    project_with_webhook_keys(&w);
    std::fs::write(
        alerts_file(&w),
        "channels:
  ops-hook:
    type: webhook
    url: \"http://127.0.0.1:9/hook\"
rules:
  - name: api-errors
    condition: { type: error_rate, percent: 0, window: 10m }
    channels: [ops-hook]
",
    )
    .expect("alerts.yaml");
    let out = Command::new(BIN)
        .arg("serve")
        .arg("--project")
        .arg(&w.project)
        .args(["--database", &w.db_url, "--listen", "127.0.0.1:0"])
        .env_remove("GHL_BRIDGE_ADMIN_TOKEN")
        .env_remove("GHL_BRIDGE_SECRET_KEY")
        .env_remove("DATABASE_URL")
        .env("GHL_URL", &w.ghl.base_url)
        .env("GHL_LOCATION", w.ghl.location_id())
        .env("GHL_TOKEN", w.ghl.token())
        .env("CRM_URL", w.crm.api_url())
        .env("CRM_KEY", w.crm.api_key())
        .stdin(Stdio::null())
        .output()
        .expect("run ghl-bridge serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serve started: {stderr}");
    assert!(
        stderr.contains("rules[0].condition.percent"),
        "the field is not named: {stderr}"
    );
    assert!(!stderr.contains("serving HTTP"), "{stderr}");
}
