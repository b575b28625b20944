//! The SalesNexus connector's reads and writes against the emulator over real HTTP: canonical
//! contact round trips, tags carried in the multi-select custom field, custom fields by name,
//! lookups by email through the fuzzy search, children, tasks with completion, appointments as
//! Meeting tasks, soft deletes, and the error mapping.

mod salesnexus_common;

use connectors::{Connector, ConnectorError, EntityKind, MatchKey};
use reqwest::Method;
use salesnexus_common::{drain, fields, ids, unique, Fx};
use serde_json::{json, Map, Value};

/// Every field of `want` is in `got` with the same value.
fn assert_subset(want: &Map<String, Value>, got: &Map<String, Value>) {
    for (k, v) in want {
        assert_eq!(got.get(k), Some(v), "field {k}: want {v}, got {got:?}");
    }
}

#[tokio::test]
async fn contact_round_trip_with_tags_custom_fields_and_soft_delete() {
    let fx = Fx::start(3).await;
    let email = format!("{}@example.com", unique("ada"));
    let input = fields(json!({
        "first_name": "Ada", "last_name": "Lovelace", "email": email, "phone": "+15550100001",
        "company_name": "Analytical Engines", "address1": "1 Engine St", "city": "London",
        "state": "LDN", "postal_code": "N1", "country": "GB", "tags": ["vip", "investor"],
        "custom.Lead Source": "Referral", "custom.Shoe Size": 9, "x.title": "Countess"
    }));
    // Fields SalesNexus has no place for are not sent (and refused nothing).
    let mut sent = input.clone();
    sent.insert("website".into(), json!("https://ada.example"));
    sent.insert("dnd".into(), json!(true));
    let created = fx
        .conn
        .create(EntityKind::Contact, None, &sent, "create-ada")
        .await
        .expect("create");
    assert_subset(&input, &created.fields);
    assert!(
        created.id.parse::<i64>().is_ok(),
        "integer ids: {}",
        created.id
    );
    assert!(created.updated_at.is_some() && !created.deleted);
    let stored = fx.stored("contacts", &created.id).await;
    assert_eq!(
        stored["customFields"]["Tags"], "vip, investor",
        "tags in the custom field"
    );
    assert_eq!(stored["company"], "Analytical Engines");
    assert_eq!(stored["title"], "Countess");
    let defs = fx.admin(Method::GET, "/", Value::Null).await;
    assert!(
        defs["counts"]["custom_fields"].as_u64() > Some(4),
        "Shoe Size was created"
    );
    let posted = fx.calls("create-contact").await;
    assert_eq!(posted.len(), 1);
    assert!(posted[0]["body"].get("website").is_none() && posted[0]["body"].get("dnd").is_none());

    let got = fx
        .conn
        .get(EntityKind::Contact, &created.id, None)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(got.fields, created.fields, "nothing else comes back");

    let change = fields(json!({"city": "Paris", "tags": ["vip", "board"], "custom.Shoe Size": 10}));
    let updated = fx
        .conn
        .update(EntityKind::Contact, &created.id, None, &change)
        .await
        .expect("update");
    assert_subset(&change, &updated.fields);
    assert_eq!(updated.fields["first_name"], "Ada", "a partial update");
    assert_eq!(updated.fields["custom.Lead Source"], "Referral");
    let put = fx.calls("update-contact").await;
    assert_eq!(
        put[0]["body"],
        json!({"city": "Paris", "customFields": {"Tags": "vip, board", "Shoe Size": 10}}),
        "only the changed fields are sent"
    );
    let cleared = fx
        .conn
        .update(
            EntityKind::Contact,
            &created.id,
            None,
            &fields(json!({"tags": [], "custom.Shoe Size": null})),
        )
        .await
        .expect("clear");
    assert_eq!(
        cleared.fields["tags"],
        json!([]),
        "no tags is an empty list"
    );
    assert!(!cleared.fields.contains_key("custom.Shoe Size"));

    fx.conn
        .delete(EntityKind::Contact, &created.id, None)
        .await
        .expect("delete");
    assert_eq!(
        fx.conn.get(EntityKind::Contact, &created.id, None).await,
        Ok(None)
    );
    assert_eq!(
        fx.stored("contacts", &created.id).await["deleted"],
        true,
        "a soft delete"
    );
    fx.conn
        .delete(EntityKind::Contact, &created.id, None)
        .await
        .expect("deleting again is fine");
    let gone = fx
        .conn
        .update(EntityKind::Contact, &created.id, None, &change)
        .await;
    assert!(matches!(gone, Err(ConnectorError::NotFound(_))), "{gone:?}");
    assert_eq!(
        fx.conn.get(EntityKind::Contact, "not-a-number", None).await,
        Ok(None)
    );
}

