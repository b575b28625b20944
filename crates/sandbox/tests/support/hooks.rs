//! The webhook side of the data-behaviour tests: a recording receiver, signature checks with
//! aws-lc-rs against `/_sandbox/webhook-keys`, and payload-shape checks against GHL's examples.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::sync::Arc;

use aws_lc_rs::signature::{UnparsedPublicKey, ED25519, RSA_PKCS1_2048_8192_SHA256};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use base64::{engine::general_purpose::STANDARD as BASE64, Engine};
use parking_lot::Mutex;
use reqwest::Method;
use serde_json::{json, Value};

use super::{config, Resp, Sb};

/// What the receiver got: headers and the exact body bytes.
pub type Hits = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A webhook receiver on 127.0.0.1:0 that records every request and answers 200.
pub async fn receiver() -> (String, Hits) {
    let hits: Hits = Arc::default();
    let record = hits.clone();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let record = record.clone();
            async move {
                record.lock().push((headers, body));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind receiver");
    let url = format!("http://{}/hooks", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("receiver") });
    (url, hits)
}

/// The DER inside a PEM block.
pub fn pem_der(pem: &str) -> Vec<u8> {
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    BASE64.decode(b64).expect("PEM base64")
}

/// The sandbox, the receiver and the published verification keys.
pub struct Hooks {
    pub sb: Sb,
    pub hits: Hits,
    /// Raw 32-byte Ed25519 public key (the tail of its SubjectPublicKeyInfo).
    pub ed25519: Vec<u8>,
    /// RSA SubjectPublicKeyInfo DER; aws-lc-rs parses PKCS#1 `RSAPublicKey` and, failing that,
    /// SPKI (`rsa::key::parse_rsa_public_key`), so the SPKI DER is used as published.
    pub rsa: Vec<u8>,
    pub webhook_ids: HashSet<String>,
}

impl Hooks {
    pub async fn start() -> Self {
        let (url, hits) = receiver().await;
        let sb = Sb::start(ghl_sandbox::ghl::GhlConfig {
            webhook_url: Some(url),
            ..config(31, 20)
        })
        .await;
        let keys = sb
            .admin(Method::GET, "/webhook-keys", None)
            .await
            .expect(200);
        assert_eq!(keys["ed25519Header"], json!("x-ghl-signature"));
        assert_eq!(keys["rsaHeader"], json!("x-wh-signature"));
        let ed_spki = pem_der(keys["ed25519PublicKey"].as_str().expect("ed25519 PEM"));
        // SEQUENCE { SEQUENCE { OID 1.3.101.112 } BIT STRING (32 bytes) }
        assert_eq!(
            &ed_spki[..12],
            &[0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]
        );
        let ed25519 = ed_spki[ed_spki.len() - 32..].to_vec();
        let rsa = pem_der(keys["rsaPublicKey"].as_str().expect("RSA PEM"));
        Self {
            sb,
            hits,
            ed25519,
            rsa,
            webhook_ids: HashSet::new(),
        }
    }

    pub fn emitted(&self) -> u64 {
        self.sb.sandbox.state.webhooks.stats().emitted
    }

