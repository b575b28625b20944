//! Helpers for the tests of the "Your App" REST emulator: a client that talks real HTTP with the
//! bearer key, and a webhook receiver that records what arrives and can answer with failures.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use ghl_sandbox::rest::{RestConfig, RestSandbox};
use parking_lot::Mutex;
use reqwest::Method;
use serde_json::Value;
use tokio::sync::watch;

/// A guard against a hung test, never a wait for something: every wait below resolves on an event.
pub const GUARD: Duration = Duration::from_secs(60);

/// A small emulator (few contacts, quick to seed), adjusted by `edit`.
pub async fn start(edit: impl FnOnce(&mut RestConfig)) -> (RestSandbox, Api) {
    let mut config = RestConfig {
        contacts: 5,
        ..RestConfig::default()
    };
    edit(&mut config);
    let sandbox = RestSandbox::start(config).await.expect("sandbox starts");
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
    /// `error.code` of an error answer.
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .into()
    }
    /// `error.details.fields` of a 422, as a JSON object.
    pub fn fields(&self) -> Value {
        self.json()["error"]["details"]["fields"].clone()
    }
    pub fn id(&self) -> String {
        self.json()["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {}", self.text))
            .into()
    }
}

/// A client of `/v1` with the bearer key, plus the open admin API.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub key: String,
}

impl Api {
    pub fn new(base: &str, key: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.into(),
            key: key.into(),
        }
    }

    /// A request to `path` (absolute, e.g. `/v1/contacts`) with the key and optional JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, None, &[]).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(body), &[]).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.call(Method::PATCH, path, Some(body), &[]).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, None, &[]).await
    }

    /// A call to the admin API (no key).
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self
            .http
            .request(method, format!("{}/_sandbox{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req).await
    }

    /// Creates a contact and returns it, asserting 201.
    pub async fn contact(&self, body: Value) -> Value {
        let r = self.post("/v1/contacts", body).await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.json()
    }

    /// Every page of a list, following `next_cursor`.
    pub async fn all(&self, path_and_query: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if path_and_query.contains('?') {
                '&'
            } else {
                '?'
            };
            let url = match &cursor {
                Some(c) => format!("{path_and_query}{sep}cursor={c}"),
                None => path_and_query.to_string(),
            };
            let r = self.get(&url).await;
            assert_eq!(r.status, 200, "{url}: {}", r.text);
            let page = r.json();
            out.extend(page["data"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return out,
            }
        }
    }
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

/// One webhook delivery as received.
#[derive(Debug, Clone)]
pub struct Hit {
    pub headers: HeaderMap,
    pub body: Bytes,
    pub json: Value,
}

impl Hit {
    pub fn header(&self, name: &str) -> String {
        let v = self
            .headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name}"));
        v.to_str().expect("ascii").to_string()
    }
    pub fn event_type(&self) -> String {
        self.json["type"].as_str().unwrap_or_default().into()
    }
    pub fn event_id(&self) -> String {
        self.json["id"].as_str().unwrap_or_default().into()
    }
}

#[derive(Default)]
struct Inner {
    hits: Vec<Hit>,
    /// Statuses to answer, in order, before answering 200 for good.
    script: Vec<u16>,
}

/// A webhook receiver on a random port.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
    count: watch::Sender<usize>,
}

impl Receiver {
    /// Answers `script` in order (e.g. `[500, 503]`), then 200.
    pub async fn start(script: Vec<u16>) -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            hits: Vec::new(),
            script,
        }));
        let count = watch::channel(0).0;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let me = Self { url, inner, count };
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(me.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        me
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.inner.lock().hits.clone()
    }

    /// Waits until at least `n` requests have arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Hit> {
        let mut rx = self.count.subscribe();
        tokio::time::timeout(GUARD, rx.wait_for(|c| *c >= n))
            .await
            .unwrap_or_else(|_| panic!("fewer than {n} webhooks arrived: {:?}", self.hits()))
            .expect("receiver alive");
        self.hits()
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let json = serde_json::from_slice(&body).expect("webhook body is JSON");
    let status = {
        let mut inner = r.inner.lock();
        inner.hits.push(Hit {
            headers,
            body,
            json,
        });
        if inner.script.is_empty() {
            200
        } else {
            inner.script.remove(0)
        }
    };
    r.count.send_modify(|c| *c += 1);
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}

/// Checks `X-Signature` the way a receiver would, with aws-lc-rs directly: HMAC-SHA256 over
/// `X-Timestamp + "." + raw body`, compared in constant time by `hmac::verify`.
pub fn signature_valid(hit: &Hit, secret: &str) -> bool {
    use aws_lc_rs::hmac;
    let sig = hit.header("x-signature");
    let Some(hex) = sig.strip_prefix("sha256=") else {
        return false;
    };
    let Some(tag) = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    let mut signed = hit.header("x-timestamp").into_bytes();
    signed.push(b'.');
    signed.extend_from_slice(&hit.body);
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    hmac::verify(&key, &signed, &tag).is_ok()
}
