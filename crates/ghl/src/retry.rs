//! Retry policy: jittered exponential backoff for answers that may succeed later.

use std::time::Duration;

use rand::Rng;

/// How many times, and how patiently, a failed call is tried again.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included, for 5xx, timeouts, connection errors and unreadable answers.
    pub max_attempts: u32,
    /// Attempts in all when GHL answers 429 (the pacer makes this rare).
    pub max_rate_limited_attempts: u32,
    /// First backoff; doubles each attempt, with full jitter.
    pub base: Duration,
    /// Longest single backoff.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            max_rate_limited_attempts: 8,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            max_rate_limited_attempts: 1,
            ..Self::default()
        }
    }

    /// Backoff before attempt `attempt + 1` (`attempt` ≥ 1): uniform in `0..=min(cap, base·2^(attempt-1))`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1 << attempt.saturating_sub(1).min(16));
        let top = exp.min(self.cap).as_millis() as u64;
        Duration::from_millis(rand::rng().random_range(0..=top.max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_millis(350),
            ..Default::default()
        };
        for _ in 0..200 {
            assert!(p.backoff(1) <= Duration::from_millis(100));
            assert!(p.backoff(2) <= Duration::from_millis(200));
            assert!(p.backoff(9) <= Duration::from_millis(350));
        }
    }
}
