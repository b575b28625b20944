//! Delivery of signed webhooks, with GHL's misbehaviours (duplicates, reordering, drops, missing
//! fields, 429-only retries) injected at configurable, seeded rates.
//!
//! Flow: [`WebhookDispatcher::emit`] decides each fault with the seeded RNG (so a seed replays the
//! same faults for the same sequence of emits), builds and serialises the body once, and hands it
//! to a router task. The router signs the bytes (keeping the CPU cost off the caller) and feeds a
//! per-target worker, which delivers strictly in order; a held-back event re-enters its target's
//! queue after `reorder_delay_ms`, so it arrives after later events.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};
use tokio::sync::{mpsc, watch, Semaphore};

use super::config::{
    DeliveryConfig, DeliveryOutcome, DeliveryRecord, DeliveryStats, WebhookTarget,
};
use super::signing::WebhookKeys;

/// Records kept in the delivery log; older ones are discarded so a long demo cannot grow memory.
const LOG_CAPACITY: usize = 10_000;
/// Requests in flight at once across all targets.
const MAX_IN_FLIGHT: usize = 16;
/// Upper bound of any wait between 429 retries.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Keys a missing-fields fault never removes: without them a receiver cannot even identify the event.
const PROTECTED_KEYS: [&str; 6] = [
    "type",
    "locationId",
    "id",
    "contactId",
    "timestamp",
    "webhookId",
];
/// Keys of the nested `appointment` object that Appointment* events always keep.
const PROTECTED_APPOINTMENT_KEYS: [&str; 2] = ["id", "contactId"];

/// Queues, signs and delivers webhooks in the background. Cheap to clone; all clones share state.
#[derive(Clone)]
pub struct WebhookDispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    rng: Mutex<ChaCha8Rng>,
    router: mpsc::UnboundedSender<Envelope>,
}

/// State the background tasks need. Kept apart from `Inner` so that dropping the last dispatcher
/// closes the router channel and lets every task finish.
struct Shared {
    keys: Arc<WebhookKeys>,
    config: Mutex<DeliveryConfig>,
    log: Mutex<VecDeque<DeliveryRecord>>,
    stats: Mutex<DeliveryStats>,
    client: Option<reqwest::Client>,
    /// Copies queued, held back or in flight; `idle` waits for 0.
    pending: watch::Sender<usize>,
    permits: Semaphore,
}

/// An unsigned delivery on its way from `emit` to the router.
struct Envelope {
    event: Event,
    duplicate: bool,
    hold: Option<Duration>,
}

/// The immutable facts of one (event, target) delivery, shared by its copies and attempts.
struct Event {
    target: WebhookTarget,
    webhook_id: String,
    event_type: String,
    location_id: Option<String>,
    body: Vec<u8>,
    ghl_signature: String,
    wh_signature: String,
}

/// One copy to send.
struct Job {
    event: Arc<Event>,
    duplicate: bool,
}

impl WebhookDispatcher {
    /// Spawns the delivery task on the current tokio runtime. `seed` fixes which events suffer
    /// which fault; webhookIds are nevertheless always fresh, so a receiver that remembers seen
    /// ids across sandbox restarts is not fooled into rejecting new events as replays.
    ///
    /// # Panics
    /// When called outside a tokio runtime (as `tokio::spawn` does).
    pub fn new(keys: Arc<WebhookKeys>, config: DeliveryConfig, seed: u64) -> Self {
        let client = match reqwest::Client::builder().build() {
            Ok(client) => Some(client),
            Err(e) => {
                tracing::error!(error = %e, "cannot build the webhook HTTP client; every delivery will fail");
                None
            }
        };
        let shared = Arc::new(Shared {
            keys,
            config: Mutex::new(config),
            log: Mutex::new(VecDeque::new()),
            stats: Mutex::new(DeliveryStats::default()),
            client,
            pending: watch::channel(0).0,
            permits: Semaphore::new(MAX_IN_FLIGHT),
        });
        let (router, rx) = mpsc::unbounded_channel();
        tokio::spawn(route(Arc::clone(&shared), rx));
        Self {
            inner: Arc::new(Inner {
                shared,
                rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
                router,
            }),
        }
    }

