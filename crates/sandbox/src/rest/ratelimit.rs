//! The contract's rate limit: a fixed window of `limit` requests per `window_secs` per API key,
//! announced on every authenticated answer as `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
//! `X-RateLimit-Reset` (seconds until the window resets), with 429 and `Retry-After` when spent.
//! A fixed window (unlike GHL's rolling one) makes `Reset` exact, which is what a pacer that
//! reads these headers needs to be tested against.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

/// Limits in force (default 600 requests per 60 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimit {
    pub limit: u32,
    pub window_secs: u64,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            limit: 600,
            window_secs: 60,
        }
    }
}

/// The verdict on one request and the header values to send with its answer.
#[derive(Debug, Clone, Copy)]
pub struct Verdict {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Whole seconds (rounded up, at least 1) until the window resets.
    pub reset_secs: u64,
}

impl Verdict {
    /// `(name, value)` of the three headers.
    pub fn headers(&self) -> [(&'static str, String); 3] {
        [
            ("x-ratelimit-limit", self.limit.to_string()),
            ("x-ratelimit-remaining", self.remaining.to_string()),
            ("x-ratelimit-reset", self.reset_secs.to_string()),
        ]
    }
}

/// Fixed-window counters per API key.
#[derive(Debug, Default)]
pub struct Limiter {
    config: RwLock<RateLimit>,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Limiter {
    pub fn new(config: RateLimit) -> Self {
        Self {
            config: RwLock::new(config),
            windows: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> RateLimit {
        *self.config.read()
    }

    /// New limits apply from the next request; windows restart so the new numbers are exact.
    pub fn set_config(&self, config: RateLimit) {
        *self.config.write() = config;
        self.reset();
    }

    /// Forgets every count.
    pub fn reset(&self) {
        self.windows.lock().clear();
    }

    /// Counts one request of `key` if it fits.
    pub fn check(&self, key: &str) -> Verdict {
        let cfg = self.config();
        let window = Duration::from_secs(cfg.window_secs.max(1));
        let now = Instant::now();
        let mut windows = self.windows.lock();
        let w = windows.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(w.0) >= window {
            *w = (now, 0);
        }
        let allowed = w.1 < cfg.limit;
        if allowed {
            w.1 += 1;
        }
        let left = window.saturating_sub(now.duration_since(w.0));
        Verdict {
            allowed,
            limit: cfg.limit,
            remaining: cfg.limit.saturating_sub(w.1),
            reset_secs: left.as_secs_f64().ceil().max(1.0) as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_then_refuses_per_key() {
        let l = Limiter::new(RateLimit {
            limit: 2,
            window_secs: 60,
        });
        assert_eq!(l.check("a").remaining, 1);
        assert_eq!(l.check("a").remaining, 0);
        let v = l.check("a");
        assert!(!v.allowed);
        assert!(v.reset_secs > 50 && v.reset_secs <= 60);
        assert!(l.check("b").allowed, "another key has its own window");
    }
}
