//! Checking that a webhook comes from GHL, is fresh and is new, before anything acts on it.
//!
//! GHL signs the raw body twice: `x-ghl-signature` (Ed25519, the current scheme) and
//! `x-wh-signature` (RSA PKCS#1 v1.5 SHA-256, the legacy scheme, reportedly retired by GHL in
//! 2026 — see `spec/ghl/FACTS.md`). The verifier prefers the Ed25519 signature when it is present
//! and a key for it is configured, falls back to the legacy one unless that is turned off, and
//! rejects anything else. Then it rejects a `timestamp` outside the window and a `webhookId`
//! already accepted, which together stop replays of captured deliveries.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::signature::{
    ParsedPublicKey, VerificationAlgorithm, ED25519, RSA_PKCS1_2048_8192_SHA256,
};
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::events::WebhookEvent;
use super::seen::{MemorySeenWebhooks, SeenWebhooks};
use crate::models::search::parse_date;

/// Header of the current Ed25519 signature.
pub const GHL_SIGNATURE_HEADER: &str = "x-ghl-signature";
/// Header of the legacy RSA signature.
pub const LEGACY_SIGNATURE_HEADER: &str = "x-wh-signature";
/// GHL's published RSA public key for `x-wh-signature` (RSA-4096, SubjectPublicKeyInfo PEM),
/// built in so that a receiver checks real GHL deliveries without configuration.
pub const GHL_LEGACY_PUBLIC_KEY_PEM: &str =
    include_str!("../../../../spec/ghl/webhook-public-key.pem");
/// How far a webhook's `timestamp` may be from now, either way (GHL's guidance: 5 minutes).
pub const DEFAULT_TIMESTAMP_WINDOW: Duration = Duration::from_secs(300);

/// Why a webhook was refused. Each message names the check that failed; none echoes the body.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WebhookError {
    /// A signature was checked and does not match the body under the configured key: a forged or
    /// altered delivery, or the wrong key configured.
    #[error("the {header} signature does not verify: {reason}")]
    BadSignature {
        header: &'static str,
        reason: String,
    },
    /// No signature that this verifier can check.
    #[error("no verifiable webhook signature: {reason}")]
    NoSignature { reason: String },
    /// The `timestamp` is outside the accepted window (too old, or too far in the future).
    #[error("webhook timestamp {timestamp} is {detail}")]
    Stale { timestamp: String, detail: String },
    /// This `webhookId` was accepted before: a duplicate delivery or a replay.
    #[error("webhook {webhook_id} was already received (duplicate delivery or replay)")]
    Replayed { webhook_id: String },
    /// Correctly signed, but not a webhook body this crate can read.
    #[error("malformed webhook body: {reason}")]
    Malformed { reason: String },
}

/// A public key given to the verifier could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("webhook {kind} public key: {reason}")]
pub struct WebhookKeyError {
    pub kind: &'static str,
    pub reason: String,
}

/// Which signature a webhook was accepted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureScheme {
    /// `x-ghl-signature`.
    Ed25519,
    /// `x-wh-signature`.
    LegacyRsa,
}

/// The two signature header values of a delivery (absent or empty = not sent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Signatures<'a> {
    pub ghl: Option<&'a str>,
    pub legacy: Option<&'a str>,
}

impl<'a> Signatures<'a> {
    /// Both header values, as strings.
    pub fn new(ghl: Option<&'a str>, legacy: Option<&'a str>) -> Self {
        Self { ghl, legacy }
    }

    /// Reads `x-ghl-signature` and `x-wh-signature` from request headers (axum's and reqwest's
    /// `HeaderMap` are the same type).
    pub fn from_headers(headers: &'a reqwest::header::HeaderMap) -> Self {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        Self::new(get(GHL_SIGNATURE_HEADER), get(LEGACY_SIGNATURE_HEADER))
    }
}

