//! Prints how fast the GHL sandbox seeds, how much memory the data takes, and how much server time
//! typical calls take (from the sandbox's own request log).
//!
//! `cargo run --release -p ghl-sandbox --example ghl_seed_bench -- [contacts]` (default 100000)

use std::time::Instant;

use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use serde_json::{json, Value};

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(str::to_string)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn percentile(v: &mut [u64], p: f64) -> u64 {
    v.sort_unstable();
    v.get(((v.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let contacts: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let before = rss_mb();
    let t = Instant::now();
    let limits = LimitConfig {
        burst_max: 1_000_000,
        burst_interval_ms: 10_000,
        daily_max: 10_000_000,
    };
    let sb = GhlSandbox::start(GhlConfig {
        contacts,
        limits,
        ..Default::default()
    })
    .await?;
    let seed_secs = t.elapsed().as_secs_f64();
    let after = rss_mb();
    println!("seed: {contacts} contacts in {seed_secs:.2} s; RSS {before:.0} MB -> {after:.0} MB (+{:.0} MB)", after - before);
    println!("      {}", sb.state.store.read().counts());

    let http = reqwest::Client::new();
    let (base, token, loc) = (sb.base_url.clone(), sb.token(), sb.location_id());
    let ids: Vec<String> = sb
        .state
        .store
        .read()
        .contacts
        .keys()
        .take(1000)
        .cloned()
        .collect();
    let get = |path: String| {
        http.get(format!("{base}{path}"))
            .bearer_auth(&token)
            .header("Version", "2021-07-28")
    };
    for id in &ids {
        get(format!("/contacts/{id}"))
            .send()
            .await?
            .error_for_status()?;
        get(format!("/contacts/{id}/tasks"))
            .send()
            .await?
            .error_for_status()?;
    }
    for i in 0..200 {
        http.post(format!("{base}/contacts/"))
            .bearer_auth(&token)
            .header("Version", "2021-07-28")
            .json(&json!({"locationId": loc, "firstName": "Bench", "email": format!("bench{i}@example.com")}))
            .send()
            .await?
            .error_for_status()?;
    }
    for _ in 0..20 {
        http.post(format!("{base}/contacts/search"))
            .bearer_auth(&token)
            .header("Version", "2021-07-28")
            .json(&json!({"locationId": loc, "pageLimit": 100, "filters": [{"field": "tags", "operator": "eq", "value": "vip"}]}))
            .send()
            .await?
            .error_for_status()?;
    }
    let log: Value = http
        .get(format!("{base}/_sandbox/requests?limit=100000"))
        .send()
        .await?
        .json()
        .await?;
    let mut by_op: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    for r in log["requests"].as_array().into_iter().flatten() {
        let op = r["operationId"].as_str().unwrap_or("?").to_string();
        by_op
            .entry(op)
            .or_default()
            .push(r["latencyUs"].as_u64().unwrap_or(0));
    }
    println!("server time per call (from the request log), microseconds:");
    for (op, mut v) in by_op {
        let n = v.len();
        println!(
            "  {op:<28} n={n:<5} p50={:<6} p99={}",
            percentile(&mut v, 0.5),
            percentile(&mut v, 0.99)
        );
    }
    sb.shutdown().await;
    Ok(())
}
