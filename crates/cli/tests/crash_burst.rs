//! Crash safety under a burst of changes: while `ghl-bridge run` syncs GHL → Your App, the test
//! edits GHL contacts in quick succession and feeds the matching webhook hints into the store
//! (through `Engine::ingest`, the path a webhook receiver takes; some delivered twice), while
//! polls find the same changes. The engine is SIGKILLed twice mid-burst and restarted. At the
//! end every contact holds its last value on both sides, no record was created twice, and no
//! value was written twice (Your App's request log).

mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use connectors::{ChangeHint, EntityKind};
use engine::flow::load_project_with;
use engine::runtime::{Engine, EngineOptions};
use engine::store::EventSource;
use rand::{Rng, SeedableRng};
use support::*;

const CONTACTS: usize = 40;
const CHANGES: usize = 240;

const ARGS: &[&str] = &["--workers", "4", "--poll-every", "300ms", "--lease", "2s"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_changes_with_kills_lands_every_change_exactly_once() {
    let started = std::time::Instant::now();
    let mut w = world(CONTACTS, ONE_WAY).await;
    let db = w.db_url.clone();
    let store = open_store(&db).await;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed());

    // The receiving side of webhooks: the project's flows over the same store, no workers.
    let env: HashMap<&str, String> = [
        ("GHL_URL", w.ghl.base_url.clone()),
        ("GHL_LOCATION", w.ghl.location_id()),
        ("GHL_TOKEN", w.ghl.token()),
        ("CRM_URL", w.crm.api_url()),
        ("CRM_KEY", w.crm.api_key()),
    ]
    .into();
    let project =
        load_project_with(&w.project, &|k: &str| env.get(k).cloned()).expect("the project loads");
    let ingress = Engine {
        store: store.clone(),
        flows: project.flows,
        connectors: BTreeMap::new(),
        options: EngineOptions::default(),
    };

    // Backfill first, so the burst is all updates.
    let mut p = w.spawn(&db, ARGS);
    let (ws, st) = (&w, &store);
    while_running(
        std::slice::from_mut(&mut p),
        Duration::from_secs(40),
        "the backfill",
        || async move {
            let n = ws.crm_contacts().await.len();
            let q = st.queue_stats().await.expect("queue stats");
            (n >= CONTACTS && idle(&q)).then_some(())
        },
    )
    .await;
    let creates_after_backfill = crm_creates(&w.crm_log().await).0;

    let ids: Vec<String> = w.ghl_contacts().keys().cloned().collect();
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    // Two kills, each a random 50–400 ms after a point in the burst, while the burst goes on
    // (so jobs are in flight); each followed by a restart later in the burst.
    let kill_from = [CHANGES / 5, CHANGES / 2];
    let mut kill_deadline: Option<tokio::time::Instant> = None;
    let mut restart_at: Option<usize> = None;
    let mut running = true;
    let mut kills = 0;
    for step in 0..CHANGES {
        let id = &ids[rng.random_range(0..ids.len())];
        let value = format!("City {step}");
        w.edit_ghl(id, city(&value));
        expected.insert(id.clone(), value);
        let hint = ChangeHint {
            kind: EntityKind::Contact,
            id: id.clone(),
            parent_id: None,
            deleted: false,
            event_id: format!("wh-{step}"),
            event_type: "ContactUpdate".into(),
        };
        let copies = if step % 5 == 0 { 2 } else { 1 }; // at-least-once delivery
        for _ in 0..copies {
            ingress
                .ingest("ghl", std::slice::from_ref(&hint), EventSource::Webhook)
                .await
                .expect("ingest a webhook hint");
        }
        if running && kill_deadline.is_none() && kills < 2 && step >= kill_from[kills] {
            let after = Duration::from_millis(rng.random_range(50..=400));
            kill_deadline = Some(tokio::time::Instant::now() + after);
        }
        if kill_deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            assert!(
                p.alive(),
                "still running before the kill:\n{}",
                p.log_tail()
            );
            p.kill();
            kills += 1;
            running = false;
            kill_deadline = None;
            restart_at = Some(step + CHANGES / 10);
            eprintln!("step {step}: killed");
        }
        if !running && restart_at.is_some_and(|r| step >= r) {
            p = w.spawn(&db, ARGS);
            running = true;
            eprintln!("step {step}: restarted");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    if let Some(d) = kill_deadline {
        // The burst ended first (a slow machine): kill at the drawn time all the same.
        tokio::time::sleep_until(d).await;
        p.kill();
        kills += 1;
        running = false;
    }
    if !running {
        p = w.spawn(&db, ARGS); // the burst ended while it was down
    }
    assert_eq!(kills, 2);

    let expected = Arc::new(expected);
    let email_of: BTreeMap<String, String> = w
        .ghl_contacts()
        .into_iter()
        .filter_map(|(id, (email, _))| email.map(|e| (id, e.to_lowercase())))
        .collect();
    let (ws, st, exp, emails) = (&w, &store, expected.clone(), &email_of);
    while_running(
        std::slice::from_mut(&mut p),
        Duration::from_secs(45),
        "every change to land and the queue to empty",
        || {
            let exp = exp.clone();
            async move {
                let crm: BTreeMap<String, String> = ws
                    .crm_contacts()
                    .await
                    .into_iter()
                    .map(|c| {
                        (
                            c["email"].as_str().unwrap_or_default().to_lowercase(),
                            c["city"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
                let landed = exp
                    .iter()
                    .all(|(id, v)| crm.get(&emails[id]).is_some_and(|c| c == v));
                let q = st.queue_stats().await.expect("queue stats");
                (landed && idle(&q)).then_some(())
            }
        },
    )
    .await;
    let status = p.terminate(Duration::from_secs(15)).await;
    assert!(status.success(), "graceful stop exits 0: {status:?}");

    // GHL still holds the last value of each edit (nothing was written back), and so does Your App.
    for (id, (_, c)) in w.ghl_contacts() {
        if let Some(v) = expected.get(&id) {
            assert_eq!(c.as_deref(), Some(v.as_str()), "GHL contact {id}");
        }
    }
    assert_each_contact_once(&w).await;
    let log = w.crm_log().await;
    assert_eq!(
        crm_creates(&log).0,
        creates_after_backfill,
        "the burst created nothing"
    );
    let mut writes: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (path, body) in crm_patches(&log) {
        if let Some(c) = body["city"].as_str() {
            *writes.entry((path, c.to_string())).or_default() += 1;
        }
    }
    let twice: Vec<_> = writes.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "values written twice: {twice:?}");
    assert!(
        writes.len() >= expected.len(),
        "every contact's last value was written"
    );
    let ghl = ghl_writes(&w.ghl_log().await);
    assert!(ghl.is_empty(), "nothing written to GHL: {ghl:?}");
    let q = store.queue_stats().await.expect("queue stats");
    assert_eq!(q.dead, 0, "nothing in the dead-letter queue");
    store.close().await;
    eprintln!(
        "{CHANGES} changes, {} values written, 2 kills, {} interrupted jobs taken over; done in {:?}",
        writes.len(),
        taken_over_after_a_crash(&db).await,
        started.elapsed()
    );
}

/// Two-way contact sync, last writer wins. (GHL refuses `companyName` on updates, so the Your
/// App side edits the street.)
const TWO_WAY: &str = "name: contacts both ways
sync:
  source: ghl
  target: crm
  direction: two_way
  kinds: [contact]
  match:
    contact: [email]
";

/// Two-way: the jobs of a record's two twins (`ghl:contact:X` and `crm:contact:Y`) have
/// different entity keys, so only the per-identity lock keeps a stale read on one side from
/// overwriting a fresh edit from the other (`CRASH_SEED=5724278365828027243` reproduced that
/// lost update before the lock existed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_way_burst_on_both_sides_with_kills_converges_without_echoes() {
    let started = std::time::Instant::now();
    let contacts = 30;
    let changes = 160;
    let mut w = world(contacts, TWO_WAY).await;
    let db = w.db_url.clone();
    let store = open_store(&db).await;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed());
    let env: HashMap<&str, String> = [
        ("GHL_URL", w.ghl.base_url.clone()),
        ("GHL_LOCATION", w.ghl.location_id()),
        ("GHL_TOKEN", w.ghl.token()),
        ("CRM_URL", w.crm.api_url()),
        ("CRM_KEY", w.crm.api_key()),
    ]
    .into();
    let project =
        load_project_with(&w.project, &|k: &str| env.get(k).cloned()).expect("the project loads");
    let ingress = Engine {
        store: store.clone(),
        flows: project.flows,
        connectors: BTreeMap::new(),
        options: EngineOptions::default(),
    };

    let mut p = w.spawn(&db, ARGS);
    let (ws, st) = (&w, &store);
    while_running(
        std::slice::from_mut(&mut p),
        Duration::from_secs(40),
        "the backfill",
        || async move {
            let n = ws.crm_contacts().await.len();
            let q = st.queue_stats().await.expect("queue stats");
            (n >= contacts && idle(&q)).then_some(())
        },
    )
    .await;

    // email → (GHL id, Your App id)
    let mut pairs: Vec<(String, String, String)> = Vec::new();
    let crm_ids: BTreeMap<String, String> = w
        .crm_contacts()
        .await
        .iter()
        .map(|c| {
            (
                c["email"].as_str().unwrap_or_default().to_lowercase(),
                c["id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for (id, (email, _)) in w.ghl_contacts() {
        let email = email.expect("seeded contacts have emails").to_lowercase();
        let crm_id = crm_ids[&email].clone();
        pairs.push((email, id, crm_id));
    }
    let http = reqwest::Client::new();
    let mut cities: BTreeMap<String, String> = BTreeMap::new(); // by email, set in GHL
    let mut streets: BTreeMap<String, String> = BTreeMap::new(); // by email, set in Your App
    let (kill_at, restart_at) = (changes / 3, changes / 2);
    let mut running = true;
    for step in 0..changes {
        let (email, ghl_id, crm_id) = &pairs[rng.random_range(0..pairs.len())];
        let (connection, id) = if step % 2 == 0 {
            let v = format!("City {step}");
            w.edit_ghl(ghl_id, city(&v));
            cities.insert(email.clone(), v);
            ("ghl", ghl_id)
        } else {
            let v = format!("{step} Main Street");
            let r = http
                .patch(format!("{}/_sandbox/contacts/{crm_id}", w.crm.base_url))
                .json(&serde_json::json!({ "address1": v }))
                .send()
                .await
                .expect("edit in Your App");
            assert!(r.status().is_success(), "{:?}", r.text().await);
            streets.insert(email.clone(), v);
            ("crm", crm_id)
        };
        let hint = ChangeHint {
            kind: EntityKind::Contact,
            id: id.clone(),
            parent_id: None,
            deleted: false,
            event_id: format!("wh-{step}"),
            event_type: "contact.updated".into(),
        };
        ingress
            .ingest(connection, &[hint], EventSource::Webhook)
            .await
            .expect("ingest a webhook hint");
        if running && step == kill_at {
            tokio::time::sleep(Duration::from_millis(rng.random_range(50..=400))).await;
            p.kill();
            running = false;
        }
        if !running && step == restart_at {
            p = w.spawn(&db, ARGS);
            running = true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let (ws, st, cs, co) = (&w, &store, &cities, &streets);
    while_running(
        std::slice::from_mut(&mut p),
        Duration::from_secs(45),
        "both sides to converge and the queue to empty",
        || async move {
            let crm: BTreeMap<String, (String, String)> = ws
                .crm_contacts()
                .await
                .into_iter()
                .map(|c| {
                    let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
                    (s("email").to_lowercase(), (s("city"), s("address1")))
                })
                .collect();
            let ghl: BTreeMap<String, (String, String)> = ws
                .ghl
                .state
                .store
                .read()
                .contacts
                .values()
                .map(|c| {
                    (
                        c.email.clone().unwrap_or_default().to_lowercase(),
                        (
                            c.city.clone().unwrap_or_default(),
                            c.address1.clone().unwrap_or_default(),
                        ),
                    )
                })
                .collect();
            let ok = cs.iter().all(|(e, v)| {
                crm.get(e).is_some_and(|x| &x.0 == v) && ghl.get(e).is_some_and(|x| &x.0 == v)
            }) && co.iter().all(|(e, v)| {
                crm.get(e).is_some_and(|x| &x.1 == v) && ghl.get(e).is_some_and(|x| &x.1 == v)
            });
            let q = st.queue_stats().await.expect("queue stats");
            (ok && idle(&q)).then_some(())
        },
    )
    .await;
    let status = p.terminate(Duration::from_secs(15)).await;
    assert!(status.success(), "graceful stop exits 0: {status:?}");

    assert_each_contact_once(&w).await;
    let ghl_log = w.ghl_log().await;
    let ghl_creates: Vec<_> = ghl_log
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/contacts/")
        .collect();
    assert!(
        ghl_creates.is_empty(),
        "nothing created in GHL: {ghl_creates:?}"
    );
    // No value was written twice to one record, on either side.
    let mut writes: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (path, body) in crm_patches(&w.crm_log().await) {
        if let Some(c) = body["city"].as_str() {
            *writes.entry((path, c.to_string())).or_default() += 1;
        }
    }
    for r in ghl_writes(&ghl_log) {
        if let Some(c) = r["body"]["address1"].as_str() {
            let path = r["path"].as_str().unwrap_or_default().to_string();
            *writes.entry((path, c.to_string())).or_default() += 1;
        }
    }
    let twice: Vec<_> = writes.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "values written twice: {twice:?}");
    let q = store.queue_stats().await.expect("queue stats");
    assert_eq!(q.dead, 0, "nothing in the dead-letter queue");
    store.close().await;
    eprintln!(
        "two-way: {changes} changes, {} values written; done in {:?}",
        writes.len(),
        started.elapsed()
    );
}
