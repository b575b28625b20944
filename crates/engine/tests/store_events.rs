//! Events: dedup by (connection, event key), and append + enqueue in one transaction.

mod store_support;

use engine::store::{EventId, EventWithJobs, NewJob, StoreError};
use serde_json::json;
use store_support::{job, store_tests, webhook, TestDb};

store_tests!(
    event_dedup,
    append_and_enqueue_is_atomic,
    webhook_burst_becomes_one_job
);

async fn event_dedup(db: TestDb) {
    let store = db.store;
    let a = webhook("ghl", "wh-1", "c1");
    let b = webhook("ghl", "wh-2", "c1");
    let ids = store
        .append_events(&[a.clone(), b.clone(), a.clone()])
        .await
        .expect("append");
    assert!(
        ids[0].is_some() && ids[1].is_some(),
        "new events get ids: {ids:?}"
    );
    assert_eq!(ids[2], None, "a duplicate inside the same batch is skipped");
    assert_eq!(
        store
            .append_events(std::slice::from_ref(&a))
            .await
            .expect("append again"),
        vec![None]
    );

    // Same key on another connection is a different event.
    let other = webhook("insightly", "wh-1", "c1");
    assert!(store.append_events(&[other]).await.expect("append")[0].is_some());

    // Stored exactly as given.
    let (ia, ib) = (ids[0].expect("id"), ids[1].expect("id"));
    let stored = store
        .events(&[ib, ia, EventId(999_999)])
        .await
        .expect("read");
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].id, ia);
    assert_eq!(stored[0].event, a);
    assert_eq!(stored[1].event, b);
}

async fn append_and_enqueue_is_atomic(db: TestDb) {
    let store = db.store;
    let good = EventWithJobs {
        event: webhook("ghl", "wh-1", "c1"),
        jobs: vec![job("sync-contacts", "ghl:contact:c1")],
    };
    // The second item's job is invalid, so the whole batch must roll back, including the first
    // event and its job, which were already written inside the transaction.
    let bad = EventWithJobs {
        event: webhook("ghl", "wh-2", "c2"),
        jobs: vec![NewJob::new("", "ghl:contact:c2")],
    };
    let err = store
        .append_events_and_enqueue(&[good.clone(), bad])
        .await
        .expect_err("invalid job must fail the batch");
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    assert_eq!(
        store.queue_stats().await.expect("stats").pending,
        0,
        "no job survived the rollback"
    );

    // The event was not stored either: appending it now is not a duplicate.
    let second = EventWithJobs {
        event: good.event.clone(),
        jobs: vec![
            job("sync-contacts", "ghl:contact:c1"),
            job("copy-tasks", "ghl:contact:c1"),
        ],
    };
    let out = store
        .append_events_and_enqueue(std::slice::from_ref(&second))
        .await
        .expect("append");
    let event_id = out[0].event_id.expect("new event");
    assert_eq!(out[0].jobs.len(), 2);
    for enq in &out[0].jobs {
        let j = store
            .job(enq.job_id)
            .await
            .expect("read")
            .expect("job exists");
        assert_eq!(
            j.event_ids,
            vec![event_id],
            "the job carries the event that caused it"
        );
    }
    assert_eq!(
        out[0].jobs[0].job_id,
        store
            .job(out[0].jobs[0].job_id)
            .await
            .expect("read")
            .expect("job")
            .id
    );
    assert_eq!(
        store
            .job(out[0].jobs[1].job_id)
            .await
            .expect("read")
            .expect("job")
            .flow_id,
        "copy-tasks",
        "outcomes are reported in the caller's order"
    );

    // A redelivery of the same webhook enqueues nothing.
    let again = store
        .append_events_and_enqueue(&[second])
        .await
        .expect("append");
    assert_eq!(again[0].event_id, None);
    assert!(again[0].jobs.is_empty());
    let stats = store.queue_stats().await.expect("stats");
    assert_eq!(stats.pending, 2);
    let j = store
        .job(out[0].jobs[0].job_id)
        .await
        .expect("read")
        .expect("job");
    assert_eq!(j.coalesced, 0, "the duplicate did not even coalesce");
}

async fn webhook_burst_becomes_one_job(db: TestDb) {
    let store = db.store;
    let mut job_ids = Vec::new();
    let mut event_ids = Vec::new();
    for i in 0..10 {
        let mut j = job("sync-contacts", "ghl:contact:c1");
        j.payload = json!({"n": i});
        let out = store
            .append_events_and_enqueue(&[EventWithJobs {
                event: webhook("ghl", &format!("wh-{i}"), "c1"),
                jobs: vec![j],
            }])
            .await
            .expect("append");
        event_ids.push(out[0].event_id.expect("new"));
        job_ids.push(out[0].jobs[0].job_id);
    }
    job_ids.dedup();
    assert_eq!(job_ids.len(), 1, "ten webhooks for one contact -> one job");
    let j = store.job(job_ids[0]).await.expect("read").expect("job");
    assert_eq!(j.coalesced, 9);
    assert_eq!(j.event_ids, event_ids);
    assert_eq!(j.payload, json!({"n": 9}), "the newest payload wins");
    let claimed = store
        .claim("w1", 10, std::time::Duration::from_secs(30))
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1, "one run");
}
