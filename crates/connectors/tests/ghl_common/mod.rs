//! Shared by the GHL connector tests: a GHL sandbox, a connector on its first location, and the
//! admin API.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use connectors::ghl::{GhlConfig, GhlConnector, GhlSettings};
use ghl::RetryPolicy;
use ghl_sandbox::ghl::{GhlConfig as SandboxConfig, GhlSandbox};
use reqwest::Method;
use serde_json::{Map, Value};

/// A text unique within the test run (emails, titles).
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{prefix}{}", N.fetch_add(1, Ordering::SeqCst))
}

/// A JSON object literal as canonical fields.
pub fn fields(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("an object")
}

pub struct Fx {
    pub sb: GhlSandbox,
    pub conn: GhlConnector,
    pub location: String,
    http: reqwest::Client,
}

impl Fx {
    /// A sandbox with `contacts` seeded contacts and a connector with default settings.
    pub async fn start(contacts: usize) -> Self {
        Self::start_with(contacts, 1).await
    }

    pub async fn start_with(contacts: usize, locations: usize) -> Self {
        let sb = GhlSandbox::start(SandboxConfig {
            contacts,
            locations,
            ..Default::default()
        })
        .await
        .expect("sandbox starts");
        let location = sb.location_id();
        Self {
            conn: connector(&sb, &sb.token(), |_| {}),
            sb,
            location,
            http: reqwest::Client::new(),
        }
    }

    /// Another connector on the first location, with edited settings.
    pub fn connector(&self, edit: impl FnOnce(&mut GhlSettings)) -> GhlConnector {
        connector(&self.sb, &self.sb.token(), edit)
    }

    /// A connector with another token.
    pub fn connector_with_token(&self, token: &str) -> GhlConnector {
        connector(&self.sb, token, |_| {})
    }

    /// Calls the admin API and returns its JSON answer, which must be 2xx.
    pub async fn admin(&self, method: Method, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .request(method, format!("{}/_sandbox{path}", self.sb.base_url))
            .json(&body)
            .send()
            .await
            .expect("admin call");
        let status = resp.status();
        let v: Value = resp.json().await.expect("admin answer is JSON");
        assert!(status.is_success(), "admin {path}: {status} {v}");
        v
    }

    /// The ids of the first location's contacts, as the sandbox holds them.
    pub fn contact_ids(&self) -> Vec<String> {
        let s = self.sb.state.store.read();
        let mut ids: Vec<String> = s
            .contacts_in(&self.location)
            .map(|c| c.id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// A business of the first location: (id, name).
    pub fn business(&self) -> (String, String) {
        let s = self.sb.state.store.read();
        let b = s
            .location(&self.location)
            .and_then(|l| l.businesses.first())
            .expect("a seeded business");
        (b.id.clone(), b.name.clone())
    }

    /// The sandbox's webhook keys as connector settings (the sandbox signs with its own RSA key).
    pub fn with_webhook_keys(&self, s: &mut GhlSettings) {
        s.webhooks.ed25519_public_key_pem = Some(self.sb.state.keys.ed25519_public_pem());
        s.webhooks.rsa_public_key_pem = Some(self.sb.state.keys.rsa_public_pem());
    }
}

fn connector(sb: &GhlSandbox, token: &str, edit: impl FnOnce(&mut GhlSettings)) -> GhlConnector {
    let mut config = GhlConfig::private_integration(&sb.base_url, sb.location_id(), token)
        .with_retry(RetryPolicy {
            base: Duration::from_millis(5),
            ..Default::default()
        });
    edit(&mut config.settings);
    GhlConnector::new(config).expect("connector builds")
}