#[tokio::test]
async fn find_by_email_filters_the_fuzzy_search_to_the_exact_address() {
    let fx = Fx::start(0).await;
    let base = unique("finn");
    let mk = |email: String| fields(json!({"first_name": "Finn", "email": email}));
    let near = fx
        .conn
        .create(
            EntityKind::Contact,
            None,
            &mk(format!("x{base}@example.com")),
            "a",
        )
        .await
        .expect("near");
    let first = fx
        .conn
        .create(
            EntityKind::Contact,
            None,
            &mk(format!("{base}@example.com")),
            "b",
        )
        .await
        .expect("first");
    let second = fx
        .conn
        .create(
            EntityKind::Contact,
            None,
            &mk(format!("{}@Example.com", base.to_uppercase())),
            "c",
        )
        .await
        .expect("second");
    let key = MatchKey::Email(format!("{base}@example.com"));
    let found = fx
        .conn
        .find(EntityKind::Contact, &key)
        .await
        .expect("find")
        .expect("found");
    assert_eq!(
        found.id, second.id,
        "exact (ignoring case) and the highest id of several"
    );
    assert_ne!(found.id, near.id);
    let log = fx.calls("list-contacts").await;
    assert!(
        log.last()
            .and_then(|e| e["query"].as_str())
            .is_some_and(|q| q.contains("search=")),
        "{log:?}"
    );
    fx.conn
        .delete(EntityKind::Contact, &second.id, None)
        .await
        .expect("delete");
    let found = fx
        .conn
        .find(EntityKind::Contact, &key)
        .await
        .expect("find")
        .expect("found");
    assert_eq!(found.id, first.id, "a soft-deleted contact is not found");
    let none = fx
        .conn
        .find(
            EntityKind::Contact,
            &MatchKey::Email("nobody@example.com".into()),
        )
        .await;
    assert_eq!(none, Ok(None));
    let phone = fx
        .conn
        .find(EntityKind::Contact, &MatchKey::Phone("+15550100001".into()))
        .await;
    assert_eq!(phone, Ok(None), "SalesNexus cannot look up by phone");
    let task = fx.conn.find(EntityKind::Task, &key).await;
    assert!(matches!(task, Err(ConnectorError::Unsupported(_))));
}

