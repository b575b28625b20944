//! The project file and folder loading: connections, `${ENV}` secrets, cross-file errors.

use std::collections::HashMap;

use engine::flow::{load_flows, load_project_with, parse_project, AppKind, Setting};

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k: &str| map.get(k).cloned()
}

const PROJECT: &str = r#"
version: 1
connections:
  ghl:
    app: ghl
    location_id: loc-123
    token: ${GHL_TOKEN}
  crm:
    app: your_app
    base_url: ${CRM_URL:-http://127.0.0.1:9000/v1}
    api_key: literal-key-in-file
    page_size: 50
    verify: true
    note: "costs $$5 a month"
"#;

#[test]
fn secrets_are_interpolated_and_never_debug_printed() {
    let p = parse_project(
        PROJECT,
        "ghl-bridge.yaml",
        &env(&[("GHL_TOKEN", "pit-super-secret")]),
    )
    .unwrap();
    assert_eq!(p.flows_dir, "flows");
    let ghl = &p.connections["ghl"];
    assert_eq!(ghl.app, AppKind::Ghl);
    assert_eq!(ghl.settings["token"].expose(), "pit-super-secret");
    assert_eq!(ghl.settings["location_id"], Setting::Text("loc-123".into()));
    let crm = &p.connections["crm"];
    assert_eq!(
        crm.settings["base_url"].expose(),
        "http://127.0.0.1:9000/v1"
    );
    assert!(
        matches!(crm.settings["api_key"], Setting::Secret(_)),
        "secret-looking names are secrets"
    );
    assert_eq!(crm.settings["page_size"].expose(), "50");
    assert_eq!(crm.settings["verify"], Setting::Bool(true));
    assert_eq!(crm.settings["note"].expose(), "costs $5 a month");
    let debug = format!("{p:?}");
    assert!(
        !debug.contains("pit-super-secret") && !debug.contains("literal-key-in-file"),
        "{debug}"
    );
    assert!(debug.contains("***") && debug.contains("loc-123"));
}

#[test]
fn missing_variables_and_bad_apps_are_all_reported() {
    let text = "connections:\n  ghl:\n    app: ghl\n    token: ${GHL_TOKEN}\n  crm:\n    app: your-app\n  Bad.Name:\n    app: ghl\n";
    let err = parse_project(text, "ghl-bridge.yaml", &env(&[])).unwrap_err();
    let rendered = err.to_string();
    assert_eq!(err.diagnostics.len(), 3, "{rendered}");
    assert_eq!(
        err.diagnostics[0].message,
        "environment variable `GHL_TOKEN` is not set"
    );
    assert_eq!((err.diagnostics[0].line, err.diagnostics[0].col), (4, 12));
    assert_eq!(err.diagnostics[1].message, "unknown app `your-app`");
    assert!(err.diagnostics[1]
        .help
        .as_deref()
        .unwrap()
        .starts_with("did you mean `your_app`?"));
    assert_eq!(err.diagnostics[2].path, "connections.Bad.Name");
    assert!(rendered.contains("--> ghl-bridge.yaml:4:12"), "{rendered}");
}

#[test]
fn folder_errors_from_several_files_and_duplicate_names() {
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("flows");
    std::fs::create_dir(&flows).unwrap();
    std::fs::write(
        dir.path().join("ghl-bridge.yaml"),
        "connections:\n  ghl: {app: ghl}\n  crm: {app: your_app}\n",
    )
    .unwrap();
    let ok = "name: Same\nsync: {source: ghl, target: crm, kinds: [contact]}\n";
    std::fs::write(flows.join("a.yaml"), ok).unwrap();
    std::fs::write(flows.join("b.yml"), ok).unwrap();
    std::fs::write(
        flows.join("c.yaml"),
        "name: C\nsync: {source: ghl, target: crm, kinds: [contakt]}\n",
    )
    .unwrap();
    std::fs::write(flows.join("notes.txt"), "not a flow").unwrap();
    let err = load_project_with(&dir.path().join("ghl-bridge.yaml"), &env(&[])).unwrap_err();
    assert_eq!(err.diagnostics.len(), 2, "{err}");
    assert!(err.diagnostics[0].file.ends_with("b.yml"));
    assert!(err.diagnostics[0]
        .message
        .contains("a flow named `Same` is already defined"));
    assert!(err.diagnostics[1].file.ends_with("c.yaml"));
    assert!(err.diagnostics[1]
        .help
        .as_deref()
        .unwrap()
        .contains("did you mean `contact`?"));

    std::fs::remove_file(flows.join("b.yml")).unwrap();
    std::fs::remove_file(flows.join("c.yaml")).unwrap();
    let project = load_project_with(&dir.path().join("ghl-bridge.yaml"), &env(&[])).unwrap();
    assert_eq!(project.flows.len(), 1);
    assert_eq!(project.apps().len(), 2);
}

#[test]
fn missing_folder_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_flows(&dir.path().join("nope"), &Default::default()).unwrap_err();
    assert!(
        err.to_string().contains("cannot read the flows folder"),
        "{err}"
    );
}
