//! The registry form of a credential, sealed with the project key and bound to the
//! connection's name, and storing or reading it.

use chrono::{DateTime, Utc};
use ghl::oauth::TokenSet;
use ghl::Secret;
use secrets::SecretKey;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::store::{
    ConnectionPatch, ConnectionStatus, NewConnection, SecretBlob, Store, StoreError,
};

/// A credential as the registry keeps it (sealed). `Debug` hides every secret.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StoredCredential {
    /// GHL OAuth tokens from the consent flow.
    Oauth {
        access_token: String,
        refresh_token: Option<String>,
        expires_at: DateTime<Utc>,
        scope: String,
        user_type: String,
        location_id: Option<String>,
        company_id: Option<String>,
        user_id: Option<String>,
    },
    /// A GHL Private Integration Token.
    Token { token: String },
    /// An API key of another app.
    ApiKey { api_key: String },
}

impl std::fmt::Debug for StoredCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Oauth { .. } => "Oauth(***)",
            Self::Token { .. } => "Token(***)",
            Self::ApiKey { .. } => "ApiKey(***)",
        })
    }
}

impl StoredCredential {
    /// The registry form of a token set.
    pub fn from_tokens(t: &TokenSet) -> Self {
        Self::Oauth {
            access_token: t.access_token.expose().to_string(),
            refresh_token: t.refresh_token.as_ref().map(|r| r.expose().to_string()),
            expires_at: t.expires_at,
            scope: t.scope.clone(),
            user_type: t.user_type.clone(),
            location_id: t.location_id.clone(),
            company_id: t.company_id.clone(),
            user_id: t.user_id.clone(),
        }
    }

    /// The token set of an OAuth credential.
    pub fn tokens(&self) -> Option<TokenSet> {
        match self {
            Self::Oauth {
                access_token,
                refresh_token,
                expires_at,
                scope,
                user_type,
                location_id,
                company_id,
                user_id,
            } => Some(TokenSet {
                access_token: Secret::new(access_token.clone()),
                refresh_token: refresh_token.clone().map(Secret::new),
                expires_at: *expires_at,
                scope: scope.clone(),
                user_type: user_type.clone(),
                location_id: location_id.clone(),
                company_id: company_id.clone(),
                user_id: user_id.clone(),
            }),
            _ => None,
        }
    }

    /// What the registry shows in the clear: kind, location, scopes, expiry — never a secret.
    fn public_settings(&self) -> Value {
        match self {
            Self::Oauth {
                expires_at,
                scope,
                user_type,
                location_id,
                company_id,
                ..
            } => json!({"auth": "oauth", "user_type": user_type, "location_id": location_id,
                        "company_id": company_id, "scope": scope, "expires_at": expires_at}),
            Self::Token { .. } => json!({"auth": "token"}),
            Self::ApiKey { .. } => json!({"auth": "api_key"}),
        }
    }
}

/// The associated data binding a registry credential to its connection.
pub fn registry_aad(connection: &str) -> String {
    format!("ghl-bridge/v1/registry/{connection}")
}

/// Seals a credential for the registry entry of `connection`.
pub fn seal_credential(key: &SecretKey, connection: &str, c: &StoredCredential) -> SecretBlob {
    let plain = serde_json::to_string(c).unwrap_or_default();
    SecretBlob(secrets::seal(key, &plain, &registry_aad(connection)).into_bytes())
}

/// Opens the sealed credential of `connection`. The message never holds a secret.
pub fn open_credential(
    key: &SecretKey,
    connection: &str,
    blob: &SecretBlob,
) -> Result<StoredCredential, String> {
    let text = std::str::from_utf8(&blob.0).map_err(|_| "the stored credential is not text")?;
    let plain = secrets::open(key, text, &registry_aad(connection)).map_err(|e| {
        format!(
            "{e}; use the secret key the credential was stored with (env GHL_BRIDGE_SECRET_KEY, \
             else .ghl-bridge/secret.key next to the project), or store it again with \
             `ghl-bridge connect`"
        )
    })?;
    serde_json::from_str(plain.expose()).map_err(|_| {
        "the stored credential is not in a known format; run `ghl-bridge connect` again".into()
    })
}

/// Seals `c` and stores it as the registry entry of `connection` (created or replaced).
pub async fn save_credential(
    store: &dyn Store,
    key: &SecretKey,
    connection: &str,
    app: &str,
    c: &StoredCredential,
) -> Result<(), StoreError> {
    let blob = seal_credential(key, connection, c);
    let patch = ConnectionPatch {
        settings: Some(c.public_settings()),
        secret: Some(Some(blob.clone())),
        status: Some(ConnectionStatus::Active),
        ..Default::default()
    };
    match store.update_connection(connection, patch.clone()).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound { .. }) => {
            let new = NewConnection {
                id: connection.to_string(),
                app: app.to_string(),
                name: connection.to_string(),
                settings: c.public_settings(),
                secret: Some(blob),
                status: ConnectionStatus::Active,
            };
            match store.create_connection(new).await {
                Ok(_) => Ok(()),
                // Created by someone else meanwhile: replace it.
                Err(StoreError::AlreadyExists { .. }) => {
                    store.update_connection(connection, patch).await.map(|_| ())
                }
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// The stored credential of `connection`, if any.
pub async fn load_credential(
    store: &dyn Store,
    key: &SecretKey,
    connection: &str,
) -> Result<Option<StoredCredential>, String> {
    let Some(c) = store
        .connection(connection)
        .await
        .map_err(|e| format!("reading the connection registry: {e}"))?
    else {
        return Ok(None);
    };
    match &c.secret {
        Some(blob) => open_credential(key, connection, blob).map(Some),
        None => Ok(None),
    }
}
