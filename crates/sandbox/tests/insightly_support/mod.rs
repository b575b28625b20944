//! Helpers for the tests of the Insightly emulator: a client that talks real HTTP with Basic
//! auth (`base64("<key>:")`, the documented form) and the open admin API.
#![allow(dead_code)]

use ghl_sandbox::insightly::{InsightlyConfig, InsightlySandbox};
use reqwest::Method;
use serde_json::{json, Value};

/// A small emulator (few contacts, quick to seed), adjusted by `edit`.
pub async fn start(edit: impl FnOnce(&mut InsightlyConfig)) -> (InsightlySandbox, Api) {
    let mut config = InsightlyConfig {
        contacts: 8,
        ..InsightlyConfig::default()
    };
    edit(&mut config);
    let sandbox = InsightlySandbox::start(config)
        .await
        .expect("sandbox starts");
    let api = Api::new(&sandbox.base_url, &sandbox.root_url, &sandbox.api_key());
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
    /// The rows of a list answer (a bare array).
    pub fn rows(&self) -> Vec<Value> {
        match self.json() {
            Value::Array(a) => a,
            other => panic!("not a bare array: {other}"),
        }
    }
    /// Asserts a plain-text error with this status whose text names `needle`.
    pub fn assert_error(&self, status: u16, needle: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        let ct = self.header("content-type").unwrap_or_default();
        assert!(ct.starts_with("text/plain"), "content-type {ct}");
        assert!(
            self.text.contains(needle),
            "{needle:?} not in {:?}",
            self.text
        );
    }
}

/// A client of `/v3.1` with the key, plus the open admin API.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    /// `http://127.0.0.1:<port>/v3.1`
    pub base: String,
    /// `http://127.0.0.1:<port>`
    pub root: String,
    pub key: String,
}

pub async fn read(req: reqwest::RequestBuilder) -> Resp {
    let resp = req.send().await.expect("request reaches the sandbox");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    Resp {
        status,
        headers,
        text,
    }
}

impl Api {
    pub fn new(base: &str, root: &str, key: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.into(),
            root: root.into(),
            key: key.into(),
        }
    }

    /// A request to `path` (relative to `/v3.1`, e.g. `/Contacts`) with Basic `key:`.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .basic_auth(&self.key, Some(""));
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.call(Method::PUT, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, None).await
    }
    pub async fn delete_with(&self, path: &str, body: Value) -> Resp {
        self.call(Method::DELETE, path, Some(body)).await
    }

    /// A call to the admin API (no key).
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self
            .http
            .request(method, format!("{}/_sandbox{path}", self.root));
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req).await
    }

    /// Moves the emulator's clock forward (records are stamped to the second).
    pub async fn advance(&self, secs: u64) {
        let r = self
            .admin(Method::POST, "/clock", Some(json!({"advance_secs": secs})))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    /// The emulator's current time, `YYYY-MM-DD HH:MM:SS`.
    pub async fn now(&self) -> String {
        let r = self.admin(Method::GET, "/clock", None).await;
        r.json()["now"].as_str().expect("now").to_string()
    }

    /// Creates a contact and returns it, asserting 201.
    pub async fn contact(&self, body: Value) -> Value {
        let r = self.post("/Contacts", body).await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.json()
    }

    /// Every row of a list, paged by `top` until a short page.
    pub async fn all(&self, path: &str, top: usize) -> Vec<Value> {
        let mut out = Vec::new();
        let sep = if path.contains('?') { '&' } else { '?' };
        loop {
            let r = self
                .get(&format!("{path}{sep}skip={}&top={top}", out.len()))
                .await;
            assert_eq!(r.status, 200, "{path}: {}", r.text);
            let rows = r.rows();
            let n = rows.len();
            out.extend(rows);
            if n < top {
                return out;
            }
        }
    }
}

/// The id of an answer's record (`CONTACT_ID`, `TASK_ID`, …).
pub fn id_of(v: &Value, field: &str) -> i64 {
    v[field]
        .as_i64()
        .unwrap_or_else(|| panic!("no {field} in {v}"))
}
