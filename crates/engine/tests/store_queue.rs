//! The job queue: coalescing, per-entity ordering, leases, retries, the dead-letter queue.

mod store_support;

use std::time::Duration;

use chrono::Utc;
use engine::store::{DlqFilter, EventId, FailOutcome, JobState, Page, StoreError};
use serde_json::json;
use store_support::{eventually, job, store_tests, TestDb};

const LONG: Duration = Duration::from_secs(60);

store_tests!(
    coalescing,
    due_jobs_oldest_first,
    per_entity_ordering,
    lease_expiry_reclaim,
    expired_lease_counts_as_attempt,
    extend_lease_keeps_job,
    retry_with_backoff_then_dlq,
    dlq_list_replay_discard,
    retry_merges_job_enqueued_meanwhile,
    queue_stats_and_prune,
);

async fn coalescing(db: TestDb) {
    let store = db.store;
    let later = Utc::now() + chrono::Duration::seconds(30);
    let earlier = Utc::now() - chrono::Duration::seconds(5);
    let mut first = None;
    for i in 0..10i64 {
        let mut j = job("sync", "ghl:contact:1");
        j.event_ids = vec![EventId(i)];
        j.payload = json!({ "i": i });
        // The 4th enqueue asks for the earliest time; the earliest wins.
        j.run_at = Some(if i == 3 { earlier } else { later });
        let out = store.enqueue(j).await.expect("enqueue");
        assert_eq!(out.coalesced, i > 0, "enqueue {i}");
        assert_eq!(*first.get_or_insert(out.job_id), out.job_id);
    }
    let j = store
        .job(first.expect("job"))
        .await
        .expect("read")
        .expect("job");
    assert_eq!(j.coalesced, 9);
    assert_eq!(j.state, JobState::Pending);
    assert_eq!(j.event_ids, (0..10).map(EventId).collect::<Vec<_>>());
    assert_eq!(j.payload, json!({ "i": 9 }));
    assert!(
        (j.run_at - earlier).num_milliseconds().abs() < 1,
        "earliest run_at kept"
    );
    // Another entity or another flow does not coalesce.
    assert!(
        !store
            .enqueue(job("sync", "ghl:contact:2"))
            .await
            .expect("enqueue")
            .coalesced
    );
    assert!(
        !store
            .enqueue(job("other", "ghl:contact:1"))
            .await
            .expect("enqueue")
            .coalesced
    );
    let stats = store.queue_stats().await.expect("stats");
    assert_eq!(stats.pending, 3);
}

async fn due_jobs_oldest_first(db: TestDb) {
    let store = db.store;
    let now = Utc::now();
    let mut a = job("f", "a");
    a.run_at = Some(now - chrono::Duration::seconds(2));
    let mut b = job("f", "b");
    b.run_at = Some(now - chrono::Duration::seconds(3));
    let mut future = job("f", "c");
    future.run_at = Some(now + chrono::Duration::seconds(60));
    let a = store.enqueue(a).await.expect("a").job_id;
    let b = store.enqueue(b).await.expect("b").job_id;
    store.enqueue(future).await.expect("c");
    let first = store.claim("w1", 1, LONG).await.expect("claim");
    assert_eq!(
        first.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![b],
        "oldest run_at first"
    );
    assert_eq!(first[0].lease_owner.as_deref(), Some("w1"));
    assert!(first[0].lease_until.expect("lease") > Utc::now());
    let rest = store.claim("w1", 10, LONG).await.expect("claim");
    assert_eq!(
        rest.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![a],
        "future job not due"
    );
    assert!(store.claim("w1", 0, LONG).await.expect("claim").is_empty());
}

async fn per_entity_ordering(db: TestDb) {
    let store = db.store;
    let j1 = store
        .enqueue(job("sync", "e1"))
        .await
        .expect("enqueue")
        .job_id;
    let claimed = store.claim("w1", 10, LONG).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, j1);

    // A change while j1 runs makes a new job (j1 already read the entity), which must wait.
    let j2 = store.enqueue(job("sync", "e1")).await.expect("enqueue");
    assert!(!j2.coalesced, "a leased job does not absorb new work");
    let j3 = store
        .enqueue(job("sync", "e2"))
        .await
        .expect("enqueue")
        .job_id;
    let j4 = store
        .enqueue(job("other-flow", "e1"))
        .await
        .expect("enqueue")
        .job_id;
    let mut got: Vec<_> = store
        .claim("w2", 10, LONG)
        .await
        .expect("claim")
        .iter()
        .map(|j| j.id)
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![j3, j4],
        "other entities and flows run; e1's second job waits"
    );
    assert!(store.claim("w2", 10, LONG).await.expect("claim").is_empty());

    store
        .complete(j1, "w1", Default::default())
        .await
        .expect("complete");
    let next = store.claim("w3", 10, LONG).await.expect("claim");
    assert_eq!(
        next.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![j2.job_id]
    );
}

