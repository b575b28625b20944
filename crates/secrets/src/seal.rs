//! Sealing and opening: `v1:<base64 of 12-byte nonce ‖ ciphertext ‖ 16-byte tag>`.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rand::RngCore;

use crate::{SecretKey, SecretsError};

/// What marks a sealed value in a project file: `token: sealed:v1:…`.
pub const SEALED_PREFIX: &str = "sealed:";
const VERSION: &str = "v1";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// An opened secret. `Debug` prints `***`; reading it takes [`Plaintext::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Plaintext(String);

impl Plaintext {
    /// The secret itself, for the one place that must use it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Takes the secret out.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The associated data binding a sealed setting to its connection and setting, so a sealed
/// value cannot be moved to another connection or setting.
pub fn setting_aad(connection: &str, setting: &str) -> String {
    format!("ghl-bridge/v1/connection/{connection}/setting/{setting}")
}

/// Seals `plaintext` for `aad` with a fresh random 96-bit nonce: `v1:<base64>`.
pub fn seal(key: &SecretKey, plaintext: &str, aad: &str) -> String {
    let cipher = Aes256Gcm::new((&key.0).into());
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let ct = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext.as_bytes(),
                aad: aad.as_bytes(),
            },
        )
        .expect("AES-GCM encryption of an in-memory string cannot fail");
    let mut blob = nonce.to_vec();
    blob.extend_from_slice(&ct);
    format!("{VERSION}:{}", STANDARD.encode(blob))
}

/// Opens a `v1:…` value sealed for `aad`. A wrong key, an altered value and a value sealed
/// for another purpose all give [`SecretsError::Open`].
pub fn open(key: &SecretKey, sealed: &str, aad: &str) -> Result<Plaintext, SecretsError> {
    let (version, body) = sealed
        .trim()
        .split_once(':')
        .ok_or(SecretsError::Format("expected `v1:<base64>`"))?;
    if version != VERSION {
        return Err(SecretsError::UnsupportedVersion(
            version.chars().take(8).collect(),
        ));
    }
    let blob = STANDARD
        .decode(body)
        .map_err(|_| SecretsError::Format("the part after `v1:` is not base64"))?;
    if blob.len() < NONCE_LEN + TAG_LEN {
        return Err(SecretsError::Format("too short to hold a nonce and a tag"));
    }
    let (nonce, ct) = blob.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().expect("split at NONCE_LEN");
    let cipher = Aes256Gcm::new((&key.0).into());
    let pt = cipher
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: ct,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| SecretsError::Open)?;
    String::from_utf8(pt)
        .map(Plaintext)
        .map_err(|_| SecretsError::Format("the opened value is not UTF-8"))
}

/// Seals a connection setting for a project file: `sealed:v1:…`.
pub fn seal_setting(key: &SecretKey, plaintext: &str, connection: &str, setting: &str) -> String {
    format!(
        "{SEALED_PREFIX}{}",
        seal(key, plaintext, &setting_aad(connection, setting))
    )
}

/// Opens a project file's `sealed:v1:…` setting value of `connection`'s `setting`.
pub fn open_setting(
    key: &SecretKey,
    value: &str,
    connection: &str,
    setting: &str,
) -> Result<Plaintext, SecretsError> {
    let sealed = value
        .trim()
        .strip_prefix(SEALED_PREFIX)
        .ok_or(SecretsError::Format("expected `sealed:v1:<base64>`"))?;
    open(key, sealed, &setting_aad(connection, setting))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIT: &str = "pit-1234-very-secret";

    #[test]
    fn round_trip() {
        let k = SecretKey::generate();
        let s = seal(&k, PIT, "a");
        assert!(s.starts_with("v1:"), "{s}");
        assert!(!s.contains(PIT));
        assert_eq!(open(&k, &s, "a").unwrap().expose(), PIT);
        let set = seal_setting(&k, PIT, "ghl", "token");
        assert!(set.starts_with("sealed:v1:"));
        assert_eq!(
            open_setting(&k, &set, "ghl", "token").unwrap().into_inner(),
            PIT
        );
        assert_eq!(open(&k, &seal(&k, "", "a"), "a").unwrap().expose(), "");
    }

    #[test]
    fn tampering_is_detected() {
        let k = SecretKey::generate();
        let s = seal(&k, PIT, "a");
        let mut blob = STANDARD.decode(&s[3..]).unwrap();
        for i in [0, NONCE_LEN, blob.len() - 1] {
            blob[i] ^= 1;
            let bad = format!("v1:{}", STANDARD.encode(&blob));
            assert!(
                matches!(open(&k, &bad, "a"), Err(SecretsError::Open)),
                "byte {i}"
            );
            blob[i] ^= 1;
        }
        assert!(matches!(
            open(&k, "v1:AAAA", "a"),
            Err(SecretsError::Format(_))
        ));
        assert!(matches!(
            open(&k, "v1:%%%", "a"),
            Err(SecretsError::Format(_))
        ));
        assert!(matches!(
            open(&k, "nothing", "a"),
            Err(SecretsError::Format(_))
        ));
        assert!(matches!(
            open(&k, &s.replacen("v1", "v9", 1), "a"),
            Err(SecretsError::UnsupportedVersion(v)) if v == "v9"
        ));
    }

    #[test]
    fn wrong_key_fails_without_leaking() {
        let s = seal(&SecretKey::generate(), PIT, "a");
        let err = open(&SecretKey::generate(), &s, "a").unwrap_err();
        assert!(matches!(err, SecretsError::Open));
        assert!(!format!("{err} {err:?}").contains(PIT));
    }

    #[test]
    fn wrong_associated_data_fails() {
        let k = SecretKey::generate();
        let s = seal_setting(&k, PIT, "ghl", "token");
        assert!(matches!(
            open_setting(&k, &s, "ghl2", "token"),
            Err(SecretsError::Open)
        ));
        assert!(matches!(
            open_setting(&k, &s, "ghl", "api_key"),
            Err(SecretsError::Open)
        ));
    }

    #[test]
    fn every_seal_uses_a_new_nonce() {
        let k = SecretKey::generate();
        let seals: std::collections::BTreeSet<String> =
            (0..200).map(|_| seal(&k, PIT, "a")).collect();
        assert_eq!(seals.len(), 200);
        let nonces: std::collections::BTreeSet<Vec<u8>> = seals
            .iter()
            .map(|s| STANDARD.decode(&s[3..]).unwrap()[..NONCE_LEN].to_vec())
            .collect();
        assert_eq!(nonces.len(), 200);
    }

    #[test]
    fn debug_of_plaintext_is_scrubbed() {
        let k = SecretKey::generate();
        let p = open(&k, &seal(&k, PIT, "a"), "a").unwrap();
        assert_eq!(format!("{p:?}"), "***");
        assert_eq!(format!("{:?}", Some(&p)), "Some(***)");
    }
}
