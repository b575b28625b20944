//! Signing keys for emulated GHL webhooks.
//!
//! GHL signs every webhook body twice: `x-ghl-signature` (Ed25519, the current scheme) and
//! `x-wh-signature` (RSA PKCS#1 v1.5 with SHA-256, the legacy scheme). The real private keys are
//! GHL's, so the sandbox makes its own pairs and publishes the public halves; a receiver under test
//! is configured with those instead of GHL's published key.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

/// File name of the Ed25519 private key inside a key folder (PKCS#8 DER).
pub const ED25519_FILE: &str = "ed25519.pk8";
/// File name of the RSA private key inside a key folder (PKCS#8 DER).
pub const RSA_FILE: &str = "rsa.pk8";

/// Why keys could not be made, read or written. Each message names the file and the problem so an
/// operator can fix or delete the offending file.
#[derive(Debug, thiserror::Error)]
pub enum WebhookKeysError {
    /// The key folder or a key file could not be read or written.
    #[error("webhook key file {path}: {action} failed: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A key file exists but does not hold a usable PKCS#8 key of the expected kind.
    #[error("webhook key file {path} is not a valid {kind} PKCS#8 DER private key ({reason}); delete it to have a new key made")]
    Corrupt {
        path: PathBuf,
        kind: &'static str,
        reason: String,
    },
    /// The crypto library failed to generate, encode or use a key.
    #[error("webhook {kind} key: {what} failed")]
    Crypto {
        kind: &'static str,
        what: &'static str,
    },
}

/// The sandbox's two webhook signing key pairs, with their public PEMs computed once.
pub struct WebhookKeys {
    ed25519: Ed25519KeyPair,
    rsa: RsaKeyPair,
    ed25519_pem: String,
    rsa_pem: String,
}

impl fmt::Debug for WebhookKeys {
    // Only public material: the private keys must never end up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookKeys")
            .field("ed25519_public_pem", &self.ed25519_pem)
            .field("rsa_public_pem", &self.rsa_pem)
            .finish()
    }
}

