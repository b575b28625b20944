//! The request pipeline every GHL call goes through: bearer token (refreshed when due), pacing,
//! the call itself with a timeout, learning from rate-limit headers, error mapping, retries for
//! idempotent calls, and lookup-before-retry for creates.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::auth::Auth;
use crate::error::GhlError;
use crate::pacing::{Budget, Pacer};
use crate::retry::RetryPolicy;

/// The API version GHL's v2 endpoints require.
pub const API_VERSION: &str = "2021-07-28";

/// A short description of a transport error, without URLs' query strings (no secrets there, but
/// no need to log them either).
pub(crate) fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "broken answer body"
    } else {
        "request failed"
    };
    format!("{kind}: {}", e.without_url())
}

/// `Retry-After` in seconds.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// One API call to make.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    /// Safe to send twice (reads, puts, deletes); creates are not.
    pub idempotent: bool,
}

impl Call {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        let idempotent = method != Method::POST;
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            idempotent,
        }
    }
    pub fn query(mut self, key: &str, value: impl ToString) -> Self {
        self.query.push((key.to_string(), value.to_string()));
        self
    }
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
    /// Marks a POST that is safe to repeat (search, tag add, …).
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }
}

/// Builds a [`GhlClient`].
#[derive(Debug, Clone)]
pub struct GhlClientBuilder {
    base_url: String,
    auth: Auth,
    location_id: Option<String>,
    pacer: Option<Arc<Pacer>>,
    retry: RetryPolicy,
    timeout: Duration,
    http: Option<reqwest::Client>,
}

impl GhlClientBuilder {
    /// API base URL: [`crate::oauth::API_BASE`] or a sandbox's.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into().trim_end_matches('/').to_string();
        self
    }
    /// The location this client works in (filled into `locationId` where GHL wants it).
    pub fn location_id(mut self, id: impl Into<String>) -> Self {
        self.location_id = Some(id.into());
        self
    }
    /// Shares a pacer with other clients spending the same (app, location) budget.
    pub fn pacer(mut self, pacer: Arc<Pacer>) -> Self {
        self.pacer = Some(pacer);
        self
    }
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
    /// Per-request timeout (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// Reuses an HTTP client (connection pool).
    pub fn http(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }
    pub fn build(self) -> Result<GhlClient, GhlError> {
        url::Url::parse(&self.base_url)
            .map_err(|e| GhlError::Config(format!("base URL {:?}: {e}", self.base_url)))?;
        let http = match self.http {
            Some(h) => h,
            None => reqwest::Client::builder()
                .build()
                .map_err(|e| GhlError::Config(e.to_string()))?,
        };
        Ok(GhlClient {
            inner: Arc::new(Inner {
                base_url: self.base_url,
                auth: self.auth,
                location_id: self.location_id,
                pacer: self.pacer.unwrap_or_default(),
                retry: self.retry,
                timeout: self.timeout,
                http,
            }),
        })
    }
}

#[derive(Debug)]
struct Inner {
    base_url: String,
    auth: Auth,
    location_id: Option<String>,
    pacer: Arc<Pacer>,
    retry: RetryPolicy,
    timeout: Duration,
    http: reqwest::Client,
}

/// A GHL API client for one connection (one location, or an agency). Cheap to clone.
#[derive(Debug, Clone)]
pub struct GhlClient {
    inner: Arc<Inner>,
}

enum Attempt {
    Done(Value),
    Failed(GhlError),
}

impl GhlClient {
    /// Starts building a client with these credentials.
    pub fn builder(auth: Auth) -> GhlClientBuilder {
        GhlClientBuilder {
            base_url: crate::oauth::API_BASE.to_string(),
            auth,
            location_id: None,
            pacer: None,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(30),
            http: None,
        }
    }

    /// The location this client works in.
    pub fn location_id(&self) -> Result<&str, GhlError> {
        self.inner.location_id.as_deref().ok_or_else(|| {
            GhlError::Config("this call needs a location id; set it on the client".into())
        })
    }

    /// The rate-limit budget as last seen.
    pub fn budget(&self) -> Budget {
        self.inner.pacer.budget()
    }

