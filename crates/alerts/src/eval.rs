//! Pure evaluation: a rule's reading of the store becomes a verdict, and a per-rule tracker
//! turns verdicts over time into notifications (fire once, repeat only after the cooldown while
//! still firing, and say "resolved" when it clears). No I/O here, so it is tested directly.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use connectors::Budget;
use serde::Serialize;

use crate::config::{BudgetKind, Condition, Rule};

/// What the collector read from the store for one rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// Jobs dead-lettered within the rule's window.
    DlqNew(u64),
    /// API calls in the audit trail within the window.
    Calls {
        /// All calls.
        total: u64,
        /// Calls with no response or a status of 400 or more.
        failed: u64,
    },
    /// How long the longest-waiting due job has waited (`None`: nothing due).
    OldestDue(Option<Duration>),
    /// Connections needing a reconnect.
    Reconnect {
        /// Connections whose status is `needs_reauth`.
        needs_reauth: Vec<String>,
        /// 401 answers per connection within the window.
        unauthorized: BTreeMap<String, u64>,
    },
    /// Budgets by connection id.
    Budgets(Vec<(String, Budget)>),
}

/// Whether a rule fires now, and a one-line human summary either way.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The condition holds.
    pub firing: bool,
    /// What was measured, e.g. `7 jobs dead-lettered in the last 15m (threshold 5)`.
    pub summary: String,
}

/// Judges a reading against a condition. A reading of the wrong kind never fires.
pub fn judge(condition: &Condition, reading: &Reading) -> Verdict {
    let (firing, summary) = match (condition, reading) {
        (Condition::DlqGrowth { min_new, window }, Reading::DlqNew(n)) => (
            n >= min_new,
            format!(
                "{n} jobs dead-lettered in the last {} (threshold {min_new})",
                human(window.0)
            ),
        ),
        (
            Condition::ErrorRate {
                percent,
                window,
                min_calls,
            },
            Reading::Calls { total, failed },
        ) => {
            let rate = if *total == 0 {
                0.0
            } else {
                (*failed as f64) * 100.0 / (*total as f64)
            };
            (
                *total >= *min_calls && rate >= *percent,
                format!(
                    "{failed} of {total} API calls failed in the last {} ({rate:.1}%, threshold {percent}%, minimum {min_calls} calls)",
                    human(window.0)
                ),
            )
        }
        (Condition::Delay { max_age }, Reading::OldestDue(age)) => match age {
            Some(a) => (
                *a >= max_age.0,
                format!(
                    "oldest due job has waited {} (threshold {})",
                    human(*a),
                    human(max_age.0)
                ),
            ),
            None => (false, "no job is waiting".into()),
        },
        (
            Condition::ReconnectNeeded { min_401, window },
            Reading::Reconnect {
                needs_reauth,
                unauthorized,
            },
        ) => {
            let mut hit: Vec<String> = needs_reauth
                .iter()
                .map(|c| format!("{c} (needs_reauth)"))
                .collect();
            for (c, n) in unauthorized {
                if n >= min_401 && !needs_reauth.contains(c) {
                    hit.push(format!("{c} ({n}× 401 in the last {})", human(window.0)));
                }
            }
            if hit.is_empty() {
                (false, "every connection is authorised".into())
            } else {
                (true, format!("reconnect needed: {}", hit.join(", ")))
            }
        }
        (Condition::QuotaLow { max_left, budget }, Reading::Budgets(budgets)) => {
            let low: Vec<String> = budgets
                .iter()
                .filter_map(|(id, b)| {
                    let left = match budget {
                        BudgetKind::Daily => b.daily_left(),
                        BudgetKind::Burst => b.burst_left(),
                    };
                    (left <= *max_left).then(|| format!("{id} at {:.1}% left", left * 100.0))
                })
                .collect();
            let which = match budget {
                BudgetKind::Daily => "daily",
                BudgetKind::Burst => "burst",
            };
            if low.is_empty() {
                (
                    false,
                    format!("every {which} budget above {:.1}%", max_left * 100.0),
                )
            } else {
                (true, format!("{which} budget low: {}", low.join(", ")))
            }
        }
        _ => (false, "no reading".into()),
    };
    Verdict { firing, summary }
}

/// A duration as `90s`, `15m`, `2h5m`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        _ if s % 3600 / 60 == 0 => format!("{}h", s / 3600),
        _ => format!("{}h{}m", s / 3600, s % 3600 / 60),
    }
}

/// Firing or cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// The condition holds.
    Firing,
    /// It held before and no longer does.
    Resolved,
}

/// One notification to send.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertEvent {
    /// The rule's name.
    pub rule: String,
    /// The condition type, e.g. `dlq_growth`.
    pub kind: &'static str,
    /// Firing or resolved.
    pub status: AlertStatus,
    /// What was measured.
    pub summary: String,
    /// When it was evaluated.
    pub at: DateTime<Utc>,
}

/// The condition type as written in the file.
pub fn kind_of(c: &Condition) -> &'static str {
    match c {
        Condition::DlqGrowth { .. } => "dlq_growth",
        Condition::ErrorRate { .. } => "error_rate",
        Condition::Delay { .. } => "delay",
        Condition::ReconnectNeeded { .. } => "reconnect_needed",
        Condition::QuotaLow { .. } => "quota_low",
    }
}

#[derive(Debug, Clone, Copy)]
struct RuleState {
    last_sent: DateTime<Utc>,
}

/// Remembers which rules are firing so each state change is told once.
#[derive(Debug, Default)]
pub struct Tracker {
    firing: HashMap<String, RuleState>,
}

impl Tracker {
    /// Feeds one verdict; returns the notification to send, if any.
    pub fn step(
        &mut self,
        rule: &Rule,
        verdict: Verdict,
        now: DateTime<Utc>,
    ) -> Option<AlertEvent> {
        let event = |status| AlertEvent {
            rule: rule.name.clone(),
            kind: kind_of(&rule.condition),
            status,
            summary: verdict.summary.clone(),
            at: now,
        };
        match (verdict.firing, self.firing.get(&rule.name).copied()) {
            (true, None) => {
                self.firing
                    .insert(rule.name.clone(), RuleState { last_sent: now });
                Some(event(AlertStatus::Firing))
            }
            (true, Some(state)) => {
                let since = (now - state.last_sent).to_std().unwrap_or_default();
                if since >= rule.cooldown {
                    self.firing
                        .insert(rule.name.clone(), RuleState { last_sent: now });
                    Some(event(AlertStatus::Firing))
                } else {
                    None
                }
            }
            (false, Some(_)) => {
                self.firing.remove(&rule.name);
                Some(event(AlertStatus::Resolved))
            }
            (false, None) => None,
        }
    }

    /// Whether a rule is currently firing.
    pub fn is_firing(&self, rule: &str) -> bool {
        self.firing.contains_key(rule)
    }
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
