//! `parse_webhook` on real sandbox deliveries (a receiver on 127.0.0.1:0): all 14 contact-area
//! events become the right hints, a bad or missing signature or a stale timestamp is
//! `BadWebhook`, and events of other locations or of the app's lifecycle yield no hint.

mod ghl_common;
mod hooks;

use std::collections::{BTreeMap, HashMap};

use connectors::{ChangeHint, Connector, ConnectorError, EntityKind};
use ghl_common::{fields, unique, Fx};
use hooks::{Delivery, Hooks};
use reqwest::Method;
use serde_json::json;

/// A sandbox delivering webhooks to a fresh receiver, and a connector that knows its keys.
async fn setup(locations: usize) -> (Fx, Hooks) {
    let mut fx = Fx::start_with(1, locations).await;
    let hooks = Hooks::start().await;
    fx.sb.state.set_webhook_url(Some(hooks.url.clone()));
    fx.conn = fx.connector(|s| fx.with_webhook_keys(s));
    (fx, hooks)
}

fn one_hint(fx: &Fx, d: &Delivery) -> ChangeHint {
    let hints = fx
        .conn
        .parse_webhook(&d.headers, &d.body)
        .expect("a sandbox delivery verifies");
    assert_eq!(hints.len(), 1, "{hints:?}");
    let h = hints.into_iter().next().expect("one hint");
    let body = d.json();
    assert_eq!(h.event_id, body["webhookId"].as_str().expect("webhookId"));
    assert_eq!(h.event_type, body["type"].as_str().expect("type"));
    h
}

