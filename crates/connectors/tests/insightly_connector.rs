//! The Insightly connector against the Insightly emulator over real HTTP: every `Connector`
//! method for contacts, tasks, notes and appointments (events); tags added and removed without
//! clobbering; organisations found or created by name; the budget. Tags and businesses as
//! records and custom fields: `insightly_records.rs`; errors: `insightly_errors.rs`.

mod insightly_common;

use connectors::{Connector, ConnectorError, EntityKind, MatchKey};
use insightly_common::{fields, unique, Fx};
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_capabilities_check_and_budget() {
    let fx = Fx::start(3).await;
    assert_eq!(fx.conn.app(), "insightly");
    let caps = fx.conn.capabilities();
    assert!(caps.incremental && caps.email_lookup_exact && caps.native_tags);
    assert!(!caps.webhooks && !caps.deletes_visible);
    assert!(caps.kinds.contains(&EntityKind::Business) && caps.kinds.contains(&EntityKind::Tag));
    assert!(fx.conn.budget().is_none(), "nothing announced yet");
    let me = fx.conn.check().await.expect("Users/Me");
    assert!(me["USER_ID"].is_i64());
    let b = fx.conn.budget().expect("announced by the first answer");
    assert_eq!((b.daily_max, b.daily_remaining), (40_000, 39_999));
    assert!(
        (b.burst_left() - 1.0).abs() < f64::EPSILON,
        "no burst window"
    );
    // The documented form of the header: Basic base64("<key>:").
    let log = fx.requests().await;
    assert_eq!(log.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_create_get_find_update_and_delete() {
    let fx = Fx::start(5).await;
    let email = format!("{}@Example.com", unique("ada"));
    let input = fields(json!({
        "first_name": "Ada", "last_name": "Lovelace", "email": email, "phone": "+1 (555) 010-2030",
        "city": "London", "country": "United Kingdom", "dnd": false, "tags": ["vip", "lead"],
        "company_name": "Analytical Engines Ltd", "custom.Lead Source": "Referral",
        "custom.Score": 7, "custom.No Such Field": "x", "website": "not kept", "x.title": "Countess",
    }));
    let c = fx
        .conn
        .create(EntityKind::Contact, None, &input, "key-1")
        .await
        .expect("create");
    assert_eq!(c.fields["first_name"], "Ada");
    assert_eq!(c.fields["tags"], json!(["vip", "lead"]));
    assert_eq!(c.fields["company_name"], "Analytical Engines Ltd");
    assert_eq!(c.fields["custom.Lead Source"], "Referral");
    assert_eq!(c.fields["custom.Score"], 7);
    assert_eq!(c.fields["x.title"], "Countess");
    assert!(!c.fields.contains_key("custom.No Such Field") && !c.fields.contains_key("website"));
    let org_id = c.fields["business_id"]
        .as_str()
        .expect("linked")
        .to_string();
    let stored = fx.stored("Contacts", &c.id).await;
    assert_eq!(stored["EMAIL_ADDRESS"], email.as_str());
    assert_eq!(stored["ORGANISATION_ID"].to_string(), org_id);
    let org = fx.stored("Organisations", &org_id).await;
    assert_eq!(org["ORGANISATION_NAME"], "Analytical Engines Ltd");

    // get, and find by exact email ignoring case, by phone digits; external ids are not kept.
    let got = fx.conn.get(EntityKind::Contact, &c.id, None).await.unwrap();
    assert_eq!(got.as_ref().map(|r| &r.fields), Some(&c.fields));
    assert!(got.and_then(|g| g.updated_at).is_some());
    let lower = MatchKey::Email(email.to_lowercase());
    let found = fx.conn.find(EntityKind::Contact, &lower).await.unwrap();
    assert_eq!(found.map(|r| r.id), Some(c.id.clone()));
    let by_phone = fx
        .conn
        .find(
            EntityKind::Contact,
            &MatchKey::Phone("+1 (555) 010-2030".into()),
        )
        .await
        .unwrap();
    assert_eq!(by_phone.map(|r| r.id), Some(c.id.clone()));
    let missing = MatchKey::Email("nobody@example.com".into());
    assert!(fx
        .conn
        .find(EntityKind::Contact, &missing)
        .await
        .unwrap()
        .is_none());
    let ext = MatchKey::ExternalId {
        app: "ghl".into(),
        id: "x".into(),
    };
    assert!(fx
        .conn
        .find(EntityKind::Contact, &ext)
        .await
        .unwrap()
        .is_none());
    let key = MatchKey::Email(email.clone());
    assert!(matches!(
        fx.conn.find(EntityKind::Task, &key).await,
        Err(ConnectorError::Unsupported(_))
    ));

    // A tag added in the app meanwhile survives an update that adds and removes others.
    let path = format!("/Contacts/{}", c.id);
    let mut current = fx.stored("Contacts", &c.id).await;
    current["TAGS"]
        .as_array_mut()
        .expect("tags")
        .push(json!({"TAG_NAME": "from-the-app"}));
    fx.admin(Method::PUT, &path, json!({"TAGS": current["TAGS"]}))
        .await;
    fx.advance(2).await;
    let change = fields(
        json!({"tags": ["VIP", "customer"], "city": "Paris", "phone": null,
        "company_name": "analytical engines ltd"}),
    );
    let u = fx
        .conn
        .update(EntityKind::Contact, &c.id, None, &change)
        .await
        .expect("update");
    let tags: Vec<&str> = u.fields["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        tags,
        ["vip", "customer"],
        "lead and from-the-app removed, customer added, vip kept"
    );
    let stored = fx.stored("Contacts", &c.id).await;
    let names: Vec<&str> = stored["TAGS"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["TAG_NAME"].as_str())
        .collect();
    assert_eq!(names, ["vip", "customer"]);
    assert_eq!(u.fields["city"], "Paris");
    assert!(!u.fields.contains_key("phone"), "null cleared it");
    assert_eq!(
        u.fields["business_id"],
        org_id.as_str(),
        "the same organisation, found by name"
    );
    assert_eq!(u.fields["first_name"], "Ada", "fields not sent are kept");
    let orgs = fx.ids("Organisations").await;
    assert_eq!(orgs.iter().filter(|o| **o == org_id).count(), 1);

    // Clearing the company unlinks; a first name cannot be cleared in Insightly.
    let u = fx
        .conn
        .update(
            EntityKind::Contact,
            &c.id,
            None,
            &fields(json!({"company_name": null, "first_name": null})),
        )
        .await
        .expect("update");
    assert!(!u.fields.contains_key("business_id") && !u.fields.contains_key("company_name"));
    assert!(
        !u.fields.contains_key("first_name"),
        "the placeholder reads as no first name"
    );
    assert_eq!(
        fx.stored("Contacts", &c.id).await["FIRST_NAME"],
        "(no name)"
    );
    // business_id: an Insightly organisation id links; another app's id is not sent.
    let u = fx
        .conn
        .update(
            EntityKind::Contact,
            &c.id,
            None,
            &fields(json!({"business_id": org_id})),
        )
        .await
        .expect("update");
    assert_eq!(u.fields["company_name"], "Analytical Engines Ltd");
    let u = fx
        .conn
        .update(
            EntityKind::Contact,
            &c.id,
            None,
            &fields(json!({"business_id": "aBcDeFgH12345"})),
        )
        .await
        .expect("a foreign id is skipped, not an error");
    assert_eq!(u.fields["business_id"], org_id.as_str());

    fx.conn
        .delete(EntityKind::Contact, &c.id, None)
        .await
        .expect("delete");
    assert!(fx
        .conn
        .get(EntityKind::Contact, &c.id, None)
        .await
        .unwrap()
        .is_none());
    fx.conn
        .delete(EntityKind::Contact, &c.id, None)
        .await
        .expect("already gone is fine");
    let gone = fx
        .conn
        .update(EntityKind::Contact, &c.id, None, &change)
        .await;
    assert!(matches!(gone, Err(ConnectorError::NotFound(_))), "{gone:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_notes_and_appointments_hang_off_their_contact() {
    let fx = Fx::start(2).await;
    let email = format!("{}@example.com", unique("kid"));
    let c = fx
        .conn
        .create(
            EntityKind::Contact,
            None,
            &fields(json!({"first_name": "Kim", "email": email})),
            "c",
        )
        .await
        .expect("contact");
    let t = fx
        .conn
        .create(
            EntityKind::Task,
            Some(&c.id),
            &fields(json!({"title": "Call Kim", "body": "About the renewal", "due_at": "2030-01-02T03:04:05Z",
                "completed": false, "assigned_to": "ghl-user-1"})),
            "task-1",
        )
        .await
        .expect("task");
    assert_eq!(t.parent_id.as_deref(), Some(c.id.as_str()));
    assert_eq!(t.fields["due_at"], "2030-01-02T03:04:05Z");
    assert_eq!(t.fields["body"], "About the renewal");
    assert!(
        !t.fields.contains_key("assigned_to"),
        "another app's user id is not sent"
    );
    let stored = fx.stored("Tasks", &t.id).await;
    assert_eq!(stored["DUE_DATE"], "2030-01-02 03:04:05");
    let n = fx
        .conn
        .create(
            EntityKind::Note,
            Some(&c.id),
            &fields(json!({"body": "Met at the fair\nLikes tea"})),
            "note-1",
        )
        .await
        .expect("note");
    assert_eq!(
        fx.stored("Notes", &n.id).await["TITLE"],
        "Met at the fair",
        "derived title"
    );
    assert!(
        !n.fields.contains_key("title"),
        "a derived title reads as none"
    );
    let titled = fx
        .conn
        .create(
            EntityKind::Note,
            Some(&c.id),
            &fields(json!({"title": "Own title", "body": "b"})),
            "note-2",
        )
        .await
        .expect("note");
    assert_eq!(titled.fields["title"], "Own title");
    let a = fx
        .conn
        .create(
            EntityKind::Appointment,
            Some(&c.id),
            &fields(
                json!({"title": "Demo", "start_at": "2030-02-01T10:00:00+01:00",
                "end_at": "2030-02-01T10:30:00Z", "address": "Video call", "status": "confirmed"}),
            ),
            "appt-1",
        )
        .await
        .expect("appointment");
    assert_eq!(a.fields["start_at"], "2030-02-01T09:00:00Z");
    assert!(
        !a.fields.contains_key("status"),
        "Insightly events have no status"
    );

    for (kind, want) in [
        (EntityKind::Task, vec![t.id.clone()]),
        (EntityKind::Note, vec![n.id.clone(), titled.id.clone()]),
        (EntityKind::Appointment, vec![a.id.clone()]),
    ] {
        let kids = fx.conn.children(kind, &c.id).await.expect("children");
        let ids: Vec<String> = kids.iter().map(|r| r.id.clone()).collect();
        assert_eq!(ids, want, "{kind}");
        assert!(kids
            .iter()
            .all(|r| r.parent_id.as_deref() == Some(c.id.as_str())));
        let one = fx
            .conn
            .get(kind, &want[0], None)
            .await
            .unwrap()
            .expect("get");
        assert_eq!(one.parent_id.as_deref(), Some(c.id.as_str()));
    }

    let done = fx
        .conn
        .update(
            EntityKind::Task,
            &t.id,
            Some(&c.id),
            &fields(json!({"completed": true, "due_at": null})),
        )
        .await
        .expect("update");
    assert_eq!(done.fields["completed"], true);
    assert!(!done.fields.contains_key("due_at"));
    let n2 = fx
        .conn
        .update(
            EntityKind::Note,
            &n.id,
            Some(&c.id),
            &fields(json!({"title": null, "body": "New first line\nrest"})),
        )
        .await
        .expect("note update");
    assert_eq!(fx.stored("Notes", &n2.id).await["TITLE"], "New first line");
    let moved = fx
        .conn
        .update(
            EntityKind::Appointment,
            &a.id,
            Some(&c.id),
            &fields(json!({"end_at": "2030-02-01T11:00:00Z"})),
        )
        .await
        .expect("event update");
    assert_eq!(moved.fields["end_at"], "2030-02-01T11:00:00Z");
    let refused = fx
        .conn
        .update(
            EntityKind::Appointment,
            &a.id,
            None,
            &fields(json!({"end_at": "2020-01-01T00:00:00Z"})),
        )
        .await;
    assert!(
        matches!(&refused, Err(ConnectorError::Rejected(m)) if m.contains("END_DATE_UTC")),
        "{refused:?}"
    );
    let no_parent = fx
        .conn
        .create(EntityKind::Task, None, &fields(json!({"title": "x"})), "k")
        .await;
    assert!(matches!(no_parent, Err(ConnectorError::Rejected(_))));
    let no_contact = fx
        .conn
        .create(
            EntityKind::Task,
            Some("1"),
            &fields(json!({"title": "x"})),
            "k2",
        )
        .await;
    assert!(
        matches!(&no_contact, Err(ConnectorError::Rejected(m)) if m.contains("does not exist")),
        "{no_contact:?}"
    );

    for (kind, id) in [
        (EntityKind::Task, &t.id),
        (EntityKind::Note, &n.id),
        (EntityKind::Appointment, &a.id),
    ] {
        fx.conn.delete(kind, id, Some(&c.id)).await.expect("delete");
        assert!(
            fx.conn.get(kind, id, None).await.unwrap().is_none(),
            "{kind}"
        );
        fx.conn.delete(kind, id, Some(&c.id)).await.expect("twice");
    }
}
