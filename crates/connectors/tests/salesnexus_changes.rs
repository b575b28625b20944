//! `list_changed` against the SalesNexus emulator, which has no "updated since" filter: a full
//! scan whose bounded cursor finds exactly the records changed since it (nothing twice, even
//! when changes share one second), survives a restart, copes with deletes shifting the pages
//! during a scan, and falls back to content hashes for records without `updatedAt`.

mod salesnexus_common;

use std::collections::BTreeSet;

use connectors::{Connector, EntityKind};
use reqwest::Method;
use salesnexus_common::{drain, fields, ids, unique, Fx};
use serde_json::{json, Value};

#[tokio::test]
async fn a_full_scan_finds_exactly_the_changed_records_and_nothing_twice() {
    let fx = Fx::start(250).await;
    let (first, cursor, pages) = drain(&fx.conn, EntityKind::Contact, true, None).await;
    assert_eq!(
        (first.len(), pages),
        (250, 3),
        "a first run delivers everything, 100 a page"
    );
    let cursor = cursor.expect("a cursor to persist");
    let parsed: Value = serde_json::from_str(&cursor).expect("the cursor is JSON");
    assert!(
        parsed["w"].is_i64() && parsed.get("run").is_none(),
        "{parsed}"
    );
    assert!(cursor.len() < 2_000, "bounded: {} bytes", cursor.len());

    // A restarted connector with the persisted cursor: nothing new.
    let restarted = fx.connector(|_| {});
    let (none, cursor, _) = drain(&restarted, EntityKind::Contact, true, Some(cursor)).await;
    assert!(none.is_empty(), "{:?}", ids(&none));

    // Changes made in the app, several within one second.
    let all = ids(&first);
    for id in [&all[3], &all[150], &all[249]] {
        fx.admin(
            Method::PUT,
            &format!("/contacts/{id}"),
            json!({"city": "Lisbon"}),
        )
        .await;
    }
    fx.admin(
        Method::PUT,
        &format!("/contacts/{}", all[7]),
        json!({"customFields": {"Tags": "vip, board"}}),
    )
    .await;
    fx.admin(
        Method::PUT,
        &format!("/contacts/{}", all[8]),
        json!({"city": fx.stored("contacts", &all[8]).await["city"]}),
    )
    .await;
    let made = fx
        .admin(
            Method::POST,
            "/contacts",
            json!({"firstName": "New", "email": format!("{}@example.com", unique("new"))}),
        )
        .await;
    let made = made["id"].as_i64().expect("id").to_string();
    fx.admin(
        Method::DELETE,
        &format!("/contacts/{}", all[20]),
        Value::Null,
    )
    .await;
    let (changed, cursor, _) = drain(&restarted, EntityKind::Contact, true, cursor).await;
    let mut want = vec![
        all[3].clone(),
        all[7].clone(),
        all[150].clone(),
        all[249].clone(),
        made.clone(),
    ];
    want.sort_by_key(|id| id.parse::<i64>().unwrap_or_default());
    assert_eq!(
        ids(&changed),
        want,
        "exactly the changed ones (a no-op edit is no change)"
    );
    let tagged = changed.iter().find(|r| r.id == all[7]).expect("tagged");
    assert_eq!(tagged.fields["tags"], json!(["vip", "board"]));
    // Deletes are invisible to a scan; the engine's reconcile finds them by id.
    let (after, cursor, _) = drain(&restarted, EntityKind::Contact, true, cursor).await;
    assert!(after.is_empty(), "nothing twice: {:?}", ids(&after));

    // Another change within the same second as the last ones is still seen.
    fx.admin(
        Method::PUT,
        &format!("/contacts/{}", all[3]),
        json!({"city": "Porto"}),
    )
    .await;
    let (again, cursor, _) = drain(&restarted, EntityKind::Contact, true, cursor).await;
    assert_eq!(ids(&again), vec![all[3].clone()]);
    assert_eq!(again[0].fields["city"], "Porto");
    let before = changed
        .iter()
        .find(|r| r.id == all[3])
        .and_then(|r| r.updated_at);
    assert_ne!(
        again[0].updated_at, before,
        "each version has its own stamp, even within a second"
    );
    let (nothing, _, _) = drain(&restarted, EntityKind::Contact, true, cursor).await;
    assert!(nothing.is_empty());
}

#[tokio::test]
async fn deletes_during_a_scan_shift_pages_without_losing_a_change() {
    let fx = Fx::start(40).await;
    let conn = fx.connector(|c| c.page_size = 10);
    let (first, cursor, _) = drain(&conn, EntityKind::Contact, true, None).await;
    let all = ids(&first);
    // A change right after a page boundary, made before the next run starts.
    fx.admin(
        Method::PUT,
        &format!("/contacts/{}", all[20]),
        json!({"city": "Quito"}),
    )
    .await;
    fx.admin(
        Method::PUT,
        &format!("/contacts/{}", all[21]),
        json!({"city": "Lima"}),
    )
    .await;
    let p1 = conn
        .list_changed(EntityKind::Contact, cursor.as_deref())
        .await
        .expect("page 1");
    let p2 = conn
        .list_changed(EntityKind::Contact, p1.next_cursor.as_deref())
        .await
        .expect("page 2");
    assert!(!p2.done);
    // Two contacts of the pages already read are deleted: everything after moves back by two.
    for id in [&all[2], &all[12]] {
        fx.admin(Method::DELETE, &format!("/contacts/{id}"), Value::Null)
            .await;
    }
    let (rest, _, _) = drain(&conn, EntityKind::Contact, true, p2.next_cursor).await;
    let mut got: Vec<String> = p1
        .records
        .iter()
        .chain(&p2.records)
        .chain(&rest)
        .map(|r| r.id.clone())
        .collect();
    let n = got.len();
    got.dedup();
    assert_eq!(n, got.len(), "nothing twice");
    let got: BTreeSet<String> = got.into_iter().collect();
    assert_eq!(
        got,
        BTreeSet::from([all[20].clone(), all[21].clone()]),
        "nothing skipped"
    );
}

