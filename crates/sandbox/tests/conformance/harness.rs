//! Real HTTP calls to a fresh sandbox: each call names its spec operation, expects a status, and
//! has its body validated against the spec's schema for that status; every validated
//! (operation, status) is recorded so each test can prove what it covered.

use std::collections::{BTreeMap, BTreeSet};

use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use parking_lot::Mutex;
use serde_json::{json, Value};

use super::schemas::{OpKey, SPECS};

/// The `Version` header every v2 call carries.
pub const VERSION: &str = "2021-07-28";

/// A running sandbox and a client for it.
pub struct Api {
    pub sandbox: GhlSandbox,
    pub base: String,
    pub http: reqwest::Client,
    /// Full-access Private Integration Token of the first location.
    pub token: String,
    pub location_id: String,
    seen: Mutex<BTreeMap<OpKey, BTreeSet<u16>>>,
}

enum Auth {
    Default,
    Bearer(String),
    Missing,
}

enum Body {
    None,
    Json(Value),
    Form(Vec<(String, String)>),
}

/// One call being prepared; finish it with [`Call::expect`].
pub struct Call<'a> {
    api: &'a Api,
    op: OpKey,
    path: String,
    query: Vec<(String, String)>,
    body: Body,
    auth: Auth,
    version: bool,
}

impl Api {
    /// A fresh sandbox (one location, small seed data, rate limits out of the way).
    pub async fn start() -> Self {
        let limits = LimitConfig {
            burst_max: 1_000_000,
            burst_interval_ms: 10_000,
            daily_max: 10_000_000,
        };
        let config = GhlConfig {
            contacts: 20,
            limits,
            ..GhlConfig::default()
        };
        let sandbox = GhlSandbox::start(config).await.expect("sandbox starts");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Self {
            base: sandbox.base_url.clone(),
            token: sandbox.token(),
            location_id: sandbox.location_id(),
            sandbox,
            http,
            seen: Mutex::new(BTreeMap::new()),
        }
    }

    /// A call of the spec operation `method path` (path exactly as the spec writes it).
    pub fn call(&self, method: &str, path: &str) -> Call<'_> {
        let op = (method.to_string(), path.to_string());
        assert!(
            SPECS.operation(&op).is_some(),
            "{method} {path} is not an operation of the specs"
        );
        Call {
            api: self,
            path: path.to_string(),
            op,
            query: Vec::new(),
            body: Body::None,
            auth: Auth::Default,
            version: true,
        }
    }

    /// A Private Integration Token of the first location with only these scopes (admin API).
    pub async fn token_with(&self, scopes: &[&str]) -> String {
        let resp = self
            .http
            .post(format!("{}/_sandbox/tokens", self.base))
            .json(&json!({"locationId": self.location_id, "scopes": scopes}))
            .send()
            .await
            .expect("admin: mint token");
        assert_eq!(resp.status().as_u16(), 201, "admin: mint token");
        let body: Value = resp.json().await.expect("admin: token json");
        body["token"].as_str().expect("admin: token").to_string()
    }

    /// POST to the admin API, expecting 201; returns the body.
    pub async fn admin_post(&self, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(format!("{}/_sandbox{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("admin call");
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.expect("admin json");
        assert_eq!(status, 201, "admin POST {path}: {body}");
        body
    }

    /// Asserts that each of `ops` (the operations a test claims) was answered with a documented
    /// success status and a documented error status, both bodies validated. Other operations a
    /// test uses along the way (creating a contact to list it) are validated but not claimed.
    pub fn assert_covered(&self, ops: &[(&str, &str)]) {
        let seen = self.seen.lock();
        for (method, path) in ops {
            let op = (method.to_string(), path.to_string());
            let statuses = seen.get(&op).cloned().unwrap_or_default();
            assert!(
                statuses.iter().any(|s| (200..300).contains(s)),
                "{method} {path}: no success status validated ({statuses:?})"
            );
            assert!(
                statuses.iter().any(|s| (400..500).contains(s)),
                "{method} {path}: no error status validated ({statuses:?})"
            );
        }
    }

    /// Stops the sandbox.
    pub async fn stop(self) {
        self.sandbox.shutdown().await;
    }
}

impl Call<'_> {
    /// Fills `{name}` in the path.
    pub fn path(mut self, name: &str, value: &str) -> Self {
        let slot = format!("{{{name}}}");
        assert!(
            self.path.contains(&slot),
            "{} {} has no path parameter {name}",
            self.op.0,
            self.op.1
        );
        self.path = self.path.replace(&slot, value);
        self
    }

    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_string(), value.to_string()));
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        self.body = Body::Form(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        self
    }

    /// Uses this bearer token instead of the full-access one.
    pub fn bearer(mut self, token: &str) -> Self {
        self.auth = Auth::Bearer(token.to_string());
        self
    }

    /// Sends no `Authorization` header (the OAuth token endpoint).
    pub fn no_auth(mut self) -> Self {
        self.auth = Auth::Missing;
        self
    }

    /// Leaves the `Version` header out.
    pub fn no_version(mut self) -> Self {
        self.version = false;
        self
    }

    /// Sends the call, asserts the status, validates the body against the schema the spec
    /// declares for that status (or the extension's), records the coverage and returns the body.
    pub async fn expect(self, status: u16) -> Value {
        let (method, template) = &self.op;
        assert!(
            !self.path.contains('{'),
            "{method} {template}: path parameters left unfilled: {}",
            self.path
        );
        let url = format!("{}{}", self.api.base, self.path);
        let verb = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.api.http.request(verb, &url).query(&self.query);
        match &self.auth {
            Auth::Default => req = req.bearer_auth(&self.api.token),
            Auth::Bearer(t) => req = req.bearer_auth(t),
            Auth::Missing => {}
        }
        if self.version {
            req = req.header("Version", VERSION);
        }
        req = match self.body {
            Body::None => req,
            Body::Json(v) => req.json(&v),
            Body::Form(f) => req.form(&f),
        };
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {template}: request failed: {e}"));
        let got = resp.status().as_u16();
        let text = resp
            .text()
            .await
            .unwrap_or_else(|e| panic!("{method} {template}: reading the body: {e}"));
        assert_eq!(
            got, status,
            "{method} {template} ({}): expected {status}, got {got}: {text}",
            self.path
        );
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!("{method} {template} answered {got} with a body that is not JSON ({e}): {text}")
        });
        if let Err(message) = SPECS.check(&self.op, got, &body) {
            panic!("{message}");
        }
        self.api
            .seen
            .lock()
            .entry(self.op.clone())
            .or_default()
            .insert(got);
        body
    }
}

/// A string field of a JSON body, or a panic naming it.
pub fn str_at<'v>(v: &'v Value, pointer: &str) -> &'v str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {v}"))
}

/// A bearer token the sandbox never issued.
pub const BOGUS_TOKEN: &str = "pit-not-a-real-token";
/// An id no contact, task or note has.
pub const MISSING_ID: &str = "NoSuchIdNoSuchId0000";

/// The string at `pointer`, owned.
pub fn id_of(body: &Value, pointer: &str) -> String {
    str_at(body, pointer).to_string()
}

/// A contact to hang tasks, notes, tags… on.
pub fn some_contact(api: &Api) -> String {
    let store = api.sandbox.state.store.read();
    let mut ids: Vec<&String> = store.contacts.keys().collect();
    ids.sort();
    ids.first().map(|s| s.to_string()).expect("seeded contacts")
}
