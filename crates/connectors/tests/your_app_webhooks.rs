//! `parse_webhook` on real deliveries of the REST emulator (a receiver on 127.0.0.1:0): changes
//! become the right hints, and a wrong secret, an altered body, a missing header or a stale or
//! future timestamp is `BadWebhook`.

mod hooks;
mod your_app_common;

use std::collections::{BTreeSet, HashMap};

use chrono::Utc;
use connectors::your_app::webhooks::sign;
use connectors::{Connector, ConnectorError, EntityKind};
use hooks::{Delivery, Hooks};
use your_app_common::{fields, unique, Fx};

const SECRET: &str = "whsec_test_secret";

async fn setup() -> (Fx, Hooks) {
    let hooks = Hooks::start().await;
    let url = hooks.url.clone();
    let mut fx = Fx::start_with(0, |c| {
        c.webhook_url = Some(url);
        c.webhook_secret = Some(SECRET.into());
    })
    .await;
    fx.conn = fx.connector(|c| *c = c.clone().with_webhook_secret(SECRET));
    (fx, hooks)
}

fn hint_of(fx: &Fx, d: &Delivery) -> connectors::ChangeHint {
    let hints = fx
        .conn
        .parse_webhook(&d.headers, &d.body)
        .expect("verifies");
    assert_eq!(hints.len(), 1, "{hints:?}");
    let h = hints.into_iter().next().expect("one");
    assert_eq!(h.event_id, d.json()["id"].as_str().expect("event id"));
    assert_eq!(h.event_type, d.event_type());
    h
}

#[tokio::test]
async fn deliveries_become_hints() {
    let (fx, mut hooks) = setup().await;
    let c = &fx.conn;
    let email = format!("{}@example.com", unique("hook"));
    let contact = c
        .create(
            EntityKind::Contact,
            None,
            &fields(serde_json::json!({"email": email})),
            "k1",
        )
        .await
        .expect("contact");
    let p = Some(contact.id.as_str());
    let note = c
        .create(
            EntityKind::Note,
            p,
            &fields(serde_json::json!({"body": "n"})),
            "k2",
        )
        .await
        .expect("note");
    let task_in = fields(serde_json::json!({"title": "T"}));
    let task = c
        .create(EntityKind::Task, p, &task_in, "k3")
        .await
        .expect("task");
    c.update(
        EntityKind::Task,
        &task.id,
        p,
        &fields(serde_json::json!({"completed": true})),
    )
    .await
    .expect("complete");
    c.delete(EntityKind::Contact, &contact.id, None)
        .await
        .expect("delete");

    // The emulator delivers in order: exactly these, then the cascade of the contact's delete.
    let cid = contact.id.as_str();
    let want = [
        ("contact.created", EntityKind::Contact, cid, None, false),
        ("note.created", EntityKind::Note, note.id.as_str(), p, false),
        ("task.created", EntityKind::Task, task.id.as_str(), p, false),
        ("task.updated", EntityKind::Task, task.id.as_str(), p, false),
        ("contact.deleted", EntityKind::Contact, cid, None, true),
    ];
    for (event, kind, id, parent, deleted) in want {
        let h = hint_of(&fx, &hooks.next().await);
        assert_eq!(
            (
                h.event_type.as_str(),
                h.kind,
                h.id.as_str(),
                h.parent_id.as_deref(),
                h.deleted
            ),
            (event, kind, id, parent, deleted)
        );
    }
    let mut cascade = BTreeSet::new();
    for _ in 0..2 {
        let h = hint_of(&fx, &hooks.next().await);
        cascade.insert((h.kind, h.id, h.deleted));
    }
    let want = BTreeSet::from([
        (EntityKind::Task, task.id.clone(), true),
        (EntityKind::Note, note.id.clone(), true),
    ]);
    assert_eq!(cascade, want, "the contact's children are deleted with it");
}

#[tokio::test]
async fn bad_stale_or_unsigned_deliveries_are_refused() {
    let (fx, mut hooks) = setup().await;
    fx.conn
        .create(
            EntityKind::Contact,
            None,
            &fields(serde_json::json!({"first_name": "S"})),
            "k",
        )
        .await
        .expect("contact");
    let d = hooks.next().await;
    let bad = |r: Result<Vec<connectors::ChangeHint>, ConnectorError>| {
        assert!(matches!(r, Err(ConnectorError::BadWebhook(_))), "{r:?}")
    };
    let upper: HashMap<String, String> = d
        .headers
        .iter()
        .map(|(k, v)| (k.to_uppercase(), v.clone()))
        .collect();
    assert_eq!(
        fx.conn.parse_webhook(&upper, &d.body).map(|h| h.len()),
        Ok(1)
    );

    let mut altered = d.body.clone();
    altered.push(b' ');
    bad(fx.conn.parse_webhook(&d.headers, &altered));
    let other_secret = fx.connector(|c| *c = c.clone().with_webhook_secret("another"));
    bad(other_secret.parse_webhook(&d.headers, &d.body));
    for header in ["x-signature", "x-timestamp"] {
        let mut missing = d.headers.clone();
        missing.remove(header);
        bad(fx.conn.parse_webhook(&missing, &d.body));
    }
    // Correctly signed, but outside the 5-minute window either way.
    for offset in [-301, 301] {
        let ts = Utc::now().timestamp() + offset;
        let mut h = d.headers.clone();
        h.insert("x-timestamp".into(), ts.to_string());
        h.insert("x-signature".into(), sign(SECRET, "sha256=", ts, &d.body));
        bad(fx.conn.parse_webhook(&h, &d.body));
    }
    let unconfigured = fx.connector(|_| {});
    let r = unconfigured.parse_webhook(&d.headers, &d.body);
    assert!(matches!(r, Err(ConnectorError::Unsupported(_))), "{r:?}");
}
