//! Switching flows off and on while the engine runs (the admin API's
//! `POST /api/v1/flows/{name}/disable|enable`, and the CLI).
//!
//! A switch is persisted in the store (`flow_state`), so it survives restarts, and applied to the
//! running engine at once through [`DisabledFlows`], a set shared with the engine's options that
//! the engine consults where it picks the flows of an event or a schedule. A disabled flow's new
//! events and schedule ticks start no jobs; jobs already queued still run (disabling is not a
//! purge: replay or discard them from the dead-letter queue as usual). Enabling removes the
//! override, so the flow runs as its file says again.
//!
//! Other processes on the same database pick a switch up through [`follow`].
//!
//! Only a flow enabled in its file can be switched at runtime: a flow with `enabled: false` in
//! its file has no connectors built for it, so turning it on needs the file edited and a restart.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use tokio::sync::watch;

use crate::store::{Store, StoreError};

/// Names of flows switched off at runtime. Cloning shares the set: the admin API and the engine
/// hold the same one.
#[derive(Debug, Clone, Default)]
pub struct DisabledFlows(Arc<RwLock<BTreeSet<String>>>);

impl DisabledFlows {
    /// Whether `flow` is switched off.
    pub fn contains(&self, flow: &str) -> bool {
        self.0.read().contains(flow)
    }

    /// Switches `flow` off (`enabled == false`) or back on, in this process only.
    pub fn set(&self, flow: &str, enabled: bool) {
        let mut set = self.0.write();
        if enabled {
            set.remove(flow);
        } else {
            set.insert(flow.to_string());
        }
    }

    /// Makes the set exactly `off`.
    pub fn replace(&self, off: BTreeSet<String>) {
        *self.0.write() = off;
    }

    /// The names switched off, sorted.
    pub fn names(&self) -> Vec<String> {
        self.0.read().iter().cloned().collect()
    }
}

/// Persists a flow's switch: `false` stores a "disabled" override, `true` removes the override.
/// The caller applies it to a running engine with [`DisabledFlows::set`] (the admin API does
/// both); a process started later picks it up through [`load`].
pub async fn set_enabled(store: &dyn Store, flow: &str, enabled: bool) -> Result<(), StoreError> {
    store
        .set_flow_state(flow, if enabled { None } else { Some(false) })
        .await
}

/// Makes `disabled` what the store says (call at start-up, before the workers and the HTTP
/// server start; [`follow`] calls it periodically). Returns the names now disabled.
pub async fn load(store: &dyn Store, disabled: &DisabledFlows) -> Result<Vec<String>, StoreError> {
    let off: BTreeSet<String> = store
        .flow_states()
        .await?
        .into_iter()
        .filter(|s| !s.enabled)
        .map(|s| s.flow_id)
        .collect();
    disabled.replace(off);
    Ok(disabled.names())
}

/// Re-reads the overrides every `every` until `stop` turns true, so a switch made through
/// another process on the same (PostgreSQL) database reaches this one within that time. A
/// failed read keeps the current set and is logged.
pub async fn follow(
    store: Arc<dyn Store>,
    disabled: DisabledFlows,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(every) => {}
        }
        let before = disabled.names();
        match load(store.as_ref(), &disabled).await {
            Ok(now) if now != before => {
                tracing::info!(disabled = ?now, "flow switches changed in the database; applied")
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not re-read the flow switches; keeping the current ones")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_set() {
        let a = DisabledFlows::default();
        let b = a.clone();
        a.set("welcome", false);
        assert!(b.contains("welcome"));
        b.set("welcome", true);
        assert!(!a.contains("welcome"));
        assert!(a.names().is_empty());
    }
}
