//! Pacing per (app, location) from GHL's own rate-limit headers, so that a long job runs close to
//! the allowed rate and never draws a 429.
//!
//! The pacer keeps its own rolling window of the requests it let through and starts each request
//! only when the window has room. GHL's answers correct it: the five `X-RateLimit-*` headers give
//! the real limits (learned at the first answer), the remaining burst (which also counts other
//! clients sharing the budget) and the daily budget; a 429's `Retry-After` pauses everyone.

use std::collections::VecDeque;
use std::time::Duration;

use parking_lot::Mutex;
use reqwest::header::HeaderMap;
use tokio::time::Instant;

use crate::error::GhlError;

/// GHL's published defaults, used until the first answer tells the real limits.
const DEFAULT_MAX: u32 = 100;
const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
const DEFAULT_DAILY: u64 = 200_000;

/// What is left of the budget, for the scheduler and the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Budget {
    pub burst_max: u32,
    pub burst_remaining: u32,
    pub interval_ms: u64,
    pub daily_max: u64,
    pub daily_remaining: u64,
}

#[derive(Debug)]
struct State {
    max: u32,
    interval: Duration,
    daily_max: u64,
    daily_remaining: u64,
    /// The UTC day `daily_remaining` counts down (GHL's daily budget turns at midnight UTC).
    daily_day: i64,
    /// An answer of that day has told GHL's own count.
    daily_heard: bool,
    /// When each request we let through (or a request of someone else we inferred) started.
    sent: VecDeque<Instant>,
    paused_until: Option<Instant>,
}

/// Days since the Unix epoch, UTC.
fn utc_day() -> i64 {
    chrono::Utc::now().timestamp().div_euclid(86_400)
}

impl State {
    /// At midnight UTC the daily budget is whole again; until an answer says otherwise.
    fn turn_day(&mut self) {
        let today = utc_day();
        if today != self.daily_day {
            self.daily_day = today;
            self.daily_remaining = self.daily_max;
            self.daily_heard = false;
        }
    }
}

/// Paces the requests of one (app, location) pair. Share one `Pacer` (in an `Arc`) between every
/// client that spends the same budget.
#[derive(Debug)]
pub struct Pacer {
    state: Mutex<State>,
}

impl Default for Pacer {
    fn default() -> Self {
        Self::new()
    }
}

