//! Crash safety of a backfill: `ghl-bridge run` copies 300 GHL contacts to Your App and is killed
//! with SIGKILL at random points, five times, restarting each time. At the end every contact
//! exists exactly once in Your App, nothing was created twice (the emulator's request log), and
//! nothing is left in the queue or the dead-letter queue.

mod support;

use std::time::Duration;

use rand::{Rng, SeedableRng};
use support::*;

const CONTACTS: usize = 300;
const KILLS: usize = 5;

/// Engine settings of these runs: a short lease so a killed process's jobs come back quickly.
const ARGS: &[&str] = &[
    "--workers",
    "4",
    "--poll-every",
    "1s",
    "--lease",
    "2s",
    "--grace",
    "10s",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_killed_at_random_points_creates_each_contact_exactly_once() {
    let started = std::time::Instant::now();
    let mut w = world(CONTACTS, ONE_WAY).await;
    let store = open_store(&w.db_url.clone()).await;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed());
    let db = w.db_url.clone();
    let mut kills = 0;
    for round in 0..KILLS {
        let before = w.crm_contacts().await.len();
        if before >= CONTACTS {
            break; // finished before it could be killed again (a fast machine)
        }
        let mut p = w.spawn(&db, ARGS);
        // Kill while it is working: after its first new write, plus a random 50–400 ms.
        let ws = &w;
        while_running(
            std::slice::from_mut(&mut p),
            Duration::from_secs(30),
            "the engine to create a record",
            || async move { (ws.crm_contacts().await.len() > before).then_some(()) },
        )
        .await;
        let wait = rng.random_range(50..=400);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        p.kill();
        kills += 1;
        let after = w.crm_contacts().await.len();
        eprintln!("round {round}: killed after +{wait} ms with {after}/{CONTACTS} contacts copied");
    }
    assert!(
        kills >= 1,
        "the engine was killed at least once mid-backfill"
    );

    // A last run finishes the work; it stops gracefully on SIGTERM.
    let mut p = w.spawn(&db, ARGS);
    let (ws, st) = (&w, &store);
    while_running(
        std::slice::from_mut(&mut p),
        Duration::from_secs(45),
        "every contact copied and the queue empty",
        || async move {
            let n = ws.crm_contacts().await.len();
            let q = st.queue_stats().await.expect("queue stats");
            (n >= CONTACTS && idle(&q)).then_some(())
        },
    )
    .await;
    let status = p.terminate(Duration::from_secs(15)).await;
    assert!(
        status.success(),
        "graceful stop exits 0: {status:?}\n{}",
        p.log_tail()
    );

    // The kills hit jobs in flight (taken over once their lease ran out), and still:
    let taken_over = taken_over_after_a_crash(&db).await;
    assert!(taken_over > 0, "some kill interrupted a running job");
    assert_each_contact_once(&w).await;
    let q = store.queue_stats().await.expect("queue stats");
    assert_eq!(q.dead, 0, "nothing in the dead-letter queue");
    let ghl_writes = ghl_writes(&w.ghl_log().await);
    assert!(
        ghl_writes.is_empty(),
        "a one-way sync never writes to GHL: {ghl_writes:?}"
    );

    // And a `--once` pass afterwards finds nothing to do and writes nothing.
    let before = w.crm_log().await.len();
    let (status, out, err) = w.run_once(&db);
    assert!(status.success(), "--once succeeds: {out}\n{err}");
    assert!(out.contains("0 pending"), "{out}");
    let writes: Vec<_> = w.crm_log().await[before..]
        .iter()
        .filter(|r| r["method"] != "GET")
        .cloned()
        .collect();
    assert!(
        writes.is_empty(),
        "nothing written on a pass with no changes: {writes:?}"
    );
    store.close().await;
    eprintln!(
        "{kills} kills, {taken_over} interrupted jobs taken over; done in {:?}",
        started.elapsed()
    );
}
