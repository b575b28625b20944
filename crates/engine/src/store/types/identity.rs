//! Identity, link, snapshot and cursor values, and the job-completion [`Commit`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ChangeAudit, IdentityId};
use crate::store::error::StoreError;

/// The outcome of `resolve_identity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// The identity the external record belongs to.
    pub identity_id: IdentityId,
    /// True when this call created the identity.
    pub created: bool,
}

/// One external record of an identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The identity.
    pub identity_id: IdentityId,
    /// The app connection holding the record.
    pub connection_id: String,
    /// Entity kind.
    pub kind: String,
    /// The record's id in that app.
    pub external_id: String,
}

/// A match key already owned by another identity (returned by `add_keys`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyConflict {
    /// The key, e.g. `email:ada@example.com`.
    pub key: String,
    /// Its owner.
    pub identity_id: IdentityId,
}

/// Last synced state of an identity in one connection; the worker diffs against it to skip
/// no-op writes and to detect conflicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The identity.
    pub identity_id: IdentityId,
    /// The connection.
    pub connection_id: String,
    /// The connection it was synced with (`""` for snapshots outside a sync, e.g. action markers).
    pub peer: String,
    /// Synced fields.
    pub fields: Value,
    /// Hash of `fields` (caller-defined), for cheap equality.
    pub hash: String,
    /// When it was written.
    pub updated_at: DateTime<Utc>,
}

/// A snapshot write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotPut {
    /// The identity (must exist).
    pub identity_id: IdentityId,
    /// The connection.
    pub connection_id: String,
    /// The connection it is synced with: a sync keeps one snapshot per pair, so an app synced
    /// with several others (GHL → Your App and GHL → Insightly) keeps a state per partner and
    /// one sync's write never makes another sync see "unchanged". `""` outside a sync.
    pub peer: String,
    /// Synced fields.
    pub fields: Value,
    /// Hash of `fields`.
    pub hash: String,
}

/// A cursor write (where the next poll of a stream starts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorSet {
    /// The connection.
    pub connection_id: String,
    /// The stream, e.g. `contacts`.
    pub stream: String,
    /// Opaque position.
    pub value: String,
}

/// Address of one link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRef {
    /// The connection.
    pub connection_id: String,
    /// Entity kind.
    pub kind: String,
    /// The record's id in that app.
    pub external_id: String,
}

/// Everything a finished job writes, applied in the same transaction that marks it done, so a
/// crash can never leave a write linked but unaudited, or audited but still queued.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Commit {
    /// Links to create or re-point (by `(connection_id, kind, external_id)`).
    pub links: Vec<Link>,
    /// Links to remove (records deleted in their app).
    pub unlinks: Vec<LinkRef>,
    /// Snapshots to write.
    pub snapshots: Vec<SnapshotPut>,
    /// Change records to append.
    pub changes: Vec<ChangeAudit>,
    /// Cursors to advance.
    pub cursors: Vec<CursorSet>,
    /// A lease the completing worker holds and gives up with the completion (a sync job's
    /// identity lock): one transaction instead of two, and the lock is free the moment the job's
    /// writes are visible. Left held if the completion fails; it then expires with its lease.
    pub release_lease: Option<String>,
}

/// Checks and de-duplicates identity match keys, keeping the caller's order (its priority).
pub(crate) fn clean_keys(keys: &[String]) -> Result<Vec<String>, StoreError> {
    let mut out: Vec<String> = Vec::with_capacity(keys.len());
    for k in keys {
        if k.trim().is_empty() {
            return Err(StoreError::invalid(
                "identity key",
                "must not be empty (use normalised keys like `email:ada@example.com`)",
            ));
        }
        if !out.contains(k) {
            out.push(k.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_and_deduplicated() {
        let k = clean_keys(&["email:a".into(), "phone:1".into(), "email:a".into()]);
        assert_eq!(
            k.ok(),
            Some(vec!["email:a".to_string(), "phone:1".to_string()])
        );
        assert!(clean_keys(&[" ".into()]).is_err());
    }
}
