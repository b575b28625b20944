//! Shared by the Your App connector tests: the REST emulator (`ghl_sandbox::rest`), a connector
//! configured with `YourAppConfig::default_for`, and the emulator's admin API (changes "as a
//! person in the app", which the connector did not make).
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use connectors::your_app::{YourAppConfig, YourAppConnector};
use ghl_sandbox::rest::{RestConfig, RestSandbox};
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
    pub sb: RestSandbox,
    pub conn: YourAppConnector,
    http: reqwest::Client,
}

impl Fx {
    /// An emulator with `contacts` seeded contacts and a default connector on it.
    pub async fn start(contacts: usize) -> Self {
        Self::start_with(contacts, |_| {}).await
    }

    pub async fn start_with(contacts: usize, edit: impl FnOnce(&mut RestConfig)) -> Self {
        let mut config = RestConfig {
            contacts,
            ..RestConfig::default()
        };
        edit(&mut config);
        let sb = RestSandbox::start(config).await.expect("emulator starts");
        let conn = YourAppConnector::new(YourAppConfig::default_for(sb.api_url(), sb.api_key()))
            .expect("connector builds");
        Self {
            sb,
            conn,
            http: reqwest::Client::new(),
        }
    }

    /// Another connector on the emulator, with an edited default config.
    pub fn connector(&self, edit: impl FnOnce(&mut YourAppConfig)) -> YourAppConnector {
        let mut c = YourAppConfig::default_for(self.sb.api_url(), self.sb.api_key());
        edit(&mut c);
        YourAppConnector::new(c).expect("connector builds")
    }

    /// Calls the admin API; the answer must be 2xx (`null` for an empty one).
    pub async fn admin(&self, method: Method, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .request(method, format!("{}/_sandbox{path}", self.sb.base_url))
            .json(&body)
            .send()
            .await
            .expect("admin call");
        let status = resp.status();
        let text = resp.text().await.expect("admin answer");
        assert!(status.is_success(), "admin {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// A record as the emulator holds it (deleted ones too).
    pub async fn stored(&self, plural: &str, id: &str) -> Value {
        self.admin(Method::GET, &format!("/{plural}/{id}"), Value::Null)
            .await
    }

    /// Counts of live and deleted records per kind.
    pub async fn counts(&self) -> Value {
        self.admin(Method::GET, "/", Value::Null).await["counts"].clone()
    }
}
