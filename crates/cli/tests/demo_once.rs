//! `ghl-bridge demo` as CI runs it: the real binary, a small world (`--contacts 20`, a 5 s
//! activity). It must exit 0 with a summary row for each of the five flows showing events and
//! writes, an end check without disagreement, and admin access lines of the right shape. Run
//! without `--once`, the admin API answers with the printed token (and the dashboard shows its
//! login page) while the demo keeps running, and SIGTERM stops it cleanly.
//! With the hidden `--sabotage` flag the demo changes one Your App contact behind the engine's
//! back after the last sync, and the end check must catch it and exit non-zero.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ghl-bridge");
/// A guard against a hung demo, not a wait: the demo exits on its own.
const GUARD: Duration = Duration::from_secs(240);

async fn demo(extra: &[&str]) -> (bool, String) {
    let mut args = vec!["demo", "--once", "--contacts", "20", "--duration", "5s"];
    args.extend_from_slice(extra);
    let out = Command::new(BIN)
        .args(&args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(GUARD, out)
        .await
        .expect("the demo ends")
        .expect("run ghl-bridge");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (
        out.status.success(),
        format!("{stdout}\n--- stderr ---\n{stderr}"),
    )
}

/// The summary's flow rows: `(flow name and apps, events, writes, dlq)`.
fn flow_rows(text: &str) -> Vec<(String, u64, u64, u64)> {
    let mut rows = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("FLOW ") {
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        if line.trim().is_empty() {
            break;
        }
        // From the end: P99 P50 DLQ RETRIES CONFLICTS WRITES EVENTS.
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert!(cols.len() > 8, "a summary row: {line}");
        let n = |i: usize| -> u64 {
            cols[cols.len() - i]
                .parse()
                .unwrap_or_else(|_| panic!("column {i} from the end of {line}"))
        };
        let name = cols[..cols.len() - 7].join(" ");
        rows.push((name, n(7), n(6), n(3)));
    }
    rows
}

fn line_after<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("a line starting {prefix:?} in:\n{text}"))
        .trim()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_once_syncs_five_flows_and_its_end_check_passes() {
    let (ok, text) = demo(&[]).await;
    assert!(ok, "the demo exits 0:\n{text}");
    let rows = flow_rows(&text);
    for app in [
        "your_app",
        "investnext",
        "invoco",
        "insightly",
        "salesnexus",
    ] {
        let of_app: Vec<_> = rows.iter().filter(|r| r.0.contains(app)).collect();
        assert!(!of_app.is_empty(), "a flow row for {app}:\n{text}");
        for (name, events, writes, dlq) in of_app {
            assert!(*events > 0, "{name} has events:\n{text}");
            assert_eq!(*dlq, 0, "{name} has nothing dead:\n{text}");
            let _ = writes;
        }
        assert!(
            rows.iter()
                .filter(|r| r.0.contains(app))
                .map(|r| r.2)
                .sum::<u64>()
                > 0,
            "{app}'s flows wrote:\n{text}"
        );
    }
    assert!(text.contains("no disagreement"), "{text}");
    assert!(!text.contains("DISAGREE"), "{text}");
    // The access lines: an admin URL on loopback and a token to use with it.
    let admin = line_after(&text, "Admin API:");
    assert!(
        admin.starts_with("http://127.0.0.1:") && admin.ends_with("/api/v1/flows"),
        "{admin}"
    );
    let token = line_after(&text, "Admin token:");
    assert!(
        token.len() >= 32 && !token.contains(' '),
        "a token: {token}"
    );
    assert!(
        text.contains("GHL webhooks:") && text.contains("duplicated"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_end_check_catches_a_record_changed_behind_the_engines_back() {
    let (ok, text) = demo(&["--sabotage"]).await;
    assert!(!ok, "the demo exits non-zero:\n{text}");
    assert!(text.contains("end check FAILED"), "{text}");
    let disagree: Vec<&str> = text.lines().filter(|l| l.contains("DISAGREE")).collect();
    assert_eq!(disagree.len(), 1, "exactly the sabotaged record:\n{text}");
    assert!(
        disagree[0].contains("your_app") && disagree[0].contains("Sabotaged"),
        "{}",
        disagree[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_keeps_serving_the_admin_api_with_the_printed_token() {
    let mut child = Command::new(BIN)
        .args(["demo", "--contacts", "10", "--duration", "1s"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn ghl-bridge");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut admin, mut token, mut ui) = (String::new(), String::new(), String::new());
    let mut project = None;
    loop {
        let line = tokio::time::timeout(GUARD, lines.next_line())
            .await
            .expect("the demo prints in time")
            .expect("read stdout")
            .expect("the demo keeps running");
        if let Some(u) = line.strip_prefix("Admin API:") {
            admin = u.trim().to_string();
        }
        if let Some(p) = line.trim().strip_prefix("project ") {
            project = Some(p.trim().to_string());
        }
        if let Some(u) = line.strip_prefix("Dashboard:") {
            ui = u.split_whitespace().next().unwrap_or_default().to_string();
        }
        if let Some(t) = line.strip_prefix("Admin token:") {
            token = t.trim().to_string();
        }
        if line == "Press Ctrl-C to stop." {
            break;
        }
    }
    let http = reqwest::Client::new();
    let ok = http
        .get(&admin)
        .bearer_auth(&token)
        .send()
        .await
        .expect("admin API");
    assert_eq!(ok.status().as_u16(), 200, "{admin}");
    let refused = http
        .get(&admin)
        .bearer_auth("not-the-token")
        .send()
        .await
        .expect("admin API");
    assert_eq!(refused.status().as_u16(), 401);
    // The dashboard is served too: its login page, where the printed token signs in.
    assert!(ui.ends_with("/ui/"), "a dashboard URL: {ui}");
    let login = http
        .get(format!("{ui}login"))
        .send()
        .await
        .expect("dashboard");
    assert_eq!(login.status().as_u16(), 200, "{ui}login");
    // SIGTERM (as Ctrl-C) stops it cleanly: exit 0, its temp project folder removed.
    let project = project.expect("the project folder is printed");
    let pid = child.id().expect("pid").to_string();
    let term = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill -TERM");
    assert!(term.success());
    let status = tokio::time::timeout(GUARD, child.wait())
        .await
        .expect("the demo stops")
        .expect("wait");
    assert!(status.success(), "{status:?}");
    assert!(
        !std::path::Path::new(&project).exists(),
        "{project} removed"
    );
}
