//! Auth and rate limits of the "Your App" emulator, over real HTTP: the bearer key, the error
//! shape of 401, the three `X-RateLimit-*` headers on every authenticated answer, and 429 with
//! `Retry-After` once the window is spent.

mod rest_support;

use ghl_sandbox::rest::ratelimit::RateLimit;
use reqwest::Method;
use rest_support::{read, start, Api};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_wrong_key_is_401_and_the_right_key_passes() {
    let (sb, api) = start(|c| c.api_key = Some("k-123".into())).await;
    assert_eq!(sb.api_key(), "k-123");

    let none = read(api.http.get(format!("{}/v1/contacts", api.base))).await;
    assert_eq!(none.status, 401, "{}", none.text);
    assert_eq!(none.code(), "unauthorized");
    assert!(none.json()["error"]["message"].as_str().is_some());
    assert!(none.json()["error"]["details"].is_object());

    let wrong = Api::new(&api.base, "k-124").get("/v1/contacts").await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.code(), "unauthorized");

    let basic = read(
        api.http
            .get(format!("{}/v1/contacts", api.base))
            .basic_auth("k-123", None::<&str>),
    )
    .await;
    assert_eq!(basic.status, 401, "only Bearer is accepted");

    let ok = api.get("/v1/contacts").await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json()["data"].as_array().map(Vec::len), Some(5));

    let write = Api::new(&api.base, "nope")
        .post("/v1/contacts", json!({"first_name": "X"}))
        .await;
    assert_eq!(write.status, 401);
    let all = api.all("/v1/contacts").await;
    assert_eq!(all.len(), 5, "a refused write creates nothing");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_limit_headers_and_429_comes_with_retry_after() {
    let (sb, api) = start(|c| {
        c.limits = RateLimit {
            limit: 4,
            window_secs: 60,
        }
    })
    .await;
    let first = api.get("/v1/contacts").await;
    assert_eq!(first.header("x-ratelimit-limit"), Some("4"));
    assert_eq!(first.header("x-ratelimit-remaining"), Some("3"));
    let reset: u64 = first
        .header("x-ratelimit-reset")
        .and_then(|v| v.parse().ok())
        .expect("reset");
    assert!((1..=60).contains(&reset), "reset {reset}");

    // Errors are counted and announced too.
    let missing = api.get("/v1/contacts/con_nope").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.code(), "not_found");
    assert_eq!(missing.header("x-ratelimit-remaining"), Some("2"));
    let invalid = api.post("/v1/contacts", json!({"email": "bad"})).await;
    assert_eq!(invalid.status, 422);
    assert_eq!(invalid.header("x-ratelimit-remaining"), Some("1"));
    let last = api.get("/v1/notes").await;
    assert_eq!(last.header("x-ratelimit-remaining"), Some("0"));

    let limited = api
        .post("/v1/contacts", json!({"first_name": "Late"}))
        .await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    assert_eq!(limited.code(), "rate_limited");
    let retry: u64 = limited
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry), "retry-after {retry}");
    assert_eq!(limited.header("x-ratelimit-limit"), Some("4"));
    assert_eq!(limited.header("x-ratelimit-remaining"), Some("0"));
    assert!(limited.header("x-ratelimit-reset").is_some());

    // The refused create did nothing; the admin API is not limited.
    let counts = api.admin(Method::GET, "/", None).await.json();
    assert_eq!(counts["counts"]["contacts"]["live"], json!(5));

    // Raising the limit at run time restarts the window.
    let set = api
        .admin(
            Method::PUT,
            "/limits",
            Some(json!({"limit": 100, "window_secs": 1})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    let again = api.get("/v1/contacts").await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("x-ratelimit-limit"), Some("100"));
    assert_eq!(again.header("x-ratelimit-remaining"), Some("99"));
    let bad = api
        .admin(Method::PUT, "/limits", Some(json!({"limit": 0})))
        .await;
    assert_eq!(bad.status, 422);
    sb.shutdown().await;
}
