//! `Idempotency-Key` on creates, over real HTTP: a retried create never makes a second record,
//! not even when the copies race or when the first answer was lost to a fault; reusing a key for
//! a different request is refused.

mod rest_support;

use ghl_sandbox::ghl::faults::FaultRule;
use reqwest::Method;
use rest_support::{start, Api};
use serde_json::{json, Value};

async fn create_with_key(api: &Api, path: &str, key: &str, body: Value) -> rest_support::Resp {
    api.call(Method::POST, path, Some(body), &[("Idempotency-Key", key)])
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_key_twice_creates_one_record() {
    let (sb, api) = start(|c| c.contacts = 0).await;
    let body = json!({"first_name": "Once", "email": "once@example.com"});
    let first = create_with_key(&api, "/v1/contacts", "k-1", body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.header("idempotent-replayed"), None);
    let second = create_with_key(&api, "/v1/contacts", "k-1", body.clone()).await;
    assert!([200, 201].contains(&second.status), "{}", second.text);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(second.json(), first.json(), "the same record comes back");
    assert_eq!(api.all("/v1/contacts").await.len(), 1);

    // Without a key the same body is a new create (and here a duplicate email).
    let no_key = api.post("/v1/contacts", body.clone()).await;
    assert_eq!(no_key.status, 409);

    // Another key is another create.
    let other = create_with_key(&api, "/v1/contacts", "k-2", json!({"first_name": "Twice"})).await;
    assert_eq!(other.status, 201);
    assert_ne!(other.id(), first.id());
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reusing_a_key_for_another_request_is_refused() {
    let (sb, api) = start(|c| c.contacts = 0).await;
    let first = create_with_key(&api, "/v1/contacts", "dup", json!({"first_name": "A"})).await;
    assert_eq!(first.status, 201);
    let changed = create_with_key(&api, "/v1/contacts", "dup", json!({"first_name": "B"})).await;
    assert_eq!(changed.status, 422, "{}", changed.text);
    assert_eq!(changed.code(), "validation_failed");
    assert!(
        changed.fields()["Idempotency-Key"].is_string(),
        "{}",
        changed.text
    );
    let contact = first.id();
    let elsewhere = create_with_key(
        &api,
        &format!("/v1/contacts/{contact}/notes"),
        "dup",
        json!({"first_name": "A"}),
    )
    .await;
    assert_eq!(elsewhere.status, 422, "a key belongs to one request");
    assert_eq!(api.all("/v1/contacts").await.len(), 1);
    assert!(api.all("/v1/notes").await.is_empty());

    // A failed create does not burn its key: fixed and retried, it creates.
    let invalid = create_with_key(&api, "/v1/contacts", "fixme", json!({"email": "bad"})).await;
    assert_eq!(invalid.status, 422);
    let fixed = create_with_key(
        &api,
        "/v1/contacts",
        "fixme",
        json!({"email": "good@example.com"}),
    )
    .await;
    assert_eq!(fixed.status, 201, "{}", fixed.text);
    let blank = create_with_key(&api, "/v1/contacts", " ", json!({})).await;
    assert_eq!(blank.status, 400);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_with_one_key_make_one_record() {
    let (sb, api) = start(|c| c.contacts = 0).await;
    let body = json!({"first_name": "Race", "email": "race@example.com"});
    let tasks: Vec<_> = (0..24)
        .map(|_| {
            let (api, body) = (api.clone(), body.clone());
            tokio::spawn(
                async move { create_with_key(&api, "/v1/contacts", "race-key", body).await },
            )
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        let r = t.await.expect("task");
        assert!([200, 201].contains(&r.status), "{}", r.text);
        ids.push(r.id());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every copy got the one record: {ids:?}");
    assert_eq!(api.all("/v1/contacts").await.len(), 1);
    let replays = api.admin(Method::GET, "/requests", None).await.json()["requests"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter(|e| e["idempotency_key"] == json!("race-key"))
                .count()
        });
    assert_eq!(replays, Some(24), "all 24 calls were logged with their key");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_creates_honour_the_key_too() {
    let (sb, api) = start(|c| c.contacts = 0).await;
    let contact = api.contact(json!({"first_name": "P"})).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let bodies = [
        ("notes", json!({"body": "n"})),
        ("tasks", json!({"title": "t"})),
        (
            "appointments",
            json!({"title": "a", "start_at": "2026-02-01T10:00:00Z", "end_at": "2026-02-01T11:00:00Z"}),
        ),
    ];
    for (plural, body) in bodies {
        let path = format!("/v1/contacts/{contact}/{plural}");
        let key = format!("key-{plural}");
        let a = create_with_key(&api, &path, &key, body.clone()).await;
        let b = create_with_key(&api, &path, &key, body.clone()).await;
        assert_eq!(a.status, 201, "{plural}: {}", a.text);
        assert_eq!(a.id(), b.id(), "{plural}");
        assert_eq!(api.all(&format!("/v1/{plural}")).await.len(), 1, "{plural}");
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_was_lost_is_recovered_by_its_key() {
    let fault = FaultRule {
        route: "create-contact".into(),
        accept_then_422_rate: 1.0,
        ..Default::default()
    };
    let (sb, api) = start(|c| {
        c.contacts = 0;
        c.faults = vec![fault];
    })
    .await;
    let body = json!({"first_name": "Lost", "email": "lost@example.com"});
    let lost = create_with_key(&api, "/v1/contacts", "retry-me", body.clone()).await;
    assert_eq!(
        lost.status, 422,
        "the fault answers 422 although it created"
    );
    assert_eq!(api.all("/v1/contacts").await.len(), 1);
    let cleared = api
        .admin(Method::PUT, "/faults", Some(json!({"rules": []})))
        .await;
    assert_eq!(cleared.status, 200);
    let retry = create_with_key(&api, "/v1/contacts", "retry-me", body).await;
    assert!([200, 201].contains(&retry.status), "{}", retry.text);
    assert_eq!(retry.json()["email"], json!("lost@example.com"));
    assert_eq!(api.all("/v1/contacts").await.len(), 1, "still one record");
    sb.shutdown().await;
}
