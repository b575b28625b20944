//! Rate limiting of the admin API: one token bucket per client IP (the connecting socket's
//! address). Every admin answer carries `RateLimit-Limit`, `RateLimit-Remaining` and
//! `RateLimit-Reset` (and their `X-RateLimit-*` twins, for older clients); a refused request
//! gets 429 with `Retry-After` and `details.retry_after_secs`, so a script knows how long to
//! wait instead of hammering the server (and the store behind it).

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;

use super::error::ApiError;
use crate::AppState;

/// Environment variable with the admin rate (`PER_SEC` or `PER_SEC:BURST`).
pub const RATE_ENV: &str = "GHL_BRIDGE_ADMIN_RATE";

/// Buckets kept before idle (full) ones are forgotten, so a scan from many addresses cannot
/// grow the map without bound.
const MAX_CLIENTS: usize = 10_000;

/// Requests per second and burst allowed per client IP.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second (bucket refill rate).
    pub per_sec: f64,
    /// Requests allowed at once (bucket size).
    pub burst: u32,
}

impl Default for RateLimit {
    /// 20 requests per second, bursts of 40: a dashboard refreshing several panels never
    /// meets it, a runaway script does.
    fn default() -> Self {
        RateLimit {
            per_sec: 20.0,
            burst: 40,
        }
    }
}

impl FromStr for RateLimit {
    type Err = String;

    /// `PER_SEC` (burst twice that) or `PER_SEC:BURST`, e.g. `20:40` or `0.5:5`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (rate, burst) = match s.split_once(':') {
            Some((r, b)) => (r, Some(b)),
            None => (s, None),
        };
        let per_sec: f64 = rate.trim().parse().map_err(|_| {
            format!(
                "`{s}`: the rate must be requests per second, e.g. `20` or `20:40` (rate:burst)"
            )
        })?;
        if !(per_sec.is_finite() && per_sec > 0.0) {
            return Err(format!(
                "`{s}`: the rate must be more than 0 requests per second"
            ));
        }
        let burst = match burst {
            Some(b) => b
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|b| *b >= 1)
                .ok_or_else(|| format!("`{s}`: the burst after `:` must be a whole number ≥ 1"))?,
            None => ((per_sec * 2.0).ceil() as u32).max(1),
        };
        Ok(RateLimit { per_sec, burst })
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.per_sec, self.burst)
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// What one request's check decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Verdict {
    pub allowed: bool,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_secs: u64,
    /// Seconds until the next request would pass (0 when allowed).
    pub retry_after_secs: u64,
}

/// The per-IP buckets.
#[derive(Debug, Default)]
pub struct Limiter {
    pub(crate) limit: RateLimit,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl Limiter {
    /// A limiter with this rate.
    pub fn new(limit: RateLimit) -> Limiter {
        Limiter {
            limit,
            buckets: Mutex::default(),
        }
    }

    /// Takes one token of `ip`'s bucket at `now`, if there is one.
    pub(crate) fn check(&self, ip: IpAddr, now: Instant) -> Verdict {
        let RateLimit { per_sec, burst } = self.limit;
        let cap = f64::from(burst);
        let mut map = self.buckets.lock();
        if map.len() >= MAX_CLIENTS && !map.contains_key(&ip) {
            map.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * per_sec < cap);
        }
        let b = map.entry(ip).or_insert(Bucket {
            tokens: cap,
            at: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * per_sec).min(cap);
        b.at = now;
        let allowed = b.tokens >= 1.0;
        if allowed {
            b.tokens -= 1.0;
        }
        let secs = |need: f64| (need.max(0.0) / per_sec).ceil() as u64;
        Verdict {
            allowed,
            remaining: b.tokens.floor() as u32,
            reset_secs: secs(cap - b.tokens),
            retry_after_secs: if allowed {
                0
            } else {
                secs(1.0 - b.tokens).max(1)
            },
        }
    }
}

/// The client address of a request: the connecting socket (no proxy header is trusted, so a
/// client cannot pick its own bucket). Unknown (router served without connect info) counts as
/// one shared client.
pub(crate) fn client_ip(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_canonical())
}

fn put(headers: &mut HeaderMap, name: &'static str, v: impl ToString) {
    if let Ok(v) = HeaderValue::from_str(&v.to_string()) {
        headers.insert(name, v);
    }
}

/// Middleware: the bucket check and the rate-limit headers on every answer.
pub(crate) async fn rate_limit(
    State(s): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let limiter = &s.admin.limiter;
    let ip = client_ip(&req).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let v = limiter.check(ip, Instant::now());
    let mut resp = if v.allowed {
        next.run(req).await
    } else {
        tracing::warn!(%ip, "admin API rate limit hit");
        let mut r = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "too many admin requests from {ip}: the limit is {} per second (bursts of {}); \
                 retry in {} s",
                limiter.limit.per_sec, limiter.limit.burst, v.retry_after_secs
            ),
        )
        .with_details(serde_json::json!({"retry_after_secs": v.retry_after_secs}))
        .into_response();
        put(r.headers_mut(), "retry-after", v.retry_after_secs);
        r
    };
    let (limit, remaining, reset) = (
        u64::from(limiter.limit.burst),
        u64::from(v.remaining),
        v.reset_secs,
    );
    let h = resp.headers_mut();
    for (name, value) in [
        ("ratelimit-limit", limit),
        ("ratelimit-remaining", remaining),
        ("ratelimit-reset", reset),
        ("x-ratelimit-limit", limit),
        ("x-ratelimit-remaining", remaining),
        ("x-ratelimit-reset", reset),
    ] {
        put(h, name, value);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn parses_rate_and_burst_and_names_the_problem() {
        assert_eq!(
            "5:9".parse::<RateLimit>().unwrap(),
            RateLimit {
                per_sec: 5.0,
                burst: 9
            }
        );
        assert_eq!("3".parse::<RateLimit>().unwrap().burst, 6);
        assert!("0"
            .parse::<RateLimit>()
            .unwrap_err()
            .contains("more than 0"));
        assert!("5:x".parse::<RateLimit>().unwrap_err().contains("burst"));
        assert!("fast".parse::<RateLimit>().unwrap_err().contains("`fast`"));
    }

    #[test]
    fn bucket_refuses_after_the_burst_and_refills() {
        let l = Limiter::new(RateLimit {
            per_sec: 2.0,
            burst: 3,
        });
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for left in [2, 1, 0] {
            let v = l.check(ip, t0);
            assert!(v.allowed);
            assert_eq!(v.remaining, left);
        }
        let v = l.check(ip, t0);
        assert!(!v.allowed);
        assert_eq!(v.retry_after_secs, 1);
        assert_eq!(v.reset_secs, 2);
        // Another client has its own bucket.
        assert!(l.check("10.0.0.2".parse().unwrap(), t0).allowed);
        // Half a second refills one token.
        assert!(l.check(ip, t0 + Duration::from_millis(500)).allowed);
    }
}
