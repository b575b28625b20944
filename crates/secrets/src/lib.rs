//! Encryption of secrets at rest.
//!
//! A project file may hold `token: sealed:v1:…` instead of a plain token: the value is sealed
//! with AES-256-GCM under a 32-byte key that lives outside the project file (env
//! `GHL_BRIDGE_SECRET_KEY`, or `<project dir>/.ghl-bridge/secret.key`). Every sealed value is
//! bound to its purpose (connection + setting) through the cipher's associated data, so a sealed
//! token copied to another connection or setting does not open. Neither the key nor a plaintext
//! ever prints: their `Debug` is `***`, and no error carries a secret.

mod key;
mod seal;

pub use key::{
    admin_token_path, generate_admin_token, key_path, write_new_private, KeySource, SecretKey,
    ADMIN_TOKEN_FILE, KEY_ENV, KEY_FILE, STATE_DIR,
};
pub use seal::{open, open_setting, seal, seal_setting, setting_aad, Plaintext, SEALED_PREFIX};

use std::path::PathBuf;

/// Why a key could not be loaded or a value could not be sealed or opened. Never holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// No key in the environment and no key file.
    #[error("no secret key: set {KEY_ENV} or run `ghl-bridge init` to create {}", path.display())]
    NoKey {
        /// The key file that was looked for.
        path: PathBuf,
    },
    /// The key is not base64 of exactly 32 bytes.
    #[error("the secret key from {source_name} is not base64 of 32 bytes")]
    BadKey {
        /// Where the key came from (the env var's name or the file's path).
        source_name: String,
    },
    /// A key or token file could not be read or written.
    #[error("{}: {message}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The sealed value is not `v1:<base64>` with a nonce and a tag.
    #[error("not a sealed value: {0}")]
    Format(&'static str),
    /// The sealed value was made by a newer format version.
    #[error("sealed with unsupported format version `{0}` (this build reads v1)")]
    UnsupportedVersion(String),
    /// The key is wrong, the value was altered, or it was sealed for another purpose.
    #[error("cannot open the sealed value: wrong secret key, altered value, or sealed for another connection or setting")]
    Open,
}
