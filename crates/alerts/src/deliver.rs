//! Sends alert events to channels, retrying with backoff. Errors and logs name the channel and
//! what went wrong, never the URL (it often carries a token) or a password.

use std::time::Duration;

use aws_lc_rs::hmac;
use serde_json::json;

use crate::config::ChannelConfig;
use crate::eval::{AlertEvent, AlertStatus};
use crate::smtp;

/// Header carrying `sha256=<hex HMAC of the body>` when a webhook has an `hmac_secret`.
pub const SIGNATURE_HEADER: &str = "X-Alert-Signature";

/// A delivery failure, safe to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("channel `{channel}`: {message}")]
pub struct DeliveryError {
    /// The channel's name.
    pub channel: String,
    /// What went wrong (no URL, no credentials).
    pub message: String,
    /// Whether trying again may help.
    pub retryable: bool,
}

/// How often and how patiently to retry a delivery.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries in all (at least 1).
    pub attempts: u32,
    /// Wait before the second try; doubles each time.
    pub first_backoff: Duration,
    /// Time allowed for one try.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            first_backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(15),
        }
    }
}

/// Delivers events; one HTTP client shared by every channel.
#[derive(Debug, Clone)]
pub struct Deliverer {
    http: reqwest::Client,
    retry: RetryPolicy,
}

impl Deliverer {
    /// A deliverer with the given retry policy.
    pub fn new(retry: RetryPolicy) -> Self {
        let http = reqwest::Client::builder()
            .timeout(retry.timeout)
            .build()
            .unwrap_or_default();
        Self { http, retry }
    }

    /// Sends `event` to one channel, retrying retryable failures with doubling backoff. Each
    /// failed try is logged (without secrets); the last error is returned.
    pub async fn send(
        &self,
        name: &str,
        channel: &ChannelConfig,
        event: &AlertEvent,
    ) -> Result<(), DeliveryError> {
        let mut backoff = self.retry.first_backoff;
        let attempts = self.retry.attempts.max(1);
        for attempt in 1..=attempts {
            match self.try_once(name, channel, event).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    tracing::warn!(channel = name, attempt, attempts, error = %e.message, "alert delivery failed");
                    if !e.retryable || attempt == attempts {
                        return Err(e);
                    }
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
            }
        }
        unreachable!("the loop returns on its last attempt")
    }

    async fn try_once(
        &self,
        name: &str,
        channel: &ChannelConfig,
        event: &AlertEvent,
    ) -> Result<(), DeliveryError> {
        match channel {
            ChannelConfig::Webhook { url, hmac_secret } => {
                let body = serde_json::to_vec(event).expect("an alert event serializes");
                let mut req = self
                    .http
                    .post(url.expose())
                    .header(reqwest::header::CONTENT_TYPE, "application/json");
                if let Some(key) = hmac_secret {
                    req = req.header(SIGNATURE_HEADER, sign(key.expose().as_bytes(), &body));
                }
                self.post(name, req.body(body)).await
            }
            ChannelConfig::Slack { url, blocks } => {
                let body = slack_body(event, *blocks);
                self.post(name, self.http.post(url.expose()).json(&body))
                    .await
            }
            ChannelConfig::Email(cfg) => {
                let subject = format!("[{}] {}", status_word(event.status), event.rule);
                let body = text(event);
                tokio::time::timeout(self.retry.timeout, smtp::send(cfg, &subject, &body))
                    .await
                    .map_err(|_| smtp::SmtpError::new("timed out", true))
                    .and_then(|r| r)
                    .map_err(|e| DeliveryError {
                        channel: name.to_owned(),
                        retryable: e.retryable,
                        message: e.message,
                    })
            }
        }
    }

    async fn post(&self, name: &str, req: reqwest::RequestBuilder) -> Result<(), DeliveryError> {
        let err = |message: String, retryable| DeliveryError {
            channel: name.to_owned(),
            message,
            retryable,
        };
        let resp = req
            .send()
            .await
            .map_err(|e| err(format!("request failed: {}", e.without_url()), true))?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else {
            let retryable =
                status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408;
            Err(err(format!("receiver answered {status}"), retryable))
        }
    }
}

/// `sha256=<hex>` of HMAC-SHA256(key, body), what receivers recompute to check the sender.
pub fn sign(key: &[u8], body: &[u8]) -> String {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

fn status_word(s: AlertStatus) -> &'static str {
    match s {
        AlertStatus::Firing => "FIRING",
        AlertStatus::Resolved => "RESOLVED",
    }
}

/// The plain-text rendering used for email and Slack's `text`.
pub fn text(event: &AlertEvent) -> String {
    format!(
        "[{}] {} ({}): {}\nat {}",
        status_word(event.status),
        event.rule,
        event.kind,
        event.summary,
        event.at.to_rfc3339()
    )
}

/// Slack incoming-webhook body: `text` always (the fallback), plus a section block.
pub fn slack_body(event: &AlertEvent, blocks: bool) -> serde_json::Value {
    let text = text(event);
    if !blocks {
        return json!({ "text": text });
    }
    let icon = match event.status {
        AlertStatus::Firing => ":rotating_light:",
        AlertStatus::Resolved => ":white_check_mark:",
    };
    json!({
        "text": text,
        "blocks": [{
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": format!("{icon} *{}* `{}` ({})\n{}", status_word(event.status), event.rule, event.kind, event.summary),
            }
        }]
    })
}