#[tokio::test]
async fn tasks_and_meetings_are_separate_feeds() {
    let fx = Fx::start(20).await;
    let (tasks, t_cursor, _) = drain(&fx.conn, EntityKind::Task, true, None).await;
    let (meetings, m_cursor, _) = drain(&fx.conn, EntityKind::Appointment, true, None).await;
    assert!(!tasks.is_empty() && !meetings.is_empty());
    assert!(tasks.iter().all(|t| t.kind == EntityKind::Task));
    assert!(meetings.iter().all(|m| m.kind == EntityKind::Appointment));
    let meeting = meetings[0].clone();
    fx.admin(
        Method::PUT,
        &format!("/tasks/{}", meeting.id),
        json!({"details": "agenda attached"}),
    )
    .await;
    let contact = meeting.parent_id.clone().expect("a contact");
    let task = fx
        .conn
        .create(
            EntityKind::Task,
            Some(&contact),
            &fields(json!({"title": "Call back"})),
            "k",
        )
        .await
        .expect("task");
    let (t, _, _) = drain(&fx.conn, EntityKind::Task, true, t_cursor).await;
    let (m, _, _) = drain(&fx.conn, EntityKind::Appointment, true, m_cursor).await;
    assert_eq!(ids(&t), [task.id]);
    assert_eq!(ids(&m), [meeting.id]);
    assert_eq!(m[0].fields["notes"], "agenda attached");
}

#[tokio::test]
async fn records_without_updated_at_are_compared_by_content() {
    let fx = Fx::start_with(60, |c| c.activity_updated_at = false).await;
    let (notes, cursor, pages) = drain(&fx.conn, EntityKind::Note, true, None).await;
    assert!(notes.len() > 20);
    let raw = fx.stored("notes", &notes[5].id).await;
    assert!(raw.get("updatedAt").is_none(), "{raw}");
    let first_scan = fx.calls("list-notes").await.len();
    assert_eq!(first_scan, pages, "a first run is one pass");
    let cursor = cursor.expect("cursor");
    assert!(
        cursor.len() < 6_000,
        "256 digests, not one per note: {}",
        cursor.len()
    );
    let (none, cursor, _) = drain(&fx.conn, EntityKind::Note, true, Some(cursor)).await;
    assert!(none.is_empty(), "{:?}", ids(&none));

    let target = notes[5].id.clone();
    fx.admin(
        Method::PUT,
        &format!("/notes/{target}"),
        json!({"noteText": "edited in the app"}),
    )
    .await;
    let (changed, cursor, _) = drain(&fx.conn, EntityKind::Note, true, cursor).await;
    let got = ids(&changed);
    assert!(
        got.contains(&target),
        "the edited note is delivered: {got:?}"
    );
    assert!(got.len() <= 3, "only its bucket's notes: {got:?}");
    let stamp = |rs: &[connectors::Record]| {
        rs.iter()
            .find(|n| n.id == target)
            .and_then(|n| n.updated_at)
    };
    assert!(
        stamp(&changed).is_some() && stamp(&changed) != stamp(&notes),
        "a new version stamp"
    );
    assert_eq!(
        changed
            .iter()
            .find(|n| n.id == target)
            .map(|n| n.fields["body"].clone()),
        Some(json!("edited in the app"))
    );
    let (none, _, _) = drain(&fx.conn, EntityKind::Note, true, cursor).await;
    assert!(none.is_empty(), "{:?}", ids(&none));
}

/// Waits (polling, at most 3 s) until the wall clock shows a later second than now: the API's
/// `updatedAt` has second resolution, and this test needs changes in distinct seconds.
async fn next_second() {
    let start = chrono::Utc::now().timestamp();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while chrono::Utc::now().timestamp() == start {
        assert!(
            std::time::Instant::now() < deadline,
            "the clock does not move"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_change_on_a_page_already_read_is_found_by_the_next_run() {
    let fx = Fx::start(40).await;
    let conn = fx.connector(|c| c.page_size = 10);
    let (first, cursor, _) = drain(&conn, EntityKind::Contact, true, None).await;
    let all = ids(&first);
    let p1 = conn
        .list_changed(EntityKind::Contact, cursor.as_deref())
        .await
        .expect("page 1");
    assert!(p1.records.is_empty());
    // During the scan: a contact of page 1 (already read) changes, then, a second later, one of
    // page 4 (not read yet). The run sees only the second; the next run must see the first.
    next_second().await;
    fx.admin(
        Method::PUT,
        &format!("/contacts/{}", all[1]),
        json!({"city": "Early"}),
    )
    .await;
    next_second().await;
    fx.admin(
        Method::PUT,
        &format!("/contacts/{}", all[35]),
        json!({"city": "Late"}),
    )
    .await;
    let (rest, cursor, _) = drain(&conn, EntityKind::Contact, true, p1.next_cursor).await;
    assert_eq!(ids(&rest), vec![all[35].clone()]);
    let (next, cursor, _) = drain(&conn, EntityKind::Contact, true, cursor).await;
    assert_eq!(
        ids(&next),
        vec![all[1].clone()],
        "the watermark stayed at the scan's start"
    );
    let (none, _, _) = drain(&conn, EntityKind::Contact, true, cursor).await;
    assert!(none.is_empty(), "{:?}", ids(&none));
}
