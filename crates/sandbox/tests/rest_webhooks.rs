//! Webhooks of the "Your App" emulator, received by a real HTTP server: signatures checked
//! independently with aws-lc-rs, event shape and headers, subscriptions with their own secrets,
//! duplicates, drops, retries, nothing for a no-op, and changes made "as a person in the app".

mod rest_support;

use ghl_sandbox::rest::webhooks::DeliveryConfig;
use ghl_sandbox::rest::RestSandbox;
use reqwest::Method;
use rest_support::{signature_valid, start, Api, Hit, Receiver, GUARD};
use serde_json::{json, Value};

async fn idle(sb: &RestSandbox) {
    tokio::time::timeout(GUARD, sb.state.webhooks.idle())
        .await
        .expect("deliveries finish");
}

async fn with_receiver(script: Vec<u16>, delivery: DeliveryConfig) -> (RestSandbox, Api, Receiver) {
    let rx = Receiver::start(script).await;
    let url = rx.url.clone();
    let (sb, api) = start(move |c| {
        c.contacts = 0;
        c.webhook_url = Some(url);
        c.webhook_secret = Some("s3cret".into());
        c.delivery = delivery;
    })
    .await;
    (sb, api, rx)
}

fn fast() -> DeliveryConfig {
    DeliveryConfig {
        retry_base_ms: 10,
        ..DeliveryConfig::default()
    }
}

