//! The GHL connector's reads and writes of every kind against the GHL sandbox over real HTTP:
//! canonical round trips (custom fields by name, tags, business), tasks and notes under their
//! contact, read-only appointments, tags as records, lookups, and error mapping.

mod ghl_common;

use connectors::{Connector, ConnectorError, EntityKind, MatchKey};
use ghl_common::{fields, unique, Fx};
use reqwest::Method;
use serde_json::{json, Value};

/// Every field of `want` is in `got` with the same value.
fn assert_subset(want: &serde_json::Map<String, Value>, got: &serde_json::Map<String, Value>) {
    for (k, v) in want {
        assert_eq!(got.get(k), Some(v), "field {k}: want {v}, got {got:?}");
    }
}

#[tokio::test]
async fn contact_canonical_round_trip_update_and_delete() {
    let fx = Fx::start(3).await;
    let (business_id, _) = fx.business();
    let email = format!("{}@example.com", unique("ada"));
    let input = fields(json!({
        "first_name": "Ada", "last_name": "Lovelace", "email": email,
        "phone": "+15550100001", "company_name": "Analytical Engines",
        "address1": "1 Engine St", "city": "London", "state": "LDN", "postal_code": "N1",
        "country": "GB", "website": "https://ada.example", "timezone": "Europe/London",
        "source": "ghl-bridge test", "dnd": false, "tags": ["vip", "investor"],
        "business_id": business_id,
        "custom.Lead Score": 42, "custom.Interests": ["Land", "Retail"],
        "custom.Referral Code": "REF-1"
    }));
    let created = fx
        .conn
        .create(EntityKind::Contact, None, &input, "key-1")
        .await
        .expect("create");
    assert_eq!(created.kind, EntityKind::Contact);
    assert_subset(&input, &created.fields);
    assert!(created.updated_at.is_some());

    let got = fx
        .conn
        .get(EntityKind::Contact, &created.id, None)
        .await
        .expect("get")
        .expect("exists");
    assert_subset(&input, &got.fields);
    assert_eq!(
        got.fields.len(),
        input.len(),
        "no stray fields: {:?}",
        got.fields
    );

    // Only the given fields change; tags go as a diff, company_name cannot be updated in GHL.
    let change = fields(json!({
        "city": "Paris", "tags": ["vip", "Board"], "custom.Lead Score": 7,
        "company_name": "Ignored Ltd", "dnd": true
    }));
    let updated = fx
        .conn
        .update(EntityKind::Contact, &created.id, None, &change)
        .await
        .expect("update");
    assert_eq!(updated.fields["city"], "Paris");
    assert_eq!(updated.fields["tags"], json!(["vip", "board"]));
    assert_eq!(updated.fields["custom.Lead Score"], 7);
    assert_eq!(updated.fields["dnd"], true);
    assert_eq!(updated.fields["company_name"], "Analytical Engines");
    assert_eq!(updated.fields["first_name"], "Ada");
    assert_eq!(updated.fields["custom.Referral Code"], "REF-1");
    let again = fx
        .conn
        .get(EntityKind::Contact, &created.id, None)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(again.fields, updated.fields);

    // Clearing: null empties a text field, an empty list drops every tag, null unlinks.
    let clear = fields(json!({"website": null, "tags": [], "business_id": null}));
    let cleared = fx
        .conn
        .update(EntityKind::Contact, &created.id, None, &clear)
        .await
        .expect("clear");
    assert!(
        !cleared.fields.contains_key("website"),
        "{:?}",
        cleared.fields
    );
    assert!(!cleared.fields.contains_key("business_id"));
    assert_eq!(cleared.fields["tags"], json!([]));

    fx.conn
        .delete(EntityKind::Contact, &created.id, None)
        .await
        .expect("delete");
    let gone = fx.conn.get(EntityKind::Contact, &created.id, None).await;
    assert_eq!(gone, Ok(None));
    fx.conn
        .delete(EntityKind::Contact, &created.id, None)
        .await
        .expect("deleting a missing record is fine");
    let missing = fx
        .conn
        .update(EntityKind::Contact, &created.id, None, &change)
        .await;
    assert!(
        matches!(missing, Err(ConnectorError::NotFound(_))),
        "{missing:?}"
    );
}

#[tokio::test]
async fn unknown_custom_fields_and_bad_values_are_rejected() {
    let fx = Fx::start(1).await;
    let input = fields(json!({"first_name": "X", "email": "x@example.com", "custom.No Such": 1}));
    let err = fx
        .conn
        .create(EntityKind::Contact, None, &input, "k")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("No Such")),
        "{err:?}"
    );
    let input = fields(json!({"first_name": ["not", "text"]}));
    let err = fx.conn.create(EntityKind::Contact, None, &input, "k").await;
    assert!(matches!(err, Err(ConnectorError::Rejected(_))), "{err:?}");
}

