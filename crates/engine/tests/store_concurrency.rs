//! Many claimers, enqueuers and resolvers at once, each with its own connection pool (as separate
//! engine processes would have): no job runs twice or overlaps its entity, every job completes
//! exactly once, and one person seen from two apps becomes one identity.

mod store_support;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use engine::store::{ChangeAudit, ChangeFilter, ChangeOp, Commit, JobId, Page, Store};
use parking_lot::Mutex;
use store_support::{job, micros_now, store_tests, TestDb};
use tokio::sync::Barrier;

store_tests!(
    concurrent_claimers,
    concurrent_enqueues_coalesce,
    concurrent_resolve_from_both_sides
);

const WORKERS: usize = 8;

async fn stores(db: &TestDb, n: usize) -> Vec<Arc<dyn Store>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(db.open_another().await);
    }
    out
}

async fn concurrent_claimers(db: TestDb) {
    let store = db.store.clone();
    let expected: Arc<Mutex<HashSet<JobId>>> = Arc::default();
    for i in 0..500 {
        let id = store
            .enqueue(job("sync", &format!("e{i}")))
            .await
            .expect("enqueue")
            .job_id;
        expected.lock().insert(id);
    }
    let workers = stores(&db, WORKERS).await;
    // Entity -> job currently being worked on (by any worker).
    let in_flight: Arc<Mutex<HashMap<String, JobId>>> = Arc::default();
    let completed: Arc<Mutex<HashMap<JobId, u32>>> = Arc::default();
    let producing = Arc::new(AtomicBool::new(true));

    // Meanwhile webhooks keep arriving for 20 hot entities (some coalesce, some queue behind a
    // leased job of the same entity).
    let producer = {
        let (store, expected, producing) = (store.clone(), expected.clone(), producing.clone());
        tokio::spawn(async move {
            for round in 0..10 {
                for hot in 0..20 {
                    let id = store
                        .enqueue(job("sync", &format!("e{hot}")))
                        .await
                        .expect("enqueue")
                        .job_id;
                    expected.lock().insert(id);
                }
                if round % 2 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            producing.store(false, Ordering::SeqCst);
        })
    };

    let mut tasks = Vec::new();
    for (n, s) in workers.iter().cloned().enumerate() {
        let (in_flight, completed, producing) =
            (in_flight.clone(), completed.clone(), producing.clone());
        tasks.push(tokio::spawn(async move {
            let worker = format!("w{n}");
            loop {
                let jobs = s
                    .claim(&worker, 4, Duration::from_secs(60))
                    .await
                    .expect("claim");
                if jobs.is_empty() {
                    let stats = s.queue_stats().await.expect("stats");
                    if !producing.load(Ordering::SeqCst) && stats.pending == 0 && stats.leased == 0
                    {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    continue;
                }
                for j in jobs {
                    if let Some(other) = in_flight.lock().insert(j.entity_key.clone(), j.id) {
                        panic!(
                            "jobs {other} and {} of entity {} leased at once",
                            j.id, j.entity_key
                        );
                    }
                    tokio::task::yield_now().await; // "work"
                                                    // Forget it before completing: until the commit it is still leased.
                    in_flight.lock().remove(&j.entity_key);
                    let commit = Commit {
                        changes: vec![ChangeAudit {
                            at: micros_now(),
                            flow_id: "sync".into(),
                            identity_id: None,
                            connection_id: "ins".into(),
                            kind: "contact".into(),
                            external_id: j.entity_key.clone(),
                            op: ChangeOp::Update,
                            diff: vec![],
                            job_id: Some(j.id),
                        }],
                        ..Default::default()
                    };
                    s.complete(j.id, &worker, commit)
                        .await
                        .expect("complete under a held lease");
                    *completed.lock().entry(j.id).or_default() += 1;
                }
            }
        }));
    }
    producer.await.expect("producer");
    for t in tasks {
        t.await.expect("worker");
    }
    let expected = expected.lock().clone();
    let completed = completed.lock().clone();
    assert!(expected.len() >= 500, "{} jobs", expected.len());
    assert_eq!(
        completed.keys().copied().collect::<HashSet<_>>(),
        expected,
        "every job ran"
    );
    assert!(completed.values().all(|&n| n == 1), "no job ran twice");
    let changes = store
        .changes(&ChangeFilter {
            page: Page {
                limit: 1000,
                offset: 0,
            },
            ..Default::default()
        })
        .await
        .expect("changes");
    let audited: HashSet<JobId> = changes.iter().filter_map(|c| c.change.job_id).collect();
    assert_eq!(
        changes.len(),
        expected.len(),
        "one committed change per job"
    );
    assert_eq!(audited, expected);
    let stats = store.queue_stats().await.expect("stats");
    assert_eq!((stats.pending, stats.leased, stats.dead), (0, 0, 0));
    for s in workers {
        s.close().await;
    }
}

async fn concurrent_enqueues_coalesce(db: TestDb) {
    let workers = stores(&db, WORKERS).await;
    let barrier = Arc::new(Barrier::new(WORKERS));
    let mut tasks = Vec::new();
    for s in workers.clone() {
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut ids = HashSet::new();
            for _ in 0..10 {
                ids.insert(
                    s.enqueue(job("sync", "ghl:contact:hot"))
                        .await
                        .expect("enqueue")
                        .job_id,
                );
            }
            ids
        }));
    }
    let mut ids = HashSet::new();
    for t in tasks {
        ids.extend(t.await.expect("task"));
    }
    assert_eq!(ids.len(), 1, "80 concurrent enqueues -> one pending job");
    let id = ids.into_iter().next().expect("id");
    let j = db.store.job(id).await.expect("read").expect("job");
    assert_eq!(j.coalesced, 79);
    for s in workers {
        s.close().await;
    }
}