/// A webhook that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedEvent {
    pub event: WebhookEvent,
    pub webhook_id: Option<String>,
    pub timestamp: Option<DateTime<Utc>>,
    pub scheme: SignatureScheme,
    /// The whole body, parsed.
    pub body: Value,
}

/// Checks webhook deliveries. Cheap to clone; clones share the record of seen webhook ids.
#[derive(Clone)]
pub struct WebhookVerifier {
    ed25519: Option<ParsedPublicKey>,
    rsa: Option<ParsedPublicKey>,
    legacy: bool,
    window: Duration,
    require_replay_fields: bool,
    seen: Option<Arc<dyn SeenWebhooks>>,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("ed25519_key", &self.ed25519.is_some())
            .field("rsa_key", &self.rsa.is_some())
            .field("legacy", &self.legacy)
            .field("window", &self.window)
            .field("require_replay_fields", &self.require_replay_fields)
            .field("dedup", &self.seen.is_some())
            .finish()
    }
}

impl Default for WebhookVerifier {
    fn default() -> Self {
        Self::new()
    }
}

/// The DER inside a PEM block (`PUBLIC KEY` or `RSA PUBLIC KEY`), or bare base64.
fn pem_to_der(kind: &'static str, pem: &str) -> Result<Vec<u8>, WebhookKeyError> {
    let err = |reason: String| WebhookKeyError { kind, reason };
    let lines: Vec<&str> = pem.lines().map(str::trim).collect();
    let b64: String = match lines.iter().position(|l| l.starts_with("-----BEGIN ")) {
        Some(begin) => {
            if !lines[begin].contains("PUBLIC KEY") {
                return Err(err(format!(
                    "expected a PUBLIC KEY PEM block, found {:?}",
                    lines[begin]
                )));
            }
            let end = lines[begin..]
                .iter()
                .position(|l| l.starts_with("-----END "))
                .ok_or_else(|| err("the PEM block has no END line".into()))?;
            lines[begin + 1..begin + end].concat()
        }
        None => lines.concat(),
    };
    STANDARD
        .decode(b64.as_bytes())
        .map_err(|e| err(format!("the PEM body is not base64: {e}")))
}

fn parse_key(
    kind: &'static str,
    alg: &'static dyn VerificationAlgorithm,
    der: &[u8],
) -> Result<ParsedPublicKey, WebhookKeyError> {
    ParsedPublicKey::new(alg, der).map_err(|e| WebhookKeyError {
        kind,
        reason: format!("not a usable key ({e})"),
    })
}

/// A header value, unless absent or blank (the sandbox sends a blank one when it cannot sign).
fn present(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.trim().is_empty())
}

/// Checks one base64 signature; `Err` says why it failed.
fn check(key: &ParsedPublicKey, signature: &str, body: &[u8]) -> Result<(), String> {
    let sig = signature.trim();
    let raw = STANDARD
        .decode(sig)
        .or_else(|_| URL_SAFE.decode(sig))
        .map_err(|_| "the header is not base64".to_string())?;
    key.verify_sig(body, &raw)
        .map_err(|_| "it does not match the body under the configured public key".to_string())
}

impl WebhookVerifier {
    /// GHL's defaults: the built-in GHL RSA key for `x-wh-signature`, no Ed25519 key (configure
    /// the one GHL gives your app with [`Self::with_ed25519_pem`]), a 5-minute timestamp window,
    /// and an in-memory record of the last 100,000 webhook ids.
    pub fn new() -> Self {
        let rsa = pem_to_der("RSA", GHL_LEGACY_PUBLIC_KEY_PEM)
            .and_then(|der| parse_key("RSA", &RSA_PKCS1_2048_8192_SHA256, &der));
        let rsa = match rsa {
            Ok(k) => Some(k),
            Err(e) => {
                tracing::error!(error = %e, "the built-in GHL webhook key does not parse; legacy signatures cannot be checked");
                None
            }
        };
        Self {
            ed25519: None,
            rsa,
            legacy: true,
            window: DEFAULT_TIMESTAMP_WINDOW,
            require_replay_fields: true,
            seen: Some(Arc::new(MemorySeenWebhooks::default())),
        }
    }

