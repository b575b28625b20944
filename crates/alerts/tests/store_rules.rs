//! Rules evaluated over a real SQLite store with real jobs, dead letters, audit calls and
//! connections; and `Alerts::run` delivering to a local webhook until stopped.

mod common;

use std::sync::Arc;
use std::time::Duration;

use alerts::{parse_alerts, AlertStatus, Alerts, BudgetSource, RetryPolicy};
use chrono::{DateTime, Utc};
use connectors::Budget;
use engine::store::{self, CallAudit, ConnectionStatus, NewConnection, NewJob, Store};

const RULES: &str = r#"
channels:
  hook: { type: webhook, url: "${HOOK_URL}" }
interval: 1s
rules:
  - name: dlq
    condition: { type: dlq_growth, min_new: 2, window: 10m }
    channels: [hook]
    cooldown: 1h
  - name: errors
    condition: { type: error_rate, percent: 50, window: 10m, min_calls: 4 }
    channels: [hook]
  - name: backlog
    condition: { type: delay, max_age: 5m }
    channels: [hook]
  - name: auth
    condition: { type: reconnect_needed, window: 10m, min_401: 2 }
    channels: [hook]
  - name: quota
    condition: { type: quota_low, max_left: 0.1 }
    channels: [hook]
"#;

fn config(hook: &str) -> alerts::AlertsConfig {
    let hook = hook.to_owned();
    parse_alerts(RULES, &move |k| (k == "HOOK_URL").then(|| hook.clone())).expect("valid")
}

async fn open(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("a.db").display());
    store::open(&url).await.expect("open store")
}

/// Enqueues `n` jobs allowed one attempt each and fails them into the dead-letter queue.
async fn kill_jobs(store: &dyn Store, n: usize) {
    for i in 0..n {
        let mut job = NewJob::new("flow-a", format!("ghl:contact:{i}"));
        job.max_attempts = Some(1);
        store.enqueue(job).await.expect("enqueue");
    }
    let claimed = store
        .claim("w1", n as u32, Duration::from_secs(60))
        .await
        .expect("claim");
    assert_eq!(claimed.len(), n);
    for job in claimed {
        store
            .fail(job.id, "w1", "boom", Duration::ZERO)
            .await
            .expect("fail");
    }
}

async fn call(store: &dyn Store, conn: &str, status: Option<u16>) {
    store
        .record_call(CallAudit {
            at: Utc::now(),
            connection_id: conn.into(),
            app: "ghl".into(),
            method: "GET".into(),
            path: "/contacts/x".into(),
            status,
            latency_ms: 5,
            job_id: None,
        })
        .await
        .expect("record call");
}

fn budget(daily_remaining: u64) -> Vec<(String, Budget)> {
    vec![(
        "ghl-main".into(),
        Budget {
            burst_max: 100,
            burst_remaining: 90,
            interval_ms: 10_000,
            daily_max: 1000,
            daily_remaining,
        },
    )]
}

async fn fired(
    a: &mut Alerts,
    s: &dyn Store,
    b: &dyn BudgetSource,
    now: DateTime<Utc>,
) -> Vec<(String, AlertStatus, String)> {
    a.evaluate(s, b, now)
        .await
        .into_iter()
        .map(|(e, ch)| {
            assert_eq!(ch, vec!["hook".to_owned()]);
            (e.rule, e.status, e.summary)
        })
        .collect()
}