async fn concurrent_resolve_from_both_sides(db: TestDb) {
    const PEOPLE: usize = 40;
    let workers = stores(&db, WORKERS).await;
    let barrier = Arc::new(Barrier::new(PEOPLE * 3));
    let mut tasks = Vec::new();
    for p in 0..PEOPLE {
        // The GHL contact, the Insightly contact (same email, plus a phone), and a duplicate
        // delivery of the GHL webhook — all at once, through different pools.
        let calls = [
            (
                "ghl",
                format!("g{p}"),
                vec![format!("email:p{p}@example.com")],
            ),
            (
                "ins",
                format!("i{p}"),
                vec![
                    format!("email:p{p}@example.com"),
                    format!("phone:+1555{p:04}"),
                ],
            ),
            (
                "ghl",
                format!("g{p}"),
                vec![format!("email:p{p}@example.com")],
            ),
        ];
        for (side, (conn, ext, keys)) in calls.into_iter().enumerate() {
            let s = workers[(p + side) % WORKERS].clone();
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let r = s
                    .resolve_identity("contact", conn, &ext, &keys)
                    .await
                    .expect("resolve");
                (p, r)
            }));
        }
    }
    let mut by_person: HashMap<usize, Vec<_>> = HashMap::new();
    for t in tasks {
        let (p, r) = t.await.expect("task");
        by_person.entry(p).or_default().push(r);
    }
    let mut identities = HashSet::new();
    for (p, rs) in &by_person {
        let ids: HashSet<_> = rs.iter().map(|r| r.identity_id).collect();
        assert_eq!(ids.len(), 1, "person {p} split into {ids:?}");
        assert_eq!(
            rs.iter().filter(|r| r.created).count(),
            1,
            "person {p}: exactly one call created it"
        );
        let id = rs[0].identity_id;
        identities.insert(id);
        let links = db.store.links_of(id).await.expect("links");
        let got: Vec<_> = links
            .iter()
            .map(|l| (l.connection_id.as_str(), l.external_id.clone()))
            .collect();
        assert_eq!(
            got,
            vec![("ghl", format!("g{p}")), ("ins", format!("i{p}"))]
        );
        let keys = db.store.keys_of(id).await.expect("keys");
        assert_eq!(
            keys,
            vec![
                format!("email:p{p}@example.com"),
                format!("phone:+1555{p:04}")
            ]
        );
    }
    assert_eq!(identities.len(), PEOPLE);
    for s in workers {
        s.close().await;
    }
}
