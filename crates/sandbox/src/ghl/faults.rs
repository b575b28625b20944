//! Fault injection: latency, 5xx, timeouts, garbled JSON and "422 returned but the contact was
//! created", configurable per run and per route, drawn from a seeded generator.

use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One rule; every rule whose `route` matches a call applies to it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
// Unknown keys (e.g. snake_case spellings) are rejected rather than silently ignored.
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct FaultRule {
    /// `*` (every route), an operationId (`create-contact`), or `METHOD /path/template`
    /// (`POST /contacts/`).
    pub route: String,
    /// Added to every matching call.
    pub latency_ms: u64,
    /// Extra random latency, uniform in 0..=jitter.
    pub latency_jitter_ms: u64,
    /// Probability of answering 500/502/503 without doing anything.
    pub error_rate: f64,
    /// Probability of not answering for `timeout_ms` (then 504), without doing anything.
    pub timeout_rate: f64,
    pub timeout_ms: u64,
    /// Probability of doing the work and answering 200 with a truncated, invalid JSON body.
    pub garbled_rate: f64,
    /// Probability of doing the work (e.g. creating the contact) and answering 422 anyway.
    pub accept_then_422_rate: f64,
}

impl Default for FaultRule {
    fn default() -> Self {
        Self {
            route: "*".into(),
            latency_ms: 0,
            latency_jitter_ms: 0,
            error_rate: 0.0,
            timeout_rate: 0.0,
            timeout_ms: 30_000,
            garbled_rate: 0.0,
            accept_then_422_rate: 0.0,
        }
    }
}

impl FaultRule {
    fn matches(&self, operation_id: Option<&str>, method: &str, path_template: &str) -> bool {
        self.route == "*"
            || Some(self.route.as_str()) == operation_id
            || self
                .route
                .eq_ignore_ascii_case(&format!("{method} {path_template}"))
    }
}

/// What to do to one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    None,
    ServerError(u16),
    Timeout(Duration),
    Garble,
    AcceptThen422,
}

impl FaultAction {
    /// Short name for the request log.
    pub fn label(&self) -> Option<String> {
        match self {
            Self::None => None,
            Self::ServerError(s) => Some(format!("error {s}")),
            Self::Timeout(_) => Some("timeout".into()),
            Self::Garble => Some("garbled".into()),
            Self::AcceptThen422 => Some("accept_then_422".into()),
        }
    }
}

/// The plan for one call: a delay, then at most one fault.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    pub delay: Duration,
    pub action: FaultAction,
}

/// The rules in force and the generator that draws from them.
#[derive(Debug)]
pub struct Faults {
    rules: RwLock<Vec<FaultRule>>,
    rng: Mutex<ChaCha8Rng>,
}

impl Faults {
    /// No rules; `seed` fixes the draws.
    pub fn new(seed: u64) -> Self {
        Self {
            rules: RwLock::new(Vec::new()),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed ^ 0xfa17)),
        }
    }

    /// The rules in force.
    pub fn rules(&self) -> Vec<FaultRule> {
        self.rules.read().clone()
    }

    /// Replaces the rules.
    pub fn set_rules(&self, rules: Vec<FaultRule>) {
        *self.rules.write() = rules;
    }

    /// Restarts the draws from `seed`, as a fresh sandbox with that seed would make them.
    pub fn reseed(&self, seed: u64) {
        *self.rng.lock() = ChaCha8Rng::seed_from_u64(seed ^ 0xfa17);
    }

    /// Draws the plan for one call.
    pub fn plan(&self, operation_id: Option<&str>, method: &str, path_template: &str) -> FaultPlan {
        let rules = self.rules.read();
        let mut plan = FaultPlan {
            delay: Duration::ZERO,
            action: FaultAction::None,
        };
        if rules.is_empty() {
            return plan;
        }
        let mut rng = self.rng.lock();
        for r in rules
            .iter()
            .filter(|r| r.matches(operation_id, method, path_template))
        {
            let jitter = if r.latency_jitter_ms > 0 {
                rng.random_range(0..=r.latency_jitter_ms)
            } else {
                0
            };
            plan.delay += Duration::from_millis(r.latency_ms + jitter);
            if plan.action != FaultAction::None {
                continue;
            }
            let x: f64 = rng.random();
            let mut edge = r.error_rate;
            if x < edge {
                plan.action = FaultAction::ServerError([500, 502, 503][rng.random_range(0..3)]);
                continue;
            }
            edge += r.timeout_rate;
            if x < edge {
                plan.action = FaultAction::Timeout(Duration::from_millis(r.timeout_ms));
                continue;
            }
            edge += r.garbled_rate;
            if x < edge {
                plan.action = FaultAction::Garble;
                continue;
            }
            edge += r.accept_then_422_rate;
            if x < edge && method != "GET" {
                plan.action = FaultAction::AcceptThen422;
            }
        }
        plan
    }
}

/// The `garble` fault, shared by every emulator: keeps the status, cuts the body in half and
/// appends junk, as a broken proxy would.
pub async fn garble(resp: axum::response::Response) -> axum::response::Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut cut = bytes[..bytes.len() / 2].to_vec();
    cut.extend_from_slice(b"\x00<html>upstream");
    parts.headers.remove("content-length");
    axum::response::Response::from_parts(parts, axum::body::Body::from(cut))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_by_operation_or_route_and_rates_hold() {
        let f = Faults::new(7);
        f.set_rules(vec![FaultRule {
            route: "create-contact".into(),
            error_rate: 0.5,
            ..Default::default()
        }]);
        let n = 2000;
        let errors = (0..n)
            .filter(|_| {
                matches!(
                    f.plan(Some("create-contact"), "POST", "/contacts/").action,
                    FaultAction::ServerError(_)
                )
            })
            .count();
        assert!((800..1200).contains(&errors), "{errors} of {n}");
        assert_eq!(
            f.plan(Some("get-contact"), "GET", "/contacts/{contactId}")
                .action,
            FaultAction::None
        );
        f.set_rules(vec![FaultRule {
            route: "GET /contacts/{contactId}".into(),
            latency_ms: 5,
            ..Default::default()
        }]);
        assert_eq!(
            f.plan(Some("get-contact"), "GET", "/contacts/{contactId}")
                .delay,
            Duration::from_millis(5)
        );
    }
}
