//! Settings of a GHL connection.
//!
//! Two parts, because they come from two places: [`GhlSettings`] is plain data (serde, YAML- or
//! JSON-friendly, safe to keep in a flow file: it holds no secret), while [`GhlConfig`] adds the
//! live credentials — a ready [`ghl::Auth`] (a Private Integration Token, or an OAuth session
//! whose tokens the caller stores) — and an optional [`Pacer`] shared with other clients of the
//! same app and location so that they spend one rate budget together.
//!
//! ```yaml
//! base_url: https://services.leadconnectorhq.com   # default
//! location_id: hfX3k7vk3tTL9jGKMbQE
//! overlap_secs: 60          # re-read margin of incremental reads
//! page_size: 500            # contacts per page (1..=500; 500 = one GHL search per page)
//! child_scan_batch: 25      # contacts whose tasks/notes one list_all page reads
//! external_id_fields:       # optional: app → GHL custom field (by name) holding its id
//!   your_app: Your App ID
//! webhooks:
//!   ed25519_public_key_pem: |
//!     -----BEGIN PUBLIC KEY-----
//!     …
//!     -----END PUBLIC KEY-----
//!   legacy: true            # also accept x-wh-signature (RSA)
//!   rsa_public_key_pem: null  # default: GHL's published key (set it for the sandbox)
//!   timestamp_window_secs: 300
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use ghl::webhooks::WebhookVerifier;
use ghl::{Auth, Pacer, RetryPolicy, Secret};
use serde::{Deserialize, Serialize};

/// GHL's API host.
pub const DEFAULT_BASE_URL: &str = ghl::oauth::API_BASE;

/// A GHL connection setting is wrong; the message says which and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("GHL connector configuration: {0}")]
pub struct GhlConfigError(pub String);

/// How webhooks of this connection are verified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GhlWebhookSettings {
    /// The Ed25519 public key (PEM) GHL gives the app, for `x-ghl-signature`. Without it only
    /// the legacy RSA signature can be checked.
    pub ed25519_public_key_pem: Option<String>,
    /// Accept the legacy `x-wh-signature` (RSA) when there is no usable Ed25519 signature. Turn
    /// it off once GHL has retired the legacy header.
    pub legacy: bool,
    /// Replaces GHL's published RSA key (built in) — for the sandbox, which signs with its own.
    pub rsa_public_key_pem: Option<String>,
    /// How far a delivery's `timestamp` may be from now, either way.
    pub timestamp_window_secs: u64,
}

impl Default for GhlWebhookSettings {
    fn default() -> Self {
        Self {
            ed25519_public_key_pem: None,
            legacy: true,
            rsa_public_key_pem: None,
            timestamp_window_secs: 300,
        }
    }
}

/// The plain-data settings of a GHL connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GhlSettings {
    pub base_url: String,
    /// The location (sub-account) this connection syncs.
    pub location_id: String,
    /// Incremental reads re-read this margin before the cursor, because GHL's search index shows
    /// a change some time after its `dateUpdated` (the cursor keeps what it delivered there, so
    /// nothing comes twice).
    pub overlap_secs: u64,
    /// Contacts per page of `list_changed` / `list_all` (GHL's search allows 1..=500). The
    /// incremental read always asks GHL for 500, so a smaller page only wastes requests.
    pub page_size: u32,
    /// Contacts whose tasks, notes or appointments one `list_all` page reads (one request each).
    pub child_scan_batch: u32,
    /// App name → name of the GHL contact custom field that stores that app's record id, for
    /// `find(MatchKey::ExternalId)`. GHL has no such field by default, so none is assumed.
    pub external_id_fields: BTreeMap<String, String>,
    pub webhooks: GhlWebhookSettings,
}

impl Default for GhlSettings {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_string(),
            location_id: String::new(),
            overlap_secs: 60,
            page_size: 500,
            child_scan_batch: 25,
            external_id_fields: BTreeMap::new(),
            webhooks: GhlWebhookSettings::default(),
        }
    }
}

