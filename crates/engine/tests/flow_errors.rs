//! Error messages of invalid flow files, compared with expected-output files.
//!
//! Each `tests/flows/errors/<case>.yaml` is loaded against a project with connections `ghl`
//! (GHL) and `crm` (Your App); its rendered errors must equal `<case>.expected`. Run with
//! `UPDATE_EXPECT=1` to rewrite the expected files after an intended change, then review the diff.

use std::path::{Path, PathBuf};

use engine::flow::{parse_flow, AppKind, Connections, FlowError};

fn connections() -> Connections {
    [
        ("ghl".to_string(), AppKind::Ghl),
        ("crm".to_string(), AppKind::YourApp),
    ]
    .into_iter()
    .collect()
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/flows/errors")
}

/// Loads a case and returns its error (the case must fail).
fn load_err(case: &str) -> FlowError {
    let path = dir().join(format!("{case}.yaml"));
    let text = std::fs::read_to_string(&path).unwrap();
    let shown = format!("flows/{case}.yaml");
    match parse_flow(&text, &shown, &connections()) {
        Ok(flow) => panic!("{case} should fail, loaded {flow:?}"),
        Err(e) => e,
    }
}

fn check(case: &str) -> FlowError {
    let err = load_err(case);
    let rendered = format!("{err}\n");
    let expected_path = dir().join(format!("{case}.expected"));
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&expected_path, &rendered).unwrap();
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|_| {
        panic!("missing {expected_path:?}; run with UPDATE_EXPECT=1\n{rendered}")
    });
    assert_eq!(rendered, expected, "\n--- got ---\n{rendered}");
    for d in &err.diagnostics {
        assert!(
            d.line > 0 && d.col > 0,
            "{case}: unlocated diagnostic {d:?}"
        );
        let header = format!("--> flows/{case}.yaml:{}:{}", d.line, d.col);
        assert!(rendered.contains(&header), "{case}: {header} missing");
    }
    err
}

fn messages(err: &FlowError) -> Vec<&str> {
    err.diagnostics.iter().map(|d| d.message.as_str()).collect()
}

#[test]
fn syntax_error() {
    let err = check("syntax_error");
    assert_eq!(err.diagnostics.len(), 1);
    assert!(err.diagnostics[0].message.starts_with("invalid YAML"));
}

#[test]
fn unknown_key_with_suggestion() {
    let err = check("unknown_key");
    assert_eq!(err.diagnostics.len(), 2, "{err}");
    let d = &err.diagnostics[0];
    assert_eq!((d.line, d.col, d.path.as_str()), (2, 1, "enabeld"));
    assert!(d
        .help
        .as_deref()
        .unwrap()
        .starts_with("did you mean `enabled`?"));
    assert_eq!(err.diagnostics[1].path, "actions[0].add_tags.conection");
}

#[test]
fn wrong_type() {
    let err = check("wrong_type");
    assert_eq!(messages(&err).len(), 2, "{err}");
    assert_eq!(err.diagnostics[0].path, "enabled");
    assert_eq!(err.diagnostics[1].path, "sync.kinds");
}

#[test]
fn unknown_transform() {
    let err = check("unknown_transform");
    let d = &err.diagnostics[0];
    assert_eq!(d.path, "sync.mapping.contact[2].transform");
    assert_eq!(d.message, "unknown transform `uppercse`");
    assert!(d
        .help
        .as_deref()
        .unwrap()
        .contains("did you mean `uppercase`?"));
}

#[test]
fn unknown_connection() {
    let err = check("unknown_connection");
    let d = &err.diagnostics[0];
    assert_eq!(d.path, "sync.target");
    assert!(d.help.as_deref().unwrap().contains("did you mean `crm`?"));
}

#[test]
fn bad_cron() {
    let err = check("bad_cron");
    assert_eq!(err.diagnostics[0].path, "trigger.schedule.cron");
}

#[test]
fn unquoted_cron_explains_yaml_aliases() {
    let err = check("cron_unquoted");
    assert!(err.diagnostics[0]
        .help
        .as_deref()
        .unwrap()
        .contains("quote"));
}

#[test]
fn bad_template() {
    let err = check("bad_template");
    assert_eq!(err.diagnostics.len(), 2, "{err}");
    assert_eq!(
        err.diagnostics[0].path,
        "actions[0].create_related.items[0].title"
    );
    assert!(err.diagnostics[1].message.contains("unknown filter"));
}

#[test]
fn invalid_match_key() {
    let err = check("invalid_match_key");
    assert_eq!(err.diagnostics.len(), 1, "{err}");
    assert_eq!(err.diagnostics[0].path, "sync.match.task[0]");
    assert_eq!(err.diagnostics[0].message, "`email` cannot match a task");
}

#[test]
fn multiple_errors_in_one_file() {
    let err = check("multiple_errors");
    assert!(err.diagnostics.len() >= 8, "{err}");
    let lines: Vec<usize> = err.diagnostics.iter().map(|d| d.line).collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "diagnostics are in file order");
}

#[test]
fn sync_rules_are_cross_checked() {
    let err = check("sync_rules");
    let paths: Vec<&str> = err.diagnostics.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "sync.kinds[2]",
            "sync.conflict",
            "sync.filters.task",
            "sync.mapping.contact[0].to",
            "sync.mapping.contact[1].transform.normalize_phone.default_country",
            "sync.mapping.contact[2].transform.date.format",
            "sync.mapping.contact[3].transform.value_map",
            "sync.mapping.contact[4].direction",
            "sync.mapping.contact[5].value",
        ],
        "{err}"
    );
}

#[test]
fn bad_report_settings_name_the_field_and_what_is_allowed() {
    let err = check("bad_report");
    let found: Vec<(usize, &str, &str)> = err
        .diagnostics
        .iter()
        .map(|d| (d.line, d.path.as_str(), d.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (5, "actions[0].report.kind", "unknown report kind `summary`"),
            (6, "actions[1].report.format", "unknown report format `xlsx`"),
            (
                9,
                "actions[2].report.to",
                "`../outside/timeline-{{ now[:10] }}.csv` uses `..`; reports stay inside the project folder"
            ),
            (
                10,
                "actions[3].report.to",
                "`/var/reports/weekly.csv` is an absolute path; reports are written inside the project folder"
            ),
            (
                11,
                "actions[4].report.format",
                "`format` is json, but `to` names a .csv file"
            ),
            (
                12,
                "actions[5].report",
                "missing key `to` in `report`"
            ),
            (
                12,
                "actions[5].report.connection",
                "unknown key `connection` in `report`"
            ),
            (
                13,
                "actions[6].report.to",
                "invalid template: unknown filter: filter nosuchfilter is unknown (template line 1)"
            ),
        ],
        "{err}"
    );
    let help = |i: usize| err.diagnostics[i].help.as_deref().unwrap_or_default();
    assert!(
        help(0).contains("allowed: report, records, timeline"),
        "{err}"
    );
    assert!(help(1).contains("allowed: csv, json"), "{err}");
    assert!(help(6).contains("allowed: kind, format, to"), "{err}");
}

#[test]
fn report_needs_a_person_or_no_record() {
    let err = check("report_trigger");
    assert_eq!(err.diagnostics.len(), 1, "{err}");
    assert_eq!(err.diagnostics[0].path, "actions[0].report");
    assert!(err.diagnostics[0]
        .message
        .contains("a business has no contact"));
}
