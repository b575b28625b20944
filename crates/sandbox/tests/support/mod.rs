//! Shared helpers of the data-behaviour tests: a sandbox with a real HTTP client, and small
//! request wrappers. Each test binary uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod hooks;

use std::collections::HashSet;

use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use reqwest::Method;
use serde_json::{json, Value};

/// A running sandbox plus what a client needs to call it.
pub struct Sb {
    pub sandbox: GhlSandbox,
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
    pub loc: String,
}

/// A status and a parsed JSON body (`Null` when the body is not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
}

impl Resp {
    /// Panics with the body when the status is not the expected one.
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }

    /// The error message(s) of a GHL error body, joined, for `contains` checks.
    pub fn message(&self) -> String {
        match &self.body["message"] {
            Value::Array(a) => a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" | "),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

/// A config whose rate limits never get in the way of a test.
pub fn config(seed: u64, contacts: usize) -> GhlConfig {
    GhlConfig {
        seed,
        contacts,
        limits: LimitConfig {
            burst_max: 1_000_000,
            burst_interval_ms: 10_000,
            daily_max: 10_000_000,
        },
        ..GhlConfig::default()
    }
}

impl Sb {
    pub async fn start(config: GhlConfig) -> Self {
        let sandbox = GhlSandbox::start(config).await.expect("start sandbox");
        Self {
            base: sandbox.base_url.clone(),
            token: sandbox.token(),
            loc: sandbox.location_id(),
            http: reqwest::Client::new(),
            sandbox,
        }
    }

    /// Re-reads the token after `/_sandbox/reset` minted new ones.
    pub fn refresh_credentials(&mut self) {
        self.token = self.sandbox.token();
        self.loc = self.sandbox.location_id();
    }

    /// An authenticated Contacts-API call.
    pub async fn api(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("Version", "2021-07-28")
            .header("Accept", "application/json");
        if let Some(b) = body {
            req = req.json(&b);
        }
        send(req).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.api(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.api(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.api(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str, body: Option<Value>) -> Resp {
        self.api(Method::DELETE, path, body).await
    }

    /// An admin (`/_sandbox/…`) call; no token needed.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self
            .http
            .request(method, format!("{}/_sandbox{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        send(req).await
    }

    /// `POST /contacts/search` with the location filled in.
    pub async fn search(&self, mut body: Value) -> Resp {
        body["locationId"] = json!(self.loc);
        self.post("/contacts/search", body).await
    }

    /// Creates a contact through the API and returns it.
    pub async fn create(&self, mut body: Value) -> Value {
        body["locationId"] = json!(self.loc);
        self.post("/contacts/", body).await.expect(201)["contact"].clone()
    }

    /// The full contact as `GET /contacts/:id` answers it.
    pub async fn contact(&self, id: &str) -> Value {
        self.get(&format!("/contacts/{id}")).await.expect(200)["contact"].clone()
    }

    /// The contact as the admin API shows it, with followers, campaigns and workflows.
    pub async fn admin_contact(&self, id: &str) -> Value {
        self.admin(Method::GET, &format!("/contacts/{id}"), None)
            .await
            .expect(200)["contact"]
            .clone()
    }

    /// The location as the admin API shows it (custom fields, businesses, settings).
    pub async fn location(&self) -> Value {
        let all = self
            .admin(Method::GET, "/locations", None)
            .await
            .expect(200);
        let list = all["locations"].as_array().expect("locations").clone();
        list.into_iter()
            .find(|l| l["id"] == json!(self.loc))
            .expect("own location")
    }

    /// The id of a custom field of the location, by its key (`contact.lead_score`).
    pub async fn custom_field_id(&self, key: &str) -> String {
        let loc = self.location().await;
        let fields = loc["customFields"]
            .as_array()
            .expect("customFields")
            .clone();
        let f = fields
            .into_iter()
            .find(|f| f["fieldKey"] == json!(key))
            .expect("custom field");
        f["id"].as_str().expect("id").to_string()
    }

    /// Every contact of the location, paged through search with `searchAfter`, in the order of
    /// `sort`; asserts no page repeats an id.
    pub async fn search_all(&self, filters: Value, sort: Value, page_limit: usize) -> Vec<Value> {
        let mut out: Vec<Value> = Vec::new();
        let mut seen = HashSet::new();
        let mut after: Option<Value> = None;
        loop {
            let mut body = json!({"pageLimit": page_limit, "filters": filters, "sort": sort});
            if let Some(a) = &after {
                body["searchAfter"] = a.clone();
            }
            let page = self.search(body).await.expect(200);
            let contacts = page["contacts"].as_array().expect("contacts").clone();
            if contacts.is_empty() {
                break;
            }
            after = Some(contacts.last().expect("last")["searchAfter"].clone());
            for c in contacts {
                assert!(seen.insert(id_of(&c)), "id {} returned twice", id_of(&c));
                out.push(c);
            }
        }
        out
    }

    pub async fn shutdown(self) {
        self.sandbox.shutdown().await;
    }
}

async fn send(req: reqwest::RequestBuilder) -> Resp {
    let resp = req.send().await.expect("HTTP request");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Resp { status, body }
}

/// The `id` of a contact (or any object) as a `String`.
pub fn id_of(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

/// The ids of a list of contacts.
pub fn ids(list: &[Value]) -> Vec<String> {
    list.iter().map(id_of).collect()
}
