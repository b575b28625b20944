//! The `ghl-bridge` binary as a user runs it: `sandbox ghl` announces itself with one JSON line
//! and serves the API; bad options fail with a message naming them; `demo` prints `curl` lines
//! that work exactly as printed.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const BIN: &str = env!("CARGO_BIN_EXE_ghl-bridge");
/// A guard against a hung child, not a wait for anything: every read below resolves on output.
const GUARD: Duration = Duration::from_secs(120);

fn spawn(args: &[&str]) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn ghl-bridge");
    let stdout = child.stdout.take().expect("stdout");
    (child, BufReader::new(stdout).lines())
}

async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>) -> String {
    tokio::time::timeout(GUARD, lines.next_line())
        .await
        .expect("ghl-bridge printed nothing in time")
        .expect("read stdout")
        .expect("ghl-bridge closed stdout early")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_ghl_prints_one_ready_line_and_serves_the_api() {
    let (mut child, mut lines) = spawn(&[
        "sandbox",
        "ghl",
        "--port",
        "0",
        "--contacts",
        "30",
        "--seed",
        "7",
    ]);
    let line = next_line(&mut lines).await;
    let ready: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    let field = |k: &str| {
        ready[k]
            .as_str()
            .unwrap_or_else(|| panic!("no {k} in {line}"))
            .to_string()
    };
    let (base, location, token) = (field("base_url"), field("location_id"), field("token"));
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let resp = reqwest::Client::new()
        .post(format!("{base}/contacts/search"))
        .bearer_auth(&token)
        .header("Version", "2021-07-28")
        .json(&json!({"locationId": location, "pageLimit": 100}))
        .send()
        .await
        .expect("search");
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(body["total"], json!(30));
    assert_eq!(body["contacts"].as_array().map(Vec::len), Some(30));
    child.kill().await.expect("kill");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_ghl_refuses_zero_locations_naming_the_option() {
    let out = Command::new(BIN)
        .args(["sandbox", "ghl", "--port", "0", "--locations", "0"])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(GUARD, out)
        .await
        .expect("exits")
        .expect("run");
    assert!(!out.status.success(), "exit status {:?}", out.status);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--locations"), "stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "no ready line: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_curl_lines_work_as_printed() {
    let (mut child, mut lines) = spawn(&["demo", "--contacts", "20", "--duration", "1s"]);
    let mut curls = Vec::new();
    loop {
        let line = next_line(&mut lines).await;
        if line == "Press Ctrl-C to stop." {
            break;
        }
        if line.starts_with("curl ") {
            curls.push(line);
        }
    }
    assert!(curls.len() >= 5, "curl lines: {curls:#?}");
    for line in &curls {
        let out = Command::new("sh")
            .arg("-c")
            .arg(line)
            .stdin(Stdio::null())
            .output();
        let out = tokio::time::timeout(GUARD, out)
            .await
            .expect("curl ends")
            .expect("run sh");
        assert!(
            out.status.success(),
            "{line}\nexit {:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let body: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{line}\nnot JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        let status = body.get("statusCode").and_then(Value::as_u64).unwrap_or(0);
        assert!(status < 400, "{line}\nanswered {body}");
        assert!(body.is_object(), "{line}\nanswered {body}");
    }
    // SIGTERM, as Ctrl-C: the demo stops cleanly and removes its temp project folder.
    let pid = child.id().expect("pid").to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status().await;
    let _ = tokio::time::timeout(GUARD, child.wait()).await;
}
