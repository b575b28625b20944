//! Audit records: API calls and changes the engine made, with their query filters.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{IdentityId, JobId, Page};

/// What a change did to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    /// Record created.
    Create,
    /// Record updated.
    Update,
    /// Record deleted (or archived).
    Delete,
}

impl ChangeOp {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }

    /// Parses the stored text.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "create" => Self::Create,
            "update" => Self::Update,
            "delete" => Self::Delete,
            _ => return None,
        })
    }
}

/// One changed field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDiff {
    /// Field path, e.g. `email` or `custom.budget`.
    pub field: String,
    /// Value before (absent for creates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// Value after (absent for deletes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// An audit record of a write the engine made to an app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeAudit {
    /// When.
    pub at: DateTime<Utc>,
    /// The flow that made it.
    pub flow_id: String,
    /// The identity of the record, when known.
    pub identity_id: Option<IdentityId>,
    /// The connection written to.
    pub connection_id: String,
    /// Entity kind.
    pub kind: String,
    /// The record's id in that app.
    pub external_id: String,
    /// What was done.
    pub op: ChangeOp,
    /// Field by field.
    pub diff: Vec<FieldDiff>,
    /// The job that made it.
    pub job_id: Option<JobId>,
}

/// A stored change record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeRecord {
    /// Row id.
    pub id: i64,
    /// The record.
    #[serde(flatten)]
    pub change: ChangeAudit,
}

/// An audit record of one API call. `path` must not carry a query string (it may hold tokens).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallAudit {
    /// When the call started.
    pub at: DateTime<Utc>,
    /// The connection used.
    pub connection_id: String,
    /// The app, e.g. `ghl`.
    pub app: String,
    /// HTTP method.
    pub method: String,
    /// Path without query string.
    pub path: String,
    /// HTTP status; `None` when no response arrived.
    pub status: Option<u16>,
    /// Round-trip time.
    pub latency_ms: u64,
    /// The job it was made for.
    pub job_id: Option<JobId>,
}

/// A stored call record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Row id.
    pub id: i64,
    /// The record.
    #[serde(flatten)]
    pub call: CallAudit,
}

/// Filter for call records; newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallFilter {
    /// Only this connection.
    pub connection_id: Option<String>,
    /// Only this app.
    pub app: Option<String>,
    /// Only calls made for this job.
    pub job_id: Option<JobId>,
    /// At or after.
    pub since: Option<DateTime<Utc>>,
    /// Before.
    pub until: Option<DateTime<Utc>>,
    /// Paging.
    pub page: Page,
}

/// Filter for change records; newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeFilter {
    /// Only this connection.
    pub connection_id: Option<String>,
    /// Only this flow.
    pub flow_id: Option<String>,
    /// Only this identity.
    pub identity_id: Option<IdentityId>,
    /// Only changes made by this job.
    pub job_id: Option<JobId>,
    /// At or after.
    pub since: Option<DateTime<Utc>>,
    /// Before.
    pub until: Option<DateTime<Utc>>,
    /// Paging.
    pub page: Page,
}
