//! Faults, the request log, seed determinism, profiles and the admin API of the "Your App"
//! emulator, over real HTTP.

mod rest_support;

use std::time::Instant;

use ghl_sandbox::ghl::faults::FaultRule;
use ghl_sandbox::rest::{Profile, RestConfig, RestSandbox};
use reqwest::Method;
use rest_support::{start, Api};
use serde_json::{json, Value};

fn rule(route: &str, edit: impl FnOnce(&mut FaultRule)) -> FaultRule {
    let mut r = FaultRule {
        route: route.into(),
        ..Default::default()
    };
    edit(&mut r);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_and_timeout_faults_answer_5xx_and_change_nothing() {
    let (sb, api) =
        start(|c| c.faults = vec![rule("create-contact", |r| r.error_rate = 1.0)]).await;
    let r = api
        .post("/v1/contacts", json!({"first_name": "Nope"}))
        .await;
    assert!([500, 502, 503].contains(&r.status), "{}", r.text);
    assert_eq!(r.code(), "server_error");
    assert!(
        r.header("x-ratelimit-remaining").is_some(),
        "faulted answers are counted too"
    );
    assert_eq!(
        api.all("/v1/contacts").await.len(),
        5,
        "nothing was created; reads unaffected"
    );

    let faults = json!({"rules": [{"route": "DELETE /v1/contacts/{id}", "timeoutRate": 1.0, "timeoutMs": 20}]});
    assert_eq!(
        api.admin(Method::PUT, "/faults", Some(faults)).await.status,
        200
    );
    let id = api.all("/v1/contacts").await[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let t = api.delete(&format!("/v1/contacts/{id}")).await;
    assert_eq!(t.status, 504, "{}", t.text);
    assert_eq!(
        api.get(&format!("/v1/contacts/{id}")).await.status,
        200,
        "not deleted"
    );
    assert_eq!(
        api.post("/v1/contacts", json!({})).await.status,
        201,
        "rules were replaced"
    );

    let bad = api
        .admin(
            Method::PUT,
            "/faults",
            Some(json!({"rules": [{"route": "*", "errorRate": 2}]})),
        )
        .await;
    assert_eq!(bad.status, 422);
    let log = api.admin(Method::GET, "/requests", None).await.json();
    let faults: Vec<Value> = log["requests"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|e| e["fault"].clone())
                .filter(|f| !f.is_null())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(faults.len(), 2, "the log names injected faults: {log}");
    assert_eq!(faults[1], json!("timeout"));
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbled_and_latency_faults_hit_only_their_route() {
    let rules = vec![
        rule("GET /v1/contacts/{id}", |r| r.garbled_rate = 1.0),
        rule("list-notes", |r| r.latency_ms = 60),
    ];
    let (sb, api) = start(|c| c.faults = rules).await;
    let id = api.all("/v1/contacts").await[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let garbled = api.get(&format!("/v1/contacts/{id}")).await;
    assert_eq!(garbled.status, 200);
    assert!(
        serde_json::from_str::<Value>(&garbled.text).is_err(),
        "{}",
        garbled.text
    );
    let started = Instant::now();
    assert_eq!(api.get("/v1/notes").await.status, 200);
    assert!(started.elapsed().as_millis() >= 60, "latency added");
    let tasks = api.get("/v1/tasks").await;
    assert_eq!(tasks.status, 200);
    tasks.json();
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_log_keeps_calls_and_idempotency_keys_but_never_the_api_key() {
    let (sb, api) = start(|c| c.api_key = Some("super-secret-key".into())).await;
    api.call(
        Method::POST,
        "/v1/contacts",
        Some(json!({"first_name": "Log"})),
        &[("Idempotency-Key", "idem-7")],
    )
    .await;
    api.get("/v1/contacts?limit=2").await;
    Api::new(&api.base, "wrong-key").get("/v1/tasks").await;
    let log = api.admin(Method::GET, "/requests", None).await;
    assert!(
        !log.text.contains("super-secret-key") && !log.text.contains("wrong-key"),
        "{}",
        log.text
    );
    let entries = log.json()["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(entries.len(), 3);
    let create = &entries[0];
    assert_eq!(create["method"], json!("POST"));
    assert_eq!(create["path"], json!("/v1/contacts"));
    assert_eq!(create["operation"], json!("create-contact"));
    assert_eq!(create["status"], json!(201));
    assert_eq!(create["idempotency_key"], json!("idem-7"));
    assert_eq!(create["body"], json!({"first_name": "Log"}));
    assert!(create["latency_us"].is_u64());
    assert_eq!(entries[1]["query"], json!("limit=2"));
    assert_eq!(entries[1]["idempotency_key"], Value::Null);
    assert_eq!(entries[2]["status"], json!(401));
    let seq = entries[1]["seq"].as_u64().expect("seq");
    let since = api
        .admin(Method::GET, &format!("/requests?since={seq}"), None)
        .await
        .json();
    assert_eq!(since["requests"].as_array().map(Vec::len), Some(1));
    api.admin(Method::DELETE, "/requests", None).await;
    let empty = api.admin(Method::GET, "/requests", None).await.json();
    assert_eq!(empty["requests"].as_array().map(Vec::len), Some(0));
    sb.shutdown().await;
}

/// Every record of every kind, deleted ones included.
async fn snapshot(api: &Api) -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    for kind in ["contacts", "notes", "tasks", "appointments"] {
        out.push(
            api.all(&format!("/v1/{kind}?include_deleted=true&limit=100"))
                .await,
        );
    }
    out
}

async fn boot(seed: u64, profile: Profile) -> (RestSandbox, Api) {
    let config = RestConfig {
        seed,
        contacts: 25,
        profile,
        ..RestConfig::default()
    };
    let sb = RestSandbox::start(config).await.expect("start");
    let api = Api::new(&sb.base_url, &sb.api_key());
    (sb, api)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_data_is_deterministic_and_reset_restores_it() {
    let (a, api_a) = boot(7, Profile::YourApp).await;
    let (b, api_b) = boot(7, Profile::YourApp).await;
    let (c, api_c) = boot(8, Profile::YourApp).await;
    let first = snapshot(&api_a).await;
    assert_eq!(first[0].len(), 25);
    for (kind, records) in ["notes", "tasks", "appointments"].iter().zip(&first[1..]) {
        assert!(!records.is_empty(), "some {kind} are seeded");
    }
    assert_eq!(
        first,
        snapshot(&api_b).await,
        "same seed, same data (ids and times too)"
    );
    assert_eq!(a.api_key(), b.api_key(), "same seed, same default key");
    assert_ne!(first, snapshot(&api_c).await, "another seed, other data");
    assert_ne!(a.api_key(), c.api_key());

    let id = first[0][0]["id"].as_str().expect("id");
    api_a
        .patch(&format!("/v1/contacts/{id}"), json!({"city": "Changed"}))
        .await;
    api_a.contact(json!({"first_name": "Extra"})).await;
    let reset = api_a.admin(Method::POST, "/reset", Some(json!({}))).await;
    assert_eq!(reset.status, 200, "{}", reset.text);
    assert_eq!(snapshot(&api_a).await, first, "reset reseeds the same data");
    let bigger = api_a
        .admin(
            Method::POST,
            "/seed",
            Some(json!({"seed": 8, "contacts": 25})),
        )
        .await;
    assert_eq!(bigger.json()["counts"]["contacts"]["live"], json!(25));
    assert_eq!(snapshot(&api_a).await, snapshot(&api_c).await);
    for sb in [a, b, c] {
        sb.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_change_the_name_and_seed_flavour_only() {
    let expectations = [
        (Profile::YourApp, "Your App", "yourapp_test_", "lead_source"),
        (
            Profile::InvestNext,
            "InvestNext",
            "investnext_test_",
            "investor_type",
        ),
        (Profile::Invoco, "Invoco", "invoco_test_", "account_number"),
    ];
    for (profile, name, key_prefix, custom_key) in expectations {
        let (sb, api) = boot(3, profile).await;
        let overview = api.admin(Method::GET, "/", None).await.json();
        assert_eq!(overview["app"], json!(name));
        assert!(sb.api_key().starts_with(key_prefix), "{}", sb.api_key());
        let contacts = api.all("/v1/contacts").await;
        assert!(
            contacts
                .iter()
                .all(|c| c["custom_fields"].get(custom_key).is_some()),
            "{name}"
        );
        // The same contract: creates, paging and validation behave identically.
        let made = api
            .post(
                "/v1/contacts",
                json!({"first_name": "Same", "custom_fields": {"k": 1}}),
            )
            .await;
        assert_eq!(made.status, 201);
        assert_eq!(
            api.post("/v1/contacts", json!({"bogus": 1})).await.status,
            422
        );
        sb.shutdown().await;
    }
    let (sb, api) = boot(3, Profile::YourApp).await;
    let switched = api
        .admin(
            Method::POST,
            "/reset",
            Some(json!({"profile": "investnext"})),
        )
        .await;
    assert_eq!(switched.status, 200, "{}", switched.text);
    assert_eq!(
        api.admin(Method::GET, "/", None).await.json()["app"],
        json!("InvestNext")
    );
    let bad = api
        .admin(
            Method::POST,
            "/reset",
            Some(json!({"profile": "salesforce"})),
        )
        .await;
    assert_eq!(bad.status, 400);
    sb.shutdown().await;
}
