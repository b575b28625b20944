//! Webhook verification against real sandbox deliveries (both signature schemes, all 14
//! contact-area events plus INSTALL/UNINSTALL), and the refusals: tampered body, wrong key,
//! stale or future timestamp, replayed webhookId. Unknown event types are kept, not refused.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use chrono::Utc;
use ghl::webhooks::{
    SignatureScheme, Signatures, WebhookError, WebhookEvent, WebhookVerifier, GHL_SIGNATURE_HEADER,
    LEGACY_SIGNATURE_HEADER,
};
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use parking_lot::Mutex;
use serde_json::{json, Value};

/// One delivery as the receiver got it.
#[derive(Clone)]
struct Delivery {
    headers: HeaderMap,
    body: Bytes,
}

impl Delivery {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("json body")
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    fn legacy_only(&self) -> Signatures<'_> {
        Signatures::new(None, self.header(LEGACY_SIGNATURE_HEADER))
    }
}

type Inbox = Arc<Mutex<Vec<Delivery>>>;

/// A receiver on loopback keeping the exact bytes and headers of every delivery.
async fn receiver() -> (String, Inbox) {
    let inbox: Inbox = Arc::default();
    let sink = inbox.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock().push(Delivery { headers, body });
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, inbox)
}

/// Admin/API calls to the sandbox.
struct Admin {
    http: reqwest::Client,
    base: String,
}

impl Admin {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut rb = self
            .http
            .request(method, format!("{}/_sandbox{path}", self.base));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.expect("admin call");
        let status = resp.status();
        let v: Value = resp.json().await.expect("admin json");
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }
    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
    async fn put(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }
    async fn delete(&self, path: &str) -> Value {
        self.call(reqwest::Method::DELETE, path, None).await
    }
}

fn id_of(v: &Value, key: &str) -> String {
    v[key]["id"].as_str().expect("id").to_string()
}

/// Installs a second app on the location through the OAuth consent and code exchange, which
/// makes the sandbox send it an INSTALL webhook. Returns its client id.
async fn install_second_app(sb: &GhlSandbox, admin: &Admin, url: &str) -> String {
    let app = admin
        .post("/apps", json!({"name": "second", "webhookUrl": url}))
        .await;
    let client_id = app["clientId"].as_str().expect("clientId").to_string();
    let secret = app["clientSecret"].as_str().expect("secret").to_string();
    let redirect = "http://127.0.0.1:9/callback";
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http");
    let consent = no_redirects
        .get(format!("{}/oauth/chooselocation/approve", sb.base_url))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id.as_str()),
            ("redirect_uri", redirect),
            ("scope", "contacts.readonly"),
            ("location_id", sb.location_id().as_str()),
        ])
        .send()
        .await
        .expect("consent");
    let location = consent.headers()["location"].to_str().expect("location");
    let code = url::Url::parse(location)
        .expect("redirect url")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let tokens = no_redirects
        .post(format!("{}/oauth/token", sb.base_url))
        .form(&[
            ("client_id", client_id.as_str()),
            ("client_secret", secret.as_str()),
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
            ("user_type", "Location"),
        ])
        .send()
        .await
        .expect("token");
    assert!(tokens.status().is_success());
    client_id
}