#[tokio::test]
async fn every_rule_over_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(&dir).await;
    let mut a = Alerts::new(config("http://127.0.0.1:9/unused"));
    let now = Utc::now();

    // A quiet store fires nothing.
    assert!(fired(&mut a, s.as_ref(), &budget(500), now)
        .await
        .is_empty());

    // One dead job: below min_new. Two: fires.
    kill_jobs(s.as_ref(), 1).await;
    assert!(fired(&mut a, s.as_ref(), &budget(500), Utc::now())
        .await
        .is_empty());
    kill_jobs(s.as_ref(), 1).await;
    let got = fired(&mut a, s.as_ref(), &budget(500), Utc::now()).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].0.as_str(), got[0].1), ("dlq", AlertStatus::Firing));
    assert!(got[0].2.starts_with("2 jobs dead-lettered"), "{}", got[0].2);
    // Still firing within the cooldown: silent.
    assert!(fired(&mut a, s.as_ref(), &budget(500), Utc::now())
        .await
        .is_empty());

    // Error rate: 2 failures of 4 calls = 50%.
    call(s.as_ref(), "ins", Some(200)).await;
    call(s.as_ref(), "ins", Some(201)).await;
    call(s.as_ref(), "ins", Some(500)).await;
    call(s.as_ref(), "ins", None).await;
    let got = fired(&mut a, s.as_ref(), &budget(500), Utc::now()).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "errors");
    assert!(
        got[0].2.starts_with("2 of 4 API calls failed"),
        "{}",
        got[0].2
    );

    // A job due 20 minutes ago is a backlog.
    let mut late = NewJob::new("flow-a", "ghl:contact:late");
    late.run_at = Some(Utc::now() - chrono::Duration::minutes(20));
    s.enqueue(late).await.expect("enqueue");
    let got = fired(&mut a, s.as_ref(), &budget(500), Utc::now()).await;
    assert_eq!(
        got.iter().map(|g| g.0.as_str()).collect::<Vec<_>>(),
        ["backlog"]
    );

    // A connection marked needs_reauth, and another with two 401s.
    s.create_connection(NewConnection {
        id: "ghl-main".into(),
        app: "ghl".into(),
        name: "GHL".into(),
        settings: serde_json::json!({}),
        secret: None,
        status: ConnectionStatus::NeedsReauth,
    })
    .await
    .expect("connection");
    s.create_connection(NewConnection {
        id: "ins".into(),
        app: "insightly".into(),
        name: "Insightly".into(),
        settings: serde_json::json!({}),
        secret: None,
        status: ConnectionStatus::Active,
    })
    .await
    .expect("connection");
    call(s.as_ref(), "ins", Some(401)).await;
    call(s.as_ref(), "ins", Some(401)).await;
    // The 401s also push the error rate to 4/6; it is already firing, so nothing repeats.
    let got = fired(&mut a, s.as_ref(), &budget(500), Utc::now()).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "auth");
    assert_eq!(
        got[0].2,
        "reconnect needed: ghl-main (needs_reauth), ins (2× 401 in the last 10m)"
    );

    // Quota: 100 of 1000 left is 10%.
    let got = fired(&mut a, s.as_ref(), &budget(100), Utc::now()).await;
    assert_eq!(
        got.iter().map(|g| g.0.as_str()).collect::<Vec<_>>(),
        ["quota"]
    );

    // Clearing: discard the dead jobs, run the late job, reconnect; an hour later the call
    // windows are empty too. Every rule says "resolved" once.
    for job in s
        .dlq_list(&Default::default(), Default::default())
        .await
        .expect("dlq")
    {
        s.dlq_discard(job.id).await.expect("discard");
    }
    let claimed = s
        .claim("w2", 10, Duration::from_secs(60))
        .await
        .expect("claim");
    for job in claimed {
        s.complete(job.id, "w2", Default::default())
            .await
            .expect("complete");
    }
    s.update_connection(
        "ghl-main",
        engine::store::ConnectionPatch {
            status: Some(ConnectionStatus::Active),
            ..Default::default()
        },
    )
    .await
    .expect("update");
    let later = Utc::now() + chrono::Duration::hours(1);
    let mut got = fired(&mut a, s.as_ref(), &budget(900), later).await;
    got.sort_by(|x, y| x.0.cmp(&y.0));
    let names: Vec<(&str, AlertStatus)> = got.iter().map(|g| (g.0.as_str(), g.1)).collect();
    assert_eq!(
        names,
        [
            ("auth", AlertStatus::Resolved),
            ("backlog", AlertStatus::Resolved),
            ("dlq", AlertStatus::Resolved),
            ("errors", AlertStatus::Resolved),
            ("quota", AlertStatus::Resolved),
        ]
    );
    assert!(fired(&mut a, s.as_ref(), &budget(900), later)
        .await
        .is_empty());
}

#[tokio::test]
async fn dlq_window_excludes_old_deaths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(&dir).await;
    let mut a = Alerts::new(config("http://127.0.0.1:9/unused"));
    kill_jobs(s.as_ref(), 3).await;
    // Evaluated 11 minutes later, the deaths fall outside the 10-minute window.
    let later = Utc::now() + chrono::Duration::minutes(11);
    assert!(fired(&mut a, s.as_ref(), &budget(500), later)
        .await
        .is_empty());
    let got = fired(&mut a, s.as_ref(), &budget(500), Utc::now()).await;
    assert!(got[0].2.starts_with("3 jobs"), "{got:?}");
}

#[tokio::test]
async fn run_delivers_until_stopped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(&dir).await;
    kill_jobs(s.as_ref(), 2).await;
    let (addr, state) = common::http_receiver().await;
    let alerts = Alerts::with_retry(
        config(&format!("http://{addr}/run")),
        RetryPolicy {
            attempts: 1,
            first_backoff: Duration::ZERO,
            timeout: Duration::from_secs(5),
        },
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let budgets: Arc<dyn BudgetSource> = Arc::new(budget(500));
    let task = tokio::spawn(alerts.run(s.clone(), budgets, stop_rx));
    for _ in 0..200 {
        if !state.got.lock().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let got = state.got.lock().clone();
    assert_eq!(got.len(), 1, "one firing notice");
    let body: serde_json::Value = serde_json::from_slice(&got[0].body).expect("json");
    assert_eq!(
        (body["rule"].as_str(), body["status"].as_str()),
        (Some("dlq"), Some("firing"))
    );
    stop_tx.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("stops")
        .expect("no panic");
}