    /// When the access token in use expires (`None` for a Private Integration Token).
    pub async fn token_expires_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.inner.auth.expires_at().await
    }

    /// The location this client works in, if it has one (for metric labels).
    pub fn location(&self) -> Option<&str> {
        self.inner.location_id.as_deref()
    }

    /// The pacer, to share with other clients of the same (app, location).
    pub fn pacer(&self) -> Arc<Pacer> {
        self.inner.pacer.clone()
    }

    /// One HTTP exchange, with a single refresh-and-resend when GHL says the token expired.
    async fn attempt(&self, call: &Call) -> Attempt {
        let mut token = match self.inner.auth.bearer().await {
            Ok(t) => t,
            Err(e) => return Attempt::Failed(e),
        };
        let mut refreshed = false;
        loop {
            if let Err(e) = self.inner.pacer.acquire().await {
                return Attempt::Failed(e);
            }
            let mut rb = self
                .inner
                .http
                .request(
                    call.method.clone(),
                    format!("{}{}", self.inner.base_url, call.path),
                )
                .bearer_auth(token.expose())
                .header("Version", API_VERSION)
                .header("Accept", "application/json")
                .timeout(self.inner.timeout);
            if !call.query.is_empty() {
                rb = rb.query(&call.query);
            }
            if let Some(b) = &call.body {
                rb = rb.json(b);
            }
            let resp = match rb.send().await {
                Ok(r) => r,
                Err(e) => {
                    return Attempt::Failed(GhlError::Transient {
                        status: None,
                        message: describe(e),
                    })
                }
            };
            let status = resp.status().as_u16();
            let wait = retry_after(resp.headers());
            self.inner.pacer.observe(resp.headers(), status, wait);
            let body = match resp.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    return Attempt::Failed(GhlError::Transient {
                        status: Some(status),
                        message: describe(e),
                    })
                }
            };
            if (200..300).contains(&status) {
                return match serde_json::from_slice(&body) {
                    Ok(v) => Attempt::Done(v),
                    Err(e) => Attempt::Failed(GhlError::Transient {
                        status: Some(status),
                        message: format!("unreadable answer: {e}"),
                    }),
                };
            }
            let err = GhlError::from_response(status, &body, wait);
            let expired = matches!(&err, GhlError::Unauthorized { message } if message.to_lowercase().contains("expired"));
            if expired && !refreshed {
                match self.inner.auth.after_expiry(&token).await {
                    Ok(Some(t)) => {
                        token = t;
                        refreshed = true;
                        continue;
                    }
                    Ok(None) => {}
                    Err(e) => return Attempt::Failed(e),
                }
            }
            return Attempt::Failed(err);
        }
    }

    /// Sends a call, retrying what may be retried, and decodes the answer.
    pub(crate) async fn send<T: DeserializeOwned>(&self, call: Call) -> Result<T, GhlError> {
        let v = self.send_value(call).await?;
        serde_json::from_value(v).map_err(|e| GhlError::Transient {
            status: None,
            message: format!("unexpected answer shape: {e}"),
        })
    }

    /// Like [`Self::send`], returning the raw JSON.
    pub(crate) async fn send_value(&self, call: Call) -> Result<Value, GhlError> {
        let policy = self.inner.retry;
        let (mut attempts, mut limited) = (0u32, 0u32);
        loop {
            attempts += 1;
            let err = match self.attempt(&call).await {
                Attempt::Done(v) => return Ok(v),
                Attempt::Failed(e) => e,
            };
            match &err {
                // A 429 means GHL did nothing: any call may be resent once the pacer allows.
                GhlError::RateLimited { daily: false, .. }
                    if limited + 1 < policy.max_rate_limited_attempts =>
                {
                    limited += 1;
                    attempts -= 1;
                    tracing::warn!(path = %call.path, "GHL answered 429; pacing and resending");
                }
                GhlError::Transient { .. } if call.idempotent && attempts < policy.max_attempts => {
                    let pause = policy.backoff(attempts);
                    tracing::debug!(path = %call.path, ?pause, error = %err, "retrying GHL call");
                    tokio::time::sleep(pause).await;
                }
                _ => return Err(err),
            }
        }
    }

    /// Sends a create that must never run twice. If the outcome is unclear (5xx, timeout, broken
    /// answer, or a 422 — GHL sometimes answers 422 after creating), `lookup` asks GHL whether
    /// the record now exists; if it does, that record is the answer, otherwise the create is sent
    /// again (for transient failures) or the error returned.
    pub(crate) async fn create_once<T, F, Fut>(&self, call: Call, lookup: F) -> Result<T, GhlError>
    where
        T: DeserializeOwned,
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Option<T>, GhlError>>,
    {
        let policy = self.inner.retry;
        let mut attempts = 0;
        let mut resent_after_doubt = false;
        loop {
            attempts += 1;
            let err = match self
                .send::<T>(Call {
                    idempotent: false,
                    ..call.clone()
                })
                .await
            {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            // A duplicate refused after an unclear first try is most likely our own first create,
            // which the lookup could not see yet: look again before reporting it.
            if resent_after_doubt && matches!(err, GhlError::Duplicate { .. }) {
                if let Some(found) = lookup().await? {
                    return Ok(found);
                }
            }
            let unclear = matches!(
                &err,
                GhlError::Transient { .. } | GhlError::Validation { status: 422, .. }
            );
            if !unclear {
                return Err(err);
            }
            tracing::info!(path = %call.path, error = %err, "create outcome unclear; looking the record up before any retry");
            if let Some(found) = lookup().await? {
                return Ok(found);
            }
            if !err.is_transient() || attempts >= policy.max_attempts {
                return Err(err);
            }
            resent_after_doubt = true;
            tokio::time::sleep(policy.backoff(attempts)).await;
        }
    }
}
