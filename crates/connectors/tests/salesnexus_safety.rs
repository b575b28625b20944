//! The SalesNexus connector under the API's limits and failures, over real HTTP: never more than
//! two requests in flight (the emulator refuses a third with 429), 429s waited out with
//! `Retry-After`, the hourly budget as the engine sees it, creates that are never duplicated
//! when an answer is lost, and Stage Trigger webhooks read as contact hints.

mod hooks;
mod salesnexus_common;

use std::sync::Arc;

use connectors::{Connector, ConnectorError, EntityKind};
use hooks::Hooks;
use reqwest::Method;
use salesnexus_common::{fields, unique, Fx};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_more_than_two_requests_in_flight() {
    let fx = Fx::start(12).await;
    fx.admin(
        Method::PUT,
        "/faults",
        json!({"rules": [{"route": "get-contact", "latencyMs": 60}]}),
    )
    .await;
    let conn = Arc::new(fx.connector(|_| {}));
    let calls: Vec<_> = (1001..1013)
        .map(|id| {
            let conn = conn.clone();
            tokio::spawn(async move { conn.get(EntityKind::Contact, &id.to_string(), None).await })
        })
        .collect();
    for c in calls {
        assert!(c.await.expect("task").expect("get").is_some());
    }
    let log = fx.calls("get-contact").await;
    assert_eq!(log.len(), 12, "no 429, so no resend: {log:?}");
    assert!(log.iter().all(|e| e["status"] == 200));

    // A client that ignores the limit is refused: the limit the connector keeps is real.
    fx.admin(
        Method::PUT,
        "/faults",
        json!({"rules": [{"route": "get-contact", "latencyMs": 600}]}),
    )
    .await;
    let raw = reqwest::Client::new();
    let key = fx.sb.api_key();
    let burst: Vec<_> = (0..3)
        .map(|_| {
            let (raw, key, url) = (
                raw.clone(),
                key.clone(),
                format!("{}/contacts/1001", fx.sb.api_url()),
            );
            tokio::spawn(async move {
                raw.get(url)
                    .header("X-Api-Key", key)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for b in burst {
        statuses.push(b.await.expect("task").expect("sent"));
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 429]);
}

#[tokio::test]
async fn rate_limits_are_waited_out_and_counted() {
    let fx = Fx::start(3).await;
    let before = fx.conn.budget().expect("budget");
    assert_eq!((before.burst_max, before.burst_remaining), (10_000, 10_000));
    // A first read also fetches the custom-field definitions (2 requests); done up front.
    fx.conn
        .get(EntityKind::Contact, "1001", None)
        .await
        .expect("warm");
    assert_eq!(
        fx.conn.budget().map(|b| b.burst_remaining),
        Some(10_000 - 2)
    );
    // Two requests per 2 s: the third waits for Retry-After and then succeeds.
    fx.admin(
        Method::PUT,
        "/budget",
        json!({"hourly_limit": 2, "window_secs": 2}),
    )
    .await;
    for id in ["1001", "1002", "1003"] {
        let c = fx
            .conn
            .get(EntityKind::Contact, id, None)
            .await
            .expect("get, after a wait if needed");
        assert!(c.is_some());
    }
    let statuses: Vec<Value> = fx
        .calls("get-contact")
        .await
        .iter()
        .map(|e| e["status"].clone())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&json!(200)));
    let after = fx.conn.budget().expect("budget");
    assert_eq!(
        after.burst_remaining,
        10_000 - 2 - 4,
        "every request sent counts, the refused one too"
    );
    let limited = fx.connector(|c| c.hourly_limit = 5);
    assert_eq!(limited.budget().map(|b| b.burst_remaining), Some(5));
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_not_sent_again() {
    let fx = Fx::start(2).await;
    // The contact is made, but the answer is garbage: the connector looks it up, finds it,
    // and does not send the create again.
    fx.admin(
        Method::PUT,
        "/faults",
        json!({"rules": [{"route": "create-contact", "garbledRate": 1.0}]}),
    )
    .await;
    let email = format!("{}@example.com", unique("lost"));
    let c = fx
        .conn
        .create(
            EntityKind::Contact,
            None,
            &fields(json!({"first_name": "Lou", "email": email})),
            "k1",
        )
        .await
        .expect("the create is found");
    assert_eq!(c.fields["email"], json!(email));
    assert_eq!(fx.calls("create-contact").await.len(), 1, "one POST");

    // Tasks and notes likewise, found among the contact's.
    fx.admin(Method::PUT, "/faults", json!({"rules": [
        {"route": "create-task", "garbledRate": 1.0}, {"route": "create-note", "garbledRate": 1.0}]})).await;
    let t = fx
        .conn
        .create(
            EntityKind::Task,
            Some(&c.id),
            &fields(json!({"title": "Call", "due_at": "2026-05-01T10:00:00Z"})),
            "k2",
        )
        .await
        .expect("the task is found");
    assert_eq!(t.fields["title"], "Call");
    let n = fx
        .conn
        .create(
            EntityKind::Note,
            Some(&c.id),
            &fields(json!({"body": "Lost answer"})),
            "k3",
        )
        .await
        .expect("the note is found");
    assert_eq!(n.fields["body"], "Lost answer");
    assert_eq!(
        (
            fx.calls("create-task").await.len(),
            fx.calls("create-note").await.len()
        ),
        (1, 1)
    );
    let stored = fx.stored("contacts", &c.id).await;
    assert_eq!(stored["tasks"].as_array().map(Vec::len), Some(1));
    assert_eq!(stored["notes"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_create_that_failed_is_resent_only_after_a_lookup() {
    let fx = Fx::start(1).await;
    fx.admin(
        Method::PUT,
        "/faults",
        json!({"rules": [{"route": "create-contact", "errorRate": 1.0}]}),
    )
    .await;
    let email = format!("{}@example.com", unique("retry"));
    let input = fields(json!({"first_name": "Rhea", "email": email}));
    let e = fx
        .conn
        .create(EntityKind::Contact, None, &input, "key-r")
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    let posts = fx.calls("create-contact").await.len();
    let lookups = fx.calls("list-contacts").await.len();
    assert_eq!(posts, 4, "the first try and 3 resends");
    assert_eq!(lookups, 3, "each resend after a lookup");

    // The engine retries the job later with the same key: the connector looks up first, finds
    // nothing (nothing was made), creates once.
    fx.admin(Method::PUT, "/faults", json!({"rules": []})).await;
    let c = fx
        .conn
        .create(EntityKind::Contact, None, &input, "key-r")
        .await
        .expect("create");
    assert_eq!(
        fx.calls("list-contacts").await.len(),
        lookups + 1,
        "a lookup before the retried create"
    );
    // A create of the same person whose send fails finds the contact by email: no second one.
    fx.admin(
        Method::PUT,
        "/faults",
        json!({"rules": [{"route": "create-contact", "errorRate": 1.0}]}),
    )
    .await;
    let again = fx
        .conn
        .create(EntityKind::Contact, None, &input, "key-r2")
        .await
        .expect("found by email after the failed send");
    assert_eq!(again.id, c.id);
    let hits = fx.admin(Method::GET, "/", Value::Null).await;
    assert_eq!(
        hits["counts"]["contacts"]["live"], 2,
        "one seeded, one created: never a duplicate"
    );
}

#[tokio::test]
async fn stage_trigger_posts_are_contact_hints() {
    let fx = Fx::start(3).await;
    let mut hooks = Hooks::start().await;
    let sent = fx
        .admin(
            Method::POST,
            "/stage-trigger",
            json!({"url": hooks.url, "contactId": 1002, "triggerId": 9}),
        )
        .await;
    assert_eq!(sent["status"], 200);
    let d = hooks.next().await;
    let hints = fx
        .conn
        .parse_webhook(&d.headers, &d.body)
        .expect("a stage trigger");
    assert_eq!(hints.len(), 1);
    assert_eq!(
        (hints[0].kind, hints[0].id.as_str(), hints[0].deleted),
        (EntityKind::Contact, "1002", false)
    );
    assert!(
        hints[0].event_id.starts_with("stage-trigger:9:"),
        "{:?}",
        hints[0]
    );
    let record = fx
        .conn
        .get(hints[0].kind, &hints[0].id, None)
        .await
        .expect("get")
        .expect("the hinted contact");
    assert_eq!(record.id, "1002");

    let guarded = fx.connector(|c| {
        c.webhook_token = Some(connectors::your_app::config::SecretString::new("tok"))
    });
    let refused = guarded.parse_webhook(&d.headers, &d.body);
    assert!(
        matches!(refused, Err(ConnectorError::BadWebhook(_))),
        "{refused:?}"
    );
    let not_ours = fx
        .conn
        .parse_webhook(&d.headers, br#"{"type":"contact.updated"}"#);
    assert!(matches!(not_ours, Err(ConnectorError::BadWebhook(_))));
}