fn types(hits: &[Hit]) -> Vec<String> {
    hits.iter().map(Hit::event_type).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_signed_and_verify_independently() {
    let (sb, api, rx) = with_receiver(vec![], fast()).await;
    let c = api
        .contact(json!({"first_name": "Hook", "email": "hook@example.com"}))
        .await;
    let id = c["id"].as_str().expect("id").to_string();
    let hits = rx.wait_for(1).await;
    let hit = &hits[0];
    assert_eq!(hit.event_type(), "contact.created");
    assert_eq!(
        hit.json["data"], c,
        "data is the record as the API shows it"
    );
    assert_eq!(hit.header("x-event-id"), hit.event_id());
    assert!(hit.event_id().starts_with("evt_"));
    assert!(hit.json["occurred_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    assert_eq!(hit.header("content-type"), "application/json");
    let ts: i64 = hit.header("x-timestamp").parse().expect("unix seconds");
    assert!(
        (chrono::Utc::now().timestamp() - ts).abs() < 60,
        "timestamp is now"
    );
    assert!(signature_valid(hit, "s3cret"), "X-Signature verifies");
    assert!(!signature_valid(hit, "wrong"), "another secret does not");
    let mut later = hit.clone();
    later.headers.insert("x-timestamp", (ts + 1).into());
    assert!(
        !signature_valid(&later, "s3cret"),
        "the timestamp is covered"
    );
    let mut edited = hit.clone();
    let body: Vec<u8> = hit
        .body
        .iter()
        .map(|b| if *b == b'H' { b'h' } else { *b })
        .collect();
    edited.body = axum::body::Bytes::from(body);
    assert!(!signature_valid(&edited, "s3cret"), "the body is covered");

    api.patch(&format!("/v1/contacts/{id}"), json!({"city": "Lima"}))
        .await;
    api.post(&format!("/v1/contacts/{id}/notes"), json!({"body": "hi"}))
        .await;
    api.delete(&format!("/v1/contacts/{id}")).await;
    let hits = rx.wait_for(5).await;
    assert_eq!(
        types(&hits),
        [
            "contact.created",
            "contact.updated",
            "note.created",
            "contact.deleted",
            "note.deleted"
        ],
        "in the order the changes were made; the delete cascades"
    );
    assert_eq!(hits[1].json["data"]["version"], json!(2));
    assert!(hits[3].json["data"]["deleted_at"].is_string());
    assert!(hits.iter().all(|h| signature_valid(h, "s3cret")));
    let ids: std::collections::BTreeSet<String> = hits.iter().map(Hit::event_id).collect();
    assert_eq!(ids.len(), 5, "every event has its own id");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_changes_nothing_emits_nothing() {
    let (sb, api, rx) = with_receiver(vec![], fast()).await;
    let c = api
        .contact(json!({"first_name": "Still", "tags": ["a"]}))
        .await;
    let path = format!("/v1/contacts/{}", c["id"].as_str().expect("id"));
    idle(&sb).await;
    assert_eq!(rx.hits().len(), 1);
    api.patch(&path, json!({"first_name": "Still"})).await;
    api.patch(&path, json!({})).await;
    api.post(&format!("{path}/tags"), json!({"tags": ["A"]}))
        .await;
    api.call(
        Method::DELETE,
        &format!("{path}/tags"),
        Some(json!({"tags": ["zzz"]})),
        &[],
    )
    .await;
    idle(&sb).await;
    assert_eq!(
        rx.hits().len(),
        1,
        "no-op changes sent nothing: {:?}",
        types(&rx.hits())
    );
    assert_eq!(sb.state.webhooks.stats().emitted, 1);
    api.patch(&path, json!({"first_name": "Moved"})).await;
    assert_eq!(types(&rx.wait_for(2).await)[1], "contact.updated");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_repeat_the_event_and_drops_send_nothing() {
    let dup = DeliveryConfig {
        duplicate_rate: 1.0,
        ..fast()
    };
    let (sb, api, rx) = with_receiver(vec![], dup).await;
    api.contact(json!({"first_name": "Twice"})).await;
    let hits = rx.wait_for(2).await;
    idle(&sb).await;
    assert_eq!(rx.hits().len(), 2);
    assert_eq!(hits[0].event_id(), hits[1].event_id(), "same event id");
    assert_eq!(hits[0].body, hits[1].body, "same body");
    assert!(hits.iter().all(|h| signature_valid(h, "s3cret")));

    let set = api
        .admin(
            Method::PUT,
            "/webhooks",
            Some(json!({"delivery": {"drop_rate": 1.0}})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    api.contact(json!({"first_name": "Never"})).await;
    idle(&sb).await;
    assert_eq!(rx.hits().len(), 2, "dropped");
    let log = api
        .admin(Method::GET, "/webhooks/deliveries", None)
        .await
        .json();
    let last = log["deliveries"]
        .as_array()
        .and_then(|d| d.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["outcome"], json!("dropped"));
    assert_eq!(last["event_type"], json!("contact.created"));
    let stats = api.admin(Method::GET, "/webhooks", None).await.json()["stats"].clone();
    assert_eq!(
        (stats["duplicated"].as_u64(), stats["dropped"].as_u64()),
        (Some(1), Some(1))
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_retried_with_backoff_and_bounded() {
    let (sb, api, rx) = with_receiver(vec![500, 503, 429], fast()).await;
    api.contact(json!({"first_name": "Retry"})).await;
    let hits = rx.wait_for(4).await;
    idle(&sb).await;
    assert_eq!(hits.len(), 4);
    assert!(
        hits.iter().all(|h| h.event_id() == hits[0].event_id()),
        "same event each attempt"
    );
    assert!(
        hits.iter().all(|h| signature_valid(h, "s3cret")),
        "each attempt is signed"
    );
    let log = sb.state.webhooks.deliveries();
    let outcomes: Vec<String> = log
        .iter()
        .map(|d| json!(d.outcome).as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(outcomes, ["retrying", "retrying", "retrying", "delivered"]);

    // A 4xx is a rejection (not retried); attempts are bounded by max_attempts.
    let rx2 = Receiver::start(vec![400, 500, 500, 500, 500, 500]).await;
    let set = json!({"url": rx2.url, "delivery": {"max_attempts": 3, "retry_base_ms": 5}});
    assert_eq!(
        api.admin(Method::PUT, "/webhooks", Some(set)).await.status,
        200
    );
    api.contact(json!({"first_name": "Rejected"})).await;
    api.contact(json!({"first_name": "Failing"})).await;
    idle(&sb).await;
    let got: Vec<Value> = rx2
        .hits()
        .iter()
        .map(|h| h.json["data"]["first_name"].clone())
        .collect();
    assert_eq!(
        got,
        [
            json!("Rejected"),
            json!("Failing"),
            json!("Failing"),
            json!("Failing")
        ]
    );
    let tail: Vec<String> = sb.state.webhooks.deliveries()[4..]
        .iter()
        .map(|d| json!(d.outcome).as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(tail, ["rejected", "retrying", "retrying", "failed"]);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_filter_events_and_use_their_own_secret() {
    let (sb, api) = start(|c| c.contacts = 0).await;
    let rx = Receiver::start(vec![]).await;
    let made = api
        .post(
            "/v1/webhooks",
            json!({"url": rx.url, "events": ["note.*", "contact.deleted"], "secret": "sub-secret"}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let sub = made.json();
    assert_eq!(sub["secret"], json!("sub-secret"));
    let listed = api.get("/v1/webhooks").await.json();
    assert_eq!(listed["data"][0]["id"], sub["id"]);
    assert!(
        listed["data"][0].get("secret").is_none(),
        "secrets are shown once"
    );

    let c = api.contact(json!({"first_name": "Sub"})).await;
    let id = c["id"].as_str().expect("id");
    api.post(&format!("/v1/contacts/{id}/notes"), json!({"body": "n"}))
        .await;
    api.post(&format!("/v1/contacts/{id}/tasks"), json!({"title": "t"}))
        .await;
    api.delete(&format!("/v1/contacts/{id}")).await;
    idle(&sb).await;
    let hits = rx.hits();
    assert_eq!(
        types(&hits),
        ["note.created", "contact.deleted", "note.deleted"]
    );
    assert!(hits.iter().all(|h| signature_valid(h, "sub-secret")));

    let generated = api
        .post("/v1/webhooks", json!({"url": rx.url, "events": ["*"]}))
        .await
        .json();
    assert!(generated["secret"]
        .as_str()
        .is_some_and(|s| s.starts_with("whsec_")));
    let bad = api
        .post(
            "/v1/webhooks",
            json!({"url": "ftp://x", "events": ["contact.merged"], "x": 1}),
        )
        .await;
    assert_eq!(bad.status, 422);
    for f in ["url", "events", "x"] {
        assert!(bad.fields()[f].is_string(), "{f}: {}", bad.text);
    }
    let sub_id = sub["id"].as_str().expect("id");
    assert_eq!(
        api.delete(&format!("/v1/webhooks/{sub_id}")).await.status,
        204
    );
    assert_eq!(api.get(&format!("/v1/webhooks/{sub_id}")).await.status, 404);
    assert_eq!(
        api.get("/v1/webhooks").await.json()["data"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let by_url = json!({"url": rx.url});
    let removed = api
        .call(Method::DELETE, "/v1/webhooks", Some(by_url.clone()), &[])
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    let again = api
        .call(Method::DELETE, "/v1/webhooks", Some(by_url), &[])
        .await;
    assert_eq!(again.status, 404);
    assert_eq!(api.get("/v1/webhooks").await.json()["data"], json!([]));
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_in_the_app_emit_webhooks_but_skip_the_api_log() {
    let (sb, api, rx) = with_receiver(vec![], fast()).await;
    let made = api
        .admin(
            Method::POST,
            "/contacts",
            Some(json!({"first_name": "Person"})),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let id = made.id();
    let edit = api
        .admin(
            Method::PATCH,
            &format!("/contacts/{id}"),
            Some(json!({"city": "Quito"})),
        )
        .await;
    assert_eq!(edit.json()["version"], json!(2));
    let task = api
        .admin(
            Method::POST,
            &format!("/contacts/{id}/tasks"),
            Some(json!({"title": "Call"})),
        )
        .await;
    assert_eq!(task.status, 201);
    let tagged = api
        .admin(
            Method::POST,
            &format!("/contacts/{id}/tags"),
            Some(json!({"tags": ["ui"]})),
        )
        .await;
    assert_eq!(tagged.json()["tags"], json!(["ui"]));
    assert_eq!(
        api.admin(Method::DELETE, &format!("/tasks/{}", task.id()), None)
            .await
            .status,
        204
    );
    let hits = rx.wait_for(5).await;
    assert_eq!(
        types(&hits),
        [
            "contact.created",
            "contact.updated",
            "task.created",
            "contact.updated",
            "task.deleted"
        ]
    );
    let log = api.admin(Method::GET, "/requests", None).await.json();
    assert_eq!(
        log["requests"].as_array().map(Vec::len),
        Some(0),
        "admin changes are not API calls"
    );
    let bad = api
        .admin(Method::POST, "/contacts", Some(json!({"email": "x"})))
        .await;
    assert_eq!(bad.status, 422, "the app validates like the API");
    sb.shutdown().await;
}
