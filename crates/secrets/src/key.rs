//! The 32-byte key: where it lives, how it is created, and the admin token beside it.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use rand::RngCore;

use crate::SecretsError;

/// The env var holding the key (base64 of 32 bytes); it wins over the key file.
pub const KEY_ENV: &str = "GHL_BRIDGE_SECRET_KEY";
/// The folder under the project dir that holds the key and the admin token.
pub const STATE_DIR: &str = ".ghl-bridge";
/// The key file's name inside [`STATE_DIR`].
pub const KEY_FILE: &str = "secret.key";
/// The admin token file's name inside [`STATE_DIR`].
pub const ADMIN_TOKEN_FILE: &str = "admin-token";

/// `<project dir>/.ghl-bridge/secret.key`.
pub fn key_path(project_dir: &Path) -> PathBuf {
    project_dir.join(STATE_DIR).join(KEY_FILE)
}

/// `<project dir>/.ghl-bridge/admin-token`.
pub fn admin_token_path(project_dir: &Path) -> PathBuf {
    project_dir.join(STATE_DIR).join(ADMIN_TOKEN_FILE)
}

/// Where a loaded key came from, to tell a user which one is in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The [`KEY_ENV`] environment variable.
    Env,
    /// A key file.
    File(PathBuf),
}

/// An AES-256 key. `Debug` prints `***`; the bytes leave only through [`SecretKey::to_base64`].
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(pub(crate) [u8; 32]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl SecretKey {
    /// A fresh random key from the operating system's CSPRNG (via `rand`'s thread RNG).
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        Self(k)
    }

    /// Parses base64 (standard alphabet, surrounding whitespace ignored) of exactly 32 bytes;
    /// `source_name` names where it came from in the error.
    pub fn from_base64(text: &str, source_name: &str) -> Result<Self, SecretsError> {
        let bad = || SecretsError::BadKey {
            source_name: source_name.to_string(),
        };
        let bytes = STANDARD.decode(text.trim()).map_err(|_| bad())?;
        let k: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
        Ok(Self(k))
    }

    /// The key as base64, for writing the key file.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// The key in use for a project: [`KEY_ENV`] if set and non-empty, else the key file
    /// `<project dir>/.ghl-bridge/secret.key`.
    pub fn load(project_dir: &Path) -> Result<(Self, KeySource), SecretsError> {
        Self::load_with(project_dir, std::env::var(KEY_ENV).ok())
    }

    /// [`SecretKey::load`] with the env var's value given (for tests and embedding).
    pub fn load_with(
        project_dir: &Path,
        env_value: Option<String>,
    ) -> Result<(Self, KeySource), SecretsError> {
        if let Some(v) = env_value.filter(|v| !v.trim().is_empty()) {
            return Ok((Self::from_base64(&v, KEY_ENV)?, KeySource::Env));
        }
        let path = key_path(project_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SecretsError::NoKey { path })
            }
            Err(e) => {
                return Err(SecretsError::Io {
                    path,
                    message: e.to_string(),
                })
            }
        };
        let key = Self::from_base64(&text, &path.display().to_string())?;
        Ok((key, KeySource::File(path)))
    }
}

/// A random 32-byte admin token, base64url without padding.
pub fn generate_admin_token() -> String {
    let mut t = [0u8; 32];
    rand::rng().fill_bytes(&mut t);
    URL_SAFE_NO_PAD.encode(t)
}

/// Writes `contents` to a new file readable only by its owner (0600 on Unix). Fails, without
/// touching it, if the file already exists — keys and tokens are never overwritten.
pub fn write_new_private(path: &Path, contents: &str) -> Result<(), SecretsError> {
    let io = |e: std::io::Error| SecretsError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    if let Some(parent) = path.parent().filter(|p| !p.exists()) {
        if let Some(grand) = parent.parent().filter(|g| !g.as_os_str().is_empty()) {
            std::fs::create_dir_all(grand).map_err(io)?;
        }
        // The folder holding keys and tokens is the owner's alone (0700 on Unix).
        let mut dir = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            dir.mode(0o700);
        }
        match dir.create(parent) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(io(e)),
            _ => {}
        }
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(contents.as_bytes()).map_err(io)?;
    f.write_all(b"\n").map_err(io)?;
    f.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_round_trip_is_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            SecretKey::load_with(dir.path(), None),
            Err(SecretsError::NoKey { .. })
        ));
        let k = SecretKey::generate();
        write_new_private(&key_path(dir.path()), &k.to_base64()).unwrap();
        let (loaded, src) = SecretKey::load_with(dir.path(), None).unwrap();
        assert_eq!(loaded, k);
        assert_eq!(src, KeySource::File(key_path(dir.path())));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(key_path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            let dir = std::fs::metadata(dir.path().join(STATE_DIR)).unwrap();
            assert_eq!(dir.permissions().mode() & 0o777, 0o700);
        }
        let other = SecretKey::generate();
        assert!(write_new_private(&key_path(dir.path()), &other.to_base64()).is_err());
        assert_eq!(SecretKey::load_with(dir.path(), None).unwrap().0, k);
    }

    #[test]
    fn env_key_wins_and_bad_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let k = SecretKey::generate();
        let (loaded, src) = SecretKey::load_with(dir.path(), Some(k.to_base64())).unwrap();
        assert_eq!((loaded, src), (k, KeySource::Env));
        let short = STANDARD.encode([1u8; 16]);
        let err = SecretKey::load_with(dir.path(), Some(short)).unwrap_err();
        assert!(err.to_string().contains(KEY_ENV), "{err}");
    }

    #[test]
    fn admin_tokens_are_random_base64url_of_32_bytes() {
        let a = generate_admin_token();
        assert_ne!(a, generate_admin_token());
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
    }

    #[test]
    fn debug_of_a_key_is_scrubbed() {
        let k = SecretKey::generate();
        assert_eq!(format!("{k:?}"), "***");
        assert!(!format!("{:?}", Some(&k)).contains(&k.to_base64()));
    }
}
