//! Helpers shared by the webhook signing and delivery tests.
#![allow(dead_code, unused_imports)]

pub use std::collections::{BTreeSet, HashMap};
pub use std::path::{Path, PathBuf};
pub use std::process::Command;
pub use std::sync::{Arc, OnceLock};
pub use std::time::{Duration, Instant};

pub use axum::body::Bytes;
pub use axum::extract::State;
pub use axum::http::{HeaderMap, HeaderValue, StatusCode};
pub use axum::response::{IntoResponse, Response};
pub use base64::{engine::general_purpose::STANDARD as BASE64, Engine};
pub use ghl_sandbox::ghl::webhooks::{
    DeliveryConfig, DeliveryOutcome, DeliveryRecord, WebhookDispatcher, WebhookKeys, WebhookTarget,
};
pub use parking_lot::Mutex;
pub use serde_json::{json, Value};

pub use DeliveryOutcome::{Delivered, Dropped, Failed, Rejected, Retrying};

// ---------- helpers ----------

/// RSA key generation is slow in debug builds; one key set serves all tests.
pub fn keys() -> Arc<WebhookKeys> {
    static KEYS: OnceLock<Arc<WebhookKeys>> = OnceLock::new();
    let init = || Arc::new(WebhookKeys::generate().expect("generate keys"));
    KEYS.get_or_init(init).clone()
}

pub fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/ghl/webhook-events")
}