    /// Queue one event for every target. `payload` is a JSON object that already has `type`,
    /// `locationId` and the event's fields. Adds `timestamp` and a fresh `webhookId` per target,
    /// serialises once, and the exact bytes are signed and POSTed. Never blocks; returns the
    /// webhookIds created (one per target, dropped ones included). A non-object payload is a
    /// caller bug: it is logged and nothing is sent.
    pub fn emit(&self, targets: &[WebhookTarget], payload: Value) -> Vec<String> {
        let Value::Object(base) = payload else {
            tracing::warn!(%payload, "webhook payload is not a JSON object; not sent");
            return Vec::new();
        };
        let shared = &self.inner.shared;
        let event_type = base
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let location_id = base
            .get("locationId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let config = self.config();
        let mut ids = Vec::with_capacity(targets.len());
        for target in targets {
            let webhook_id = new_webhook_id();
            ids.push(webhook_id.clone());
            let faults = Faults::draw(&mut self.inner.rng.lock(), &config, &base, &event_type);
            let mut body = base.clone();
            for (parent, key) in &faults.removals {
                match parent {
                    None => body.remove(key),
                    Some(parent) => body
                        .get_mut(*parent)
                        .and_then(Value::as_object_mut)
                        .and_then(|o| o.remove(key)),
                };
            }
            body.insert("timestamp".into(), Value::String(now_millis()));
            body.insert("webhookId".into(), Value::String(webhook_id.clone()));
            let event = Event {
                target: target.clone(),
                webhook_id,
                event_type: event_type.clone(),
                location_id: location_id.clone(),
                // Serialising a `Value` cannot fail (keys are strings); the fallback is unreachable.
                body: serde_json::to_vec(&Value::Object(body)).unwrap_or_default(),
                ghl_signature: String::new(),
                wh_signature: String::new(),
            };
            {
                let mut stats = shared.stats.lock();
                stats.emitted += 1;
                if faults.drop {
                    stats.dropped += 1;
                } else {
                    stats.duplicated += u64::from(faults.duplicate);
                    stats.reordered += u64::from(faults.hold);
                }
            }
            if faults.drop {
                tracing::debug!(webhook_id = %event.webhook_id, "webhook dropped by fault injection");
                shared.record(&event, 0, DeliveryOutcome::Dropped, None, false, None);
                continue;
            }
            let copies = 1 + usize::from(faults.duplicate);
            shared.pending.send_modify(|p| *p += copies);
            let envelope = Envelope {
                event,
                duplicate: faults.duplicate,
                hold: faults
                    .hold
                    .then(|| Duration::from_millis(config.reorder_delay_ms)),
            };
            if self.inner.router.send(envelope).is_err() {
                // Only possible if the runtime that ran the router has shut down.
                tracing::error!("webhook router is gone; delivery lost");
                shared
                    .pending
                    .send_modify(|p| *p = p.saturating_sub(copies));
            }
        }
        ids
    }

    /// The current fault and retry settings.
    pub fn config(&self) -> DeliveryConfig {
        self.inner.shared.config.lock().clone()
    }

    /// Replace the settings; faults apply to events emitted afterwards, retry settings to the
    /// next attempt of any delivery.
    pub fn set_config(&self, config: DeliveryConfig) {
        *self.inner.shared.config.lock() = config;
    }

    /// The delivery log (the last 10,000 records), oldest first.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.inner.shared.log.lock().iter().cloned().collect()
    }

    /// Empty the delivery log (the counters of `stats` are kept).
    pub fn clear_log(&self) {
        self.inner.shared.log.lock().clear();
    }

    /// Resolves when no delivery is queued, held back for reorder, or in flight, so tests can
    /// await the end of deliveries instead of sleeping.
    pub async fn idle(&self) {
        let mut rx = self.inner.shared.pending.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = rx.wait_for(|pending| *pending == 0).await;
    }

    /// Running counters since start.
    pub fn stats(&self) -> DeliveryStats {
        *self.inner.shared.stats.lock()
    }
}

