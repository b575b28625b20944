//! `/metrics`: the Prometheus text exposition of everything the process records through the
//! `metrics` facade — the engine's job, call and ingest series ([`engine::telemetry`]), the
//! webhook counters recorded here — plus gauges read at scrape time: queue depth from the
//! store, each connection's rate budget and OAuth token expiry from its connector.
//!
//! Why the facade and `metrics-exporter-prometheus` (render only, no HTTP listener) rather than
//! hand-written text: the engine records from deep inside its workers and audit wrapper without
//! a handle threaded through every constructor, and the exporter does the label escaping,
//! histogram buckets and exposition format. It adds a dozen small crates to the build.

use std::sync::OnceLock;
use std::time::Duration;

use engine::store::QueueStats;
use engine::sync::Connectors;
use engine::telemetry as t;
use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Upper bounds (seconds) of every histogram's buckets: webhook answers take milliseconds, app
/// calls up to seconds, a job waiting out a rate limit or retries up to an hour.
pub const LATENCY_BUCKETS: [f64; 17] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0,
    3600.0,
];

/// Webhook deliveries per connection and outcome.
pub const EVENTS_IN: &str = "ghl_bridge_events_in_total";
const WEBHOOK_DURATION: &str = "ghl_bridge_webhook_duration_seconds";
const BUDGET_REMAINING: &str = "ghl_bridge_rate_budget_remaining";
const BUDGET_LIMIT: &str = "ghl_bridge_rate_budget_limit";
const TOKEN_EXPIRES_IN: &str = "ghl_bridge_token_expires_in_seconds";

/// The older per-outcome webhook counters (kept: dashboards use them), with their help text.
const WEBHOOK_COUNTERS: [(&str, &str); 5] = [
    (
        "ghl_bridge_webhooks_received_total",
        "Webhook deliveries received per connection.",
    ),
    (
        "ghl_bridge_webhooks_accepted_total",
        "Deliveries verified and committed to the store.",
    ),
    (
        "ghl_bridge_webhooks_duplicate_total",
        "Verified deliveries whose events were all stored before.",
    ),
    (
        "ghl_bridge_webhooks_rejected_total",
        "Deliveries refused (signature, timestamp, body, size).",
    ),
    (
        "ghl_bridge_events_stored_total",
        "New events stored from webhooks.",
    ),
];

const QUEUE_GAUGES: [(&str, &str); 5] = [
    (
        "ghl_bridge_jobs_pending",
        "Jobs waiting to run (due or backing off).",
    ),
    ("ghl_bridge_jobs_due", "Jobs that may run now."),
    ("ghl_bridge_jobs_leased", "Jobs a worker holds."),
    (
        "ghl_bridge_jobs_dead",
        "Jobs in the dead-letter queue (failed for good).",
    ),
    (
        "ghl_bridge_queue_oldest_due_seconds",
        "How long the longest-waiting due job has been due (0 when none is).",
    ),
];

/// What happened to one webhook delivery, for the per-connection counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Verified and committed (including deliveries that carried no record change).
    Accepted,
    /// Verified, but every event in it was already stored.
    Duplicate,
    /// Refused: bad signature, stale timestamp, garbled or oversized body.
    Rejected,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Duplicate => "duplicate",
            Self::Rejected => "rejected",
        }
    }
}

/// The process-wide recorder's handle: one per process, since the facade has one recorder.
static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

fn install() -> PrometheusHandle {
    let builder = || {
        PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
            .expect("the bucket list is not empty")
    };
    HANDLE
        .get_or_init(|| {
            let handle = match builder().install_recorder() {
                Ok(h) => h,
                Err(e) => {
                    // Another recorder owns the facade (an embedding program): render what
                    // this server records itself, which is nothing from the engine.
                    tracing::warn!(error = %e, "a metrics recorder is already installed; /metrics shows only the gauges");
                    builder().build_recorder().handle()
                }
            };
            describe();
            // Histograms keep their samples until drained; drain them even when nobody scrapes.
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let h = handle.clone();
                rt.spawn(async move {
                    loop {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        h.run_upkeep();
                    }
                });
            }
            handle
        })
        .clone()
}

/// HELP texts and units of every series.
fn describe() {
    for (name, help) in WEBHOOK_COUNTERS {
        describe_counter!(name, help);
    }
    describe_counter!(
        EVENTS_IN,
        "Webhook deliveries per connection and outcome (accepted, duplicate, rejected)."
    );
    describe_histogram!(
        WEBHOOK_DURATION,
        Unit::Seconds,
        "Time from request to answer of webhook deliveries."
    );
    describe_counter!(
        t::JOBS_TOTAL,
        "Job runs per flow and outcome: done, failed (every failed run), retried, dead."
    );
    describe_histogram!(
        t::JOB_DURATION,
        Unit::Seconds,
        "How long one run of a job took, per flow."
    );
    describe_histogram!(
        t::EVENT_TO_DONE,
        Unit::Seconds,
        "From a job's first event stored to the job done, per flow."
    );
    describe_histogram!(
        t::APP_CALL_DURATION,
        Unit::Seconds,
        "Duration of calls to an app's API, per connection and app."
    );
    describe_counter!(
        t::APP_CALLS_TOTAL,
        "Calls to an app's API per connection, app and status."
    );
    describe_counter!(
        t::EVENTS_INGESTED_TOTAL,
        "Change events ingested per connection, source and outcome (new, duplicate)."
    );
    for (name, help) in QUEUE_GAUGES {
        describe_gauge!(name, help);
    }
    describe_gauge!(
        BUDGET_REMAINING,
        "Requests left in the rate window (burst or daily) per connection and location."
    );
    describe_gauge!(
        BUDGET_LIMIT,
        "Requests allowed per rate window (burst or daily) per connection and location."
    );
    describe_gauge!(
        TOKEN_EXPIRES_IN,
        Unit::Seconds,
        "Seconds until the OAuth access token of a connection expires (negative: expired)."
    );
}

