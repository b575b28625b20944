//! `ghl-bridge connect` as a separate process against the GHL emulator (and the Your App
//! emulator) in this test process: the OAuth flow through the emulator's consent page into the
//! CLI's callback listener, tokens sealed in the SQLite file, and `connect test` for OAuth,
//! full and read-only Private Integration Tokens, a refused token and an unreachable host.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use ghl_sandbox::rest::{RestConfig, RestSandbox};
use secrets::{key_path, write_new_private, SecretKey};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_ghl-bridge");

/// A project folder with a secret key, an empty flows folder and `connections`.
fn folder(connections: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    write_new_private(&key_path(dir.path()), &SecretKey::generate().to_base64()).expect("key");
    std::fs::create_dir_all(dir.path().join("flows")).expect("flows");
    let file = dir.path().join("ghl-bridge.yaml");
    std::fs::write(&file, format!("version: 1\nconnections:\n{connections}")).expect("project");
    (dir, file)
}

fn cli(project: &Path, args: &[&str], env: &[(&str, String)]) -> Command {
    let mut c = Command::new(BIN);
    c.args(["connect"])
        .args(args)
        .arg("--project")
        .arg(project)
        .env_remove("GHL_BRIDGE_SECRET_KEY")
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

fn run(project: &Path, args: &[&str], env: &[(&str, String)]) -> Output {
    cli(project, args, env).output().expect("ghl-bridge runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `connect test NAME --json`: the JSON and whether the command succeeded.
fn test_json(project: &Path, name: &str, env: &[(&str, String)]) -> (Value, bool, String) {
    let o = run(project, &["test", name, "--json"], env);
    let all = text(&o);
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{all}"));
    (v, o.status.success(), all)
}

fn db_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        if e.file_name().to_string_lossy().starts_with("ghl-bridge.db") {
            all.extend(std::fs::read(e.path()).unwrap_or_default());
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Approves the consent page (first location) and returns the redirect with `code` and `state`.
async fn approve(base: &str, consent_url: &str) -> String {
    ghl_sandbox::ghl::consent::approve(base, consent_url)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

fn endpoints(v: &Value, group: &str) -> Vec<bool> {
    v["endpoints"][group]
        .as_array()
        .unwrap_or_else(|| panic!("no {group} endpoints in {v}"))
        .iter()
        .map(|e| e["allowed"].as_bool().expect("allowed"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_connect_stores_sealed_tokens_and_the_test_reports_scopes() {
    let ghl = GhlSandbox::start(GhlConfig::default())
        .await
        .expect("GHL sandbox");
    let c = ghl.credentials();
    let (dir, project) = folder(&format!(
        "  ghl:\n    app: ghl\n    auth: oauth\n    base_url: {}\n    client_id: {}\n    client_secret: ${{GHL_CLIENT_SECRET}}\n",
        ghl.base_url, c.client_id
    ));
    let env = [("GHL_CLIENT_SECRET", c.client_secret.clone())];

    // Before connecting, the test says what to run.
    let (v, ok, all) = test_json(&project, "ghl", &env);
    assert!(!ok, "{all}");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or_default()
            .contains("ghl-bridge connect ghl --connection ghl"),
        "{v}"
    );

    let mut child = cli(
        &project,
        &["ghl", "--connection", "ghl", "--listen", "127.0.0.1:0"],
        &env,
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("connect starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut printed = Vec::new();
    let consent = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no consent URL printed; got {printed:?}"));
        printed.push(line.clone());
        if line.starts_with("http") && line.contains("chooselocation") {
            break line;
        }
    };
    assert!(consent.contains("state="), "{consent}");
    let back = approve(&ghl.base_url, &consent).await;
    assert!(
        back.contains("/oauth/callback?") && back.contains("code="),
        "{back}"
    );
    let page = reqwest::get(&back).await.expect("callback");
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.expect("page").contains("Connected"));
    let status = child.wait().expect("connect exits");
    let rest: Vec<String> = rx.try_iter().collect();
    let out = rest.join("\n");
    assert!(status.success(), "{printed:?}\n{out}");
    assert!(out.contains(&ghl.location_id()), "locations listed: {out}");
    assert!(out.contains("contacts.write"), "{out}");
    assert!(
        !out.contains("sbx-at-") && !out.contains("sbx-rt-"),
        "{out}"
    );

    let raw = db_bytes(dir.path());
    assert!(!raw.is_empty(), "the database exists");
    assert!(
        !contains(&raw, "sbx-at-") && !contains(&raw, "sbx-rt-"),
        "a token is in the database in the clear"
    );

    let (v, ok, all) = test_json(&project, "ghl", &env);
    assert!(ok, "{all}");
    assert_eq!(v["auth"], "oauth");
    assert_eq!(v["reachable"], true);
    assert_eq!(v["authorized"], true);
    assert_eq!(v["scopes_source"], "token");
    assert!(v["token_expires_at"].is_string(), "{v}");
    assert!(v["latency_ms"].is_u64(), "{v}");
    assert_eq!(endpoints(&v, "readonly"), vec![true; 8]);
    assert_eq!(endpoints(&v, "write"), vec![true; 9]);
    assert!(!all.contains("sbx-at-"), "{all}");
    ghl.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_tests_for_tokens_read_only_refused_and_unreachable() {
    let ghl = GhlSandbox::start(GhlConfig::default())
        .await
        .expect("GHL sandbox");
    let loc = ghl.location_id();
    let minted: Value = reqwest::Client::new()
        .post(format!("{}/_sandbox/tokens", ghl.base_url))
        .json(&json!({"locationId": loc, "scopes": ["contacts.readonly"]}))
        .send()
        .await
        .expect("mint")
        .json()
        .await
        .expect("json");
    let ro = minted["token"].as_str().expect("token").to_string();
    let base = &ghl.base_url;
    let (_dir, project) = folder(&format!(
        "  full: {{app: ghl, base_url: '{base}', location_id: {loc}, token: '${{FULL}}'}}\n\
         \x20 ro: {{app: ghl, base_url: '{base}', location_id: {loc}, token: '${{RO}}'}}\n\
         \x20 bad: {{app: ghl, base_url: '{base}', location_id: {loc}, token: pit-not-a-real-token}}\n\
         \x20 down: {{app: ghl, base_url: 'http://127.0.0.1:9', location_id: {loc}, token: '${{FULL}}'}}\n"
    ));
    let env = [("FULL", ghl.token()), ("RO", ro.clone())];

    let before = ghl.state.store.read().counts();
    let (v, ok, all) = test_json(&project, "full", &env);
    assert_eq!(
        ghl.state.store.read().counts(),
        before,
        "the write probe creates nothing"
    );
    assert!(ok, "{all}");
    assert_eq!(v["auth"], "token");
    assert_eq!(v["scopes_source"], "probe");
    assert_eq!(v["scopes"], json!(["contacts.readonly", "contacts.write"]));
    assert_eq!(endpoints(&v, "readonly"), vec![true; 8]);
    assert_eq!(endpoints(&v, "write"), vec![true; 9]);
    assert_eq!(v["status"], 200);

    let (v, ok, all) = test_json(&project, "ro", &env);
    assert!(ok, "reachable and authorized: {all}");
    assert_eq!(v["scopes"], json!(["contacts.readonly"]));
    assert_eq!(endpoints(&v, "readonly"), vec![true; 8]);
    assert_eq!(
        endpoints(&v, "write"),
        vec![false; 9],
        "write endpoints not allowed"
    );
    assert!(
        v["message"]
            .as_str()
            .unwrap_or_default()
            .contains("READ-ONLY"),
        "{v}"
    );
    // The table for people says the same.
    let o = run(&project, &["test", "ro"], &env);
    let table = text(&o);
    assert!(
        table.contains("reachable   yes") && table.contains("DENIED   POST /contacts/"),
        "{table}"
    );
    assert!(
        table.contains("allowed  GET /contacts/:contactId"),
        "{table}"
    );

    let (v, ok, all) = test_json(&project, "bad", &env);
    assert!(!ok, "{all}");
    assert_eq!(v["reachable"], true);
    assert_eq!(v["authorized"], false);
    assert_eq!(v["status"], 401);
    assert!(
        v["message"]
            .as_str()
            .unwrap_or_default()
            .contains("ghl-bridge connect ghl --connection bad --token"),
        "says what to do next: {v}"
    );
    assert!(v["endpoints"].is_null());

    let (v, ok, all) = test_json(&project, "down", &env);
    assert!(!ok, "{all}");
    assert_eq!(v["reachable"], false);
    assert!(
        v["message"]
            .as_str()
            .unwrap_or_default()
            .contains("base_url"),
        "{v}"
    );

    for name in ["full", "ro", "bad", "down"] {
        let all = text(&run(&project, &["test", name, "--json"], &env));
        assert!(
            !all.contains(&ghl.token()) && !all.contains(&ro),
            "a token was printed"
        );
    }
    let o = run(&project, &["test", "nope"], &env);
    assert!(!o.status.success());
    assert!(text(&o).contains("no connection `nope`"), "{}", text(&o));
    ghl.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_and_an_api_key_from_stdin_are_stored_sealed_and_used() {
    let ghl = GhlSandbox::start(GhlConfig::default())
        .await
        .expect("GHL sandbox");
    let crm = RestSandbox::start(RestConfig::default())
        .await
        .expect("Your App emulator");
    let (dir, project) = folder(&format!(
        "  ghl: {{app: ghl, base_url: '{}', location_id: {}}}\n  crm: {{app: your_app, base_url: '{}'}}\n",
        ghl.base_url,
        ghl.location_id(),
        crm.api_url()
    ));
    let feed = |args: &[&str], secret: &str| {
        let mut child = cli(&project, args, &[])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(format!("{secret}\n").as_bytes())
            .expect("write");
        child.wait_with_output().expect("exits")
    };
    // Without a stored token the error says how to store one.
    let (v, ok, _) = test_json(&project, "ghl", &[]);
    assert!(!ok);
    assert!(
        v["message"]
            .as_str()
            .unwrap_or_default()
            .contains("--token"),
        "{v}"
    );

    let o = feed(&["ghl", "--connection", "ghl", "--token"], &ghl.token());
    let all = text(&o);
    assert!(o.status.success(), "{all}");
    assert!(
        all.contains("stored the token") && all.contains("reachable   yes"),
        "{all}"
    );
    assert!(!all.contains(&ghl.token()), "the token was echoed");

    let o = feed(
        &["your_app", "--connection", "crm", "--key"],
        &crm.api_key(),
    );
    let all = text(&o);
    assert!(o.status.success(), "{all}");
    assert!(
        all.contains("stored the api_key") && all.contains("authorized  yes"),
        "{all}"
    );
    let (v, ok, all) = test_json(&project, "crm", &[]);
    assert!(ok, "{all}");
    assert_eq!(v["auth"], "api_key");

    // A wrong key is reachable but refused.
    let o = feed(&["your_app", "--connection", "crm", "--key"], "wrong-key");
    let all = text(&o);
    assert!(!o.status.success(), "{all}");
    assert!(
        all.contains("reachable   yes") && all.contains("authorized  no"),
        "{all}"
    );
    assert!(
        all.contains("ghl-bridge connect your_app --connection crm --key"),
        "{all}"
    );

    let raw = db_bytes(dir.path());
    assert!(
        !contains(&raw, &ghl.token()) && !contains(&raw, &crm.api_key()),
        "a secret is in the database in the clear"
    );
    // The wrong app for a connection is named.
    let o = run(
        &project,
        &["insightly", "--connection", "crm", "--key"],
        &[],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("is app `your_app`"), "{}", text(&o));
    ghl.shutdown().await;
}
