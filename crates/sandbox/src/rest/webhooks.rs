//! Webhooks of the "Your App" contract: subscriptions, HMAC-SHA256 signing and at-least-once
//! delivery with seeded duplicate and drop faults and bounded retries on 5xx, 429 and network
//! errors, so a connector's receiver (signature check, de-duplication on the event id, the
//! `updated_since` safety net) can be tested against the hard cases as well as the happy path.
//!
//! Each target (the configured default URL, or one subscription) has its own worker that
//! delivers strictly in order, so a test sees events in the order the changes were made unless
//! it asks for faults.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::hmac;
use chrono::Utc;
use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

use super::schema::{iso, Kind};
use crate::ghl::webhooks::DeliveryOutcome;

/// Delivery records kept; older ones are dropped so a long run cannot grow memory.
const LOG_CAPACITY: usize = 10_000;
/// The id of the target built from the configured default URL.
pub const DEFAULT_TARGET: &str = "default";

/// How webhooks are delivered. Rates are probabilities in 0..=1 drawn per (event, target).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Probability an event is delivered twice (same event id, same body).
    pub duplicate_rate: f64,
    /// Probability an event is never delivered (the `updated_since` poll must catch it).
    pub drop_rate: f64,
    /// Attempts per copy when the receiver answers 5xx or 429 or cannot be reached.
    pub max_attempts: u32,
    /// First backoff; doubles per attempt. A `Retry-After` (seconds) from the receiver wins.
    pub retry_base_ms: u64,
    /// Upper bound of any wait between attempts.
    pub max_backoff_ms: u64,
    /// Per-attempt HTTP timeout.
    pub timeout_ms: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            duplicate_rate: 0.0,
            drop_rate: 0.0,
            max_attempts: 5,
            retry_base_ms: 200,
            max_backoff_ms: 10_000,
            timeout_ms: 5_000,
        }
    }
}

/// A place events go: the default URL or a subscription.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Subscription {
    pub id: String,
    pub url: String,
    /// Patterns: `*`, `contact.*`, or an exact type such as `note.deleted`.
    pub events: Vec<String>,
    #[serde(skip)]
    pub secret: String,
    pub created_at: String,
}

/// The event types of the contract.
pub fn event_types() -> Vec<String> {
    Kind::ALL
        .iter()
        .flat_map(|k| ["created", "updated", "deleted"].map(|what| format!("{}.{what}", k.name())))
        .collect()
}

/// Whether `pattern` is `*`, `<kind>.*` or one event type.
pub fn valid_pattern(pattern: &str) -> bool {
    pattern == "*"
        || Kind::ALL
            .iter()
            .any(|k| pattern == format!("{}.*", k.name()))
        || event_types().iter().any(|t| t == pattern)
}

fn matches(pattern: &str, event_type: &str) -> bool {
    pattern == "*"
        || pattern == event_type
        || pattern
            .strip_suffix(".*")
            .is_some_and(|kind| event_type.split('.').next() == Some(kind))
}

/// `sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`, the `X-Signature` header.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    let hex: String = ctx
        .sign()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// One attempt (or a drop) in the delivery log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeliveryRecord {
    pub event_id: String,
    pub event_type: String,
    /// `default` or a subscription id.
    pub target: String,
    pub url: String,
    /// 1-based; 0 for a dropped event (never sent).
    pub attempt: u32,
    pub outcome: DeliveryOutcome,
    pub status: Option<u16>,
    /// True for the second copy of a duplicated event.
    pub duplicate: bool,
    pub at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Running counters since the last reset.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct DeliveryStats {
    pub emitted: u64,
    pub delivered: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub retried: u64,
    pub failed: u64,
}

/// State the delivery workers share; apart from [`WebhookHub`] so that dropping the hub drops
/// the workers' queues and lets them end.
struct Shared {
    config: Mutex<DeliveryConfig>,
    log: Mutex<VecDeque<DeliveryRecord>>,
    stats: Mutex<DeliveryStats>,
    client: Option<reqwest::Client>,
    /// Copies queued or in flight; `idle` waits for 0.
    pending: watch::Sender<usize>,
}

struct Event {
    id: String,
    event_type: String,
    body: Vec<u8>,
}

struct Job {
    event: Arc<Event>,
    target: Subscription,
    duplicate: bool,
}

/// Subscriptions, fault draws and per-target delivery queues.
pub struct WebhookHub {
    shared: Arc<Shared>,
    rng: Mutex<ChaCha8Rng>,
    subscriptions: Mutex<Vec<Subscription>>,
    default_target: Mutex<Option<Subscription>>,
    workers: Mutex<HashMap<String, mpsc::UnboundedSender<Job>>>,
}

