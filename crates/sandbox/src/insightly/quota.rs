//! Insightly's request budget: a daily quota per instance (by plan: Free 1,000, Legacy 20,000,
//! Plus 40,000, Professional 60,000, Enterprise 100,000 — airbyte source-insightly
//! `bootstrap.md`), announced on every answer as `X-RateLimit-Limit` (the daily limit) and
//! `X-RateLimit-Remaining` (support.insight.ly Knowledge article 1447). Once it is spent,
//! requests answer 429 with `Retry-After` until the next UTC day.
//!
//! A per-second cap is reported only by unnamed third-party notes ("10 requests per second"),
//! so it is off by default; when set, the request over it answers 429 with `Retry-After: 1`.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use parking_lot::Mutex;

/// The budget in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuotaConfig {
    /// Requests per UTC day (Insightly Plus: 40,000).
    pub daily_quota: u64,
    /// Requests per second; `None`: no such cap.
    pub per_second: Option<u32>,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        Self {
            daily_quota: 40_000,
            per_second: None,
        }
    }
}

/// The verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    /// Seconds to wait before retrying, when refused.
    pub retry_after_secs: u64,
    /// Refused by the per-second cap (else by the daily quota).
    pub per_second: bool,
}

#[derive(Debug, Default)]
struct Counts {
    day: Option<NaiveDate>,
    used: u64,
    second: i64,
    in_second: u32,
}

/// Counters of the current day and second.
#[derive(Debug, Default)]
pub struct Quota {
    config: Mutex<QuotaConfig>,
    counts: Mutex<Counts>,
}

impl Quota {
    pub fn new(config: QuotaConfig) -> Self {
        Self {
            config: Mutex::new(config),
            counts: Mutex::new(Counts::default()),
        }
    }

    pub fn config(&self) -> QuotaConfig {
        *self.config.lock()
    }

    /// New limits apply from the next request; today's count stays.
    pub fn set_config(&self, config: QuotaConfig) {
        *self.config.lock() = config;
    }

    /// Sets what today has used (tests start near the end of a budget this way).
    pub fn set_used(&self, used: u64, now: DateTime<Utc>) {
        let mut c = self.counts.lock();
        c.day = Some(now.date_naive());
        c.used = used;
    }

    /// Forgets every count.
    pub fn reset(&self) {
        *self.counts.lock() = Counts::default();
    }

    /// Requests used today (as of `now`).
    pub fn used(&self, now: DateTime<Utc>) -> u64 {
        let c = self.counts.lock();
        if c.day == Some(now.date_naive()) {
            c.used
        } else {
            0
        }
    }

    /// Counts one request at `now` if the budget allows it.
    pub fn check(&self, now: DateTime<Utc>) -> Verdict {
        let cfg = self.config();
        let mut c = self.counts.lock();
        let today = now.date_naive();
        if c.day != Some(today) {
            c.day = Some(today);
            c.used = 0;
        }
        let sec = now.timestamp();
        if c.second != sec {
            c.second = sec;
            c.in_second = 0;
        }
        let mut v = Verdict {
            allowed: true,
            limit: cfg.daily_quota,
            remaining: cfg.daily_quota.saturating_sub(c.used),
            retry_after_secs: 0,
            per_second: false,
        };
        if c.used >= cfg.daily_quota {
            let midnight = today
                .succ_opt()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
                .unwrap_or(now + Duration::days(1));
            v.allowed = false;
            v.retry_after_secs = (midnight - now).num_seconds().max(1) as u64;
            return v;
        }
        if cfg.per_second.is_some_and(|cap| c.in_second >= cap) {
            v.allowed = false;
            v.per_second = true;
            v.retry_after_secs = 1;
            return v;
        }
        c.used += 1;
        c.in_second += 1;
        v.remaining = cfg.daily_quota.saturating_sub(c.used);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn daily_budget_runs_out_until_midnight_and_the_second_cap_bites() {
        let q = Quota::new(QuotaConfig {
            daily_quota: 2,
            per_second: None,
        });
        let t = Utc.with_ymd_and_hms(2025, 3, 1, 23, 0, 0).unwrap();
        assert_eq!(q.check(t).remaining, 1);
        assert_eq!(q.check(t).remaining, 0);
        let v = q.check(t);
        assert!(!v.allowed);
        assert_eq!(v.retry_after_secs, 3600);
        assert!(q.check(t + Duration::hours(1)).allowed, "a new day");
        q.set_config(QuotaConfig {
            daily_quota: 100,
            per_second: Some(1),
        });
        let t2 = t + Duration::hours(2);
        assert!(q.check(t2).allowed);
        let v = q.check(t2);
        assert!(!v.allowed && v.per_second && v.retry_after_secs == 1);
    }
}
