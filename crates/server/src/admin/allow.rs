//! The optional IP allowlist of the admin side (`--admin-allow` / `GHL_BRIDGE_ADMIN_ALLOW`):
//! CIDR blocks, IPv4 and IPv6. A client outside every block gets 403 in the admin error shape
//! before its token is even looked at; webhooks, health and metrics are not affected. The
//! address is the connecting socket's (no `X-Forwarded-For` is trusted): behind a reverse proxy,
//! allow the proxy's address.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::limit::client_ip;
use crate::AppState;

/// Environment variable with the allowlist (comma-separated CIDRs).
pub const ALLOW_ENV: &str = "GHL_BRIDGE_ADMIN_ALLOW";

/// One CIDR block (`10.0.0.0/8`, `2001:db8::/32`; a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` is inside the block (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip.to_canonical()) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let net: IpAddr = addr.parse().map_err(|_| {
            format!("`{s}` is not an IP address or CIDR block (e.g. 10.0.0.0/8, 2001:db8::/32)")
        })?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}`: the prefix length must be 0 to {max}"))?,
        };
        Ok(Cidr { net, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.net, self.prefix)
    }
}

/// The blocks allowed to reach the admin side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList(Vec<Cidr>);

impl AllowList {
    /// Whether `ip` is inside one of the blocks.
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }
}

impl FromStr for AllowList {
    type Err = String;

    /// Comma-separated blocks; blank entries are skipped, an empty list is refused (it would
    /// lock everyone out: leave the option unset instead).
    fn from_str(s: &str) -> Result<AllowList, String> {
        let blocks = s
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(Cidr::from_str)
            .collect::<Result<Vec<_>, _>>()?;
        if blocks.is_empty() {
            return Err("the admin allowlist is empty; name at least one CIDR block, or leave it unset to allow every address".into());
        }
        Ok(AllowList(blocks))
    }
}

impl fmt::Display for AllowList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(Cidr::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

/// Middleware: 403 for clients outside the allowlist (when one is set). A request without a
/// known client address is refused too: the list cannot vouch for it.
pub(crate) async fn require_allowed(
    State(s): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(list) = &s.admin.allow else {
        return next.run(req).await;
    };
    match client_ip(&req) {
        Some(ip) if list.allows(ip) => next.run(req).await,
        ip => {
            let shown = ip.map_or_else(|| "an unknown address".to_string(), |i| i.to_string());
            tracing::warn!(client = %shown, "admin request from outside the allowlist refused");
            ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden_address",
                format!(
                    "the admin API does not take requests from {shown}; add its block to \
                     --admin-allow ({ALLOW_ENV}) and restart"
                ),
            )
            .with_details(serde_json::json!({"client": shown}))
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v4_and_v6_blocks_match_their_addresses_only() {
        let l: AllowList = "10.0.0.0/8, 192.168.1.7 ,2001:db8::/32".parse().unwrap();
        assert!(l.allows(ip("10.200.3.4")));
        assert!(l.allows(ip("192.168.1.7")));
        assert!(!l.allows(ip("192.168.1.8")));
        assert!(l.allows(ip("2001:db8:1::5")));
        assert!(!l.allows(ip("2001:db9::1")));
        assert!(
            l.allows(ip("::ffff:10.1.1.1")),
            "IPv4-mapped counts as IPv4"
        );
        assert!(!l.allows(ip("11.0.0.1")));
        let all: AllowList = "0.0.0.0/0,::/0".parse().unwrap();
        assert!(all.allows(ip("8.8.8.8")) && all.allows(ip("::1")));
        assert_eq!(l.to_string(), "10.0.0.0/8,192.168.1.7/32,2001:db8::/32");
    }

    #[test]
    fn bad_entries_are_named() {
        assert!("10.0.0.0/33"
            .parse::<AllowList>()
            .unwrap_err()
            .contains("0 to 32"));
        assert!("intranet"
            .parse::<AllowList>()
            .unwrap_err()
            .contains("`intranet`"));
        assert!(" , ".parse::<AllowList>().unwrap_err().contains("empty"));
    }
}
