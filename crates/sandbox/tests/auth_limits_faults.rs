//! The API gate of the GHL sandbox over real HTTP: `Version` header, bearer tokens, scopes,
//! per-location isolation, and rate limits with GHL's headers. Validation and the request log
//! are in `validation_and_log.rs`, fault injection in `faults.rs`, OAuth in `oauth_flow.rs`.

mod common;

use std::time::Duration;

use common::{config, contact_of, location_snapshot, new_contact, new_task, read, start, Api};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn version_header_and_bearer_token_are_required() {
    let sb = start(config(|_| {})).await;
    let api = Api::new(&sb.base_url);
    let path = format!("/contacts/{}", contact_of(&sb, &sb.location_id()));

    let r = read(api.http.get(api.url(&path)).bearer_auth(sb.token())).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.message(), "version header was not found");
    assert_eq!(r.json()["statusCode"], 400);

    let r = read(
        api.http
            .get(api.url(&path))
            .bearer_auth(sb.token())
            .header("Version", "2020-01-01"),
    )
    .await;
    assert_eq!(r.status, 400, "unsupported version: {}", r.text);

    let r = read(api.request(Method::GET, &path, None)).await;
    assert_eq!(r.status, 401, "no Authorization: {}", r.text);
    let r = api.get(&path, "pit-not-a-real-token").await;
    assert_eq!(r.status, 401, "unknown token: {}", r.text);
    assert_eq!(r.json()["error"], "Unauthorized");
    let basic = api
        .request(Method::GET, &path, None)
        .header("Authorization", format!("Basic {}", sb.token()));
    assert_eq!(
        read(basic).await.status,
        401,
        "a Basic scheme is not a bearer token"
    );

    assert_eq!(api.get(&path, &sb.token()).await.status, 200);
    sb.shutdown().await;
}