async fn lease_expiry_reclaim(db: TestDb) {
    let store = db.store;
    let id = store
        .enqueue(job("sync", "e1"))
        .await
        .expect("enqueue")
        .job_id;
    let t0 = std::time::Instant::now();
    assert_eq!(
        store
            .claim("w1", 1, Duration::from_millis(100))
            .await
            .expect("claim")
            .len(),
        1
    );
    let s = store.clone();
    let reclaimed = eventually(Duration::from_secs(10), "lease to expire", || {
        let s = s.clone();
        async move { s.claim("w2", 1, LONG).await.expect("claim").pop() }
    })
    .await;
    assert!(
        t0.elapsed() >= Duration::from_millis(100),
        "handed out again before the lease expired"
    );
    assert_eq!(reclaimed.id, id);
    assert_eq!(reclaimed.lease_owner.as_deref(), Some("w2"));
    assert_eq!(reclaimed.attempts, 1, "a crashed run counts as an attempt");
    assert!(
        reclaimed
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("w1"),
        "{reclaimed:?}"
    );

    // The first worker has lost it for good.
    let err = store.extend_lease(id, "w1", LONG).await.expect_err("lost");
    assert!(err.is_lease_lost(), "{err}");
    assert!(err.to_string().contains("leased by `w2`"), "{err}");
    let err = store.fail(id, "w1", "boom", LONG).await.expect_err("lost");
    assert!(err.is_lease_lost(), "{err}");
    store
        .complete(id, "w2", Default::default())
        .await
        .expect("complete");
    let j = store.job(id).await.expect("read").expect("job");
    assert_eq!(j.state, JobState::Done);
    assert!(j.finished_at.is_some());
    let err = store
        .complete(id, "w2", Default::default())
        .await
        .expect_err("twice");
    assert!(
        err.is_lease_lost() && err.to_string().contains("done"),
        "{err}"
    );
}

async fn expired_lease_counts_as_attempt(db: TestDb) {
    let store = db.store;
    let mut j = job("sync", "poison");
    j.max_attempts = Some(1);
    let id = store.enqueue(j).await.expect("enqueue").job_id;
    assert_eq!(
        store
            .claim("w1", 1, Duration::from_millis(50))
            .await
            .expect("claim")
            .len(),
        1
    );
    let s = store.clone();
    let dead = eventually(
        Duration::from_secs(10),
        "expired job to be dead-lettered",
        || {
            let s = s.clone();
            async move {
                assert!(
                    s.claim("w2", 1, LONG).await.expect("claim").is_empty(),
                    "never handed out again"
                );
                let j = s.job(id).await.expect("read").expect("job");
                (j.state == JobState::Dead).then_some(j)
            }
        },
    )
    .await;
    assert_eq!(dead.attempts, 1);
    assert!(
        dead.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("expired"),
        "{dead:?}"
    );
}

async fn extend_lease_keeps_job(db: TestDb) {
    let store = db.store;
    let id = store
        .enqueue(job("sync", "e1"))
        .await
        .expect("enqueue")
        .job_id;
    let claimed = store
        .claim("w1", 1, Duration::from_millis(300))
        .await
        .expect("claim");
    let until = store.extend_lease(id, "w1", LONG).await.expect("extend");
    assert!(until > claimed[0].lease_until.expect("lease") + chrono::Duration::seconds(30));
    tokio::time::sleep(Duration::from_millis(400)).await; // past the original lease
    assert!(
        store.claim("w2", 1, LONG).await.expect("claim").is_empty(),
        "extended lease holds"
    );
    store
        .complete(id, "w1", Default::default())
        .await
        .expect("complete");
}

