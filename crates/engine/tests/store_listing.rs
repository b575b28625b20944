//! The admin API's listings on both backends: recent events (filters, paging, newest first),
//! recent runs (done and dead ones included, with start, finish, duration, attempts and last
//! error), flow switch overrides, and the engine honouring a switched-off flow at once.

mod store_support;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use connectors::{ChangeHint, EntityKind};
use engine::flow::{parse_flow, AppKind, Connections};
use engine::flow_state::{self, DisabledFlows};
use engine::runtime::{Engine, EngineOptions};
use engine::store::{Commit, EventFilter, EventSource, FailOutcome, JobState, Page, RunFilter};
use store_support::{job, micros_now, store_tests, webhook, TestDb};

store_tests!(
    events_filter_page_and_newest_first,
    runs_show_finished_work_with_times,
    flow_overrides_persist,
    switches_reach_other_processes,
    disabled_flow_starts_no_jobs_until_enabled
);

fn page(limit: u32, offset: u32) -> Page {
    Page { limit, offset }
}

async fn events_filter_page_and_newest_first(db: TestDb) {
    let store = db.store;
    let before = micros_now();
    let mut poll = webhook("crm", "p-1", "c9");
    poll.source = EventSource::Poll;
    poll.kind = "opportunity".into();
    store
        .append_events(&[
            webhook("ghl", "wh-1", "c1"),
            webhook("ghl", "wh-2", "c2"),
            poll,
            webhook("ghl", "wh-3", "c3"),
        ])
        .await
        .expect("append");

    let all = store
        .list_events(&EventFilter::default())
        .await
        .expect("list");
    let keys: Vec<&str> = all.iter().map(|e| e.event.event_key.as_str()).collect();
    assert_eq!(keys, ["wh-3", "p-1", "wh-2", "wh-1"], "newest first");

    let ghl = EventFilter {
        connection_id: Some("ghl".into()),
        page: page(2, 1),
        ..Default::default()
    };
    let keys: Vec<String> = store
        .list_events(&ghl)
        .await
        .expect("list")
        .into_iter()
        .map(|e| e.event.event_key)
        .collect();
    assert_eq!(
        keys,
        ["wh-2", "wh-1"],
        "connection filter, then offset 1 limit 2"
    );

    let polled = EventFilter {
        source: Some(EventSource::Poll),
        ..Default::default()
    };
    let got = store.list_events(&polled).await.expect("list");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].event.connection_id, "crm");
    let by_kind = EventFilter {
        kind: Some("opportunity".into()),
        ..Default::default()
    };
    assert_eq!(store.list_events(&by_kind).await.expect("list").len(), 1);
    let contacts_of_crm = EventFilter {
        connection_id: Some("crm".into()),
        kind: Some("contact".into()),
        ..Default::default()
    };
    assert!(store
        .list_events(&contacts_of_crm)
        .await
        .expect("list")
        .is_empty());

    let since_before = EventFilter {
        since: Some(before),
        ..Default::default()
    };
    assert_eq!(
        store.list_events(&since_before).await.expect("list").len(),
        4
    );
    let future = EventFilter {
        since: Some(Utc::now() + chrono::Duration::hours(1)),
        ..Default::default()
    };
    assert!(store.list_events(&future).await.expect("list").is_empty());
}

async fn runs_show_finished_work_with_times(db: TestDb) {
    let store = db.store;
    let lease = Duration::from_secs(30);
    // One run that succeeds, one that dies, one still waiting.
    store
        .enqueue(job("sync", "contact:ok"))
        .await
        .expect("enqueue");
    let mut doomed = job("welcome", "contact:bad");
    doomed.max_attempts = Some(1);
    store.enqueue(doomed).await.expect("enqueue");
    let claimed = store.claim("w1", 2, lease).await.expect("claim");
    assert_eq!(claimed.len(), 2);
    for j in &claimed {
        if j.flow_id == "sync" {
            tokio::time::sleep(Duration::from_millis(20)).await;
            store
                .complete(j.id, "w1", Commit::default())
                .await
                .expect("complete");
        } else {
            let out = store
                .fail(j.id, "w1", "HTTP 500 from the CRM", Duration::from_secs(1))
                .await
                .expect("fail");
            assert!(matches!(out, FailOutcome::Dead { .. }), "{out:?}");
        }
    }
    store
        .enqueue(job("sync", "contact:later"))
        .await
        .expect("enqueue");

    let runs = store.list_runs(&RunFilter::default()).await.expect("runs");
    assert_eq!(runs.len(), 3, "done, dead and pending runs: {runs:?}");
    assert_eq!(
        runs[0].entity_key, "contact:later",
        "most recently changed first"
    );
    assert_eq!(runs[0].state, JobState::Pending);
    assert_eq!(runs[0].started_at, None);
    assert_eq!(runs[0].duration_ms, None);

    let done = runs
        .iter()
        .find(|r| r.state == JobState::Done)
        .expect("the done run is listed");
    assert_eq!(done.flow_id, "sync");
    let (started, finished) = (
        done.started_at.expect("start"),
        done.finished_at.expect("finish"),
    );
    assert!(finished >= started);
    assert!(done.duration_ms.expect("duration") >= 20, "{done:?}");
    assert_eq!(done.last_error, None);

    let dead = runs
        .iter()
        .find(|r| r.state == JobState::Dead)
        .expect("the dead run is listed");
    assert_eq!(dead.flow_id, "welcome");
    assert_eq!(dead.attempts, 1);
    assert_eq!(dead.last_error.as_deref(), Some("HTTP 500 from the CRM"));
    assert!(dead.started_at.is_some() && dead.finished_at.is_some());

    let only_sync = RunFilter {
        flow_id: Some("sync".into()),
        ..Default::default()
    };
    assert_eq!(store.list_runs(&only_sync).await.expect("runs").len(), 2);
    let only_dead = RunFilter {
        state: Some(JobState::Dead),
        ..Default::default()
    };
    let d = store.list_runs(&only_dead).await.expect("runs");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].job_id, dead.job_id);
    let second_page = RunFilter {
        page: page(1, 1),
        ..Default::default()
    };
    let p = store.list_runs(&second_page).await.expect("runs");
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].job_id, runs[1].job_id);
    let future = RunFilter {
        since: Some(Utc::now() + chrono::Duration::hours(1)),
        ..Default::default()
    };
    assert!(store.list_runs(&future).await.expect("runs").is_empty());

    // Pruning removes finished history (done runs); dead and pending stay.
    store
        .prune(Utc::now() + chrono::Duration::seconds(1))
        .await
        .expect("prune");
    let left: Vec<JobState> = store
        .list_runs(&RunFilter::default())
        .await
        .expect("runs")
        .into_iter()
        .map(|r| r.state)
        .collect();
    assert!(!left.contains(&JobState::Done), "{left:?}");
    assert_eq!(left.len(), 2);
}

