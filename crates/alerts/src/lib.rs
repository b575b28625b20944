//! Alerts for a running engine: rules over the store (dead-letter growth, API error rate, queue
//! delay, connections needing a reconnect) and over connectors' rate budgets (quota nearly
//! spent), delivered to webhooks, Slack-compatible incoming webhooks or SMTP email.
//!
//! Configuration lives in its own `alerts.yaml` (see `docs/alerts.md`), so the project file's
//! parser is untouched. A server starts [`Alerts::run`] beside the workers.

pub mod board;
pub mod collect;
pub mod config;
pub mod deliver;
pub mod eval;
pub mod secret;
pub mod smtp;
mod tls;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use engine::store::{Store, StoreError};
use tokio::sync::watch;

pub use board::{AlertBoard, AlertRecord};
pub use collect::BudgetSource;
pub use config::{
    parse_alerts, AlertsConfig, ChannelConfig, Condition, ConfigError, Rule, SmtpTls,
};
pub use deliver::{Deliverer, DeliveryError, RetryPolicy};
pub use eval::{AlertEvent, AlertStatus, Tracker};
pub use secret::Secret;

/// Rules, channels and the memory of what is firing.
#[derive(Debug)]
pub struct Alerts {
    config: AlertsConfig,
    tracker: Tracker,
    deliverer: Deliverer,
    board: Arc<AlertBoard>,
}

impl Alerts {
    /// Alerts from a validated configuration, with the default retry policy.
    pub fn new(config: AlertsConfig) -> Self {
        Self::with_retry(config, RetryPolicy::default())
    }

    /// Alerts with a chosen retry policy (tests use short backoffs).
    pub fn with_retry(config: AlertsConfig, retry: RetryPolicy) -> Self {
        Self {
            board: Arc::new(AlertBoard::new(&config)),
            config,
            tracker: Tracker::default(),
            deliverer: Deliverer::new(retry),
        }
    }

    /// Loads `alerts.yaml`, reading `${VAR}` from the process environment.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            field: path.display().to_string(),
            message: format!("cannot read: {e}"),
        })?;
        parse_alerts(&text, &|k| std::env::var(k).ok()).map(Self::new)
    }

    /// The configuration in use.
    pub fn config(&self) -> &AlertsConfig {
        &self.config
    }

    /// The rules, channels and notification history, shared so the dashboard can show them
    /// while [`Alerts::run`] owns `self`.
    pub fn board(&self) -> Arc<AlertBoard> {
        self.board.clone()
    }

    /// Evaluates every rule once at `now` and returns the notifications due (state changes and
    /// cooldown repeats). A rule whose reading fails is skipped (logged) and keeps its state.
    pub async fn evaluate(
        &mut self,
        store: &dyn Store,
        budgets: &dyn BudgetSource,
        now: DateTime<Utc>,
    ) -> Vec<(AlertEvent, Vec<String>)> {
        let mut out = Vec::new();
        for rule in &self.config.rules {
            let reading: Result<_, StoreError> =
                collect::read(store, budgets, &rule.condition, now).await;
            match reading {
                Ok(reading) => {
                    let verdict = eval::judge(&rule.condition, &reading);
                    self.board
                        .observe(&rule.name, verdict.firing, &verdict.summary, now);
                    if let Some(event) = self.tracker.step(rule, verdict, now) {
                        out.push((event, rule.channels.clone()));
                    }
                }
                Err(e) => {
                    tracing::warn!(rule = %rule.name, error = %e, "alert rule could not read the store")
                }
            }
        }
        out
    }

    /// Sends one event to the named channels; returns the failures (already logged).
    pub async fn deliver(&self, event: &AlertEvent, channels: &[String]) -> Vec<DeliveryError> {
        let mut failures = Vec::new();
        for name in channels {
            let Some(channel) = self.config.channels.get(name) else {
                continue;
            };
            if let Err(e) = self.deliverer.send(name, channel, event).await {
                tracing::error!(rule = %event.rule, error = %e, "alert not delivered");
                failures.push(e);
            }
        }
        failures
    }

    /// Evaluates and delivers every `interval` until `stop` turns true (or its sender drops).
    /// `ghl-bridge serve` spawns this beside its workers.
    pub async fn run(
        mut self,
        store: Arc<dyn Store>,
        connectors: Arc<dyn BudgetSource>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(self.config.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        return;
                    }
                    continue;
                }
            }
            if *stop.borrow() {
                return;
            }
            let events = self
                .evaluate(store.as_ref(), connectors.as_ref(), Utc::now())
                .await;
            for (event, channels) in events {
                let failures = self.deliver(&event, &channels).await;
                self.board.record(&event, &channels, &failures);
            }
        }
    }
}
