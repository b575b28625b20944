//! Onboarding, end to end over real HTTP: a contact created in GHL gets its onboarding tasks, a
//! note and a tag, exactly once — when the webhook is redelivered, when the flow runs again for
//! the same contact, when the engine retries after a fault, and after a crash between a create
//! and its bookkeeping. A contact the filter rejects gets nothing.

mod actions_support;

use actions_support::{hint, options, world, world_with};
use chrono::{DateTime, Duration, Utc};
use connectors::EntityKind;
use engine::actions::{run_actions, ActionJob, ActionPayload, HintEvent, Origin};
use engine::store::{ChangeOp, DlqFilter, Page};
use engine::sync::RecordRef;
use ghl_sandbox::ghl::faults::FaultRule;
use serde_json::json;

const ONBOARDING: &str = r#"
name: Onboard new clients
trigger: ghl.contact.created
filter: {field: tags, contains: client}
actions:
  - create_related:
      kind: task
      items:
        - title: "Welcome call with {{ first_name }}"
          body: "Introduce the team to {{ first_name }}."
          due: +1d
        - {title: Send the onboarding pack, due: +2d}
        - {title: 30-day check-in, due: +30d}
  - add_note: "Onboarding started for {{ first_name }} {{ last_name }}."
  - add_tags: [onboarded]
"#;

const FLOW: &str = "Onboard new clients";