/// The server's view of the process-wide metrics. Cheap to update (atomic counters).
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl Default for Metrics {
    /// Installs the process's recorder on first use; later calls share it.
    fn default() -> Self {
        Self { handle: install() }
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Counts one delivery to `connection` (a name from the project; unknown names are not
    /// counted, so a scanner cannot grow the label set), its outcome, the events it stored and
    /// how long handling took.
    pub fn record(&self, connection: &str, outcome: Outcome, events: usize, took: Duration) {
        let c = connection.to_string();
        metrics::counter!(EVENTS_IN, "connection" => c.clone(), "outcome" => outcome.as_str())
            .increment(1);
        let [received, accepted, duplicate, rejected, stored] = WEBHOOK_COUNTERS.map(|(n, _)| n);
        metrics::counter!(received, "connection" => c.clone()).increment(1);
        let by_outcome = match outcome {
            Outcome::Accepted => accepted,
            Outcome::Duplicate => duplicate,
            Outcome::Rejected => rejected,
        };
        metrics::counter!(by_outcome, "connection" => c.clone()).increment(1);
        metrics::counter!(stored, "connection" => c).increment(events as u64);
        metrics::histogram!(WEBHOOK_DURATION).record(took.as_secs_f64());
    }

    /// Sets the per-connection gauges from the connectors as they are now: rate budget (burst
    /// window and day) and, for OAuth connections, seconds to token expiry.
    pub async fn observe_connections(&self, connectors: &Connectors) {
        for (name, c) in connectors {
            let location = c.account().unwrap_or_default();
            if let Some(b) = c.budget() {
                for (window, remaining, limit) in [
                    (
                        "burst",
                        u64::from(b.burst_remaining),
                        u64::from(b.burst_max),
                    ),
                    ("daily", b.daily_remaining, b.daily_max),
                ] {
                    if limit == 0 {
                        continue; // the app announced no such limit
                    }
                    let labels = [
                        ("connection", name.clone()),
                        ("location", location.clone()),
                        ("window", window.to_string()),
                    ];
                    metrics::gauge!(BUDGET_REMAINING, &labels).set(remaining as f64);
                    metrics::gauge!(BUDGET_LIMIT, &labels).set(limit as f64);
                }
            }
            if let Some(at) = c.token_expires_at().await {
                let secs = (at - chrono::Utc::now()).num_seconds() as f64;
                metrics::gauge!(TOKEN_EXPIRES_IN, "connection" => name.clone()).set(secs);
            }
        }
    }

    /// The text exposition (format 0.0.4), with the queue gauges when the store answered.
    pub fn render(&self, queue: Option<&QueueStats>) -> String {
        if let Some(q) = queue {
            let oldest = q.oldest_due_age_ms.unwrap_or(0) as f64 / 1000.0;
            let values = [
                q.pending as f64,
                q.due as f64,
                q.leased as f64,
                q.dead as f64,
                oldest,
            ];
            for ((name, _), v) in QUEUE_GAUGES.iter().zip(values) {
                metrics::gauge!(*name).set(v);
            }
        }
        self.handle.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_and_buckets_show_in_the_exposition() {
        let m = Metrics::default();
        m.record("unit", Outcome::Accepted, 1, Duration::from_millis(3));
        m.record("unit", Outcome::Rejected, 0, Duration::from_millis(700));
        t::job_outcome("unit-flow", t::JobOutcome::Done);
        t::job_ran(
            "unit-flow",
            Duration::from_millis(20),
            Some(chrono::Utc::now()),
        );
        let text = m.render(Some(&QueueStats {
            pending: 4,
            due: 3,
            leased: 1,
            dead: 2,
            oldest_due_age_ms: Some(1500),
        }));
        for want in [
            "ghl_bridge_webhooks_received_total{connection=\"unit\"} 2",
            "ghl_bridge_webhooks_rejected_total{connection=\"unit\"} 1",
            "ghl_bridge_events_in_total{connection=\"unit\",outcome=\"accepted\"} 1",
            "ghl_bridge_jobs_total{flow=\"unit-flow\",outcome=\"done\"} 1",
            "ghl_bridge_job_duration_seconds_bucket{flow=\"unit-flow\",le=\"0.025\"} 1",
            "ghl_bridge_event_to_done_seconds_count{flow=\"unit-flow\"} 1",
            "ghl_bridge_jobs_pending 4",
            "ghl_bridge_queue_oldest_due_seconds 1.5",
            "# TYPE ghl_bridge_webhook_duration_seconds histogram",
        ] {
            assert!(text.contains(want), "{want} missing from:\n{text}");
        }
    }
}