#[tokio::test]
async fn tasks_and_notes_live_under_their_contact() {
    let fx = Fx::start(1).await;
    let contact = fx
        .conn
        .create(
            EntityKind::Contact,
            None,
            &fields(json!({"first_name": "Tess", "email": "tess@example.com"})),
            "k",
        )
        .await
        .expect("contact");
    let cid = Some(contact.id.as_str());

    let task_in = fields(json!({"title": "Call Tess", "body": "about Q3",
        "due_at": "2030-01-02T03:04:05Z", "completed": false}));
    let task = fx
        .conn
        .create(EntityKind::Task, cid, &task_in, "k-task")
        .await
        .expect("task");
    assert_subset(&task_in, &task.fields);
    assert_eq!(task.parent_id.as_deref(), cid);
    let got = fx
        .conn
        .get(EntityKind::Task, &task.id, cid)
        .await
        .expect("get");
    assert_subset(&task_in, &got.expect("task exists").fields);
    let done = fx
        .conn
        .update(
            EntityKind::Task,
            &task.id,
            cid,
            &fields(json!({"completed": true, "title": "Called Tess"})),
        )
        .await
        .expect("update task");
    assert_eq!(done.fields["completed"], true);
    assert_eq!(done.fields["title"], "Called Tess");
    assert_eq!(done.fields["body"], "about Q3");

    let no_due = fields(json!({"title": "Someday"}));
    let err = fx.conn.create(EntityKind::Task, cid, &no_due, "k").await;
    assert!(matches!(err, Err(ConnectorError::Rejected(_))), "{err:?}");
    let err = fx.conn.create(EntityKind::Task, None, &task_in, "k").await;
    assert!(
        matches!(err, Err(ConnectorError::Rejected(_))),
        "no parent: {err:?}"
    );

    let note_in = fields(json!({"body": "Prefers email", "title": "Contact pref"}));
    let note = fx
        .conn
        .create(EntityKind::Note, cid, &note_in, "k-note")
        .await
        .expect("note");
    assert_subset(&note_in, &note.fields);
    let edited = fx
        .conn
        .update(
            EntityKind::Note,
            &note.id,
            cid,
            &fields(json!({"body": "Prefers SMS"})),
        )
        .await
        .expect("update note");
    assert_eq!(edited.fields["body"], "Prefers SMS");
    let got = fx
        .conn
        .get(EntityKind::Note, &note.id, cid)
        .await
        .expect("get");
    assert_eq!(got.expect("note exists").fields["body"], "Prefers SMS");

    let tasks = fx
        .conn
        .children(EntityKind::Task, &contact.id)
        .await
        .expect("tasks");
    assert_eq!(tasks.len(), 1);
    let notes = fx
        .conn
        .children(EntityKind::Note, &contact.id)
        .await
        .expect("notes");
    assert_eq!(notes.len(), 1);

    for (kind, id) in [(EntityKind::Task, &task.id), (EntityKind::Note, &note.id)] {
        fx.conn.delete(kind, id, cid).await.expect("delete");
        assert_eq!(fx.conn.get(kind, id, cid).await, Ok(None));
        fx.conn.delete(kind, id, cid).await.expect("delete again");
    }
}

