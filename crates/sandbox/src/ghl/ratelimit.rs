//! GHL's rate limits: a burst window and a daily budget per (app, location or company), announced
//! on every answer in five `X-RateLimit-*` headers, and 429 when over.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use parking_lot::{Mutex, RwLock};

/// Limits in force; GHL's defaults are 100 per 10 s and 200,000 per day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
// Unknown keys (e.g. snake_case spellings) are rejected rather than silently ignored.
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct LimitConfig {
    pub burst_max: u32,
    pub burst_interval_ms: u64,
    pub daily_max: u64,
}

impl Default for LimitConfig {
    fn default() -> Self {
        Self {
            burst_max: 100,
            burst_interval_ms: 10_000,
            daily_max: 200_000,
        }
    }
}

#[derive(Debug)]
struct Bucket {
    window: VecDeque<Instant>,
    day: NaiveDate,
    day_count: u64,
}

/// The verdict for one request, with the header values to send either way.
#[derive(Debug, Clone)]
pub struct Decision {
    pub allowed: bool,
    pub headers: [(&'static str, String); 5],
    /// When not allowed: how long until a request would pass.
    pub retry_after: Duration,
}

/// Rolling-window limiter keyed by (app id, location or company id).
#[derive(Debug, Default)]
pub struct RateLimiter {
    config: RwLock<LimitConfig>,
    buckets: Mutex<HashMap<(String, String), Bucket>>,
}

impl RateLimiter {
    /// A limiter with these limits.
    pub fn new(config: LimitConfig) -> Self {
        Self {
            config: RwLock::new(config),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The limits in force.
    pub fn config(&self) -> LimitConfig {
        *self.config.read()
    }

    /// Changes the limits; counts already made stay.
    pub fn set_config(&self, config: LimitConfig) {
        *self.config.write() = config;
    }

    /// Forgets every count (admin reset).
    pub fn reset(&self) {
        self.buckets.lock().clear();
    }

    /// Counts one request if it fits, and says what to answer.
    pub fn check(&self, app_id: &str, resource_id: &str) -> Decision {
        let cfg = self.config();
        let interval = Duration::from_millis(cfg.burst_interval_ms.max(1));
        let now = Instant::now();
        let today = Utc::now().date_naive();
        let mut buckets = self.buckets.lock();
        let b = buckets
            .entry((app_id.to_string(), resource_id.to_string()))
            .or_insert_with(|| Bucket {
                window: VecDeque::new(),
                day: today,
                day_count: 0,
            });
        if b.day != today {
            b.day = today;
            b.day_count = 0;
        }
        while b
            .window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= interval)
        {
            b.window.pop_front();
        }
        let burst_full = b.window.len() as u64 >= u64::from(cfg.burst_max);
        let daily_full = b.day_count >= cfg.daily_max;
        let allowed = !burst_full && !daily_full;
        let mut retry_after = Duration::ZERO;
        if allowed {
            b.window.push_back(now);
            b.day_count += 1;
        } else if daily_full {
            let secs_left = 86_400 - (Utc::now().timestamp().rem_euclid(86_400)) as u64;
            retry_after = Duration::from_secs(secs_left);
        } else if let Some(oldest) = b.window.front() {
            retry_after = interval.saturating_sub(now.duration_since(*oldest));
        }
        let remaining = u64::from(cfg.burst_max).saturating_sub(b.window.len() as u64);
        let daily_remaining = cfg.daily_max.saturating_sub(b.day_count);
        Decision {
            allowed,
            retry_after,
            headers: [
                ("x-ratelimit-max", cfg.burst_max.to_string()),
                ("x-ratelimit-remaining", remaining.to_string()),
                (
                    "x-ratelimit-interval-milliseconds",
                    cfg.burst_interval_ms.to_string(),
                ),
                ("x-ratelimit-limit-daily", cfg.daily_max.to_string()),
                ("x-ratelimit-daily-remaining", daily_remaining.to_string()),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(d: &Decision, name: &str) -> String {
        d.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    #[test]
    fn burst_then_429_per_app_and_location() {
        let rl = RateLimiter::new(LimitConfig {
            burst_max: 3,
            burst_interval_ms: 60_000,
            daily_max: 10,
        });
        for left in (0..3).rev() {
            let d = rl.check("app", "loc");
            assert!(d.allowed);
            assert_eq!(header(&d, "x-ratelimit-remaining"), left.to_string());
        }
        let d = rl.check("app", "loc");
        assert!(!d.allowed);
        assert!(d.retry_after > Duration::from_secs(50));
        assert!(
            rl.check("app", "other-loc").allowed,
            "another location has its own budget"
        );
        assert!(
            rl.check("other-app", "loc").allowed,
            "another app has its own budget"
        );
    }

    #[test]
    fn daily_budget_is_enforced() {
        let rl = RateLimiter::new(LimitConfig {
            burst_max: 100,
            burst_interval_ms: 1,
            daily_max: 2,
        });
        assert!(rl.check("a", "l").allowed);
        assert!(rl.check("a", "l").allowed);
        let d = rl.check("a", "l");
        assert!(!d.allowed);
        assert_eq!(header(&d, "x-ratelimit-daily-remaining"), "0");
    }
}
