//! Job priority and `postpone`: real-time work overtakes any backfill backlog, coalescing keeps
//! the highest priority, and a job handed back unrun keeps its attempts. Both backends.

mod store_support;

use std::time::Duration;

use chrono::{DateTime, Utc};
use engine::store::{
    EventId, EventSource, EventWithJobs, JobId, JobState, NewJob, Priority, Store,
};
use store_support::{eventually, job, micros_now, store_tests, webhook, TestDb};

const LONG: Duration = Duration::from_secs(60);

store_tests!(
    realtime_overtakes_backfill_backlog,
    priority_then_run_at_order,
    future_urgent_jobs_do_not_block_due_ones,
    coalescing_keeps_highest_priority,
    retry_merge_keeps_highest_priority,
    postpone_returns_job_unattempted,
    postpone_merges_job_enqueued_meanwhile,
    realtime_since_sees_only_work_above_backfill,
);

fn at(secs: i64) -> DateTime<Utc> {
    micros_now() + chrono::Duration::seconds(secs)
}

fn job_with(entity: &str, priority: Priority, run_at: DateTime<Utc>) -> NewJob {
    NewJob {
        priority,
        run_at: Some(run_at),
        ..job("sync", entity)
    }
}

async fn claim_ids(store: &dyn Store, worker: &str, max: u32) -> Vec<JobId> {
    let jobs = store.claim(worker, max, LONG).await.expect("claim");
    jobs.iter().map(|j| j.id).collect()
}

async fn realtime_overtakes_backfill_backlog(db: TestDb) {
    let store = db.store;
    // 1,000 backfill jobs, all due and all older than the webhook that follows (one reconcile
    // event enqueues them in one transaction, as `Engine::ingest` does).
    let backlog: Vec<NewJob> = (0..1000)
        .map(|i| {
            job_with(
                &format!("ghl:contact:b{i:04}"),
                Priority::BACKFILL,
                at(-60) + chrono::Duration::milliseconds(i),
            )
        })
        .collect();
    let mut event = webhook("ghl", "reconcile-1", "b0000");
    event.source = EventSource::Reconcile;
    let out = store
        .append_events_and_enqueue(&[EventWithJobs {
            event,
            jobs: backlog,
        }])
        .await
        .expect("enqueue backlog");
    assert_eq!(out[0].jobs.len(), 1000);
    let oldest: Vec<JobId> = out[0].jobs.iter().take(3).map(|e| e.job_id).collect();

    let realtime = store
        .enqueue(job("sync", "ghl:contact:hot"))
        .await
        .expect("enqueue realtime")
        .job_id;
    let first = store.claim("w1", 1, LONG).await.expect("claim");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].id, realtime, "the webhook job jumps the backlog");
    assert_eq!(first[0].priority, Priority::REALTIME);

    let poll = store
        .enqueue(job_with("ghl:contact:polled", Priority::POLL, at(0)))
        .await
        .expect("enqueue poll")
        .job_id;
    let next = claim_ids(store.as_ref(), "w1", 4).await;
    assert_eq!(
        next,
        [vec![poll], oldest].concat(),
        "then the poll job, then the backlog oldest first"
    );
    let stats = store.queue_stats().await.expect("stats");
    assert_eq!((stats.pending, stats.leased), (997, 5));
}

async fn priority_then_run_at_order(db: TestDb) {
    let store = db.store;
    let mut ids = std::collections::HashMap::new();
    for (name, priority, secs) in [
        ("a", Priority::BACKFILL, -10),
        ("b", Priority::POLL, -1),
        ("c", Priority::REALTIME, -2),
        ("d", Priority::REALTIME, -5),
        ("e", Priority::REALTIME, 60),
        ("f", Priority::POLL, -3),
        ("g", Priority(-3), -30),
        ("h", Priority(12), -1),
    ] {
        let id = store
            .enqueue(job_with(name, priority, at(secs)))
            .await
            .expect("enqueue")
            .job_id;
        ids.insert(name, id);
    }
    let claimed = store.claim("w1", 10, LONG).await.expect("claim");
    let order: Vec<&str> = claimed.iter().map(|j| j.entity_key.as_str()).collect();
    assert_eq!(
        order,
        vec!["h", "d", "c", "f", "b", "a", "g"],
        "priority first, then run_at; the future job waits"
    );
    assert_eq!(claimed[0].priority, Priority(12));
    let e = store.job(ids["e"]).await.expect("read").expect("job");
    assert_eq!(
        (e.state, e.priority),
        (JobState::Pending, Priority::REALTIME)
    );

    // A batch of 2 takes the two most urgent of what is due.
    for name in ["x", "y", "z"] {
        let p = if name == "y" {
            Priority::REALTIME
        } else {
            Priority::BACKFILL
        };
        store
            .enqueue(job_with(name, p, at(-1)))
            .await
            .expect("enqueue");
    }
    let two = store.claim("w2", 2, LONG).await.expect("claim");
    let keys: Vec<&str> = two.iter().map(|j| j.entity_key.as_str()).collect();
    assert_eq!(keys, vec!["y", "x"]);
}