fn due(t: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(t)
        .map(|d| d.with_timezone(&Utc))
        .expect("due date")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_tasks_are_created_once_per_contact() {
    let w = world(&[("onboarding.yaml", ONBOARDING)]).await;
    let ada = w.ghl_contact(json!({
        "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "tags": ["client"]
    }));
    let before = Utc::now();
    let created = hint(EntityKind::Contact, &ada, None, "ContactCreate", "wh-1");
    assert_eq!(
        w.hint("ghl", created.clone()).await,
        1,
        "one job for the flow"
    );
    assert_eq!(w.run().await, 1);
    let after = Utc::now();

    let tasks = w.ghl_tasks(&ada);
    let titles: Vec<&str> = tasks.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Welcome call with Ada",
            "Send the onboarding pack",
            "30-day check-in"
        ]
    );
    assert_eq!(tasks[0].body.as_deref(), Some("Introduce the team to Ada."));
    for (task, days) in tasks.iter().zip([1, 2, 30]) {
        let at = due(&task.due_date);
        // GHL keeps due dates to the second.
        assert!(
            at >= before + Duration::days(days) - Duration::seconds(1)
                && at <= after + Duration::days(days),
            "{} due {at}",
            task.title
        );
        assert!(!task.completed);
    }
    let notes = w.ghl_notes(&ada);
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].body, "Onboarding started for Ada Lovelace.");
    assert!(w.ghl_tags(&ada).contains(&"onboarded".to_string()));

    // Every write is audited, under the job.
    let changes = w.changes(FLOW).await;
    let ops: Vec<(&str, ChangeOp)> = changes
        .iter()
        .map(|c| (c.change.kind.as_str(), c.change.op))
        .collect();
    assert_eq!(
        ops,
        [
            ("task", ChangeOp::Create),
            ("task", ChangeOp::Create),
            ("task", ChangeOp::Create),
            ("note", ChangeOp::Create),
            ("contact", ChangeOp::Update),
        ]
    );
    assert!(changes.iter().all(|c| c.change.job_id.is_some()));
    assert_eq!(changes[4].change.diff[0].field, "tags");

    // The same webhook again: dropped at the door.
    assert_eq!(w.hint("ghl", created).await, 0);
    // Another delivery of the create under a new webhook id: the flow runs again and writes
    // nothing.
    let writes = w.ghl_writes().await;
    w.hint(
        "ghl",
        hint(EntityKind::Contact, &ada, None, "ContactCreate", "wh-2"),
    )
    .await;
    assert_eq!(w.run().await, 1, "the flow ran again");
    assert_eq!(w.ghl_tasks(&ada).len(), 3);
    assert_eq!(w.ghl_notes(&ada).len(), 1);
    assert_eq!(w.ghl_writes().await, writes, "no write the second time");
    assert_eq!(w.changes(FLOW).await.len(), 5);

    // Running the job body twice directly (no queue in between) makes the items once too.
    let bob =
        w.ghl_contact(json!({"firstName": "Bob", "email": "bob@example.com", "tags": ["client"]}));
    let flow = w.flows.iter().find(|f| f.name == FLOW).expect("flow");
    let job = ActionJob {
        flow,
        store: w.store(),
        connectors: &w.connectors,
        job_id: None,
        project_dir: None,
    };
    let payload = ActionPayload {
        record: Some(RecordRef {
            connection: "ghl".into(),
            kind: EntityKind::Contact,
            id: bob.clone(),
            parent_id: None,
            deleted: false,
        }),
        origin: Origin::Event {
            event: HintEvent::Created,
        },
    };
    let first = run_actions(&job, &payload, Utc::now())
        .await
        .expect("first run");
    let second = run_actions(&job, &payload, Utc::now())
        .await
        .expect("second run");
    assert_eq!(first.changes.len(), 5);
    assert!(second.changes.is_empty(), "{:?}", second.changes);
    assert_eq!(w.ghl_tasks(&bob).len(), 3);
    assert_eq!(w.ghl_notes(&bob).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_the_filter_rejects_gets_nothing() {
    let w = world(&[("onboarding.yaml", ONBOARDING)]).await;
    let lead =
        w.ghl_contact(json!({"firstName": "Lee", "email": "lee@example.com", "tags": ["lead"]}));
    let writes = w.ghl_writes().await;
    w.hint(
        "ghl",
        hint(EntityKind::Contact, &lead, None, "ContactCreate", "wh-lee"),
    )
    .await;
    assert_eq!(w.run().await, 1);
    assert!(w.ghl_tasks(&lead).is_empty());
    assert!(w.ghl_notes(&lead).is_empty());
    assert_eq!(w.ghl_writes().await, writes);
    assert!(w.changes(FLOW).await.is_empty());
    let stats = w.store().queue_stats().await.expect("stats");
    assert_eq!((stats.pending, stats.dead), (0, 0), "skipped, not failed");

    // Updates do not start a `created` flow.
    assert_eq!(
        w.hint(
            "ghl",
            hint(
                EntityKind::Contact,
                &lead,
                None,
                "ContactUpdate",
                "wh-lee-2"
            )
        )
        .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_after_a_fault_create_nothing_twice() {
    // Retries are due at once, so one `run_until_idle` goes through every attempt.
    let mut opts = options("engine-a");
    opts.retry_base = std::time::Duration::ZERO;
    opts.retry_cap = std::time::Duration::ZERO;
    let w = world_with(&[("onboarding.yaml", ONBOARDING)], opts).await;
    // GHL fails every note create: the tasks are made, then the run fails at the note.
    w.ghl.state.faults.set_rules(vec![FaultRule {
        route: "create-note".into(),
        error_rate: 1.0,
        ..Default::default()
    }]);
    let cy =
        w.ghl_contact(json!({"firstName": "Cy", "email": "cy@example.com", "tags": ["client"]}));
    w.hint(
        "ghl",
        hint(EntityKind::Contact, &cy, None, "ContactCreate", "wh-cy"),
    )
    .await;
    let ran = w.run().await;
    assert_eq!(ran, 8, "every attempt ran, then the job went dead");
    assert_eq!(w.ghl_tasks(&cy).len(), 3, "tasks made once over 8 attempts");
    assert!(w.ghl_notes(&cy).is_empty());
    // The failed attempts' writes are audited all the same (only the first made any).
    let creates = w.changes(FLOW).await;
    assert_eq!(creates.len(), 3, "{creates:?}");

    // GHL recovers; the dead job is replayed and finishes the onboarding.
    w.ghl.state.faults.set_rules(Vec::new());
    let dead = w
        .store()
        .dlq_list(&DlqFilter::default(), Page::default())
        .await
        .expect("dlq");
    assert_eq!(dead.len(), 1);
    assert!(dead[0].last_error.is_some());
    w.store().dlq_replay(dead[0].id).await.expect("replay");
    assert_eq!(w.run().await, 1);
    assert_eq!(w.ghl_tasks(&cy).len(), 3);
    assert_eq!(w.ghl_notes(&cy).len(), 1);
    assert!(w.ghl_tags(&cy).contains(&"onboarded".to_string()));
    let ops: Vec<String> = w
        .changes(FLOW)
        .await
        .iter()
        .map(|c| c.change.kind.clone())
        .collect();
    assert_eq!(ops, ["task", "task", "task", "note", "contact"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_left_unconfirmed_by_a_crash_is_found_not_repeated() {
    let w = world(&[("onboarding.yaml", ONBOARDING)]).await;
    let dee =
        w.ghl_contact(json!({"firstName": "Dee", "email": "dee@example.com", "tags": ["client"]}));
    // What a crash right after the first create leaves: the marker reserved (see
    // `engine::actions` — `<flow>#<step>.<item>@<contact>`), the task in GHL, no confirmation.
    w.store()
        .resolve_identity("flow_marker", "ghl", &format!("{FLOW}#0.0@{dee}"), &[])
        .await
        .expect("marker reserved");
    w.ghl_task(
        &dee,
        json!({"title": "Welcome call with Dee", "body": "Introduce the team to Dee.",
               "dueDate": "2030-01-01T00:00:00Z"}),
    );
    w.hint(
        "ghl",
        hint(EntityKind::Contact, &dee, None, "ContactCreate", "wh-dee"),
    )
    .await;
    assert_eq!(w.run().await, 1);
    let titles: Vec<String> = w.ghl_tasks(&dee).into_iter().map(|t| t.title).collect();
    assert_eq!(
        titles,
        [
            "Welcome call with Dee",
            "Send the onboarding pack",
            "30-day check-in"
        ]
    );
    // Only the two missing tasks were created (and the note and the tag).
    assert_eq!(w.changes(FLOW).await.len(), 4);
}