#[tokio::test]
async fn tasks_notes_and_appointments_hang_off_their_contact() {
    let fx = Fx::start(0).await;
    let c = fx
        .conn
        .create(
            EntityKind::Contact,
            None,
            &fields(
                json!({"first_name": "Tia", "email": format!("{}@example.com", unique("tia"))}),
            ),
            "tia",
        )
        .await
        .expect("contact");
    let task_in = fields(
        json!({"title": "Send proposal", "body": "v2", "due_at": "2026-04-01T09:00:00Z",
        "completed": true, "x.priority": "High"}),
    );
    let task = fx
        .conn
        .create(EntityKind::Task, Some(&c.id), &task_in, "t1")
        .await
        .expect("task");
    assert_subset(&task_in, &task.fields);
    assert_eq!(task.parent_id.as_deref(), Some(c.id.as_str()));
    assert_eq!(
        fx.calls("update-task").await.len(),
        1,
        "status is update-only: completed by a second write"
    );
    let stored = fx.stored("tasks", &task.id).await;
    assert_eq!(
        (stored["status"].clone(), stored["dateTo"].clone()),
        (json!("Completed"), json!("2026-04-01T09:00:00Z"))
    );
    assert!(stored["completedAt"].is_string());
    let reopened = fx
        .conn
        .update(
            EntityKind::Task,
            &task.id,
            None,
            &fields(json!({"completed": false})),
        )
        .await
        .expect("reopen");
    assert_eq!(reopened.fields["completed"], false);

    let appt_in = fields(
        json!({"title": "Demo", "start_at": "2026-04-02T15:00:00Z", "end_at": "2026-04-02T16:00:00Z",
        "notes": "bring slides"}),
    );
    let appt = fx
        .conn
        .create(EntityKind::Appointment, Some(&c.id), &appt_in, "a1")
        .await
        .expect("appointment");
    assert_subset(&appt_in, &appt.fields);
    let stored = fx.stored("tasks", &appt.id).await;
    assert_eq!(
        stored["type"], "Meeting",
        "an appointment is a Meeting task"
    );
    assert_eq!(
        (stored["dateFrom"].clone(), stored["dateTo"].clone()),
        (json!("2026-04-02T15:00:00Z"), json!("2026-04-02T16:00:00Z"))
    );
    assert_eq!(
        fx.conn.get(EntityKind::Task, &appt.id, None).await,
        Ok(None),
        "a meeting is no task"
    );
    assert_eq!(
        fx.conn.get(EntityKind::Appointment, &task.id, None).await,
        Ok(None),
        "a task is no meeting"
    );
    let moved = fx
        .conn
        .update(
            EntityKind::Appointment,
            &appt.id,
            None,
            &fields(json!({"end_at": "2026-04-02T17:00:00Z"})),
        )
        .await
        .expect("move");
    assert_eq!(moved.fields["end_at"], "2026-04-02T17:00:00Z");
    assert_eq!(fx.stored("tasks", &appt.id).await["type"], "Meeting");

    let note = fx
        .conn
        .create(
            EntityKind::Note,
            Some(&c.id),
            &fields(json!({"body": "Met at the fair", "title": "no titles here"})),
            "n1",
        )
        .await
        .expect("note");
    assert_eq!(note.fields, fields(json!({"body": "Met at the fair"})));
    assert_eq!(note.parent_id.as_deref(), Some(c.id.as_str()));

    let kids = |kind| fx.conn.children(kind, &c.id);
    assert_eq!(
        ids(&kids(EntityKind::Task).await.expect("tasks")),
        vec![task.id.clone()]
    );
    assert_eq!(
        ids(&kids(EntityKind::Appointment).await.expect("meetings")),
        vec![appt.id.clone()]
    );
    assert_eq!(
        ids(&kids(EntityKind::Note).await.expect("notes")),
        vec![note.id.clone()]
    );
    let (meetings, _, _) = drain(&fx.conn, EntityKind::Appointment, false, None).await;
    assert!(
        meetings.iter().all(|m| m.kind == EntityKind::Appointment)
            && meetings.iter().any(|m| m.id == appt.id)
    );
    let (tasks, _, _) = drain(&fx.conn, EntityKind::Task, false, None).await;
    assert!(tasks.iter().all(|t| t.id != appt.id));

    for (kind, id) in [
        (EntityKind::Task, &task.id),
        (EntityKind::Appointment, &appt.id),
        (EntityKind::Note, &note.id),
    ] {
        fx.conn.delete(kind, id, Some(&c.id)).await.expect("delete");
        assert_eq!(fx.conn.get(kind, id, None).await, Ok(None));
        fx.conn.delete(kind, id, Some(&c.id)).await.expect("again");
    }
    let orphan = fx
        .conn
        .create(EntityKind::Note, None, &fields(json!({"body": "x"})), "n2")
        .await;
    assert!(
        matches!(orphan, Err(ConnectorError::Rejected(_))),
        "{orphan:?}"
    );
}

#[tokio::test]
async fn list_all_pages_through_every_live_record_of_each_kind() {
    let fx = Fx::start(130).await;
    let counts = fx.counts().await;
    let (contacts, _, pages) = drain(&fx.conn, EntityKind::Contact, false, None).await;
    assert_eq!(
        (json!(contacts.len()), pages),
        (counts["contacts"]["live"].clone(), 2)
    );
    let small = fx.connector(|c| c.page_size = 7);
    for (kind, want) in [
        (EntityKind::Contact, counts["contacts"]["live"].clone()),
        (EntityKind::Note, counts["notes"].clone()),
        (EntityKind::Appointment, counts["meetings"].clone()),
    ] {
        let (records, _, _) = drain(&small, kind, false, None).await;
        let mut unique = ids(&records);
        unique.dedup();
        assert_eq!(json!(unique.len()), want, "{kind}: every record once");
        assert!(kind == EntityKind::Contact || records.iter().all(|r| r.parent_id.is_some()));
    }
    let (tasks, _, _) = drain(&small, EntityKind::Task, false, None).await;
    let total = counts["tasks"].as_u64().unwrap_or_default()
        - counts["meetings"].as_u64().unwrap_or_default();
    assert_eq!(tasks.len() as u64, total);
    let task_pages: Vec<Value> = fx.calls("list-tasks").await;
    assert!(task_pages.iter().all(|e| e["query"]
        .as_str()
        .is_some_and(|q| q.contains("pageNumber=") && q.contains("scope=all"))));
    for kind in [EntityKind::Business, EntityKind::Tag] {
        let r = fx.conn.list_all(kind, None).await;
        assert!(
            matches!(r, Err(ConnectorError::Unsupported(ref m)) if m.contains("SalesNexus")),
            "{r:?}"
        );
    }
}

