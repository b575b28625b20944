//! The SalesNexus activity templates end to end: each project exactly as shipped, against the
//! GHL sandbox and the SalesNexus emulator over real HTTP, driven by GHL's signed webhooks and
//! by polls and reconciles (SalesNexus has no change webhooks: its contacts are compared in
//! full at each poll).

mod support;

use connectors::EntityKind;
use reqwest::Method;
use serde_json::{json, Value};
use support::salesnexus::sn_tasks;

/// Creates a record under a GHL contact as a person would; returns its id.
async fn ghl_child(fx: &support::Fx, contact: &str, plural: &str, body: Value) -> String {
    let singular = plural.trim_end_matches('s');
    let v = fx
        .ghl_admin(Method::POST, &format!("/contacts/{contact}/{plural}"), body)
        .await;
    v[singular]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{singular} id in {v}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesnexus_contact_activity_pulls_ghl_tasks_notes_and_appointments() {
    let mut fx = support::start("salesnexus-contact-activity", support::SalesNexus, 0, 0).await;
    fx.fast_retries();
    // A person in SalesNexus has Ada (the GHL contact's email, in other case) and Sam, whom
    // GHL does not know.
    let sn_ada = fx
        .sn_create_contact(json!({"firstName": "Ada", "lastName": "Lovelace",
                                  "email": "Ada@Example.com", "city": "London"}))
        .await;
    let sn_sam = fx
        .sn_create_contact(json!({"firstName": "Sam", "lastName": "Seller",
                                  "email": "sam@example.com", "phone": "+14155550101"}))
        .await;
    // In GHL, Ada has a task, a note and an appointment.
    let ada = fx
        .ghl_contact(
            json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
                            "companyName": "Analytical Engines", "tags": ["vip"]}),
        )
        .await;
    let task = ghl_child(
        &fx,
        &ada,
        "tasks",
        json!({"title": "Send the proposal", "body": "Pricing for 20 seats",
               "dueDate": "2030-04-05T16:00:00Z"}),
    )
    .await;
    ghl_child(
        &fx,
        &ada,
        "notes",
        json!({"body": "Prefers calls after 3 pm."}),
    )
    .await;
    ghl_child(
        &fx,
        &ada,
        "appointments",
        json!({"title": "Demo call", "startTime": "2030-04-02T15:00:00Z",
               "endTime": "2030-04-02T15:30:00Z", "notes": "Video link in the invite"}),
    )
    .await;
    fx.drain().await;
    fx.pass_settled().await;
    fx.pass_settled().await;

    // Ada is paired, not duplicated, and holds GHL's records under her SalesNexus contact.
    assert_eq!(
        fx.twin("ghl", EntityKind::Contact, &ada, "salesnexus")
            .await
            .as_deref(),
        Some(sn_ada.as_str())
    );
    assert_eq!(fx.sn_contacts().await.len(), 2, "nobody twice");
    let a = fx.sn_contact(&sn_ada).await;
    assert_eq!(
        (&a["company"], &a["city"], &a["customFields"]["Tags"]),
        (
            &json!("Analytical Engines"),
            &json!("London"),
            &json!("vip")
        ),
        "{a}"
    );
    let tasks = sn_tasks(&a, false);
    assert_eq!(tasks.len(), 1, "{a}");
    assert_eq!(
        (
            &tasks[0]["title"],
            &tasks[0]["details"],
            &tasks[0]["dateTo"]
        ),
        (
            &json!("Send the proposal"),
            &json!("Pricing for 20 seats"),
            &json!("2030-04-05T16:00:00Z")
        )
    );
    assert_ne!(tasks[0]["status"], "Completed");
    let meetings = sn_tasks(&a, true);
    assert_eq!(meetings.len(), 1, "the appointment is a Meeting task: {a}");
    assert_eq!(
        (
            &meetings[0]["title"],
            &meetings[0]["dateFrom"],
            &meetings[0]["dateTo"],
            &meetings[0]["details"]
        ),
        (
            &json!("Demo call"),
            &json!("2030-04-02T15:00:00Z"),
            &json!("2030-04-02T15:30:00Z"),
            &json!("Video link in the invite")
        )
    );
    let notes = a["notes"].as_array().cloned().unwrap_or_default();
    assert_eq!(notes.len(), 1, "{a}");
    assert_eq!(notes[0]["noteText"], "Prefers calls after 3 pm.");
    // SalesNexus' city reached GHL; Sam, unknown to GHL, was created there.
    assert_eq!(fx.ghl_view(&ada).await["contact"]["city"], "London");
    let ghl_sam = fx
        .twin("salesnexus", EntityKind::Contact, &sn_sam, "ghl")
        .await
        .expect("Sam paired");
    let g = fx.ghl_view(&ghl_sam).await["contact"].clone();
    assert_eq!(
        (&g["firstName"], &g["phone"]),
        (&json!("Sam"), &json!("+14155550101"))
    );

    // A person changes Ada in SalesNexus: the next poll finds it and GHL follows.
    fx.app_admin(
        Method::PUT,
        &format!("/contacts/{sn_ada}"),
        json!({"city": "Cambridge", "phone": "+441223555010"}),
    )
    .await;
    fx.pass_settled().await;
    let g = fx.ghl_view(&ada).await["contact"].clone();
    assert_eq!(
        (&g["city"], &g["phone"]),
        (&json!("Cambridge"), &json!("+441223555010"))
    );

    // A new GHL appointment arrives by webhook; a completed task is completed in SalesNexus.
    ghl_child(
        &fx,
        &ada,
        "appointments",
        json!({"title": "Contract review", "startTime": "2030-05-01T09:00:00Z",
               "endTime": "2030-05-01T10:00:00Z"}),
    )
    .await;
    fx.ghl_admin(
        Method::PUT,
        &format!("/contacts/{ada}/tasks/{task}"),
        json!({"completed": true}),
    )
    .await;
    fx.deliver(&["AppointmentCreate", "TaskComplete"]).await;
    fx.settle().await;
    let a = fx.sn_contact(&sn_ada).await;
    assert_eq!(sn_tasks(&a, true).len(), 2, "{a}");
    assert!(sn_tasks(&a, true)
        .iter()
        .any(|m| m["title"] == "Contract review" && m["dateFrom"] == "2030-05-01T09:00:00Z"));
    assert_eq!(sn_tasks(&a, false)[0]["status"], "Completed");

    // Settled: the next passes write nothing on either side.
    fx.pass_settled().await;
    let before = fx.writes().await;
    fx.pass_settled().await;
    fx.pass_settled().await;
    assert_eq!(fx.writes().await, before, "nothing goes back and forth");
    fx.assert_queue_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesnexus_tasks_notes_pushed_as_they_are_created() {
    // Two GHL contacts exist before the project starts: the first passes copy them over.
    let mut fx = support::start("salesnexus-tasks-notes", support::SalesNexus, 2, 0).await;
    fx.fast_retries();
    let seeded: Vec<(String, String, usize, usize)> = {
        let st = fx.ghl.state.store.read();
        st.contacts
            .values()
            .map(|c| {
                (
                    c.id.clone(),
                    c.email.clone().unwrap_or_default(),
                    st.tasks.get(&c.id).map_or(0, Vec::len),
                    st.notes.get(&c.id).map_or(0, Vec::len),
                )
            })
            .collect()
    };
    assert!(
        seeded.iter().map(|s| s.2 + s.3).sum::<usize>() > 0,
        "the seed has tasks or notes"
    );
    fx.pass_settled().await;
    for (id, email, tasks, notes) in &seeded {
        let sn = fx
            .twin("ghl", EntityKind::Contact, id, "salesnexus")
            .await
            .unwrap_or_else(|| panic!("{email} copied"));
        let c = fx.sn_contact(&sn).await;
        assert!(c["email"]
            .as_str()
            .is_some_and(|e| e.eq_ignore_ascii_case(email)));
        assert_eq!(sn_tasks(&c, false).len(), *tasks, "{email}: {c}");
        assert_eq!(c["notes"].as_array().map_or(0, Vec::len), *notes, "{email}");
    }

    // A new contact with a task and a note: GHL's webhooks alone bring them over.
    let c = fx
        .ghl_contact(
            json!({"firstName": "Nia", "lastName": "Brooks", "email": "nia@example.com",
                            "tags": ["buyer"]}),
        )
        .await;
    let t = ghl_child(
        &fx,
        &c,
        "tasks",
        json!({"title": " Call about the quote ", "body": "She asked for a discount",
               "dueDate": "2030-06-01T09:30:00Z"}),
    )
    .await;
    let n = ghl_child(&fx, &c, "notes", json!({"body": "Met at the trade show."})).await;
    fx.deliver(&["ContactCreate", "TaskCreate", "NoteCreate"])
        .await;
    fx.settle().await;
    let sn = fx
        .twin("ghl", EntityKind::Contact, &c, "salesnexus")
        .await
        .expect("Nia copied");
    let sn_task = fx
        .twin("ghl", EntityKind::Task, &t, "salesnexus")
        .await
        .expect("task linked");
    let sn_note = fx
        .twin("ghl", EntityKind::Note, &n, "salesnexus")
        .await
        .expect("note linked");
    let v = fx.sn_contact(&sn).await;
    assert_eq!(v["customFields"]["Tags"], "buyer");
    let task = &sn_tasks(&v, false)[0];
    assert_eq!(task["id"].to_string(), sn_task);
    assert_eq!(
        (
            &task["title"],
            &task["details"],
            &task["dateTo"],
            &task["contactId"].to_string()
        ),
        (
            &json!("Call about the quote"),
            &json!("She asked for a discount"),
            &json!("2030-06-01T09:30:00Z"),
            &sn
        )
    );
    assert_ne!(task["status"], "Completed");
    assert_eq!(v["notes"][0]["noteText"], "Met at the trade show.");

    // Completed in GHL → Completed in SalesNexus; an edited note follows.
    fx.ghl_admin(
        Method::PUT,
        &format!("/contacts/{c}/tasks/{t}"),
        json!({"completed": true}),
    )
    .await;
    fx.ghl_admin(
        Method::PUT,
        &format!("/contacts/{c}/notes/{n}"),
        json!({"body": "Met at the trade show; wants a demo."}),
    )
    .await;
    fx.deliver(&["TaskComplete", "NoteUpdate"]).await;
    fx.settle().await;
    let v = fx.sn_contact(&sn).await;
    assert_eq!(sn_tasks(&v, false)[0]["status"], "Completed");
    assert_eq!(
        v["notes"][0]["noteText"],
        "Met at the trade show; wants a demo."
    );

    // A repeated webhook and the next passes write nothing.
    let before = fx.writes().await;
    fx.redeliver(EntityKind::Task, &t, Some(&c), "TaskCreate")
        .await;
    fx.pass_settled().await;
    fx.pass_settled().await;
    assert_eq!(fx.writes().await, before, "the second pass writes nothing");

    // Deleted in GHL → deleted in SalesNexus.
    fx.ghl_admin(
        Method::DELETE,
        &format!("/contacts/{c}/notes/{n}"),
        json!({}),
    )
    .await;
    fx.deliver(&["NoteDelete"]).await;
    fx.settle().await;
    let v = fx.sn_contact(&sn).await;
    assert_eq!(v["notes"], json!([]), "note {sn_note} deleted: {v}");
    assert_eq!(v["deleted"], false, "the contact stays");
    fx.assert_queue_clean().await;
}
