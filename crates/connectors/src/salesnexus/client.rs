//! The HTTP side of the connector: the `X-Api-Key` header, at most `max_in_flight` requests in
//! flight (a semaphore: the API refuses a third concurrent request with 429), the hourly budget
//! as counted here (the API announces none), and retries as the official CLI makes them:
//! 429, 502, 503 and 504 are sent again after `Retry-After` (else 1, 2, 4 × `backoff_ms`), up to
//! `retries` times, then answered `Transient`.
//!
//! Writes that create (POST) are never resent blindly after a 5xx, a timeout or an unreadable
//! answer: SalesNexus may have created the record. The caller gets [`Failed::maybe_done`] and
//! looks the record up first (`mod.rs`, `create`). A 429 means nothing was done, so it is
//! always waited out and resent.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::Value;
use tokio::sync::Semaphore;

use super::config::SalesNexusConfig;
use crate::budget::Budget;
use crate::connector::ConnectorError;

const HOUR: Duration = Duration::from_secs(3600);

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The JSON body; `null` when empty.
    pub body: Value,
    /// The server's `Date`: what "now" is on the API's clock.
    pub date: Option<DateTime<Utc>>,
}

/// A failed call: the error for the engine, and whether the request may have taken effect
/// (a 5xx, a timeout or a garbled 2xx after the request was sent).
#[derive(Debug, Clone)]
pub struct Failed {
    pub error: ConnectorError,
    pub maybe_done: bool,
}

/// Requests sent in the last hour, and a wait the API asked for.
#[derive(Debug, Default)]
struct Usage {
    sent: VecDeque<Instant>,
    blocked_until: Option<Instant>,
}

impl Usage {
    fn prune(&mut self, now: Instant) {
        while self
            .sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= HOUR)
        {
            self.sent.pop_front();
        }
    }
}

/// One connection's HTTP client.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    host: String,
    key: crate::your_app::config::SecretString,
    gate: Semaphore,
    usage: Mutex<Usage>,
    hourly_limit: u32,
    retries: u32,
    max_wait: Duration,
    backoff: Duration,
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get("retry-after")?.to_str().ok()?.trim();
    v.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

