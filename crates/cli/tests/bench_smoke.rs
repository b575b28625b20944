//! `ghl-bridge bench … --quick --json` runs end to end against the real `serve` and prints the
//! documented JSON shape; ingest stores exactly the events it acknowledged. Correctness only:
//! no speed threshold (CI machines vary).

use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ghl-bridge");

fn bench(scenario: &str) -> Value {
    let out = Command::new(BIN)
        .args(["bench", scenario, "--quick", "--json"])
        .env_remove("DATABASE_URL")
        .output()
        .expect("run ghl-bridge bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench {scenario} failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(stdout.trim()).expect("one JSON object on stdout");
    assert_eq!(v["name"], scenario);
    assert_eq!(v["ok"], true, "{v:#}");
    let m = &v["machine"];
    assert!(m["cores"].as_u64().unwrap() >= 1, "{m}");
    for k in ["load_start", "load_end"] {
        assert!(m[k].is_number(), "machine.{k}: {m}");
    }
    assert!(m["kernel"].is_string() && m["commit"].is_string(), "{m}");
    let figures = v["figures"].as_array().expect("figures");
    assert!(!figures.is_empty());
    for f in figures {
        assert!(f["label"].is_string() && f["value"].is_number() && f["unit"].is_string());
        // `met` is present exactly when a target is.
        assert_eq!(f["target"].is_null(), f["met"].is_null(), "{f}");
    }
    v
}

fn figure(v: &Value, starts: &str) -> f64 {
    v["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["label"].as_str().unwrap().starts_with(starts))
        .unwrap_or_else(|| panic!("no figure {starts:?} in {v:#}"))["value"]
        .as_f64()
        .unwrap()
}

#[test]
fn ingest_quick_stores_every_acknowledged_event() {
    let v = bench("ingest");
    let accepted = figure(&v, "answered 200");
    assert!(accepted > 0.0, "{v:#}");
    assert_eq!(accepted, figure(&v, "stored webhook events"), "{v:#}");
    assert_eq!(figure(&v, "failed requests"), 0.0, "{v:#}");
    assert!(figure(&v, "accepted/s") > 0.0);
}

#[test]
fn memory_and_cpu_quick_report_their_figures() {
    let m = bench("memory");
    assert!(figure(&m, "RSS idle") > 1.0, "{m:#}");
    let c = bench("cpu");
    assert!(figure(&c, "CPU time per synced event") >= 0.0, "{c:#}");
    assert_eq!(figure(&c, "synced events"), 50.0);
}
