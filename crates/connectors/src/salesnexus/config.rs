//! Settings of one SalesNexus connection. Only the key is required; everything else has the
//! documented or safest default (the API's limits: 10,000 requests per hour, two in flight).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::your_app::config::SecretString;

/// The production API host (paths start `/api/v1/`).
pub const DEFAULT_BASE_URL: &str = "https://api.salesnex.us";

/// A setting is wrong; the message names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("salesnexus connector configuration: {message}")]
pub struct SalesNexusConfigError {
    /// Starts with the setting's name (`api_key must …`).
    pub message: String,
}

/// One SalesNexus connection.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SalesNexusConfig {
    /// `https://api.salesnex.us` (a trailing `/api/v1` is accepted and dropped).
    pub base_url: String,
    /// `sn_live_<8>.<32>`, sent as `X-Api-Key`.
    pub api_key: SecretString,
    /// The multi-select custom field that carries the contact's tags (comma-separated);
    /// contacts have no tag resource.
    pub tags_field: String,
    /// Rows per list request (the API allows at most 100 for contacts).
    pub page_size: u32,
    /// Requests in flight at once (the API's queue depth is 2; more are refused with 429).
    pub max_in_flight: u32,
    /// The account's hourly allowance, for [`crate::Connector::budget`] (the API announces none).
    pub hourly_limit: u32,
    pub timeout_secs: u64,
    /// Sends after a 429/502/503/504 (waiting `Retry-After`, else 1, 2, 4 s) before `Transient`.
    pub retries: u32,
    /// The longest `Retry-After` waited inside one call; a longer one is answered `Transient`
    /// at once (the engine retries the job later).
    pub max_wait_secs: u64,
    /// First wait before resending after a 5xx or a 429 without `Retry-After` (doubles).
    pub backoff_ms: u64,
    /// Delivered records kept in the change cursor to skip on the next scan (see
    /// `listing.rs`); past it, a record may be delivered twice, never missed.
    pub cursor_recent_cap: usize,
    /// When set, Stage Trigger webhooks must carry it in `X-Webhook-Token` (SalesNexus signs
    /// nothing; put the token in the trigger's headers, if your account allows it).
    pub webhook_token: Option<SecretString>,
}

impl Default for SalesNexusConfig {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.into(),
            api_key: SecretString::default(),
            tags_field: "Tags".into(),
            page_size: 100,
            max_in_flight: 2,
            hourly_limit: 10_000,
            timeout_secs: 30,
            retries: 3,
            max_wait_secs: 60,
            backoff_ms: 1000,
            cursor_recent_cap: 500,
            webhook_token: None,
        }
    }
}

impl fmt::Debug for SalesNexusConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SalesNexusConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key)
            .field("tags_field", &self.tags_field)
            .field("page_size", &self.page_size)
            .field("max_in_flight", &self.max_in_flight)
            .field("hourly_limit", &self.hourly_limit)
            .field("webhook_token", &self.webhook_token)
            .finish_non_exhaustive()
    }
}

fn bad(message: String) -> Result<(), SalesNexusConfigError> {
    Err(SalesNexusConfigError { message })
}

impl SalesNexusConfig {
    /// A connection to `base_url` with `api_key` and every default.
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: SecretString::new(api_key),
            ..Self::default()
        }
    }

    /// The base URL without a trailing slash or `/api/v1`.
    pub fn host(&self) -> String {
        let b = self.base_url.trim().trim_end_matches('/');
        b.strip_suffix("/api/v1").unwrap_or(b).to_string()
    }

    /// Checks every setting a typo could break, so a bad connection fails at start-up. The
    /// messages start with the setting's name and never carry a secret.
    pub fn validate(&self) -> Result<(), SalesNexusConfigError> {
        match url::Url::parse(&self.host()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => {
                return bad(format!(
                    "base_url {:?} is not an http(s) URL",
                    self.base_url
                ))
            }
        }
        let key = self.api_key.expose();
        if key.trim().is_empty() {
            return bad("api_key is required (Settings → API Keys in SalesNexus)".into());
        }
        if !key.starts_with("sn_live_") {
            return bad("api_key must start with sn_live_ (a SalesNexus API key)".into());
        }
        if self.tags_field.trim().is_empty() {
            return bad("tags_field must name a custom field (e.g. Tags)".into());
        }
        if !(1..=100).contains(&self.page_size) {
            return bad(format!(
                "page_size must be from 1 to 100, not {}",
                self.page_size
            ));
        }
        if !(1..=2).contains(&self.max_in_flight) {
            return bad(format!(
                "max_in_flight must be 1 or 2 (the API's queue depth is 2), not {}",
                self.max_in_flight
            ));
        }
        if self.hourly_limit == 0 {
            return bad("hourly_limit must be positive".into());
        }
        if self.timeout_secs == 0 {
            return bad("timeout_secs must be positive".into());
        }
        if self
            .webhook_token
            .as_ref()
            .is_some_and(|t| t.expose().is_empty())
        {
            return bad("webhook_token must not be empty when set".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_setting_and_hides_the_key() {
        let ok = SalesNexusConfig::new("https://api.salesnex.us/api/v1/", "sn_live_abcdefgh.x");
        ok.validate().unwrap();
        assert_eq!(ok.host(), "https://api.salesnex.us");
        let text = format!("{ok:?}");
        assert!(!text.contains("sn_live_abcdefgh"), "{text}");
        let e = SalesNexusConfig::new("ftp://x", "sn_live_a")
            .validate()
            .unwrap_err();
        assert!(e.message.starts_with("base_url"), "{e}");
        let e = SalesNexusConfig::new(DEFAULT_BASE_URL, "sk_test_secret")
            .validate()
            .unwrap_err();
        assert!(
            e.message.starts_with("api_key") && !e.message.contains("secret"),
            "{e}"
        );
        let mut c = SalesNexusConfig::new(DEFAULT_BASE_URL, "sn_live_a");
        c.max_in_flight = 3;
        assert!(c
            .validate()
            .unwrap_err()
            .message
            .starts_with("max_in_flight"));
        c.max_in_flight = 2;
        c.page_size = 101;
        assert!(c.validate().unwrap_err().message.starts_with("page_size"));
    }
}
