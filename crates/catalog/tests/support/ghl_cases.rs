//! Cases of GHL's triggers (a real signed webhook from the sandbox, verified by the connector and
//! ingested as the server would) and of its record actions (manual runs of the snippet's flow).

use catalog::Entry;
use connectors::EntityKind::{Contact, Note, Task};
use serde_json::json;

use super::cases::CaseFn;
use super::{obj, rec, World};
use crate::case;

pub fn cases() -> Vec<(String, CaseFn)> {
    let t: Vec<(&str, CaseFn)> = vec![
        ("contact_created", case!(contact_created)),
        ("contact_updated", case!(contact_updated)),
        ("contact_deleted", case!(contact_deleted)),
        ("contact_changed", case!(contact_changed)),
        ("contact_tag_update", case!(contact_tag_update)),
        ("contact_dnd_update", case!(contact_dnd_update)),
        ("task_created", case!(task_created)),
        ("task_completed", case!(task_completed)),
        ("task_deleted", case!(task_deleted)),
        ("task_changed", case!(task_changed)),
        ("note_created", case!(note_created)),
        ("note_updated", case!(note_updated)),
        ("note_deleted", case!(note_deleted)),
        ("note_changed", case!(note_changed)),
        ("appointment_created", case!(appointment_created)),
        ("appointment_updated", case!(appointment_updated)),
        ("appointment_deleted", case!(appointment_deleted)),
        ("appointment_changed", case!(appointment_changed)),
    ];
    let a: Vec<(&str, CaseFn)> = vec![
        ("upsert_contact", case!(upsert_contact)),
        ("upsert_task", case!(upsert_task)),
        ("upsert_note", case!(upsert_note)),
        ("update_contact", case!(update_contact)),
        ("update_task", case!(update_task)),
        ("update_note", case!(update_note)),
        ("create_tasks", case!(create_tasks)),
        ("create_notes", case!(create_notes)),
        ("add_note", case!(add_note)),
        ("complete_task", case!(complete_task)),
        ("complete_task_by_title", case!(complete_task_by_title)),
        ("add_tags", case!(add_tags)),
        ("remove_tags", case!(remove_tags)),
        ("fetch_tasks", case!(fetch_tasks)),
        ("fetch_notes", case!(fetch_notes)),
        ("fetch_appointments", case!(fetch_appointments)),
    ];
    t.into_iter()
        .map(|(k, c)| (format!("ghl.trigger.{k}"), c))
        .chain(a.into_iter().map(|(k, c)| (format!("ghl.action.{k}"), c)))
        .collect()
}

fn has(list: &[String], want: &str) -> bool {
    list.iter().any(|t| t == want)
}

// ----- triggers -----------------------------------------------------------------------------

async fn contact_created(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (id, _) = w.ghl_person("Ada");
    assert_eq!(w.on_webhook(&eng, "ghl", "ContactCreate", &id).await, 1);
    assert!(has(&w.ghl_tags(&id), "welcome"), "{:?}", w.ghl_tags(&id));
}

async fn contact_updated(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (id, _) = w.ghl_person("Bo");
    w.ghl_update(&id, json!({"city": "Oslo"}));
    w.on_webhook(&eng, "ghl", "ContactUpdate", &id).await;
    assert!(has(&w.ghl_tags(&id), "recently-updated"));
}

async fn contact_deleted(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (id, _) = w.ghl_person("Cy");
    let (crm, _) = w.person("your_app", "Cy").await;
    w.link(Contact, ("ghl", &id), ("your_app", &crm)).await;
    w.ghl.state.delete_contact(&id).expect("delete");
    w.on_webhook(&eng, "ghl", "ContactDelete", &id).await;
    assert!(has(&w.tags("your_app", &crm).await, "deleted-in-ghl"));
}