async fn retry_with_backoff_then_dlq(db: TestDb) {
    let store = db.store;
    let mut j = job("sync", "e1");
    j.max_attempts = Some(3);
    let id = store.enqueue(j).await.expect("enqueue").job_id;
    let backoff = Duration::from_millis(150);
    let mut failed_at: Option<std::time::Instant> = None;
    for attempt in 1..=3u32 {
        let s = store.clone();
        let claimed = eventually(Duration::from_secs(10), "retry to come due", || {
            let s = s.clone();
            async move { s.claim("w1", 1, LONG).await.expect("claim").pop() }
        })
        .await;
        if let Some(t) = failed_at {
            assert!(
                t.elapsed() >= backoff,
                "claimed again before the backoff passed"
            );
        }
        assert_eq!(claimed.id, id);
        assert_eq!(claimed.attempts, attempt - 1);
        let before = Utc::now();
        failed_at = Some(std::time::Instant::now());
        let outcome = store
            .fail(id, "w1", &format!("boom {attempt}"), backoff)
            .await
            .expect("fail");
        if attempt < 3 {
            let FailOutcome::Retry { attempts, run_at } = outcome else {
                panic!("expected a retry, got {outcome:?}");
            };
            assert_eq!(attempts, attempt);
            assert!(
                run_at >= before + chrono::Duration::milliseconds(100),
                "backoff applied"
            );
            let j = store.job(id).await.expect("read").expect("job");
            assert_eq!(j.state, JobState::Pending);
            assert_eq!(j.run_at, run_at);
            assert_eq!(
                j.last_error.as_deref(),
                Some(format!("boom {attempt}").as_str())
            );
        } else {
            assert_eq!(outcome, FailOutcome::Dead { attempts: 3 });
        }
    }
    let j = store.job(id).await.expect("read").expect("job");
    assert_eq!(j.state, JobState::Dead);
    assert_eq!(j.last_error.as_deref(), Some("boom 3"));
    assert_eq!(store.queue_stats().await.expect("stats").dead, 1);
    assert!(store.claim("w1", 1, LONG).await.expect("claim").is_empty());
}

/// Makes a job and fails it into the dead-letter queue.
async fn dead_job(
    store: &std::sync::Arc<dyn engine::store::Store>,
    flow: &str,
    entity: &str,
) -> engine::store::JobId {
    let mut j = job(flow, entity);
    j.max_attempts = Some(1);
    let id = store.enqueue(j).await.expect("enqueue").job_id;
    let claimed = store.claim("w", 10, LONG).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    let out = store
        .fail(id, "w", &format!("{flow}/{entity} failed"), LONG)
        .await
        .expect("fail");
    assert_eq!(out, FailOutcome::Dead { attempts: 1 });
    id
}

