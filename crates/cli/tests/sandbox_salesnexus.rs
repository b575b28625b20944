//! `ghl-bridge sandbox salesnexus` as a user runs it: exactly one JSON ready line with
//! `base_url` and `api_key` on stdout, then the SalesNexus Public API v1 at
//! `<base_url>/api/v1` behind `X-Api-Key`; bad options fail naming them, with no ready line.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ghl-bridge");
/// A guard against a hung child, not a wait for anything: every read below resolves on output.
const GUARD: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_salesnexus_prints_one_ready_line_and_serves_the_api() {
    let key = "sn_live_CLItest1.0123456789abcdef0123456789abcdef";
    let mut child = Command::new(BIN)
        .args([
            "sandbox",
            "salesnexus",
            "--port",
            "0",
            "--contacts",
            "7",
            "--seed",
            "3",
        ])
        .args(["--api-key", key, "--hourly-limit", "500"])
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
    assert_eq!(
        keys,
        ["api_key", "base_url"],
        "exactly these fields: {line}"
    );
    assert_eq!(ready["api_key"], json!(key));
    let base = ready["base_url"].as_str().expect("base_url").to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let http = reqwest::Client::new();
    let page: Value = http
        .get(format!("{base}/api/v1/contacts?pageSize=100"))
        .header("X-Api-Key", key)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("JSON");
    assert_eq!(page["totalItems"], 7);
    let refused = http
        .get(format!("{base}/api/v1/ping"))
        .send()
        .await
        .expect("call");
    assert_eq!(refused.status().as_u16(), 401);
    let budget: Value = http
        .get(format!("{base}/_sandbox/budget"))
        .send()
        .await
        .expect("admin")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        (
            budget["hourly_limit"].clone(),
            budget["queue_depth"].clone()
        ),
        (json!(500), json!(2))
    );
    child.kill().await.expect("kill");
    // Nothing else was printed on stdout.
    let rest = tokio::time::timeout(GUARD, lines.next_line())
        .await
        .expect("stdout closes")
        .expect("read");
    assert_eq!(rest, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_salesnexus_refuses_bad_options_naming_them() {
    for (args, named) in [
        (vec!["--hourly-limit", "0"], "--hourly-limit"),
        (vec!["--api-key", "sk_test_x"], "--api-key"),
    ] {
        let out = Command::new(BIN)
            .args(["sandbox", "salesnexus", "--port", "0"])
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
