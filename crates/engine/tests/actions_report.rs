//! The `report` action on SQLite, over real HTTP to the GHL sandbox and the Your App emulator: a
//! scheduled report writes every linked person's records (both apps) into the project folder,
//! rewriting the same file when run again; a run for a record reports on that record's person;
//! a rendered path that would leave the project folder, and an engine without a project
//! folder, fail the run and write nothing.

mod actions_support;

use std::collections::BTreeSet;
use std::path::Path;

use actions_support::{hint, world, World};
use chrono::{Duration, Utc};
use connectors::EntityKind;
use engine::runtime::{Engine, EngineOptions};
use engine::store::JobId;
use engine::sync::RecordRef;
use engine::unified::{csv, RECORD_COLUMNS, TIMELINE_COLUMNS};
use serde_json::{json, Value};

const CONTACTS: &str = "name: Contacts to the CRM
sync:
  source: ghl
  target: crm
  kinds: [contact]
  match: {contact: [email]}
";

const WEEKLY: &str = r#"name: Weekly report
trigger: {schedule: {cron: "0 7 * * 1"}}
actions:
  - report: {kind: records, format: csv, to: "reports/weekly-{{ now[:10] }}.csv"}
  - report: {to: reports/summary.json}
"#;

const ON_TASK: &str = r#"name: Report on a new task
trigger: ghl.task.created
actions:
  - report: {kind: timeline, to: "reports/people/{{ contact.id }}.csv"}
"#;

const BY_HAND: &str = r#"name: Report by city
trigger: manual
actions:
  - report: {to: "reports/{{ city }}.csv"}
"#;

/// An engine on the world's store and apps that writes reports into the world's project folder.
async fn reporting_engine(w: &World) -> Engine {
    w.another_engine(EngineOptions {
        process_id: "engine-reports".into(),
        project_dir: Some(w.dir.path().to_path_buf()),
        ..EngineOptions::default()
    })
    .await
}

/// A CSV file of the project folder, parsed (header first).
fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    csv::parse(&text).unwrap_or_else(|e| panic!("{path:?} parses: {e:?}"))
}

/// Files directly in a folder, by name.
fn files_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The CRM twin of a GHL contact, through the identity links the sync made.
async fn crm_twin(w: &World, ghl_id: &str) -> String {
    let link = w
        .store()
        .find_link("ghl", "contact", ghl_id)
        .await
        .expect("find")
        .expect("linked");
    w.store()
        .links_of(link.identity_id)
        .await
        .expect("links")
        .into_iter()
        .find(|l| l.connection_id == "crm")
        .map(|l| l.external_id)
        .expect("a crm twin")
}

async fn crm_note(w: &World, contact: &str, body: &str) {
    let resp = reqwest::Client::new()
        .post(format!("{}/contacts/{contact}/notes", w.crm.api_url()))
        .bearer_auth(w.crm.api_key())
        .json(&json!({"body": body}))
        .send()
        .await
        .expect("note");
    assert!(resp.status().is_success(), "{}", resp.status());
}