/// The faults chosen for one (event, target). The four rate draws are made whatever the rates,
/// so turning one fault on does not change which events the others hit (only choosing which
/// fields go missing consumes extra draws).
struct Faults<'a> {
    drop: bool,
    duplicate: bool,
    hold: bool,
    removals: Vec<(Option<&'a str>, String)>,
}

impl<'a> Faults<'a> {
    fn draw(
        rng: &mut ChaCha8Rng,
        config: &DeliveryConfig,
        payload: &'a Map<String, Value>,
        event_type: &str,
    ) -> Self {
        let drop = rng.random::<f64>() < config.drop_rate;
        let duplicate = rng.random::<f64>() < config.duplicate_rate;
        let hold = rng.random::<f64>() < config.reorder_rate;
        let missing = rng.random::<f64>() < config.missing_fields_rate;
        let mut removals = Vec::new();
        if missing {
            let candidates = removable_fields(payload, event_type);
            removals = candidates
                .iter()
                .filter(|_| rng.random::<bool>())
                .cloned()
                .collect();
            if removals.is_empty() && !candidates.is_empty() {
                removals.push(candidates[rng.random_range(0..candidates.len())].clone());
            }
        }
        Self {
            drop,
            duplicate,
            hold,
            removals,
        }
    }
}

/// Fields a "payload may lack fields" fault may remove, as (parent object, key).
fn removable_fields<'a>(
    payload: &'a Map<String, Value>,
    event_type: &str,
) -> Vec<(Option<&'a str>, String)> {
    let appointment = event_type.starts_with("Appointment");
    let mut fields: Vec<(Option<&str>, String)> = payload
        .keys()
        .filter(|k| !PROTECTED_KEYS.contains(&k.as_str()))
        .filter(|k| !(appointment && k.as_str() == "appointment"))
        .map(|k| (None, k.clone()))
        .collect();
    if appointment {
        if let Some(Value::Object(inner)) = payload.get("appointment") {
            fields.extend(
                inner
                    .keys()
                    .filter(|k| !PROTECTED_APPOINTMENT_KEYS.contains(&k.as_str()))
                    .map(|k| (Some("appointment"), k.clone())),
            );
        }
    }
    fields
}

impl Shared {
    fn record(
        &self,
        event: &Event,
        attempt: u32,
        outcome: DeliveryOutcome,
        status: Option<u16>,
        duplicate: bool,
        error: Option<String>,
    ) {
        let record = DeliveryRecord {
            webhook_id: event.webhook_id.clone(),
            event_type: event.event_type.clone(),
            app_id: event.target.app_id.clone(),
            url: event.target.url.clone(),
            location_id: event.location_id.clone(),
            attempt,
            outcome,
            status,
            duplicate,
            at: now_millis(),
            error,
        };
        let mut log = self.log.lock();
        if log.len() >= LOG_CAPACITY {
            log.pop_front();
        }
        log.push_back(record);
    }

    fn finish_copy(&self) {
        self.pending.send_modify(|p| *p = p.saturating_sub(1));
    }
}

/// Signs each envelope and hands its copies to the target's worker, directly or after the
/// reorder delay. Ends when every dispatcher clone is gone.
async fn route(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Envelope>) {
    let mut workers: HashMap<(String, String), mpsc::UnboundedSender<Job>> = HashMap::new();
    while let Some(Envelope {
        mut event,
        duplicate,
        hold,
    }) = rx.recv().await
    {
        event.ghl_signature = shared.keys.sign_ed25519(&event.body);
        event.wh_signature = shared.keys.sign_rsa(&event.body);
        let key = (event.target.app_id.clone(), event.target.url.clone());
        let worker = workers
            .entry(key)
            .or_insert_with(|| {
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(run_target(Arc::clone(&shared), rx));
                tx
            })
            .clone();
        let event = Arc::new(event);
        let mut jobs = vec![Job {
            event: Arc::clone(&event),
            duplicate: false,
        }];
        if duplicate {
            jobs.push(Job {
                event,
                duplicate: true,
            });
        }
        let shared = Arc::clone(&shared);
        match hold {
            None => enqueue(&shared, &worker, jobs),
            Some(delay) => {
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    enqueue(&shared, &worker, jobs);
                });
            }
        }
    }
}