async fn flow_overrides_persist(db: TestDb) {
    let store = db.store.clone();
    assert!(store.flow_states().await.expect("read").is_empty());
    flow_state::set_enabled(store.as_ref(), "welcome", false)
        .await
        .expect("disable");
    flow_state::set_enabled(store.as_ref(), "sync", false)
        .await
        .expect("disable");
    // Another process (a restart) reads the switches back.
    let other = db.open_another().await;
    let set = DisabledFlows::default();
    let off = flow_state::load(other.as_ref(), &set).await.expect("load");
    assert_eq!(off, ["sync", "welcome"]);
    let states = other.flow_states().await.expect("read");
    assert!(states.iter().all(|s| !s.enabled));
    flow_state::set_enabled(store.as_ref(), "welcome", true)
        .await
        .expect("enable");
    let names: Vec<String> = store
        .flow_states()
        .await
        .expect("read")
        .into_iter()
        .map(|s| s.flow_id)
        .collect();
    assert_eq!(names, ["sync"], "enabling removes the override");
    other.close().await;
}

async fn switches_reach_other_processes(db: TestDb) {
    let other = db.open_another().await;
    let seen = DisabledFlows::default();
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let follower = tokio::spawn(flow_state::follow(
        other.clone(),
        seen.clone(),
        Duration::from_millis(20),
        stop,
    ));
    flow_state::set_enabled(db.store.as_ref(), "welcome", false)
        .await
        .expect("disable");
    store_support::eventually(Duration::from_secs(5), "the switch off", || {
        let seen = seen.clone();
        async move { seen.contains("welcome").then_some(()) }
    })
    .await;
    flow_state::set_enabled(db.store.as_ref(), "welcome", true)
        .await
        .expect("enable");
    store_support::eventually(Duration::from_secs(5), "the switch on", || {
        let seen = seen.clone();
        async move { (!seen.contains("welcome")).then_some(()) }
    })
    .await;
    stop_tx.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(5), follower)
        .await
        .expect("follow stops when told")
        .expect("follow task");
    other.close().await;
}

const FLOW: &str = r#"
name: contacts
sync:
  source: ghl
  target: crm
  kinds: [contact]
  mapping:
    contact:
      - {to: email, from: email}
"#;

fn hint(id: &str, event: &str) -> ChangeHint {
    ChangeHint {
        kind: EntityKind::Contact,
        id: id.into(),
        parent_id: None,
        deleted: false,
        event_id: event.into(),
        event_type: "ContactUpdate".into(),
    }
}

async fn disabled_flow_starts_no_jobs_until_enabled(db: TestDb) {
    let conns: Connections = [
        ("ghl".to_string(), AppKind::Ghl),
        ("crm".to_string(), AppKind::YourApp),
    ]
    .into_iter()
    .collect();
    let flow = parse_flow(FLOW, "flows/contacts.yaml", &conns).expect("flow");
    let engine = Engine {
        store: db.store.clone(),
        flows: vec![flow],
        connectors: BTreeMap::new(),
        options: EngineOptions::default(),
    };
    let on = engine
        .ingest("ghl", &[hint("c1", "e1")], EventSource::Webhook)
        .await
        .expect("ingest");
    assert_eq!(on.jobs, 1, "an enabled flow starts a job");

    // What the admin API's disable does: persist, then switch the running engine.
    let switch = engine.options.disabled_flows.clone();
    flow_state::set_enabled(engine.store.as_ref(), "contacts", false)
        .await
        .expect("persist");
    switch.set("contacts", false);
    assert!(!engine.flow_enabled(&engine.flows[0]));
    let off = engine
        .ingest("ghl", &[hint("c2", "e2")], EventSource::Webhook)
        .await
        .expect("ingest");
    assert_eq!(
        (off.events, off.jobs),
        (1, 0),
        "the event is kept, no job starts"
    );

    switch.set("contacts", true);
    let again = engine
        .ingest("ghl", &[hint("c3", "e3")], EventSource::Webhook)
        .await
        .expect("ingest");
    assert_eq!(again.jobs, 1, "enabled again, new events start jobs");
    let keys: Vec<String> = engine
        .store
        .list_runs(&RunFilter::default())
        .await
        .expect("runs")
        .into_iter()
        .map(|r| r.entity_key)
        .collect();
    assert!(
        keys.iter().all(|k| !k.contains("c2")),
        "no run for the event seen while disabled: {keys:?}"
    );
    assert_eq!(keys.len(), 2);
}
