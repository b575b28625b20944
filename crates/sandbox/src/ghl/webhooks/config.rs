//! What a webhook delivery looks like from outside: its settings, its targets, and the log
//! records and counters it leaves.

/// How faithfully (or how badly) webhooks are delivered. All rates are probabilities in 0..=1,
/// drawn per (event, target); out-of-range values are clamped by the comparison with a uniform draw.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Probability that an event is delivered twice (same webhookId, same body).
    pub duplicate_rate: f64,
    /// Probability that an event is held back and delivered after later ones.
    pub reorder_rate: f64,
    /// How long a held-back event waits before re-entering its target's queue.
    pub reorder_delay_ms: u64,
    /// Probability that an event is silently never delivered.
    pub drop_rate: f64,
    /// Probability that optional fields are removed from a payload before signing.
    pub missing_fields_rate: f64,
    /// Total attempts when the receiver answers 429; any other failure is not retried, as in GHL.
    pub max_attempts: u32,
    /// Backoff base for 429 retries (doubling); a `Retry-After` in seconds wins, capped at 10 s.
    pub retry_base_ms: u64,
    /// Per-attempt HTTP timeout.
    pub timeout_ms: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            duplicate_rate: 0.0,
            reorder_rate: 0.0,
            reorder_delay_ms: 200,
            drop_rate: 0.0,
            missing_fields_rate: 0.0,
            max_attempts: 5,
            retry_base_ms: 100,
            timeout_ms: 5000,
        }
    }
}

/// One subscriber of webhooks: an installed app and the URL it registered.
#[derive(Clone, Debug)]
pub struct WebhookTarget {
    pub app_id: String,
    pub url: String,
}

/// One line of the delivery log: a single attempt, or a drop. Lets tests and the demo UI see what
/// the emulator did to each event.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRecord {
    pub webhook_id: String,
    pub event_type: String,
    pub app_id: String,
    pub url: String,
    pub location_id: Option<String>,
    /// 1-based attempt number; 0 for a dropped event (never attempted).
    pub attempt: u32,
    pub outcome: DeliveryOutcome,
    /// HTTP status of the receiver's answer, if one came.
    pub status: Option<u16>,
    /// True for the second copy of a duplicated event.
    pub duplicate: bool,
    /// RFC 3339 with milliseconds.
    pub at: String,
    /// Why an attempt failed without a status (connection error, timeout) or gave up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What happened to one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx.
    Delivered,
    /// The receiver answered a non-2xx status other than 429; GHL does not retry that.
    Rejected,
    /// The receiver answered 429 and another attempt is scheduled.
    Retrying,
    /// Connection error, timeout, or still 429 after `max_attempts`.
    Failed,
    /// Dropped on purpose by the `drop_rate` fault; never sent.
    Dropped,
}

/// Running counters, cheaper to read than the whole log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryStats {
    /// Deliveries created: one per (event, target).
    pub emitted: u64,
    /// Successful (2xx) requests, duplicates included.
    pub delivered: u64,
    /// Deliveries dropped by the fault injector.
    pub dropped: u64,
    /// Extra copies sent because of the duplicate fault.
    pub duplicated: u64,
    /// Deliveries held back by the reorder fault.
    pub reordered: u64,
    /// Attempts answered 429 and scheduled again.
    pub retried: u64,
    /// Copies that ended Rejected or Failed.
    pub failed: u64,
}
