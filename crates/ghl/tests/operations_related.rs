//! Tasks, notes and appointments against the GHL sandbox over real HTTP, including creates under
//! injected faults that must leave every record exactly once.

mod common;

use std::collections::HashMap;

use common::{unique, Fx};
use ghl::models::note::{CreateNote, UpdateNote};
use ghl::models::task::{CreateTask, UpdateTask};
use ghl::RetryPolicy;
use serde_json::{json, Map, Value};

fn task(title: &str) -> CreateTask {
    CreateTask {
        title: title.into(),
        body: Some("Ask about the engine".into()),
        due_date: "2030-10-25T11:00:00Z".into(),
        completed: false,
        ..CreateTask::default()
    }
}

#[tokio::test]
async fn tasks_are_created_listed_read_updated_completed_and_deleted() {
    let fx = Fx::start().await;
    let cid = fx.some_contact();
    let before = fx.client.list_tasks(&cid).await.expect("list").len();
    let mut new = task("Call back");
    new.assigned_to = fx.users().first().cloned();
    let created = fx.client.create_task(&cid, &new).await.expect("create");
    assert_eq!(created.title.as_deref(), Some("Call back"));
    assert_eq!(created.contact_id.as_deref(), Some(cid.as_str()));
    assert_eq!(created.assigned_to, new.assigned_to);
    assert!(!created.completed);

    let listed = fx.client.list_tasks(&cid).await.expect("list");
    assert_eq!(listed.len(), before + 1);
    assert!(listed.iter().any(|t| t.id == created.id));

    let got = fx.client.get_task(&cid, &created.id).await.expect("get");
    assert_eq!(got, created);

    let update = UpdateTask {
        title: Some("Call back twice".into()),
        due_date: Some("2030-11-01T09:00:00Z".into()),
        ..UpdateTask::default()
    };
    let updated = fx
        .client
        .update_task(&cid, &created.id, &update)
        .await
        .expect("update");
    assert_eq!(updated.title.as_deref(), Some("Call back twice"));
    assert_eq!(updated.body, created.body, "fields not sent stay");
    let got = fx.client.get_task(&cid, &created.id).await.expect("get");
    assert_eq!(got.due_date.as_deref(), Some("2030-11-01T09:00:00Z"));

    let done = fx
        .client
        .complete_task(&cid, &created.id, true)
        .await
        .expect("complete");
    assert!(done.completed);
    assert!(
        fx.sb
            .state
            .task(&cid, &created.id)
            .expect("stored")
            .completed
    );
    let undone = fx
        .client
        .complete_task(&cid, &created.id, false)
        .await
        .expect("reopen");
    assert!(!undone.completed);

    let ack = fx
        .client
        .delete_task(&cid, &created.id)
        .await
        .expect("delete");
    assert!(ack.succeded);
    assert!(fx.sb.state.task(&cid, &created.id).is_err());
    assert_eq!(
        fx.client.list_tasks(&cid).await.expect("list").len(),
        before
    );
}

#[tokio::test]
async fn notes_are_created_listed_read_updated_and_deleted() {
    let fx = Fx::start().await;
    let cid = fx.some_contact();
    let before = fx.client.list_notes(&cid).await.expect("list").len();
    let new = CreateNote {
        body: "Prefers email".into(),
        title: Some("Summary".into()),
        color: Some("#FFAA00".into()),
        pinned: Some(true),
        user_id: fx.users().first().cloned(),
    };
    let created = fx.client.create_note(&cid, &new).await.expect("create");
    assert_eq!(created.body.as_deref(), Some("Prefers email"));
    assert_eq!(created.pinned, Some(true));
    assert_eq!(created.user_id, new.user_id);

    let listed = fx.client.list_notes(&cid).await.expect("list");
    assert_eq!(listed.len(), before + 1);
    let got = fx.client.get_note(&cid, &created.id).await.expect("get");
    assert_eq!(got, created);

    let update = UpdateNote {
        body: Some("Prefers phone".into()),
        pinned: Some(false),
        ..UpdateNote::default()
    };
    fx.client
        .update_note(&cid, &created.id, &update)
        .await
        .expect("update");
    let got = fx.client.get_note(&cid, &created.id).await.expect("get");
    assert_eq!(got.body.as_deref(), Some("Prefers phone"));
    assert_eq!(got.pinned, Some(false));
    assert_eq!(
        got.title.as_deref(),
        Some("Summary"),
        "fields not sent stay"
    );

    let ack = fx
        .client
        .delete_note(&cid, &created.id)
        .await
        .expect("delete");
    assert!(ack.succeded);
    assert!(fx.sb.state.note(&cid, &created.id).is_err());
    assert_eq!(
        fx.client.list_notes(&cid).await.expect("list").len(),
        before
    );
}

