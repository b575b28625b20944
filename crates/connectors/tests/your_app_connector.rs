//! The Your App connector's reads and writes against the REST emulator over real HTTP:
//! canonical round trips, children under their contact, tags, lookups, idempotent creates,
//! the `If-Match` conflict path, and the error mapping (401, 409, 422, 5xx, 429).

mod your_app_common;

use connectors::{Connector, ConnectorError, EntityKind, MatchKey};
use reqwest::Method;
use serde_json::{json, Map, Value};
use your_app_common::{fields, unique, Fx};

/// Every field of `want` is in `got` with the same value.
fn assert_subset(want: &Map<String, Value>, got: &Map<String, Value>) {
    for (k, v) in want {
        assert_eq!(got.get(k), Some(v), "field {k}: want {v}, got {got:?}");
    }
}

#[tokio::test]
async fn contact_canonical_round_trip_update_and_delete() {
    let fx = Fx::start(3).await;
    let email = format!("{}@example.com", unique("ada"));
    let input = fields(json!({
        "first_name": "Ada", "last_name": "Lovelace", "email": email, "phone": "+15550100001",
        "company_name": "Analytical Engines", "address1": "1 Engine St", "city": "London",
        "state": "LDN", "postal_code": "N1", "country": "GB", "tags": ["vip", "investor"],
        "custom.Lead Score": 42, "custom.interests": ["land"], "x.external_ids.ghl": "ghl-1"
    }));
    // `website` has no place in the contract's contact: it is not sent (no 422).
    let mut sent = input.clone();
    sent.insert("website".into(), json!("https://ada.example"));
    let created = fx
        .conn
        .create(EntityKind::Contact, None, &sent, "create-ada")
        .await
        .expect("create");
    assert_subset(&input, &created.fields);
    assert_eq!(created.fields["x.version"], 1);
    assert!(created.updated_at.is_some() && !created.deleted);

    let got = fx
        .conn
        .get(EntityKind::Contact, &created.id, None)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(got.fields, created.fields, "nothing else comes back");

    let change = fields(json!({"city": "Paris", "tags": ["vip", "board"], "custom.Lead Score": 7}));
    let updated = fx
        .conn
        .update(EntityKind::Contact, &created.id, None, &change)
        .await
        .expect("update");
    assert_subset(&change, &updated.fields);
    assert_eq!(updated.fields["first_name"], "Ada");
    assert_eq!(updated.fields["custom.interests"], json!(["land"]));
    let cleared = fx
        .conn
        .update(
            EntityKind::Contact,
            &created.id,
            None,
            &fields(json!({"city": null, "custom.interests": null})),
        )
        .await
        .expect("clear");
    assert!(!cleared.fields.contains_key("city"));
    assert!(!cleared.fields.contains_key("custom.interests"));

    fx.conn
        .delete(EntityKind::Contact, &created.id, None)
        .await
        .expect("delete");
    assert_eq!(
        fx.conn.get(EntityKind::Contact, &created.id, None).await,
        Ok(None)
    );
    fx.conn
        .delete(EntityKind::Contact, &created.id, None)
        .await
        .expect("deleting again is fine");
    assert!(fx.stored("contacts", &created.id).await["deleted_at"].is_string());
    let err = fx
        .conn
        .update(EntityKind::Contact, &created.id, None, &change)
        .await;
    assert!(matches!(err, Err(ConnectorError::NotFound(_))), "{err:?}");
}

#[tokio::test]
async fn a_retried_create_with_the_same_key_makes_one_record() {
    let fx = Fx::start(0).await;
    let email = format!("{}@example.com", unique("idem"));
    let f = fields(json!({"first_name": "Once", "email": email}));
    let first = fx
        .conn
        .create(EntityKind::Contact, None, &f, "engine-key-1")
        .await
        .expect("create");
    let again = fx
        .conn
        .create(EntityKind::Contact, None, &f, "engine-key-1")
        .await
        .expect("replayed");
    assert_eq!(first.id, again.id);
    assert_eq!(fx.counts().await["contacts"]["live"], 1);
    // Another key is another create, which the app refuses for the same email (409).
    let other = fx
        .conn
        .create(EntityKind::Contact, None, &f, "engine-key-2")
        .await;
    assert!(
        matches!(&other, Err(ConnectorError::Rejected(m)) if m.contains("409")),
        "{other:?}"
    );

    let parent = Some(first.id.as_str());
    let note = fields(json!({"body": "once"}));
    let n1 = fx
        .conn
        .create(EntityKind::Note, parent, &note, "note-key")
        .await;
    let n2 = fx
        .conn
        .create(EntityKind::Note, parent, &note, "note-key")
        .await;
    assert_eq!(n1.expect("note").id, n2.expect("note again").id);
    assert_eq!(fx.counts().await["notes"]["live"], 1);
}

