//! What the dashboard shows about alerts: the rules and channels in use (described without any
//! secret: a webhook shows only its host, an email channel its relay host and port) and a
//! bounded in-memory history of the notifications sent, with each channel's delivery result.
//!
//! The history lives in memory on purpose: it mirrors the [`Tracker`](crate::Tracker), which
//! is in memory too (after a restart a rule that still holds fires again and is recorded
//! again), and the durable record of an alert is the notification the channel received. A
//! store table would add a migration on two backends for a list that only the dashboard reads.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::{AlertsConfig, BudgetKind, ChannelConfig, Condition, SmtpTls};
use crate::deliver::DeliveryError;
use crate::eval::{human, kind_of, AlertEvent, AlertStatus};

/// How many notifications the history keeps (oldest dropped first).
pub const HISTORY_LEN: usize = 200;

/// One rule as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleView {
    pub name: String,
    /// Condition type as written in the file (`dlq_growth`…).
    pub kind: &'static str,
    /// The threshold in words, e.g. `at least 5 new dead jobs within 15m`.
    pub condition: String,
    pub channels: Vec<String>,
    /// Minimum time between two repeats while it keeps firing.
    pub cooldown: String,
}

/// One channel, without its secret parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelView {
    pub name: String,
    /// `webhook`, `slack` or `email`.
    pub kind: &'static str,
    /// Where it goes: a URL's host only, or an SMTP relay's `host:port (tls)` and how many
    /// recipients.
    pub target: String,
}

/// One channel's result for one notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub channel: String,
    pub ok: bool,
    /// Why it failed (already free of URLs and credentials).
    pub error: Option<String>,
}

/// One notification in the history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRecord {
    pub at: DateTime<Utc>,
    pub rule: String,
    pub kind: &'static str,
    pub status: AlertStatus,
    pub summary: String,
    pub deliveries: Vec<Delivery>,
}

/// A rule's latest reading, so the page can say what each rule sees right now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleReading {
    pub firing: bool,
    pub summary: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Default)]
struct Inner {
    history: VecDeque<AlertRecord>,
    readings: BTreeMap<String, RuleReading>,
    last_check: Option<DateTime<Utc>>,
}

/// The rules, channels and recent notifications of a running [`Alerts`](crate::Alerts), shared
/// (behind an `Arc`) with whoever displays them.
#[derive(Debug)]
pub struct AlertBoard {
    rules: Vec<RuleView>,
    channels: Vec<ChannelView>,
    interval: String,
    inner: Mutex<Inner>,
}

