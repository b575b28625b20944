//! An app's rate budget as the engine sees it: what is left of the burst window and of the day.
//! The scheduler and the workers read it through [`Connector::budget`](crate::Connector::budget)
//! to hold back work that can wait (reconciles, backfills) before the budget runs dry, so
//! real-time work always finds room and the app never answers 429.

use serde::{Deserialize, Serialize};

/// What is left of a connection's request budget, as last seen by its pacer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// Requests allowed per burst window.
    pub burst_max: u32,
    /// Requests still allowed in the current window.
    pub burst_remaining: u32,
    /// Length of the burst window, in milliseconds.
    pub interval_ms: u64,
    /// Requests allowed per day.
    pub daily_max: u64,
    /// Requests still allowed today.
    pub daily_remaining: u64,
}

impl Budget {
    /// Share of the burst window still free, 0.0 to 1.0 (1.0 when the app announces no limit).
    pub fn burst_left(&self) -> f64 {
        share(u64::from(self.burst_remaining), u64::from(self.burst_max))
    }

    /// Share of the daily budget still free, 0.0 to 1.0 (1.0 when the app announces no limit).
    pub fn daily_left(&self) -> f64 {
        share(self.daily_remaining, self.daily_max)
    }
}

fn share(remaining: u64, max: u64) -> f64 {
    if max == 0 {
        return 1.0;
    }
    // Budgets are far below 2^52, so the conversions are exact.
    (remaining.min(max) as f64) / (max as f64)
}

impl From<ghl::Budget> for Budget {
    fn from(b: ghl::Budget) -> Self {
        Self {
            burst_max: b.burst_max,
            burst_remaining: b.burst_remaining,
            interval_ms: b.interval_ms,
            daily_max: b.daily_max,
            daily_remaining: b.daily_remaining,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_conversion() {
        let b = Budget::from(ghl::Budget {
            burst_max: 100,
            burst_remaining: 20,
            interval_ms: 10_000,
            daily_max: 200_000,
            daily_remaining: 150_000,
        });
        assert!((b.burst_left() - 0.2).abs() < 1e-9);
        assert!((b.daily_left() - 0.75).abs() < 1e-9);
        let unlimited = Budget {
            burst_max: 0,
            burst_remaining: 0,
            interval_ms: 0,
            daily_max: 0,
            daily_remaining: 0,
        };
        assert_eq!((unlimited.burst_left(), unlimited.daily_left()), (1.0, 1.0));
    }
}
