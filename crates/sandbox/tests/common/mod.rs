//! Helpers shared by the behaviour tests that talk to a GHL sandbox over real HTTP.
#![allow(dead_code)]

pub mod oauth;

use ghl_sandbox::ghl::model::{Note, Task};
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

/// The only API version GHL's v2 endpoints accept.
pub const VERSION: &str = "2021-07-28";

/// The five rate-limit headers GHL sends on every answer.
pub const RATE_HEADERS: [&str; 5] = [
    "x-ratelimit-max",
    "x-ratelimit-remaining",
    "x-ratelimit-interval-milliseconds",
    "x-ratelimit-limit-daily",
    "x-ratelimit-daily-remaining",
];

/// A small sandbox config (few contacts, quick to seed), adjusted by `edit`.
pub fn config(edit: impl FnOnce(&mut GhlConfig)) -> GhlConfig {
    let mut c = GhlConfig {
        contacts: 5,
        ..GhlConfig::default()
    };
    edit(&mut c);
    c
}

pub async fn start(config: GhlConfig) -> GhlSandbox {
    GhlSandbox::start(config).await.expect("sandbox starts")
}

/// An answer read to the end.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("answer {} is not JSON ({e}): {}", self.status, self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A numeric header, which must be present.
    pub fn num(&self, name: &str) -> u64 {
        let v = self
            .header(name)
            .unwrap_or_else(|| panic!("header {name} missing on {self:?}"));
        v.parse()
            .unwrap_or_else(|_| panic!("header {name}={v} is not a number"))
    }

    /// `message` of a GHL error body; arrays are joined with " | ".
    pub fn message(&self) -> String {
        match &self.json()["message"] {
            Value::String(s) => s.clone(),
            Value::Array(a) => a
                .iter()
                .map(|m| m.as_str().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(" | "),
            other => other.to_string(),
        }
    }

    /// `message` as a list (422 bodies carry one entry per problem).
    pub fn messages(&self) -> Vec<String> {
        let v = self.json();
        let list = v["message"]
            .as_array()
            .unwrap_or_else(|| panic!("message is not a list: {v}"));
        list.iter()
            .map(|m| m.as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Panics unless all five X-RateLimit-* headers are present.
    pub fn assert_rate_headers(&self) {
        for name in RATE_HEADERS {
            assert!(
                self.header(name).is_some(),
                "{name} missing on a {} answer: {:?}",
                self.status,
                self.headers
            );
        }
    }
}

pub async fn read(rb: RequestBuilder) -> Resp {
    let r = rb.send().await.expect("request sent and answered");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body read");
    Resp {
        status,
        headers,
        text,
    }
}

/// A client that never follows redirects, bound to one sandbox.
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

impl Api {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            http,
            base: base.to_string(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with `Version` and, when given, `Authorization: Bearer`.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let rb = self
            .http
            .request(method, self.url(path))
            .header("Version", VERSION);
        match token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    /// An authenticated API call with an optional JSON body.
    pub async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Resp {
        let mut rb = self.request(method, path, Some(token));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        read(rb).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::PUT, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.call(Method::DELETE, path, token, None).await
    }

    /// A call to the admin API under `/_sandbox` (no token, no version).
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut rb = self
            .http
            .request(method, self.url(&format!("/_sandbox{path}")));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        read(rb).await
    }

    /// Replaces the fault rules; panics unless the sandbox accepts them.
    pub async fn set_faults(&self, rules: Value) {
        let r = self
            .admin(Method::PUT, "/faults", Some(json!({ "rules": rules })))
            .await;
        assert_eq!(r.status, 200, "PUT /faults: {}", r.text);
    }

    /// Sets the rate limits; panics unless the sandbox accepts them.
    pub async fn set_limits(&self, burst_max: u32, burst_interval_ms: u64, daily_max: u64) {
        let body = json!({"burstMax": burst_max, "burstIntervalMs": burst_interval_ms, "dailyMax": daily_max});
        let r = self.admin(Method::PUT, "/limits", Some(body)).await;
        assert_eq!(r.status, 200, "PUT /limits: {}", r.text);
    }

    /// Mints a Private Integration Token with these scopes.
    pub async fn mint_pit(&self, location_id: &str, scopes: &[&str]) -> String {
        let body = json!({"locationId": location_id, "scopes": scopes});
        let r = self.admin(Method::POST, "/tokens", Some(body)).await;
        assert_eq!(r.status, 201, "POST /tokens: {}", r.text);
        r.json()["token"].as_str().expect("token").to_string()
    }
}

/// The id of some seeded contact of a location (the smallest, for repeatability).
pub fn contact_of(sb: &GhlSandbox, location_id: &str) -> String {
    let store = sb.state.store.read();
    store
        .contacts_in(location_id)
        .map(|c| c.id.clone())
        .min()
        .expect("location has contacts")
}

/// Number of contacts a location holds.
pub fn contact_count(sb: &GhlSandbox, location_id: &str) -> usize {
    sb.state.store.read().contacts_in(location_id).count()
}

/// Everything a location holds (contacts with their tasks and notes), in a stable order, read
/// straight from the sandbox state.
pub fn location_snapshot(sb: &GhlSandbox, location_id: &str) -> Value {
    let store = sb.state.store.read();
    let mut contacts: Vec<_> = store.contacts_in(location_id).collect();
    contacts.sort_by(|a, b| a.id.cmp(&b.id));
    let all: Vec<Value> = contacts
        .iter()
        .map(|c| {
            let tasks: Vec<Value> = store
                .tasks
                .get(&c.id)
                .into_iter()
                .flatten()
                .map(Task::to_json)
                .collect();
            let notes: Vec<Value> = store
                .notes
                .get(&c.id)
                .into_iter()
                .flatten()
                .map(Note::to_json)
                .collect();
            json!({"contact": c.to_full_json(), "tags": c.tags, "tasks": tasks, "notes": notes})
        })
        .collect();
    Value::Array(all)
}

/// A valid body for `POST /contacts/`.
pub fn new_contact(location_id: &str, email: &str) -> Value {
    json!({"locationId": location_id, "firstName": "Test", "lastName": "Person", "email": email})
}

/// A valid body for `POST /contacts/{id}/tasks`.
pub fn new_task() -> Value {
    json!({"title": "Call back", "dueDate": "2030-01-01T10:00:00Z", "completed": false})
}
