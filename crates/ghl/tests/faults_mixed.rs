//! The client under every fault at once — 5 % each of 5xx, timeouts, garbled answers, and "422
//! but created" on creates — over many real operations: no duplicate creates, no lost calls.

mod common;

use std::time::Duration;

use common::{unique, Fx};
use ghl::models::contact::{CreateContact, UpdateContact};
use ghl::models::task::CreateTask;
use ghl::RetryPolicy;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_faults_lose_nothing_and_duplicate_nothing() {
    let fx = Fx::start().await;
    // This test is about faults, not pacing: lift the rate limit out of the way.
    let limits = json!({"burstMax": 100_000, "burstIntervalMs": 10_000, "dailyMax": 10_000_000});
    fx.admin(Method::PUT, "/limits", limits).await;
    fx.faults(json!([
        {"route": "*", "errorRate": 0.05, "timeoutRate": 0.05, "timeoutMs": 400, "garbledRate": 0.05},
        {"route": "create-contact", "acceptThen422Rate": 0.05},
        {"route": "create-task", "acceptThen422Rate": 0.05}
    ]))
    .await;
    let retry = RetryPolicy {
        max_attempts: 12,
        base: Duration::from_millis(5),
        ..Default::default()
    };
    let client = ghl::GhlClient::builder(ghl::Auth::PrivateIntegration(ghl::Secret::new(
        fx.sb.token(),
    )))
    .base_url(&fx.sb.base_url)
    .location_id(&fx.location)
    .retry(retry)
    .timeout(Duration::from_millis(150))
    .build()
    .expect("client");
    let people: Vec<String> = (0..60).map(|_| unique("mixed")).collect();
    let workers: Vec<_> = people
        .chunks(15)
        .map(|chunk| {
            let (client, chunk) = (client.clone(), chunk.to_vec());
            tokio::spawn(async move {
                for name in chunk {
                    let email = format!("{name}@example.com");
                    let new = CreateContact {
                        first_name: Some(name.clone()),
                        email: Some(email),
                        ..Default::default()
                    };
                    let created = client
                        .create_contact(&new)
                        .await
                        .expect("create never lost");
                    let update = UpdateContact {
                        city: Some("Porto".into()),
                        ..Default::default()
                    };
                    client
                        .update_contact(&created.id, &update)
                        .await
                        .expect("update never lost");
                    client
                        .add_tags(&created.id, &["mixed"])
                        .await
                        .expect("tags never lost");
                    let task = CreateTask {
                        title: format!("Call {name}"),
                        due_date: "2027-01-15T10:00:00Z".into(),
                        completed: false,
                        ..Default::default()
                    };
                    client
                        .create_task(&created.id, &task)
                        .await
                        .expect("task never lost");
                    let read = client
                        .get_contact(&created.id)
                        .await
                        .expect("read never lost");
                    assert_eq!(read.city.as_deref(), Some("Porto"));
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("worker");
    }
    {
        let store = fx.sb.state.store.read();
        for name in &people {
            let email = format!("{name}@example.com");
            let matches: Vec<_> = store
                .contacts_in(&fx.location)
                .filter(|c| c.email.as_deref() == Some(email.as_str()))
                .collect();
            assert_eq!(matches.len(), 1, "{email} must exist exactly once");
            let c = matches[0];
            assert!(c.tags.contains(&"mixed".to_string()));
            let tasks = store.tasks.get(&c.id).cloned().unwrap_or_default();
            assert_eq!(
                tasks
                    .iter()
                    .filter(|t| t.title == format!("Call {name}"))
                    .count(),
                1,
                "one task for {name}"
            );
        }
    }
    let log = fx.requests().await;
    let injected = log.iter().filter(|r| r["fault"].is_string()).count();
    println!(
        "mixed faults: {} calls, {injected} with an injected fault, 0 duplicates, 0 lost",
        log.len()
    );
    assert!(
        injected >= 20,
        "the run must actually meet faults (saw {injected})"
    );
}
