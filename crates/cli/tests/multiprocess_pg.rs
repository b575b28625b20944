//! Several `ghl-bridge run` processes on one PostgreSQL database over the same project: they
//! share the jobs (`FOR UPDATE SKIP LOCKED`) without ever running one twice at once or writing a
//! record twice, and when the process holding the `scheduler` lease is killed another one takes
//! over the polling.
//!
//! Uses `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`), each test in a fresh
//! schema that is dropped afterwards. Without a server the tests are skipped with a notice,
//! unless `CI=true`, where they fail.

mod support;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection, Row};
use support::*;

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

const ARGS: &[&str] = &[
    "--workers",
    "3",
    "--poll-every",
    "1s",
    "--lease",
    "5s",
    "--grace",
    "10s",
];

/// Runs `case` with the URL of a fresh schema; drops the schema afterwards, also on failure.
async fn with_schema<F, Fut>(case: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let admin_url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.into());
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let connected =
        tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(&admin_url)).await;
    let mut admin = match connected {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) if !ci => {
            eprintln!("NOTICE: multi-process PostgreSQL test SKIPPED: no server at DATABASE_URL ({e}); set CI=true to make this fail");
            return;
        }
        Err(_) if !ci => {
            eprintln!("NOTICE: multi-process PostgreSQL test SKIPPED: connecting to DATABASE_URL timed out; set CI=true to make this fail");
            return;
        }
        Ok(Err(e)) => panic!("CI=true and no PostgreSQL server answers at DATABASE_URL: {e}"),
        Err(_) => panic!("CI=true and connecting to PostgreSQL at DATABASE_URL timed out"),
    };
    let schema = format!(
        "mp_test_{}_{:08x}",
        std::process::id(),
        rand::random::<u32>()
    );
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .await
        .expect("create the test schema");
    let sep = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
    let outcome = tokio::spawn(case(url)).await;
    admin
        .execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .await
        .expect("drop the test schema");
    let _ = admin.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// The process id inside a lease holder name (`<host>-engine-<pid>-<random>`).
fn pid_of(holder: &str) -> Option<u32> {
    holder.rsplit('-').nth(1)?.parse().ok()
}

/// The holder of a live `scheduler` lease.
async fn leader(url: &str) -> Option<String> {
    let mut c = PgConnection::connect(url).await.expect("connect");
    let row = c
        .fetch_optional(
            "SELECT holder FROM leader_leases WHERE name = 'scheduler' AND lease_until > now()",
        )
        .await
        .expect("read the scheduler lease");
    let _ = c.close().await;
    row.map(|r| r.get::<String, _>("holder"))
}

/// Done jobs per process, and jobs that ran more than once or failed (attempts > 0) or died.
async fn job_report(url: &str) -> (BTreeMap<u32, i64>, i64, i64) {
    let mut c = PgConnection::connect(url).await.expect("connect");
    let rows = c
        .fetch_all(
            "SELECT lease_owner, count(*) AS n FROM jobs WHERE state = 'done' GROUP BY lease_owner",
        )
        .await
        .expect("done jobs");
    let mut per_process = BTreeMap::new();
    for r in rows {
        let owner: Option<String> = r.get("lease_owner");
        let n: i64 = r.get("n");
        // Worker ids are `<process id>-w<n>`.
        let pid = owner
            .as_deref()
            .and_then(|o| o.rsplit_once("-w"))
            .and_then(|(p, _)| pid_of(p))
            .unwrap_or(0);
        *per_process.entry(pid).or_default() += n;
    }
    let retried: i64 = c
        .fetch_one("SELECT count(*) AS n FROM jobs WHERE attempts > 0")
        .await
        .expect("retried jobs")
        .get("n");
    let dead: i64 = c
        .fetch_one("SELECT count(*) AS n FROM jobs WHERE state = 'dead'")
        .await
        .expect("dead jobs")
        .get("n");
    let _ = c.close().await;
    (per_process, retried, dead)
}

/// Records the audit says were created more than once.
async fn created_twice(url: &str) -> Vec<String> {
    let mut c = PgConnection::connect(url).await.expect("connect");
    let rows = c
        .fetch_all(
            "SELECT external_id FROM audit_changes WHERE op = 'create' \
             GROUP BY connection_id, kind, external_id HAVING count(*) > 1",
        )
        .await
        .expect("audit");
    let _ = c.close().await;
    rows.iter()
        .map(|r| r.get::<String, _>("external_id"))
        .collect()
}

