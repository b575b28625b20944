//! Cases of Insightly and SalesNexus (the same cases for both, one emulator each): `changed`
//! triggers by the scheduler's polls — the first poll only starts counting, the next finds
//! exactly the one change made since — and by each app's push (Insightly workflow posts of any
//! record, SalesNexus Stage Trigger posts naming a contact), verified and ingested as the
//! server does. Actions are in `polled_actions.rs`.

use catalog::Entry;
use serde_json::{json, Value};

use super::cases::CaseFn;
use super::polled_actions as act;
use super::{unique, World};
use crate::case;

/// Every case of `app`'s entries, by entry id.
pub fn cases(app: &str) -> Vec<(String, CaseFn)> {
    let mut v: Vec<(String, CaseFn)> = Vec::new();
    let kinds: &[&str] = match app {
        "insightly" => &["contact", "task", "note", "appointment", "business"],
        _ => &["contact", "task", "note", "appointment"],
    };
    for kind in kinds {
        v.push((format!("{app}.trigger.{kind}_changed"), case!(trigger)));
    }
    let mut actions: Vec<(&str, CaseFn)> = vec![
        ("upsert_contact", case!(act::upsert_contact)),
        ("upsert_task", case!(act::upsert_child)),
        ("upsert_note", case!(act::upsert_child)),
        ("upsert_appointment", case!(act::upsert_child)),
        ("update_contact", case!(act::update_contact)),
        ("update_task", case!(act::update_child)),
        ("update_note", case!(act::update_child)),
        ("update_appointment", case!(act::update_child)),
        ("create_tasks", case!(act::create_related)),
        ("create_notes", case!(act::create_related)),
        ("create_appointments", case!(act::create_related)),
        ("add_note", case!(act::add_note)),
        ("complete_task", case!(act::complete_task)),
        ("complete_task_by_title", case!(act::complete_task_by_title)),
        ("add_tags", case!(act::add_tags)),
        ("remove_tags", case!(act::remove_tags)),
        ("fetch_tasks", case!(act::fetch)),
        ("fetch_notes", case!(act::fetch)),
        ("fetch_appointments", case!(act::fetch)),
    ];
    if app == "insightly" {
        actions.push(("upsert_business", case!(act::upsert_business)));
        actions.push(("update_business", case!(act::update_business)));
    }
    v.extend(
        actions
            .into_iter()
            .map(|(k, c)| (format!("{app}.action.{k}"), c)),
    );
    v
}

/// The entry's name after `<app>.<type>.`.
pub fn name_of(e: &Entry) -> &str {
    e.id.rsplit('.').next().unwrap_or_default()
}

/// A new record of `kind` labelled `label`: (its id, its contact's id). A contact is its own
/// contact; an organisation has none, and its name is written with spaces around it.
async fn make(w: &World, app: &str, kind: &str, label: &str) -> (String, Option<String>) {
    match kind {
        "contact" => {
            let (c, _) = w.p_person(app, label, &[]).await;
            (c.clone(), Some(c))
        }
        "business" => {
            let body = json!({"ORGANISATION_NAME": format!("  {label}  ")});
            (w.ins_create("business", body).await, None)
        }
        _ => {
            let (c, _) = w.p_person(app, "Owner", &[]).await;
            (w.p_child(app, &c, kind, label).await, Some(c))
        }
    }
}

/// Whether the trigger's flow acted on the record: its contact has the snippet's tag, or the
/// organisation's name was tidied.
async fn acted(w: &World, app: &str, kind: &str, made: &(String, Option<String>)) -> bool {
    match &made.1 {
        Some(contact) => {
            let tag = match kind {
                "contact" => "seen-by-bridge".to_string(),
                _ => format!("{kind}-activity"),
            };
            w.p_tags(app, contact).await.contains(&tag)
        }
        None => {
            let org = w.p_item(app, "business", &made.0).await.expect("org");
            org.label == org.label.trim()
        }
    }
}

/// Whether a delivery's JSON names the record: Insightly posts the record under `entity`,
/// SalesNexus names a contact under `contact.contactId`.
fn names(body: &Value, app: &str, kind: &str, id: &str) -> bool {
    let v = match app {
        "insightly" => &body["entity"][super::insightly::id_field(kind)],
        _ => &body["contact"]["contactId"],
    };
    v.as_i64().is_some_and(|n| n.to_string() == id)
}

async fn trigger(w: &World, e: &Entry) {
    let app = e.app;
    let kind = name_of(e).trim_end_matches("_changed");
    let eng = w.engine(e);
    let before = make(w, app, kind, &unique("Before")).await;
    assert_eq!(
        eng.poll_once().await.expect("poll"),
        0,
        "the first poll only starts counting"
    );
    let after = make(w, app, kind, &unique("After")).await;
    assert_eq!(
        eng.poll_once().await.expect("poll"),
        1,
        "the next poll finds the one {kind} created since"
    );
    w.p_tick(app).await; // the flow's writes are a newer version
    w.run(&eng).await;
    assert!(
        acted(w, app, kind, &after).await,
        "the poll started the flow"
    );
    assert!(
        !acted(w, app, kind, &before).await,
        "a {kind} changed before the flow was first seen does not start it"
    );
    // A change of a record the first poll saw, made in a later second: Insightly stamps to the
    // second, and a change within the second of a version a poll saw looks like that version.
    w.p_tick(app).await;
    w.p_edit(app, kind, &before.0, &unique("Edited")).await;
    // The flow's own write is one more change where it wrote to a record of this kind.
    let own = usize::from(matches!(kind, "contact" | "business"));
    assert_eq!(
        eng.poll_once().await.expect("poll"),
        1 + own,
        "the next poll finds the edit (and the flow's own write)"
    );
    w.run(&eng).await;
    assert!(
        acted(w, app, kind, &before).await,
        "the edit started the flow"
    );
    // The push: a hint that starts the same flow before any poll.
    // Insightly workflows post any record; SalesNexus Stage Triggers name a contact.
    if !matches!((app, kind), ("insightly", _) | (_, "contact")) {
        return;
    }
    let hooked = make(w, app, kind, &unique("Hooked")).await;
    if app == "salesnexus" {
        w.sn_stage_trigger(&hooked.0).await;
    }
    let what = match app {
        "insightly" => "workflow post",
        _ => "Stage Trigger post",
    };
    let d = w
        .delivery(app, what, |b| names(b, app, kind, &hooked.0))
        .await;
    assert!(
        !acted(w, app, kind, &hooked).await,
        "nothing ran before the post"
    );
    assert!(
        w.ingest_delivery(&eng, app, &d).await >= 1,
        "the post ran the flow"
    );
    assert!(
        acted(w, app, kind, &hooked).await,
        "the {what} started the flow"
    );
}