    /// The Ed25519 public key for `x-ghl-signature`, as PEM (SubjectPublicKeyInfo).
    pub fn with_ed25519_pem(self, pem: &str) -> Result<Self, WebhookKeyError> {
        self.with_ed25519_der(&pem_to_der("Ed25519", pem)?)
    }

    /// The Ed25519 public key as SubjectPublicKeyInfo DER or the raw 32 bytes.
    pub fn with_ed25519_der(mut self, der: &[u8]) -> Result<Self, WebhookKeyError> {
        self.ed25519 = Some(parse_key("Ed25519", &ED25519, der)?);
        Ok(self)
    }

    /// Replaces the built-in GHL key for `x-wh-signature` (PEM, SubjectPublicKeyInfo or PKCS#1),
    /// e.g. with a sandbox's key.
    pub fn with_rsa_pem(self, pem: &str) -> Result<Self, WebhookKeyError> {
        self.with_rsa_der(&pem_to_der("RSA", pem)?)
    }

    /// Replaces the RSA key, as SubjectPublicKeyInfo or PKCS#1 `RSAPublicKey` DER (2048–8192 bits).
    pub fn with_rsa_der(mut self, der: &[u8]) -> Result<Self, WebhookKeyError> {
        self.rsa = Some(parse_key("RSA", &RSA_PKCS1_2048_8192_SHA256, der)?);
        Ok(self)
    }

    /// Turns the legacy `x-wh-signature` check on or off (on by default). Off, only
    /// `x-ghl-signature` is accepted — for when GHL has retired the legacy header.
    pub fn legacy(mut self, enabled: bool) -> Self {
        self.legacy = enabled;
        self
    }

