//! Listing against the REST emulator over real HTTP: `list_all` pages through every live record,
//! `list_changed`'s JSON cursor survives a restart and yields only later changes, tombstones
//! included, and a non-default config file (another profile, header auth, small pages, remapped
//! fields, a kind removed) works against the emulator.

mod your_app_common;

use std::collections::BTreeSet;

use connectors::your_app::{YourAppConfig, YourAppConnector};
use connectors::{Connector, EntityKind, Record};
use ghl_sandbox::rest::Profile;
use reqwest::Method;
use serde_json::{json, Value};
use your_app_common::{fields, unique, Fx};

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
        if page.done {
            return (all, page.next_cursor, pages);
        }
        cursor = page.next_cursor;
        assert!(pages < 1000, "listing does not end");
    }
}

#[tokio::test]
async fn list_all_pages_through_every_live_record() {
    let fx = Fx::start(17).await;
    let conn = fx.connector(|c| c.paging.page_size = 4);
    let counts = fx.counts().await;
    for (kind, plural) in [
        (EntityKind::Contact, "contacts"),
        (EntityKind::Note, "notes"),
        (EntityKind::Task, "tasks"),
        (EntityKind::Appointment, "appointments"),
    ] {
        let (records, _, pages) = drain(&conn, kind, false, None).await;
        let ids: BTreeSet<&str> = records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), records.len(), "{kind}: no record twice");
        assert_eq!(json!(records.len()), counts[plural]["live"], "{kind}");
        assert!(records.iter().all(|r| r.kind == kind && !r.deleted));
        assert!(kind == EntityKind::Contact || records.iter().all(|r| r.parent_id.is_some()));
        if kind == EntityKind::Contact {
            assert!(pages >= 5, "paged by 4: {pages}");
        }
    }
}

#[tokio::test]
async fn list_changed_cursor_round_trip_with_tombstones() {
    let fx = Fx::start(9).await;
    let conn = fx.connector(|c| c.paging.page_size = 4);
    let (first, cursor, _) = drain(&conn, EntityKind::Contact, true, None).await;
    assert_eq!(first.len(), 9, "a first run reads everything");
    let cursor = cursor.expect("a cursor to persist");
    let parsed: Value = serde_json::from_str(&cursor).expect("the cursor is JSON");
    assert!(parsed["from"].is_string(), "{parsed}");

    // A restarted connector with the persisted cursor: nothing new.
    let restarted = fx.connector(|c| c.paging.page_size = 4);
    let (none, cursor, _) = drain(&restarted, EntityKind::Contact, true, Some(cursor)).await;
    assert!(none.is_empty(), "{none:?}");
    let cursor = cursor.expect("cursor");
    let (_, note_cursor, _) = drain(&restarted, EntityKind::Note, true, None).await;

    // Changes made in the app, not through the connector.
    let ids: Vec<String> = first.iter().map(|r| r.id.clone()).collect();
    fx.admin(
        Method::PATCH,
        &format!("/contacts/{}", ids[2]),
        json!({"city": "Lisbon"}),
    )
    .await;
    fx.admin(Method::DELETE, &format!("/contacts/{}", ids[5]), json!({}))
        .await;
    let email = format!("{}@example.com", unique("new"));
    let created = fx
        .admin(Method::POST, "/contacts", json!({"email": email}))
        .await;
    let new_id = created["id"].as_str().expect("id").to_string();
    fx.admin(
        Method::POST,
        &format!("/contacts/{new_id}/notes"),
        json!({"body": "hello"}),
    )
    .await;

    let (changed, cursor, _) = drain(&restarted, EntityKind::Contact, true, Some(cursor)).await;
    let got: Vec<(&str, bool)> = changed.iter().map(|r| (r.id.as_str(), r.deleted)).collect();
    assert_eq!(
        got,
        [
            (ids[2].as_str(), false),
            (ids[5].as_str(), true),
            (new_id.as_str(), false)
        ],
        "oldest change first, the delete as a tombstone"
    );
    assert_eq!(changed[0].fields["city"], "Lisbon");
    let (after, _, _) = drain(&restarted, EntityKind::Contact, true, cursor).await;
    assert!(after.is_empty(), "{after:?}");

    // Deleting a contact tombstones its notes too; the note feed shows both kinds of change.
    let (notes, _, _) = drain(&restarted, EntityKind::Note, true, note_cursor).await;
    assert!(notes
        .iter()
        .any(|n| n.parent_id.as_deref() == Some(new_id.as_str()) && !n.deleted));
    let deleted_parent = ids[5].as_str();
    assert!(notes
        .iter()
        .filter(|n| n.parent_id.as_deref() == Some(deleted_parent))
        .all(|n| n.deleted));
}

const INVESTNEXT_FILE: &str = r#"
# InvestNext as the emulator presents it, described differently from the defaults.
profile: investnext
base_url: "{base}"
auth:
  style: header
  name: Authorization
  prefix: "Bearer "
  secret: "{key}"
paging:
  page_size: 2
query:
  overlap_secs: 5
kinds:
  appointment: null          # this app has no appointments
  contact:
    fields:
      website: custom_fields.website    # a field the contract lacks, kept in a custom field
      company_name: null                # not synced
      custom.*: null                    # custom fields not synced as such
      investor_type: custom_fields.investor_type
"#;

#[tokio::test]
async fn a_non_default_config_file_works_against_the_emulator() {
    let fx = Fx::start_with(5, |c| c.profile = Profile::InvestNext).await;
    let text = INVESTNEXT_FILE
        .replace("{base}", &fx.sb.api_url())
        .replace("{key}", &fx.sb.api_key());
    let conn = YourAppConnector::new(YourAppConfig::from_yaml(&text).expect("file reads"))
        .expect("connector builds");
    assert_eq!(conn.app(), "investnext");
    assert!(!conn.capabilities().kinds.contains(&EntityKind::Appointment));

    let (all, _, pages) = drain(&conn, EntityKind::Contact, false, None).await;
    assert_eq!((all.len(), pages), (5, 3));
    assert!(
        all.iter().all(|r| r.fields.contains_key("investor_type")),
        "{all:?}"
    );
    assert!(all
        .iter()
        .all(|r| !r.fields.keys().any(|k| k.starts_with("custom."))));

    let email = format!("{}@example.com", unique("inv"));
    let input = fields(
        json!({"first_name": "Ivy", "email": email, "website": "https://ivy.example",
        "investor_type": "Trust", "company_name": "not sent"}),
    );
    let c = conn
        .create(EntityKind::Contact, None, &input, "inv-1")
        .await
        .expect("create");
    let stored = fx.stored("contacts", &c.id).await;
    assert_eq!(stored["custom_fields"]["website"], "https://ivy.example");
    assert_eq!(stored["custom_fields"]["investor_type"], "Trust");
    assert_eq!(stored["company_name"], Value::Null);
    assert_eq!(c.fields["website"], "https://ivy.example");

    let (changed, _, _) = drain(&conn, EntityKind::Contact, true, None).await;
    assert_eq!(changed.len(), 6);
    let refused = conn.list_all(EntityKind::Appointment, None).await;
    assert!(refused.is_err());
}
