//! One request to Insightly: Basic auth with `key:`, optional client-side pacing, 429 waits,
//! the budget read from `X-RateLimit-Limit` / `X-RateLimit-Remaining`, and the status → error
//! rule every operation shares:
//!
//! | answer | error |
//! |---|---|
//! | 429 | waited out (`Retry-After`, when at most `max_wait_secs`, up to `rate_limit_retries` times), then `Transient` naming the wait |
//! | 5xx, timeouts, network failures | `Transient` |
//! | 401 | `Reconnect` (the key is wrong or revoked) |
//! | 404 | `NotFound` |
//! | 400, 402, 403, 417 and other 4xx | `Rejected` with Insightly's text (it names the field) |
//!
//! Error texts never carry the key: it travels in a header that is not logged.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::config::InsightlyConfig;
use crate::budget::Budget;
use crate::connector::ConnectorError;

/// The HTTP side of the connector.
#[derive(Debug)]
pub(super) struct Client {
    http: reqwest::Client,
    pub(super) cfg: InsightlyConfig,
    /// `(limit, remaining)` as last announced.
    budget: Mutex<Option<(u64, u64)>>,
    /// When the next request may leave (pacing).
    next_slot: tokio::sync::Mutex<Instant>,
}

/// The answer text, cut short for messages.
fn excerpt(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(&raw[..raw.len().min(300)]);
    text.trim().to_string()
}

fn header_u64(resp: &reqwest::Response, name: &str) -> Option<u64> {
    resp.headers().get(name)?.to_str().ok()?.trim().parse().ok()
}

impl Client {
    pub(super) fn new(cfg: InsightlyConfig) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(cfg.timeout_secs))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            http,
            cfg,
            budget: Mutex::new(None),
            next_slot: tokio::sync::Mutex::new(Instant::now()),
        })
    }

    /// The daily budget as Insightly last announced it (no burst window is announced).
    pub(super) fn budget(&self) -> Option<Budget> {
        let (limit, remaining) = (*self.budget.lock().ok()?)?;
        Some(Budget {
            burst_max: 0,
            burst_remaining: 0,
            interval_ms: 0,
            daily_max: limit,
            daily_remaining: remaining.min(limit),
        })
    }

    async fn pace(&self) {
        let Some(rps) = self.cfg.requests_per_second else {
            return;
        };
        let gap = Duration::from_secs(1) / rps.max(1);
        let mut slot = self.next_slot.lock().await;
        let now = Instant::now();
        if *slot > now {
            tokio::time::sleep(*slot - now).await;
        }
        *slot = Instant::now().max(*slot) + gap;
    }

    /// Sends one request; the JSON answer (`null` when empty) or the error with the status.
    pub(super) async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, (Option<u16>, ConnectorError)> {
        let url = format!("{}/{path}", self.cfg.base_url.trim_end_matches('/'));
        let mut waits = 0;
        loop {
            self.pace().await;
            let mut rb = self
                .http
                .request(method.clone(), &url)
                .basic_auth(self.cfg.api_key.expose(), Some(""));
            if !query.is_empty() {
                rb = rb.query(query);
            }
            if let Some(b) = body {
                rb = rb.json(b);
            }
            let what = format!("Insightly {method} {path}");
            let transient = |e: reqwest::Error| {
                (
                    None,
                    ConnectorError::Transient(format!("{what}: {}", e.without_url())),
                )
            };
            let resp = rb.send().await.map_err(transient)?;
            if let (Some(limit), Some(remaining)) = (
                header_u64(&resp, "x-ratelimit-limit"),
                header_u64(&resp, "x-ratelimit-remaining"),
            ) {
                if let Ok(mut b) = self.budget.lock() {
                    *b = Some((limit, remaining));
                }
            }
            let status = resp.status();
            let retry_after = header_u64(&resp, "retry-after");
            let raw = resp.bytes().await.map_err(transient)?;
            if status.is_success() {
                let v = if raw.iter().all(u8::is_ascii_whitespace) {
                    Value::Null
                } else {
                    serde_json::from_slice(&raw).map_err(|e| {
                        (
                            Some(status.as_u16()),
                            ConnectorError::Transient(format!(
                                "{what}: the answer is not JSON: {e}"
                            )),
                        )
                    })?
                };
                return Ok(v);
            }
            let text = excerpt(&raw);
            if status == StatusCode::TOO_MANY_REQUESTS {
                let secs = retry_after.unwrap_or(1);
                if waits < self.cfg.rate_limit_retries && secs <= self.cfg.max_wait_secs {
                    waits += 1;
                    tracing::warn!(secs, "Insightly rate limit; waiting Retry-After");
                    tokio::time::sleep(Duration::from_secs(secs)).await;
                    continue;
                }
                let m = format!("{what}: rate limited, retry after {secs} s: {text}");
                return Err((Some(429), ConnectorError::Transient(m)));
            }
            let m = format!("{what} answered {status}: {text}");
            let error = match status.as_u16() {
                401 => ConnectorError::Reconnect(format!("{m} (check the API key)")),
                404 => ConnectorError::NotFound(m),
                408 | 425 => ConnectorError::Transient(m),
                s if s >= 500 => ConnectorError::Transient(match retry_after {
                    Some(secs) => format!("{m} (retry after {secs} s)"),
                    None => m,
                }),
                _ => ConnectorError::Rejected(m),
            };
            return Err((Some(status.as_u16()), error));
        }
    }

    /// [`Self::send`] without the status.
    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, ConnectorError> {
        self.send(method, path, query, body)
            .await
            .map_err(|(_, e)| e)
    }

    /// A GET that answers `None` on 404.
    pub(super) async fn get_opt(&self, path: &str) -> Result<Option<Value>, ConnectorError> {
        match self.call(Method::GET, path, &[], None).await {
            Ok(v) => Ok(Some(v)),
            Err(ConnectorError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