#[tokio::test]
async fn if_match_conflicts_are_transient_until_re_fetched() {
    let fx = Fx::start(0).await;
    let email = format!("{}@example.com", unique("im"));
    let c = fx
        .conn
        .create(
            EntityKind::Contact,
            None,
            &fields(json!({"email": email})),
            "k",
        )
        .await
        .expect("create");
    let read = fx
        .conn
        .get(EntityKind::Contact, &c.id, None)
        .await
        .expect("get")
        .expect("exists");
    // A person edits it in the app after the engine read it.
    fx.admin(
        Method::PATCH,
        &format!("/contacts/{}", c.id),
        json!({"city": "Rome"}),
    )
    .await;
    let mut stale = fields(json!({"last_name": "Stale"}));
    stale.insert("x.version".into(), read.fields["x.version"].clone());
    let err = fx
        .conn
        .update(EntityKind::Contact, &c.id, None, &stale)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(err.to_string().contains("now 2"), "{err}");
    assert_eq!(fx.stored("contacts", &c.id).await["last_name"], Value::Null);

    let fresh = fx
        .conn
        .get(EntityKind::Contact, &c.id, None)
        .await
        .expect("get")
        .expect("exists");
    let mut retry = fields(json!({"last_name": "Fresh"}));
    retry.insert("x.version".into(), fresh.fields["x.version"].clone());
    let ok = fx
        .conn
        .update(EntityKind::Contact, &c.id, None, &retry)
        .await
        .expect("update on the current version");
    assert_eq!(
        (ok.fields["last_name"].clone(), ok.fields["city"].clone()),
        (json!("Fresh"), json!("Rome"))
    );
    // Configured off, the version is ignored.
    let no_if_match = fx.connector(|c| c.writes.if_match = false);
    no_if_match
        .update(EntityKind::Contact, &c.id, None, &stale)
        .await
        .expect("no If-Match sent");
}

#[tokio::test]
async fn notes_tasks_and_appointments_live_under_their_contact() {
    let fx = Fx::start(0).await;
    let email = format!("{}@example.com", unique("kids"));
    let c = fx
        .conn
        .create(
            EntityKind::Contact,
            None,
            &fields(json!({"email": email})),
            "k",
        )
        .await
        .expect("contact");
    let p = Some(c.id.as_str());
    let cases = [
        (
            EntityKind::Task,
            json!({"title": "Call", "body": "Q3", "due_at": "2030-01-02T03:04:05Z", "completed": false, "assigned_to": "u1"}),
            json!({"completed": true}),
        ),
        (
            EntityKind::Note,
            json!({"body": "Prefers email"}),
            json!({"body": "Prefers SMS"}),
        ),
        (
            EntityKind::Appointment,
            json!({"title": "Visit", "start_at": "2030-05-01T10:00:00Z", "end_at": "2030-05-01T11:00:00Z", "status": "confirmed", "notes": "keys"}),
            json!({"status": "showed"}),
        ),
    ];
    for (kind, input, change) in cases {
        let input = fields(input);
        let r = fx
            .conn
            .create(kind, p, &input, &unique("k"))
            .await
            .expect("create");
        assert_subset(&input, &r.fields);
        assert_eq!(r.parent_id.as_deref(), p, "{kind}");
        let got = fx
            .conn
            .get(kind, &r.id, p)
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(got.fields, r.fields);
        let change = fields(change);
        let u = fx
            .conn
            .update(kind, &r.id, p, &change)
            .await
            .expect("update");
        assert_subset(&change, &u.fields);
        assert_eq!(
            fx.conn.children(kind, &c.id).await.expect("children").len(),
            1
        );
        fx.conn.delete(kind, &r.id, p).await.expect("delete");
        assert_eq!(fx.conn.get(kind, &r.id, p).await, Ok(None), "{kind}");
        assert!(fx
            .conn
            .children(kind, &c.id)
            .await
            .expect("children")
            .is_empty());
    }
    let no_title = fields(json!({"body": "x"}));
    let err = fx
        .conn
        .create(EntityKind::Task, p, &no_title, "k-no-title")
        .await;
    assert!(
        matches!(&err, Err(ConnectorError::Rejected(m)) if m.contains("title")),
        "{err:?}"
    );
    let err = fx
        .conn
        .create(EntityKind::Note, None, &no_title, "k-no-parent")
        .await;
    assert!(
        matches!(err, Err(ConnectorError::Rejected(_))),
        "no parent: {err:?}"
    );
}