#[tokio::test]
async fn read_only_token_cannot_write_and_is_told_the_missing_scope() {
    let sb = start(config(|_| {})).await;
    let api = Api::new(&sb.base_url);
    let location = sb.location_id();
    let id = contact_of(&sb, &location);
    let task = api
        .post(&format!("/contacts/{id}/tasks"), &sb.token(), new_task())
        .await;
    assert_eq!(task.status, 201, "{}", task.text);
    let task_id = task.json()["task"]["id"]
        .as_str()
        .expect("task id")
        .to_string();
    let before = location_snapshot(&sb, &location);

    let read_only = api.mint_pit(&location, &["contacts.readonly"]).await;
    let r = api.get(&format!("/contacts/{id}"), &read_only).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let r = api
        .post(
            "/contacts/",
            &read_only,
            new_contact(&location, "scope@example.com"),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r.message().contains("contacts.write"), "{}", r.text);
    r.assert_rate_headers();
    let completed = format!("/contacts/{id}/tasks/{task_id}/completed");
    let r = api
        .put(&completed, &read_only, json!({"completed": true}))
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r.message().contains("contacts.write"), "{}", r.text);
    assert_eq!(location_snapshot(&sb, &location), before, "nothing changed");

    let write_only = api.mint_pit(&location, &["contacts.write"]).await;
    let r = api.get(&format!("/contacts/{id}"), &write_only).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r.message().contains("contacts.readonly"), "{}", r.text);
    let r = api
        .put(&completed, &write_only, json!({"completed": true}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["task"]["completed"], true);

    let r = api
        .admin(
            Method::POST,
            "/tokens",
            Some(json!({"locationId": location, "scopes": ["contacts.everything"]})),
        )
        .await;
    assert_eq!(r.status, 422, "unknown scope: {}", r.text);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_location_token_cannot_touch_another_location() {
    let sb = start(config(|c| c.locations = 2)).await;
    let api = Api::new(&sb.base_url);
    let creds = sb.credentials();
    let (a, b) = (&creds.locations[0], &creds.locations[1]);
    let theirs = contact_of(&sb, &b.location_id);
    let email_b = sb.state.store.read().contacts[&theirs]
        .email
        .clone()
        .unwrap_or_default();
    let before = location_snapshot(&sb, &b.location_id);
    let t = a.token.as_str();
    let one = format!("/contacts/{theirs}");

    let attempts = [
        ("GET", api.get(&one, t).await),
        (
            "PUT",
            api.put(&one, t, json!({"firstName": "Mallory"})).await,
        ),
        ("DELETE", api.delete(&one, t).await),
        (
            "tag",
            api.post(&format!("{one}/tags"), t, json!({"tags": ["pwned"]}))
                .await,
        ),
        (
            "task",
            api.post(&format!("{one}/tasks"), t, new_task()).await,
        ),
        (
            "note",
            api.post(&format!("{one}/notes"), t, json!({"body": "hi"}))
                .await,
        ),
        (
            "search",
            api.post(
                "/contacts/search",
                t,
                json!({"locationId": b.location_id, "pageLimit": 10}),
            )
            .await,
        ),
        (
            "duplicate",
            api.get(
                &format!(
                    "/contacts/search/duplicate?locationId={}&email={email_b}",
                    b.location_id
                ),
                t,
            )
            .await,
        ),
        (
            "list",
            api.get(&format!("/contacts/?locationId={}", b.location_id), t)
                .await,
        ),
        (
            "create",
            api.post(
                "/contacts/",
                t,
                new_contact(&b.location_id, "mallory@example.com"),
            )
            .await,
        ),
        (
            "upsert",
            api.post(
                "/contacts/upsert",
                t,
                new_contact(&b.location_id, "mallory@example.com"),
            )
            .await,
        ),
    ];
    for (what, r) in &attempts {
        assert_eq!(r.status, 403, "{what}: {}", r.text);
        assert_eq!(r.json()["statusCode"], 403, "{what}");
        r.assert_rate_headers();
    }
    assert_eq!(
        location_snapshot(&sb, &b.location_id),
        before,
        "location B is untouched"
    );
    assert_eq!(
        sb.state
            .store
            .read()
            .contacts_in(&a.location_id)
            .filter(|c| c.email.as_deref() == Some("mallory@example.com"))
            .count(),
        0
    );

    // B's own token still reads it; A's token still reads A.
    assert_eq!(api.get(&one, &b.token).await.status, 200);
    assert_eq!(
        api.get(&format!("/contacts/{}", contact_of(&sb, &a.location_id)), t)
            .await
            .status,
        200
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn burst_limit_answers_429_with_headers_and_recovers_after_the_window() {
    let sb = start(config(|c| c.locations = 2)).await;
    let api = Api::new(&sb.base_url);
    api.set_limits(5, 1_000, 1_000).await;
    let creds = sb.credentials();
    let (a, b) = (&creds.locations[0], &creds.locations[1]);
    let path = format!("/contacts/{}", contact_of(&sb, &a.location_id));

    for i in 0..5u64 {
        let r = api.get(&path, &a.token).await;
        assert_eq!(r.status, 200, "request {i}: {}", r.text);
        r.assert_rate_headers();
        assert_eq!(r.num("x-ratelimit-max"), 5);
        assert_eq!(r.num("x-ratelimit-interval-milliseconds"), 1_000);
        assert_eq!(r.num("x-ratelimit-limit-daily"), 1_000);
        assert_eq!(
            r.num("x-ratelimit-remaining"),
            4 - i,
            "Remaining counts down"
        );
        assert_eq!(r.num("x-ratelimit-daily-remaining"), 999 - i);
    }
    let r = api.get(&path, &a.token).await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.json()["statusCode"], 429);
    r.assert_rate_headers();
    assert_eq!(r.num("x-ratelimit-remaining"), 0);
    let retry_after = r.num("retry-after");
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    // Still limited, and 4xx answers after authentication carry the headers too.
    let r = api.post("/contacts/", &a.token, json!({})).await;
    assert_eq!(r.status, 429);
    r.assert_rate_headers();

    // Another location, and another app on the same location, have their own budgets.
    let r = api
        .get(
            &format!("/contacts/{}", contact_of(&sb, &b.location_id)),
            &b.token,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.num("x-ratelimit-remaining"), 4);
    let other_app = api.mint_pit(&a.location_id, &["contacts.readonly"]).await;
    let r = api.get(&path, &other_app).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.num("x-ratelimit-remaining"), 4);

    // The behaviour under test: the 1 s window passing.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    let r = api.get(&path, &a.token).await;
    assert_eq!(r.status, 200, "after the window: {}", r.text);
    assert_eq!(r.num("x-ratelimit-remaining"), 4);
    assert_eq!(
        r.num("x-ratelimit-daily-remaining"),
        994,
        "the 429s did not count"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn rate_headers_come_with_every_answer_after_authentication() {
    let sb = start(config(|c| c.locations = 2)).await;
    let api = Api::new(&sb.base_url);
    let creds = sb.credentials();
    let (a, b) = (&creds.locations[0], &creds.locations[1]);
    let mine = contact_of(&sb, &a.location_id);
    let read_only = api.mint_pit(&a.location_id, &["contacts.readonly"]).await;

    let answers = [
        (200, api.get(&format!("/contacts/{mine}"), &a.token).await),
        (
            400,
            api.get("/contacts/doesNotExist00000000", &a.token).await,
        ),
        (
            401,
            api.post(
                "/contacts/",
                &read_only,
                new_contact(&a.location_id, "x@example.com"),
            )
            .await,
        ),
        (
            403,
            api.get(
                &format!("/contacts/{}", contact_of(&sb, &b.location_id)),
                &a.token,
            )
            .await,
        ),
        (
            422,
            api.post(&format!("/contacts/{mine}/tasks"), &a.token, json!({}))
                .await,
        ),
        (
            400,
            read(
                api.request(
                    Method::POST,
                    &format!("/contacts/{mine}/tasks"),
                    Some(&a.token),
                )
                .header("content-type", "application/json")
                .body("{"),
            )
            .await,
        ),
    ];
    for (status, r) in &answers {
        assert_eq!(r.status, *status, "{}", r.text);
        r.assert_rate_headers();
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn daily_budget_runs_out() {
    let sb = start(config(|_| {})).await;
    let api = Api::new(&sb.base_url);
    api.set_limits(100, 10_000, 3).await;
    let path = format!("/contacts/{}", contact_of(&sb, &sb.location_id()));
    for left in [2u64, 1, 0] {
        let r = api.get(&path, &sb.token()).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.num("x-ratelimit-daily-remaining"), left);
        assert_eq!(r.num("x-ratelimit-limit-daily"), 3);
    }
    let r = api.get(&path, &sb.token()).await;
    assert_eq!(r.status, 429, "{}", r.text);
    r.assert_rate_headers();
    assert_eq!(r.num("x-ratelimit-daily-remaining"), 0);
    assert!(r.num("retry-after") >= 1);
    sb.shutdown().await;
}
