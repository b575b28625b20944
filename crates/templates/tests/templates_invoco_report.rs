//! The recurring Invoco report end to end: the project exactly as shipped, against the GHL
//! sandbox and the REST emulator's Invoco profile over real HTTP. Contacts sync both ways; the
//! weekly schedule's due time, run through the engine's scheduler, writes both CSV reports into
//! the project folder, and their rows hold each person's contact, tasks and notes of both apps.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{Duration, Utc};
use connectors::EntityKind;
use engine::unified::{csv, RECORD_COLUMNS, REPORT_COLUMNS};
use ghl_sandbox::rest::Profile;
use reqwest::Method;
use serde_json::json;

/// A CSV report of the project folder, parsed: (header, rows).
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let mut rows = csv::parse(&text).unwrap_or_else(|e| panic!("{path:?} parses: {e:?}"));
    assert!(!rows.is_empty(), "{path:?} has a header");
    let header = rows.remove(0);
    (header, rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoco_recurring_report_writes_people_tasks_and_notes_of_both_apps() {
    let fx = support::start("invoco-recurring-report", Profile::Invoco, 0, 0).await;
    // A person in GHL with tasks and a note…
    let ada = fx
        .ghl_contact(
            json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
                   "companyName": "Summit Plumbing, LLC"}),
        )
        .await;
    for (title, due, done) in [
        ("Send the first invoice", "2020-01-01T00:00:00Z", false),
        ("Confirm the call script", "2035-03-01T00:00:00Z", false),
        ("Set up auto-pay", "2024-01-01T00:00:00Z", true),
    ] {
        fx.ghl_admin(
            Method::POST,
            &format!("/contacts/{ada}/tasks"),
            json!({"title": title, "dueDate": due, "completed": done}),
        )
        .await;
    }
    fx.ghl_admin(
        Method::POST,
        &format!("/contacts/{ada}/notes"),
        json!({"body": "Wants calls answered \"after 6pm\", weekdays"}),
    )
    .await;
    // …and a customer in Invoco with a task and a note.
    let ivy = fx
        .app_admin(
            Method::POST,
            "/contacts",
            json!({"first_name": "Ivy", "last_name": "Ng", "email": "ivy@example.com"}),
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    fx.app_admin(
        Method::POST,
        &format!("/contacts/{ivy}/tasks"),
        json!({"title": "Call Ivy back", "due_at": "2036-01-01T00:00:00Z"}),
    )
    .await;
    fx.app_admin(
        Method::POST,
        &format!("/contacts/{ivy}/notes"),
        json!({"body": "Invoco: renewal due"}),
    )
    .await;

    // Contacts sync both ways; then each app gets a note about the other app's person.
    fx.pass().await;
    fx.pass().await;
    let ada_inv = fx
        .twin("ghl", EntityKind::Contact, &ada, "invoco")
        .await
        .expect("Ada reached Invoco");
    let ivy_ghl = fx
        .twin("invoco", EntityKind::Contact, &ivy, "ghl")
        .await
        .expect("Ivy reached GHL");
    fx.app_admin(
        Method::POST,
        &format!("/contacts/{ada_inv}/notes"),
        json!({"body": "Invoco: paid on time"}),
    )
    .await;
    fx.ghl_admin(
        Method::POST,
        &format!("/contacts/{ivy_ghl}/notes"),
        json!({"body": "GHL: asked for a quote"}),
    )
    .await;
    fx.assert_queue_clean().await;

    // The weekly schedule: counted from first sight, then its due time a week on fires once.
    let reports = support::path_in(&fx, "reports");
    let writes = fx.writes().await;
    let t0 = Utc::now();
    assert_eq!(fx.engine.run_schedules(t0).await.expect("tick"), Some(0));
    assert!(!reports.exists(), "nothing before the due time");
    assert_eq!(
        fx.engine
            .run_schedules(t0 + Duration::days(8))
            .await
            .expect("tick"),
        Some(1)
    );
    assert_eq!(fx.run().await, 1);
    fx.assert_queue_clean().await;
    assert_eq!(
        fx.writes().await,
        writes,
        "a report reads the apps, never writes"
    );

    let files: BTreeSet<String> = std::fs::read_dir(&reports)
        .expect("reports/ was made")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 2, "two reports, no temporary file: {files:?}");
    let people_file = files
        .iter()
        .find(|f| !f.ends_with("-records.csv"))
        .expect("the people report");
    let date = people_file
        .strip_prefix("invoco-")
        .and_then(|f| f.strip_suffix(".csv"))
        .expect("invoco-<date>.csv");
    assert!(
        chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok(),
        "{people_file}"
    );
    assert!(
        files.contains(&format!("invoco-{date}-records.csv")),
        "{files:?}"
    );

    // One row per person, both apps combined.
    let (header, rows) = read_csv(&reports.join(people_file));
    assert_eq!(header, REPORT_COLUMNS);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let col = |name: &str| header.iter().position(|c| c == name).expect("column");
    let row = |email: &str| {
        rows.iter()
            .find(|r| r[col("email")] == email)
            .unwrap_or_else(|| panic!("{email} in {rows:?}"))
    };
    let a = row("ada@example.com");
    assert_eq!(a[col("name")], "Ada Lovelace");
    assert_eq!(a[col("company")], "Summit Plumbing, LLC");
    assert_eq!(a[col("apps")], "ghl; invoco");
    assert_eq!(
        (
            a[col("open_tasks")].as_str(),
            a[col("overdue_tasks")].as_str(),
            a[col("completed_tasks")].as_str(),
            a[col("next_task")].as_str(),
            a[col("notes")].as_str(),
        ),
        ("2", "1", "1", "Send the first invoice", "2"),
        "GHL's tasks, and a note in each app"
    );
    let i = row("ivy@example.com");
    assert_eq!(i[col("name")], "Ivy Ng");
    assert_eq!(i[col("apps")], "ghl; invoco");
    assert_eq!(
        (
            i[col("open_tasks")].as_str(),
            i[col("next_task")].as_str(),
            i[col("notes")].as_str()
        ),
        ("1", "Call Ivy back", "2")
    );

    // One row per record: each person's contact, tasks and notes, in the app that holds them.
    let (header, rows) = read_csv(&reports.join(format!("invoco-{date}-records.csv")));
    assert_eq!(header, RECORD_COLUMNS);
    let col = |name: &str| header.iter().position(|c| c == name).expect("column");
    let got: BTreeSet<(String, String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r[col("email")].clone(),
                r[col("connection")].clone(),
                r[col("kind")].clone(),
                r[col("title")].clone(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String, String, String)> = [
        ("ada@example.com", "ghl", "contact", "Ada Lovelace"),
        ("ada@example.com", "ghl", "task", "Send the first invoice"),
        ("ada@example.com", "ghl", "task", "Confirm the call script"),
        ("ada@example.com", "ghl", "task", "Set up auto-pay"),
        (
            "ada@example.com",
            "ghl",
            "note",
            "Wants calls answered \"after 6pm\", weekdays",
        ),
        ("ada@example.com", "invoco", "contact", "Ada Lovelace"),
        ("ada@example.com", "invoco", "note", "Invoco: paid on time"),
        ("ivy@example.com", "ghl", "contact", "Ivy Ng"),
        ("ivy@example.com", "ghl", "note", "GHL: asked for a quote"),
        ("ivy@example.com", "invoco", "contact", "Ivy Ng"),
        ("ivy@example.com", "invoco", "task", "Call Ivy back"),
        ("ivy@example.com", "invoco", "note", "Invoco: renewal due"),
    ]
    .into_iter()
    .map(|(a, b, c, d)| (a.into(), b.into(), c.into(), d.into()))
    .collect();
    assert_eq!(got, want, "{rows:?}");
    assert_eq!(rows.len(), want.len(), "no record twice");

    // The same due time never fires again.
    assert_eq!(
        fx.engine
            .run_schedules(t0 + Duration::days(8) + Duration::minutes(5))
            .await
            .expect("tick"),
        Some(0)
    );
    assert_eq!(fx.run().await, 0);
}
