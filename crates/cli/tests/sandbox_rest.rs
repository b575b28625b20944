//! `ghl-bridge sandbox your-app|investnext|invoco` as a user runs them: one JSON ready line with
//! `base_url` and `api_key`, then the generic REST contract served at `<base_url>/v1`; bad
//! options fail with a message naming them and print no ready line.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ghl-bridge");
/// A guard against a hung child, not a wait for anything: every read below resolves on output.
const GUARD: Duration = Duration::from_secs(120);

/// Starts `ghl-bridge sandbox <args>`, returns the child and its parsed ready line.
async fn ready(args: &[&str]) -> (tokio::process::Child, Value, String) {
    let mut child = Command::new(BIN)
        .arg("sandbox")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn ghl-bridge");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(GUARD, lines.next_line())
        .await
        .expect("ghl-bridge printed nothing in time")
        .expect("read stdout")
        .expect("ghl-bridge closed stdout early");
    let value: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    (child, value, line)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_your_app_prints_one_ready_line_and_serves_the_contract() {
    let (mut child, ready, line) = ready(&[
        "your-app",
        "--port",
        "0",
        "--contacts",
        "12",
        "--seed",
        "9",
        "--api-key",
        "cli-key",
        "--webhook-secret",
        "cli-secret",
    ])
    .await;
    let mut keys: Vec<&String> = ready.as_object().expect("object").keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["api_key", "base_url"],
        "exactly these fields: {line}"
    );
    assert_eq!(ready["api_key"], json!("cli-key"));
    let base = ready["base_url"].as_str().expect("base_url").to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{base}/v1/contacts?limit=100"))
        .bearer_auth("cli-key")
        .send()
        .await
        .expect("list");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()
            .get("x-ratelimit-limit")
            .and_then(|v| v.to_str().ok()),
        Some("600")
    );
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(body["data"].as_array().map(Vec::len), Some(12));
    let refused = http
        .get(format!("{base}/v1/contacts"))
        .send()
        .await
        .expect("call");
    assert_eq!(refused.status().as_u16(), 401);
    let admin: Value = http
        .get(format!("{base}/_sandbox/webhooks"))
        .send()
        .await
        .expect("admin")
        .json()
        .await
        .expect("JSON");
    assert_eq!(admin["secret"], json!("cli-secret"));
    child.kill().await.expect("kill");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_investnext_and_invoco_run_the_same_contract() {
    for (app, name, custom) in [
        ("investnext", "InvestNext", "investor_type"),
        ("invoco", "Invoco", "account_number"),
    ] {
        let (mut child, ready, line) = ready(&[app, "--contacts", "3"]).await;
        let base = ready["base_url"].as_str().expect("base_url").to_string();
        let key = ready["api_key"].as_str().expect("api_key").to_string();
        assert!(key.starts_with(&format!("{app}_test_")), "{line}");
        let http = reqwest::Client::new();
        let overview: Value = http
            .get(format!("{base}/_sandbox/"))
            .send()
            .await
            .expect("overview")
            .json()
            .await
            .expect("JSON");
        assert_eq!(overview["app"], json!(name));
        let page: Value = http
            .get(format!("{base}/v1/contacts"))
            .bearer_auth(&key)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("JSON");
        let contacts = page["data"].as_array().cloned().unwrap_or_default();
        assert_eq!(contacts.len(), 3, "{app}");
        assert!(contacts[0]["custom_fields"].get(custom).is_some(), "{app}");
        child.kill().await.expect("kill");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_your_app_refuses_bad_options_naming_them() {
    for (args, named) in [
        (vec!["--rate-limit", "0"], "--rate-limit"),
        (vec!["--webhook-url", "ftp://x"], "--webhook-url"),
    ] {
        let out = Command::new(BIN)
            .args(["sandbox", "your-app", "--port", "0"])
            .args(&args)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(GUARD, out)
            .await
            .expect("exits")
            .expect("run");
        assert!(!out.status.success(), "{args:?}: {:?}", out.status);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(named), "stderr: {stderr}");
        assert!(out.stdout.is_empty(), "no ready line");
    }
}