async fn contact_changed(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (id, _) = w.ghl_person("Di");
    w.on_webhook(&eng, "ghl", "ContactCreate", &id).await;
    assert!(has(&w.ghl_tags(&id), "seen-by-bridge"), "by webhook");
    // By poll: the first poll starts counting; a contact changed after it starts the flow.
    assert_eq!(eng.poll_once().await.expect("poll"), 0, "starts counting");
    let (later, _) = w.ghl_person("Ed");
    assert!(eng.poll_once().await.expect("poll") >= 1);
    w.run(&eng).await;
    assert!(has(&w.ghl_tags(&later), "seen-by-bridge"), "by poll");
}

async fn contact_tag_update(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (id, _) = w.ghl_person("Fay");
    w.ghl
        .state
        .change_tags(&id, &[json!("vip")], true)
        .expect("tag");
    w.on_webhook(&eng, "ghl", "ContactTagUpdate", &id).await;
    assert!(
        has(&w.ghl_notes(&id), "Tags now: vip"),
        "{:?}",
        w.ghl_notes(&id)
    );
}

async fn contact_dnd_update(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (id, _) = w.ghl_person("Gus");
    w.ghl_update(&id, json!({"dnd": true}));
    w.on_webhook(&eng, "ghl", "ContactDndUpdate", &id).await;
    assert!(has(&w.ghl_tags(&id), "do-not-contact"));
}

async fn task_created(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (c, _) = w.ghl_person("Hal");
    let t = w.ghl_task(&c, "Call Hal");
    w.on_webhook(&eng, "ghl", "TaskCreate", &t).await;
    assert!(has(&w.ghl_notes(&c), "New task: Call Hal"));
}

async fn task_completed(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (c, _) = w.ghl_person("Ida");
    let t = w.ghl_task(&c, "Send pack");
    w.ghl
        .state
        .update_task(&c, &t, &obj(json!({"completed": true})))
        .expect("complete");
    w.on_webhook(&eng, "ghl", "TaskComplete", &t).await;
    assert!(has(&w.ghl_notes(&c), "Done: Send pack"));
}

async fn task_deleted(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (c, _) = w.ghl_person("Jo");
    let t = w.ghl_task(&c, "Old");
    w.ghl.state.delete_task(&c, &t).expect("delete");
    w.on_webhook(&eng, "ghl", "TaskDelete", &t).await;
    assert!(has(&w.ghl_notes(&c), &format!("Task {t} was deleted")));
}

async fn task_changed(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (c, _) = w.ghl_person("Kai");
    let t = w.ghl_task(&c, "Any");
    w.on_webhook(&eng, "ghl", "TaskCreate", &t).await;
    assert!(has(&w.ghl_tags(&c), "task-activity"));
}

async fn note_tag(w: &World, e: &Entry, event: &str, tag: &str) {
    let eng = w.engine(e);
    let (c, _) = w.ghl_person("Lu");
    let n = w.ghl_note(&c, "first");
    match event {
        "NoteUpdate" => {
            w.ghl
                .state
                .update_note(&c, &n, &obj(json!({"body": "second"})))
                .expect("edit");
        }
        "NoteDelete" => {
            w.ghl.state.delete_note(&c, &n).expect("delete");
        }
        _ => {}
    }
    w.on_webhook(&eng, "ghl", event, &n).await;
    assert!(has(&w.ghl_tags(&c), tag), "{event}: {:?}", w.ghl_tags(&c));
}

async fn note_created(w: &World, e: &Entry) {
    note_tag(w, e, "NoteCreate", "has-notes").await;
}
async fn note_updated(w: &World, e: &Entry) {
    note_tag(w, e, "NoteUpdate", "note-edited").await;
}
async fn note_deleted(w: &World, e: &Entry) {
    note_tag(w, e, "NoteDelete", "note-removed").await;
}
async fn note_changed(w: &World, e: &Entry) {
    note_tag(w, e, "NoteCreate", "note-activity").await;
}

async fn appointment_created(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (c, _) = w.ghl_person("Mo");
    let a = w.ghl_appointment(&c, "Site visit");
    w.on_webhook(&eng, "ghl", "AppointmentCreate", &a).await;
    let titles: Vec<String> = w.ghl_tasks(&c).into_iter().map(|t| t.title).collect();
    assert!(has(&titles, "Prepare for Site visit"), "{titles:?}");
}