/// A verifier holding the sandbox's two public keys, as a receiver under test is configured.
async fn sandbox_verifier(admin: &Admin) -> WebhookVerifier {
    let keys: Value = admin
        .http
        .get(format!("{}/_sandbox/webhook-keys", admin.base))
        .send()
        .await
        .expect("keys")
        .json()
        .await
        .expect("keys json");
    WebhookVerifier::new()
        .with_ed25519_pem(keys["ed25519PublicKey"].as_str().expect("ed25519"))
        .expect("ed25519 key")
        .with_rsa_pem(keys["rsaPublicKey"].as_str().expect("rsa"))
        .expect("rsa key")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_webhooks_verify_parse_and_refuse() {
    let (url, inbox) = receiver().await;
    let sb = GhlSandbox::start(GhlConfig {
        contacts: 5,
        webhook_url: Some(url.clone()),
        ..Default::default()
    })
    .await
    .expect("sandbox");
    let admin = Admin {
        http: reqwest::Client::new(),
        base: sb.base_url.clone(),
    };
    let loc = sb.location_id();
    let verifier = sandbox_verifier(&admin).await;
    // Clones share the seen ids, so the legacy-only checks get their own verifier.
    let rsa_only = sandbox_verifier(&admin).await;

    // Every contact-area change the sandbox can make.
    let c = admin
        .post(
            &format!("/locations/{loc}/contacts"),
            json!({"firstName": "Wendy", "lastName": "Hook", "email": "wendy.hook@example.org"}),
        )
        .await;
    let cid = id_of(&c, "contact");
    admin
        .put(&format!("/contacts/{cid}"), json!({"city": "Lyon"}))
        .await;
    admin
        .post(&format!("/contacts/{cid}/tags"), json!({"tags": ["vip"]}))
        .await;
    admin
        .put(&format!("/contacts/{cid}"), json!({"dnd": true}))
        .await;
    let t = admin
        .post(
            &format!("/contacts/{cid}/tasks"),
            json!({"title": "Call back", "dueDate": "2030-01-01T09:00:00.000Z"}),
        )
        .await;
    let tid = id_of(&t, "task");
    admin
        .put(
            &format!("/contacts/{cid}/tasks/{tid}"),
            json!({"completed": true}),
        )
        .await;
    admin.delete(&format!("/contacts/{cid}/tasks/{tid}")).await;
    let n = admin
        .post(&format!("/contacts/{cid}/notes"), json!({"body": "first"}))
        .await;
    let nid = id_of(&n, "note");
    admin
        .put(
            &format!("/contacts/{cid}/notes/{nid}"),
            json!({"body": "second"}),
        )
        .await;
    admin.delete(&format!("/contacts/{cid}/notes/{nid}")).await;
    let a = admin
        .post(
            &format!("/contacts/{cid}/appointments"),
            json!({"title": "Demo"}),
        )
        .await;
    let aid = id_of(&a, "appointment");
    admin
        .put(
            &format!("/appointments/{aid}"),
            json!({"title": "Demo, moved"}),
        )
        .await;
    admin.delete(&format!("/appointments/{aid}")).await;
    admin.delete(&format!("/contacts/{cid}")).await;
    let second_app = install_second_app(&sb, &admin, &url).await;
    let default_app = sb.credentials().client_id;
    admin
        .delete(&format!("/apps/{default_app}/locations/{loc}"))
        .await;
    sb.state.webhooks.idle().await;

    let deliveries = inbox.lock().clone();
    let mut types = BTreeSet::new();
    for d in &deliveries {
        let now = Utc::now();
        let v = verifier
            .verify(Signatures::from_headers(&d.headers), &d.body, now)
            .unwrap_or_else(|e| panic!("{e}: {}", d.json()));
        assert_eq!(
            v.scheme,
            SignatureScheme::Ed25519,
            "x-ghl-signature is preferred"
        );
        assert_eq!(v.webhook_id.as_deref(), d.json()["webhookId"].as_str());
        assert!(
            !matches!(v.event, WebhookEvent::Unknown { .. }),
            "{:?}",
            v.event
        );
        let legacy = rsa_only
            .verify(d.legacy_only(), &d.body, now)
            .expect("x-wh-signature verifies");
        assert_eq!(legacy.scheme, SignatureScheme::LegacyRsa);
        assert_eq!(legacy.event, v.event);
        types.insert(v.event.event_type().to_string());
        match &v.event {
            WebhookEvent::ContactCreate(e) => {
                assert_eq!(
                    (e.id.as_str(), e.location_id.as_str()),
                    (cid.as_str(), loc.as_str())
                );
                assert_eq!(e.email.as_deref(), Some("wendy.hook@example.org"));
            }
            WebhookEvent::ContactTagUpdate(e) => {
                assert!(e.tags.as_ref().expect("tags").contains(&"vip".to_string()))
            }
            WebhookEvent::ContactDndUpdate(e) => assert_eq!(e.dnd, Some(true)),
            WebhookEvent::ContactDelete(e) => assert_eq!(e.id, cid),
            WebhookEvent::TaskCreate(e)
            | WebhookEvent::TaskComplete(e)
            | WebhookEvent::TaskDelete(e) => {
                assert_eq!(
                    (e.id.as_str(), e.contact_id.as_deref()),
                    (tid.as_str(), Some(cid.as_str()))
                );
                assert_eq!(e.title.as_deref(), Some("Call back"));
            }
            WebhookEvent::NoteUpdate(e) => {
                assert_eq!(
                    (e.id.as_str(), e.body.as_deref()),
                    (nid.as_str(), Some("second"))
                )
            }
            WebhookEvent::AppointmentUpdate(e) => {
                assert_eq!(e.appointment.id, aid);
                assert_eq!(e.appointment.title.as_deref(), Some("Demo, moved"));
                assert_eq!(v.event.contact_id(), Some(cid.as_str()));
            }
            WebhookEvent::AppInstall(e) => {
                assert_eq!(e.app_id, second_app);
                assert_eq!(e.location_id.as_deref(), Some(loc.as_str()));
                assert!(e.company_id.is_some());
            }
            WebhookEvent::AppUninstall(e) => {
                assert_eq!(e.app_id, default_app);
                assert_eq!(e.location_id.as_deref(), Some(loc.as_str()));
            }
            _ => assert_eq!(v.event.location_id(), Some(loc.as_str())),
        }
    }
    let wanted: BTreeSet<String> = [
        "ContactCreate",
        "ContactUpdate",
        "ContactDelete",
        "ContactDndUpdate",
        "ContactTagUpdate",
        "NoteCreate",
        "NoteUpdate",
        "NoteDelete",
        "TaskCreate",
        "TaskComplete",
        "TaskDelete",
        "AppointmentCreate",
        "AppointmentUpdate",
        "AppointmentDelete",
        "INSTALL",
        "UNINSTALL",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(types, wanted);

    let created = deliveries
        .iter()
        .find(|d| d.json()["type"] == "ContactCreate")
        .expect("ContactCreate delivered")
        .clone();
    let now = Utc::now();

    // Replayed: the same delivery again.
    let again = verifier.verify(
        Signatures::from_headers(&created.headers),
        &created.body,
        now,
    );
    let id = created.json()["webhookId"]
        .as_str()
        .expect("webhookId")
        .to_string();
    assert_eq!(
        again,
        Err(WebhookError::Replayed {
            webhook_id: id.clone()
        })
    );
    assert!(again.unwrap_err().to_string().contains(&id));

    // Tampered: one changed letter breaks both signatures.
    let tampered = Bytes::from(String::from_utf8_lossy(&created.body).replace("Wendy", "Wendx"));
    assert_ne!(tampered, created.body);
    let fresh = sandbox_verifier(&admin).await;
    match fresh.verify(Signatures::from_headers(&created.headers), &tampered, now) {
        Err(WebhookError::BadSignature { header, .. }) => assert_eq!(header, GHL_SIGNATURE_HEADER),
        other => panic!("tampered body accepted or wrongly refused: {other:?}"),
    }
    match fresh.verify(created.legacy_only(), &tampered, now) {
        Err(e @ WebhookError::BadSignature { .. }) => {
            assert!(e.to_string().contains(LEGACY_SIGNATURE_HEADER), "{e}")
        }
        other => panic!("tampered body accepted or wrongly refused: {other:?}"),
    }

    // Wrong key: GHL's own RSA key must not accept the sandbox's signatures, nor a stranger's
    // Ed25519 key.
    let ghl_default = WebhookVerifier::new();
    match ghl_default.verify(
        Signatures::from_headers(&created.headers),
        &created.body,
        now,
    ) {
        Err(WebhookError::BadSignature { header, reason }) => {
            assert_eq!(header, LEGACY_SIGNATURE_HEADER);
            assert!(reason.contains("does not match"), "{reason}");
        }
        other => panic!("GHL's key verified a sandbox signature: {other:?}"),
    }
    let stranger = Ed25519KeyPair::generate().expect("key");
    let wrong_ed = WebhookVerifier::new()
        .with_ed25519_der(stranger.public_key().as_ref())
        .expect("raw key");
    assert!(matches!(
        wrong_ed.verify(
            Signatures::from_headers(&created.headers),
            &created.body,
            now
        ),
        Err(WebhookError::BadSignature {
            header: GHL_SIGNATURE_HEADER,
            ..
        })
    ));

    // The legacy check turned off: an x-wh-signature alone is not enough.
    let modern_only = sandbox_verifier(&admin).await.legacy(false);
    assert!(matches!(
        modern_only.verify(created.legacy_only(), &created.body, now),
        Err(WebhookError::NoSignature { .. })
    ));
    assert!(matches!(
        fresh.verify(Signatures::default(), &created.body, now),
        Err(WebhookError::NoSignature { .. })
    ));
    // Stale: the real delivery, checked as if it arrived ten minutes later.
    let late = now + chrono::Duration::minutes(10);
    match fresh.verify(
        Signatures::from_headers(&created.headers),
        &created.body,
        late,
    ) {
        Err(e @ WebhookError::Stale { .. }) => assert!(e.to_string().contains("old"), "{e}"),
        other => panic!("stale delivery accepted: {other:?}"),
    }

    // GHL's duplicate deliveries (same webhookId twice) are accepted once. The second app is the
    // only one installed now.
    inbox.lock().clear();
    admin
        .put("/webhooks", json!({"delivery": {"duplicateRate": 1.0}}))
        .await;
    let other = sb
        .state
        .store
        .read()
        .contacts
        .keys()
        .next()
        .cloned()
        .expect("a contact");
    admin
        .put(&format!("/contacts/{other}"), json!({"city": "Twice"}))
        .await;
    sb.state.webhooks.idle().await;
    let copies = inbox.lock().clone();
    assert_eq!(copies.len(), 2);
    assert_eq!(copies[0].body, copies[1].body);
    let first = verifier.verify(
        Signatures::from_headers(&copies[0].headers),
        &copies[0].body,
        Utc::now(),
    );
    assert!(matches!(
        first.expect("first copy").event,
        WebhookEvent::ContactUpdate(_)
    ));
    let second = verifier.verify(
        Signatures::from_headers(&copies[1].headers),
        &copies[1].body,
        Utc::now(),
    );
    assert!(matches!(second, Err(WebhookError::Replayed { .. })));
    sb.shutdown().await;
}

/// Signs bodies with a key made here, to craft timestamps GHL would never send.
struct Signer {
    pair: Ed25519KeyPair,
}

impl Signer {
    fn new() -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("pkcs8");
        Self {
            pair: Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("pair"),
        }
    }
    fn verifier(&self) -> WebhookVerifier {
        WebhookVerifier::new()
            .legacy(false)
            .with_ed25519_der(self.pair.public_key().as_ref())
            .expect("key")
    }
    fn sign(&self, body: &Value) -> (Vec<u8>, String) {
        let bytes = serde_json::to_vec(body).expect("json");
        let sig = BASE64.encode(self.pair.sign(&bytes).as_ref());
        (bytes, sig)
    }
}

fn event_at(at: chrono::DateTime<Utc>, webhook_id: &str) -> Value {
    json!({"type": "ContactUpdate", "locationId": "loc1", "id": "c1", "firstName": "Ann",
           "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true), "webhookId": webhook_id})
}

#[test]
fn timestamps_outside_the_window_are_refused() {
    let signer = Signer::new();
    let verifier = signer.verifier();
    let now = Utc::now();
    let check = |v: &WebhookVerifier, body: &Value| {
        let (bytes, sig) = signer.sign(body);
        v.verify(Signatures::new(Some(&sig), None), &bytes, now)
    };

    let old = event_at(now - chrono::Duration::minutes(10), "w-old");
    match check(&verifier, &old) {
        Err(e @ WebhookError::Stale { .. }) => {
            assert!(
                e.to_string().contains("old, more than the 300 s allowed"),
                "{e}"
            )
        }
        other => panic!("stale accepted: {other:?}"),
    }
    let future = event_at(now + chrono::Duration::minutes(10), "w-future");
    match check(&verifier, &future) {
        Err(e @ WebhookError::Stale { .. }) => assert!(e.to_string().contains("future"), "{e}"),
        other => panic!("future timestamp accepted: {other:?}"),
    }
    let recent = check(
        &verifier,
        &event_at(now - chrono::Duration::minutes(1), "w-recent"),
    )
    .expect("a minute old is fine");
    assert!(
        matches!(recent.event, WebhookEvent::ContactUpdate(ref e) if e.first_name.as_deref() == Some("Ann"))
    );
    // A refused delivery does not use up its id: once the window allows it, it is accepted.
    let wide = verifier.clone().timestamp_window(Duration::from_secs(1800));
    check(&wide, &old).expect("inside a 30-minute window");
    // Epoch milliseconds are read too; a missing timestamp is refused.
    let mut ms = event_at(now, "w-ms");
    ms["timestamp"] = json!(now.timestamp_millis());
    check(&verifier, &ms).expect("epoch ms");
    let mut none = event_at(now, "w-none");
    none.as_object_mut().expect("object").remove("timestamp");
    assert!(matches!(
        check(&verifier, &none),
        Err(WebhookError::Malformed { .. })
    ));
}

#[test]
fn unknown_event_types_are_kept_whole() {
    let signer = Signer::new();
    let verifier = signer.verifier();
    let now = Utc::now();
    let body = json!({"type": "OpportunityStatusUpdate", "locationId": "loc1", "id": "opp1",
        "status": "won", "timestamp": now.to_rfc3339(), "webhookId": "w-unknown"});
    let (bytes, sig) = signer.sign(&body);
    let v = verifier
        .verify(Signatures::new(Some(&sig), None), &bytes, now)
        .expect("unknown types are accepted");
    assert_eq!(
        v.event,
        WebhookEvent::Unknown {
            event_type: "OpportunityStatusUpdate".into(),
            raw: body
        }
    );
    assert_eq!(v.event.location_id(), Some("loc1"));
    // Not JSON, though correctly signed.
    let sig = BASE64.encode(signer.pair.sign(b"not json").as_ref());
    assert!(matches!(
        verifier.verify(Signatures::new(Some(&sig), None), b"not json", now),
        Err(WebhookError::Malformed { .. })
    ));
}
