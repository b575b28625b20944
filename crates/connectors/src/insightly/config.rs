//! The settings of one Insightly connection.
//!
//! `base_url` is the whole API address including the pod and version
//! (`https://api.na1.insightly.com/v3.1`, shown as "API URL" under User Settings → API in
//! Insightly), not just the pod: that is what lets tests point the connector at a loopback
//! emulator. The API key is sent as HTTP Basic user name with an empty password (`key:`).

use std::fmt;

use crate::your_app::config::SecretString;

/// A setting is wrong; the message names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("insightly connector configuration: {0}")]
pub struct InsightlyConfigError(pub String);

/// The default page size: Insightly's largest `top`.
pub const MAX_PAGE: u32 = 500;

/// One Insightly connection.
#[derive(Clone, PartialEq)]
pub struct InsightlyConfig {
    /// E.g. `https://api.na1.insightly.com/v3.1`.
    pub base_url: String,
    pub api_key: SecretString,
    /// Per-request timeout.
    pub timeout_secs: u64,
    /// `top` of every list request, 1 to 500.
    pub page_size: u32,
    /// How far before the cursor `list_changed` re-reads: records are stamped to the second and
    /// `updated_after_utc` is strict, so a change in the cursor's own second needs a margin.
    pub overlap_secs: u64,
    /// 429s waited out (when `Retry-After` is at most `max_wait_secs`) before `Transient`.
    pub rate_limit_retries: u32,
    pub max_wait_secs: u64,
    /// Client-side pacing; `None`: none. Insightly documents only a daily quota; a
    /// per-second cap is reported by third parties, so a gentle 5/s is the default.
    pub requests_per_second: Option<u32>,
    /// Basic-auth password that workflow webhook posts must carry; `None`: posts are accepted
    /// unauthenticated (they are only hints to re-read).
    pub webhook_secret: Option<SecretString>,
}

impl fmt::Debug for InsightlyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InsightlyConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key)
            .field("page_size", &self.page_size)
            .field("overlap_secs", &self.overlap_secs)
            .field("requests_per_second", &self.requests_per_second)
            .field("webhook_secret", &self.webhook_secret)
            .finish_non_exhaustive()
    }
}

impl InsightlyConfig {
    /// A connection to `base_url` with `api_key` and the defaults.
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: SecretString::new(api_key),
            timeout_secs: 30,
            page_size: MAX_PAGE,
            overlap_secs: 5,
            rate_limit_retries: 3,
            max_wait_secs: 60,
            requests_per_second: Some(5),
            webhook_secret: None,
        }
    }

    /// Checks every setting a typo could break, so a bad connection fails at start-up.
    pub fn validate(&self) -> Result<(), InsightlyConfigError> {
        let bad = |m: String| Err(InsightlyConfigError(m));
        match url::Url::parse(&self.base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => {
                return bad(format!(
                    "base_url {:?} is not an http(s) URL (e.g. https://api.na1.insightly.com/v3.1)",
                    self.base_url
                ))
            }
        }
        if self.api_key.expose().trim().is_empty() {
            return bad("api_key must not be empty".into());
        }
        if !(1..=MAX_PAGE).contains(&self.page_size) {
            return bad(format!("page_size must be from 1 to {MAX_PAGE}"));
        }
        if self.requests_per_second == Some(0) {
            return bad("requests_per_second must be at least 1".into());
        }
        if self.timeout_secs == 0 {
            return bad("timeout_secs must be at least 1".into());
        }
        Ok(())
    }

    /// Verifies workflow webhook posts with this Basic-auth password.
    pub fn with_webhook_secret(mut self, secret: impl Into<String>) -> Self {
        self.webhook_secret = Some(SecretString::new(secret));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_setting_and_debug_hides_secrets() {
        let ok = InsightlyConfig::new("https://api.na1.insightly.com/v3.1", "key-123")
            .with_webhook_secret("hook-456");
        ok.validate().unwrap();
        let text = format!("{ok:?}");
        assert!(
            !text.contains("key-123") && !text.contains("hook-456"),
            "{text}"
        );
        let e = InsightlyConfig::new("na1", "k").validate().unwrap_err();
        assert!(e.0.contains("base_url"), "{e}");
        let e = InsightlyConfig::new("https://x/v3.1", " ")
            .validate()
            .unwrap_err();
        assert!(e.0.contains("api_key"), "{e}");
        let mut c = InsightlyConfig::new("https://x/v3.1", "k");
        c.page_size = 501;
        assert!(c.validate().unwrap_err().0.contains("page_size"));
    }
}