impl WebhookKeys {
    /// Fresh keys (made at sandbox start), so no secret ever has to be checked in.
    pub fn generate() -> Result<Self, WebhookKeysError> {
        let ed25519 = Ed25519KeyPair::generate().map_err(|_| crypto("Ed25519", "generation"))?;
        let rsa =
            RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| crypto("RSA", "generation"))?;
        Self::from_pairs(ed25519, rsa)
    }

    /// Load keys from a folder holding `ed25519.pk8` and `rsa.pk8` (PKCS#8 DER); make and save
    /// them there if absent. Persisting keys lets a receiver keep its configured public key
    /// across sandbox restarts.
    pub fn load_or_create(dir: &Path) -> Result<Self, WebhookKeysError> {
        fs::create_dir_all(dir).map_err(|source| WebhookKeysError::Io {
            path: dir.to_path_buf(),
            action: "creating the key folder",
            source,
        })?;

        let ed_path = dir.join(ED25519_FILE);
        let ed25519 = match read_if_exists(&ed_path)? {
            Some(der) => {
                Ed25519KeyPair::from_pkcs8(&der).map_err(|e| WebhookKeysError::Corrupt {
                    path: ed_path.clone(),
                    kind: "Ed25519",
                    reason: e.to_string(),
                })?
            }
            None => {
                let pair =
                    Ed25519KeyPair::generate().map_err(|_| crypto("Ed25519", "generation"))?;
                // PKCS#8 v1 so that `openssl pkey -inform DER` reads the file too.
                let der: Pkcs8V1Der<'static> = pair
                    .as_der()
                    .map_err(|_| crypto("Ed25519", "PKCS#8 encoding"))?;
                write_private(&ed_path, der.as_ref())?;
                pair
            }
        };

        let rsa_path = dir.join(RSA_FILE);
        let rsa = match read_if_exists(&rsa_path)? {
            Some(der) => RsaKeyPair::from_pkcs8(&der).map_err(|e| WebhookKeysError::Corrupt {
                path: rsa_path.clone(),
                kind: "RSA",
                reason: e.to_string(),
            })?,
            None => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048)
                    .map_err(|_| crypto("RSA", "generation"))?;
                let der: Pkcs8V1Der<'static> = pair
                    .as_der()
                    .map_err(|_| crypto("RSA", "PKCS#8 encoding"))?;
                write_private(&rsa_path, der.as_ref())?;
                pair
            }
        };

        Self::from_pairs(ed25519, rsa)
    }

    fn from_pairs(ed25519: Ed25519KeyPair, rsa: RsaKeyPair) -> Result<Self, WebhookKeysError> {
        let ed_der: PublicKeyX509Der<'static> = ed25519
            .public_key()
            .as_der()
            .map_err(|_| crypto("Ed25519", "public key encoding"))?;
        let rsa_der: PublicKeyX509Der<'static> = rsa
            .public_key()
            .as_der()
            .map_err(|_| crypto("RSA", "public key encoding"))?;
        let keys = Self {
            ed25519_pem: pem("PUBLIC KEY", ed_der.as_ref()),
            rsa_pem: pem("PUBLIC KEY", rsa_der.as_ref()),
            ed25519,
            rsa,
        };
        // Prove once that RSA signing works with this key, so that `sign_rsa` (which cannot
        // return an error by contract) only fails on an internal crypto-library fault.
        keys.try_sign_rsa(b"probe")?;
        Ok(keys)
    }

    /// SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----") of the Ed25519 key, which a
    /// receiver configures to verify `x-ghl-signature`.
    pub fn ed25519_public_pem(&self) -> String {
        self.ed25519_pem.clone()
    }

    /// SubjectPublicKeyInfo PEM of the RSA key, which a receiver configures in place of
    /// `webhook-public-key.pem` to verify `x-wh-signature`.
    pub fn rsa_public_pem(&self) -> String {
        self.rsa_pem.clone()
    }

    /// Base64 (standard, padded) Ed25519 signature over the raw body, as sent in `x-ghl-signature`.
    pub fn sign_ed25519(&self, body: &[u8]) -> String {
        BASE64.encode(self.ed25519.sign(body).as_ref())
    }

    /// Base64 RSA PKCS#1 v1.5 SHA-256 signature over the raw body, as sent in `x-wh-signature`.
    ///
    /// The key was proven to sign at construction; should the crypto library still fail, the
    /// error is logged and an empty signature is returned, which any receiver rejects (the same
    /// outcome as a delivery with a bad signature) instead of crashing the sandbox.
    pub fn sign_rsa(&self, body: &[u8]) -> String {
        match self.try_sign_rsa(body) {
            Ok(signature) => signature,
            Err(e) => {
                tracing::error!(error = %e, "RSA webhook signing failed; sending an empty x-wh-signature");
                String::new()
            }
        }
    }

    fn try_sign_rsa(&self, body: &[u8]) -> Result<String, WebhookKeysError> {
        let mut signature = vec![0u8; self.rsa.public_modulus_len()];
        self.rsa
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                body,
                &mut signature,
            )
            .map_err(|_| crypto("RSA", "signing"))?;
        Ok(BASE64.encode(signature))
    }
}

fn crypto(kind: &'static str, what: &'static str) -> WebhookKeysError {
    WebhookKeysError::Crypto { kind, what }
}

fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, WebhookKeysError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(WebhookKeysError::Io {
            path: path.to_path_buf(),
            action: "reading",
            source,
        }),
    }
}

/// Writes a private key readable by the owner only, via a temporary file and a rename so a crash
/// never leaves a half-written key that would later be reported as corrupt.
fn write_private(path: &Path, der: &[u8]) -> Result<(), WebhookKeysError> {
    let tmp = path.with_extension("pk8.tmp");
    let io_err = |action: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |source| WebhookKeysError::Io {
            path: p,
            action,
            source,
        }
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(io_err("creating", &tmp))?;
    file.write_all(der).map_err(io_err("writing", &tmp))?;
    file.sync_all().map_err(io_err("syncing", &tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io_err("renaming into place", path))
}

/// PEM armour: base64 of the DER in 64-character lines.
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = BASE64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    // Base64 output is pure ASCII, so every 64-byte chunk is valid UTF-8.
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
