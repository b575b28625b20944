//! The admin API's flow files, runs, events and switches, over real HTTP against
//! `ghl-bridge serve`: a flow created, read, replaced and deleted in the project folder (and
//! refused with the loader's diagnostics, nothing written, when invalid); a dry run on a sample
//! record; a flow switched off whose webhooks start no run until switched on again, and that
//! stays off across a restart; the error shape and status of every refusal.

mod serve_support;
mod support;

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use serve_support::*;
use support::*;

const TOKEN: &str = "adm-flows-7c1e5a9d-token";

/// Answer status, headers and JSON body (Null when there is none).
async fn send(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    body: Option<(&str, String)>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut rq = http.request(method, url).bearer_auth(TOKEN);
    if let Some((ctype, text)) = body {
        rq = rq.header("content-type", ctype).body(text);
    }
    let r = rq.send().await.expect("request");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (
        status,
        headers,
        r.json::<Value>().await.unwrap_or(Value::Null),
    )
}

async fn call(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    body: Option<(&str, String)>,
) -> (u16, Value) {
    let (s, _, v) = send(http, method, url, body).await;
    (s, v)
}

/// Asserts the admin error shape and returns the code.
fn error_code(v: &Value) -> String {
    let e = &v["error"];
    assert!(e["message"].is_string(), "no message in {v}");
    assert!(e["details"].is_object(), "no details in {v}");
    e["code"].as_str().expect("code").to_string()
}

const WELCOME: &str = "name: welcome copy
sync:
  source: ghl
  target: crm
  direction: one_way
  kinds: [contact]
  match:
    contact: [email]
";

/// A flow whose kinds list has a typo on line 6.
const BROKEN: &str = "name: broken
sync:
  source: ghl
  target: crm
  direction: one_way
  kinds: [contakt]
";

async fn open_server(w: &World, name: &str, args: &[&str]) -> Server {
    Server::start_with(
        w,
        &w.db_url,
        name,
        args,
        &[("GHL_BRIDGE_ADMIN_TOKEN", TOKEN)],
    )
    .await
}