async fn share_the_work(processes: usize, url: String) {
    let started = std::time::Instant::now();
    let contacts = 200;
    let mut w = world(contacts, ONE_WAY).await;
    let store = open_store(&url).await; // migrated once before the processes start
    let mut procs: Vec<Proc> = (0..processes).map(|_| w.spawn(&url, ARGS)).collect();
    let (ws, st) = (&w, &store);
    while_running(
        &mut procs,
        Duration::from_secs(50),
        "every contact copied and the queue empty",
        || async move {
            let n = ws.crm_contacts().await.len();
            let q = st.queue_stats().await.expect("queue stats");
            (n >= contacts && idle(&q)).then_some(())
        },
    )
    .await;
    for p in &mut procs {
        let status = p.terminate(Duration::from_secs(15)).await;
        assert!(
            status.success(),
            "graceful stop exits 0: {status:?}\n{}",
            p.log_tail()
        );
    }
    assert_each_contact_once(&w).await;
    let (accepted, keys, _) = crm_creates(&w.crm_log().await);
    assert_eq!(
        accepted, keys,
        "no create was sent twice (two runs of one job at once would repeat its create)"
    );
    let (per_process, retried, dead) = job_report(&url).await;
    assert_eq!(dead, 0, "nothing dead");
    assert_eq!(
        retried, 0,
        "every job ran exactly once: no lease expired and nothing failed"
    );
    assert!(
        created_twice(&url).await.is_empty(),
        "the audit shows one create per record"
    );
    let ghl = ghl_writes(&w.ghl_log().await);
    assert!(ghl.is_empty(), "nothing written to GHL: {ghl:?}");
    store.close().await;
    eprintln!(
        "{processes} processes; done jobs per process {per_process:?}; {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_the_jobs_and_write_each_record_once() {
    with_schema(|url| share_the_work(2, url)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_share_the_jobs_and_write_each_record_once() {
    with_schema(|url| share_the_work(3, url)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_scheduler_leader_moves_polling_to_another_process() {
    with_schema(|url| async move {
        let started = std::time::Instant::now();
        let contacts = 60;
        let mut w = world(contacts, ONE_WAY).await;
        let store = open_store(&url).await;
        let mut procs: Vec<Proc> = (0..3).map(|_| w.spawn(&url, ARGS)).collect();
        let (ws, st) = (&w, &store);
        while_running(
            &mut procs,
            Duration::from_secs(40),
            "the backfill",
            || async move {
                let n = ws.crm_contacts().await.len();
                let q = st.queue_stats().await.expect("queue stats");
                (n >= contacts && idle(&q)).then_some(())
            },
        )
        .await;

        // Find the leader through the store and kill it outright.
        let u = &url;
        let holder = while_running(
            &mut procs,
            Duration::from_secs(20),
            "a scheduler leader",
            || async move { leader(u).await },
        )
        .await;
        let pid = pid_of(&holder).unwrap_or_else(|| panic!("no pid in holder `{holder}`"));
        let i = procs
            .iter()
            .position(|p| p.pid == pid)
            .unwrap_or_else(|| panic!("leader `{holder}` is none of our processes"));
        let mut dead = procs.remove(i);
        dead.kill();
        eprintln!("killed the leader {holder} after {:?}", started.elapsed());

        // A change made after the kill is still found by a poll, now on another process.
        let id = w.ghl_contacts().keys().next().cloned().expect("a contact");
        let email = w.ghl_contacts()[&id]
            .0
            .clone()
            .expect("an email")
            .to_lowercase();
        w.edit_ghl(&id, city("After the failover"));
        let (ws, em) = (&w, &email);
        while_running(
            &mut procs,
            Duration::from_secs(40),
            "the change to reach Your App",
            || async move {
                ws.crm_contacts()
                    .await
                    .into_iter()
                    .any(|c| {
                        c["email"].as_str().map(str::to_lowercase).as_deref() == Some(em.as_str())
                            && c["city"] == "After the failover"
                    })
                    .then_some(())
            },
        )
        .await;
        let new_leader = leader(&url).await.expect("a new leader");
        let new_pid = pid_of(&new_leader);
        assert_ne!(new_pid, Some(pid), "the dead process does not lead");
        assert!(
            procs.iter().any(|p| Some(p.pid) == new_pid),
            "a surviving process leads: {new_leader}"
        );
        eprintln!(
            "{new_leader} took over; change synced after {:?}",
            started.elapsed()
        );

        for p in &mut procs {
            let status = p.terminate(Duration::from_secs(15)).await;
            assert!(status.success(), "graceful stop exits 0: {status:?}");
        }
        // A graceful stop gives the lease up at once.
        assert_eq!(
            leader(&url).await,
            None,
            "no leader once every process stopped"
        );
        assert_each_contact_once(&w).await;
        let mut writes: BTreeMap<(String, String), usize> = BTreeMap::new();
        for (path, body) in crm_patches(&w.crm_log().await) {
            *writes.entry((path, body.to_string())).or_default() += 1;
        }
        let twice: Vec<_> = writes.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "nothing written twice: {twice:?}");
        store.close().await;
        eprintln!("done in {:?}", started.elapsed());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_slower_than_their_lease_are_never_run_twice() {
    with_schema(|url| async move {
        let started = std::time::Instant::now();
        let contacts = 12;
        let mut w = world(contacts, ONE_WAY).await;
        // Every create takes 1.5 s, longer than the 1 s lease: only the running job's lease
        // renewal keeps the other process from taking it over mid-write.
        let r = reqwest::Client::new()
            .put(format!("{}/_sandbox/faults", w.crm.base_url))
            .json(&serde_json::json!({"rules": [{"route": "create-contact", "latencyMs": 1500}]}))
            .send()
            .await
            .expect("set faults");
        assert!(r.status().is_success(), "{:?}", r.text().await);
        let store = open_store(&url).await;
        let args = ["--workers", "3", "--poll-every", "1s", "--lease", "1s"];
        let mut procs: Vec<Proc> = (0..2).map(|_| w.spawn(&url, &args)).collect();
        let (ws, st) = (&w, &store);
        while_running(
            &mut procs,
            Duration::from_secs(45),
            "every slow create",
            || async move {
                let n = ws.crm_contacts().await.len();
                let q = st.queue_stats().await.expect("queue stats");
                (n >= contacts && idle(&q)).then_some(())
            },
        )
        .await;
        for p in &mut procs {
            p.terminate(Duration::from_secs(15)).await;
        }
        assert_each_contact_once(&w).await;
        let (accepted, keys, _) = crm_creates(&w.crm_log().await);
        assert_eq!(accepted, keys, "no create was sent twice");
        let (per_process, retried, dead) = job_report(&url).await;
        assert_eq!(
            (retried, dead),
            (0, 0),
            "no lease expired under a running job"
        );
        store.close().await;
        eprintln!(
            "done jobs per process {per_process:?}; {:?}",
            started.elapsed()
        );
    })
    .await;
}
