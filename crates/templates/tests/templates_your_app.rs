//! The Your App templates end to end: each project exactly as shipped, run against the GHL
//! sandbox and the Your App emulator over real HTTP, driven by GHL's real signed webhooks (and
//! polls and reconciles), with the effects checked in the emulators and the store's links.

mod support;

use connectors::EntityKind;
use ghl_sandbox::rest::Profile;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn your_app_contacts_realtime_creates_and_updates_from_webhooks() {
    let mut fx = support::start("your-app-contacts-realtime", Profile::YourApp, 0, 0).await;
    // A person already in Your App is matched by email, not duplicated.
    let grace = fx
        .app_admin(
            Method::POST,
            "/contacts",
            json!({"first_name": "G.", "email": "grace@example.com"}),
        )
        .await;
    let ada = fx
        .ghl_contact(json!({
            "firstName": " Ada ", "lastName": "Lovelace", "email": "Ada@Example.com",
            "phone": "(415) 555-0123", "companyName": "Analytical Engines", "city": "London",
            "tags": ["vip"]
        }))
        .await;
    let grace_ghl = fx
        .ghl_contact(
            json!({"firstName": "Grace", "lastName": "Hopper", "email": "grace@example.com"}),
        )
        .await;
    let nobody = fx
        .ghl_contact(json!({"firstName": "No", "lastName": "Key"}))
        .await;
    fx.deliver(&["ContactCreate", "ContactCreate", "ContactCreate"])
        .await;
    assert_eq!(fx.run().await, 3, "one sync job per new contact");

    let ada_app = fx.app_contacts_by_email("ada@example.com").await;
    assert_eq!(ada_app.len(), 1, "{ada_app:?}");
    let a = &ada_app[0];
    assert_eq!(a["first_name"], "Ada", "trimmed");
    assert_eq!(a["last_name"], "Lovelace");
    assert_eq!(a["phone"], "+14155550123", "E.164");
    assert_eq!(a["company_name"], "Analytical Engines");
    assert_eq!(a["city"], "London");
    assert_eq!(a["tags"], json!(["vip"]));
    let a_id = a["id"].as_str().expect("id").to_string();
    assert_eq!(
        fx.twin("ghl", EntityKind::Contact, &ada, "your_app").await,
        Some(a_id.clone()),
        "linked"
    );
    let graces = fx.app_contacts_by_email("grace@example.com").await;
    assert_eq!(graces.len(), 1, "matched, not duplicated: {graces:?}");
    assert_eq!(graces[0]["id"], grace["id"]);
    assert_eq!(graces[0]["first_name"], "Grace", "brought up to date");
    assert!(fx.link("ghl", EntityKind::Contact, &nobody).await.is_none());
    assert_eq!(
        fx.app_list("contacts").await.len(),
        2,
        "the filter kept out the contact without email or phone"
    );

    // A change in GHL arrives in Your App.
    fx.ghl_admin(
        Method::PUT,
        &format!("/contacts/{ada}"),
        json!({"city": "Paris"}),
    )
    .await;
    fx.deliver(&["ContactUpdate"]).await;
    fx.run().await;
    assert_eq!(fx.app_record("contacts", &a_id).await["city"], "Paris");
    let _ = grace_ghl;

    // A second pass (poll, full comparison, jobs) writes nothing anywhere.
    let before = fx.writes().await;
    fx.pass().await;
    fx.drain().await;
    fx.run().await;
    assert_eq!(fx.writes().await, before, "nothing written twice");
    fx.assert_queue_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn your_app_tasks_carry_due_dates_priorities_and_completion() {
    let mut fx = support::start("your-app-tasks", Profile::YourApp, 0, 0).await;
    let c = fx
        .ghl_contact(json!({"firstName": "Tom", "lastName": "Tasker", "email": "tom@example.com"}))
        .await;
    let mut tasks = Vec::new();
    for (title, body, due) in [
        (
            "URGENT: call back",
            "about the invoice",
            "2030-01-02T15:00:00Z",
        ),
        (
            "Send proposal",
            "v2 with the new prices",
            "2030-01-05T09:30:00Z",
        ),
        ("Read the brief", "FYI, no rush", "2030-02-01T12:00:00Z"),
    ] {
        let v = fx
            .ghl_admin(
                Method::POST,
                &format!("/contacts/{c}/tasks"),
                json!({"title": title, "body": body, "dueDate": due}),
            )
            .await;
        tasks.push(v["task"]["id"].as_str().expect("task id").to_string());
    }
    fx.deliver(&["ContactCreate", "TaskCreate", "TaskCreate", "TaskCreate"])
        .await;
    fx.run().await;

    let app_contact = fx
        .twin("ghl", EntityKind::Contact, &c, "your_app")
        .await
        .expect("contact linked");
    let mut app_tasks = fx.app_children("tasks", &app_contact).await;
    app_tasks.sort_by_key(|t| t["due_at"].as_str().unwrap_or_default().to_string());
    let got: Vec<(&str, &str, &str, bool)> = app_tasks
        .iter()
        .map(|t| {
            (
                t["title"].as_str().unwrap_or_default(),
                t["due_at"].as_str().unwrap_or_default(),
                t["priority"].as_str().unwrap_or_default(),
                t["completed"].as_bool().unwrap_or(true),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "URGENT: call back",
                "2030-01-02T15:00:00.000Z",
                "high",
                false
            ),
            ("Send proposal", "2030-01-05T09:30:00.000Z", "normal", false),
            ("Read the brief", "2030-02-01T12:00:00.000Z", "low", false),
        ]
    );
    assert_eq!(app_tasks[1]["body"], "v2 with the new prices");

    // Completed in GHL (a webhook) → completed in Your App.
    let first = fx
        .twin("ghl", EntityKind::Task, &tasks[0], "your_app")
        .await
        .expect("task linked");
    fx.ghl_admin(
        Method::PUT,
        &format!("/contacts/{c}/tasks/{}", tasks[0]),
        json!({"completed": true}),
    )
    .await;
    fx.deliver(&["TaskComplete"]).await;
    fx.run().await;
    assert_eq!(fx.app_record("tasks", &first).await["completed"], true);

    // A due date moved in GHL sends no webhook: the full comparison brings it over.
    let second = fx
        .twin("ghl", EntityKind::Task, &tasks[1], "your_app")
        .await
        .expect("task linked");
    fx.ghl_admin(
        Method::PUT,
        &format!("/contacts/{c}/tasks/{}", tasks[1]),
        json!({"dueDate": "2030-03-01T10:00:00Z", "title": "Send proposal ASAP"}),
    )
    .await;
    fx.pass().await;
    let moved = fx.app_record("tasks", &second).await;
    assert_eq!(moved["due_at"], "2030-03-01T10:00:00.000Z");
    assert_eq!(moved["priority"], "high", "the new title says ASAP");

    // No ping-pong: the next pass writes nothing.
    let before = fx.writes().await;
    fx.pass().await;
    assert_eq!(fx.writes().await, before);

    // Deleted in GHL → deleted in Your App.
    fx.ghl_admin(
        Method::DELETE,
        &format!("/contacts/{c}/tasks/{}", tasks[2]),
        json!({}),
    )
    .await;
    fx.deliver(&["TaskDelete"]).await;
    fx.run().await;
    assert_eq!(fx.app_children("tasks", &app_contact).await.len(), 2);
    fx.assert_queue_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn your_app_notes_and_appointments_follow_ghl() {
    let mut fx = support::start("your-app-notes-appointments", Profile::YourApp, 0, 0).await;
    let c = fx
        .ghl_contact(json!({"firstName": "Ann", "lastName": "Point", "email": "ann@example.com"}))
        .await;
    let note = fx
        .ghl_admin(
            Method::POST,
            &format!("/contacts/{c}/notes"),
            json!({"body": "Met at the expo, wants a demo."}),
        )
        .await["note"]["id"]
        .as_str()
        .expect("note id")
        .to_string();
    let appt = fx
        .ghl_admin(
            Method::POST,
            &format!("/contacts/{c}/appointments"),
            json!({"title": "Product demo", "startTime": "2030-03-01T10:00:00Z",
                   "endTime": "2030-03-01T11:00:00Z", "appointmentStatus": "new",
                   "notes": "Bring the pricing sheet"}),
        )
        .await["appointment"]["id"]
        .as_str()
        .expect("appointment id")
        .to_string();
    fx.deliver(&["ContactCreate", "NoteCreate", "AppointmentCreate"])
        .await;
    fx.run().await;

    let app_contact = fx
        .twin("ghl", EntityKind::Contact, &c, "your_app")
        .await
        .expect("contact linked");
    let notes = fx.app_children("notes", &app_contact).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["body"], "Met at the expo, wants a demo.");
    let appts = fx.app_children("appointments", &app_contact).await;
    assert_eq!(appts.len(), 1, "{appts:?}");
    assert_eq!(appts[0]["title"], "Product demo");
    assert_eq!(appts[0]["start_at"], "2030-03-01T10:00:00.000Z");
    assert_eq!(appts[0]["end_at"], "2030-03-01T11:00:00.000Z");
    assert_eq!(appts[0]["status"], "confirmed", "GHL's `new` is confirmed");
    assert_eq!(appts[0]["notes"], "Bring the pricing sheet");

    // Edits in GHL follow: the note's text, the appointment's status.
    fx.ghl_admin(
        Method::PUT,
        &format!("/contacts/{c}/notes/{note}"),
        json!({"body": "Met at the expo; demo booked."}),
    )
    .await;
    fx.ghl_admin(
        Method::PUT,
        &format!("/appointments/{appt}"),
        json!({"appointmentStatus": "cancelled"}),
    )
    .await;
    fx.deliver(&["NoteUpdate", "AppointmentUpdate"]).await;
    fx.run().await;
    let note_app = fx
        .twin("ghl", EntityKind::Note, &note, "your_app")
        .await
        .expect("linked");
    assert_eq!(
        fx.app_record("notes", &note_app).await["body"],
        "Met at the expo; demo booked."
    );
    let appt_app = fx
        .twin("ghl", EntityKind::Appointment, &appt, "your_app")
        .await
        .expect("linked");
    assert_eq!(
        fx.app_record("appointments", &appt_app).await["status"],
        "cancelled"
    );

    let before = fx.writes().await;
    fx.pass().await;
    assert_eq!(fx.writes().await, before, "the second pass writes nothing");
    fx.assert_queue_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn your_app_onboarding_creates_prioritised_tasks_once() {
    let mut fx = support::start("your-app-onboarding", Profile::YourApp, 0, 0).await;
    let started = chrono::Utc::now();
    let c = fx
        .ghl_contact(
            json!({"firstName": "Olga", "lastName": "Onboard", "email": "olga@example.com"}),
        )
        .await;
    let no_email = fx
        .ghl_contact(json!({"firstName": "Phil", "phone": "+14155550199"}))
        .await;
    fx.deliver(&["ContactCreate", "ContactCreate"]).await;
    fx.run().await;

    let app_contact = fx
        .twin("ghl", EntityKind::Contact, &c, "your_app")
        .await
        .expect("contact created and linked");
    assert_eq!(
        fx.app_record("contacts", &app_contact).await["first_name"],
        "Olga"
    );
    let mut tasks = fx.app_children("tasks", &app_contact).await;
    tasks.sort_by_key(|t| t["due_at"].as_str().unwrap_or_default().to_string());
    let got: Vec<(&str, &str)> = tasks
        .iter()
        .map(|t| {
            (
                t["title"].as_str().unwrap_or_default(),
                t["priority"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("Welcome call with Olga", "high"),
            ("Send the welcome pack", "normal"),
            ("30-day check-in", "low")
        ]
    );
    for (t, days) in tasks.iter().zip([1, 2, 30]) {
        let due = chrono::DateTime::parse_from_rfc3339(t["due_at"].as_str().unwrap_or_default())
            .expect("due date");
        let expect = started + chrono::Duration::days(days);
        assert!(
            (due.with_timezone(&chrono::Utc) - expect)
                .num_seconds()
                .abs()
                < 120,
            "{t}"
        );
    }
    let tags = fx.ghl_view(&c).await["contact"]["tags"].clone();
    assert!(
        tags.as_array()
            .into_iter()
            .flatten()
            .any(|t| t == "onboarded"),
        "{tags}"
    );
    assert!(
        fx.link("ghl", EntityKind::Contact, &no_email)
            .await
            .is_none(),
        "filtered out"
    );

    // The tag's own webhooks come back: nothing more is written, no second set of tasks.
    let before = fx.writes().await;
    fx.deliver(&["ContactTagUpdate"]).await;
    fx.drain().await;
    fx.run().await;
    assert_eq!(fx.writes().await, before);
    assert_eq!(fx.app_children("tasks", &app_contact).await.len(), 3);

    // GHL sends the creation again under a new webhook id: the flow runs, and writes nothing.
    assert_eq!(
        fx.redeliver(EntityKind::Contact, &c, None, "ContactCreate")
            .await,
        1
    );
    assert_eq!(fx.run().await, 1);
    assert_eq!(fx.writes().await, before);
    assert_eq!(fx.app_children("tasks", &app_contact).await.len(), 3);
    fx.assert_queue_clean().await;
}
