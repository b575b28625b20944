//! The InvestNext templates about activity (onboarding, the activity timeline, the report):
//! each project exactly as shipped, against the GHL sandbox and the REST emulator's InvestNext
//! profile over real HTTP, driven by GHL's signed webhooks; the timeline and the report read
//! through the engine's unified view, as `ghl-bridge view` does.

mod support;

use connectors::EntityKind;
use engine::unified::{csv, table, ExportFormat, ExportKind, Scope, UnifiedView, Who};
use ghl_sandbox::rest::Profile;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn investnext_onboarding_creates_investor_tasks_and_note_once() {
    let mut fx = support::start("investnext-onboarding", Profile::InvestNext, 0, 0).await;
    // Ben is already an investor in InvestNext: matched by email, not duplicated.
    let ben_inv = fx
        .app_admin(
            Method::POST,
            "/contacts",
            json!({"first_name": "Ben", "email": "ben@example.com"}),
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let ada = fx
        .ghl_contact(
            json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"}),
        )
        .await;
    let ben = fx
        .ghl_contact(
            json!({"firstName": "Ben", "lastName": "Franklin", "email": "ben@example.com"}),
        )
        .await;
    fx.deliver(&["ContactCreate", "ContactCreate"]).await;
    fx.run().await;

    let inv_ada = fx
        .twin("ghl", EntityKind::Contact, &ada, "investnext")
        .await
        .expect("Ada's investor");
    assert_eq!(
        fx.twin("ghl", EntityKind::Contact, &ben, "investnext")
            .await,
        Some(ben_inv.clone()),
        "Ben matched"
    );
    assert_eq!(fx.app_list("contacts").await.len(), 2);
    for (inv, first, last) in [(&inv_ada, "Ada", "Lovelace"), (&ben_inv, "Ben", "Franklin")] {
        let mut titles: Vec<String> = fx
            .app_children("tasks", inv)
            .await
            .iter()
            .map(|t| t["title"].as_str().unwrap_or_default().to_string())
            .collect();
        titles.sort();
        assert_eq!(
            titles,
            [
                "Collect W-9".to_string(),
                format!("Send subscription documents to {first} {last}"),
                "Verify accreditation".to_string(),
            ]
        );
        let notes = fx.app_children("notes", inv).await;
        assert_eq!(notes.len(), 1);
        assert_eq!(
            notes[0]["body"],
            format!("Onboarding started from GoHighLevel for {first} {last}.")
        );
    }
    let tags = fx.ghl_view(&ada).await["contact"]["tags"].clone();
    assert!(
        tags.as_array()
            .into_iter()
            .flatten()
            .any(|t| t == "investnext-onboarding"),
        "{tags}"
    );

    // The tags' own webhooks, and GHL delivering a creation again: nothing more is written.
    let before = fx.writes().await;
    fx.deliver(&["ContactTagUpdate", "ContactTagUpdate"]).await;
    fx.redeliver(EntityKind::Contact, &ada, None, "ContactCreate")
        .await;
    fx.run().await;
    assert_eq!(fx.writes().await, before);
    assert_eq!(fx.app_children("tasks", &inv_ada).await.len(), 3);
    fx.assert_queue_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn investnext_activity_timeline_puts_notes_and_task_updates_together() {
    let mut fx = support::start("investnext-activity-timeline", Profile::InvestNext, 0, 0).await;
    let c = fx
        .ghl_contact(json!({"firstName": "Tia", "lastName": "Line", "email": "tia@example.com"}))
        .await;
    fx.ghl_admin(
        Method::POST,
        &format!("/contacts/{c}/notes"),
        json!({"body": "Interested in the next capital raise."}),
    )
    .await;
    fx.deliver(&["ContactCreate", "NoteCreate"]).await;
    fx.run().await;
    let t = fx
        .ghl_admin(
            Method::POST,
            &format!("/contacts/{c}/tasks"),
            json!({"title": "Send subscription documents", "dueDate": "2030-05-01T12:00:00Z"}),
        )
        .await["task"]["id"]
        .as_str()
        .expect("task id")
        .to_string();
    fx.deliver(&["TaskCreate"]).await;
    fx.run().await;
    fx.ghl_admin(
        Method::PUT,
        &format!("/contacts/{c}/tasks/{t}"),
        json!({"completed": true}),
    )
    .await;
    fx.deliver(&["TaskComplete"]).await;
    fx.run().await;

    let inv = fx
        .twin("ghl", EntityKind::Contact, &c, "investnext")
        .await
        .expect("investor linked");
    let mut bodies: Vec<String> = fx
        .app_children("notes", &inv)
        .await
        .iter()
        .map(|n| n["body"].as_str().unwrap_or_default().to_string())
        .collect();
    bodies.sort();
    assert_eq!(
        bodies,
        [
            "Interested in the next capital raise.",
            "Task added in GoHighLevel: Send subscription documents (due 2030-05-01)",
            "Task completed in GoHighLevel: Send subscription documents (due 2030-05-01)",
        ]
    );

    // A repeated completion webhook adds no second line.
    let before = fx.writes().await;
    fx.redeliver(EntityKind::Task, &t, Some(&c), "TaskComplete")
        .await;
    fx.run().await;
    assert_eq!(fx.writes().await, before);

    // The unified timeline: the GHL note and its InvestNext copy are one entry, then the two
    // task lines and the task itself, in date order.
    let view = UnifiedView::new(fx.store(), &fx.engine.connectors);
    let person = view
        .person(&Who::Email("tia@example.com".into()))
        .await
        .expect("view")
        .expect("found");
    let entries = engine::unified::timeline(&person);
    let got: Vec<(String, String, Vec<String>)> = entries
        .iter()
        .map(|e| {
            (
                e.event.clone(),
                e.title.clone().unwrap_or_default(),
                e.copies.iter().map(|c| c.connection.clone()).collect(),
            )
        })
        .collect();
    let note = (
        "note".to_string(),
        "Interested in the next capital raise.".to_string(),
        vec!["ghl".to_string(), "investnext".to_string()],
    );
    assert_eq!(got[0], note, "{got:?}");
    let pos = |title: &str| got.iter().position(|g| g.1.starts_with(title));
    let added = pos("Task added").expect("task added line");
    let done = pos("Task completed").expect("task completed line");
    assert!(added < done, "{got:?}");
    // GHL does not say when a task last changed: the task stands at its due date.
    let task = got
        .iter()
        .position(|g| g.0 == "task completed" && g.2 == ["ghl"])
        .expect("the GHL task");
    assert_eq!(
        entries[task].at.map(|t| t.to_rfc3339()),
        Some("2030-05-01T12:00:00+00:00".into())
    );
    assert_eq!(got.len(), 4, "{got:?}");
    fx.assert_queue_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn investnext_report_combines_contacts_tasks_and_notes() {
    let fx = support::start("investnext-report", Profile::InvestNext, 0, 0).await;
    let ada = fx
        .ghl_contact(
            json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
                            "companyName": "Summit Capital, LLC", "tags": ["investor"]}),
        )
        .await;
    for (title, due, done) in [
        ("Collect W-9", "2020-01-01T00:00:00Z", false),
        ("Verify accreditation", "2035-03-01T00:00:00Z", false),
        ("Send deck", "2024-01-01T00:00:00Z", true),
    ] {
        fx.ghl_admin(
            Method::POST,
            &format!("/contacts/{ada}/tasks"),
            json!({"title": title, "dueDate": due, "completed": done}),
        )
        .await;
    }
    for body in [
        "First call: \"very keen\", wants 50,000 in",
        "Second call\nsigned",
    ] {
        fx.ghl_admin(
            Method::POST,
            &format!("/contacts/{ada}/notes"),
            json!({"body": body}),
        )
        .await;
    }
    let ivy = fx
        .app_admin(
            Method::POST,
            "/contacts",
            json!({"first_name": "Ivy", "email": "ivy@example.com"}),
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    fx.app_admin(
        Method::POST,
        &format!("/contacts/{ivy}/tasks"),
        json!({"title": "Call Ivy", "due_at": "2036-01-01T00:00:00Z"}),
    )
    .await;
    fx.pass().await;
    fx.pass().await; // tasks and notes wait for their contact's first sync
    let before = fx.writes().await;
    fx.pass().await;
    assert_eq!(fx.writes().await, before, "settled: a pass writes nothing");
    fx.assert_queue_clean().await;

    let view = UnifiedView::new(fx.store(), &fx.engine.connectors);
    let people = view.people(&Scope::All).await.expect("everyone");
    assert_eq!(people.len(), 2);
    let (header, rows) = table(&people, ExportKind::Report);
    let col = |name: &str| header.iter().position(|c| *c == name).expect("column");
    let row = |email: &str| {
        rows.iter()
            .find(|r| r[col("email")] == email)
            .unwrap_or_else(|| panic!("{email} in {rows:?}"))
            .clone()
    };
    let a = row("ada@example.com");
    assert_eq!(a[col("name")], "Ada Lovelace");
    assert_eq!(a[col("company")], "Summit Capital, LLC");
    assert_eq!(a[col("apps")], "ghl; investnext");
    assert_eq!(
        (
            a[col("open_tasks")].as_str(),
            a[col("overdue_tasks")].as_str(),
            a[col("completed_tasks")].as_str()
        ),
        ("2", "1", "1"),
        "each task once, though it is in both apps"
    );
    assert_eq!(a[col("next_task")], "Collect W-9");
    assert_eq!(a[col("next_task_due")], "2020-01-01T00:00:00Z");
    assert_eq!(a[col("notes")], "2");
    assert!(!a[col("last_activity_at")].is_empty());
    let i = row("ivy@example.com");
    assert_eq!(i[col("apps")], "ghl; investnext", "Ivy reached GHL");
    assert_eq!(
        (i[col("open_tasks")].as_str(), i[col("next_task")].as_str()),
        ("1", "Call Ivy")
    );

    // The CSV reads back to exactly these rows.
    let text = view
        .export(&Scope::All, ExportKind::Report, ExportFormat::Csv)
        .await
        .expect("report");
    let parsed = csv::parse(&text).expect("CSV reads");
    assert_eq!(parsed[0], header);
    assert_eq!(&parsed[1..], &rows[..]);
    // JSON for tools: the same numbers.
    let json: serde_json::Value = serde_json::from_str(
        &view
            .export(&Scope::All, ExportKind::Report, ExportFormat::Json)
            .await
            .expect("json"),
    )
    .expect("JSON reads");
    let ada_json = json
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["email"] == "ada@example.com")
        .expect("Ada");
    assert_eq!(ada_json["open_tasks"], 2);
    assert_eq!(ada_json["notes"], 2);
}