async fn appointment_updated(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (c, _) = w.ghl_person("Ned");
    let a = w.ghl_appointment(&c, "Visit");
    w.ghl
        .state
        .update_appointment(&a, &obj(json!({"title": "Visit 2"})))
        .expect("edit");
    w.on_webhook(&eng, "ghl", "AppointmentUpdate", &a).await;
    let notes = w.ghl_notes(&c);
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("Appointment Visit 2 is now ")),
        "{notes:?}"
    );
}

async fn appointment_tag(w: &World, e: &Entry, delete: bool, tag: &str) {
    let eng = w.engine(e);
    let (c, _) = w.ghl_person("Oz");
    let a = w.ghl_appointment(&c, "Call");
    let event = if delete {
        w.ghl.state.delete_appointment(&a).expect("delete");
        "AppointmentDelete"
    } else {
        "AppointmentCreate"
    };
    w.on_webhook(&eng, "ghl", event, &a).await;
    assert!(has(&w.ghl_tags(&c), tag));
}

async fn appointment_deleted(w: &World, e: &Entry) {
    appointment_tag(w, e, true, "appointment-cancelled").await;
}
async fn appointment_changed(w: &World, e: &Entry) {
    appointment_tag(w, e, false, "appointment-activity").await;
}

// ----- actions ------------------------------------------------------------------------------

async fn upsert_contact(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (id, email) = w.person("your_app", "Pia").await;
    w.manual(&eng, rec("your_app", Contact, &id, None)).await;
    w.manual(&eng, rec("your_app", Contact, &id, None)).await;
    let found = w
        .ghl
        .state
        .store
        .read()
        .contacts_with_email(&w.ghl.location_id(), &email);
    assert_eq!(found.len(), 1, "one GHL contact for {email}");
}

/// A Your App contact linked to a GHL contact: (your_app id, ghl id).
async fn linked_pair(w: &World, first: &str) -> (String, String) {
    let (crm, _) = w.person("your_app", first).await;
    let (ghl, _) = w.ghl_person(first);
    w.link(Contact, ("your_app", &crm), ("ghl", &ghl)).await;
    (crm, ghl)
}

async fn upsert_task(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (crm, ghl) = linked_pair(w, "Quin").await;
    let t = w
        .child(
            "your_app",
            &crm,
            "tasks",
            json!({"title": "Call back", "due_at": "2030-02-01T09:00:00Z"}),
        )
        .await;
    w.manual(&eng, rec("your_app", Task, &t, Some(&crm))).await;
    w.manual(&eng, rec("your_app", Task, &t, Some(&crm))).await;
    let titles: Vec<String> = w.ghl_tasks(&ghl).into_iter().map(|t| t.title).collect();
    assert_eq!(titles, ["Call back"]);
}

async fn upsert_note(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (crm, ghl) = linked_pair(w, "Rae").await;
    let n = w
        .child(
            "your_app",
            &crm,
            "notes",
            json!({"body": "Met at the fair"}),
        )
        .await;
    w.manual(&eng, rec("your_app", Note, &n, Some(&crm))).await;
    assert_eq!(w.ghl_notes(&ghl), ["Met at the fair"]);
}

async fn update_contact(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (id, _) = w.ghl_person("Sol");
    w.manual(&eng, rec("ghl", Contact, &id, None)).await;
    let c = w.ghl_get(&id).expect("contact");
    assert_eq!(c.website.as_deref(), Some("https://example.com/welcome"));
    assert_eq!(c.source.as_deref(), Some("ghl-bridge"));
}

async fn update_task(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (c, _) = w.ghl_person("Tia");
    let t = w.ghl_task(&c, "Kickoff");
    w.manual(&eng, rec("ghl", Task, &t, Some(&c))).await;
    assert_eq!(w.ghl_tasks(&c)[0].body.as_deref(), Some("Agenda: Kickoff"));
}