async fn dlq_list_replay_discard(db: TestDb) {
    let store = db.store;
    let a = dead_job(&store, "f1", "a").await;
    let b = dead_job(&store, "f1", "b").await;
    let c = dead_job(&store, "f2", "c").await;
    let all = store
        .dlq_list(&DlqFilter::default(), Page::default())
        .await
        .expect("list");
    assert_eq!(
        all.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![c, b, a],
        "newest first"
    );
    assert_eq!(all[0].last_error.as_deref(), Some("f2/c failed"));
    let f1 = DlqFilter {
        flow_id: Some("f1".into()),
        entity_key: None,
    };
    let page = store
        .dlq_list(
            &f1,
            Page {
                limit: 1,
                offset: 1,
            },
        )
        .await
        .expect("list");
    assert_eq!(page.iter().map(|j| j.id).collect::<Vec<_>>(), vec![a]);
    let by_entity = DlqFilter {
        flow_id: None,
        entity_key: Some("c".into()),
    };
    assert_eq!(
        store
            .dlq_list(&by_entity, Page::default())
            .await
            .expect("list")
            .len(),
        1
    );

    assert_eq!(store.dlq_replay(b).await.expect("replay"), b);
    let j = store.job(b).await.expect("read").expect("job");
    assert_eq!(
        (j.state, j.attempts, j.last_error.clone()),
        (JobState::Pending, 0, None)
    );
    let claimed = store.claim("w2", 10, LONG).await.expect("claim");
    assert_eq!(
        claimed.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![b],
        "replayed job runs"
    );

    store.dlq_discard(a).await.expect("discard");
    assert!(store.job(a).await.expect("read").is_none());
    assert!(matches!(
        store.dlq_discard(a).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(
        matches!(store.dlq_replay(b).await, Err(StoreError::NotFound { .. })),
        "b is not dead"
    );
    assert!(matches!(
        store.dlq_discard(b).await,
        Err(StoreError::NotFound { .. })
    ));
    let left = store
        .dlq_list(&DlqFilter::default(), Page::default())
        .await
        .expect("list");
    assert_eq!(left.iter().map(|j| j.id).collect::<Vec<_>>(), vec![c]);
}

async fn retry_merges_job_enqueued_meanwhile(db: TestDb) {
    let store = db.store;
    let mut first = job("sync", "e1");
    first.event_ids = vec![EventId(1)];
    let j1 = store.enqueue(first).await.expect("enqueue").job_id;
    store.claim("w1", 1, LONG).await.expect("claim");
    let mut second = job("sync", "e1");
    second.event_ids = vec![EventId(2)];
    second.payload = json!({"newer": true});
    let j2 = store.enqueue(second).await.expect("enqueue").job_id;
    assert_ne!(j1, j2);
    let out = store
        .fail(j1, "w1", "timeout", Duration::ZERO)
        .await
        .expect("fail");
    assert!(
        matches!(out, FailOutcome::Retry { attempts: 1, .. }),
        "{out:?}"
    );
    assert!(
        store.job(j2).await.expect("read").is_none(),
        "folded into the retried job"
    );
    let j = store.job(j1).await.expect("read").expect("job");
    assert_eq!(j.event_ids, vec![EventId(1), EventId(2)]);
    assert_eq!(j.coalesced, 1);
    assert_eq!(j.payload, json!({"newer": true}));
    assert_eq!(store.queue_stats().await.expect("stats").pending, 1);

    // Same for a replayed dead job.
    store.claim("w1", 1, LONG).await.expect("claim");
    let mut j = job("sync", "e1");
    j.event_ids = vec![EventId(3)];
    let j3 = store.enqueue(j).await.expect("enqueue").job_id;
    let mut dead = None;
    for _ in 0..8 {
        if let FailOutcome::Dead { .. } = store
            .fail(j1, "w1", "down", Duration::ZERO)
            .await
            .expect("fail")
        {
            dead = Some(());
            break;
        }
        // Claim it again (j3 is folded in on the first retry).
        let s = store.clone();
        eventually(Duration::from_secs(10), "retry", || {
            let s = s.clone();
            async move { s.claim("w1", 1, LONG).await.expect("claim").pop() }
        })
        .await;
    }
    assert!(dead.is_some());
    assert!(store.job(j3).await.expect("read").is_none());
    let j4 = store
        .enqueue(job("sync", "e1"))
        .await
        .expect("enqueue")
        .job_id;
    store.dlq_replay(j1).await.expect("replay");
    assert!(
        store.job(j4).await.expect("read").is_none(),
        "replay folds in the pending job"
    );
    let stats = store.queue_stats().await.expect("stats");
    assert_eq!((stats.pending, stats.dead), (1, 0));
}

async fn queue_stats_and_prune(db: TestDb) {
    let store = db.store;
    let stats = store.queue_stats().await.expect("stats");
    assert_eq!(stats, Default::default());
    let mut old = job("f", "old");
    old.run_at = Some(Utc::now() - chrono::Duration::seconds(10));
    store.enqueue(old).await.expect("enqueue");
    let mut later = job("f", "later");
    later.run_at = Some(Utc::now() + chrono::Duration::seconds(60));
    store.enqueue(later).await.expect("enqueue");
    store.enqueue(job("f", "now")).await.expect("enqueue");
    let stats = store.queue_stats().await.expect("stats");
    assert_eq!(
        (stats.pending, stats.due, stats.leased, stats.dead),
        (3, 2, 0, 0)
    );
    let age = stats.oldest_due_age_ms.expect("age");
    assert!(
        (9_000..60_000).contains(&age),
        "oldest due job waited ~10 s, got {age} ms"
    );

    let claimed = store.claim("w", 10, LONG).await.expect("claim");
    assert_eq!(claimed.len(), 2);
    for j in &claimed {
        store
            .complete(j.id, "w", Default::default())
            .await
            .expect("complete");
    }
    let stats = store.queue_stats().await.expect("stats");
    assert_eq!((stats.pending, stats.due, stats.leased), (1, 0, 0));
    assert_eq!(stats.oldest_due_age_ms, None);

    store
        .append_events(&[store_support::webhook("ghl", "k", "c")])
        .await
        .expect("append");
    let report = store
        .prune(Utc::now() + chrono::Duration::seconds(1))
        .await
        .expect("prune");
    assert_eq!((report.jobs, report.events), (2, 1));
    assert!(store.job(claimed[0].id).await.expect("read").is_none());
    assert_eq!(
        store.queue_stats().await.expect("stats").pending,
        1,
        "pending jobs are kept"
    );
}
