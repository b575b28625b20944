//! `Alerts::run` over a real SQLite store fills the board the dashboard shows: each rule's
//! reading, and each notification with every channel's delivery result (one local receiver
//! accepts, one answers 404).

mod common;

use std::sync::Arc;
use std::time::Duration;

use alerts::{parse_alerts, AlertStatus, Alerts, BudgetSource, RetryPolicy};
use connectors::Budget;
use engine::store::{self, NewJob, Store};

#[tokio::test]
async fn run_records_readings_and_delivery_results() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("b.db").display());
    let s: Arc<dyn Store> = store::open(&url).await.expect("open store");
    let mut job = NewJob::new("flow-a", "ghl:contact:1");
    job.max_attempts = Some(1);
    s.enqueue(job).await.expect("enqueue");
    let claimed = s
        .claim("w1", 1, Duration::from_secs(60))
        .await
        .expect("claim");
    s.fail(claimed[0].id, "w1", "boom", Duration::ZERO)
        .await
        .expect("fail");

    let (addr, _state) = common::http_receiver().await;
    let file = format!(
        r#"
channels:
  good: {{ type: webhook, url: "http://{addr}/ok" }}
  bad: {{ type: webhook, url: "http://{addr}/gone" }}
interval: 1s
rules:
  - name: dlq
    condition: {{ type: dlq_growth, min_new: 1, window: 10m }}
    channels: [good, bad]
  - name: backlog
    condition: {{ type: delay, max_age: 5m }}
    channels: [good]
"#
    );
    let alerts = Alerts::with_retry(
        parse_alerts(&file, &|_| None).expect("valid"),
        RetryPolicy {
            attempts: 1,
            first_backoff: Duration::ZERO,
            timeout: Duration::from_secs(5),
        },
    );
    let board = alerts.board();
    assert_eq!(board.rules().len(), 2);
    assert!(board.history().is_empty() && board.last_check().is_none());

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let budgets: Arc<dyn BudgetSource> = Arc::new(Vec::<(String, Budget)>::new());
    let task = tokio::spawn(alerts.run(s.clone(), budgets, stop_rx));
    for _ in 0..300 {
        if !board.history().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop_tx.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("stops")
        .expect("no panic");

    let history = board.history();
    assert_eq!(history.len(), 1, "{history:?}");
    let h = &history[0];
    assert_eq!((h.rule.as_str(), h.status), ("dlq", AlertStatus::Firing));
    assert!(
        h.summary.starts_with("1 jobs dead-lettered"),
        "{}",
        h.summary
    );
    let good = h.deliveries.iter().find(|d| d.channel == "good").unwrap();
    assert!(good.ok && good.error.is_none());
    let bad = h.deliveries.iter().find(|d| d.channel == "bad").unwrap();
    assert!(!bad.ok);
    let why = bad.error.as_deref().unwrap_or_default();
    assert!(why.contains("404"), "{why}");
    assert!(
        !why.contains(&addr.to_string()),
        "no URL in the reason: {why}"
    );

    let readings = board.readings();
    assert!(readings["dlq"].firing);
    assert!(!readings["backlog"].firing);
    assert_eq!(readings["backlog"].summary, "no job is waiting");
    assert!(board.last_check().is_some());
    s.close().await;
}