async fn future_urgent_jobs_do_not_block_due_ones(db: TestDb) {
    let store = db.store;
    // Many real-time jobs waiting for a retry later, and one due backfill job: the claim must
    // find the due one (and, being index-driven, without walking the waiting ones).
    let waiting: Vec<NewJob> = (0..500)
        .map(|i| job_with(&format!("w{i}"), Priority::REALTIME, at(3600)))
        .collect();
    store
        .append_events_and_enqueue(&[EventWithJobs {
            event: webhook("ghl", "retries", "w0"),
            jobs: waiting,
        }])
        .await
        .expect("enqueue");
    let due = store
        .enqueue(job_with("due", Priority::BACKFILL, at(-1)))
        .await
        .expect("enqueue")
        .job_id;
    assert_eq!(claim_ids(store.as_ref(), "w1", 8).await, vec![due]);
    assert!(claim_ids(store.as_ref(), "w1", 8).await.is_empty());
}

async fn coalescing_keeps_highest_priority(db: TestDb) {
    let store = db.store;
    let first = store
        .enqueue(job_with("e1", Priority::BACKFILL, at(-1)))
        .await
        .expect("enqueue");
    let merged = store
        .enqueue(job("sync", "e1"))
        .await
        .expect("enqueue realtime");
    assert!(merged.coalesced);
    assert_eq!(merged.job_id, first.job_id);
    let j = store.job(first.job_id).await.expect("read").expect("job");
    assert_eq!(j.priority, Priority::REALTIME, "a webhook makes it urgent");

    // A later backfill hint does not lower it again; a poll neither.
    for p in [Priority::BACKFILL, Priority::POLL] {
        store
            .enqueue(job_with("e1", p, at(-1)))
            .await
            .expect("enqueue");
    }
    let j = store.job(first.job_id).await.expect("read").expect("job");
    assert_eq!((j.priority, j.coalesced), (Priority::REALTIME, 3));

    // The same through events (the ingest path).
    let mut reconcile = webhook("ghl", "r-1", "e2");
    reconcile.source = EventSource::Reconcile;
    let mut poll = webhook("ghl", "p-1", "e2");
    poll.source = EventSource::Poll;
    let out = store
        .append_events_and_enqueue(&[
            EventWithJobs {
                event: reconcile,
                jobs: vec![job_with("e2", Priority::BACKFILL, at(0))],
            },
            EventWithJobs {
                event: poll,
                jobs: vec![job_with("e2", Priority::POLL, at(0))],
            },
        ])
        .await
        .expect("append");
    assert!(out[1].jobs[0].coalesced);
    let j = store
        .job(out[0].jobs[0].job_id)
        .await
        .expect("read")
        .expect("job");
    assert_eq!(j.priority, Priority::POLL);
}

async fn retry_merge_keeps_highest_priority(db: TestDb) {
    let store = db.store;
    let backfill = store
        .enqueue(job_with("e1", Priority::BACKFILL, at(-1)))
        .await
        .expect("enqueue")
        .job_id;
    assert_eq!(claim_ids(store.as_ref(), "w1", 1).await, vec![backfill]);
    // A webhook for the same entity while the backfill runs: a new job, which must wait for the
    // running one however urgent it is (per-entity ordering).
    let hot = store.enqueue(job("sync", "e1")).await.expect("enqueue");
    assert!(!hot.coalesced);
    assert!(claim_ids(store.as_ref(), "w2", 8).await.is_empty());
    store
        .fail(backfill, "w1", "timeout", Duration::ZERO)
        .await
        .expect("fail");
    assert!(store.job(hot.job_id).await.expect("read").is_none());
    let j = store.job(backfill).await.expect("read").expect("job");
    assert_eq!(
        (j.state, j.priority, j.attempts),
        (JobState::Pending, Priority::REALTIME, 1),
        "the retried job carries the webhook's priority"
    );
}