/// The last error of a job that did not complete.
async fn last_error(w: &World, job: JobId) -> String {
    let j = w.store().job(job).await.expect("job").expect("exists");
    j.last_error.unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_report_writes_every_linked_persons_rows() {
    let w = world(&[("contacts.yaml", CONTACTS), ("weekly.yaml", WEEKLY)]).await;
    let eng = reporting_engine(&w).await;
    let ada = w.ghl_contact(
        json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"}),
    );
    let bob =
        w.ghl_contact(json!({"firstName": "Bob", "lastName": "Byte", "email": "bob@example.com"}));
    w.ghl_task(
        &ada,
        json!({"title": "Call Ada, then \"email\"", "dueDate": "2035-01-01T09:00:00Z"}),
    );
    w.ghl
        .state
        .create_note(
            &ada,
            json!({"body": "Met Ada at the expo"})
                .as_object()
                .expect("object"),
        )
        .expect("note");
    eng.poll_once().await.expect("poll");
    eng.reconcile_once().await.expect("reconcile");
    eng.run_until_idle().await.expect("sync runs");
    let ada_crm = crm_twin(&w, &ada).await;
    crm_note(&w, &ada_crm, "Signed, in the CRM").await;
    crm_twin(&w, &bob).await;

    // The schedule: first sight counts, a week later it fires once.
    let t0 = Utc::now();
    assert_eq!(eng.run_schedules(t0).await.expect("tick"), Some(0));
    assert_eq!(
        eng.run_schedules(t0 + Duration::days(8))
            .await
            .expect("tick"),
        Some(1)
    );
    assert_eq!(eng.run_until_idle().await.expect("runs"), 1);
    let stats = w.store().queue_stats().await.expect("stats");
    assert_eq!(
        (stats.pending, stats.dead),
        (0, 0),
        "the report run succeeded"
    );

    let reports = w.dir.path().join("reports");
    let files = files_in(&reports);
    let weekly: Vec<&String> = files.iter().filter(|f| f.starts_with("weekly-")).collect();
    assert_eq!(weekly.len(), 1, "{files:?}");
    let name = weekly[0].clone();
    // `now[:10]` is the run's date.
    let date = name
        .strip_prefix("weekly-")
        .and_then(|n| n.strip_suffix(".csv"))
        .expect("weekly-<date>.csv");
    assert!(
        chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok(),
        "{name}"
    );
    assert_eq!(
        files,
        BTreeSet::from([name.clone(), "summary.json".to_string()]),
        "the two reports and nothing else (no temporary file left)"
    );

    let rows = read_csv(&reports.join(&name));
    assert_eq!(rows[0], RECORD_COLUMNS);
    let col = |c: &str| RECORD_COLUMNS.iter().position(|x| *x == c).expect("column");
    let got: BTreeSet<(String, String, String, String)> = rows[1..]
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
        ("ada@example.com", "ghl", "task", "Call Ada, then \"email\""),
        ("ada@example.com", "ghl", "note", "Met Ada at the expo"),
        ("ada@example.com", "crm", "contact", "Ada Lovelace"),
        ("ada@example.com", "crm", "note", "Signed, in the CRM"),
        ("bob@example.com", "ghl", "contact", "Bob Byte"),
        ("bob@example.com", "crm", "contact", "Bob Byte"),
    ]
    .into_iter()
    .map(|(a, b, c, d)| (a.into(), b.into(), c.into(), d.into()))
    .collect();
    assert_eq!(got, want, "{rows:?}");
    assert_eq!(rows.len(), 1 + want.len(), "no row twice");

    // The second report: JSON, one row per person.
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(reports.join("summary.json")).expect("summary"),
    )
    .expect("JSON");
    let people = summary.as_array().expect("an array");
    assert_eq!(people.len(), 2);
    let a = people
        .iter()
        .find(|p| p["email"] == "ada@example.com")
        .expect("Ada");
    assert_eq!(
        (&a["open_tasks"], &a["notes"], &a["apps"]),
        (&json!(1), &json!(2), &json!(["ghl", "crm"]))
    );

    // Running it again (by hand, as after a failure) rewrites the same files.
    let job = eng.run_manual("Weekly report", None).await.expect("manual");
    assert_eq!(eng.run_until_idle().await.expect("runs"), 1);
    assert!(w.store().job(job).await.expect("job").is_some());
    let again = files_in(&reports);
    let weekly_again: Vec<&String> = again.iter().filter(|f| f.starts_with("weekly-")).collect();
    assert!(
        again.len() == 2 || (again.len() == 3 && weekly_again.len() == 2),
        "the same files (a second one only across midnight UTC): {again:?}"
    );
    let latest = weekly_again.last().expect("a weekly file");
    let rows_again = read_csv(&reports.join(latest));
    assert_eq!(rows_again.len(), rows.len());
    let stats = w.store().queue_stats().await.expect("stats");
    assert_eq!((stats.pending, stats.dead), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_for_a_record_covers_its_person_and_never_leaves_the_project_folder() {
    let w = world(&[
        ("contacts.yaml", CONTACTS),
        ("on_task.yaml", ON_TASK),
        ("by_hand.yaml", BY_HAND),
    ])
    .await;
    let eng = reporting_engine(&w).await;
    let ada =
        w.ghl_contact(json!({"firstName": "Ada", "email": "ada@example.com", "city": "Lisbon"}));
    let eve = w.ghl_contact(
        json!({"firstName": "Eve", "email": "eve@example.com", "city": "../../escaped"}),
    );
    w.ghl_task(
        &eve,
        json!({"title": "Not Ada's", "dueDate": "2035-01-01T09:00:00Z"}),
    );
    eng.poll_once().await.expect("poll");
    eng.run_until_idle().await.expect("sync runs");

    // A task event: the report covers the task's contact, in both apps, and nobody else.
    let task = w.ghl_task(
        &ada,
        json!({"title": "Call Ada", "dueDate": "2035-01-01T09:00:00Z"}),
    );
    w.ghl
        .state
        .create_note(
            &ada,
            json!({"body": "Ada said yes"}).as_object().expect("object"),
        )
        .expect("note");
    let jobs = eng
        .ingest(
            "ghl",
            &[hint(
                EntityKind::Task,
                &task,
                Some(&ada),
                "TaskCreate",
                "wh-task",
            )],
            engine::store::EventSource::Webhook,
        )
        .await
        .expect("ingest")
        .jobs;
    assert_eq!(jobs, 1);
    assert_eq!(eng.run_until_idle().await.expect("runs"), 1);
    let rows = read_csv(&w.dir.path().join(format!("reports/people/{ada}.csv")));
    assert_eq!(rows[0], TIMELINE_COLUMNS);
    let col = |c: &str| {
        TIMELINE_COLUMNS
            .iter()
            .position(|x| *x == c)
            .expect("column")
    };
    let events: BTreeSet<(String, String)> = rows[1..]
        .iter()
        .map(|r| (r[col("event")].clone(), r[col("title")].clone()))
        .collect();
    assert_eq!(
        events,
        BTreeSet::from([
            ("task open".to_string(), "Call Ada".to_string()),
            ("note".to_string(), "Ada said yes".to_string()),
        ]),
        "{rows:?}"
    );

    // By hand for a record: the path comes from the record.
    let rec = |id: &str| RecordRef {
        connection: "ghl".into(),
        kind: EntityKind::Contact,
        id: id.into(),
        parent_id: None,
        deleted: false,
    };
    eng.run_manual("Report by city", Some(rec(&ada)))
        .await
        .expect("manual");
    eng.run_until_idle().await.expect("runs");
    let rows = read_csv(&w.dir.path().join("reports/Lisbon.csv"));
    assert_eq!(rows.len(), 2, "one person: {rows:?}");
    assert!(rows[1].contains(&"ada@example.com".to_string()), "{rows:?}");

    // A value that would lead out of the project folder fails the run; nothing is written.
    let job = eng
        .run_manual("Report by city", Some(rec(&eve)))
        .await
        .expect("manual");
    eng.run_until_idle().await.expect("runs");
    let error = last_error(&w, job).await;
    assert!(error.contains("`to`") && error.contains("`..`"), "{error}");
    let outside = w.dir.path().join("reports/../../escaped.csv");
    assert!(!outside.exists(), "{outside:?} was written");
    assert_eq!(
        files_in(&w.dir.path().join("reports")),
        BTreeSet::from(["Lisbon.csv".to_string()])
    );

    // An engine that was not given the project folder writes nothing and says why.
    let job = w
        .engine
        .run_manual("Report by city", Some(rec(&ada)))
        .await
        .expect("manual");
    w.run().await;
    let error = last_error(&w, job).await;
    assert!(error.contains("project folder"), "{error}");
}

#[test]
fn a_report_flow_uses_every_connection_of_the_project() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("flows")).expect("flows");
    std::fs::write(dir.path().join("flows/weekly.yaml"), WEEKLY).expect("flow");
    let file = dir.path().join("ghl-bridge.yaml");
    std::fs::write(
        &file,
        "connections:\n  ghl: {app: ghl}\n  crm: {app: your_app}\n  inv: {app: invoco}\n",
    )
    .expect("project");
    let project = engine::flow::load_project_with(&file, &|_: &str| None).expect("loads");
    assert_eq!(project.dir(), dir.path());
    assert_eq!(
        engine::connections::connections_in_use(&project),
        BTreeSet::from(["crm".to_string(), "ghl".to_string(), "inv".to_string()])
    );
}
