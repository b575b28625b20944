//! Listing against the Insightly emulator over real HTTP: `list_all` pages through every record
//! of every kind; `list_changed`'s JSON cursor survives a restart and yields only what changed
//! after it (a change in the cursor's own second included, nothing delivered twice); deletes
//! are invisible in lists and show as a 404; creates are never made twice.

mod insightly_common;

use std::collections::BTreeSet;

use connectors::{Connector, ConnectorError, EntityKind, Record};
use insightly_common::{fields, unique, Fx};
use reqwest::Method;
use serde_json::{json, Value};

/// Every page of a listing, following cursors until `done`.
async fn drain(
    conn: &dyn Connector,
    kind: EntityKind,
    changed: bool,
    mut cursor: Option<String>,
) -> (Vec<Record>, Option<String>, usize) {
    let (mut all, mut pages) = (Vec::new(), 0);
    loop {
        let page = if changed {
            conn.list_changed(kind, cursor.as_deref()).await
        } else {
            conn.list_all(kind, cursor.as_deref()).await
        }
        .expect("page");
        pages += 1;
        all.extend(page.records);
        cursor = page.next_cursor;
        if page.done {
            return (all, cursor, pages);
        }
        assert!(pages < 1000, "listing does not end");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_all_pages_through_every_record_of_every_kind() {
    let fx = Fx::start(23).await;
    let conn = fx.connector(|c| c.page_size = 4);
    for (kind, object) in [
        (EntityKind::Contact, "Contacts"),
        (EntityKind::Task, "Tasks"),
        (EntityKind::Note, "Notes"),
        (EntityKind::Appointment, "Events"),
        (EntityKind::Business, "Organisations"),
    ] {
        let (records, _, pages) = drain(&conn, kind, false, None).await;
        let ids: BTreeSet<String> = records.iter().map(|r| r.id.clone()).collect();
        assert_eq!(ids.len(), records.len(), "{kind}: no record twice");
        let want: BTreeSet<String> = fx.ids(object).await.into_iter().collect();
        assert_eq!(ids, want, "{kind}");
        assert!(records
            .iter()
            .all(|r| r.kind == kind && r.updated_at.is_some()));
        if kind.has_parent() {
            assert!(records.iter().all(|r| r.parent_id.is_some()), "{kind}");
        }
        if kind == EntityKind::Contact {
            assert!(pages >= 6, "paged by 4: {pages}");
            assert!(records
                .iter()
                .any(|r| r.fields.contains_key("company_name")));
            assert!(records
                .iter()
                .any(|r| r.fields.keys().any(|k| k.starts_with("custom."))));
        }
    }
    let tops: BTreeSet<String> = fx
        .requests()
        .await
        .iter()
        .filter_map(|r| r["query"].as_str().map(str::to_string))
        .filter(|q| q.contains("top="))
        .map(|q| {
            q.split('&')
                .find(|p| p.starts_with("top="))
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert!(tops.contains("top=4"), "{tops:?}");
    // The default page is Insightly's largest.
    assert_eq!(fx.conn.config().page_size, 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_changed_finds_only_what_changed_after_the_cursor() {
    let fx = Fx::start(9).await;
    let conn = fx.connector(|c| c.page_size = 4);
    let (first, cursor, pages) = drain(&conn, EntityKind::Contact, true, None).await;
    assert_eq!(first.len(), 9, "a first run reads everything");
    assert!(pages >= 3);
    let cursor = cursor.expect("a cursor to persist");
    let parsed: Value = serde_json::from_str(&cursor).expect("the cursor is JSON");
    assert!(
        parsed["from"].is_string() && parsed.get("skip").is_none(),
        "{parsed}"
    );

    // A restarted connector with the persisted cursor: nothing new.
    let restarted = fx.connector(|c| c.page_size = 4);
    let (none, cursor, _) = drain(&restarted, EntityKind::Contact, true, Some(cursor)).await;
    assert!(none.is_empty(), "{none:?}");
    let cursor = cursor.expect("cursor");
    let (_, task_cursor, _) = drain(&restarted, EntityKind::Task, true, None).await;

    // Changes made in the app (not through the connector), a tag change, a create, a delete.
    fx.advance(2).await;
    let ids: Vec<String> = first.iter().map(|r| r.id.clone()).collect();
    fx.admin(
        Method::PUT,
        &format!("/Contacts/{}", ids[2]),
        json!({"ADDRESS_MAIL_CITY": "Lisbon"}),
    )
    .await;
    fx.advance(2).await;
    let email = format!("{}@example.com", unique("new"));
    let created = fx
        .admin(
            Method::POST,
            "/Contacts",
            json!({"FIRST_NAME": "New", "EMAIL_ADDRESS": email}),
        )
        .await;
    let new_id = created["CONTACT_ID"].to_string();
    fx.advance(2).await;
    restarted
        .create(
            EntityKind::Tag,
            Some(&ids[4]),
            &fields(json!({"name": "fresh"})),
            "t",
        )
        .await
        .expect("tag");
    fx.admin(
        Method::DELETE,
        &format!("/Contacts/{}", ids[5]),
        Value::Null,
    )
    .await;
    let task = restarted
        .create(
            EntityKind::Task,
            Some(&new_id),
            &fields(json!({"title": "Welcome"})),
            "task",
        )
        .await
        .expect("task");

    let (changed, cursor, _) = drain(&restarted, EntityKind::Contact, true, Some(cursor)).await;
    let got: Vec<&str> = changed.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        got,
        [ids[2].as_str(), new_id.as_str(), ids[4].as_str()],
        "oldest change first"
    );
    assert_eq!(changed[0].fields["city"], "Lisbon");
    assert!(changed[2].fields["tags"]
        .as_array()
        .is_some_and(|t| t.contains(&json!("fresh"))));
    assert!(
        changed.iter().all(|r| !r.deleted),
        "deletes are invisible in lists"
    );
    let (after, _, _) = drain(&restarted, EntityKind::Contact, true, cursor).await;
    assert!(after.is_empty(), "{after:?}");
    assert!(
        restarted
            .get(EntityKind::Contact, &ids[5], None)
            .await
            .unwrap()
            .is_none(),
        "a delete is a 404"
    );

    let (tasks, _, _) = drain(&restarted, EntityKind::Task, true, task_cursor).await;
    assert_eq!(
        tasks.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        [task.id.as_str()]
    );
    assert_eq!(tasks[0].parent_id.as_deref(), Some(new_id.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_in_the_cursors_own_second_is_found_once() {
    let fx = Fx::start(0).await;
    let conn = fx.connector(|c| c.overlap_secs = 5);
    fx.advance(3).await;
    let a = conn
        .create(
            EntityKind::Contact,
            None,
            &fields(json!({"first_name": "A"})),
            "a",
        )
        .await
        .expect("a");
    let (first, cursor, _) = drain(&conn, EntityKind::Contact, true, None).await;
    assert_eq!(first.len(), 1);
    // Same second as the cursor (the clock has not moved): strictly-after would miss it
    // without the overlap, and the overlap must not deliver A again.
    let b = conn
        .create(
            EntityKind::Contact,
            None,
            &fields(json!({"first_name": "B"})),
            "b",
        )
        .await
        .expect("b");
    assert_eq!(a.updated_at, b.updated_at, "one second");
    let (second, cursor, _) = drain(&conn, EntityKind::Contact, true, cursor).await;
    assert_eq!(
        second.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        [b.id.as_str()]
    );
    fx.advance(2).await;
    let a2 = conn
        .update(
            EntityKind::Contact,
            &a.id,
            None,
            &fields(json!({"last_name": "Again"})),
        )
        .await
        .expect("update");
    let (third, _, _) = drain(&conn, EntityKind::Contact, true, cursor).await;
    assert_eq!(
        third.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        [a2.id.as_str()],
        "a newer version is delivered"
    );
    let sent: Vec<String> = fx
        .requests()
        .await
        .iter()
        .filter_map(|r| r["query"].as_str().map(str::to_string))
        .filter(|q| q.contains("updated_after_utc"))
        .collect();
    assert!(
        !sent.is_empty() && sent.iter().all(|q| q.contains("T") && q.contains("Z")),
        "RFC 3339: {sent:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursors_from_a_time_and_bad_cursors() {
    let fx = Fx::start(3).await;
    for start in ["2000-01-01T00:00:00Z", "2000-01-01 00:00:00"] {
        let page = fx
            .conn
            .list_changed(EntityKind::Contact, Some(start))
            .await
            .expect("a bare time is a cursor");
        assert_eq!(page.records.len(), 3);
    }
    let future = fx
        .conn
        .list_changed(EntityKind::Contact, Some("2999-01-01T00:00:00Z"))
        .await
        .expect("page");
    assert!(future.records.is_empty() && future.done);
    for bad in ["yesterday", "{\"skip\": \"x\"}"] {
        let r = fx.conn.list_changed(EntityKind::Contact, Some(bad)).await;
        assert!(
            matches!(r, Err(ConnectorError::Rejected(_))),
            "{bad}: {r:?}"
        );
    }
    let r = fx.conn.list_all(EntityKind::Contact, Some("nope")).await;
    assert!(matches!(r, Err(ConnectorError::Rejected(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_creates_never_make_two_records() {
    let fx = Fx::start(1).await;
    let email = format!("{}@example.com", unique("once"));
    let c = fx
        .conn
        .create(
            EntityKind::Contact,
            None,
            &fields(json!({"first_name": "Once", "email": email})),
            "c-1",
        )
        .await
        .expect("contact");
    // The answer of a create is lost (the write happened, the client saw a 500).
    fx.admin(
        Method::PUT,
        "/faults",
        json!({"rules": [
            {"route": "post-contacts", "acceptThen422Rate": 1.0},
            {"route": "post-tasks", "acceptThen422Rate": 1.0},
            {"route": "post-contacts-id-notes", "acceptThen422Rate": 1.0},
            {"route": "post-events", "acceptThen422Rate": 1.0},
        ]}),
    )
    .await;
    let lost_email = format!("{}@example.com", unique("lost"));
    let contact = fields(json!({"first_name": "Lost", "email": lost_email}));
    let first = fx
        .conn
        .create(EntityKind::Contact, None, &contact, "c-2")
        .await;
    assert!(
        matches!(first, Err(ConnectorError::Transient(_))),
        "{first:?}"
    );
    let task = fields(json!({"title": "Follow up", "due_at": "2030-01-01T09:00:00Z"}));
    let note = fields(json!({"body": "Lost answer"}));
    let appt = fields(
        json!({"title": "Call", "start_at": "2030-01-01T09:00:00Z", "end_at": "2030-01-01T09:30:00Z"}),
    );
    for (kind, f) in [
        (EntityKind::Task, &task),
        (EntityKind::Note, &note),
        (EntityKind::Appointment, &appt),
    ] {
        let r = fx
            .conn
            .create(kind, Some(&c.id), f, &format!("key-{kind}"))
            .await;
        assert!(
            matches!(r, Err(ConnectorError::Transient(_))),
            "{kind}: {r:?}"
        );
    }
    fx.admin(Method::PUT, "/faults", json!({"rules": []})).await;
    // The engine retries with the same key: the records the lost answers made are found.
    let again = fx
        .conn
        .create(EntityKind::Contact, None, &contact, "c-2")
        .await
        .expect("retry");
    let lost = fx
        .conn
        .find(
            EntityKind::Contact,
            &connectors::MatchKey::Email(lost_email.clone()),
        )
        .await
        .unwrap()
        .expect("made once");
    assert_eq!(again.id, lost.id);
    for (kind, f) in [
        (EntityKind::Task, &task),
        (EntityKind::Note, &note),
        (EntityKind::Appointment, &appt),
    ] {
        let r = fx
            .conn
            .create(kind, Some(&c.id), f, &format!("key-{kind}"))
            .await
            .expect("retry");
        let kids = fx.conn.children(kind, &c.id).await.expect("children");
        assert_eq!(kids.len(), 1, "{kind}: one record");
        assert_eq!(kids[0].id, r.id, "{kind}");
    }
    // A different key is a different logical create: a second task.
    fx.conn
        .create(EntityKind::Task, Some(&c.id), &task, "another-key")
        .await
        .expect("task");
    assert_eq!(
        fx.conn
            .children(EntityKind::Task, &c.id)
            .await
            .unwrap()
            .len(),
        2
    );
    let stored = fx
        .stored(
            "Tasks",
            &fx.conn.children(EntityKind::Task, &c.id).await.unwrap()[0].id,
        )
        .await;
    let details = stored["LINKS"][0]["DETAILS"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(details.starts_with("ghl-bridge:"), "the marker: {details}");
}