impl WebhookHub {
    /// A hub with no targets; `seed` fixes which events are duplicated or dropped.
    pub fn new(config: DeliveryConfig, seed: u64) -> Self {
        let client = reqwest::Client::builder()
            .build()
            .map_err(|e| tracing::error!(error = %e, "no webhook HTTP client; deliveries fail"))
            .ok();
        Self {
            shared: Arc::new(Shared {
                config: Mutex::new(config),
                log: Mutex::new(VecDeque::new()),
                stats: Mutex::new(DeliveryStats::default()),
                client,
                pending: watch::channel(0).0,
            }),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed ^ 0x00de_11fe)),
            subscriptions: Mutex::new(Vec::new()),
            default_target: Mutex::new(None),
            workers: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets subscriptions, the log and the counters, and restarts the draws from `seed`.
    pub fn reset(&self, seed: u64) {
        *self.rng.lock() = ChaCha8Rng::seed_from_u64(seed ^ 0x00de_11fe);
        self.subscriptions.lock().clear();
        self.shared.log.lock().clear();
        *self.shared.stats.lock() = DeliveryStats::default();
    }

    /// Sets (or, with `None`, removes) the default target, which receives every event.
    pub fn set_default(&self, url: Option<String>, secret: String) {
        *self.default_target.lock() = url.map(|url| Subscription {
            id: DEFAULT_TARGET.into(),
            url,
            events: vec!["*".into()],
            secret,
            created_at: iso(Utc::now()),
        });
    }

    /// Adds a subscription.
    pub fn subscribe(&self, sub: Subscription) {
        self.subscriptions.lock().push(sub);
    }

    /// The subscriptions (not the default target), oldest first.
    pub fn subscriptions(&self) -> Vec<Subscription> {
        self.subscriptions.lock().clone()
    }

    /// Removes a subscription; false if there was none with that id.
    pub fn unsubscribe(&self, id: &str) -> bool {
        self.unsubscribe_where(|s| s.id == id) > 0
    }

    /// Removes the subscriptions that match; returns how many went.
    pub fn unsubscribe_where(&self, doomed: impl Fn(&Subscription) -> bool) -> usize {
        let mut subs = self.subscriptions.lock();
        let before = subs.len();
        subs.retain(|s| !doomed(s));
        before - subs.len()
    }

    pub fn config(&self) -> DeliveryConfig {
        self.shared.config.lock().clone()
    }

    pub fn set_config(&self, config: DeliveryConfig) {
        *self.shared.config.lock() = config;
    }

    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.shared.log.lock().iter().cloned().collect()
    }

    pub fn stats(&self) -> DeliveryStats {
        *self.shared.stats.lock()
    }

    /// Resolves once nothing is queued or in flight, so tests await deliveries, never sleep.
    pub async fn idle(&self) {
        let mut rx = self.shared.pending.subscribe();
        // The sender lives in `self.shared`, so the channel cannot close while we wait.
        let _ = rx.wait_for(|n| *n == 0).await;
    }

    /// Queues `{id, type, occurred_at, data}` for every target whose patterns match. Never
    /// blocks; called under the store lock so events leave in the order the changes were made.
    /// Event ids come from the thread RNG, not the seed: a receiver that remembers ids across
    /// emulator restarts must not take a new event for a replay.
    pub fn emit(&self, event_type: &str, data: Value) {
        let mut targets: Vec<Subscription> = self.default_target.lock().iter().cloned().collect();
        targets.extend(self.subscriptions.lock().iter().cloned());
        targets.retain(|t| t.events.iter().any(|p| matches(p, event_type)));
        if targets.is_empty() {
            return;
        }
        let id = format!("evt_{:032x}", rand::random::<u128>());
        let payload =
            json!({"id": id, "type": event_type, "occurred_at": iso(Utc::now()), "data": data});
        let event = Arc::new(Event {
            id,
            event_type: event_type.to_string(),
            // Serialising a `Value` cannot fail (its keys are strings).
            body: serde_json::to_vec(&payload).unwrap_or_default(),
        });
        let config = self.config();
        for target in targets {
            let (dropped, duplicate) = {
                let mut rng = self.rng.lock();
                // Both draws are always made, so turning one fault on does not move the other.
                let d = rng.random::<f64>() < config.drop_rate;
                (d, rng.random::<f64>() < config.duplicate_rate)
            };
            let mut stats = self.shared.stats.lock();
            stats.emitted += 1;
            if dropped {
                stats.dropped += 1;
                drop_record(&self.shared, &event, &target);
                continue;
            }
            stats.duplicated += u64::from(duplicate);
            drop(stats);
            for copy in 0..=usize::from(duplicate) {
                self.enqueue(Job {
                    event: event.clone(),
                    target: target.clone(),
                    duplicate: copy == 1,
                });
            }
        }
    }

    fn enqueue(&self, job: Job) {
        self.shared.pending.send_modify(|p| *p += 1);
        let mut workers = self.workers.lock();
        // One queue per (target id, url, secret): a re-pointed default target gets a new worker.
        let key = format!("{}|{}|{}", job.target.id, job.target.url, job.target.secret);
        let tx = workers.entry(key).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(run_target(self.shared.clone(), rx));
            tx
        });
        if let Err(lost) = tx.send(job) {
            tracing::error!(event_id = %lost.0.event.id, "webhook worker is gone; delivery lost");
            self.shared
                .pending
                .send_modify(|p| *p = p.saturating_sub(1));
        }
    }
}

