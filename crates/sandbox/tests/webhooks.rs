//! Webhook signing and delivery, over real HTTP to a local axum receiver. Signatures are checked
//! with the `openssl` CLI, an implementation independent of the one that signed them.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::{engine::general_purpose::STANDARD as BASE64, Engine};
use ghl_sandbox::ghl::webhooks::{
    DeliveryConfig, DeliveryOutcome, DeliveryRecord, WebhookDispatcher, WebhookKeys, WebhookTarget,
};
use parking_lot::Mutex;
use serde_json::{json, Value};

use DeliveryOutcome::{Delivered, Dropped, Failed, Rejected, Retrying};

// ---------- helpers ----------

/// RSA key generation is slow in debug builds; one key set serves all tests.
fn keys() -> Arc<WebhookKeys> {
    static KEYS: OnceLock<Arc<WebhookKeys>> = OnceLock::new();
    let init = || Arc::new(WebhookKeys::generate().expect("generate keys"));
    KEYS.get_or_init(init).clone()
}

fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/ghl/webhook-events")
}

fn spec_file(event: &str) -> Value {
    let path = spec_dir().join(format!("{event}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("spec")).expect("spec json")
}

fn example(event: &str) -> Value {
    spec_file(event)["example"].clone()
}

/// ContactUpdate examples numbered by `seq`, to observe arrival order.
fn contacts(n: usize) -> Vec<Value> {
    let event = |seq: usize| {
        let mut payload = example("ContactUpdate");
        payload["id"] = json!(format!("contact{seq:04}"));
        payload["seq"] = json!(seq);
        payload
    };
    (0..n).map(event).collect()
}

/// Retries fast so tests stay quick; `edit` sets the fault under test.
fn cfg(edit: impl FnOnce(&mut DeliveryConfig)) -> DeliveryConfig {
    let mut config = DeliveryConfig {
        retry_base_ms: 10,
        ..DeliveryConfig::default()
    };
    edit(&mut config);
    config
}

struct Hit {
    headers: HeaderMap,
    body: Bytes,
    json: Value,
    at: Instant,
}

impl Hit {
    fn header(&self, name: &str) -> &str {
        let value = self.headers.get(name);
        value.expect(name).to_str().expect("ascii header")
    }
    fn webhook_id(&self) -> String {
        self.json["webhookId"].as_str().expect("webhookId").into()
    }
    fn seq(&self) -> u64 {
        self.json["seq"].as_u64().expect("seq")
    }
}

/// What the receiver records and how it answers.
#[derive(Default)]
struct Behaviour {
    hits: Vec<Hit>,
    /// Answer 429 this many more times before accepting.
    fail_429: usize,
    retry_after: Option<&'static str>,
    /// Answer this status once the 429s are used up (200 if unset).
    status: Option<u16>,
}

struct Receiver {
    url: String,
    state: Arc<Mutex<Behaviour>>,
}

impl Receiver {
    async fn start(behaviour: Behaviour) -> Self {
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
    fn target(&self, app_id: &str) -> WebhookTarget {
        let (app_id, url) = (app_id.into(), self.url.clone());
        WebhookTarget { app_id, url }
    }
    fn take(&self) -> Vec<Hit> {
        std::mem::take(&mut self.state.lock().hits)
    }
}

async fn receive(
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
async fn run(
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
fn summary(log: &[DeliveryRecord]) -> Vec<(u32, DeliveryOutcome, Option<u16>)> {
    log.iter()
        .map(|r| (r.attempt, r.outcome, r.status))
        .collect()
}

/// Every delivered payload carries a fresh timestamp, a webhookId and both signatures.
fn assert_common(hit: &Hit) {
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
fn openssl_verify(ed25519: bool, public_pem: &str, body: &[u8], signature_b64: &str) -> bool {
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

fn ed_ok(pem: &str, body: &[u8], sig: &str) -> bool {
    openssl_verify(true, pem, body, sig)
}

fn rsa_ok(pem: &str, body: &[u8], sig: &str) -> bool {
    openssl_verify(false, pem, body, sig)
}

// ---------- signing ----------

#[tokio::test]
async fn signatures_verify_with_openssl_and_payloads_match_the_schemas() {
    let mut names: Vec<String> = std::fs::read_dir(spec_dir())
        .expect("spec dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| p.file_stem().expect("stem").to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 14, "examples found: {names:?}");
    let receiver = Receiver::start(Behaviour::default()).await;
    let events = names.iter().map(|n| example(n)).collect();
    run(&receiver, cfg(|_| {}), 1, events).await;
    let hits = receiver.take();
    assert_eq!(hits.len(), names.len());

    let k = keys();
    let (ed_pem, rsa_pem) = (k.ed25519_public_pem(), k.rsa_public_pem());
    assert!(ed_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    assert!(rsa_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    for hit in &hits {
        assert_common(hit);
        assert!(ed_ok(&ed_pem, &hit.body, hit.header("x-ghl-signature")));
        assert!(rsa_ok(&rsa_pem, &hit.body, hit.header("x-wh-signature")));

        let event_type = hit.json["type"].as_str().expect("type");
        let schema = spec_file(event_type)["schema"].clone();
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        assert!(validator.is_valid(&hit.json), "{event_type} off-schema");
        let mut expected = example(event_type);
        expected["timestamp"] = hit.json["timestamp"].clone();
        expected["webhookId"] = hit.json["webhookId"].clone();
        assert_eq!(hit.json, expected, "payload changed with no fault set");
    }

    // Tampered body: both signatures must fail.
    let hit = &hits[0];
    let (ed_sig, rsa_sig) = (hit.header("x-ghl-signature"), hit.header("x-wh-signature"));
    let mut tampered = hit.body.to_vec();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x01;
    assert!(!ed_ok(&ed_pem, &tampered, ed_sig));
    assert!(!rsa_ok(&rsa_pem, &tampered, rsa_sig));

    // Someone else's keys (fresh ones, and GHL's real legacy key) must not verify.
    let other = WebhookKeys::generate().expect("other keys");
    assert!(!ed_ok(&other.ed25519_public_pem(), &hit.body, ed_sig));
    assert!(!rsa_ok(&other.rsa_public_pem(), &hit.body, rsa_sig));
    let legacy = spec_dir().join("../webhook-public-key.pem");
    let legacy = std::fs::read_to_string(legacy).expect("GHL legacy key");
    assert!(!rsa_ok(&legacy, &hit.body, rsa_sig));
}

#[test]
fn load_or_create_round_trips_and_files_are_pkcs8() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys_dir = dir.path().join("nested/keys");
    let first = WebhookKeys::load_or_create(&keys_dir).expect("create");
    for file in ["ed25519.pk8", "rsa.pk8"] {
        let path = keys_dir.join(file);
        // openssl reads what was written as a PKCS#8 DER private key.
        let ok = Command::new("openssl")
            .args(["pkey", "-inform", "DER", "-noout", "-in"])
            .arg(&path)
            .status()
            .expect("run openssl");
        assert!(ok.success(), "{file} is not PKCS#8 DER");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o077, 0, "{file} readable by others");
        }
    }
    let second = WebhookKeys::load_or_create(&keys_dir).expect("reload");
    assert_eq!(first.ed25519_public_pem(), second.ed25519_public_pem());
    assert_eq!(first.rsa_public_pem(), second.rsa_public_pem());
    // A signature made after the reload verifies against the key published before it.
    let sig = second.sign_ed25519(b"{}");
    assert!(ed_ok(&first.ed25519_public_pem(), b"{}", &sig));
    let sig = second.sign_rsa(b"{}");
    assert!(rsa_ok(&first.rsa_public_pem(), b"{}", &sig));
}

#[test]
fn corrupt_or_wrong_kind_key_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    WebhookKeys::load_or_create(dir.path()).expect("create");
    let load_error = || {
        let result = WebhookKeys::load_or_create(dir.path());
        result.expect_err("bad key accepted").to_string()
    };

    let ed = dir.path().join("ed25519.pk8");
    let good = std::fs::read(&ed).expect("read");
    std::fs::write(&ed, b"definitely not DER").expect("corrupt");
    let message = load_error();
    assert!(message.contains("ed25519.pk8"), "{message}");
    assert!(message.contains("not a valid Ed25519"), "{message}");

    // A key of the wrong kind (Ed25519 in the RSA file) is refused too, naming the file.
    std::fs::write(&ed, good).expect("restore");
    std::fs::copy(&ed, dir.path().join("rsa.pk8")).expect("swap");
    let message = load_error();
    assert!(message.contains("rsa.pk8"), "{message}");
    assert!(message.contains("not a valid RSA"), "{message}");
}

// ---------- retries ----------

#[tokio::test]
async fn answers_429_are_retried_until_accepted() {
    let receiver = Receiver::start(Behaviour {
        fail_429: 2,
        ..Behaviour::default()
    })
    .await;
    let event = vec![example("ContactCreate")];
    let (d, ids) = run(&receiver, cfg(|_| {}), 2, event).await;

    let hits = receiver.take();
    assert_eq!(hits.len(), 3);
    for hit in &hits {
        assert_common(hit);
        assert_eq!(hit.body, hits[0].body, "retries resend the same bytes");
        let signature = hit.header("x-ghl-signature");
        assert_eq!(signature, hits[0].header("x-ghl-signature"));
        assert_eq!(hit.webhook_id(), ids[0]);
    }
    let log = d.deliveries();
    let expected = [
        (1, Retrying, Some(429)),
        (2, Retrying, Some(429)),
        (3, Delivered, Some(200)),
    ];
    assert_eq!(summary(&log), expected);
    assert!(log
        .iter()
        .all(|r| r.webhook_id == ids[0] && r.app_id == "app"));
    assert_eq!(log[0].event_type, "ContactCreate");
    assert_eq!(log[0].location_id.as_deref(), Some("ve9EPM428h8vShlRW1KT"));
    let stats = d.stats();
    assert_eq!((stats.emitted, stats.retried, stats.delivered), (1, 2, 1));
}

#[tokio::test]
async fn retry_after_seconds_is_honoured() {
    let receiver = Receiver::start(Behaviour {
        fail_429: 1,
        retry_after: Some("1"),
        ..Behaviour::default()
    })
    .await;
    run(&receiver, cfg(|_| {}), 3, vec![example("NoteCreate")]).await;
    let hits = receiver.take();
    assert_eq!(hits.len(), 2);
    let waited = hits[1].at.duration_since(hits[0].at);
    assert!(waited >= Duration::from_millis(950), "waited {waited:?}");
}

#[tokio::test]
async fn persistent_429_gives_up_after_max_attempts() {
    let receiver = Receiver::start(Behaviour {
        fail_429: 100,
        ..Behaviour::default()
    })
    .await;
    let config = cfg(|c| c.max_attempts = 3);
    let (d, _) = run(&receiver, config, 4, vec![example("TaskCreate")]).await;
    assert_eq!(receiver.take().len(), 3);
    let last = summary(&d.deliveries()).pop();
    assert_eq!(last, Some((3, Failed, Some(429))));
    assert_eq!(d.stats().failed, 1);
}

#[tokio::test]
async fn server_error_is_not_retried() {
    let receiver = Receiver::start(Behaviour {
        status: Some(500),
        ..Behaviour::default()
    })
    .await;
    let event = vec![example("ContactDelete")];
    let (d, _) = run(&receiver, cfg(|_| {}), 5, event).await;
    assert_eq!(receiver.take().len(), 1);
    assert_eq!(summary(&d.deliveries()), [(1, Rejected, Some(500))]);
    assert_eq!((d.stats().retried, d.stats().failed), (0, 1));
}

#[tokio::test]
async fn connection_error_is_not_retried() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let d = WebhookDispatcher::new(keys(), cfg(|_| {}), 6);
    let target = WebhookTarget {
        app_id: "app".into(),
        url: format!("http://127.0.0.1:{port}/hook"),
    };
    d.emit(&[target], example("ContactCreate"));
    d.idle().await;
    let log = d.deliveries();
    assert_eq!(summary(&log), [(1, Failed, None)]);
    assert!(log[0].error.is_some());
}

// ---------- faults ----------

#[tokio::test]
async fn drop_rate_one_delivers_nothing() {
    let receiver = Receiver::start(Behaviour::default()).await;
    let config = cfg(|c| c.drop_rate = 1.0);
    let (d, ids) = run(&receiver, config, 7, contacts(10)).await;
    assert!(receiver.take().is_empty());
    let log = d.deliveries();
    assert_eq!(summary(&log), [(0, Dropped, None); 10]);
    let logged: Vec<String> = log.into_iter().map(|r| r.webhook_id).collect();
    assert_eq!(logged, ids);
    assert_eq!((d.stats().emitted, d.stats().dropped), (10, 10));
}

#[tokio::test]
async fn duplicate_rate_one_delivers_each_id_exactly_twice() {
    let receiver = Receiver::start(Behaviour::default()).await;
    let config = cfg(|c| c.duplicate_rate = 1.0);
    let (d, ids) = run(&receiver, config, 8, contacts(10)).await;
    let hits = receiver.take();
    let mut by_id: HashMap<String, Vec<&Hit>> = HashMap::new();
    for hit in &hits {
        assert_common(hit);
        by_id.entry(hit.webhook_id()).or_default().push(hit);
    }
    assert_eq!(by_id.len(), 10);
    for id in &ids {
        let copies = &by_id[id];
        assert_eq!(copies.len(), 2, "{id}");
        assert_eq!(copies[0].body, copies[1].body, "copies differ");
        let signature = copies[0].header("x-ghl-signature");
        assert_eq!(signature, copies[1].header("x-ghl-signature"));
    }
    let duplicates = d.deliveries().iter().filter(|r| r.duplicate).count();
    assert_eq!(duplicates, 10);
    assert_eq!((d.stats().duplicated, d.stats().delivered), (10, 20));
}

#[tokio::test]
async fn fault_rates_are_observed_in_a_sane_band() {
    let receiver = Receiver::start(Behaviour::default()).await;
    let config = cfg(|c| {
        c.duplicate_rate = 0.3;
        c.drop_rate = 0.3;
    });
    let n = 500;
    let (d, _) = run(&receiver, config, 9, contacts(n)).await;
    let mut counts: HashMap<String, usize> = HashMap::new();
    for hit in receiver.take() {
        *counts.entry(hit.webhook_id()).or_default() += 1;
    }
    assert!(counts.values().all(|&c| c == 1 || c == 2));
    let twice = counts.values().filter(|&&c| c == 2).count();
    let drop_fraction = (n - counts.len()) as f64 / n as f64;
    let duplicate_fraction = twice as f64 / counts.len() as f64;
    assert!((0.2..0.4).contains(&drop_fraction), "drops {drop_fraction}");
    let in_band = (0.2..0.4).contains(&duplicate_fraction);
    assert!(in_band, "duplicates {duplicate_fraction}");
    let stats = d.stats();
    assert_eq!(stats.dropped as usize, n - counts.len());
    assert_eq!(stats.duplicated as usize, twice);
}

#[tokio::test]
async fn reorder_delivers_some_events_after_later_ones() {
    let receiver = Receiver::start(Behaviour::default()).await;
    let config = cfg(|c| {
        c.reorder_rate = 0.5;
        c.reorder_delay_ms = 50;
    });
    let (d, _) = run(&receiver, config, 10, contacts(50)).await;
    let arrived: Vec<u64> = receiver.take().iter().map(Hit::seq).collect();
    let distinct: BTreeSet<u64> = arrived.iter().copied().collect();
    assert_eq!(distinct, (0..50).collect(), "every event arrives once");
    let out_of_order = arrived.windows(2).any(|w| w[0] > w[1]);
    assert!(out_of_order, "no out-of-order arrival: {arrived:?}");
    assert!(d.stats().reordered > 0);
}

#[tokio::test]
async fn without_faults_each_target_gets_its_own_id_in_order() {
    let r1 = Receiver::start(Behaviour::default()).await;
    let r2 = Receiver::start(Behaviour::default()).await;
    let d = WebhookDispatcher::new(keys(), cfg(|_| {}), 11);
    let targets = [r1.target("app-one"), r2.target("app-two")];
    let (mut ids1, mut ids2) = (Vec::new(), Vec::new());
    for event in contacts(100) {
        let created = d.emit(&targets, event);
        assert_eq!(created.len(), 2);
        assert_ne!(created[0], created[1], "one webhookId per (event, target)");
        ids1.push(created[0].clone());
        ids2.push(created[1].clone());
    }
    d.idle().await;
    for (receiver, expected) in [(&r1, ids1), (&r2, ids2)] {
        let hits = receiver.take();
        hits.iter().for_each(assert_common);
        let got: Vec<String> = hits.iter().map(Hit::webhook_id).collect();
        assert_eq!(got, expected, "per-target FIFO");
    }
    assert_eq!(d.stats().delivered, 200);
    assert!(d.deliveries().iter().all(|r| r.outcome == Delivered));
    d.clear_log();
    assert!(d.deliveries().is_empty());
}

#[tokio::test]
async fn missing_fields_keep_the_identifying_ones() {
    let receiver = Receiver::start(Behaviour::default()).await;
    let names = [
        "ContactUpdate",
        "NoteCreate",
        "TaskCreate",
        "AppointmentCreate",
    ];
    let events = names.iter().flat_map(|n| vec![example(n); 5]).collect();
    let config = cfg(|c| c.missing_fields_rate = 1.0);
    run(&receiver, config, 12, events).await;
    let hits = receiver.take();
    assert_eq!(hits.len(), names.len() * 5);
    for hit in &hits {
        assert_common(hit);
        let event_type = hit.json["type"].as_str().expect("type").to_owned();
        let original = example(&event_type);
        assert_eq!(hit.json["locationId"], original["locationId"]);
        // The object that fields were removed from, and its original.
        let (got, full) = if event_type.starts_with("Appointment") {
            (&hit.json["appointment"], &original["appointment"])
        } else {
            (&hit.json, &original)
        };
        assert_eq!(got["id"], full["id"], "{event_type}");
        assert_eq!(got["contactId"], full["contactId"], "{event_type}");
        let (got, full) = (
            got.as_object().expect("obj"),
            full.as_object().expect("obj"),
        );
        let removed = full.keys().any(|k| !got.contains_key(k));
        assert!(removed, "{event_type}: nothing removed");
        // What is left is unchanged.
        for (key, value) in got {
            if key != "timestamp" && key != "webhookId" {
                assert_eq!(Some(value), full.get(key), "{event_type}.{key}");
            }
        }
    }
}

#[tokio::test]
async fn same_seed_same_faults_but_fresh_ids() {
    let receiver = Receiver::start(Behaviour::default()).await;
    let mut runs = Vec::new();
    for _ in 0..2 {
        let config = cfg(|c| c.drop_rate = 0.5);
        let (d, ids) = run(&receiver, config, 42, contacts(40)).await;
        let dropped: BTreeSet<String> = d
            .deliveries()
            .into_iter()
            .filter(|r| r.outcome == Dropped)
            .map(|r| r.webhook_id)
            .collect();
        let pattern: Vec<bool> = ids.iter().map(|id| dropped.contains(id)).collect();
        runs.push((pattern, ids));
    }
    assert_eq!(runs[0].0, runs[1].0, "same seed, same drops");
    assert!(runs[0].0.contains(&true) && runs[0].0.contains(&false));
    assert_ne!(runs[0].1, runs[1].1, "webhookIds must stay fresh");
}

#[test]
fn config_defaults_and_camel_case() {
    let partial = json!({ "dropRate": 0.25, "maxAttempts": 2 });
    let config: DeliveryConfig = serde_json::from_value(partial).expect("parse");
    assert_eq!((config.drop_rate, config.max_attempts), (0.25, 2));
    assert_eq!(config.duplicate_rate, 0.0);
    assert_eq!(config.reorder_delay_ms, 200);
    assert_eq!((config.retry_base_ms, config.timeout_ms), (100, 5000));
    let value = serde_json::to_value(DeliveryConfig::default()).expect("serialise");
    assert_eq!(value["missingFieldsRate"], json!(0.0));
    assert_eq!(value["maxAttempts"], json!(5));
}
