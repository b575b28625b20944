//! Auth and the request budget of the Insightly emulator, over real HTTP: the three Basic-auth
//! forms Insightly accepts and 401 otherwise, `X-RateLimit-Limit` / `X-RateLimit-Remaining` on
//! every authenticated answer, 429 with `Retry-After` once the daily budget (or the optional
//! per-second cap) is spent, and the request log never keeping the key.

mod insightly_support;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ghl_sandbox::insightly::quota::QuotaConfig;
use insightly_support::{read, start};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_basic_forms_pass_and_anything_else_is_401() {
    let (sb, api) = start(|c| c.api_key = Some("0a1b2c3d-key".into())).await;
    let url = format!("{}/Contacts?top=1", api.base);
    for creds in [
        "0a1b2c3d-key",
        "0a1b2c3d-key:",
        "0a1b2c3d-key:ignored-password",
    ] {
        let header = format!("Basic {}", STANDARD.encode(creds));
        let r = read(api.http.get(&url).header("authorization", header)).await;
        assert_eq!(r.status, 200, "{creds}: {}", r.text);
        assert_eq!(r.rows().len(), 1);
    }
    for (creds, why) in [
        ("0a1b2c3d-kez:", "another key"),
        ("0a1b2c3d-key-longer:", "a longer key"),
        (":0a1b2c3d-key", "the key as password"),
    ] {
        let header = format!("Basic {}", STANDARD.encode(creds));
        let r = read(api.http.get(&url).header("authorization", header)).await;
        r.assert_error(401, "Invalid api key");
        assert!(
            r.header("x-ratelimit-limit").is_none(),
            "{why}: not counted"
        );
    }
    let bearer = read(api.http.get(&url).bearer_auth("0a1b2c3d-key")).await;
    bearer.assert_error(401, "Invalid api key");
    let none = read(api.http.get(&url)).await;
    none.assert_error(401, "Authentication failed");
    let write = read(
        api.http
            .post(format!("{}/Contacts", api.base))
            .basic_auth("nope", Some(""))
            .json(&json!({"FIRST_NAME": "X"})),
    )
    .await;
    assert_eq!(write.status, 401);
    assert_eq!(
        api.all("/Contacts", 100).await.len(),
        8,
        "nothing was created"
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_budget_and_a_spent_day_answers_429() {
    let (sb, api) = start(|c| {
        c.quota = QuotaConfig {
            daily_quota: 5,
            per_second: None,
        }
    })
    .await;
    let first = api.get("/Contacts?top=1").await;
    assert_eq!(first.header("x-ratelimit-limit"), Some("5"));
    assert_eq!(first.header("x-ratelimit-remaining"), Some("4"));
    let missing = api.get("/Contacts/1").await;
    missing.assert_error(404, "Record not found");
    assert_eq!(
        missing.header("x-ratelimit-remaining"),
        Some("3"),
        "errors count too"
    );
    let invalid = api.post("/Contacts", json!({"LAST_NAME": "x"})).await;
    invalid.assert_error(400, "FIRST_NAME");
    assert_eq!(invalid.header("x-ratelimit-remaining"), Some("2"));
    api.get("/Users/Me").await;
    let last = api.get("/Users/Me").await;
    assert_eq!(last.status, 200);
    assert_eq!(last.header("x-ratelimit-remaining"), Some("0"));

    let refused = api.get("/Users/Me").await;
    refused.assert_error(429, "daily API request limit of 5");
    assert_eq!(refused.header("x-ratelimit-limit"), Some("5"));
    assert_eq!(refused.header("x-ratelimit-remaining"), Some("0"));
    let wait: u64 = refused
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!(
        (1..=86_400).contains(&wait),
        "until the next UTC day: {wait}"
    );
    let write = api.post("/Contacts", json!({"FIRST_NAME": "Late"})).await;
    assert_eq!(write.status, 429, "a refused write does nothing");

    // The admin API is outside the budget, and can give the day back.
    let q = api.admin(Method::GET, "/quota", None).await;
    assert_eq!(q.json()["used"], 5);
    let r = api
        .admin(
            Method::PUT,
            "/quota",
            Some(json!({"used": 0, "daily_quota": 1000})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let again = api.get("/Contacts?top=500").await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("x-ratelimit-remaining"), Some("999"));
    assert!(
        !again.rows().iter().any(|c| c["FIRST_NAME"] == "Late"),
        "the refused create made nothing"
    );

    // The next UTC day starts afresh.
    api.admin(Method::PUT, "/quota", Some(json!({"used": 1000})))
        .await;
    assert_eq!(api.get("/Users/Me").await.status, 429);
    api.advance(86_400).await;
    let tomorrow = api.get("/Users/Me").await;
    assert_eq!(tomorrow.status, 200, "{}", tomorrow.text);
    assert_eq!(tomorrow.header("x-ratelimit-remaining"), Some("999"));
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_optional_per_second_cap_answers_429_with_retry_after_one() {
    let (sb, api) = start(|c| {
        c.quota = QuotaConfig {
            daily_quota: 10_000,
            per_second: Some(3),
        }
    })
    .await;
    // At most 3 pass within one second; 10 quick calls cannot all land in different thirds
    // of a second, so one of them is refused.
    let mut refused = None;
    for _ in 0..10 {
        let r = api.get("/Users/Me").await;
        if r.status == 429 {
            refused = Some(r);
            break;
        }
    }
    let r = refused.expect("a burst of 10 exceeds 3 per second");
    r.assert_error(429, "per second");
    assert_eq!(r.header("retry-after"), Some("1"));
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_log_records_calls_without_the_key() {
    let (sb, api) = start(|c| c.api_key = Some("secret-key-123".into())).await;
    api.post(
        "/Contacts",
        json!({"FIRST_NAME": "Logged", "EMAIL_ADDRESS": "l@example.com"}),
    )
    .await;
    api.get("/Contacts/Search?field_name=EMAIL_ADDRESS&field_value=l@example.com")
        .await;
    let log = api.admin(Method::GET, "/requests", None).await;
    let entries = log.json()["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(entries.len(), 2, "{}", log.text);
    assert_eq!(entries[0]["operation"], "post-contacts");
    assert_eq!(entries[0]["status"], 201);
    assert_eq!(entries[0]["body"]["FIRST_NAME"], "Logged");
    assert_eq!(entries[1]["operation"], "get-contacts-search");
    assert!(entries[1]["query"]
        .as_str()
        .unwrap_or_default()
        .contains("EMAIL_ADDRESS"));
    assert!(!log.text.contains("secret-key-123"), "{}", log.text);
    let encoded = STANDARD.encode("secret-key-123:");
    assert!(!log.text.contains(&encoded));
    sb.shutdown().await;
}
