//! Prometheus text exposition, written by hand: a handful of counters, a latency histogram
//! and queue gauges read from the store at scrape time. Kept dependency-free so the server
//! adds nothing to the build beyond what the workspace already has.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use engine::store::QueueStats;
use parking_lot::Mutex;

/// Upper bounds (seconds) of the webhook latency histogram buckets.
pub const LATENCY_BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

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

#[derive(Debug, Default, Clone)]
struct PerConnection {
    received: u64,
    accepted: u64,
    duplicate: u64,
    rejected: u64,
    events: u64,
}

/// A counter's name, help text and how to read it from one connection's counts.
type Counter = (&'static str, &'static str, fn(&PerConnection) -> u64);

#[derive(Debug, Default)]
struct Inner {
    connections: BTreeMap<String, PerConnection>,
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum_secs: f64,
}

/// The server's counters. Cheap to update (one short lock per delivery).
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    /// Counts one delivery to `connection` (a name from the project; unknown names are not
    /// counted, so a scanner cannot grow the label set), its outcome, the events it stored and
    /// how long handling took.
    pub fn record(&self, connection: &str, outcome: Outcome, events: usize, took: Duration) {
        let mut m = self.inner.lock();
        let c = m.connections.entry(connection.to_string()).or_default();
        c.received += 1;
        c.events += events as u64;
        match outcome {
            Outcome::Accepted => c.accepted += 1,
            Outcome::Duplicate => c.duplicate += 1,
            Outcome::Rejected => c.rejected += 1,
        }
        let secs = took.as_secs_f64();
        for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
            if secs <= *le {
                m.buckets[i] += 1;
            }
        }
        m.count += 1;
        m.sum_secs += secs;
    }

    /// The text exposition (format 0.0.4), with the queue gauges when the store answered.
    pub fn render(&self, queue: Option<&QueueStats>) -> String {
        let m = self.inner.lock();
        let mut out = String::new();
        let counters: [Counter; 5] = [
            (
                "ghl_bridge_webhooks_received_total",
                "Webhook deliveries received per connection.",
                |c| c.received,
            ),
            (
                "ghl_bridge_webhooks_accepted_total",
                "Deliveries verified and committed to the store.",
                |c| c.accepted,
            ),
            (
                "ghl_bridge_webhooks_duplicate_total",
                "Verified deliveries whose events were all stored before.",
                |c| c.duplicate,
            ),
            (
                "ghl_bridge_webhooks_rejected_total",
                "Deliveries refused (signature, timestamp, body, size).",
                |c| c.rejected,
            ),
            (
                "ghl_bridge_events_stored_total",
                "New events stored from webhooks.",
                |c| c.events,
            ),
        ];
        for (name, help, get) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (conn, c) in &m.connections {
                let _ = writeln!(out, "{name}{{connection=\"{}\"}} {}", escape(conn), get(c));
            }
        }
        let h = "ghl_bridge_webhook_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {h} Time from request to answer of webhook deliveries.\n# TYPE {h} histogram"
        );
        for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
            let _ = writeln!(out, "{h}_bucket{{le=\"{le}\"}} {}", m.buckets[i]);
        }
        let _ = writeln!(out, "{h}_bucket{{le=\"+Inf\"}} {}", m.count);
        let _ = writeln!(out, "{h}_sum {}\n{h}_count {}", m.sum_secs, m.count);
        if let Some(q) = queue {
            for (name, help, v) in [
                (
                    "ghl_bridge_jobs_pending",
                    "Jobs waiting to run (due or backing off).",
                    q.pending,
                ),
                ("ghl_bridge_jobs_due", "Jobs that may run now.", q.due),
                ("ghl_bridge_jobs_leased", "Jobs a worker holds.", q.leased),
                (
                    "ghl_bridge_jobs_dead",
                    "Jobs in the dead-letter queue (failed for good).",
                    q.dead,
                ),
            ] {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
            }
        }
        out
    }
}

/// Escapes a label value (backslash, quote, newline).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_buckets_show_in_the_exposition() {
        let m = Metrics::default();
        m.record("ghl", Outcome::Accepted, 1, Duration::from_millis(3));
        m.record("ghl", Outcome::Rejected, 0, Duration::from_millis(700));
        let text = m.render(None);
        assert!(
            text.contains("ghl_bridge_webhooks_received_total{connection=\"ghl\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("ghl_bridge_webhooks_rejected_total{connection=\"ghl\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("ghl_bridge_webhook_duration_seconds_bucket{le=\"0.005\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("ghl_bridge_webhook_duration_seconds_bucket{le=\"1\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("ghl_bridge_webhook_duration_seconds_count 2"),
            "{text}"
        );
        assert_eq!(escape("a\"b"), "a\\\"b");
    }
}
