//! The connection registry's values. The secret blob is never serialized or printed.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Health of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// In use.
    Active,
    /// Switched off by a person.
    Paused,
    /// Credentials were rejected; someone must reconnect it.
    NeedsReauth,
    /// Failing for another reason.
    Error,
}

impl ConnectionStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::NeedsReauth => "needs_reauth",
            Self::Error => "error",
        }
    }

    /// Parses the stored text.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "active" => Self::Active,
            "paused" => Self::Paused,
            "needs_reauth" => Self::NeedsReauth,
            "error" => Self::Error,
            _ => return None,
        })
    }
}

/// Encrypted credentials of a connection (the caller encrypts). Never serialized; Debug prints
/// only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBlob(pub Vec<u8>);

impl fmt::Debug for SecretBlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBlob(*** {} bytes)", self.0.len())
    }
}

/// A connection to register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewConnection {
    /// Stable, user-chosen id (referenced by flows, events, links).
    pub id: String,
    /// App type, e.g. `ghl`, `insightly`.
    pub app: String,
    /// Display name.
    pub name: String,
    /// Non-secret settings.
    pub settings: Value,
    /// Encrypted credentials.
    #[serde(skip)]
    pub secret: Option<SecretBlob>,
    /// Initial status.
    pub status: ConnectionStatus,
}

/// A registered connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    /// Stable id.
    pub id: String,
    /// App type.
    pub app: String,
    /// Display name.
    pub name: String,
    /// Non-secret settings.
    pub settings: Value,
    /// Encrypted credentials (never serialized).
    #[serde(skip)]
    pub secret: Option<SecretBlob>,
    /// Health.
    pub status: ConnectionStatus,
    /// Registered at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

/// A partial update of a connection; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionPatch {
    /// New display name.
    pub name: Option<String>,
    /// New settings.
    pub settings: Option<Value>,
    /// New secret (`Some(None)` removes it).
    pub secret: Option<Option<SecretBlob>>,
    /// New status.
    pub status: Option<ConnectionStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_redacted() {
        let c = NewConnection {
            id: "c".into(),
            app: "ghl".into(),
            name: "n".into(),
            settings: Value::Null,
            secret: Some(SecretBlob(b"hunter2".to_vec())),
            status: ConnectionStatus::Active,
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!serde_json::to_string(&c)
            .unwrap_or_default()
            .contains("secret"));
    }
}