#[tokio::test]
async fn appointments_are_read_only_and_tags_are_records_of_a_contact() {
    let fx = Fx::start(1).await;
    let cid = fx.contact_ids()[0].clone();
    let booked = fx
        .admin(
            Method::POST,
            &format!("/contacts/{cid}/appointments"),
            json!({"title": "Site visit", "startTime": "2030-05-01T10:00:00Z",
                "endTime": "2030-05-01T11:00:00Z", "address": "1 Main St", "notes": "bring keys"}),
        )
        .await;
    let appt_id = booked["appointment"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let appt = fx
        .conn
        .get(EntityKind::Appointment, &appt_id, Some(&cid))
        .await
        .expect("get")
        .expect("exists");
    assert_subset(
        &fields(
            json!({"title": "Site visit", "start_at": "2030-05-01T10:00:00Z",
            "end_at": "2030-05-01T11:00:00Z", "status": "confirmed", "address": "1 Main St",
            "notes": "bring keys"}),
        ),
        &appt.fields,
    );
    let f = fields(json!({"title": "x"}));
    let refused = fx
        .conn
        .create(EntityKind::Appointment, Some(&cid), &f, "k")
        .await;
    assert!(
        matches!(refused, Err(ConnectorError::Unsupported(_))),
        "{refused:?}"
    );
    let refused = fx
        .conn
        .update(EntityKind::Appointment, &appt_id, Some(&cid), &f)
        .await;
    assert!(matches!(refused, Err(ConnectorError::Unsupported(_))));
    let refused = fx
        .conn
        .delete(EntityKind::Appointment, &appt_id, Some(&cid))
        .await;
    assert!(matches!(refused, Err(ConnectorError::Unsupported(_))));

    let tag = fx
        .conn
        .create(
            EntityKind::Tag,
            Some(&cid),
            &fields(json!({"name": "Hot Lead"})),
            "k",
        )
        .await
        .expect("tag");
    assert_eq!(
        (tag.id.as_str(), tag.parent_id.as_deref()),
        ("hot lead", Some(cid.as_str()))
    );
    let got = fx
        .conn
        .get(EntityKind::Tag, "Hot Lead", Some(&cid))
        .await
        .expect("get");
    assert_eq!(
        got.map(|r| r.fields["name"].clone()),
        Some(json!("hot lead"))
    );
    fx.conn
        .delete(EntityKind::Tag, "hot lead", Some(&cid))
        .await
        .expect("remove tag");
    assert_eq!(
        fx.conn.get(EntityKind::Tag, "hot lead", Some(&cid)).await,
        Ok(None)
    );
    let contact = fx
        .conn
        .get(EntityKind::Contact, &cid, None)
        .await
        .expect("get");
    let tags = contact.expect("contact").fields["tags"].clone();
    assert!(!tags.as_array().expect("list").contains(&json!("hot lead")));
}

#[tokio::test]
async fn businesses_are_read_through_their_contacts() {
    let fx = Fx::start(20).await;
    let (id, name) = fx.business();
    let b = fx
        .conn
        .get(EntityKind::Business, &id, None)
        .await
        .expect("get")
        .expect("a seeded business has contacts");
    assert_eq!(b.fields["name"], json!(name));
    assert_eq!(
        fx.conn.get(EntityKind::Business, "nope", None).await,
        Ok(None)
    );
    let f = fields(json!({"name": "x"}));
    let refused = fx.conn.create(EntityKind::Business, None, &f, "k").await;
    assert!(matches!(refused, Err(ConnectorError::Unsupported(_))));
}

#[tokio::test]
async fn find_by_email_phone_and_configured_external_id() {
    let fx = Fx::start(2).await;
    let email = format!("{}@Example.com", unique("Find"));
    let input = fields(
        json!({"first_name": "Fin", "email": email, "phone": "+15550100777",
        "custom.Referral Code": "yourapp-123"}),
    );
    let c = fx
        .conn
        .create(EntityKind::Contact, None, &input, "k")
        .await
        .expect("create");
    let by_email = fx
        .conn
        .find(EntityKind::Contact, &MatchKey::Email(email.to_lowercase()))
        .await
        .expect("find");
    assert_eq!(by_email.map(|r| r.id), Some(c.id.clone()));
    let by_phone = fx
        .conn
        .find(EntityKind::Contact, &MatchKey::Phone("+15550100777".into()))
        .await
        .expect("find");
    assert_eq!(by_phone.map(|r| r.id), Some(c.id.clone()));
    let nobody = MatchKey::Email("nobody@example.com".into());
    assert_eq!(fx.conn.find(EntityKind::Contact, &nobody).await, Ok(None));

    let ext = MatchKey::ExternalId {
        app: "your_app".into(),
        id: "yourapp-123".into(),
    };
    assert_eq!(
        fx.conn.find(EntityKind::Contact, &ext).await,
        Ok(None),
        "no external-id field is assumed"
    );
    let configured = fx.connector(|s| {
        s.external_id_fields
            .insert("your_app".into(), "Referral Code".into());
    });
    let found = configured
        .find(EntityKind::Contact, &ext)
        .await
        .expect("find");
    assert_eq!(found.map(|r| r.id), Some(c.id.clone()));
    let other = MatchKey::ExternalId {
        app: "your_app".into(),
        id: "yourapp-999".into(),
    };
    assert_eq!(configured.find(EntityKind::Contact, &other).await, Ok(None));
    let refused = fx.conn.find(EntityKind::Task, &nobody).await;
    assert!(matches!(refused, Err(ConnectorError::Unsupported(_))));
}

#[tokio::test]
async fn dead_credentials_ask_for_a_reconnect() {
    let fx = Fx::start(1).await;
    let conn = fx.connector_with_token("pit-not-a-token");
    let err = conn
        .get(EntityKind::Contact, "abc", None)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Reconnect(_)), "{err:?}");
    assert_eq!(conn.app(), "ghl");
    let caps = fx.conn.capabilities();
    assert!(caps.incremental && caps.webhooks && caps.native_tags && !caps.deletes_visible);
}
