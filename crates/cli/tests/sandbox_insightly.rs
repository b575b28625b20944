//! `ghl-bridge sandbox insightly` as a user runs it: one JSON ready line with `base_url` (the
//! API address including `/v3.1`), `api_key` and `admin_url`, then the Insightly API served
//! with Basic auth and the daily quota asked for; bad options fail naming them and print no
//! ready line.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ghl-bridge");
/// A guard against a hung child, not a wait for anything: every read below resolves on output.
const GUARD: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_insightly_prints_one_ready_line_and_serves_the_api() {
    let mut child = Command::new(BIN)
        .args([
            "sandbox",
            "insightly",
            "--port",
            "0",
            "--contacts",
            "7",
            "--seed",
            "3",
        ])
        .args(["--api-key", "cli-key", "--daily-quota", "25"])
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
    let ready: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    let mut keys: Vec<&String> = ready.as_object().expect("object").keys().collect();
    keys.sort();
    assert_eq!(keys, ["admin_url", "api_key", "base_url"], "{line}");
    assert_eq!(ready["api_key"], json!("cli-key"));
    let base = ready["base_url"].as_str().expect("base_url").to_string();
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with("/v3.1"),
        "{base}"
    );

    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{base}/Contacts?top=500"))
        .basic_auth("cli-key", Some(""))
        .send()
        .await
        .expect("list");
    assert_eq!(resp.status().as_u16(), 200);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(header("x-ratelimit-limit").as_deref(), Some("25"));
    assert_eq!(header("x-ratelimit-remaining").as_deref(), Some("24"));
    let rows: Value = resp.json().await.expect("JSON");
    assert_eq!(rows.as_array().map(Vec::len), Some(7));
    let wrong = http
        .get(format!("{base}/Users/Me"))
        .basic_auth("other", Some(""))
        .send()
        .await
        .expect("call");
    assert_eq!(wrong.status().as_u16(), 401);
    let admin: Value = http
        .get(ready["admin_url"].as_str().expect("admin_url"))
        .send()
        .await
        .expect("admin")
        .json()
        .await
        .expect("JSON");
    assert_eq!(admin["counts"]["Contacts"], 7);
    child.kill().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_options_are_named_and_nothing_is_printed() {
    for (args, needle) in [
        (vec!["--daily-quota", "0"], "--daily-quota"),
        (vec!["--api-key", " "], "--api-key"),
        (vec!["--webhook-url", "ftp://x"], "--webhook-url"),
    ] {
        let out = Command::new(BIN)
            .args(["sandbox", "insightly", "--port", "0"])
            .args(&args)
            .stdin(Stdio::null())
            .output();
        let out = tokio::time::timeout(GUARD, out)
            .await
            .expect("exits in time")
            .expect("runs");
        assert!(!out.status.success(), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: no ready line");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
