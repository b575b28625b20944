//! Fault injection of the GHL sandbox (`PUT /_sandbox/faults`) over real HTTP: 5xx without side
//! effects, garbled bodies, "422 but created anyway", latency, timeouts, route matching, rates
//! and seeded, repeatable draws.

mod common;

use std::time::{Duration, Instant};

use common::{config, contact_count, contact_of, new_contact, start, Api};
use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::GhlSandbox;
use reqwest::Method;
use serde_json::json;

/// Limits high enough that hundreds of calls never meet a 429.
fn unlimited() -> LimitConfig {
    LimitConfig {
        burst_max: 100_000,
        burst_interval_ms: 10_000,
        daily_max: 1_000_000,
    }
}

fn last_logged_fault(sb: &GhlSandbox) -> Option<String> {
    sb.state
        .log
        .since(0, usize::MAX)
        .last()
        .and_then(|e| e.fault.clone())
}

#[tokio::test]
async fn server_error_fault_answers_5xx_and_creates_nothing() {
    let sb = start(config(|_| {})).await;
    let api = Api::new(&sb.base_url);
    let location = sb.location_id();
    api.set_faults(json!([{"route": "create-contact", "errorRate": 1.0}]))
        .await;

    let r = api
        .post(
            "/contacts/",
            &sb.token(),
            new_contact(&location, "err@example.com"),
        )
        .await;
    assert!(
        [500, 502, 503].contains(&r.status),
        "{} {}",
        r.status,
        r.text
    );
    assert_eq!(r.json()["statusCode"], r.status);
    r.assert_rate_headers();
    assert!(
        last_logged_fault(&sb).is_some_and(|f| f.starts_with("error 5")),
        "{:?}",
        last_logged_fault(&sb)
    );
    assert_eq!(contact_count(&sb, &location), 5, "no contact created");

    // Other operations are not affected.
    let r = api
        .get(
            &format!("/contacts/{}", contact_of(&sb, &location)),
            &sb.token(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    api.set_faults(json!([])).await;
    let r = api
        .post(
            "/contacts/",
            &sb.token(),
            new_contact(&location, "err@example.com"),
        )
        .await;
    assert_eq!(r.status, 201, "faults cleared: {}", r.text);
    sb.shutdown().await;
}

#[tokio::test]
async fn garbled_fault_answers_200_with_invalid_json() {
    let sb = start(config(|_| {})).await;
    let api = Api::new(&sb.base_url);
    api.set_faults(json!([{"route": "get-contact", "garbledRate": 1.0}]))
        .await;
    let r = api
        .get(
            &format!("/contacts/{}", contact_of(&sb, &sb.location_id())),
            &sb.token(),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(
        serde_json::from_str::<serde_json::Value>(&r.text).is_err(),
        "body should not parse: {}",
        r.text
    );
    assert_eq!(last_logged_fault(&sb).as_deref(), Some("garbled"));
    sb.shutdown().await;
}

#[tokio::test]
async fn accept_then_422_fault_still_creates_the_contact() {
    let sb = start(config(|_| {})).await;
    let api = Api::new(&sb.base_url);
    let location = sb.location_id();
    let email = "ghost@example.com";
    api.set_faults(json!([{"route": "create-contact", "acceptThen422Rate": 1.0}]))
        .await;

    let r = api
        .post("/contacts/", &sb.token(), new_contact(&location, email))
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.json()["statusCode"], 422);
    assert_eq!(
        contact_count(&sb, &location),
        6,
        "the contact was created anyway"
    );

    api.set_faults(json!([])).await;
    let filter = json!({"locationId": location, "pageLimit": 10,
        "filters": [{"field": "email", "operator": "eq", "value": email}]});
    let found = api.post("/contacts/search", &sb.token(), filter).await;
    assert_eq!(found.status, 200, "{}", found.text);
    assert_eq!(found.json()["total"], 1, "{}", found.text);
    assert_eq!(found.json()["contacts"][0]["email"], email);
    let dup = api
        .get(
            &format!("/contacts/search/duplicate?locationId={location}&email={email}"),
            &sb.token(),
        )
        .await;
    assert_eq!(dup.status, 200, "{}", dup.text);
    assert_eq!(dup.json()["contact"]["email"], email);
    sb.shutdown().await;
}

#[tokio::test]
async fn latency_fault_delays_the_answer() {
    let sb = start(config(|_| {})).await;
    let api = Api::new(&sb.base_url);
    let path = format!("/contacts/{}", contact_of(&sb, &sb.location_id()));
    api.set_faults(json!([{"route": "GET /contacts/{contactId}", "latencyMs": 150}]))
        .await;
    let started = Instant::now();
    let r = api.get(&path, &sb.token()).await;
    let took = started.elapsed();
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        took >= Duration::from_millis(150),
        "answered after {took:?}"
    );
    let logged = sb.state.log.since(0, usize::MAX);
    assert!(
        logged.last().is_some_and(|e| e.latency_us >= 150_000),
        "{logged:?}"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn timeout_fault_outlasts_a_short_client_timeout() {
    let sb = start(config(|_| {})).await;
    let api = Api::new(&sb.base_url);
    let location = sb.location_id();
    api.set_faults(json!([{"route": "create-contact", "timeoutRate": 1.0, "timeoutMs": 300}]))
        .await;

    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .expect("client");
    let err = impatient
        .post(api.url("/contacts/"))
        .bearer_auth(sb.token())
        .header("Version", common::VERSION)
        .json(&new_contact(&location, "slow@example.com"))
        .send()
        .await
        .expect_err("the client gives up first");
    assert!(err.is_timeout(), "{err:?}");

    // A patient client gets a 504 after the configured time, and nothing was created.
    let started = Instant::now();
    let r = api
        .post(
            "/contacts/",
            &sb.token(),
            new_contact(&location, "slow@example.com"),
        )
        .await;
    assert_eq!(r.status, 504, "{}", r.text);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(contact_count(&sb, &location), 5);
    sb.shutdown().await;
}

#[tokio::test]
async fn rules_match_by_method_and_path_or_by_operation_id() {
    let sb = start(config(|_| {})).await;
    let api = Api::new(&sb.base_url);
    let location = sb.location_id();
    let t = sb.token();
    let one = format!("/contacts/{}", contact_of(&sb, &location));
    let failed = |s: u16| (500..=504).contains(&s);

    api.set_faults(json!([{"route": "PUT /contacts/{contactId}", "errorRate": 1.0}]))
        .await;
    assert!(failed(
        api.put(&one, &t, json!({"firstName": "X"})).await.status
    ));
    assert_eq!(
        api.get(&one, &t).await.status,
        200,
        "GET on the same path is not matched"
    );
    assert_eq!(
        api.post("/contacts/", &t, new_contact(&location, "a@example.com"))
            .await
            .status,
        201
    );

    api.set_faults(json!([{"route": "get-contact", "errorRate": 1.0}]))
        .await;
    assert!(failed(api.get(&one, &t).await.status));
    assert_eq!(
        api.put(&one, &t, json!({"firstName": "Y"})).await.status,
        200
    );

    api.set_faults(json!([{"route": "post /contacts/", "errorRate": 1.0}]))
        .await;
    assert!(
        failed(
            api.post("/contacts/", &t, new_contact(&location, "b@example.com"))
                .await
                .status
        ),
        "method case-insensitive"
    );

    api.set_faults(json!([{"route": "*", "errorRate": 1.0}]))
        .await;
    assert!(failed(api.get(&one, &t).await.status));
    assert!(failed(
        api.post("/contacts/search", &t, json!({"locationId": location}))
            .await
            .status
    ));

    api.set_faults(json!([{"route": "search-contacts-advanced", "errorRate": 1.0}]))
        .await;
    assert_eq!(api.get(&one, &t).await.status, 200);
    let got = api.admin(Method::GET, "/faults", None).await.json();
    assert_eq!(got["rules"][0]["route"], "search-contacts-advanced");

    let r = api
        .admin(
            Method::PUT,
            "/faults",
            Some(json!({"rules": [{"route": "*", "errorRate": 1.5}]})),
        )
        .await;
    assert_eq!(r.status, 422, "a rate above 1: {}", r.text);
    sb.shutdown().await;
}

#[tokio::test]
async fn error_rate_holds_over_many_calls() {
    let sb = start(config(|c| c.limits = unlimited())).await;
    let api = Api::new(&sb.base_url);
    let path = format!("/contacts/{}", contact_of(&sb, &sb.location_id()));
    api.set_faults(json!([{"route": "get-contact", "errorRate": 0.3}]))
        .await;
    let mut errors = 0;
    for _ in 0..300 {
        match api.get(&path, &sb.token()).await.status {
            200 => {}
            500 | 502 | 503 => errors += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    // Expected 90; the band is about ±3.5 standard deviations.
    assert!(
        (60..=120).contains(&errors),
        "{errors} errors in 300 calls at rate 0.3"
    );
    sb.shutdown().await;
}

/// Statuses of `n` GETs of one contact under a 50 % error rule.
async fn statuses(sb: &GhlSandbox, n: usize) -> Vec<u16> {
    let api = Api::new(&sb.base_url);
    api.set_faults(json!([{"route": "get-contact", "errorRate": 0.5}]))
        .await;
    let path = format!("/contacts/{}", contact_of(sb, &sb.location_id()));
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(api.get(&path, &sb.token()).await.status);
    }
    out
}

#[tokio::test]
async fn fault_draws_repeat_for_the_same_seed() {
    let seeded = |seed| {
        config(move |c| {
            c.seed = seed;
            c.limits = unlimited();
        })
    };
    let first = start(seeded(7)).await;
    let second = start(seeded(7)).await;
    let other = start(seeded(8)).await;
    let a = statuses(&first, 40).await;
    let b = statuses(&second, 40).await;
    let c = statuses(&other, 40).await;
    assert!(a.contains(&200) && a.iter().any(|s| *s >= 500), "{a:?}");
    assert_eq!(a, b, "same seed, same draws");
    assert_ne!(a, c, "another seed, other draws");

    // Reseeding a running sandbox with the same seed replays the same draws.
    let api = Api::new(&first.base_url);
    let r = api
        .admin(Method::POST, "/reset", Some(json!({"seed": 7})))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        statuses(&first, 40).await,
        a,
        "reset with seed 7 replays the draws"
    );
    for sb in [first, second, other] {
        sb.shutdown().await;
    }
}

#[tokio::test]
async fn admin_rejects_unknown_fault_and_limit_fields() {
    let sb = start(config(|_| {})).await;
    let api = Api::new(&sb.base_url);
    let location = sb.location_id();

    // snake_case names are not the API's; silently ignoring them would leave faults off.
    let rules = json!({"rules": [{"route": "create-contact", "error_rate": 1.0}]});
    let r = api.admin(Method::PUT, "/faults", Some(rules)).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.message().contains("error_rate"), "{}", r.text);
    assert_eq!(
        api.admin(Method::GET, "/faults", None).await.json()["rules"],
        json!([])
    );
    let r = api
        .post(
            "/contacts/",
            &sb.token(),
            new_contact(&location, "ok@example.com"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);

    let r = api
        .admin(Method::PUT, "/limits", Some(json!({"burst_max": 5})))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.message().contains("burst_max"), "{}", r.text);
    assert_eq!(
        api.admin(Method::GET, "/limits", None).await.json()["burstMax"],
        100,
        "limits unchanged"
    );
    sb.shutdown().await;
}
