//! `ghl-bridge bench backfill --quick --json` runs end to end: the real `sync backfill` child
//! copies 100 GHL contacts with their tasks and notes into Your App under GHL-shaped limits.
//! Asserted: the JSON report's shape, no 429, no job left or dead, every record written exactly
//! once. Never a speed: CI machines are shared.

use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ghl-bridge");

fn figure<'a>(report: &'a Value, label: &str) -> &'a Value {
    report["figures"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["label"] == label))
        .unwrap_or_else(|| panic!("figure {label:?} in the report: {report}"))
}

#[test]
fn quick_backfill_writes_every_record_once_without_a_429() {
    let out = Command::new(BIN)
        .args(["bench", "backfill", "--quick", "--json"])
        .env_remove("DATABASE_URL")
        .output()
        .expect("run ghl-bridge bench backfill");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {}: {stdout}\n{stderr}",
        out.status
    );
    let report: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("one JSON object on stdout ({e}): {stdout}"));

    assert_eq!(report["name"], "backfill", "{report}");
    assert_eq!(report["ok"], true, "{report}");
    assert!(
        report["machine"]["cores"].as_u64().unwrap_or(0) >= 1,
        "{report}"
    );
    assert!(report["machine"]["load_start"].is_number(), "{report}");
    for f in report["figures"].as_array().expect("figures") {
        assert!(f["label"].is_string() && f["value"].is_number(), "{f}");
        assert!(f["unit"].is_string(), "{f}");
    }

    assert_eq!(figure(&report, "GHL 429 answers")["value"], 0.0, "{report}");
    assert_eq!(
        figure(&report, "jobs left or dead")["value"],
        0.0,
        "{report}"
    );
    assert_eq!(
        figure(&report, "records lost or written twice")["value"],
        0.0,
        "{report}"
    );
    let records = figure(&report, "records in GHL (contacts + tasks + notes)")["value"]
        .as_f64()
        .unwrap_or(0.0);
    assert!(
        records >= 100.0,
        "100 contacts and their children: {report}"
    );
    let requests = figure(&report, "GHL requests")["value"]
        .as_f64()
        .unwrap_or(0.0);
    assert!(
        requests >= records,
        "every record was read from GHL at least once: {report}"
    );
    for label in [
        "achieved / allowed rate, whole run",
        "wall time",
        "floor (requests / allowed rate)",
        "peak RSS of `sync backfill` (VmHWM)",
        "CPU time of `sync backfill`",
    ] {
        let v = figure(&report, label)["value"].as_f64().unwrap_or(-1.0);
        assert!(v > 0.0, "{label} measured: {report}");
    }
    let peak = figure(&report, "peak RSS of `sync backfill` (VmHWM)");
    assert_eq!(peak["unit"], "MB", "{peak}");
    assert!(
        peak["target"].is_string(),
        "the memory target is shown: {peak}"
    );
}