async fn update_note(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (c, _) = w.ghl_person("Uma");
    let n = w.ghl_note(&c, "Raw");
    w.manual(&eng, rec("ghl", Note, &n, Some(&c))).await;
    let note = w.ghl.state.notes_of(&c).remove(0);
    assert_eq!(note.title.as_deref(), Some("Reviewed"));
}

async fn create_tasks(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (c, _) = w.ghl_person("Val");
    w.manual(&eng, rec("ghl", Contact, &c, None)).await;
    w.manual(&eng, rec("ghl", Contact, &c, None)).await;
    let mut titles: Vec<String> = w.ghl_tasks(&c).into_iter().map(|t| t.title).collect();
    titles.sort();
    assert_eq!(
        titles,
        ["Send the onboarding pack", "Welcome call with Val"],
        "once per contact"
    );
}

async fn create_notes(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (c, _) = w.ghl_person("Wes");
    w.manual(&eng, rec("ghl", Contact, &c, None)).await;
    w.manual(&eng, rec("ghl", Contact, &c, None)).await;
    assert_eq!(w.ghl_notes(&c), ["Onboarding checklist for Wes"]);
}

async fn add_note(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (c, _) = w.ghl_person("Xia");
    w.manual(&eng, rec("ghl", Contact, &c, None)).await;
    assert_eq!(w.ghl_notes(&c), ["Updated by ghl-bridge: Xia Tester"]);
}

async fn complete_task(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (c, _) = w.ghl_person("Yan");
    let t = w.ghl_task(&c, "[auto-close] FYI");
    let other = w.ghl_task(&c, "Real work");
    w.manual(&eng, rec("ghl", Task, &t, Some(&c))).await;
    let done = |id: &str| {
        w.ghl_tasks(&c)
            .into_iter()
            .find(|x| x.id == id)
            .map(|x| x.completed)
    };
    assert_eq!((done(&t), done(&other)), (Some(true), Some(false)));
}

async fn complete_task_by_title(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let c = w.ghl_contact(json!({"firstName": "Zed", "email": super::unique("zed") + "@example.com", "tags": ["client"]}));
    let t = w.ghl_task(&c, "Qualify lead");
    w.manual(&eng, rec("ghl", Contact, &c, None)).await;
    assert!(w.ghl_tasks(&c).iter().any(|x| x.id == t && x.completed));
}

async fn add_tags(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let c = w.ghl_contact(json!({"firstName": "Ari", "email": super::unique("ari") + "@example.com", "source": "website"}));
    w.manual(&eng, rec("ghl", Contact, &c, None)).await;
    let tags = w.ghl_tags(&c);
    assert!(has(&tags, "lead") && has(&tags, "from-website"), "{tags:?}");
}

async fn remove_tags(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let c = w.ghl_contact(json!({"firstName": "Bea", "email": super::unique("bea") + "@example.com", "tags": ["client", "lead"]}));
    w.manual(&eng, rec("ghl", Contact, &c, None)).await;
    assert_eq!(w.ghl_tags(&c), ["client"]);
}

async fn fetch_tasks(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (c, _) = w.ghl_person("Cam");
    w.ghl_task(&c, "Alpha");
    let done = w.ghl_task(&c, "Beta");
    w.ghl_task(&c, "Gamma");
    w.ghl
        .state
        .update_task(&c, &done, &obj(json!({"completed": true})))
        .expect("complete");
    w.manual(&eng, rec("ghl", Contact, &c, None)).await;
    assert_eq!(w.ghl_notes(&c), ["Open tasks: Alpha, Gamma"]);
}

async fn fetch_notes(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (c, _) = w.ghl_person("Dev");
    w.ghl_note(&c, "one");
    w.ghl_note(&c, "two");
    w.manual(&eng, rec("ghl", Contact, &c, None)).await;
    assert!(has(&w.ghl_tags(&c), "notes-2"), "{:?}", w.ghl_tags(&c));
}

async fn fetch_appointments(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (c, _) = w.ghl_person("Eve");
    w.ghl_appointment(&c, "Demo");
    w.manual(&eng, rec("ghl", Contact, &c, None)).await;
    assert_eq!(w.ghl_notes(&c), ["Appointments: Demo"]);
}
