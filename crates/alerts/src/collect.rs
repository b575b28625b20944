//! Reads what each rule needs from the store and from connectors' budgets.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use connectors::{Budget, Connector};
use engine::store::{CallFilter, ConnectionStatus, DlqFilter, Page, Store, StoreError};

use crate::config::Condition;
use crate::eval::Reading;

/// Rows read per page; counts stop after [`MAX_ROWS`] so one check cannot load a whole table.
const PAGE: u32 = 1000;
/// Most rows one rule reads per check (the counts saturate there, far above any threshold).
pub const MAX_ROWS: u64 = 10_000;

/// Where `quota_low` gets budgets: one `(connection id, budget)` per connector that tracks one.
pub trait BudgetSource: Send + Sync {
    /// Current budgets.
    fn budgets(&self) -> Vec<(String, Budget)>;
}

impl BudgetSource for Vec<(String, Arc<dyn Connector>)> {
    fn budgets(&self) -> Vec<(String, Budget)> {
        self.iter()
            .filter_map(|(id, c)| c.budget().map(|b| (id.clone(), b)))
            .collect()
    }
}

impl BudgetSource for BTreeMap<String, Arc<dyn Connector>> {
    fn budgets(&self) -> Vec<(String, Budget)> {
        self.iter()
            .filter_map(|(id, c)| c.budget().map(|b| (id.clone(), b)))
            .collect()
    }
}

impl BudgetSource for Vec<(String, Budget)> {
    fn budgets(&self) -> Vec<(String, Budget)> {
        self.clone()
    }
}

fn since(now: DateTime<Utc>, window: Duration) -> DateTime<Utc> {
    now - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX)
}

/// Reads the rule's input at `now`.
pub async fn read(
    store: &dyn Store,
    budgets: &dyn BudgetSource,
    condition: &Condition,
    now: DateTime<Utc>,
) -> Result<Reading, StoreError> {
    Ok(match condition {
        Condition::DlqGrowth { window, .. } => {
            let from = since(now, window.0);
            let mut count = 0u64;
            let mut offset = 0u32;
            // Newest dead first: stop at the first job that died before the window.
            'pages: loop {
                let page = store
                    .dlq_list(
                        &DlqFilter::default(),
                        Page {
                            limit: PAGE,
                            offset,
                        },
                    )
                    .await?;
                for job in &page {
                    if job.finished_at.unwrap_or(job.updated_at) < from {
                        break 'pages;
                    }
                    count += 1;
                }
                if page.len() < PAGE as usize || count >= MAX_ROWS {
                    break;
                }
                offset += PAGE;
            }
            Reading::DlqNew(count)
        }
        Condition::ErrorRate { window, .. } => {
            let (total, failed) = count_calls(store, None, since(now, window.0), |status| {
                status.is_none_or(|s| s >= 400)
            })
            .await?;
            Reading::Calls { total, failed }
        }
        Condition::Delay { .. } => {
            let stats = store.queue_stats().await?;
            Reading::OldestDue(stats.oldest_due_age_ms.map(Duration::from_millis))
        }
        Condition::ReconnectNeeded { window, .. } => {
            let conns = store.connections().await?;
            let needs_reauth = conns
                .iter()
                .filter(|c| c.status == ConnectionStatus::NeedsReauth)
                .map(|c| c.id.clone())
                .collect();
            let mut unauthorized = BTreeMap::new();
            for c in conns
                .iter()
                .filter(|c| c.status != ConnectionStatus::Paused)
            {
                let (_, n) =
                    count_calls(store, Some(&c.id), since(now, window.0), |s| s == Some(401))
                        .await?;
                if n > 0 {
                    unauthorized.insert(c.id.clone(), n);
                }
            }
            Reading::Reconnect {
                needs_reauth,
                unauthorized,
            }
        }
        Condition::QuotaLow { .. } => Reading::Budgets(budgets.budgets()),
    })
}

/// Counts calls at or after `from` (optionally of one connection): all, and those `failed`.
async fn count_calls(
    store: &dyn Store,
    connection_id: Option<&str>,
    from: DateTime<Utc>,
    failed: impl Fn(Option<u16>) -> bool,
) -> Result<(u64, u64), StoreError> {
    let (mut total, mut bad) = (0u64, 0u64);
    let mut offset = 0u32;
    loop {
        let filter = CallFilter {
            connection_id: connection_id.map(str::to_owned),
            since: Some(from),
            page: Page {
                limit: PAGE,
                offset,
            },
            ..CallFilter::default()
        };
        let page = store.calls(&filter).await?;
        total += page.len() as u64;
        bad += page.iter().filter(|r| failed(r.call.status)).count() as u64;
        if page.len() < PAGE as usize || total >= MAX_ROWS {
            return Ok((total, bad));
        }
        offset += PAGE;
    }
}