async fn postpone_returns_job_unattempted(db: TestDb) {
    let store = db.store;
    let id = store
        .enqueue(job_with("e1", Priority::BACKFILL, at(-1)))
        .await
        .expect("enqueue")
        .job_id;
    // One expired lease first, so there is an attempt (and an error) that must be kept.
    store
        .claim("w0", 1, Duration::from_millis(50))
        .await
        .expect("claim");
    let s = store.clone();
    let job1 = eventually(Duration::from_secs(10), "lease to expire", || {
        let s = s.clone();
        async move { s.claim("w1", 1, LONG).await.expect("claim").pop() }
    })
    .await;
    assert_eq!((job1.id, job1.attempts), (id, 1));

    let until = at(3600);
    let err = store.postpone(id, "w0", until).await.expect_err("not w0's");
    assert!(err.is_lease_lost(), "{err}");
    let run_at = store.postpone(id, "w1", until).await.expect("postpone");
    assert_eq!(run_at, until);
    let j = store.job(id).await.expect("read").expect("job");
    assert_eq!(j.state, JobState::Pending);
    assert_eq!(j.attempts, 1, "handing back is not a failure");
    assert_eq!(j.last_error, job1.last_error);
    assert_eq!((j.lease_owner, j.lease_until), (None, None));
    assert_eq!((j.run_at, j.priority), (until, Priority::BACKFILL));
    assert!(
        claim_ids(store.as_ref(), "w2", 8).await.is_empty(),
        "not due"
    );
    let err = store.postpone(id, "w1", until).await.expect_err("pending");
    assert!(
        err.is_lease_lost() && err.to_string().contains("pending"),
        "{err}"
    );

    // Handed back for a moment: due again at the time given, attempts still unchanged.
    store
        .enqueue(job_with("e1", Priority::BACKFILL, at(-1)))
        .await
        .expect("enqueue");
    assert_eq!(claim_ids(store.as_ref(), "w2", 8).await, vec![id]);
    let shortly = micros_now() + chrono::Duration::milliseconds(300);
    store.postpone(id, "w2", shortly).await.expect("postpone");
    assert!(
        claim_ids(store.as_ref(), "w3", 8).await.is_empty(),
        "not yet"
    );
    let s = store.clone();
    let again = eventually(Duration::from_secs(10), "postponed job to be due", || {
        let s = s.clone();
        async move { s.claim("w3", 8, LONG).await.expect("claim").pop() }
    })
    .await;
    assert!(Utc::now() >= shortly, "not handed out before its time");
    assert_eq!((again.id, again.attempts), (id, 1));
    store
        .complete(id, "w3", Default::default())
        .await
        .expect("complete");
}

async fn postpone_merges_job_enqueued_meanwhile(db: TestDb) {
    let store = db.store;
    let mut first = job_with("e1", Priority::BACKFILL, at(-1));
    first.event_ids = vec![EventId(1)];
    let id = store.enqueue(first).await.expect("enqueue").job_id;
    assert_eq!(claim_ids(store.as_ref(), "w1", 1).await, vec![id]);
    let mut hot = job("sync", "e1");
    hot.event_ids = vec![EventId(2)];
    let hot_at = at(-1);
    hot.run_at = Some(hot_at);
    let hot = store.enqueue(hot).await.expect("enqueue").job_id;
    assert_ne!(hot, id);

    // The worker hands the backfill back for an hour; the webhook's work must not wait that long.
    let run_at = store.postpone(id, "w1", at(3600)).await.expect("postpone");
    assert_eq!(
        run_at, hot_at,
        "the earlier run time of the merged job wins"
    );
    assert!(store.job(hot).await.expect("read").is_none(), "merged");
    let j = store.job(id).await.expect("read").expect("job");
    assert_eq!(
        (j.state, j.priority, j.attempts, j.coalesced),
        (JobState::Pending, Priority::REALTIME, 0, 1)
    );
    assert_eq!(j.event_ids, vec![EventId(1), EventId(2)]);
    assert_eq!(claim_ids(store.as_ref(), "w2", 8).await, vec![id]);
}

/// `realtime_since`: backfill jobs do not count, a real-time or poll job enqueued at or after the
/// time does, and one from before does not.
async fn realtime_since_sees_only_work_above_backfill(db: TestDb) {
    let store = db.store;
    let before = at(-1);
    assert!(
        !store.realtime_since(before).await.expect("query"),
        "empty queue"
    );
    store
        .enqueue(job_with("b", Priority::BACKFILL, at(0)))
        .await
        .expect("enqueue");
    assert!(
        !store.realtime_since(before).await.expect("query"),
        "backfill work does not count"
    );
    store
        .enqueue(job_with("p", Priority::POLL, at(0)))
        .await
        .expect("enqueue");
    assert!(
        store.realtime_since(before).await.expect("query"),
        "a poll job counts"
    );
    assert!(
        !store.realtime_since(at(5)).await.expect("query"),
        "not after it was last touched"
    );
}
