//! Cases of the REST apps (Your App, InvestNext, Invoco: one emulator per profile): triggers by
//! the app's real signed webhooks, actions by manual runs, effects read back through the app's
//! API. The same cases run for each app.

use catalog::Entry;
use connectors::EntityKind::{Appointment, Contact, Note, Task};
use serde_json::{json, Value};

use super::cases::CaseFn;
use super::{rec, World};
use crate::case;

pub fn cases(app: &str) -> Vec<(String, CaseFn)> {
    let mut v: Vec<(String, CaseFn)> = Vec::new();
    for kind in ["contact", "task", "note", "appointment"] {
        for event in ["created", "updated", "deleted", "changed"] {
            v.push((format!("{app}.trigger.{kind}_{event}"), case!(trigger)));
        }
    }
    let actions: Vec<(&str, CaseFn)> = vec![
        ("upsert_contact", case!(upsert_contact)),
        ("upsert_task", case!(upsert_child)),
        ("upsert_note", case!(upsert_child)),
        ("upsert_appointment", case!(upsert_child)),
        ("update_contact", case!(update_contact)),
        ("update_task", case!(update_child)),
        ("update_note", case!(update_child)),
        ("update_appointment", case!(update_child)),
        ("create_tasks", case!(create_related)),
        ("create_notes", case!(create_related)),
        ("create_appointments", case!(create_related)),
        ("add_note", case!(add_note)),
        ("complete_task", case!(complete_task)),
        ("complete_task_by_title", case!(complete_task_by_title)),
        ("add_tags", case!(add_tags)),
        ("remove_tags", case!(remove_tags)),
        ("fetch_tasks", case!(fetch)),
        ("fetch_notes", case!(fetch)),
        ("fetch_appointments", case!(fetch)),
        ("get-contact", case!(get_contact)),
        ("delete-contact", case!(delete_contact)),
        ("delete-task", case!(delete_child)),
        ("delete-note", case!(delete_child)),
        ("delete-appointment", case!(delete_child)),
    ];
    v.extend(
        actions
            .into_iter()
            .map(|(k, c)| (format!("{app}.action.{k}"), c)),
    );
    v
}

/// `<app>.<type>.<name>` → (app, name).
fn parts(e: &Entry) -> (&'static str, &str) {
    let name = e.id.rsplit('.').next().unwrap_or_default();
    (e.app, name)
}

/// A child body for `plural`.
fn child_body(plural: &str, label: &str) -> Value {
    match plural {
        "tasks" => json!({"title": label, "due_at": "2030-03-01T09:00:00Z"}),
        "notes" => json!({"body": label}),
        _ => {
            json!({"title": label, "start_at": "2030-03-02T10:00:00Z", "end_at": "2030-03-02T11:00:00Z"})
        }
    }
}

fn kind_of(name: &str) -> (connectors::EntityKind, &'static str) {
    if name.contains("task") {
        (Task, "tasks")
    } else if name.contains("note") {
        (Note, "notes")
    } else if name.contains("appointment") {
        (Appointment, "appointments")
    } else {
        (Contact, "contacts")
    }
}

async fn trigger(w: &World, e: &Entry) {
    let (app, name) = parts(e);
    let (kind_name, event) = name.split_once('_').expect("kind_event");
    let eng = w.engine(e);
    let (c, _) = w.person(app, "Tig").await;
    if kind_name == "contact" {
        match event {
            "created" | "changed" => {
                w.on_webhook(&eng, app, "contact.created", &c).await;
            }
            "updated" => {
                w.patch(app, &format!("/contacts/{c}"), json!({"city": "Rome"}))
                    .await;
                w.on_webhook(&eng, app, "contact.updated", &c).await;
            }
            _ => {
                let (g, _) = w.ghl_person("Tig");
                w.link(Contact, (app, &c), ("ghl", &g)).await;
                w.api(
                    app,
                    reqwest::Method::DELETE,
                    &format!("/contacts/{c}"),
                    Value::Null,
                )
                .await;
                w.on_webhook(&eng, app, "contact.deleted", &c).await;
                let want = format!("deleted-in-{app}");
                assert!(w.ghl_tags(&g).contains(&want), "{:?}", w.ghl_tags(&g));
                return;
            }
        }
        let tag = match event {
            "changed" => "seen-by-bridge".to_string(),
            _ => format!("contact-{event}"),
        };
        assert!(w.tags(app, &c).await.contains(&tag), "{tag}");
        if event == "changed" {
            // By poll: the first poll starts counting; a contact created after it starts the flow.
            assert_eq!(eng.poll_once().await.expect("poll"), 0, "starts counting");
            let (later, _) = w.person(app, "Late").await;
            assert!(eng.poll_once().await.expect("poll") >= 1);
            w.run(&eng).await;
            assert!(w.tags(app, &later).await.contains(&tag), "by poll");
        }
        return;
    }
    let (_, plural) = kind_of(kind_name);
    let id = w.child(app, &c, plural, child_body(plural, "Thing")).await;
    let path = format!("/{plural}/{id}");
    let wire = match event {
        "updated" => {
            let change = match plural {
                "notes" => json!({"body": "Thing 2"}),
                _ => json!({"title": "Thing 2"}),
            };
            w.patch(app, &path, change).await;
            "updated"
        }
        "deleted" => {
            w.api(app, reqwest::Method::DELETE, &path, Value::Null)
                .await;
            "deleted"
        }
        _ => "created",
    };
    w.on_webhook(&eng, app, &format!("{kind_name}.{wire}"), &id)
        .await;
    let tag = match event {
        "changed" => format!("{kind_name}-activity"),
        _ => format!("{kind_name}-{event}"),
    };
    assert!(
        w.tags(app, &c).await.contains(&tag),
        "{tag}: {:?}",
        w.tags(app, &c).await
    );
}

