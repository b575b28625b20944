//! The SalesNexus emulator's gate over real HTTP: the `X-Api-Key` check (keys start `sn_live_`),
//! ping, the hourly budget (429 with `Retry-After` until the window resets, nothing done), the
//! "queue depth 2" concurrency limit, injected faults, and the request log (which never holds
//! the key).

mod salesnexus_support;

use reqwest::Method;
use salesnexus_support::start;
use serde_json::{json, Value};

#[tokio::test]
async fn the_key_is_checked_and_ping_answers() {
    let (sb, api) = start(|_| {}).await;
    let key = sb.api_key();
    assert!(key.starts_with("sn_live_"), "{key}");
    let (prefix, secret) = key["sn_live_".len()..]
        .split_once('.')
        .expect("prefix.secret");
    assert_eq!((prefix.len(), secret.len()), (8, 32), "{key}");

    let pong = api.get("/ping").await.expect(200).json();
    assert_eq!(pong["message"], "pong");
    assert!(
        pong["user"].as_str().is_some_and(|u| u.contains('@')),
        "{pong}"
    );
    assert!(pong["accountId"].is_i64(), "{pong}");

    let missing = api.with_key("").get("/contacts").await.expect(401);
    assert!(missing.text.contains("X-Api-Key"), "{}", missing.text);
    let wrong_format = api.with_key("sk_test_abc").get("/ping").await.expect(401);
    assert!(
        wrong_format.text.contains("sn_live_"),
        "{}",
        wrong_format.text
    );
    let wrong = api
        .with_key("sn_live_AAAAAAAA.nope")
        .get("/ping")
        .await
        .expect(401);
    assert!(wrong.text.contains("Invalid or expired"), "{}", wrong.text);
    assert!(
        wrong
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/plain")),
        "errors are text"
    );
    // Unknown routes are 404s.
    api.get("/nothing-here").await.expect(404);

    let log = api.log().await;
    let text = serde_json::to_string(&log).expect("log is JSON");
    assert!(!text.contains(&key), "the key never reaches the log");
    let statuses: Vec<u64> = log.iter().filter_map(|e| e["status"].as_u64()).collect();
    assert_eq!(statuses, [200, 401, 401, 401, 404]);
    assert_eq!(log[0]["operation"], "ping");
}

#[tokio::test]
async fn the_hourly_budget_answers_429_with_retry_after_and_does_nothing() {
    let (_sb, api) = start(|c| c.hourly_limit = 3).await;
    for _ in 0..3 {
        api.get("/ping").await.expect(200);
    }
    let refused = api
        .post(
            "/contacts",
            json!({"firstName": "Over", "email": "over@example.com"}),
        )
        .await
        .expect(429);
    let wait: u64 = refused
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!(
        (3500..=3600).contains(&wait),
        "until the hour resets: {wait}"
    );
    assert!(
        refused.text.contains("3 requests per hour"),
        "{}",
        refused.text
    );
    let found = api.admin(Method::GET, "/", Value::Null).await;
    assert_eq!(found["budget_used"], 3);
    // Nothing was created: the admin API (not counted) finds no such contact.
    let c = &found["counts"]["contacts"]["live"];
    assert_eq!(c, &json!(8));

    // A new budget (here a 3-second window) restarts the count.
    let b = api
        .admin(
            Method::PUT,
            "/budget",
            json!({"hourly_limit": 1, "window_secs": 3}),
        )
        .await;
    assert_eq!(
        (b["hourly_limit"].clone(), b["used"].clone()),
        (json!(1), json!(0))
    );
    api.get("/ping").await.expect(200);
    let again = api.get("/ping").await.expect(429);
    let wait: u64 = again
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=3).contains(&wait), "{wait}");
    let bad = reqwest::Client::new()
        .put(format!("{}/_sandbox/budget", api.base))
        .json(&json!({"hourly_limit": 0}))
        .send()
        .await
        .expect("sent");
    assert_eq!(bad.status().as_u16(), 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_request_in_flight_is_refused_with_queue_depth_2() {
    let (_sb, api) = start(|_| {}).await;
    api.admin(
        Method::PUT,
        "/faults",
        json!({"rules": [{"route": "list-contacts", "latencyMs": 800}]}),
    )
    .await;
    let burst = |n: usize| {
        let api = api.clone();
        async move {
            let calls = (0..n).map(|_| {
                let api = api.clone();
                tokio::spawn(async move { api.get("/contacts?pageSize=5").await })
            });
            // Spawned all at once (collected), then awaited.
            let calls: Vec<_> = calls.collect();
            let mut out = Vec::new();
            for c in calls {
                out.push(c.await.expect("task"));
            }
            out
        }
    };
    let answers = burst(3).await;
    let limited: Vec<_> = answers.iter().filter(|r| r.status == 429).collect();
    let ok = answers.iter().filter(|r| r.status == 200).count();
    assert_eq!((ok, limited.len()), (2, 1), "{answers:?}");
    assert_eq!(limited[0].header("retry-after"), Some("1"));
    assert!(
        limited[0].text.contains("queue depth is 2"),
        "{}",
        limited[0].text
    );

    // Two at a time always fit.
    let answers = burst(2).await;
    assert!(answers.iter().all(|r| r.status == 200), "{answers:?}");

    // The limit can be turned off.
    api.admin(Method::PUT, "/budget", json!({"queue_depth": null}))
        .await;
    let answers = burst(4).await;
    assert!(answers.iter().all(|r| r.status == 200), "{answers:?}");
}

#[tokio::test]
async fn injected_faults_are_logged_and_garbled_writes_still_happen() {
    let (_sb, api) = start(|_| {}).await;
    api.admin(
        Method::PUT,
        "/faults",
        json!({"rules": [
            {"route": "POST /api/v1/contacts", "garbledRate": 1.0},
            {"route": "get-contact", "errorRate": 1.0},
        ]}),
    )
    .await;
    let garbled = api
        .post(
            "/contacts",
            json!({"firstName": "Gar", "email": "gar@example.com"}),
        )
        .await
        .expect(201);
    assert!(serde_json::from_str::<Value>(&garbled.text).is_err());
    let hits = api
        .get("/contacts?search=gar@example.com")
        .await
        .expect(200);
    assert_eq!(hits.json()["totalItems"], 1, "the garbled create happened");
    let failing = api.get("/contacts/1001").await;
    assert!([500, 502, 503].contains(&failing.status), "{failing:?}");
    let log = api.log().await;
    let faults: Vec<&str> = log.iter().filter_map(|e| e["fault"].as_str()).collect();
    assert_eq!(faults.len(), 2, "{log:?}");
    assert_eq!(faults[0], "garbled");
    assert!(faults[1].starts_with("error "), "{faults:?}");
}