impl AlertBoard {
    /// Describes a configuration; the history starts empty.
    pub fn new(config: &AlertsConfig) -> Self {
        Self {
            rules: config
                .rules
                .iter()
                .map(|r| RuleView {
                    name: r.name.clone(),
                    kind: kind_of(&r.condition),
                    condition: describe(&r.condition),
                    channels: r.channels.clone(),
                    cooldown: human(r.cooldown),
                })
                .collect(),
            channels: config
                .channels
                .iter()
                .map(|(name, c)| channel_view(name, c))
                .collect(),
            interval: human(config.interval),
            inner: Mutex::default(),
        }
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[RuleView] {
        &self.rules
    }

    /// The channels, by name.
    pub fn channels(&self) -> &[ChannelView] {
        &self.channels
    }

    /// How often the rules are checked, e.g. `60s`.
    pub fn interval(&self) -> &str {
        &self.interval
    }

    /// Notes a rule's reading at a check.
    pub fn observe(&self, rule: &str, firing: bool, summary: &str, at: DateTime<Utc>) {
        let mut inner = self.lock();
        inner.last_check = Some(at);
        inner.readings.insert(
            rule.to_string(),
            RuleReading {
                firing,
                summary: summary.to_string(),
                at,
            },
        );
    }

    /// Records a notification and how each channel took it.
    pub fn record(&self, event: &AlertEvent, channels: &[String], failures: &[DeliveryError]) {
        let deliveries = channels
            .iter()
            .map(|c| {
                let failed = failures.iter().find(|f| &f.channel == c);
                Delivery {
                    channel: c.clone(),
                    ok: failed.is_none(),
                    error: failed.map(|f| f.message.clone()),
                }
            })
            .collect();
        let mut inner = self.lock();
        if inner.history.len() == HISTORY_LEN {
            inner.history.pop_back();
        }
        inner.history.push_front(AlertRecord {
            at: event.at,
            rule: event.rule.clone(),
            kind: event.kind,
            status: event.status,
            summary: event.summary.clone(),
            deliveries,
        });
    }

    /// Recent notifications, newest first.
    pub fn history(&self) -> Vec<AlertRecord> {
        self.lock().history.iter().cloned().collect()
    }

    /// Each rule's latest reading, by rule name.
    pub fn readings(&self) -> BTreeMap<String, RuleReading> {
        self.lock().readings.clone()
    }

    /// When the rules were last checked.
    pub fn last_check(&self) -> Option<DateTime<Utc>> {
        self.lock().last_check
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A condition's threshold in words.
pub fn describe(c: &Condition) -> String {
    match c {
        Condition::DlqGrowth { min_new, window } => {
            format!(
                "at least {min_new} new dead jobs within {}",
                human(window.0)
            )
        }
        Condition::ErrorRate {
            percent,
            window,
            min_calls,
        } => format!(
            "at least {percent}% of API calls failed within {} (once {min_calls} calls were made)",
            human(window.0)
        ),
        Condition::Delay { max_age } => {
            format!("a due job has waited at least {}", human(max_age.0))
        }
        Condition::ReconnectNeeded { window, min_401 } => format!(
            "a connection needs reconnecting, or got {min_401} or more 401 answers within {}",
            human(window.0)
        ),
        Condition::QuotaLow { max_left, budget } => format!(
            "{:.0}% or less of a {} budget left",
            max_left * 100.0,
            match budget {
                BudgetKind::Daily => "daily",
                BudgetKind::Burst => "burst",
            }
        ),
    }
}

fn channel_view(name: &str, c: &ChannelConfig) -> ChannelView {
    let (kind, target) = match c {
        ChannelConfig::Webhook { url, .. } => ("webhook", host_of(url.expose())),
        ChannelConfig::Slack { url, .. } => ("slack", host_of(url.expose())),
        ChannelConfig::Email(e) => {
            let tls = match e.tls() {
                SmtpTls::Starttls => "STARTTLS",
                SmtpTls::Implicit => "TLS",
                SmtpTls::None => "no TLS",
            };
            let n = e.to.len();
            let who = if n == 1 {
                "1 recipient".to_string()
            } else {
                format!("{n} recipients")
            };
            ("email", format!("{}:{} ({tls}), {who}", e.host, e.port()))
        }
    };
    ChannelView {
        name: name.to_string(),
        kind,
        target,
    }
}

/// A URL's host (and port), never its path, query or user info, where tokens live.
fn host_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => "(no host)".into(),
        },
        Err(_) => "(not a URL)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_alerts;

    const FILE: &str = r#"
channels:
  ops:
    type: webhook
    url: https://user:pw@hooks.example.com:8443/T0K3N/secret?key=abc
    hmac_secret: shh
  chat:
    type: slack
    url: https://hooks.slack.com/services/T000/B000/XXXX
  mail:
    type: email
    host: smtp.example.com
    username: ops
    password: hunter2
    from: bridge@example.com
    to: [a@example.com, b@example.com]
rules:
  - name: dead letters
    condition: {type: dlq_growth, min_new: 5, window: 15m}
    channels: [ops, mail]
"#;

    fn board() -> AlertBoard {
        AlertBoard::new(&parse_alerts(FILE, &|_| None).expect("valid file"))
    }

    #[test]
    fn channels_show_hosts_but_no_secret() {
        let b = board();
        let text = serde_json::to_string(b.channels()).unwrap();
        for secret in [
            "T0K3N", "key=abc", "pw@", "shh", "XXXX", "hunter2", "services",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        let ops = b.channels().iter().find(|c| c.name == "ops").unwrap();
        assert_eq!(ops.target, "hooks.example.com:8443");
        let mail = b.channels().iter().find(|c| c.name == "mail").unwrap();
        assert_eq!(mail.target, "smtp.example.com:587 (STARTTLS), 2 recipients");
        assert_eq!(
            b.rules()[0].condition,
            "at least 5 new dead jobs within 15m"
        );
    }

    #[test]
    fn history_is_newest_first_and_bounded() {
        let b = board();
        let ev = |i: usize, status| AlertEvent {
            rule: "dead letters".into(),
            kind: "dlq_growth",
            status,
            summary: format!("reading {i}"),
            at: Utc::now(),
        };
        let fail = DeliveryError {
            channel: "mail".into(),
            message: "connection refused".into(),
            retryable: true,
        };
        let chans = ["ops".to_string(), "mail".to_string()];
        b.record(&ev(0, AlertStatus::Firing), &chans, &[fail]);
        b.record(&ev(1, AlertStatus::Resolved), &chans, &[]);
        let h = b.history();
        assert_eq!(h[0].summary, "reading 1");
        assert_eq!(
            h[1].deliveries[1].error.as_deref(),
            Some("connection refused")
        );
        assert!(h[1].deliveries[0].ok);
        for i in 0..HISTORY_LEN + 5 {
            b.record(&ev(i, AlertStatus::Firing), &chans, &[]);
        }
        assert_eq!(b.history().len(), HISTORY_LEN);
    }
}