fn enqueue(shared: &Shared, worker: &mpsc::UnboundedSender<Job>, jobs: Vec<Job>) {
    for job in jobs {
        if worker.send(job).is_err() {
            // The worker only stops when its runtime shuts down; keep `idle` truthful anyway.
            shared.finish_copy();
        }
    }
}

/// Delivers one target's copies strictly one after another, which is what keeps per-target FIFO.
async fn run_target(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Job>) {
    while let Some(job) = rx.recv().await {
        deliver(&shared, &job).await;
        shared.finish_copy();
    }
}

/// All attempts of one copy: 2xx delivers, 429 retries with backoff, anything else ends it.
async fn deliver(shared: &Shared, job: &Job) {
    let event = &job.event;
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let config = shared.config.lock().clone();
        let max_attempts = config.max_attempts.max(1);
        let result = {
            // The semaphore is never closed, so `acquire` cannot fail; if it did, sending
            // without a permit is harmless.
            let _permit = shared.permits.acquire().await.ok();
            post(shared, event, &config).await
        };
        let (outcome, status, error, wait) = match result {
            Ok((status, _)) if (200..300).contains(&status) => {
                (DeliveryOutcome::Delivered, Some(status), None, None)
            }
            Ok((429, retry_after)) if attempt < max_attempts => {
                let backoff = retry_after.unwrap_or_else(|| backoff(config.retry_base_ms, attempt));
                (
                    DeliveryOutcome::Retrying,
                    Some(429),
                    None,
                    Some(backoff.min(MAX_BACKOFF)),
                )
            }
            Ok((429, _)) => (
                DeliveryOutcome::Failed,
                Some(429),
                Some(format!("still 429 after {attempt} attempts")),
                None,
            ),
            Ok((status, _)) => (DeliveryOutcome::Rejected, Some(status), None, None),
            Err(e) => (DeliveryOutcome::Failed, None, Some(e), None),
        };
        tracing::debug!(
            webhook_id = %event.webhook_id, url = %event.target.url, attempt, ?outcome, ?status,
            "webhook attempt"
        );
        shared.record(event, attempt, outcome, status, job.duplicate, error);
        {
            let mut stats = shared.stats.lock();
            match outcome {
                DeliveryOutcome::Delivered => stats.delivered += 1,
                DeliveryOutcome::Retrying => stats.retried += 1,
                DeliveryOutcome::Rejected | DeliveryOutcome::Failed => stats.failed += 1,
                DeliveryOutcome::Dropped => {}
            }
        }
        match wait {
            Some(wait) => tokio::time::sleep(wait).await,
            None => return,
        }
    }
}

/// One POST; returns the status and any `Retry-After` (whole seconds), or why no answer came.
async fn post(
    shared: &Shared,
    event: &Event,
    config: &DeliveryConfig,
) -> Result<(u16, Option<Duration>), String> {
    let client = shared
        .client
        .as_ref()
        .ok_or_else(|| "no HTTP client (failed to build at start)".to_owned())?;
    let response = client
        .post(&event.target.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("x-ghl-signature", &event.ghl_signature)
        .header("x-wh-signature", &event.wh_signature)
        .body(event.body.clone())
        .timeout(Duration::from_millis(config.timeout_ms))
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    // Read the (ignored) body so the connection can be reused.
    let _ = response.bytes().await;
    Ok((status, retry_after))
}

/// `base * 2^(attempt-1)`, saturating.
fn backoff(base_ms: u64, attempt: u32) -> Duration {
    let factor = 1u64 << attempt.saturating_sub(1).min(32);
    Duration::from_millis(base_ms.saturating_mul(factor))
}

fn now_millis() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A random UUID v4. Drawn from the thread RNG, not the seeded one, so ids never repeat across
/// runs with the same seed (receivers reject repeated webhookIds as replays).
fn new_webhook_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
