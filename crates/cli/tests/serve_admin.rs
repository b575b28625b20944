//! The admin API of `ghl-bridge serve` over real HTTP: closed (401) without a configured
//! token and with a missing or wrong bearer; flows and connections listed without secrets;
//! the dead-letter queue listed, replayed and discarded on a job that really failed; audit
//! filters; the error shape for bad queries, unknown routes and wrong methods; the OpenAPI
//! document covering every route; the token never in the server's output.

mod serve_support;
mod support;

use std::time::Duration;

use chrono::Utc;
use engine::store::{CallAudit, FailOutcome, JobId, NewJob};
use serde_json::Value;
use serve_support::*;
use support::*;

const TOKEN: &str = "adm-4f9c2e7b1d-token";

/// Answer status and JSON body (Null when there is none).
async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
) -> (u16, Value) {
    let mut rq = http.request(method, url);
    if let Some(t) = token {
        rq = rq.bearer_auth(t);
    }
    let r = rq.send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json::<Value>().await.unwrap_or(Value::Null))
}

async fn get(http: &reqwest::Client, url: &str) -> (u16, Value) {
    call(http, reqwest::Method::GET, url, Some(TOKEN)).await
}

/// Asserts the admin error shape and returns the code.
fn error_code(v: &Value) -> String {
    let e = &v["error"];
    assert!(e["message"].is_string(), "no message in {v}");
    assert!(e["details"].is_object(), "no details in {v}");
    e["code"].as_str().expect("code").to_string()
}