#[tokio::test]
async fn errors_map_to_what_the_engine_can_do() {
    let fx = Fx::start(1).await;
    let wrong = fx.connector(|c| {
        c.api_key = connectors::your_app::config::SecretString::new("sn_live_AAAAAAAA.wrong")
    });
    let e = wrong
        .get(EntityKind::Contact, "1001", None)
        .await
        .unwrap_err();
    assert!(matches!(e, ConnectorError::Reconnect(_)), "{e:?}");
    assert!(!e.to_string().contains("wrong"), "no key in errors: {e}");
    let e = fx
        .conn
        .create(
            EntityKind::Contact,
            None,
            &fields(json!({"last_name": "NoFirst"})),
            "k",
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ConnectorError::Rejected(m) if m.contains("firstName")),
        "{e:?}"
    );
    assert!(
        fx.calls("create-contact").await.is_empty(),
        "refused before sending"
    );
    let e = fx
        .conn
        .update(
            EntityKind::Contact,
            "1001",
            None,
            &fields(json!({"first_name": ""})),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ConnectorError::Rejected(m) if m.contains("422") && m.contains("firstName cannot be empty")),
        "{e:?}"
    );
    let e = fx
        .conn
        .create(
            EntityKind::Task,
            Some("999999"),
            &fields(json!({"title": "T"})),
            "k2",
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ConnectorError::Rejected(m) if m.contains("contactId 999999")),
        "{e:?}"
    );
    let e = fx
        .conn
        .create(
            EntityKind::Business,
            None,
            &fields(json!({"name": "Acme"})),
            "k3",
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ConnectorError::Unsupported(m) if m.contains("company")),
        "{e:?}"
    );

    // The hour's budget spent: the wait is longer than a call may wait, so `Transient` at once.
    // (A first read also fetches the custom-field definitions: done before the budget shrinks.)
    fx.conn
        .get(EntityKind::Contact, "1001", None)
        .await
        .expect("warm");
    fx.admin(Method::PUT, "/budget", json!({"hourly_limit": 1}))
        .await;
    fx.conn
        .get(EntityKind::Contact, "1001", None)
        .await
        .expect("the last request of the hour");
    let e = fx
        .conn
        .get(EntityKind::Contact, "1001", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ConnectorError::Transient(m) if m.contains("429")),
        "{e:?}"
    );
    let b = fx.conn.budget().expect("a budget");
    assert_eq!(
        (b.burst_max, b.burst_remaining, b.interval_ms),
        (10_000, 0, 3_600_000),
        "{b:?}"
    );
}

#[tokio::test]
async fn list_values_round_trip_through_multi_select_fields() {
    let fx = Fx::start(0).await;
    let input = fields(
        json!({"first_name": "Mia", "email": format!("{}@example.com", unique("mia")),
        "custom.Interests": ["Land", "Retail"], "custom.Score": 7}),
    );
    let c = fx
        .conn
        .create(EntityKind::Contact, None, &input, "m1")
        .await
        .expect("create");
    assert_eq!(
        c.fields["custom.Interests"],
        json!(["Land", "Retail"]),
        "a list comes back a list"
    );
    assert_eq!(c.fields["custom.Score"], 7);
    let stored = fx.stored("contacts", &c.id).await;
    assert_eq!(stored["customFields"]["Interests"], "Land, Retail");
    let made = fx.calls("create-contact-field").await;
    assert_eq!(
        made.len(),
        1,
        "the list's field is made multi-select first: {made:?}"
    );
    assert_eq!(made[0]["body"]["multiSelect"], true);
    let again = fx
        .conn
        .update(
            EntityKind::Contact,
            &c.id,
            None,
            &fields(json!({"custom.Interests": ["Land"]})),
        )
        .await
        .expect("update");
    assert_eq!(again.fields["custom.Interests"], json!(["Land"]));
    assert_eq!(fx.calls("create-contact-field").await.len(), 1, "known now");
    // Another connection (fresh cache) reads it as a list too.
    let other = fx.connector(|_| {});
    let read = other
        .get(EntityKind::Contact, &c.id, None)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(read.fields["custom.Interests"], json!(["Land"]));
}
