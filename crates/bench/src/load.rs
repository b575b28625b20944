//! Load generation against `serve`: signed GHL webhooks, closed-loop at a fixed concurrency
//! or open-loop at a fixed arrival rate, with latencies of the answers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::latency::Latencies;
use crate::stack::Stack;

/// Outcome of one load phase.
#[derive(Debug, Default)]
pub struct Phase {
    /// Answers 200 (the event is committed to the store).
    pub accepted: u64,
    /// Any other answer or a transport error.
    pub failed: u64,
    /// First failure, to show why.
    pub first_error: Option<String>,
    /// Latencies of the 200s.
    pub latencies: Latencies,
    pub elapsed: Duration,
}

impl Phase {
    fn add(&mut self, other: Phase) {
        self.accepted += other.accepted;
        self.failed += other.failed;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latencies.merge(other.latencies);
    }
}

/// An HTTP client with one kept-alive connection per concurrent sender.
pub fn client(concurrency: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency.max(1))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

/// Unique webhook and contact ids for this run: `run` keeps ids of two runs apart.
pub struct Ids {
    run: u32,
    next: AtomicU64,
}

impl Ids {
    pub fn new() -> Arc<Ids> {
        Arc::new(Ids {
            run: rand::random(),
            next: AtomicU64::new(0),
        })
    }

    /// (contact id, webhook id), never seen before in this run.
    pub fn next(&self) -> (String, String) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        (
            format!("bn{:08x}{:014}", self.run, n),
            format!("bench-{:08x}-{n}", self.run),
        )
    }
}

/// Posts one signed `ContactUpdate`; Ok(latency) on 200, Err(why) otherwise.
pub async fn post_one(
    http: &reqwest::Client,
    stack: &Stack,
    contact: &str,
    webhook_id: &str,
    kind: &str,
) -> Result<Duration, String> {
    let (body, sig) = stack.signed_event(kind, contact, webhook_id);
    let started = Instant::now();
    let r = http
        .post(format!("{}/webhooks/ghl", stack.url))
        .header("content-type", "application/json")
        .header("x-ghl-signature", sig)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("POST /webhooks/ghl: {e}"))?;
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    if status.as_u16() == 200 {
        Ok(started.elapsed())
    } else {
        Err(format!("POST /webhooks/ghl answered {status}: {text}"))
    }
}

/// `concurrency` senders, each posting the next webhook as soon as the previous is answered,
/// until `duration` has passed.
pub async fn closed_loop(
    stack: &Arc<Stack>,
    ids: &Arc<Ids>,
    concurrency: usize,
    duration: Duration,
) -> Phase {
    let http = client(concurrency);
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, stack, ids) = (http.clone(), stack.clone(), ids.clone());
        tasks.push(tokio::spawn(async move {
            let mut p = Phase::default();
            while Instant::now() < deadline {
                let (contact, wh) = ids.next();
                match post_one(&http, &stack, &contact, &wh, "ContactUpdate").await {
                    Ok(d) => {
                        p.accepted += 1;
                        p.latencies.record(d);
                    }
                    Err(e) => {
                        p.failed += 1;
                        p.first_error.get_or_insert(e);
                    }
                }
            }
            p
        }));
    }
    let mut total = Phase::default();
    for t in tasks {
        if let Ok(p) = t.await {
            total.add(p);
        }
    }
    total.elapsed = started.elapsed();
    total
}

/// Open loop: request i starts at `i / rate` seconds whatever the previous answers did, and
/// its latency counts from that scheduled start (so a stalled server is not hidden by a
/// sender that waited for it).
pub async fn open_loop(stack: &Arc<Stack>, ids: &Arc<Ids>, rate: u64, duration: Duration) -> Phase {
    let http = client(64);
    let total_requests = (rate as f64 * duration.as_secs_f64()).round() as u64;
    let started = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total_requests as usize);
    for i in 0..total_requests {
        let at = started + Duration::from_secs_f64(i as f64 / rate.max(1) as f64);
        tokio::time::sleep_until(at).await;
        let (http, stack, ids) = (http.clone(), stack.clone(), ids.clone());
        tasks.push(tokio::spawn(async move {
            let (contact, wh) = ids.next();
            let r = post_one(&http, &stack, &contact, &wh, "ContactUpdate").await;
            r.map(|_| at.elapsed())
        }));
    }
    let mut p = Phase::default();
    for t in tasks {
        match t.await {
            Ok(Ok(d)) => {
                p.accepted += 1;
                p.latencies.record(d);
            }
            Ok(Err(e)) => {
                p.failed += 1;
                p.first_error.get_or_insert(e);
            }
            Err(e) => {
                p.failed += 1;
                p.first_error.get_or_insert(e.to_string());
            }
        }
    }
    p.elapsed = started.elapsed();
    p
}