/// The flows folder's `*.yaml` files, by name.
fn flow_files(w: &World) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(w.dir.path().join("flows"))
        .expect("flows folder")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_files_are_written_checked_and_refused_in_the_error_shape() {
    let w = world(1, ONE_WAY).await;
    let server = open_server(&w, "flows", &[]).await;
    let http = reqwest::Client::new();
    let api = format!("{}/api/v1", server.url);
    let before = flow_files(&w);

    // Read one flow.
    let (status, f) = call(
        &http,
        Method::GET,
        &format!("{api}/flows/contacts%20to%20crm"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{f}");
    assert_eq!(
        (f["kind"].as_str(), f["running"].as_bool()),
        (Some("sync"), Some(true)),
        "{f}"
    );
    assert!(
        f["yaml"].as_str().unwrap().contains("kinds: [contact]"),
        "{f}"
    );
    assert!(f["file"].as_str().unwrap().starts_with("flows/"), "{f}");

    // Unknown flow: 404 naming it.
    let (status, v) = call(&http, Method::GET, &format!("{api}/flows/nope"), None).await;
    assert_eq!((status, error_code(&v).as_str()), (404, "not_found"), "{v}");
    assert_eq!(v["error"]["details"]["flow"], "nope");

    // Invalid YAML: 422 with the loader's diagnostics (line, column, field), nothing written.
    let (status, v) = call(
        &http,
        Method::POST,
        &format!("{api}/flows"),
        Some(("application/yaml", BROKEN.into())),
    )
    .await;
    assert_eq!(
        (status, error_code(&v).as_str()),
        (422, "invalid_flow"),
        "{v}"
    );
    let d = &v["error"]["details"]["diagnostics"][0];
    assert_eq!(d["line"], 6, "{v}");
    assert!(d["col"].as_u64().unwrap() > 0, "{v}");
    assert!(d["field"].as_str().unwrap().contains("kinds"), "{v}");
    assert_eq!(
        flow_files(&w),
        before,
        "nothing written for an invalid flow"
    );
    // Not even YAML.
    let (status, v) = call(
        &http,
        Method::POST,
        &format!("{api}/flows"),
        Some(("application/yaml", "name: [unclosed\n".into())),
    )
    .await;
    assert_eq!(
        (status, error_code(&v).as_str()),
        (422, "invalid_flow"),
        "{v}"
    );
    assert!(
        v["error"]["details"]["diagnostics"][0]["line"]
            .as_u64()
            .unwrap()
            >= 1,
        "{v}"
    );
    // A JSON body that is not {name, yaml}: 400 saying where.
    let (status, v) = call(
        &http,
        Method::POST,
        &format!("{api}/flows"),
        Some(("application/json", "{\"yml\": 1}".into())),
    )
    .await;
    assert_eq!((status, error_code(&v).as_str()), (400, "bad_body"), "{v}");

    // Create from JSON {name, yaml}: written as flows/<name>.yaml, restart required.
    let body = json!({"name": "welcome copy", "yaml": WELCOME}).to_string();
    let (status, v) = call(
        &http,
        Method::POST,
        &format!("{api}/flows"),
        Some(("application/json", body.clone())),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(
        (v["file"].as_str(), v["restart_required"].as_bool()),
        (Some("flows/welcome-copy.yaml"), Some(true)),
        "{v}"
    );
    let written = std::fs::read_to_string(w.dir.path().join("flows/welcome-copy.yaml")).unwrap();
    assert_eq!(written, WELCOME);
    assert!(
        !flow_files(&w).iter().any(|f| f.ends_with(".tmp")),
        "no temp file left"
    );
    // Again: 409, and an existing running flow's name too (YAML body).
    let (status, v) = call(
        &http,
        Method::POST,
        &format!("{api}/flows"),
        Some(("application/json", body)),
    )
    .await;
    assert_eq!(
        (status, error_code(&v).as_str()),
        (409, "flow_exists"),
        "{v}"
    );
    let (status, v) = call(
        &http,
        Method::POST,
        &format!("{api}/flows"),
        Some(("application/yaml", ONE_WAY.into())),
    )
    .await;
    assert_eq!(
        (status, error_code(&v).as_str()),
        (409, "flow_exists"),
        "{v}"
    );
    // The JSON name must match the YAML's.
    let other =
        json!({"name": "other", "yaml": WELCOME.replace("welcome copy", "third")}).to_string();
    let (status, v) = call(
        &http,
        Method::POST,
        &format!("{api}/flows"),
        Some(("application/json", other)),
    )
    .await;
    assert_eq!(
        (status, error_code(&v).as_str()),
        (422, "name_mismatch"),
        "{v}"
    );

    // The new flow reads back; it is not running until a restart.
    let (status, f) = call(
        &http,
        Method::GET,
        &format!("{api}/flows/welcome%20copy"),
        None,
    )
    .await;
    assert_eq!((status, f["running"].as_bool()), (200, Some(false)), "{f}");
    // Enable/disable of a flow not loaded yet: 409 saying to restart.
    let (status, v) = call(
        &http,
        Method::POST,
        &format!("{api}/flows/welcome%20copy/disable"),
        None,
    )
    .await;
    assert_eq!(
        (status, error_code(&v).as_str()),
        (409, "not_running"),
        "{v}"
    );

    // Replace: checked the same way; the name must stay.
    let changed = WELCOME.replace("direction: one_way", "direction: two_way");
    let (status, v) = call(
        &http,
        Method::PUT,
        &format!("{api}/flows/welcome%20copy"),
        Some(("application/yaml", changed.clone())),
    )
    .await;
    assert_eq!(
        (status, v["restart_required"].as_bool()),
        (200, Some(true)),
        "{v}"
    );
    assert_eq!(
        std::fs::read_to_string(w.dir.path().join("flows/welcome-copy.yaml")).unwrap(),
        changed
    );
    let (status, v) = call(
        &http,
        Method::PUT,
        &format!("{api}/flows/welcome%20copy"),
        Some(("application/yaml", BROKEN.into())),
    )
    .await;
    assert_eq!(
        (status, error_code(&v).as_str()),
        (422, "invalid_flow"),
        "{v}"
    );
    assert_eq!(
        std::fs::read_to_string(w.dir.path().join("flows/welcome-copy.yaml")).unwrap(),
        changed,
        "a refused replace changes nothing"
    );
    let (status, v) = call(
        &http,
        Method::PUT,
        &format!("{api}/flows/welcome%20copy"),
        Some((
            "application/yaml",
            WELCOME.replace("welcome copy", "renamed"),
        )),
    )
    .await;
    assert_eq!(
        (status, error_code(&v).as_str()),
        (422, "name_mismatch"),
        "{v}"
    );
    let (status, v) = call(
        &http,
        Method::PUT,
        &format!("{api}/flows/nope"),
        Some(("application/yaml", WELCOME.into())),
    )
    .await;
    assert_eq!((status, error_code(&v).as_str()), (404, "not_found"), "{v}");

    // Dry run on a sample record: the mapped fields.
    let sample =
        json!({"kind": "contact", "fields": {"email": "ada@example.com", "first_name": "Ada"}})
            .to_string();
    let (status, v) = call(
        &http,
        Method::POST,
        &format!("{api}/flows/contacts%20to%20crm/dry-run"),
        Some(("application/json", sample)),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["before"]["email"], "ada@example.com", "{v}");
    assert!(v["after"].is_object() && v["warnings"].is_array(), "{v}");
    let wrong_kind = json!({"kind": "task", "fields": {}}).to_string();
    let (status, v) = call(
        &http,
        Method::POST,
        &format!("{api}/flows/contacts%20to%20crm/dry-run"),
        Some(("application/json", wrong_kind)),
    )
    .await;
    assert_eq!(
        (status, error_code(&v).as_str()),
        (422, "dry_run_refused"),
        "{v}"
    );
    let (status, v) = call(
        &http,
        Method::POST,
        &format!("{api}/flows/contacts%20to%20crm/dry-run"),
        Some(("application/json", "{}".into())),
    )
    .await;
    assert_eq!((status, error_code(&v).as_str()), (400, "bad_body"), "{v}");

    // Delete: the file goes.
    let (status, v) = call(
        &http,
        Method::DELETE,
        &format!("{api}/flows/welcome%20copy"),
        None,
    )
    .await;
    assert_eq!(
        (status, v["restart_required"].as_bool()),
        (200, Some(true)),
        "{v}"
    );
    assert_eq!(flow_files(&w), before);
    let (status, v) = call(
        &http,
        Method::DELETE,
        &format!("{api}/flows/welcome%20copy"),
        None,
    )
    .await;
    assert_eq!((status, error_code(&v).as_str()), (404, "not_found"), "{v}");

    // Bad query parameters are named; no token is 401.
    let (status, v) = call(
        &http,
        Method::GET,
        &format!("{api}/runs?state=sleeping"),
        None,
    )
    .await;
    assert_eq!((status, error_code(&v).as_str()), (400, "bad_query"), "{v}");
    assert_eq!(v["error"]["details"]["parameter"], "state");
    let (status, v) = call(
        &http,
        Method::GET,
        &format!("{api}/events?since=yesterday"),
        None,
    )
    .await;
    assert_eq!(v["error"]["details"]["parameter"], "since", "{status} {v}");
    let (status, v) = call(
        &http,
        Method::GET,
        &format!("{api}/events?sorce=poll"),
        None,
    )
    .await;
    assert_eq!(
        (status, v["error"]["details"]["parameter"].as_str()),
        (400, Some("sorce")),
        "{v}"
    );
    let r = http
        .post(format!("{api}/flows"))
        .body(WELCOME)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(error_code(&v), "unauthorized");
    assert_eq!(flow_files(&w), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_flow_starts_no_runs_until_enabled() {
    let w = world(3, ONE_WAY).await;
    project_with_webhook_keys(&w);
    let server = open_server(&w, "switch", &[]).await;
    let http = reqwest::Client::new();
    let api = format!("{}/api/v1", server.url);
    let keys = w.ghl.state.keys.clone();
    let deliver = |contact: &str, id: &str| {
        let body = contact_update(&w, contact, id);
        let sig = keys.sign_ed25519(&body);
        (body, sig)
    };
    // Entity keys of the flow's runs (a start-up reconcile may add runs of real contacts; the
    // deliveries below name contacts of their own).
    let run_keys = |http: reqwest::Client, api: String| async move {
        let (s, v) = call(
            &http,
            Method::GET,
            &format!("{api}/runs?flow=contacts%20to%20crm&limit=1000"),
            None,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["entity_key"].as_str().unwrap().to_string())
            .collect::<Vec<String>>()
    };
    let has = |keys: &[String], contact: &str| keys.iter().any(|k| k.ends_with(contact));

    let (body, sig) = deliver("hook-contact-1", "sw-1");
    let (_, ack) = post(&http, &server.url, body, &sig).await.unwrap();
    assert_eq!(ack["jobs"].as_u64(), Some(1), "{ack}");
    assert!(has(
        &run_keys(http.clone(), api.clone()).await,
        "hook-contact-1"
    ));

    let (status, v) = call(
        &http,
        Method::POST,
        &format!("{api}/flows/contacts%20to%20crm/disable"),
        None,
    )
    .await;
    assert_eq!(
        (
            status,
            v["enabled"].as_bool(),
            v["restart_required"].as_bool()
        ),
        (200, Some(false), Some(false)),
        "{v}"
    );
    let (_, list) = call(&http, Method::GET, &format!("{api}/flows"), None).await;
    assert_eq!(
        (
            list[0]["enabled"].as_bool(),
            list[0]["disabled_at_runtime"].as_bool()
        ),
        (Some(false), Some(true)),
        "{list}"
    );
    let (body, sig) = deliver("hook-contact-2", "sw-2");
    let (status, ack) = post(&http, &server.url, body, &sig).await.unwrap();
    assert_eq!(
        (status, ack["events"].as_u64(), ack["jobs"].as_u64()),
        (200, Some(1), Some(0)),
        "{ack}"
    );
    assert!(
        !has(&run_keys(http.clone(), api.clone()).await, "hook-contact-2"),
        "no run while disabled"
    );
    let (_, events) = call(
        &http,
        Method::GET,
        &format!("{api}/events?connection=ghl&source=webhook"),
        None,
    )
    .await;
    assert_eq!(
        events["items"].as_array().unwrap().len(),
        2,
        "the event is still recorded: {events}"
    );
    assert_eq!(
        events["items"][0]["event_key"], "sw-2",
        "newest first: {events}"
    );

    let (status, v) = call(
        &http,
        Method::POST,
        &format!("{api}/flows/contacts%20to%20crm/enable"),
        None,
    )
    .await;
    assert_eq!((status, v["enabled"].as_bool()), (200, Some(true)), "{v}");
    let (body, sig) = deliver("hook-contact-3", "sw-3");
    let (_, ack) = post(&http, &server.url, body, &sig).await.unwrap();
    assert_eq!(ack["jobs"].as_u64(), Some(1), "{ack}");
    let keys = run_keys(http.clone(), api.clone()).await;
    assert!(
        has(&keys, "hook-contact-3") && !has(&keys, "hook-contact-2"),
        "{keys:?}"
    );
    // Finished runs show their start and duration.
    let done = eventually(Duration::from_secs(20), "a finished run", || {
        let (http, api) = (http.clone(), api.clone());
        async move {
            let (_, v) = call(&http, Method::GET, &format!("{api}/runs?state=done"), None).await;
            let items = v["items"].as_array().cloned().unwrap_or_default();
            items.into_iter().find(|r| r["duration_ms"].is_number())
        }
    })
    .await;
    assert!(
        done["started_at"].is_string() && done["finished_at"].is_string(),
        "{done}"
    );
    // A switch survives a restart.
    let (status, _) = call(
        &http,
        Method::POST,
        &format!("{api}/flows/contacts%20to%20crm/disable"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    drop(server);
    let server = open_server(&w, "switch-again", &[]).await;
    let api = format!("{}/api/v1", server.url);
    let (_, list) = call(&http, Method::GET, &format!("{api}/flows"), None).await;
    assert_eq!(
        list[0]["disabled_at_runtime"].as_bool(),
        Some(true),
        "{list}"
    );
    assert!(
        server.log_text().contains("stay off"),
        "{}",
        server.log_text()
    );
    let (status, v) = call(
        &http,
        Method::POST,
        &format!("{api}/flows/nope/enable"),
        None,
    )
    .await;
    assert_eq!((status, error_code(&v).as_str()), (404, "not_found"), "{v}");
}