    /// Waits until every queued delivery is done, then takes what arrived, checking each request's
    /// two signatures over the raw body, `timestamp`, and a never-seen `webhookId`.
    pub async fn settle(&mut self) -> Vec<Value> {
        self.sb.sandbox.state.webhooks.idle().await;
        let hits: Vec<(HeaderMap, Bytes)> = std::mem::take(&mut *self.hits.lock());
        let mut out = Vec::new();
        for (headers, body) in hits {
            let sig = |name: &str| {
                let h = headers
                    .get(name)
                    .unwrap_or_else(|| panic!("no {name} header"));
                BASE64
                    .decode(h.to_str().expect("ascii"))
                    .expect("base64 signature")
            };
            let ed = UnparsedPublicKey::new(&ED25519, &self.ed25519);
            ed.verify(&body, &sig("x-ghl-signature"))
                .expect("x-ghl-signature verifies");
            let rsa = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.rsa);
            rsa.verify(&body, &sig("x-wh-signature"))
                .expect("x-wh-signature verifies");
            let mut tampered = body.to_vec();
            tampered.push(b' ');
            assert!(
                ed.verify(&tampered, &sig("x-ghl-signature")).is_err(),
                "signature covers the body"
            );
            let payload: Value = serde_json::from_slice(&body).expect("JSON body");
            let ts = payload["timestamp"].as_str().expect("timestamp");
            chrono::DateTime::parse_from_rfc3339(ts).expect("timestamp is a date");
            let id = payload["webhookId"]
                .as_str()
                .expect("webhookId")
                .to_string();
            assert!(self.webhook_ids.insert(id), "webhookId repeated");
            assert_eq!(payload["locationId"], json!(self.sb.loc));
            out.push(payload);
        }
        out
    }

    /// Settles and asserts exactly these event types arrived (in any order); returns them by type.
    pub async fn expect(&mut self, types: &[&str]) -> Vec<Value> {
        let mut got = self.settle().await;
        let mut names: Vec<String> = got
            .iter()
            .map(|p| p["type"].as_str().expect("type").to_string())
            .collect();
        names.sort();
        let mut want: Vec<String> = types.iter().map(|t| t.to_string()).collect();
        want.sort();
        assert_eq!(names, want, "event types");
        got.sort_by_key(|p| types.iter().position(|t| p["type"] == json!(t)));
        got
    }

    /// Asserts a change emitted nothing at all.
    pub async fn expect_none(&mut self, emitted_before: u64, what: &str) {
        assert_eq!(self.emitted(), emitted_before, "{what} emitted a webhook");
        assert!(self.settle().await.is_empty(), "{what} delivered a webhook");
    }
}

pub fn example_keys(event: &str, nested: Option<&str>) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../spec/ghl/webhook-events/{event}.json"));
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("example file")).expect("JSON");
    let example = match nested {
        Some(key) => &spec["example"][key],
        None => &spec["example"],
    };
    example
        .as_object()
        .expect("example object")
        .keys()
        .cloned()
        .collect()
}

/// The payload (or its `nested` object) has the example's keys; a key may be absent only when the
/// entity (as the API shows it) has no value for it. Top level also has `timestamp`, `webhookId`.
pub fn assert_shape(payload: &Value, event: &str, nested: Option<&str>, entity: &Value) {
    assert_eq!(payload["type"], json!(event));
    let object = nested.map_or(payload, |k| &payload[k]);
    let mut got: BTreeSet<String> = object
        .as_object()
        .expect("object")
        .keys()
        .cloned()
        .collect();
    if nested.is_none() {
        assert!(
            got.remove("timestamp") && got.remove("webhookId"),
            "{event}: timestamp and webhookId"
        );
    }
    let want = example_keys(event, nested);
    let extra: Vec<&String> = got.difference(&want).collect();
    assert!(
        extra.is_empty(),
        "{event}: keys not in the example: {extra:?}"
    );
    for missing in want.difference(&got) {
        let v = &entity[missing.as_str()];
        let empty =
            v.is_null() || v.as_str() == Some("") || v.as_array().is_some_and(Vec::is_empty);
        assert!(
            empty,
            "{event}: `{missing}` absent from the payload though the entity has {v}"
        );
    }
}

/// The same call through the Contacts API or the admin API (same paths under `/_sandbox`).
pub async fn via(sb: &Sb, admin: bool, method: Method, path: &str, body: Option<Value>) -> Resp {
    if admin {
        sb.admin(method, path, body).await
    } else {
        sb.api(method, path, body).await
    }
}

/// A contact with every field the contact events carry.
pub fn full_contact(n: u32) -> Value {
    json!({
        "firstName": "Wendy", "lastName": format!("Hook{n}"), "email": format!("wendy.hook{n}@example.org"),
        "phone": format!("+1415555{n:04}"), "address1": "1 Market St", "city": "Austin", "state": "TX",
        "postalCode": "73301", "country": "US", "website": "https://example.org", "source": "webhook test",
        "companyName": "Hook Corp", "assignedTo": "user0000000000000001", "dateOfBirth": "1991-02-03",
        "tags": ["one"], "customFields": [{"key": "contact.referral_code", "field_value": format!("R{n}")}],
    })
}
