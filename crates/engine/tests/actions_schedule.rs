//! Scheduled flows fire once per due time, only on the scheduler's leader, and remember across a
//! restart what they fired; manual runs enqueue one job for a record (or none).

mod actions_support;

use actions_support::{options, world};
use chrono::{Duration, Utc};
use connectors::{EntityKind, MatchKey};
use engine::store::ChangeOp;
use engine::sync::RecordRef;
use serde_json::json;

const DAILY: &str = r#"
name: Close daily checks
trigger: {schedule: {every: 1h}}
actions:
  - complete_task: {connection: ghl, title: Daily check}
"#;

const PUSH: &str = r#"
name: Push to CRM
trigger: manual
actions:
  - upsert: {connection: crm, kind: contact, match: [email]}
"#;

const WELCOME: &str = r#"
name: Welcome
trigger: ghl.contact.created
actions:
  - create_related:
      kind: task
      items:
        - {title: "Welcome {{ first_name }}", due: +1d}
"#;

fn open_daily_checks(w: &actions_support::World, contact: &str) -> usize {
    w.ghl_tasks(contact)
        .iter()
        .filter(|t| t.title == "Daily check" && !t.completed)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_fire_once_per_due_time_on_the_leader_only() {
    let w = world(&[("daily.yaml", DAILY)]).await;
    let hal = w.ghl_contact(json!({"firstName": "Hal", "email": "hal@example.com"}));
    let ida = w.ghl_contact(json!({"firstName": "Ida", "email": "ida@example.com"}));
    for c in [&hal, &ida] {
        w.ghl_task(
            c,
            json!({"title": "Daily check", "dueDate": "2030-01-01T00:00:00Z"}),
        );
    }
    let other = w.ghl_task(
        &hal,
        json!({"title": "Something else", "dueDate": "2030-01-01T00:00:00Z"}),
    );
    let a = &w.engine; // process `engine-a`
    let b = w.another_engine(options("engine-b")).await;
    let t0 = Utc::now();

    // First sight: the schedule starts counting, nothing fires.
    assert_eq!(a.run_schedules(t0).await.expect("tick"), Some(0));
    // Another process does nothing while `engine-a` holds the scheduler lease.
    assert_eq!(
        b.run_schedules(t0 + Duration::hours(2))
            .await
            .expect("tick"),
        None
    );
    assert_eq!(
        a.run_schedules(t0 + Duration::minutes(30))
            .await
            .expect("tick"),
        Some(0)
    );
    assert_eq!(
        a.run_schedules(t0 + Duration::hours(1))
            .await
            .expect("tick"),
        Some(1)
    );
    assert_eq!(
        a.run_schedules(t0 + Duration::minutes(70))
            .await
            .expect("tick"),
        Some(0),
        "a due time fires once"
    );
    assert_eq!(w.run().await, 1, "one run for one due time");
    assert_eq!(open_daily_checks(&w, &hal) + open_daily_checks(&w, &ida), 0);
    assert!(
        w.ghl_tasks(&hal)
            .iter()
            .any(|t| t.id == other && !t.completed),
        "other tasks are left alone"
    );
    let changes = w.changes("Close daily checks").await;
    assert_eq!(changes.len(), 2);
    assert!(changes
        .iter()
        .all(|c| c.change.kind == "task" && c.change.op == ChangeOp::Update));

    // `engine-a` stops (gives the lease up); `engine-c` takes over with the persisted cursor.
    assert!(w
        .store()
        .release_lead("scheduler", "engine-a")
        .await
        .expect("release"));
    let c = w.another_engine(options("engine-c")).await;
    assert_eq!(
        c.run_schedules(t0 + Duration::minutes(80))
            .await
            .expect("tick"),
        Some(0),
        "the due time `engine-a` fired does not fire again"
    );
    w.ghl_task(
        &ida,
        json!({"title": "Daily check", "dueDate": "2030-01-03T00:00:00Z"}),
    );
    // Three hours later: the missed due times fire once, for the latest.
    assert_eq!(
        c.run_schedules(t0 + Duration::minutes(185))
            .await
            .expect("tick"),
        Some(1)
    );
    assert_eq!(
        b.run_schedules(t0 + Duration::hours(5))
            .await
            .expect("tick"),
        None,
        "`engine-c` leads now"
    );
    assert_eq!(w.run().await, 1);
    assert_eq!(open_daily_checks(&w, &ida), 0);
    assert_eq!(w.changes("Close daily checks").await.len(), 3);
    let stats = w.store().queue_stats().await.expect("stats");
    assert_eq!((stats.pending, stats.dead), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_runs_enqueue_one_job_for_a_record_or_none() {
    let w = world(&[
        ("daily.yaml", DAILY),
        ("push.yaml", PUSH),
        ("welcome.yaml", WELCOME),
    ])
    .await;
    let jo =
        w.ghl_contact(json!({"firstName": "Jo", "lastName": "March", "email": "jo@example.com"}));
    let jo_ref = RecordRef {
        connection: "ghl".into(),
        kind: EntityKind::Contact,
        id: jo.clone(),
        parent_id: None,
        deleted: false,
    };

    // A `manual` flow, for a GHL contact: it lands in the CRM.
    w.engine
        .run_manual("Push to CRM", Some(jo_ref.clone()))
        .await
        .expect("enqueued");
    assert_eq!(w.run().await, 1);
    let crm = w.connectors["crm"]
        .find(
            EntityKind::Contact,
            &MatchKey::Email("jo@example.com".into()),
        )
        .await
        .expect("lookup")
        .expect("pushed to the CRM");
    assert_eq!(crm.fields["last_name"], "March");

    // An event flow, run by hand for a contact no webhook announced.
    w.engine
        .run_manual("Welcome", Some(jo_ref.clone()))
        .await
        .expect("enqueued");
    assert_eq!(w.run().await, 1);
    let titles: Vec<String> = w.ghl_tasks(&jo).into_iter().map(|t| t.title).collect();
    assert_eq!(titles, ["Welcome Jo"]);

    // A scheduled flow, now, with no record.
    w.ghl_task(
        &jo,
        json!({"title": "Daily check", "dueDate": "2030-01-01T00:00:00Z"}),
    );
    w.engine
        .run_manual("Close daily checks", None)
        .await
        .expect("enqueued");
    assert_eq!(w.run().await, 1);
    assert_eq!(open_daily_checks(&w, &jo), 0);

    // What a manual run refuses.
    let task_ref = RecordRef {
        kind: EntityKind::Task,
        ..jo_ref
    };
    for (flow, record) in [
        ("No such flow", None),
        ("Welcome", None),
        ("Welcome", Some(task_ref)),
    ] {
        assert!(
            w.engine.run_manual(flow, record).await.is_err(),
            "{flow} refused"
        );
    }
    let stats = w.store().queue_stats().await.expect("stats");
    assert_eq!((stats.pending, stats.dead), (0, 0));
}