impl Pacer {
    /// A pacer assuming GHL's default limits until told otherwise.
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State {
                max: DEFAULT_MAX,
                interval: DEFAULT_INTERVAL,
                daily_max: DEFAULT_DAILY,
                daily_remaining: DEFAULT_DAILY,
                daily_day: utc_day(),
                daily_heard: false,
                sent: VecDeque::new(),
                paused_until: None,
            }),
        }
    }

    /// Slack added to the window: a request leaves here a little before GHL counts it, and the
    /// spread of that delay must not let two windows overlap at GHL.
    fn margin(interval: Duration) -> Duration {
        (interval / 50).max(Duration::from_millis(50))
    }

    /// Requests kept in reserve, so a request of another client racing ours cannot tip us over.
    fn reserve(max: u32) -> u32 {
        if max > 20 {
            1
        } else {
            0
        }
    }

    /// Waits until a request may start, and counts it. Fails at once when the daily budget is
    /// spent (the wait would be hours; the scheduler decides what to do).
    pub async fn acquire(&self) -> Result<(), GhlError> {
        loop {
            let wait = {
                let mut s = self.state.lock();
                let now = Instant::now();
                s.turn_day();
                if s.daily_remaining == 0 {
                    let secs = 86_400 - chrono::Utc::now().timestamp().rem_euclid(86_400) as u64;
                    return Err(GhlError::RateLimited {
                        retry_after: Duration::from_secs(secs),
                        daily: true,
                    });
                }
                let horizon = s.interval + Self::margin(s.interval);
                while s
                    .sent
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= horizon)
                {
                    s.sent.pop_front();
                }
                let room = s.max.saturating_sub(Self::reserve(s.max)).max(1) as usize;
                match s.paused_until {
                    Some(until) if until > now => until - now,
                    _ if s.sent.len() < room => {
                        s.sent.push_back(now);
                        s.daily_remaining = s.daily_remaining.saturating_sub(1);
                        return Ok(());
                    }
                    _ => {
                        let oldest = s.sent[s.sent.len() - room];
                        (oldest + horizon)
                            .saturating_duration_since(now)
                            .max(Duration::from_millis(1))
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Learns from an answer's headers; `status` 429 pauses all requests for `retry_after`.
    pub fn observe(&self, headers: &HeaderMap, status: u16, retry_after: Option<Duration>) {
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let mut s = self.state.lock();
        let now = Instant::now();
        if let Some(max) = num("x-ratelimit-max") {
            s.max = max.clamp(1, u32::MAX as u64) as u32;
        }
        if let Some(ms) = num("x-ratelimit-interval-milliseconds") {
            s.interval = Duration::from_millis(ms.max(1));
        }
        if let Some(d) = num("x-ratelimit-limit-daily") {
            s.daily_max = d;
        }
        s.turn_day();
        if let Some(d) = num("x-ratelimit-daily-remaining") {
            // GHL's count is the truth. Within a day answers may arrive out of order, so the
            // lowest count wins once one is known; the first answer of a day is taken as it is
            // (also when it is higher than our default guess).
            s.daily_remaining = if s.daily_heard {
                s.daily_remaining.min(d)
            } else {
                d
            };
            s.daily_heard = true;
        }
        if let Some(remaining) = num("x-ratelimit-remaining") {
            // GHL's window holds (max - remaining) requests; if ours holds fewer, someone else
            // spends this budget too: count their requests as if made now.
            let horizon = s.interval + Self::margin(s.interval);
            let ours = s
                .sent
                .iter()
                .filter(|t| now.duration_since(**t) < horizon)
                .count() as u64;
            let at_ghl = u64::from(s.max).saturating_sub(remaining);
            for _ in ours..at_ghl {
                s.sent.push_back(now);
            }
        }
        if status == 429 {
            let pause = retry_after.unwrap_or(s.interval);
            s.paused_until = Some(now + pause);
        }
    }

    /// The budget as last known.
    pub fn budget(&self) -> Budget {
        let s = self.state.lock();
        let now = Instant::now();
        let in_window = s
            .sent
            .iter()
            .filter(|t| now.duration_since(**t) < s.interval)
            .count() as u32;
        Budget {
            burst_max: s.max,
            burst_remaining: s.max.saturating_sub(in_window),
            interval_ms: s.interval.as_millis() as u64,
            daily_max: s.daily_max,
            daily_remaining: s.daily_remaining,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(max: u64, remaining: u64, interval: u64) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("x-ratelimit-max", max),
            ("x-ratelimit-remaining", remaining),
            ("x-ratelimit-interval-milliseconds", interval),
            ("x-ratelimit-limit-daily", 1000),
            ("x-ratelimit-daily-remaining", 900),
        ] {
            h.insert(k, HeaderValue::from(v));
        }
        h
    }

    #[tokio::test(start_paused = true)]
    async fn waits_for_the_window_after_the_limit() {
        let p = Pacer::new();
        p.observe(&headers(5, 5, 1000), 200, None);
        let start = Instant::now();
        for _ in 0..5 {
            p.acquire().await.unwrap();
        }
        assert!(
            start.elapsed() < Duration::from_millis(10),
            "five fit in the window at once"
        );
        p.acquire().await.unwrap();
        assert!(
            start.elapsed() >= Duration::from_millis(1000),
            "the sixth waits for the window"
        );
        assert_eq!(p.budget().daily_remaining, 894);
    }

    #[tokio::test(start_paused = true)]
    async fn the_daily_budget_follows_ghl_and_turns_with_the_day() {
        let p = Pacer::new();
        let mut h = headers(100, 100, 10_000);
        h.insert("x-ratelimit-limit-daily", HeaderValue::from(1_000_000u64));
        h.insert("x-ratelimit-daily-remaining", HeaderValue::from(999_000u64));
        p.observe(&h, 200, None);
        assert_eq!(
            (p.budget().daily_max, p.budget().daily_remaining),
            (1_000_000, 999_000),
            "a budget above the default guess is taken as GHL tells it"
        );
        h.insert("x-ratelimit-daily-remaining", HeaderValue::from(998_000u64));
        p.observe(&h, 200, None);
        h.insert("x-ratelimit-daily-remaining", HeaderValue::from(998_500u64));
        p.observe(&h, 200, None);
        assert_eq!(
            p.budget().daily_remaining,
            998_000,
            "an older answer arriving late"
        );
        // Spent by the end of a day: refused until the day turns, then whole again.
        p.state.lock().daily_remaining = 0;
        assert!(p.acquire().await.is_err());
        p.state.lock().daily_day -= 1;
        p.acquire().await.unwrap();
        assert_eq!(p.budget().daily_remaining, 999_999);
    }

    #[tokio::test(start_paused = true)]
    async fn other_clients_usage_and_429_slow_it_down() {
        let p = Pacer::new();
        p.observe(&headers(5, 1, 1000), 200, None);
        let start = Instant::now();
        p.acquire().await.unwrap();
        p.acquire().await.unwrap();
        assert!(
            start.elapsed() >= Duration::from_millis(1000),
            "four requests of someone else fill the window"
        );
        p.observe(&headers(5, 0, 1000), 429, Some(Duration::from_secs(3)));
        let t = Instant::now();
        p.acquire().await.unwrap();
        assert!(t.elapsed() >= Duration::from_secs(3));
    }
}