fn date_of(headers: &reqwest::header::HeaderMap) -> Option<DateTime<Utc>> {
    let v = headers.get("date")?.to_str().ok()?;
    DateTime::parse_from_rfc2822(v.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Client {
    /// A client for a checked configuration.
    pub fn new(cfg: &SalesNexusConfig) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(cfg.timeout_secs))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            http,
            host: cfg.host(),
            key: cfg.api_key.clone(),
            gate: Semaphore::new(cfg.max_in_flight as usize),
            usage: Mutex::new(Usage::default()),
            hourly_limit: cfg.hourly_limit,
            retries: cfg.retries,
            max_wait: Duration::from_secs(cfg.max_wait_secs),
            backoff: Duration::from_millis(cfg.backoff_ms),
        })
    }

    /// The hourly allowance as counted here: the burst window is the hour; SalesNexus has no
    /// daily limit (0 = none announced).
    pub fn budget(&self) -> Budget {
        let now = Instant::now();
        let mut u = self.usage.lock().unwrap_or_else(|e| e.into_inner());
        u.prune(now);
        let blocked = u.blocked_until.is_some_and(|t| t > now);
        let used = u32::try_from(u.sent.len()).unwrap_or(u32::MAX);
        Budget {
            burst_max: self.hourly_limit,
            burst_remaining: if blocked {
                0
            } else {
                self.hourly_limit.saturating_sub(used)
            },
            interval_ms: HOUR.as_millis() as u64,
            daily_max: 0,
            daily_remaining: 0,
        }
    }

    fn count(&self) {
        let now = Instant::now();
        let mut u = self.usage.lock().unwrap_or_else(|e| e.into_inner());
        u.prune(now);
        u.sent.push_back(now);
    }

    fn block(&self, wait: Duration) {
        let mut u = self.usage.lock().unwrap_or_else(|e| e.into_inner());
        u.blocked_until = Some(Instant::now() + wait);
    }

    /// Sends one request. `resend_on_5xx`: reads and idempotent writes (PUT, DELETE) are sent
    /// again after a 502/503/504 or a network failure; creates are not (see the module docs).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        resend_on_5xx: bool,
    ) -> Result<Answer, Failed> {
        let url = format!("{}/api/v1/{}", self.host, path.trim_start_matches('/'));
        let what = format!("{method} /api/v1/{}", path.trim_start_matches('/'));
        let mut attempt = 0u32;
        loop {
            let failed = |error: ConnectorError, maybe_done: bool| Failed { error, maybe_done };
            let mut rb = self
                .http
                .request(method.clone(), &url)
                .header("X-Api-Key", self.key.expose())
                .header("Accept", "application/json");
            if !query.is_empty() {
                rb = rb.query(query);
            }
            if let Some(b) = body {
                rb = rb.json(b);
            }
            let sent = {
                let _permit = self.gate.acquire().await.map_err(|_| {
                    failed(ConnectorError::Transient("connector closed".into()), false)
                })?;
                self.count();
                match rb.send().await {
                    Ok(resp) => {
                        let status = resp.status();
                        let headers = resp.headers().clone();
                        resp.bytes().await.map(|b| (status, headers, b))
                    }
                    Err(e) => Err(e),
                }
            };
            let (status, headers, raw) = match sent {
                Ok(x) => x,
                Err(e) => {
                    let e = ConnectorError::Transient(format!(
                        "SalesNexus {what}: {}",
                        e.without_url()
                    ));
                    if resend_on_5xx && attempt < self.retries {
                        attempt += 1;
                        tokio::time::sleep(self.backoff * 2u32.pow(attempt - 1)).await;
                        continue;
                    }
                    return Err(failed(e, true));
                }
            };
            let text = || String::from_utf8_lossy(&raw[..raw.len().min(300)]).into_owned();
            if status.is_success() {
                if raw.iter().all(u8::is_ascii_whitespace) {
                    return Ok(Answer {
                        body: Value::Null,
                        date: date_of(&headers),
                    });
                }
                return match serde_json::from_slice::<Value>(&raw) {
                    Ok(body) => Ok(Answer {
                        body,
                        date: date_of(&headers),
                    }),
                    Err(e) if resend_on_5xx && attempt < self.retries => {
                        tracing::warn!(error = %e, %what, "SalesNexus answer unreadable; asking again");
                        attempt += 1;
                        continue;
                    }
                    Err(e) => Err(failed(
                        ConnectorError::Transient(format!(
                            "SalesNexus {what} answered {status} with an unreadable body: {e}"
                        )),
                        true,
                    )),
                };
            }
            let message = format!("SalesNexus {what} answered {status}: {}", text());
            let code = status.as_u16();
            let wait = retry_after(&headers);
            if code == 429 {
                let wait = wait.unwrap_or(self.backoff * 2u32.pow(attempt.min(8)));
                self.block(wait);
                if attempt < self.retries && wait <= self.max_wait {
                    attempt += 1;
                    tracing::warn!(%what, wait_ms = wait.as_millis() as u64, "SalesNexus rate limit; waiting Retry-After");
                    tokio::time::sleep(wait).await;
                    continue;
                }
                return Err(failed(ConnectorError::Transient(message), false));
            }
            if matches!(code, 502..=504) && resend_on_5xx && attempt < self.retries {
                let wait = wait
                    .unwrap_or(self.backoff * 2u32.pow(attempt))
                    .min(self.max_wait);
                attempt += 1;
                tokio::time::sleep(wait).await;
                continue;
            }
            let error = match code {
                401 => ConnectorError::Reconnect(message),
                404 | 410 => ConnectorError::NotFound(message),
                408 => ConnectorError::Transient(message),
                c if c >= 500 => ConnectorError::Transient(message),
                _ => ConnectorError::Rejected(message),
            };
            return Err(failed(error, code >= 500 || code == 408));
        }
    }

    /// [`Self::send`] for reads and idempotent writes, answering only the error.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Answer, ConnectorError> {
        self.send(method, path, query, body, true)
            .await
            .map_err(|f| f.error)
    }
}
