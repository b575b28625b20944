//! Shared by the operation tests: a small GHL sandbox with a client on it, the admin API, and
//! readers of the sandbox's state and request log.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ghl::{Auth, GhlClient, RetryPolicy, Secret};
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use reqwest::Method;
use serde_json::{json, Value};

/// A running sandbox (five seeded contacts) and a client of its first location.
pub struct Fx {
    pub sb: GhlSandbox,
    pub client: GhlClient,
    pub location: String,
    http: reqwest::Client,
}

/// Fast retries, so fault tests do not wait.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        base: Duration::from_millis(5),
        ..Default::default()
    }
}

/// A text unique within the test run (emails, titles).
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{prefix}{}", N.fetch_add(1, Ordering::SeqCst))
}

impl Fx {
    pub async fn start() -> Self {
        let sb = GhlSandbox::start(GhlConfig {
            contacts: 5,
            ..Default::default()
        })
        .await
        .expect("sandbox starts");
        let location = sb.location_id();
        let client = client(&sb, &sb.token(), fast_retry());
        Self {
            sb,
            client,
            location,
            http: reqwest::Client::new(),
        }
    }

    /// A client of the first location with another token or retry policy.
    pub fn client_with(&self, token: &str, retry: RetryPolicy) -> GhlClient {
        client(&self.sb, token, retry)
    }

    /// Calls the admin API (`/_sandbox/...`) and returns its JSON answer, which must be 2xx.
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

    /// Replaces the sandbox's fault rules.
    pub async fn faults(&self, rules: Value) {
        self.admin(Method::PUT, "/faults", json!({ "rules": rules }))
            .await;
    }

    /// A Private Integration Token of the first location with only these scopes.
    pub async fn token_with(&self, scopes: &[&str]) -> String {
        let v = self
            .admin(
                Method::POST,
                "/tokens",
                json!({"locationId": self.location, "scopes": scopes}),
            )
            .await;
        v["token"].as_str().expect("token").to_string()
    }

    /// Every API call the sandbox logged, oldest first.
    pub async fn requests(&self) -> Vec<Value> {
        let v = self
            .admin(Method::GET, "/requests?limit=100000", Value::Null)
            .await;
        v["requests"].as_array().cloned().unwrap_or_default()
    }

    /// Logged calls of one operation (`create-task`, …).
    pub async fn calls_of(&self, operation_id: &str) -> Vec<Value> {
        self.requests()
            .await
            .into_iter()
            .filter(|r| r["operationId"] == operation_id)
            .collect()
    }

    /// The id of a seeded contact of the first location.
    pub fn some_contact(&self) -> String {
        let s = self.sb.state.store.read();
        let mut ids: Vec<String> = s
            .contacts_in(&self.location)
            .map(|c| c.id.clone())
            .collect();
        ids.sort();
        ids.into_iter().next().expect("a seeded contact")
    }

    /// The sandbox's own record of a contact (followers, campaigns, workflows included).
    pub fn stored(&self, contact_id: &str) -> Option<ghl_sandbox::ghl::model::Contact> {
        self.sb.state.store.read().contacts.get(contact_id).cloned()
    }

    /// The location's custom fields: (id, field key, data type).
    pub fn custom_field_defs(&self) -> Vec<(String, String, String)> {
        let s = self.sb.state.store.read();
        s.location(&self.location)
            .map(|l| {
                l.custom_fields
                    .iter()
                    .map(|f| (f.id.clone(), f.field_key.clone(), f.data_type.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The id of a custom field of this data type.
    pub fn custom_field_of(&self, data_type: &str) -> String {
        self.custom_field_defs()
            .into_iter()
            .find(|(_, _, t)| t == data_type)
            .map(|(id, _, _)| id)
            .unwrap_or_else(|| panic!("no {data_type} custom field"))
    }

    /// Users of the location (for followers and assignments).
    pub fn users(&self) -> Vec<String> {
        self.sb
            .state
            .store
            .read()
            .users
            .get(&self.location)
            .cloned()
            .unwrap_or_default()
    }

    /// Contacts of the location with this email (any case).
    pub fn contacts_with_email(&self, email: &str) -> usize {
        self.sb
            .state
            .store
            .read()
            .contacts_with_email(&self.location, email)
            .len()
    }
}

fn client(sb: &GhlSandbox, token: &str, retry: RetryPolicy) -> GhlClient {
    GhlClient::builder(Auth::PrivateIntegration(Secret::new(token)))
        .base_url(&sb.base_url)
        .location_id(sb.location_id())
        .retry(retry)
        .build()
        .expect("client builds")
}