impl GhlSettings {
    /// Settings for one location at this base URL, everything else default.
    pub fn new(base_url: impl Into<String>, location_id: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            location_id: location_id.into(),
            ..Self::default()
        }
    }

    /// Checks every value; the webhook keys are parsed here so a bad PEM fails at start-up, not
    /// at the first delivery.
    pub fn validate(&self) -> Result<(), GhlConfigError> {
        let bad = |m: String| Err(GhlConfigError(m));
        match url::Url::parse(&self.base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            Ok(u) => return bad(format!("base_url must be http(s), not {}", u.scheme())),
            Err(e) => return bad(format!("base_url {:?}: {e}", self.base_url)),
        }
        if self.location_id.trim().is_empty() {
            return bad("location_id is required".into());
        }
        if !(1..=500).contains(&self.page_size) {
            return bad(format!("page_size must be 1..=500, not {}", self.page_size));
        }
        if !(1..=500).contains(&self.child_scan_batch) {
            return bad(format!(
                "child_scan_batch must be 1..=500, not {}",
                self.child_scan_batch
            ));
        }
        if let Some((app, _)) = self
            .external_id_fields
            .iter()
            .find(|(a, f)| a.trim().is_empty() || f.trim().is_empty())
        {
            return bad(format!(
                "external_id_fields: empty app or field name ({app:?})"
            ));
        }
        self.verifier().map(drop)
    }

    /// The webhook verifier these settings describe. De-duplication by webhook id is off: the
    /// engine de-duplicates on the hints' event ids, durably, which an in-memory record here
    /// could not do across restarts.
    pub fn verifier(&self) -> Result<WebhookVerifier, GhlConfigError> {
        let w = &self.webhooks;
        let key_err = |e: ghl::webhooks::WebhookKeyError| GhlConfigError(e.to_string());
        let mut v = WebhookVerifier::new()
            .without_dedup()
            .legacy(w.legacy)
            .timestamp_window(std::time::Duration::from_secs(w.timestamp_window_secs));
        if let Some(pem) = &w.ed25519_public_key_pem {
            v = v.with_ed25519_pem(pem).map_err(key_err)?;
        }
        if let Some(pem) = &w.rsa_public_key_pem {
            v = v.with_rsa_pem(pem).map_err(key_err)?;
        }
        Ok(v)
    }
}

/// Everything a [`super::GhlConnector`] needs: settings plus live credentials.
#[derive(Debug, Clone)]
pub struct GhlConfig {
    pub settings: GhlSettings,
    /// Private Integration Token, OAuth session or agency-minted location tokens.
    pub auth: Auth,
    /// Shared rate budget of this (app, location); a fresh one when `None`.
    pub pacer: Option<Arc<Pacer>>,
    /// The client's retry policy; the `ghl` crate's default when `None`.
    pub retry: Option<RetryPolicy>,
}

impl GhlConfig {
    /// Settings with credentials.
    pub fn new(settings: GhlSettings, auth: Auth) -> Self {
        Self {
            settings,
            auth,
            pacer: None,
            retry: None,
        }
    }

    /// A Private Integration Token connection with default settings.
    pub fn private_integration(
        base_url: impl Into<String>,
        location_id: impl Into<String>,
        token: impl Into<String>,
    ) -> Self {
        let auth = Auth::PrivateIntegration(Secret::new(token.into()));
        Self::new(GhlSettings::new(base_url, location_id), auth)
    }

    /// Shares a rate budget with other clients of the same app and location.
    pub fn with_pacer(mut self, pacer: Arc<Pacer>) -> Self {
        self.pacer = Some(pacer);
        self
    }

    /// Uses this retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = Some(retry);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_checks() {
        let s: GhlSettings = serde_json::from_str(r#"{"location_id": "loc"}"#).unwrap();
        assert_eq!(s.base_url, DEFAULT_BASE_URL);
        assert_eq!((s.overlap_secs, s.page_size), (60, 500));
        assert!(s.webhooks.legacy);
        s.validate().unwrap();
        let mut bad = s.clone();
        bad.location_id.clear();
        assert!(bad.validate().is_err());
        let mut bad = s.clone();
        bad.page_size = 0;
        assert!(bad.validate().is_err());
        let mut bad = s;
        bad.webhooks.ed25519_public_key_pem = Some("not a key".into());
        assert!(bad.validate().unwrap_err().0.contains("Ed25519"));
        assert!(serde_json::from_str::<GhlSettings>(r#"{"location": "x"}"#).is_err());
    }
}
