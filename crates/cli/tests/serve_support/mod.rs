//! Helpers of the `ghl-bridge serve` tests (included with `#[path]` by each serve test): a
//! project whose GHL connection verifies the sandbox's signing keys, the server as a child
//! process whose port is read from its log, signed deliveries and store counts.
#![allow(dead_code)]

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{World, BIN};

/// Rewrites the world's project so the GHL connection checks the sandbox's webhook keys.
pub fn project_with_webhook_keys(w: &World) {
    let keys = &w.ghl.state.keys;
    let indent = |pem: String| {
        pem.lines()
            .map(|l| format!("      {l}\n"))
            .collect::<String>()
    };
    let text = format!(
        "version: 1
connections:
  ghl:
    app: ghl
    base_url: ${{GHL_URL}}
    location_id: ${{GHL_LOCATION}}
    token: ${{GHL_TOKEN}}
    webhook_public_key: |
{}  crm:
    app: your_app
    base_url: ${{CRM_URL}}
    api_key: ${{CRM_KEY}}
",
        indent(keys.ed25519_public_pem())
    );
    std::fs::write(&w.project, text).expect("project file");
}

/// A running `ghl-bridge serve`; SIGKILLed when dropped.
pub struct Server {
    child: Child,
    pub log: PathBuf,
    pub url: String,
}

impl Server {
    /// Starts the server on a free port and waits until its log names the address.
    pub async fn start(w: &World, db: &str, name: &str) -> Server {
        Self::start_with(w, db, name, &[], &[]).await
    }

    /// [`Server::start`] with more arguments (after `serve`) and environment variables.
    pub async fn start_with(
        w: &World,
        db: &str,
        name: &str,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Server {
        let log = w.dir.path().join(format!("{name}.log"));
        let err = File::create(&log).expect("log file");
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .arg("--project")
            .arg(&w.project)
            .args(["--database", db, "--listen", "127.0.0.1:0"])
            .args(["--poll-every", "1h", "--reconcile-every", "1h"])
            .env("RUST_LOG", "info,sqlx=warn")
            .env_remove("GHL_BRIDGE_ADMIN_TOKEN")
            .env_remove("GHL_BRIDGE_SECRET_KEY")
            .env_remove("DATABASE_URL")
            .env("GHL_URL", &w.ghl.base_url)
            .env("GHL_LOCATION", w.ghl.location_id())
            .env("GHL_TOKEN", w.ghl.token())
            .env("CRM_URL", w.crm.api_url())
            .env("CRM_KEY", w.crm.api_key())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err);
        cmd.args(args).envs(envs.iter().copied());
        let child = cmd.spawn().expect("spawn ghl-bridge serve");
        let mut server = Server {
            child,
            log,
            url: String::new(),
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(&server.log).unwrap_or_default();
            if let Some(at) = text.find("serving HTTP on http://") {
                let rest = &text[at + "serving HTTP on ".len()..];
                // Ends at a space (text logs) or a quote (JSON logs).
                let end = rest
                    .find(|c: char| c.is_whitespace() || c == '"')
                    .unwrap_or(rest.len());
                server.url = rest[..end].to_string();
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("ghl-bridge serve exited ({status}):\n{text}");
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "serve did not start:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL, and reap it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Its stderr.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A GHL `ContactUpdate` body for `contact` with the given webhook id, timestamped now.
pub fn contact_update(w: &World, contact: &str, webhook_id: &str) -> Vec<u8> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    serde_json::to_vec(&json!({
        "type": "ContactUpdate",
        "locationId": w.ghl.location_id(),
        "id": contact,
        "webhookId": webhook_id,
        "timestamp": now,
    }))
    .expect("json")
}

/// Posts `body` to the server's GHL webhook route with `signature` in `x-ghl-signature`.
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    signature: &str,
) -> reqwest::Result<(u16, Value)> {
    let r = http
        .post(format!("{url}/webhooks/ghl"))
        .header("content-type", "application/json")
        .header("x-ghl-signature", signature)
        .body(body)
        .send()
        .await?;
    let status = r.status().as_u16();
    let v = r.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, v))
}

/// Stored events of the GHL connection with this event key.
pub async fn events_with_key(db: &str, key: &str) -> i64 {
    let pool = sqlx::SqlitePool::connect(db)
        .await
        .expect("open the database");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE event_key = ?")
        .bind(key)
        .fetch_one(&pool)
        .await
        .expect("count events");
    pool.close().await;
    n
}

/// Stored webhook events.
pub async fn webhook_events(db: &str) -> i64 {
    let pool = sqlx::SqlitePool::connect(db)
        .await
        .expect("open the database");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE source = 'webhook'")
        .fetch_one(&pool)
        .await
        .expect("count events");
    pool.close().await;
    n
}
