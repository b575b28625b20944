//! `ghl-bridge view` as a user meets it, end to end through the binary: a project started from a
//! template (`templates init invoco-batch-import`), run once against the GHL sandbox and the
//! Invoco emulator (`run --once`), then viewed — one person as text, JSON and CSV (which parses
//! back, commas, quotes and line breaks included), everyone as a report, a timeline — and the
//! errors a user can meet (nobody found, no database yet).

use std::path::Path;

use engine::unified::{csv, RECORD_COLUMNS, REPORT_COLUMNS};
use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use ghl_sandbox::rest::ratelimit::RateLimit;
use ghl_sandbox::rest::{Profile, RestConfig, RestSandbox};
use serde_json::{json, Map, Value};

const BIN: &str = env!("CARGO_BIN_EXE_ghl-bridge");

const NOTE: &str = "Called, \"very happy\"\nwants the Plus plan, from May";

async fn ghl_bridge(args: &[&str], env: &[(String, String)]) -> (i32, String, String) {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(args).env_remove("DATABASE_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.expect("run ghl-bridge");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn object(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_project_run_once_then_viewed_as_text_json_csv_report_and_timeline() {
    let ghl = GhlSandbox::start(GhlConfig {
        contacts: 4,
        seed: 3,
        limits: LimitConfig {
            burst_max: 1_000_000,
            burst_interval_ms: 10_000,
            daily_max: 100_000_000,
        },
        ..Default::default()
    })
    .await
    .expect("GHL sandbox");
    let invoco = RestSandbox::start(RestConfig {
        profile: Profile::Invoco,
        contacts: 0,
        limits: RateLimit {
            limit: 1_000_000,
            window_secs: 60,
        },
        ..Default::default()
    })
    .await
    .expect("Invoco emulator");
    let kim = ghl
        .state
        .create_contact(
            &ghl.location_id(),
            &object(
                json!({"firstName": "Kim", "lastName": "Kerr, Jr.", "email": "kim@kerr.example"}),
            ),
        )
        .expect("Kim")
        .id;
    ghl.state
        .create_note(&kim, &object(json!({"body": NOTE})))
        .expect("note");
    ghl.state
        .create_task(
            &kim,
            &object(json!({"title": "Send invoice", "dueDate": "2020-02-02T10:00:00Z"})),
        )
        .expect("task");

    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("invoco");
    let project = dir.join("ghl-bridge.yaml");
    let p = project.to_str().expect("utf-8");
    let env: Vec<(String, String)> = [
        ("GHL_BASE_URL", ghl.base_url.clone()),
        ("GHL_LOCATION_ID", ghl.location_id()),
        ("GHL_TOKEN", ghl.token()),
        ("INVOCO_URL", invoco.api_url()),
        ("INVOCO_KEY", invoco.api_key()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();

    let (code, _, err) = ghl_bridge(
        &[
            "templates",
            "init",
            "invoco-batch-import",
            dir.to_str().expect("utf-8"),
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    // No run yet: nothing to view, and the user is told what to do.
    let (code, _, err) = ghl_bridge(&["view", "--project", p, "--all"], &env).await;
    assert_ne!(code, 0);
    assert!(
        err.contains("no database") && err.contains("--once"),
        "{err}"
    );

    let (code, out, err) = ghl_bridge(&["run", "--project", p, "--once"], &env).await;
    assert_eq!(code, 0, "{out}\n{err}");

    // One person as text.
    let (code, out, err) = ghl_bridge(
        &["view", "--project", p, "--email", "KIM@kerr.example"],
        &env,
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Kim Kerr, Jr. <kim@kerr.example>"), "{out}");
    assert!(
        out.contains("  ghl (ghl) contact") && out.contains("  invoco (invoco) contact"),
        "{out}"
    );
    assert!(out.contains("task [overdue] Send invoice"), "{out}");
    assert!(out.contains("1 open (1 overdue)"), "{out}");

    // As JSON: both apps' sections, GHL's children included.
    let (code, out, err) =
        ghl_bridge(&["view", "--project", p, "--contact", &kim, "--json"], &env).await;
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).expect("JSON");
    let person = &v[0];
    let apps: Vec<&str> = person["apps"]
        .as_array()
        .expect("apps")
        .iter()
        .filter_map(|a| a["connection"].as_str())
        .collect();
    assert_eq!(apps, ["ghl", "invoco"]);
    assert_eq!(person["apps"][0]["notes"][0]["body"], NOTE);
    assert_eq!(
        person["apps"][1]["contact"]["fields"]["email"],
        "kim@kerr.example"
    );
    assert_eq!(person["summary"]["tasks"]["overdue"], 1);

    // As CSV: parses back to the same values.
    let (code, out, err) = ghl_bridge(
        &[
            "view",
            "--project",
            p,
            "--email",
            "kim@kerr.example",
            "--csv",
        ],
        &env,
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let rows = csv::parse(&out).expect("CSV reads");
    assert_eq!(rows[0], RECORD_COLUMNS);
    let col = |n: &str| RECORD_COLUMNS.iter().position(|c| *c == n).expect("column");
    let kinds: Vec<(&str, &str)> = rows[1..]
        .iter()
        .map(|r| (r[col("connection")].as_str(), r[col("kind")].as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("ghl", "contact"),
            ("ghl", "task"),
            ("ghl", "note"),
            ("invoco", "contact")
        ]
    );
    assert!(rows[1..].iter().all(|r| r[col("name")] == "Kim Kerr, Jr."));
    let note = rows
        .iter()
        .find(|r| r[col("kind")] == "note")
        .expect("note row");
    assert_eq!(note[col("body")], NOTE);
    assert_eq!(note[col("title")], "Called, \"very happy\"");

    // Everyone as a report: one row per linked person.
    let (code, out, err) = ghl_bridge(
        &["view", "--project", p, "--all", "--report", "--csv"],
        &env,
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let report = csv::parse(&out).expect("report reads");
    assert_eq!(report[0], REPORT_COLUMNS);
    let linked = ghl
        .state
        .store
        .read()
        .contacts
        .values()
        .filter(|c| c.email.is_some())
        .count();
    assert_eq!(report.len() - 1, linked, "{out}");
    // Paged text.
    let (code, out, err) = ghl_bridge(
        &[
            "view",
            "--project",
            p,
            "--all",
            "--page",
            "2",
            "--per-page",
            "2",
        ],
        &env,
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("people 3–4 of {linked} (page 2)")),
        "{out}"
    );

    // The timeline.
    let (code, out, err) = ghl_bridge(
        &["view", "--project", p, "--contact", &kim, "--timeline"],
        &env,
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("note") && out.contains("Called, \"very happy\"  [ghl]"),
        "{out}"
    );
    assert!(
        out.contains("task overdue") && out.contains("Send invoice"),
        "{out}"
    );

    // Nobody by that email: a clear error.
    let (code, _, err) = ghl_bridge(
        &["view", "--project", p, "--email", "nobody@example.com"],
        &env,
    )
    .await;
    assert_ne!(code, 0);
    assert!(
        err.contains("nobody with the email nobody@example.com"),
        "{err}"
    );
    assert!(Path::new(&dir.join("ghl-bridge.db")).exists());
}
