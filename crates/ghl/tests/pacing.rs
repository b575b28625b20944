//! Pacing on GHL's rate-limit headers against the sandbox: a long run under a scaled-down limit
//! draws zero 429s and runs close to the allowed rate. Prints the achieved fraction.

use std::sync::Arc;
use std::time::Instant;

use ghl::{Auth, GhlClient, Pacer, Secret};
use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use serde_json::Value;

async fn statuses(base: &str) -> Vec<u64> {
    let v: Value = reqwest::get(format!("{base}/_sandbox/requests?limit=100000"))
        .await
        .expect("log")
        .json()
        .await
        .expect("json");
    v["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["status"].as_u64())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_requests_no_429_near_the_allowed_rate() {
    let (max, interval_ms, total) = (200u32, 1000u64, 2000usize);
    let limits = LimitConfig {
        burst_max: max,
        burst_interval_ms: interval_ms,
        daily_max: 1_000_000,
    };
    let sb = GhlSandbox::start(GhlConfig {
        contacts: 20,
        limits,
        ..Default::default()
    })
    .await
    .expect("sandbox");
    let location = sb.location_id();
    let ids: Vec<String> = sb
        .state
        .store
        .read()
        .contacts_in(&location)
        .map(|c| c.id.clone())
        .collect();
    let pacer = Arc::new(Pacer::new());
    let client = GhlClient::builder(Auth::PrivateIntegration(Secret::new(sb.token())))
        .base_url(&sb.base_url)
        .location_id(&location)
        .pacer(pacer.clone())
        .build()
        .expect("client");
    // Learn the real limits from one answer, as any first call does.
    client.get_contact(&ids[0]).await.expect("first call");
    let started = Instant::now();
    let workers = 16;
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let (client, ids) = (client.clone(), ids.clone());
            tokio::spawn(async move {
                for i in (w..total).step_by(workers) {
                    client
                        .get_contact(&ids[i % ids.len()])
                        .await
                        .expect("paced call succeeds");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("worker");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let codes = statuses(&sb.base_url).await;
    let too_many = codes.iter().filter(|s| **s == 429).count();
    let allowed = f64::from(max) / (interval_ms as f64 / 1000.0);
    let achieved = total as f64 / elapsed;
    let fraction = achieved / allowed;
    println!(
        "pacing: {total} requests in {elapsed:.2} s under {max} per {interval_ms} ms: {too_many} × 429, \
         achieved {achieved:.1} req/s of {allowed:.1} allowed = {fraction:.3} of the allowed rate"
    );
    assert_eq!(too_many, 0, "the pacer must never draw a 429");
    assert_eq!(codes.len(), total + 1, "every call made exactly once");
    assert!(
        fraction >= 0.9,
        "achieved only {fraction:.3} of the allowed rate"
    );
    let budget = client.budget();
    assert_eq!(
        (budget.burst_max, budget.interval_ms),
        (max, interval_ms),
        "limits learned from the headers"
    );
    assert!(budget.daily_remaining <= 1_000_000 - total as u64);
}

#[tokio::test]
async fn two_clients_sharing_a_budget_stay_under_it() {
    // Two processes of one app on one location: the second learns of the first from the headers.
    let limits = LimitConfig {
        burst_max: 30,
        burst_interval_ms: 1000,
        daily_max: 1_000_000,
    };
    let sb = GhlSandbox::start(GhlConfig {
        contacts: 5,
        limits,
        ..Default::default()
    })
    .await
    .expect("sandbox");
    let location = sb.location_id();
    let id = sb
        .state
        .store
        .read()
        .contacts_in(&location)
        .next()
        .map(|c| c.id.clone())
        .expect("contact");
    let make = || {
        GhlClient::builder(Auth::PrivateIntegration(Secret::new(sb.token())))
            .base_url(&sb.base_url)
            .location_id(&location)
            .build()
            .expect("client")
    };
    let (a, b) = (make(), make());
    let run = |c: GhlClient, id: String| {
        tokio::spawn(async move {
            for _ in 0..60 {
                c.get_contact(&id)
                    .await
                    .expect("call succeeds (429s are retried)");
            }
        })
    };
    let (ta, tb) = (run(a, id.clone()), run(b, id.clone()));
    ta.await.expect("a");
    tb.await.expect("b");
    let codes = statuses(&sb.base_url).await;
    let too_many = codes.iter().filter(|s| **s == 429).count();
    println!("two clients, one budget: 120 calls, {too_many} × 429 (each retried)");
    assert_eq!(
        codes.iter().filter(|s| **s == 200).count(),
        120,
        "every call succeeded once"
    );
    assert!(
        too_many <= 10,
        "sharing a budget blindly would draw dozens of 429s, got {too_many}"
    );
}