#[tokio::test]
async fn appointments_are_listed() {
    let fx = Fx::start().await;
    let cid = fx.some_contact();
    let mut body = Map::new();
    for (k, v) in [
        ("title", "Demo"),
        ("startTime", "2030-07-16T11:00:00.000Z"),
        ("endTime", "2030-07-16T11:30:00.000Z"),
        ("notes", "bring the engine"),
    ] {
        body.insert(k.into(), Value::String(v.into()));
    }
    let booked = fx.sb.state.create_appointment(&cid, &body).expect("book");
    let events = fx.client.list_appointments(&cid).await.expect("list");
    let e = events
        .iter()
        .find(|e| e.id == booked.id)
        .expect("the booked appointment");
    assert_eq!(e.title.as_deref(), Some("Demo"));
    assert_eq!(e.contact_id.as_deref(), Some(cid.as_str()));
    assert_eq!(e.start_time.as_deref(), Some("2030-07-16T11:00:00.000Z"));
    assert_eq!(e.notes.as_deref(), Some("bring the engine"));
    assert_eq!(e.calendar_id.as_deref(), Some(booked.calendar_id.as_str()));
    assert_eq!(events.len(), fx.sb.state.appointments_of(&cid).len());
}

#[tokio::test]
async fn twenty_task_creates_under_5xx_faults_leave_each_task_exactly_once() {
    let fx = Fx::start().await;
    let cid = fx.some_contact();
    fx.faults(json!([{"route": "create-task", "errorRate": 0.5}]))
        .await;
    // Enough attempts that a run of 5xx answers cannot exhaust them (0.5^12 per create).
    let client = fx.client_with(
        &fx.sb.token(),
        RetryPolicy {
            max_attempts: 12,
            ..common::fast_retry()
        },
    );
    let titles: Vec<String> = (0..20).map(|_| unique("Follow up #")).collect();
    let mut ids = Vec::new();
    for t in &titles {
        ids.push(client.create_task(&cid, &task(t)).await.expect("create").id);
    }
    let stored = fx.sb.state.tasks_of(&cid);
    for (t, id) in titles.iter().zip(&ids) {
        let same: Vec<_> = stored.iter().filter(|s| &s.title == t).collect();
        assert_eq!(same.len(), 1, "{t} stored {} times", same.len());
        assert_eq!(&same[0].id, id, "the answer is the stored task");
    }
    let posts = fx.calls_of("create-task").await;
    let mut by_status: HashMap<u64, usize> = HashMap::new();
    for p in &posts {
        *by_status
            .entry(p["status"].as_u64().unwrap_or(0))
            .or_default() += 1;
    }
    assert_eq!(by_status.get(&201), Some(&20), "{by_status:?}");
    assert!(posts.len() > 20, "faults were injected: {by_status:?}");
    assert!(
        posts
            .iter()
            .all(|p| p["status"] == 201 || p["fault"].is_string()),
        "every failure was an injected 5xx that did nothing"
    );
}

#[tokio::test]
async fn a_task_created_but_answered_422_is_not_created_again() {
    let fx = Fx::start().await;
    let cid = fx.some_contact();
    fx.faults(json!([{"route": "create-task", "acceptThen422Rate": 1.0}]))
        .await;
    let title = unique("Only once #");
    let created = fx
        .client
        .create_task(&cid, &task(&title))
        .await
        .expect("found");
    assert_eq!(created.title.as_deref(), Some(title.as_str()));
    let stored: Vec<_> = fx
        .sb
        .state
        .tasks_of(&cid)
        .into_iter()
        .filter(|t| t.title == title)
        .collect();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, created.id);
    assert_eq!(fx.calls_of("create-task").await.len(), 1);
}

#[tokio::test]
async fn a_note_whose_answer_is_garbled_is_not_created_again() {
    let fx = Fx::start().await;
    let cid = fx.some_contact();
    fx.faults(json!([{"route": "create-note", "garbledRate": 1.0}]))
        .await;
    let body = unique("Met at the fair #");
    let new = CreateNote {
        body: body.clone(),
        title: Some("Fair".into()),
        ..CreateNote::default()
    };
    let created = fx.client.create_note(&cid, &new).await.expect("found");
    assert_eq!(created.body.as_deref(), Some(body.as_str()));
    let stored: Vec<_> = fx
        .sb
        .state
        .notes_of(&cid)
        .into_iter()
        .filter(|n| n.body == body)
        .collect();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, created.id);
    assert_eq!(fx.calls_of("create-note").await.len(), 1);
}

#[tokio::test]
async fn notes_under_5xx_faults_exist_exactly_once() {
    let fx = Fx::start().await;
    let cid = fx.some_contact();
    fx.faults(json!([{"route": "create-note", "errorRate": 0.5}]))
        .await;
    let client = fx.client_with(
        &fx.sb.token(),
        RetryPolicy {
            max_attempts: 12,
            ..common::fast_retry()
        },
    );
    let bodies: Vec<String> = (0..10).map(|_| unique("Note #")).collect();
    for b in &bodies {
        let new = CreateNote {
            body: b.clone(),
            ..CreateNote::default()
        };
        client.create_note(&cid, &new).await.expect("create");
    }
    let stored = fx.sb.state.notes_of(&cid);
    for b in &bodies {
        assert_eq!(stored.iter().filter(|n| &n.body == b).count(), 1, "{b}");
    }
}
