//! Helpers for the tests of the SalesNexus emulator: a client that talks real HTTP with the
//! `X-Api-Key` header, and the admin API.
#![allow(dead_code)]

use ghl_sandbox::salesnexus::{SnConfig, SnSandbox};
use reqwest::Method;
use serde_json::Value;

/// A small emulator, adjusted by `edit`.
pub async fn start(edit: impl FnOnce(&mut SnConfig)) -> (SnSandbox, Api) {
    let mut config = SnConfig {
        contacts: 8,
        ..SnConfig::default()
    };
    edit(&mut config);
    let sandbox = SnSandbox::start(config).await.expect("sandbox starts");
    let api = Api::new(&sandbox.base_url, &sandbox.api_key());
    (sandbox, api)
}

/// An answer read to the end.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
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
    /// The `id` of a record answer.
    pub fn id(&self) -> i64 {
        self.json()["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no id in {}", self.text))
    }
    /// Asserts the status, returning the answer for chaining.
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status, status, "{}", self.text);
        self
    }
}

/// A client of one emulator.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub key: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(base: &str, key: &str) -> Self {
        Self {
            base: base.to_string(),
            key: key.to_string(),
            http: reqwest::Client::new(),
        }
    }

    /// The same emulator with another key (or none, for `""`).
    pub fn with_key(&self, key: &str) -> Self {
        Self {
            key: key.to_string(),
            ..self.clone()
        }
    }

    /// `METHOD /api/v1<path>` with the key; `body` is sent unless it is `null`.
    pub async fn call(&self, method: Method, path: &str, body: Value) -> Resp {
        let mut rb = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base));
        if !self.key.is_empty() {
            rb = rb.header("X-Api-Key", &self.key);
        }
        if !body.is_null() {
            rb = rb.json(&body);
        }
        read(rb.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, Value::Null).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path, body).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.call(Method::PUT, path, body).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, Value::Null).await
    }

    /// `METHOD /_sandbox<path>` (no key); the answer must be 2xx.
    pub async fn admin(&self, method: Method, path: &str, body: Value) -> Value {
        let mut rb = self
            .http
            .request(method, format!("{}/_sandbox{path}", self.base));
        if !body.is_null() {
            rb = rb.json(&body);
        }
        let r = read(rb.send().await.expect("admin request sent")).await;
        assert!(
            (200..300).contains(&r.status),
            "admin {path}: {} {}",
            r.status,
            r.text
        );
        serde_json::from_str(&r.text).unwrap_or(Value::Null)
    }

    /// The request log.
    pub async fn log(&self) -> Vec<Value> {
        let v = self
            .admin(Method::GET, "/requests?limit=100000", Value::Null)
            .await;
        v["requests"].as_array().cloned().unwrap_or_default()
    }
}

async fn read(resp: reqwest::Response) -> Resp {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("answer read");
    Resp {
        status,
        headers,
        text,
    }
}

/// Every id in a list of records.
pub fn ids(rows: &Value) -> Vec<i64> {
    rows.as_array()
        .map(|a| a.iter().filter_map(|r| r["id"].as_i64()).collect())
        .unwrap_or_default()
}