#[tokio::test]
async fn every_contact_area_event_becomes_its_hint() {
    let (fx, mut hooks) = setup(1).await;
    let c = &fx.conn;
    let email = format!("{}@example.com", unique("hook"));
    let contact = c
        .create(
            EntityKind::Contact,
            None,
            &fields(json!({"email": email})),
            "k",
        )
        .await
        .expect("contact");
    let cid = contact.id.clone();
    let p = Some(cid.as_str());
    c.update(
        EntityKind::Contact,
        &cid,
        None,
        &fields(json!({"city": "Oslo"})),
    )
    .await
    .expect("update");
    c.create(EntityKind::Tag, p, &fields(json!({"name": "hooked"})), "k")
        .await
        .expect("tag");
    c.update(
        EntityKind::Contact,
        &cid,
        None,
        &fields(json!({"dnd": true})),
    )
    .await
    .expect("dnd");
    let task_in = fields(json!({"title": "T", "due_at": "2030-01-01T00:00:00Z"}));
    let task = c
        .create(EntityKind::Task, p, &task_in, "k")
        .await
        .expect("task");
    c.update(
        EntityKind::Task,
        &task.id,
        p,
        &fields(json!({"completed": true})),
    )
    .await
    .expect("complete");
    c.delete(EntityKind::Task, &task.id, p)
        .await
        .expect("delete task");
    let note = c
        .create(EntityKind::Note, p, &fields(json!({"body": "n"})), "k")
        .await
        .expect("note");
    c.update(
        EntityKind::Note,
        &note.id,
        p,
        &fields(json!({"body": "n2"})),
    )
    .await
    .expect("note update");
    c.delete(EntityKind::Note, &note.id, p)
        .await
        .expect("delete note");
    let booked = fx
        .admin(
            Method::POST,
            &format!("/contacts/{cid}/appointments"),
            json!({"title": "Visit"}),
        )
        .await;
    let appt = booked["appointment"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    fx.admin(
        Method::PUT,
        &format!("/appointments/{appt}"),
        json!({"title": "Visit 2"}),
    )
    .await;
    fx.admin(Method::DELETE, &format!("/appointments/{appt}"), json!({}))
        .await;
    c.delete(EntityKind::Contact, &cid, None)
        .await
        .expect("delete");

    use EntityKind::{Appointment as A, Contact as C, Note as N, Task as T};
    let (t, n) = (task.id.as_str(), note.id.as_str());
    let want: BTreeMap<&str, (EntityKind, &str, Option<&str>, bool)> = [
        ("ContactCreate", (C, cid.as_str(), None, false)),
        ("ContactUpdate", (C, cid.as_str(), None, false)),
        ("ContactTagUpdate", (C, cid.as_str(), None, false)),
        ("ContactDndUpdate", (C, cid.as_str(), None, false)),
        ("ContactDelete", (C, cid.as_str(), None, true)),
        ("TaskCreate", (T, t, p, false)),
        ("TaskComplete", (T, t, p, false)),
        ("TaskDelete", (T, t, p, true)),
        ("NoteCreate", (N, n, p, false)),
        ("NoteUpdate", (N, n, p, false)),
        ("NoteDelete", (N, n, p, true)),
        ("AppointmentCreate", (A, appt.as_str(), p, false)),
        ("AppointmentUpdate", (A, appt.as_str(), p, false)),
        ("AppointmentDelete", (A, appt.as_str(), p, true)),
    ]
    .into_iter()
    .collect();
    let mut seen: BTreeMap<String, ChangeHint> = BTreeMap::new();
    while seen.len() < want.len() {
        let d = hooks.next().await;
        let h = one_hint(&fx, &d);
        seen.entry(h.event_type.clone()).or_insert(h);
    }
    for (event, (kind, id, parent, deleted)) in want {
        let h = &seen[event];
        assert_eq!(
            (h.kind, h.id.as_str(), h.parent_id.as_deref(), h.deleted),
            (kind, id, parent, deleted),
            "{event}"
        );
    }
}

#[tokio::test]
async fn bad_missing_or_stale_signatures_are_refused() {
    let (fx, mut hooks) = setup(1).await;
    let email = format!("{}@example.com", unique("sig"));
    fx.conn
        .create(
            EntityKind::Contact,
            None,
            &fields(json!({"email": email})),
            "k",
        )
        .await
        .expect("contact");
    let d = hooks.next_of("ContactCreate").await;
    let bad = |r: Result<Vec<ChangeHint>, ConnectorError>| {
        assert!(matches!(r, Err(ConnectorError::BadWebhook(_))), "{r:?}")
    };

    // Header names in any case.
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
    bad(fx.conn.parse_webhook(&HashMap::new(), &d.body));
    let mut forged = d.headers.clone();
    forged.insert("x-ghl-signature".into(), "AAAA".into());
    bad(fx.conn.parse_webhook(&forged, &d.body));

    // Legacy RSA alone verifies when there is no Ed25519 key; off, nothing does.
    let legacy_only = fx.connector(|s| {
        s.webhooks.rsa_public_key_pem = Some(fx.sb.state.keys.rsa_public_pem());
    });
    assert_eq!(
        legacy_only
            .parse_webhook(&d.headers, &d.body)
            .map(|h| h.len()),
        Ok(1)
    );
    let no_legacy = fx.connector(|s| {
        s.webhooks.rsa_public_key_pem = Some(fx.sb.state.keys.rsa_public_pem());
        s.webhooks.legacy = false;
    });
    bad(no_legacy.parse_webhook(&d.headers, &d.body));
    // GHL's real RSA key (the default) cannot verify the sandbox's signature.
    bad(fx.connector(|_| {}).parse_webhook(&d.headers, &d.body));

    let strict = fx.connector(|s| {
        fx.with_webhook_keys(s);
        s.webhooks.timestamp_window_secs = 0;
    });
    bad(strict.parse_webhook(&d.headers, &d.body));
}

#[tokio::test]
async fn other_locations_and_lifecycle_events_yield_no_hint() {
    let (fx, mut hooks) = setup(2).await;
    let creds = fx.sb.credentials();
    let other = creds.locations[1].location_id.clone();
    fx.admin(
        Method::POST,
        &format!("/locations/{other}/contacts"),
        json!({"firstName": "Elsewhere"}),
    )
    .await;
    let d = hooks.next_of("ContactCreate").await;
    assert_eq!(d.json()["locationId"], json!(other));
    assert_eq!(fx.conn.parse_webhook(&d.headers, &d.body), Ok(vec![]));

    fx.admin(
        Method::DELETE,
        &format!("/apps/{}/locations/{}", creds.client_id, fx.location),
        json!({}),
    )
    .await;
    let d = hooks.next_of("UNINSTALL").await;
    assert_eq!(fx.conn.parse_webhook(&d.headers, &d.body), Ok(vec![]));
}