async fn upsert_contact(w: &World, e: &Entry) {
    let app = e.app;
    let eng = w.engine(e);
    let (g, email) = w.ghl_person("Ulla");
    w.manual(&eng, rec("ghl", Contact, &g, None)).await;
    w.manual(&eng, rec("ghl", Contact, &g, None)).await;
    let found = w.list(app, &format!("/contacts?email={email}")).await;
    assert_eq!(found.len(), 1, "one {app} contact for {email}");
    assert_eq!(found[0]["first_name"], "Ulla");
}

async fn upsert_child(w: &World, e: &Entry) {
    let (app, name) = parts(e);
    let (kind, plural) = kind_of(name);
    let eng = w.engine(e);
    let (c, _) = w.person(app, "Vic").await;
    let (g, _) = w.ghl_person("Vic");
    w.link(Contact, (app, &c), ("ghl", &g)).await;
    let id = match kind {
        Task => w.ghl_task(&g, "Ship it"),
        Note => w.ghl_note(&g, "Ship it"),
        _ => w.ghl_appointment(&g, "Ship it"),
    };
    w.manual(&eng, rec("ghl", kind, &id, Some(&g))).await;
    w.manual(&eng, rec("ghl", kind, &id, Some(&g))).await;
    let made = w.list(app, &format!("/contacts/{c}/{plural}")).await;
    assert_eq!(made.len(), 1, "one {plural}: {made:?}");
    let label = if kind == Note {
        &made[0]["body"]
    } else {
        &made[0]["title"]
    };
    assert_eq!(label, "Ship it");
}

async fn update_contact(w: &World, e: &Entry) {
    let app = e.app;
    let eng = w.engine(e);
    let (c, _) = w.person(app, "Wim").await;
    w.manual(&eng, rec(app, Contact, &c, None)).await;
    let got = w.get(app, &format!("/contacts/{c}")).await;
    assert_eq!(got["company_name"], "Wim's company");
}

async fn update_child(w: &World, e: &Entry) {
    let (app, name) = parts(e);
    let (kind, plural) = kind_of(name);
    let eng = w.engine(e);
    let (c, _) = w.person(app, "Xan").await;
    let id = w.child(app, &c, plural, child_body(plural, "Hello")).await;
    w.manual(&eng, rec(app, kind, &id, Some(&c))).await;
    let got = w.get(app, &format!("/{plural}/{id}")).await;
    let (field, want) = match kind {
        Task => ("body", "Checked by ghl-bridge"),
        Note => ("body", "Hello (reviewed)"),
        _ => ("notes", "Confirmed by ghl-bridge"),
    };
    assert_eq!(got[field], want);
}

async fn create_related(w: &World, e: &Entry) {
    let (app, name) = parts(e);
    let (_, plural) = kind_of(name);
    let eng = w.engine(e);
    let (c, _) = w.person(app, "Yuri").await;
    w.manual(&eng, rec(app, Contact, &c, None)).await;
    w.manual(&eng, rec(app, Contact, &c, None)).await;
    let made = w.list(app, &format!("/contacts/{c}/{plural}")).await;
    assert_eq!(made.len(), 1, "once per contact: {made:?}");
    let label = match plural {
        "tasks" => &made[0]["title"],
        "notes" => &made[0]["body"],
        _ => &made[0]["title"],
    };
    let want = match plural {
        "tasks" => "Welcome call with Yuri",
        "notes" => "Onboarding checklist for Yuri",
        _ => "Kickoff with Yuri",
    };
    assert_eq!(label, want);
}

async fn add_note(w: &World, e: &Entry) {
    let app = e.app;
    let eng = w.engine(e);
    let (c, email) = w.person(app, "Zoe").await;
    w.manual(&eng, rec(app, Contact, &c, None)).await;
    assert_eq!(
        w.notes(app, &c).await,
        [format!("Updated: Zoe Tester <{email}>")]
    );
}

async fn task_done(w: &World, app: &str, id: &str) -> bool {
    w.get(app, &format!("/tasks/{id}")).await["completed"] == true
}

