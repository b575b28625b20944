//! `ghl-bridge run` as a user meets it: a broken project is reported with every problem and
//! nothing starts; a connection it cannot set up is named with its setting; `--once` syncs and
//! prints a summary; the default database sits next to the project file.

mod support;

use std::process::Command;

use support::*;

fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.arg("run").args(args).env_remove("DATABASE_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run ghl-bridge");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write");
    }
    dir
}

#[test]
fn a_broken_project_prints_every_problem_and_starts_nothing() {
    let dir = project(&[
        (
            "ghl-bridge.yaml",
            "version: 1\nconnections:\n  ghl: {app: ghl, location_id: l, token: '${NOT_SET_ANYWHERE}'}\n  crm: {app: your_app, base_url: 'http://127.0.0.1:9/v1', api_key: k}\n",
        ),
        ("flows/a.yaml", "name: a\nsync: {source: ghl, target: crm, kinds: [contact]}\n"),
    ]);
    let file = dir.path().join("ghl-bridge.yaml");
    let (code, _, err) = run(&["--project", file.to_str().unwrap_or_default()], &[]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("NOT_SET_ANYWHERE"), "{err}");
    assert!(
        err.contains("ghl-bridge.yaml:3:"),
        "diagnostics carry file:line:col: {err}"
    );
    assert!(err.contains("nothing was started"), "{err}");
    assert!(
        !dir.path().join("ghl-bridge.db").exists(),
        "no database was created"
    );

    std::fs::write(
        dir.path().join("flows/a.yaml"),
        "name: a\nsync: {source: ghl, target: nowhere, kinds: [contact]}\n",
    )
    .expect("write");
    let (code, _, err) = run(
        &["--project", file.to_str().unwrap_or_default()],
        &[("NOT_SET_ANYWHERE", "pit-x")],
    );
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("flows/a.yaml"), "{err}");
    assert!(err.contains("nowhere"), "{err}");
}

#[test]
fn connections_that_cannot_be_set_up_are_named_with_their_setting() {
    let dir = project(&[
        (
            "ghl-bridge.yaml",
            "version: 1\nconnections:\n  ghl: {app: ghl, location_id: l, tokn: t}\n  crm: {app: insightly, api_key: k}\n  unused: {app: salesnexus}\n",
        ),
        ("flows/a.yaml", "name: a\nsync: {source: ghl, target: crm, kinds: [contact]}\n"),
    ]);
    let file = dir.path().join("ghl-bridge.yaml");
    let (code, _, err) = run(&["--project", file.to_str().unwrap_or_default()], &[]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains(
            "connection `ghl` (ghl), setting `tokn`: unknown setting; did you mean `token`?"
        ),
        "{err}"
    );
    assert!(
        err.contains("connection `ghl` (ghl), setting `token`: is required"),
        "{err}"
    );
    assert!(
        err.contains("connection `crm` (insightly), setting `base_url`: is required"),
        "{err}"
    );
    assert!(
        !err.contains("`unused`"),
        "connections no enabled flow uses are not set up: {err}"
    );
}

#[test]
fn bad_options_are_refused_naming_them() {
    let (code, _, err) = run(&["--poll-every", "5 minutes"], &[]);
    assert_ne!(code, 0);
    assert!(
        err.contains("--poll-every") && err.contains("unknown unit"),
        "{err}"
    );
    let dir = project(&[
        ("ghl-bridge.yaml", "version: 1\nconnections: {}\n"),
        ("flows/.keep", ""),
    ]);
    let file = dir.path().join("ghl-bridge.yaml");
    let (code, _, err) = run(
        &[
            "--project",
            file.to_str().unwrap_or_default(),
            "--workers",
            "0",
        ],
        &[],
    );
    assert_ne!(code, 0);
    assert!(err.contains("--workers"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_syncs_prints_a_summary_and_uses_the_database_next_to_the_project() {
    let w = world(12, ONE_WAY).await;
    let mut cmd = Command::new(BIN);
    cmd.arg("run")
        .arg("--project")
        .arg(&w.project)
        .arg("--once")
        .env_remove("DATABASE_URL")
        .env("GHL_URL", &w.ghl.base_url)
        .env("GHL_LOCATION", w.ghl.location_id())
        .env("GHL_TOKEN", w.ghl.token())
        .env("CRM_URL", w.crm.api_url())
        .env("CRM_KEY", w.crm.api_key());
    let out = cmd.output().expect("run --once");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("polled 12 change(s), reconciled 12 record(s)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("0 pending (0 due), 0 leased, 0 dead"),
        "{stdout}"
    );
    assert!(
        w.project.with_file_name("ghl-bridge.db").exists(),
        "default database next to the project"
    );
    assert!(
        !stderr.contains(&w.ghl.token()),
        "the token is never logged"
    );
    assert!(
        !stderr.contains(&w.crm.api_key()),
        "the API key is never logged"
    );
    assert_each_contact_once(&w).await;

    // A second pass finds nothing new to write.
    let out = cmd.output().expect("run --once again");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(crm_creates(&w.crm_log().await).1, 12);
}
