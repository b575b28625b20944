//! Remembering which webhooks were already accepted. GHL delivers at least once (duplicates
//! happen) and a captured signed body could be sent again by anyone within the timestamp window,
//! so a receiver accepts each `webhookId` once.

use std::collections::{HashSet, VecDeque};

use parking_lot::Mutex;

/// Where accepted `webhookId`s are remembered. Implement it over a database to survive restarts
/// or to share it between several receivers; [`MemorySeenWebhooks`] keeps them in memory.
pub trait SeenWebhooks: Send + Sync {
    /// Records `webhook_id` and says whether it is new; `false` means a replay or duplicate.
    /// Must be atomic: two concurrent calls with one id may not both return `true`.
    fn first_time(&self, webhook_id: &str) -> bool;

    /// Forgets an id, for a receiver that accepted an event but could not process it and wants
    /// GHL's redelivery to be accepted. Stores that cannot forget may keep the default no-op.
    fn forget(&self, _webhook_id: &str) {}
}

/// The last `capacity` webhook ids, in memory. Old ids are dropped first; ids older than the
/// verifier's timestamp window are rejected as stale anyway, so the capacity only needs to cover
/// the webhooks of one window (GHL's rate is far below 100,000 per five minutes per app).
#[derive(Debug)]
pub struct MemorySeenWebhooks {
    capacity: usize,
    inner: Mutex<(HashSet<String>, VecDeque<String>)>,
}

impl MemorySeenWebhooks {
    /// Remembers up to `capacity` ids (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new((HashSet::new(), VecDeque::new())),
        }
    }

    /// How many ids are remembered now.
    pub fn len(&self) -> usize {
        self.inner.lock().0.len()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for MemorySeenWebhooks {
    fn default() -> Self {
        Self::new(100_000)
    }
}

impl SeenWebhooks for MemorySeenWebhooks {
    fn first_time(&self, webhook_id: &str) -> bool {
        let mut guard = self.inner.lock();
        let (set, order) = &mut *guard;
        if !set.insert(webhook_id.to_string()) {
            return false;
        }
        order.push_back(webhook_id.to_string());
        while order.len() > self.capacity {
            if let Some(old) = order.pop_front() {
                set.remove(&old);
            }
        }
        true
    }

    fn forget(&self, webhook_id: &str) {
        let mut guard = self.inner.lock();
        let (set, order) = &mut *guard;
        if set.remove(webhook_id) {
            order.retain(|id| id != webhook_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_forgetful() {
        let seen = MemorySeenWebhooks::new(2);
        assert!(seen.first_time("a"));
        assert!(!seen.first_time("a"));
        assert!(seen.first_time("b"));
        assert!(seen.first_time("c"));
        assert_eq!(seen.len(), 2);
        assert!(seen.first_time("a"), "the oldest id was dropped");
        seen.forget("c");
        assert!(seen.first_time("c"));
    }
}
