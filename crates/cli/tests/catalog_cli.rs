//! `ghl-bridge catalog` as a user runs it: a readable table and a JSON array, both listing at
//! least 126 entries, filters by app and type, and a clear error for an unknown app.

use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ghl-bridge");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("catalog")
        .args(args)
        .output()
        .expect("run ghl-bridge")
}

fn json(args: &[&str]) -> Vec<Value> {
    let out = run(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    v.as_array().cloned().expect("a JSON array")
}

#[test]
fn json_lists_every_entry_with_inputs_outputs_and_a_snippet() {
    let all = json(&["--json"]);
    assert!(all.len() >= 126, "{} entries", all.len());
    for e in &all {
        for key in ["id", "app", "type", "title", "description", "snippet"] {
            assert!(
                e[key].as_str().is_some_and(|s| !s.is_empty()),
                "{key} of {e}"
            );
        }
        assert!(e["inputs"].is_array() && e["outputs"].is_array(), "{e}");
    }
    let workflow = all
        .iter()
        .find(|e| e["id"] == "ghl.action.add-contact-to-workflow")
        .expect("the workflow operation");
    let names: Vec<&str> = workflow["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert!(
        names.contains(&"input.contactId") && names.contains(&"input.workflowId"),
        "{names:?}"
    );
}

#[test]
fn the_table_lists_ids_titles_and_inputs() {
    let out = run(&[]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let rows: Vec<&str> = text.lines().skip(1).take_while(|l| !l.is_empty()).collect();
    assert!(rows.len() >= 126, "{} rows", rows.len());
    assert_eq!(rows.len(), json(&["--json"]).len());
    assert!(text.starts_with("ID "), "{}", &text[..40]);
    let row = rows
        .iter()
        .find(|l| l.starts_with("ghl.trigger.contact_created "))
        .expect("a GHL trigger row");
    assert!(row.contains("GHL: contact created"), "{row}");
    let tags = rows
        .iter()
        .find(|l| l.starts_with("ghl.action.add_tags "))
        .expect("add_tags row");
    assert!(tags.contains("tags*"), "{tags}");
    assert!(text.contains(&format!("{} entries:", rows.len())));
}

#[test]
fn filters_by_app_and_type() {
    let ghl_actions = json(&["--json", "--app", "ghl", "--type", "action"]);
    assert!(ghl_actions.len() >= 32 + 16, "{}", ghl_actions.len());
    assert!(ghl_actions
        .iter()
        .all(|e| e["app"] == "ghl" && e["type"] == "action"));
    let schedules = json(&["--json", "--app", "schedule"]);
    assert_eq!(schedules.len(), 2);
    let out = run(&["--app", "hubspot"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--app") && err.contains("hubspot") && err.contains("your_app"),
        "{err}"
    );
    let out = run(&["--type", "step"]);
    assert!(!out.status.success());
}

#[test]
fn counts_are_the_docs_table() {
    let out = run(&["--counts"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        text.starts_with("| app | triggers | actions | entries |"),
        "{text}"
    );
    assert!(text.contains("| **all** |"));
}
