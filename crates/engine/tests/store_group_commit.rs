//! Many webhooks appending at once (the SQLite store commits them in groups): each caller is
//! answered with its own outcome, every acknowledged event is stored with its job, duplicates
//! are recognised across concurrent callers, and a caller whose batch is invalid fails alone
//! without taking the others of its group down or leaving part of itself behind.

mod store_support;

use std::sync::Arc;
use std::time::Duration;

use engine::store::{
    CallAudit, CallFilter, Commit, EventWithJobs, JobState, NewJob, Page, Store, StoreError,
};
use store_support::{job, store_tests, webhook, TestDb};

store_tests!(
    concurrent_appends_are_isolated_and_all_stored,
    concurrent_completions_with_lost_leases_fail_alone,
    recorded_calls_are_listed_and_outlive_the_store,
);

const CALLERS: usize = 64;

async fn concurrent_appends_are_isolated_and_all_stored(db: TestDb) {
    let store: Arc<dyn Store> = db.store;
    let mut tasks = Vec::new();
    for i in 0..CALLERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let ok = EventWithJobs {
                event: webhook("ghl", &format!("wh-{i}"), &format!("c{i}")),
                jobs: vec![job("sync-contacts", &format!("ghl:contact:c{i}"))],
            };
            // Every 8th caller also sends an event whose job is invalid: its whole batch fails.
            let batch = if i % 8 == 7 {
                vec![
                    ok,
                    EventWithJobs {
                        event: webhook("ghl", &format!("bad-{i}"), "x"),
                        jobs: vec![NewJob::new("", "ghl:contact:x")],
                    },
                ]
            } else {
                vec![ok]
            };
            // Every caller also redelivers event 0 (at-least-once senders).
            let dup = EventWithJobs {
                event: webhook("ghl", "wh-0", "c0"),
                jobs: vec![job("sync-contacts", "ghl:contact:c0")],
            };
            let first = store.append_events_and_enqueue(&batch).await;
            let again = store.append_events_and_enqueue(&[dup]).await;
            (
                i,
                first.map(|o| o.len()),
                again.expect("redelivery is accepted"),
            )
        }));
    }
    let mut stored = 0;
    let mut new_zero = 0;
    for t in tasks {
        let (i, first, again) = t.await.expect("task");
        if i % 8 == 7 {
            assert!(first.is_err(), "caller {i}'s invalid batch fails");
        } else {
            assert_eq!(first.expect("valid batch is stored"), 1, "caller {i}");
            stored += 1;
        }
        new_zero += again.iter().filter(|o| o.event_id.is_some()).count();
    }
    // Event 0 was stored once: by caller 0, or by a redelivery that came first.
    assert!(
        new_zero <= 1,
        "wh-0 stored {new_zero} times by redeliveries"
    );
    let stats = store.queue_stats().await.expect("stats");
    assert_eq!(
        stats.pending as usize, stored,
        "one job per stored event; none from failed batches"
    );
    // The failed callers left nothing: their good event is not a duplicate now.
    let retry = store
        .append_events_and_enqueue(&[EventWithJobs {
            event: webhook("ghl", "wh-7", "c7"),
            jobs: vec![],
        }])
        .await
        .expect("append");
    assert!(
        retry[0].event_id.is_some(),
        "wh-7 was rolled back with its batch"
    );
}

/// Completions share transactions with each other and with appends; one whose lease is not its
/// own fails with `LeaseLost` and changes nothing, while the others in its group complete.
async fn concurrent_completions_with_lost_leases_fail_alone(db: TestDb) {
    let store: Arc<dyn Store> = db.store;
    for i in 0..CALLERS {
        store
            .enqueue(job("sync-contacts", &format!("ghl:contact:c{i}")))
            .await
            .expect("enqueue");
    }
    let jobs = store
        .claim("w1", CALLERS as u32, Duration::from_secs(300))
        .await
        .expect("claim");
    assert_eq!(jobs.len(), CALLERS);
    let mut tasks = Vec::new();
    for (i, j) in jobs.iter().enumerate() {
        let (store, id) = (store.clone(), j.id);
        // Every 4th completion comes from a worker that does not hold the lease.
        let worker = if i % 4 == 3 { "w-other" } else { "w1" };
        tasks.push(tokio::spawn(async move {
            let appended = store
                .append_events_and_enqueue(&[EventWithJobs {
                    event: webhook("ghl", &format!("late-{i}"), &format!("d{i}")),
                    jobs: vec![job("sync-contacts", &format!("ghl:contact:d{i}"))],
                }])
                .await;
            (
                id,
                worker,
                store.complete(id, worker, Commit::default()).await,
                appended,
            )
        }));
    }
    for t in tasks {
        let (id, worker, done, appended) = t.await.expect("task");
        appended.expect("appends beside failing completions are stored");
        let state = store.job(id).await.expect("read").expect("job").state;
        if worker == "w1" {
            done.expect("the lease holder completes");
            assert_eq!(state, JobState::Done, "job {id}");
        } else {
            assert!(
                matches!(done, Err(StoreError::LeaseLost { .. })),
                "job {id}: {done:?}"
            );
            assert_eq!(state, JobState::Leased, "job {id} is still w1's");
        }
    }
    let stats = store.queue_stats().await.expect("stats");
    assert_eq!(
        stats.pending as usize, CALLERS,
        "every appended event's job"
    );
}

/// The call audit is written behind the calls (SQLite: with the next group commit, without
/// waiting), yet a listing sees every call recorded before it, and closing the store writes
/// what is still buffered.
async fn recorded_calls_are_listed_and_outlive_the_store(db: TestDb) {
    let store: Arc<dyn Store> = db.store.clone();
    let call = |i: usize| CallAudit {
        at: chrono::Utc::now(),
        connection_id: "ghl".into(),
        app: "ghl".into(),
        method: "GET".into(),
        path: format!("/contacts/c{i}"),
        status: Some(200),
        latency_ms: 3,
        job_id: None,
    };
    let all = CallFilter {
        page: Page {
            limit: 1000,
            offset: 0,
        },
        ..CallFilter::default()
    };
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let (store, c) = (store.clone(), call(i));
            tokio::spawn(async move { store.record_call(c).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("recorded");
    }
    assert_eq!(store.calls(&all).await.expect("calls").len(), 200);
    for i in 200..300 {
        store.record_call(call(i)).await.expect("recorded");
    }
    store.close().await;
    let reopened = db.open_another().await;
    let listed = reopened.calls(&all).await.expect("calls");
    assert_eq!(listed.len(), 300, "every call recorded before close");
    reopened.close().await;
}