async fn complete_task(w: &World, e: &Entry) {
    let app = e.app;
    let eng = w.engine(e);
    let (c, _) = w.person(app, "Abe").await;
    let t = w
        .child(app, &c, "tasks", child_body("tasks", "[auto-close] note"))
        .await;
    w.manual(&eng, rec(app, Task, &t, Some(&c))).await;
    assert!(task_done(w, app, &t).await);
}

async fn complete_task_by_title(w: &World, e: &Entry) {
    let app = e.app;
    let eng = w.engine(e);
    let (c, _) = w.person(app, "Bob").await;
    w.patch(
        app,
        &format!("/contacts/{c}"),
        json!({"tags": ["onboarded"]}),
    )
    .await;
    let t = w
        .child(app, &c, "tasks", child_body("tasks", "Welcome call"))
        .await;
    let other = w
        .child(app, &c, "tasks", child_body("tasks", "Other"))
        .await;
    w.manual(&eng, rec(app, Contact, &c, None)).await;
    assert!(task_done(w, app, &t).await && !task_done(w, app, &other).await);
}

async fn add_tags(w: &World, e: &Entry) {
    let app = e.app;
    let eng = w.engine(e);
    let (c, _) = w.person(app, "Cid").await;
    w.manual(&eng, rec(app, Contact, &c, None)).await;
    assert_eq!(w.tags(app, &c).await, ["prospect"]);
}

async fn remove_tags(w: &World, e: &Entry) {
    let app = e.app;
    let eng = w.engine(e);
    let (c, _) = w.person(app, "Dot").await;
    w.patch(
        app,
        &format!("/contacts/{c}"),
        json!({"tags": ["customer", "prospect"]}),
    )
    .await;
    w.manual(&eng, rec(app, Contact, &c, None)).await;
    assert_eq!(w.tags(app, &c).await, ["customer"]);
}

async fn fetch(w: &World, e: &Entry) {
    let (app, name) = parts(e);
    let eng = w.engine(e);
    let (c, _) = w.person(app, "Eli").await;
    match name {
        "fetch_tasks" => {
            w.child(app, &c, "tasks", child_body("tasks", "Alpha"))
                .await;
            let done = w.child(app, &c, "tasks", child_body("tasks", "Beta")).await;
            w.patch(app, &format!("/tasks/{done}"), json!({"completed": true}))
                .await;
            w.manual(&eng, rec(app, Contact, &c, None)).await;
            assert_eq!(w.notes(app, &c).await, ["Open tasks: Alpha"]);
        }
        "fetch_notes" => {
            w.child(app, &c, "notes", child_body("notes", "one")).await;
            w.child(app, &c, "notes", child_body("notes", "two")).await;
            w.manual(&eng, rec(app, Contact, &c, None)).await;
            assert_eq!(w.tags(app, &c).await, ["notes-2"]);
        }
        _ => {
            w.child(app, &c, "appointments", child_body("appointments", "Demo"))
                .await;
            w.manual(&eng, rec(app, Contact, &c, None)).await;
            assert_eq!(w.notes(app, &c).await, ["Appointments: Demo"]);
        }
    }
}

async fn get_contact(w: &World, e: &Entry) {
    let app = e.app;
    let eng = w.engine(e);
    let (c, _) = w.person(app, "Fox").await;
    let version = w.get(app, &format!("/contacts/{c}")).await["version"].clone();
    assert!(version.is_number(), "{version}");
    w.manual(&eng, rec(app, Contact, &c, None)).await;
    assert_eq!(
        w.notes(app, &c).await,
        [format!("Record version {version}")]
    );
}

async fn delete_contact(w: &World, e: &Entry) {
    let app = e.app;
    let eng = w.engine(e);
    let (c, _) = w.person(app, "Gil").await;
    w.patch(
        app,
        &format!("/contacts/{c}"),
        json!({"tags": ["delete-me"]}),
    )
    .await;
    w.manual(&eng, rec(app, Contact, &c, None)).await;
    assert_eq!(w.status(app, &format!("/contacts/{c}")).await, 404);
}

async fn delete_child(w: &World, e: &Entry) {
    let (app, name) = parts(e);
    let (kind, plural) = kind_of(name);
    let eng = w.engine(e);
    let (c, _) = w.person(app, "Hob").await;
    let body = match kind {
        Note => json!({"body": "[spam] win a prize"}),
        _ => child_body(plural, "Old"),
    };
    let id = w.child(app, &c, plural, body).await;
    let path = format!("/{plural}/{id}");
    match kind {
        Task => {
            w.patch(app, &path, json!({"completed": true})).await;
        }
        Appointment => {
            w.patch(app, &path, json!({"status": "cancelled"})).await;
        }
        _ => {}
    }
    w.manual(&eng, rec(app, kind, &id, Some(&c))).await;
    assert_eq!(w.status(app, &path).await, 404, "{path} deleted");
}