/// A job of a flow the project does not have, failed once with one attempt allowed: it is in
/// the dead-letter queue with the store's own error, as a worker would leave it.
async fn dead_job(db: &str) -> JobId {
    let store = open_store(db).await;
    let mut job = NewJob::new("retired flow", "contact:gone-1");
    job.max_attempts = Some(1);
    store.enqueue(job).await.expect("enqueue");
    let claimed = store
        .claim("test-worker", 1, Duration::from_secs(30))
        .await
        .expect("claim");
    let id = claimed[0].id;
    let out = store
        .fail(
            id,
            "test-worker",
            "connection refused",
            Duration::from_secs(1),
        )
        .await
        .expect("fail");
    assert!(matches!(out, FailOutcome::Dead { .. }), "{out:?}");
    for (conn, app) in [("ghl", "ghl"), ("crm", "your_app")] {
        store
            .record_call(CallAudit {
                at: Utc::now(),
                connection_id: conn.into(),
                app: app.into(),
                method: "GET".into(),
                path: "/contacts".into(),
                status: Some(200),
                latency_ms: 3,
                job_id: None,
            })
            .await
            .expect("record call");
    }
    store.close().await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_is_closed_by_default_and_serves_with_the_token() {
    let w = world(1, ONE_WAY).await;
    let http = reqwest::Client::new();
    let dead = dead_job(&w.db_url).await;

    // No token configured: every admin route is 401 and says how to open it.
    let mut server = Server::start(&w, &w.db_url, "closed").await;
    let (status, v) = call(
        &http,
        reqwest::Method::GET,
        &format!("{}/api/v1/flows", server.url),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(error_code(&v), "unauthorized");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("ghl-bridge init") && msg.contains("GHL_BRIDGE_ADMIN_TOKEN"),
        "{msg}"
    );
    server.kill();
    let server_closed_log = server.log_text();

    // The token `init` writes next to the project file opens it.
    std::fs::create_dir_all(w.dir.path().join(".ghl-bridge")).unwrap();
    std::fs::write(
        w.dir.path().join(".ghl-bridge/admin-token"),
        format!("  {TOKEN}\n"),
    )
    .unwrap();
    let server = Server::start(&w, &w.db_url, "open").await;
    let api = format!("{}/api/v1", server.url);

    for token in [None, Some("wrong"), Some("adm-4f9c2e7b1d-toke")] {
        let (status, v) = call(&http, reqwest::Method::GET, &format!("{api}/dlq"), token).await;
        assert_eq!(status, 401, "{token:?}: {v}");
        assert_eq!(error_code(&v), "unauthorized");
        assert!(!v.to_string().contains(TOKEN));
    }
    // The scheme name is case-insensitive.
    let r = http
        .get(format!("{api}/runs"))
        .header("authorization", format!("bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // Unknown routes are behind the check too, then 404; a wrong method is 405.
    let (status, _) = call(&http, reqwest::Method::GET, &format!("{api}/nope"), None).await;
    assert_eq!(status, 401);
    let (status, v) = get(&http, &format!("{api}/nope")).await;
    assert_eq!((status, error_code(&v).as_str()), (404, "not_found"), "{v}");
    let (status, v) = call(
        &http,
        reqwest::Method::PUT,
        &format!("{api}/flows"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(
        (status, error_code(&v).as_str()),
        (405, "method_not_allowed"),
        "{v}"
    );

    // Flows and connections.
    let (status, flows) = get(&http, &format!("{api}/flows")).await;
    assert_eq!(status, 200, "{flows}");
    assert_eq!(flows.as_array().unwrap().len(), 1, "{flows}");
    assert_eq!(flows[0]["name"], "contacts to crm");
    assert_eq!(flows[0]["kind"], "sync");
    assert_eq!(flows[0]["enabled"], true);
    assert_eq!(flows[0]["connections"], serde_json::json!(["crm", "ghl"]));
    let (status, conns) = get(&http, &format!("{api}/connections")).await;
    assert_eq!(status, 200, "{conns}");
    let apps: Vec<(String, String)> = conns
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().into(),
                c["app"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert_eq!(
        apps,
        [
            ("crm".into(), "your_app".into()),
            ("ghl".into(), "ghl".into())
        ]
    );
    assert!(
        !conns.to_string().contains(&w.crm.api_key()),
        "a secret leaked: {conns}"
    );
    assert!(
        !conns.to_string().contains(&w.ghl.token()),
        "a secret leaked: {conns}"
    );

    // Catalog, whole and filtered; a bad filter names its parameter.
    let (status, cat) = get(&http, &format!("{api}/catalog")).await;
    assert_eq!(status, 200, "{cat}");
    assert_eq!(cat["count"].as_u64(), Some(catalog::catalog().len() as u64));
    assert!(catalog::catalog().len() > 10);
    let (_, ghl) = get(&http, &format!("{api}/catalog?app=ghl&type=trigger")).await;
    let want = catalog::filtered(Some("ghl"), Some(catalog::EntryType::Trigger)).len();
    assert!(want > 0);
    assert_eq!(ghl["count"].as_u64(), Some(want as u64), "{ghl}");
    let entries = ghl["entries"].as_array().unwrap();
    assert!(entries
        .iter()
        .all(|e| e["app"] == "ghl" && e["type"] == "trigger"));
    for (query, param) in [("app=nope", "app"), ("type=step", "type")] {
        let (status, v) = get(&http, &format!("{api}/catalog?{query}")).await;
        assert_eq!(status, 400, "{v}");
        assert_eq!(error_code(&v), "bad_query");
        assert_eq!(v["error"]["details"]["parameter"], param, "{v}");
    }

    // Validation: a good flow passes; a bad one names the line and the field.
    let validate = format!("{api}/flows/validate");
    let r = http
        .post(&validate)
        .bearer_auth(TOKEN)
        .body(ONE_WAY)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["valid"].as_bool(), v["name"].as_str()),
        (Some(true), Some("contacts to crm")),
        "{v}"
    );
    let bad = ONE_WAY.replace("kinds: [contact]", "kinds: [contakt]");
    let r = http
        .post(&validate)
        .bearer_auth(TOKEN)
        .body(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["valid"], false, "{v}");
    let d = &v["diagnostics"][0];
    assert_eq!(d["line"], 6, "{v}");
    assert!(d["field"].as_str().unwrap().contains("kinds"), "{v}");
    assert!(d["message"].as_str().unwrap().contains("contakt"), "{v}");

    // Queue depth shows the dead job, and so does the run history.
    let (status, queue) = get(&http, &format!("{api}/queue")).await;
    assert_eq!((status, queue["dead"].as_u64()), (200, Some(1)), "{queue}");
    let (status, runs) = get(&http, &format!("{api}/runs?state=dead")).await;
    assert_eq!(status, 200, "{runs}");
    assert_eq!(runs["items"][0]["job_id"], dead.0, "{runs}");
    assert_eq!(
        runs["items"][0]["last_error"], "connection refused",
        "{runs}"
    );

    let (status, events) = get(&http, &format!("{api}/events")).await;
    assert_eq!(status, 200, "{events}");
    assert!(events["items"].is_array(), "{events}");

    // DLQ: listed (filtered), replayed, dead again (its flow is gone), discarded.
    let (status, dlq) = get(&http, &format!("{api}/dlq?flow=retired%20flow")).await;
    assert_eq!(status, 200, "{dlq}");
    assert_eq!(dlq["items"].as_array().unwrap().len(), 1, "{dlq}");
    assert_eq!(dlq["items"][0]["id"], dead.0);
    let (_, other) = get(&http, &format!("{api}/dlq?flow=contacts%20to%20crm")).await;
    assert_eq!(other["items"].as_array().unwrap().len(), 0, "{other}");
    let (status, v) = get(&http, &format!("{api}/dlq?limit=0")).await;
    assert_eq!((status, error_code(&v).as_str()), (400, "bad_query"));
    assert_eq!(v["error"]["details"]["parameter"], "limit");
    let (status, v) = get(&http, &format!("{api}/dlq?flw=x")).await;
    assert_eq!(
        (status, v["error"]["details"]["parameter"].as_str()),
        (400, Some("flw")),
        "{v}"
    );

    let replay = format!("{api}/dlq/{}/replay", dead.0);
    let (status, v) = call(&http, reqwest::Method::POST, &replay, Some(TOKEN)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["job_id"], dead.0);
    // A worker runs it; its flow is not loaded, so it fails for good again.
    eventually(
        Duration::from_secs(20),
        "the replayed job to run and die again",
        || {
            let http = http.clone();
            let url = format!("{api}/dlq");
            async move {
                let (_, d) = get(&http, &url).await;
                (d["items"].as_array().map(Vec::len) == Some(1)).then_some(())
            }
        },
    )
    .await;
    let (status, v) = call(
        &http,
        reqwest::Method::POST,
        &format!("{api}/dlq/999999/replay"),
        Some(TOKEN),
    )
    .await;
    assert_eq!((status, error_code(&v).as_str()), (404, "not_found"), "{v}");
    let (status, v) = call(
        &http,
        reqwest::Method::DELETE,
        &format!("{api}/dlq/abc"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(
        (status, v["error"]["details"]["parameter"].as_str()),
        (400, Some("id")),
        "{v}"
    );
    let discard = format!("{api}/dlq/{}", dead.0);
    let (status, _) = call(&http, reqwest::Method::DELETE, &discard, Some(TOKEN)).await;
    assert_eq!(status, 204);
    let (_, d) = get(&http, &format!("{api}/dlq")).await;
    assert_eq!(d["items"].as_array().unwrap().len(), 0, "{d}");
    let (status, _) = call(&http, reqwest::Method::DELETE, &discard, Some(TOKEN)).await;
    assert_eq!(status, 404, "discarding twice");

    // Audit filters.
    let (status, calls) = get(&http, &format!("{api}/audit/calls?connection=crm")).await;
    assert_eq!(status, 200, "{calls}");
    let items = calls["items"].as_array().unwrap();
    assert!(!items.is_empty(), "{calls}");
    assert!(items.iter().all(|c| c["connection_id"] == "crm"), "{calls}");
    let (_, none) = get(&http, &format!("{api}/audit/calls?app=insightly")).await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0, "{none}");
    let (status, v) = get(&http, &format!("{api}/audit/calls?since=yesterday")).await;
    assert_eq!(
        (status, v["error"]["details"]["parameter"].as_str()),
        (400, Some("since")),
        "{v}"
    );
    let (status, v) = get(&http, &format!("{api}/audit/changes?job=x")).await;
    assert_eq!(
        (status, v["error"]["details"]["parameter"].as_str()),
        (400, Some("job")),
        "{v}"
    );
    let (status, v) = get(
        &http,
        &format!("{api}/audit/changes?flow=contacts%20to%20crm"),
    )
    .await;
    assert_eq!(status, 200, "{v}");

    // The unified view of one person, looked up in the GHL emulator.
    let (id, _) = w
        .ghl_contacts()
        .into_iter()
        .next()
        .expect("a seeded contact");
    let (status, person) = get(&http, &format!("{api}/people?contact={id}&connection=ghl")).await;
    assert_eq!(status, 200, "{person}");
    assert_eq!(person["apps"][0]["connection"], "ghl", "{person}");
    assert_eq!(person["apps"][0]["contact_id"], id.as_str(), "{person}");
    let (status, v) = get(
        &http,
        &format!("{api}/people?email=nobody%40nowhere.example"),
    )
    .await;
    assert_eq!((status, error_code(&v).as_str()), (404, "not_found"), "{v}");
    let (status, v) = get(&http, &format!("{api}/people")).await;
    assert_eq!(
        (status, v["error"]["details"]["parameter"].as_str()),
        (400, Some("email")),
        "{v}"
    );

    // The OpenAPI document is public and covers every route the router has.
    let (status, doc) = call(
        &http,
        reqwest::Method::GET,
        &format!("{}/api/openapi.json", server.url),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    for (method, path) in server::admin::ROUTES {
        let full = format!("{}{path}", server::admin::PREFIX);
        assert!(
            doc["paths"][&full][*method].is_object(),
            "{method} {full} not documented"
        );
    }
    assert!(
        doc["components"]["securitySchemes"]["bearer"].is_object(),
        "{doc}"
    );

    // The token appears nowhere in what the server printed.
    let log = server.log_text();
    assert!(log.contains("serving HTTP"), "{log}");
    assert!(log.contains("admin API enabled"), "{log}");
    assert!(
        server_closed_log.contains("admin API closed"),
        "{server_closed_log}"
    );
    assert!(!log.contains(TOKEN), "the token leaked into the log");
}