#[tokio::test]
async fn tags_are_records_of_a_contact_and_lookups_are_exact() {
    let fx = Fx::start(2).await;
    let email = format!("{}@Example.com", unique("Tag"));
    let c = fx
        .conn
        .create(
            EntityKind::Contact,
            None,
            &fields(json!({"email": email, "phone": "+15550100777"})),
            "k",
        )
        .await
        .expect("contact");
    let p = Some(c.id.as_str());
    let tag = fx
        .conn
        .create(
            EntityKind::Tag,
            p,
            &fields(json!({"name": "Hot Lead"})),
            "k",
        )
        .await
        .expect("tag");
    assert_eq!((tag.id.as_str(), tag.parent_id.as_deref()), ("Hot Lead", p));
    let got = fx
        .conn
        .get(EntityKind::Tag, "hot lead", p)
        .await
        .expect("get");
    assert_eq!(got.map(|t| t.id), Some("Hot Lead".to_string()));
    fx.conn
        .delete(EntityKind::Tag, "hot lead", p)
        .await
        .expect("remove");
    assert_eq!(fx.conn.get(EntityKind::Tag, "Hot Lead", p).await, Ok(None));
    let contact = fx
        .conn
        .get(EntityKind::Contact, &c.id, None)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(contact.fields["tags"], json!([]));

    let by_email = fx
        .conn
        .find(EntityKind::Contact, &MatchKey::Email(email.to_lowercase()))
        .await
        .expect("find");
    assert_eq!(by_email.map(|r| r.id), Some(c.id.clone()));
    let nobody = MatchKey::Email("nobody@example.com".into());
    assert_eq!(fx.conn.find(EntityKind::Contact, &nobody).await, Ok(None));
    // The contract has no phone or external-id filter: not configured, not found.
    let phone = MatchKey::Phone("+15550100777".into());
    assert_eq!(fx.conn.find(EntityKind::Contact, &phone).await, Ok(None));
    let caps = fx.conn.capabilities();
    assert!(
        caps.incremental && caps.email_lookup_exact && caps.deletes_visible && caps.native_tags
    );
    assert!(caps.kinds.contains(&EntityKind::Tag) && !caps.webhooks);
}

#[tokio::test]
async fn errors_map_to_what_the_engine_can_do() {
    let fx = Fx::start(1).await;
    let bad_key = fx.connector(|c| {
        c.auth = connectors::your_app::AuthConfig::Bearer {
            secret: connectors::your_app::config::SecretString::new("wrong"),
        }
    });
    let err = bad_key
        .list_all(EntityKind::Contact, None)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Reconnect(_)), "{err:?}");
    let err = fx
        .conn
        .create(
            EntityKind::Contact,
            None,
            &fields(json!({"email": "not an email"})),
            "k",
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("email")),
        "{err:?}"
    );

    fx.admin(
        Method::PUT,
        "/faults",
        json!({"rules": [{"route": "list-contacts", "errorRate": 1.0}]}),
    )
    .await;
    let err = fx
        .conn
        .list_all(EntityKind::Contact, None)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    fx.admin(Method::PUT, "/faults", json!({"rules": []})).await;

    // Two requests a second: the third waits out Retry-After instead of failing.
    fx.admin(
        Method::PUT,
        "/limits",
        json!({"limit": 2, "window_secs": 1}),
    )
    .await;
    for _ in 0..3 {
        fx.conn
            .list_all(EntityKind::Contact, None)
            .await
            .expect("paced by Retry-After");
    }
    let impatient = fx.connector(|c| c.rate_limit_retries = 0);
    let mut results = Vec::new();
    for _ in 0..3 {
        results.push(impatient.list_all(EntityKind::Contact, None).await);
    }
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(ConnectorError::Transient(m)) if m.contains("429"))),
        "{results:?}"
    );
}