pub fn spec_file(event: &str) -> Value {
    let path = spec_dir().join(format!("{event}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("spec")).expect("spec json")
}

pub fn example(event: &str) -> Value {
    spec_file(event)["example"].clone()
}

/// ContactUpdate examples numbered by `seq`, to observe arrival order.
pub fn contacts(n: usize) -> Vec<Value> {
    let event = |seq: usize| {
        let mut payload = example("ContactUpdate");
        payload["id"] = json!(format!("contact{seq:04}"));
        payload["seq"] = json!(seq);
        payload
    };
    (0..n).map(event).collect()
}

/// Retries fast so tests stay quick; `edit` sets the fault under test.
pub fn cfg(edit: impl FnOnce(&mut DeliveryConfig)) -> DeliveryConfig {
    let mut config = DeliveryConfig {
        retry_base_ms: 10,
        ..DeliveryConfig::default()
    };
    edit(&mut config);
    config
}

pub struct Hit {
    pub headers: HeaderMap,
    pub body: Bytes,
    pub json: Value,
    pub at: Instant,
}

impl Hit {
    pub fn header(&self, name: &str) -> &str {
        let value = self.headers.get(name);
        value.expect(name).to_str().expect("ascii header")
    }
    pub fn webhook_id(&self) -> String {
        self.json["webhookId"].as_str().expect("webhookId").into()
    }
    pub fn seq(&self) -> u64 {
        self.json["seq"].as_u64().expect("seq")
    }
}

/// What the receiver records and how it answers.
#[derive(Default)]
pub struct Behaviour {
    pub hits: Vec<Hit>,
    /// Answer 429 this many more times before accepting.
    pub fail_429: usize,
    pub retry_after: Option<&'static str>,
    /// Answer this status once the 429s are used up (200 if unset).
    pub status: Option<u16>,
}

pub struct Receiver {
    pub url: String,
    pub state: Arc<Mutex<Behaviour>>,
}

impl Receiver {
    pub async fn start(behaviour: Behaviour) -> Self {
        let state = Arc::new(Mutex::new(behaviour));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        Self { url, state }
    }
    pub fn target(&self, app_id: &str) -> WebhookTarget {
        let (app_id, url) = (app_id.into(), self.url.clone());
        WebhookTarget { app_id, url }
    }
    pub fn take(&self) -> Vec<Hit> {
        std::mem::take(&mut self.state.lock().hits)
    }
}

pub async fn receive(
    State(state): State<Arc<Mutex<Behaviour>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json = serde_json::from_slice(&body).expect("body is JSON");
    let mut s = state.lock();
    let at = Instant::now();
    s.hits.push(Hit {
        headers,
        body,
        json,
        at,
    });
    if s.fail_429 > 0 {
        s.fail_429 -= 1;
        let mut response = StatusCode::TOO_MANY_REQUESTS.into_response();
        if let Some(secs) = s.retry_after {
            let value = HeaderValue::from_static(secs);
            response.headers_mut().insert("retry-after", value);
        }
        return response;
    }
    let status = StatusCode::from_u16(s.status.unwrap_or(200)).expect("status");
    status.into_response()
}

/// Emits every payload to `receiver` as app "app" and waits until all deliveries are over.
pub async fn run(
    receiver: &Receiver,
    config: DeliveryConfig,
    seed: u64,
    events: Vec<Value>,
) -> (WebhookDispatcher, Vec<String>) {
    let d = WebhookDispatcher::new(keys(), config, seed);
    let target = [receiver.target("app")];
    let ids = events
        .into_iter()
        .flat_map(|e| d.emit(&target, e))
        .collect();
    d.idle().await;
    (d, ids)
}

/// (attempt, outcome, status) of each log line, for compact assertions.
pub fn summary(log: &[DeliveryRecord]) -> Vec<(u32, DeliveryOutcome, Option<u16>)> {
    log.iter()
        .map(|r| (r.attempt, r.outcome, r.status))
        .collect()
}

/// Every delivered payload carries a fresh timestamp, a webhookId and both signatures.
pub fn assert_common(hit: &Hit) {
    assert_eq!(hit.header("content-type"), "application/json");
    assert!(!hit.header("x-ghl-signature").is_empty());
    assert!(!hit.header("x-wh-signature").is_empty());
    assert!(!hit.webhook_id().is_empty());
    let ts = hit.json["timestamp"].as_str().expect("timestamp");
    let parsed = chrono::DateTime::parse_from_rfc3339(ts).expect("RFC 3339 timestamp");
    let millis_utc = ts.ends_with('Z') && ts.len() == "2024-01-01T00:00:00.000Z".len();
    assert!(millis_utc, "{ts}");
    let age = chrono::Utc::now().signed_duration_since(parsed);
    assert!(age.num_seconds().abs() < 60, "timestamp {ts} is not now");
}

/// Verifies `body` with the openssl CLI: Ed25519 if `ed25519`, else RSA PKCS#1 v1.5 SHA-256.
pub fn openssl_verify(ed25519: bool, public_pem: &str, body: &[u8], signature_b64: &str) -> bool {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let (pem, body_path, sig) = (path("key.pem"), path("body"), path("sig"));
    let (pem, body_path, sig) = (pem.as_str(), body_path.as_str(), sig.as_str());
    std::fs::write(pem, public_pem).expect("write pem");
    std::fs::write(body_path, body).expect("write body");
    let signature = BASE64.decode(signature_b64).expect("base64 signature");
    std::fs::write(sig, signature).expect("write sig");
    let args: Vec<&str> = if ed25519 {
        let head = ["pkeyutl", "-verify", "-pubin", "-inkey", pem, "-rawin"];
        head.into_iter()
            .chain(["-in", body_path, "-sigfile", sig])
            .collect()
    } else {
        vec![
            "dgst",
            "-sha256",
            "-verify",
            pem,
            "-signature",
            sig,
            body_path,
        ]
    };
    let output = Command::new("openssl").args(&args).output();
    output
        .expect("run openssl (is it installed?)")
        .status
        .success()
}

pub fn ed_ok(pem: &str, body: &[u8], sig: &str) -> bool {
    openssl_verify(true, pem, body, sig)
}

pub fn rsa_ok(pem: &str, body: &[u8], sig: &str) -> bool {
    openssl_verify(false, pem, body, sig)
}

// ---------- signing ----------
