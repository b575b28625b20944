//! The InvestNext sync templates end to end (contacts both ways, tasks, notes): each project
//! exactly as shipped, against the GHL sandbox and the REST emulator's InvestNext profile over
//! real HTTP, driven by GHL's signed webhooks, polls and reconciles.

mod support;

use connectors::EntityKind;
use ghl_sandbox::rest::Profile;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn investnext_contacts_two_way_both_directions_without_ping_pong() {
    let fx = support::start("investnext-contacts-two-way", Profile::InvestNext, 0, 0).await;
    let ghl_ada = fx
        .ghl_contact(json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
                            "companyName": "Summit Capital", "city": "London", "tags": ["investor"]}))
        .await;
    let ivy = fx
        .app_admin(
            Method::POST,
            "/contacts",
            json!({"first_name": "Ivy", "last_name": "Investor", "email": "Ivy@Example.com",
                   "phone": "(212) 555-0144", "city": "New York",
                   "custom_fields": {"investor_type": "Trust"}}),
        )
        .await;
    let ivy_id = ivy["id"].as_str().expect("id").to_string();
    fx.pass().await;
    let before = fx.writes().await;
    fx.pass().await; // what the first pass wrote comes back as changes: nothing to do
    assert_eq!(fx.writes().await, before, "the second pass writes nothing");

    // GHL → InvestNext.
    let inv_ada = fx
        .twin("ghl", EntityKind::Contact, &ghl_ada, "investnext")
        .await
        .expect("Ada linked");
    let a = fx.app_record("contacts", &inv_ada).await;
    assert_eq!(
        (
            &a["first_name"],
            &a["email"],
            &a["company_name"],
            &a["city"]
        ),
        (
            &json!("Ada"),
            &json!("ada@example.com"),
            &json!("Summit Capital"),
            &json!("London")
        )
    );
    assert_eq!(a["tags"], json!(["investor"]));
    // InvestNext → GHL, as InvestNext holds the values.
    let ghl_ivy = fx
        .twin("investnext", EntityKind::Contact, &ivy_id, "ghl")
        .await
        .expect("Ivy linked");
    let g = fx.ghl_view(&ghl_ivy).await["contact"].clone();
    assert_eq!(
        (&g["firstName"], &g["lastName"], &g["city"]),
        (&json!("Ivy"), &json!("Investor"), &json!("New York"))
    );
    assert!(
        g["email"]
            .as_str()
            .is_some_and(|e| e.eq_ignore_ascii_case("ivy@example.com")),
        "{g}"
    );
    let digits: String = g["phone"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert!(digits.ends_with("2125550144"), "{g}");
    assert_eq!(fx.app_list("contacts").await.len(), 2, "nobody twice");

    // An edit in InvestNext reaches GHL …
    fx.app_admin(
        Method::PATCH,
        &format!("/contacts/{inv_ada}"),
        json!({"city": "Cambridge", "last_name": "King"}),
    )
    .await;
    fx.pass().await;
    let g = fx.ghl_view(&ghl_ada).await["contact"].clone();
    assert_eq!(
        (&g["city"], &g["lastName"]),
        (&json!("Cambridge"), &json!("King"))
    );
    // … and an edit in GHL reaches InvestNext.
    fx.ghl_admin(
        Method::PUT,
        &format!("/contacts/{ghl_ivy}"),
        json!({"city": "Boston"}),
    )
    .await;
    fx.pass().await;
    assert_eq!(fx.app_record("contacts", &ivy_id).await["city"], "Boston");
    // The InvestNext-only field is left alone.
    assert_eq!(
        fx.app_record("contacts", &ivy_id).await["custom_fields"]["investor_type"],
        "Trust"
    );

    // No ping-pong: the next pass writes nothing on either side.
    let before = fx.writes().await;
    fx.pass().await;
    assert_eq!(fx.writes().await, before);
    fx.assert_queue_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn investnext_tasks_copy_status_and_due_dates() {
    // Two GHL contacts exist before the project starts: the first pass backfills them.
    let mut fx = support::start("investnext-tasks", Profile::InvestNext, 2, 0).await;
    let seeded: Vec<(String, usize)> = {
        let st = fx.ghl.state.store.read();
        st.contacts
            .values()
            .filter(|c| c.email.is_some())
            .map(|c| (c.id.clone(), st.tasks.get(&c.id).map_or(0, Vec::len)))
            .collect()
    };
    fx.pass().await;
    fx.pass().await;
    for (id, n) in &seeded {
        let inv = fx
            .twin("ghl", EntityKind::Contact, id, "investnext")
            .await
            .expect("backfilled");
        assert_eq!(fx.app_children("tasks", &inv).await.len(), *n, "{id}");
    }

    // A new contact with a task, by webhook.
    let c = fx
        .ghl_contact(json!({"firstName": "Sam", "email": "sam@example.com"}))
        .await;
    let t = fx
        .ghl_admin(
            Method::POST,
            &format!("/contacts/{c}/tasks"),
            json!({"title": "  Verify accreditation ", "body": "Letter from a CPA",
                   "dueDate": "2030-04-05T16:00:00Z"}),
        )
        .await["task"]["id"]
        .as_str()
        .expect("task id")
        .to_string();
    fx.deliver(&["ContactCreate", "TaskCreate"]).await;
    fx.run().await;
    let inv_task = fx
        .twin("ghl", EntityKind::Task, &t, "investnext")
        .await
        .expect("task linked");
    let it = fx.app_record("tasks", &inv_task).await;
    assert_eq!(
        (&it["title"], &it["body"], &it["due_at"], &it["completed"]),
        (
            &json!("Verify accreditation"),
            &json!("Letter from a CPA"),
            &json!("2030-04-05T16:00:00.000Z"),
            &json!(false)
        )
    );

    // Completed in GHL → completed in InvestNext; the echo of nothing writes nothing.
    fx.ghl_admin(
        Method::PUT,
        &format!("/contacts/{c}/tasks/{t}"),
        json!({"completed": true}),
    )
    .await;
    fx.deliver(&["TaskComplete"]).await;
    fx.run().await;
    assert_eq!(fx.app_record("tasks", &inv_task).await["completed"], true);
    let before = fx.writes().await;
    fx.pass().await;
    assert_eq!(fx.writes().await, before, "the second pass writes nothing");

    // Deleted in GHL → deleted in InvestNext.
    fx.ghl_admin(
        Method::DELETE,
        &format!("/contacts/{c}/tasks/{t}"),
        json!({}),
    )
    .await;
    fx.deliver(&["TaskDelete"]).await;
    fx.run().await;
    assert!(fx.app_record("tasks", &inv_task).await["deleted_at"].is_string());
    fx.assert_queue_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn investnext_notes_follow_ghl_notes() {
    let mut fx = support::start("investnext-notes", Profile::InvestNext, 0, 0).await;
    let c = fx
        .ghl_contact(json!({"firstName": "Nia", "email": "nia@example.com"}))
        .await;
    let body = "Asked about the distribution schedule.\nCall back in May, \"after\" the K-1s.";
    let n = fx
        .ghl_admin(
            Method::POST,
            &format!("/contacts/{c}/notes"),
            json!({"body": body}),
        )
        .await["note"]["id"]
        .as_str()
        .expect("note id")
        .to_string();
    fx.deliver(&["ContactCreate", "NoteCreate"]).await;
    fx.run().await;
    let inv_note = fx
        .twin("ghl", EntityKind::Note, &n, "investnext")
        .await
        .expect("note linked");
    let inv_contact = fx
        .twin("ghl", EntityKind::Contact, &c, "investnext")
        .await
        .expect("contact linked");
    let note = fx.app_record("notes", &inv_note).await;
    assert_eq!(note["body"], body);
    assert_eq!(note["contact_id"], inv_contact.as_str());

    fx.ghl_admin(
        Method::PUT,
        &format!("/contacts/{c}/notes/{n}"),
        json!({"body": "Distribution schedule sent."}),
    )
    .await;
    fx.deliver(&["NoteUpdate"]).await;
    fx.run().await;
    assert_eq!(
        fx.app_record("notes", &inv_note).await["body"],
        "Distribution schedule sent."
    );

    let before = fx.writes().await;
    fx.pass().await;
    assert_eq!(fx.writes().await, before, "the second pass writes nothing");

    fx.ghl_admin(
        Method::DELETE,
        &format!("/contacts/{c}/notes/{n}"),
        json!({}),
    )
    .await;
    fx.deliver(&["NoteDelete"]).await;
    fx.run().await;
    assert!(fx.app_children("notes", &inv_contact).await.is_empty());
    fx.assert_queue_clean().await;
}