    /// How far `timestamp` may be from now, in the past or the future.
    pub fn timestamp_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Whether a body without `timestamp` or `webhookId` is refused (default: yes — GHL signs
    /// both into every delivery, and without them a captured body could be replayed forever).
    pub fn require_replay_fields(mut self, required: bool) -> Self {
        self.require_replay_fields = required;
        self
    }

    /// Where accepted webhook ids are recorded (replaces the in-memory default).
    pub fn seen(mut self, store: Arc<dyn SeenWebhooks>) -> Self {
        self.seen = Some(store);
        self
    }

    /// No webhook-id de-duplication (the caller de-duplicates).
    pub fn without_dedup(mut self) -> Self {
        self.seen = None;
        self
    }

    /// Lets a webhook id be accepted again, after a receiver failed to process its event.
    pub fn forget(&self, webhook_id: &str) {
        if let Some(seen) = &self.seen {
            seen.forget(webhook_id);
        }
    }

    fn check_signature(
        &self,
        sigs: Signatures<'_>,
        body: &[u8],
    ) -> Result<SignatureScheme, WebhookError> {
        let (ghl, legacy) = (present(sigs.ghl), present(sigs.legacy));
        if let (Some(sig), Some(key)) = (ghl, &self.ed25519) {
            return check(key, sig, body)
                .map(|()| SignatureScheme::Ed25519)
                .map_err(|reason| WebhookError::BadSignature {
                    header: GHL_SIGNATURE_HEADER,
                    reason,
                });
        }
        if self.legacy {
            if let (Some(sig), Some(key)) = (legacy, &self.rsa) {
                return check(key, sig, body)
                    .map(|()| SignatureScheme::LegacyRsa)
                    .map_err(|reason| WebhookError::BadSignature {
                        header: LEGACY_SIGNATURE_HEADER,
                        reason,
                    });
            }
        }
        let mut why = Vec::new();
        match ghl {
            None => why.push(format!("no {GHL_SIGNATURE_HEADER} header")),
            Some(_) => why.push(format!(
                "{GHL_SIGNATURE_HEADER} is present but no Ed25519 key is configured"
            )),
        }
        match (legacy, self.legacy, self.rsa.is_some()) {
            (None, _, _) => why.push(format!("no {LEGACY_SIGNATURE_HEADER} header")),
            (Some(_), false, _) => why.push(format!("the {LEGACY_SIGNATURE_HEADER} check is off")),
            (Some(_), true, _) => why.push("no RSA key is configured".into()),
        }
        Err(WebhookError::NoSignature {
            reason: why.join("; "),
        })
    }

    fn check_time(
        &self,
        body: &Value,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, WebhookError> {
        let Some(raw) = body.get("timestamp").filter(|v| !v.is_null()) else {
            if self.require_replay_fields {
                return Err(WebhookError::Malformed {
                    reason: "no `timestamp` (GHL signs one into every delivery)".into(),
                });
            }
            return Ok(None);
        };
        let shown = raw.as_str().map_or_else(|| raw.to_string(), str::to_string);
        let at = parse_date(raw).ok_or_else(|| WebhookError::Malformed {
            reason: format!("unreadable `timestamp` {shown}"),
        })?;
        let window =
            chrono::Duration::from_std(self.window).unwrap_or(chrono::Duration::days(365_000));
        let age = now.signed_duration_since(at);
        if age > window {
            return Err(WebhookError::Stale {
                timestamp: shown,
                detail: format!(
                    "{} s old, more than the {} s allowed",
                    age.num_seconds(),
                    self.window.as_secs()
                ),
            });
        }
        if -age > window {
            return Err(WebhookError::Stale {
                timestamp: shown,
                detail: format!(
                    "{} s in the future, more than the {} s allowed",
                    (-age).num_seconds(),
                    self.window.as_secs()
                ),
            });
        }
        Ok(Some(at))
    }

    /// Verifies one delivery: a signature over exactly `raw_body` (the bytes as received, before
    /// any JSON parsing), the `timestamp` within the window around `now`, then the `webhookId`
    /// seen for the first time. Only a delivery passing all checks is parsed into an event and
    /// has its id recorded.
    pub fn verify(
        &self,
        signatures: Signatures<'_>,
        raw_body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<VerifiedEvent, WebhookError> {
        let scheme = self.check_signature(signatures, raw_body)?;
        let body: Value =
            serde_json::from_slice(raw_body).map_err(|e| WebhookError::Malformed {
                reason: format!("not JSON: {e}"),
            })?;
        let timestamp = self.check_time(&body, now)?;
        let webhook_id = body
            .get("webhookId")
            .and_then(Value::as_str)
            .map(str::to_string);
        if webhook_id.is_none() && self.require_replay_fields {
            return Err(WebhookError::Malformed {
                reason: "no `webhookId` (GHL sends one with every delivery)".into(),
            });
        }
        let event = WebhookEvent::parse(&body)?;
        if let (Some(seen), Some(id)) = (&self.seen, &webhook_id) {
            if !seen.first_time(id) {
                return Err(WebhookError::Replayed {
                    webhook_id: id.clone(),
                });
            }
        }
        Ok(VerifiedEvent {
            event,
            webhook_id,
            timestamp,
            scheme,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_key_parses_and_bad_keys_are_refused() {
        assert!(WebhookVerifier::new().rsa.is_some());
        let e = WebhookVerifier::new()
            .with_rsa_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
        assert!(e.unwrap_err().to_string().contains("RSA"));
        let e = WebhookVerifier::new()
            .with_ed25519_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----");
        assert!(e.unwrap_err().to_string().contains("PUBLIC KEY"));
    }

    #[test]
    fn explains_missing_signatures() {
        let v = WebhookVerifier::new().legacy(false);
        let e = v
            .verify(Signatures::new(Some("abc"), Some("def")), b"{}", Utc::now())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "no verifiable webhook signature: x-ghl-signature is present but no Ed25519 key is configured; the x-wh-signature check is off"
        );
    }
}