fn drop_record(shared: &Shared, event: &Event, target: &Subscription) {
    record(
        shared,
        event,
        target,
        0,
        DeliveryOutcome::Dropped,
        None,
        false,
        None,
    );
}

#[allow(clippy::too_many_arguments)]
fn record(
    shared: &Shared,
    event: &Event,
    target: &Subscription,
    attempt: u32,
    outcome: DeliveryOutcome,
    status: Option<u16>,
    duplicate: bool,
    error: Option<String>,
) {
    let mut log = shared.log.lock();
    if log.len() >= LOG_CAPACITY {
        log.pop_front();
    }
    log.push_back(DeliveryRecord {
        event_id: event.id.clone(),
        event_type: event.event_type.clone(),
        target: target.id.clone(),
        url: target.url.clone(),
        attempt,
        outcome,
        status,
        duplicate,
        at: iso(Utc::now()),
        error,
    });
}

async fn run_target(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Job>) {
    while let Some(job) = rx.recv().await {
        deliver(&shared, &job).await;
        shared.pending.send_modify(|p| *p = p.saturating_sub(1));
    }
}

/// Every attempt of one copy: 2xx ends it, 5xx/429/no answer retries with backoff up to
/// `max_attempts`, any other status is a rejection and ends it.
async fn deliver(shared: &Shared, job: &Job) {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let config = shared.config.lock().clone();
        let result = post(shared, job, &config).await;
        let retryable = match &result {
            Ok((status, _)) => *status == 429 || *status >= 500,
            Err(_) => true,
        };
        let last = attempt >= config.max_attempts.max(1);
        let outcome = match &result {
            Ok((s, _)) if (200..300).contains(s) => DeliveryOutcome::Delivered,
            _ if retryable && !last => DeliveryOutcome::Retrying,
            Ok((s, _)) if !retryable && *s < 500 => DeliveryOutcome::Rejected,
            _ => DeliveryOutcome::Failed,
        };
        let (status, error, retry_after) = match result {
            Ok((s, ra)) => (Some(s), None, ra),
            Err(e) => (None, Some(e), None),
        };
        record(
            shared,
            &job.event,
            &job.target,
            attempt,
            outcome,
            status,
            job.duplicate,
            error,
        );
        {
            let mut stats = shared.stats.lock();
            match outcome {
                DeliveryOutcome::Delivered => stats.delivered += 1,
                DeliveryOutcome::Retrying => stats.retried += 1,
                _ => stats.failed += 1,
            }
        }
        if outcome != DeliveryOutcome::Retrying {
            return;
        }
        let doubling = 1u64 << (attempt - 1).min(20);
        let wait = retry_after
            .unwrap_or_else(|| Duration::from_millis(config.retry_base_ms.saturating_mul(doubling)))
            .min(Duration::from_millis(config.max_backoff_ms));
        tokio::time::sleep(wait).await;
    }
}

/// One signed POST; the timestamp (and so the signature) is fresh on every attempt.
async fn post(
    shared: &Shared,
    job: &Job,
    config: &DeliveryConfig,
) -> Result<(u16, Option<Duration>), String> {
    let client = shared.client.as_ref().ok_or("no HTTP client")?;
    let ts = Utc::now().timestamp();
    let resp = client
        .post(&job.target.url)
        .header("content-type", "application/json")
        .header("x-event-id", &job.event.id)
        .header("x-timestamp", ts.to_string())
        .header(
            "x-signature",
            signature(&job.target.secret, ts, &job.event.body),
        )
        .body(job.event.body.clone())
        .timeout(Duration::from_millis(config.timeout_ms))
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    // Read the (ignored) body so the connection can be reused.
    let _ = resp.bytes().await;
    Ok((status, retry_after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_kinds_and_types() {
        assert!(matches("*", "note.created"));
        assert!(matches("note.*", "note.deleted"));
        assert!(!matches("note.*", "contact.deleted"));
        assert!(matches("task.updated", "task.updated"));
        assert!(valid_pattern("appointment.*") && valid_pattern("contact.deleted"));
        assert!(!valid_pattern("contact.merged") && !valid_pattern("deal.*"));
    }

    #[test]
    fn signature_is_hex_hmac_over_timestamp_dot_body() {
        // RFC 4231-style check against an independent computation of the same input.
        let expected = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, b"k"),
            b"1700000000.{\"a\":1}",
        );
        let hex: String = expected
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            signature("k", 1_700_000_000, b"{\"a\":1}"),
            format!("sha256={hex}")
        );
    }
}
