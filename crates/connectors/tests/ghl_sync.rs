//! Listing against the GHL sandbox over real HTTP: `list_all` pages through every contact and
//! every child record, and `list_changed`'s JSON cursor survives a restart and yields only what
//! changed after it.

mod ghl_common;

use std::collections::BTreeSet;

use connectors::{Connector, ConnectorError, EntityKind};
use ghl_common::{fields, unique, Fx};
use serde_json::{json, Value};

/// Every page of a listing, following cursors until `done`.
async fn drain(
    conn: &dyn Connector,
    kind: EntityKind,
    changed: bool,
    mut cursor: Option<String>,
) -> (Vec<connectors::Record>, Option<String>, usize) {
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

#[tokio::test]
async fn list_all_pages_through_every_contact_and_child() {
    let fx = Fx::start(23).await;
    let conn = fx.connector(|s| {
        s.page_size = 5;
        s.child_scan_batch = 4;
    });
    let (contacts, _, pages) = drain(&conn, EntityKind::Contact, false, None).await;
    let ids: Vec<String> = contacts.iter().map(|r| r.id.clone()).collect();
    let unique_ids: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique_ids.len(), ids.len(), "no contact twice");
    assert_eq!(
        unique_ids.into_iter().cloned().collect::<Vec<_>>(),
        fx.contact_ids()
    );
    assert!(pages >= 5, "paged by 5: {pages}");
    assert!(contacts.iter().all(|r| r.updated_at.is_some()));
    assert!(
        contacts
            .iter()
            .any(|r| r.fields.keys().any(|k| k.starts_with("custom."))),
        "seeded custom values read by name"
    );

    let ids = fx.contact_ids();
    let (want_tasks, want_notes, want_appts) = {
        let s = fx.sb.state.store.read();
        let count = |f: &dyn Fn(&str) -> usize| -> usize { ids.iter().map(|c| f(c)).sum() };
        (
            count(&|c| s.tasks.get(c).map_or(0, Vec::len)),
            count(&|c| s.notes.get(c).map_or(0, Vec::len)),
            count(&|c| s.appointments.get(c).map_or(0, Vec::len)),
        )
    };
    for (kind, want) in [
        (EntityKind::Task, want_tasks),
        (EntityKind::Note, want_notes),
        (EntityKind::Appointment, want_appts),
    ] {
        let (records, _, _) = drain(&conn, kind, false, None).await;
        assert_eq!(records.len(), want, "{kind}");
        assert!(records
            .iter()
            .all(|r| r.kind == kind && r.parent_id.is_some()));
    }
    let refused = conn.list_all(EntityKind::Tag, None).await;
    assert!(matches!(refused, Err(ConnectorError::Unsupported(_))));
}

#[tokio::test]
async fn list_changed_cursor_round_trip() {
    let fx = Fx::start(12).await;
    let conn = fx.connector(|s| s.page_size = 5);
    let (first, cursor, pages) = drain(&conn, EntityKind::Contact, true, None).await;
    assert_eq!(first.len(), 12, "a first run reads everything");
    assert!(pages >= 3);
    let cursor = cursor.expect("a cursor to persist");
    let parsed: Value = serde_json::from_str(&cursor).expect("the cursor is JSON");
    assert!(parsed["since"].is_string(), "{parsed}");

    // A restarted connector with the persisted cursor: nothing new (the overlap re-reads the
    // margin without delivering it twice).
    let restarted = fx.connector(|s| s.page_size = 5);
    let (none, cursor, _) = drain(&restarted, EntityKind::Contact, true, Some(cursor)).await;
    assert!(none.is_empty(), "{none:?}");
    let cursor = cursor.expect("cursor");

    let updated_id = fx.contact_ids()[3].clone();
    let change = fields(json!({"city": "Lisbon"}));
    restarted
        .update(EntityKind::Contact, &updated_id, None, &change)
        .await
        .expect("update");
    let email = format!("{}@example.com", unique("new"));
    let created = restarted
        .create(
            EntityKind::Contact,
            None,
            &fields(json!({"email": email})),
            "k",
        )
        .await
        .expect("create");
    let (changed, cursor, _) = drain(&restarted, EntityKind::Contact, true, Some(cursor)).await;
    let ids: Vec<&str> = changed.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [updated_id.as_str(), created.id.as_str()],
        "oldest first"
    );
    assert_eq!(changed[0].fields["city"], "Lisbon");

    let (after, _, _) = drain(&restarted, EntityKind::Contact, true, cursor).await;
    assert!(after.is_empty(), "{after:?}");
}

#[tokio::test]
async fn cursors_and_kinds_without_changed_since() {
    let fx = Fx::start(3).await;
    let page = fx
        .conn
        .list_changed(EntityKind::Contact, Some("2000-01-01T00:00:00Z"))
        .await
        .expect("a bare RFC 3339 time is a cursor");
    assert_eq!(page.records.len(), 3);
    let bad = fx
        .conn
        .list_changed(EntityKind::Contact, Some("yesterday"))
        .await;
    assert!(matches!(bad, Err(ConnectorError::Rejected(_))), "{bad:?}");
    for kind in [EntityKind::Task, EntityKind::Note, EntityKind::Appointment] {
        let r = fx.conn.list_changed(kind, None).await;
        assert!(matches!(r, Err(ConnectorError::Unsupported(_))), "{kind}");
    }
}
