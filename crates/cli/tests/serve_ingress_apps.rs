//! Webhook ingress of every app through a real `ghl-bridge serve`: Your App, InvestNext and
//! Invoco (HMAC over timestamp and body), Insightly (Basic-auth workflow posts) and SalesNexus
//! (`X-Webhook-Token` stage triggers). For each: a valid delivery is 200 with its job stored; a
//! bad signature or secret is 401 and stores nothing; a garbled body is 400 with the reason; a
//! redelivery is a duplicate stored once. Oversized bodies are 413. For GHL, what `serve_cli`
//! does not cover: the legacy RSA `x-wh-signature`, a stale timestamp refused, and UNINSTALL
//! answered 200 with nothing stored.

mod serve_support;
mod support;

use std::collections::HashMap;

use base64::Engine as _;
use connectors::your_app::webhooks::sign;
use serde_json::{json, Value};
use serve_support::*;
use support::*;

const HOOK_SECRET: &str = "whsec_ingress_test";
const INSIGHTLY_SECRET: &str = "insightly-basic-pass";
const SALESNEXUS_TOKEN: &str = "sn-hook-token";
/// Nothing listens here: the apps other than GHL and Your App are never called back in this
/// test (their jobs fail and wait for a retry, which is fine: the test is about ingress).
const NOWHERE: &str = "http://127.0.0.1:9";

/// The project: GHL verifying the sandbox's Ed25519 and RSA keys, and one connection per app
/// with its webhook secret, each the source of a flow (a connection takes webhooks only when an
/// enabled flow uses it).
fn project(w: &World) {
    let keys = &w.ghl.state.keys;
    let indent = |pem: String| {
        pem.lines()
            .map(|l| format!("      {l}\n"))
            .collect::<String>()
    };
    let text = format!(
        "version: 1
connections:
  ghl:
    app: ghl
    base_url: ${{GHL_URL}}
    location_id: ${{GHL_LOCATION}}
    token: ${{GHL_TOKEN}}
    webhook_legacy: true
    webhook_public_key: |
{ed}    webhook_rsa_public_key: |
{rsa}  crm:
    app: your_app
    base_url: ${{CRM_URL}}
    api_key: ${{CRM_KEY}}
    webhook_secret: {HOOK_SECRET}
  inv:
    app: investnext
    base_url: {NOWHERE}/v1
    api_key: inv-key
    webhook_secret: {HOOK_SECRET}
  voc:
    app: invoco
    base_url: {NOWHERE}/v1
    api_key: voc-key
    webhook_secret: {HOOK_SECRET}
  ins:
    app: insightly
    base_url: {NOWHERE}/v3.1
    api_key: ins-key
    webhook_secret: {INSIGHTLY_SECRET}
  sn:
    app: salesnexus
    base_url: {NOWHERE}
    api_key: sn_live_test
    webhook_token: {SALESNEXUS_TOKEN}
",
        ed = indent(keys.ed25519_public_pem()),
        rsa = indent(keys.rsa_public_pem()),
    );
    std::fs::write(&w.project, text).expect("project file");
    for source in ["crm", "inv", "voc", "ins", "sn"] {
        let flow = format!(
            "name: {source} to ghl\nsync:\n  source: {source}\n  target: ghl\n  direction: one_way\n  kinds: [contact]\n  match:\n    contact: [email]\n"
        );
        std::fs::write(w.dir.path().join(format!("flows/{source}.yaml")), flow).expect("flow file");
    }
}

/// Posts `body` with `headers` to `/webhooks/{connection}`: status and JSON answer.
async fn deliver(
    url: &str,
    connection: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> (u16, Value) {
    let mut r = reqwest::Client::new()
        .post(format!("{url}/webhooks/{connection}"))
        .header("content-type", "application/json");
    for (k, v) in headers {
        r = r.header(*k, v);
    }
    match r.body(body).send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
        // An oversized body: the server may answer and close before reading it all.
        Err(e) => {
            assert!(!e.is_timeout(), "{e}");
            (413, Value::Null)
        }
    }
}

/// Stored events and jobs per connection (jobs through the events they came from).
async fn stored(db: &str) -> HashMap<String, (i64, i64)> {
    let pool = sqlx::SqlitePool::connect(db).await.expect("open the db");
    let events: Vec<(String, i64)> =
        sqlx::query_as("SELECT connection_id, count(*) FROM events GROUP BY connection_id")
            .fetch_all(&pool)
            .await
            .expect("count events");
    let jobs: Vec<(String, i64)> =
        sqlx::query_as("SELECT flow_id, count(*) FROM jobs GROUP BY flow_id")
            .fetch_all(&pool)
            .await
            .expect("count jobs");
    pool.close().await;
    let mut out: HashMap<String, (i64, i64)> = HashMap::new();
    for (c, n) in events {
        out.entry(c).or_default().0 = n;
    }
    for (flow, n) in jobs {
        let source = flow.trim_end_matches(" to ghl").to_string();
        out.entry(source).or_default().1 += n;
    }
    out
}

/// Request headers of a delivery.
type Headers = Vec<(&'static str, String)>;

/// Makes a valid delivery of a contact id: headers and body.
type Delivery = Box<dyn Fn(&str) -> (Headers, Vec<u8>)>;

/// One app's deliveries: `good(id)` is a valid delivery of contact `id` (headers, body); `forge`
/// turns valid headers into ones that must not verify.
struct App {
    connection: &'static str,
    good: Delivery,
    forge: fn(&mut Headers),
}

fn hmac_app(connection: &'static str) -> App {
    App {
        connection,
        good: Box::new(|id: &str| {
            let body = serde_json::to_vec(&json!({"type": "contact.updated",
                "data": {"id": id, "email": format!("{id}@example.com")}}))
            .expect("json");
            let ts = chrono::Utc::now().timestamp();
            let headers = vec![
                ("X-Signature", sign(HOOK_SECRET, "sha256=", ts, &body)),
                ("X-Timestamp", ts.to_string()),
                ("X-Event-Id", format!("evt-{id}")),
            ];
            (headers, body)
        }),
        forge: |h| h[0].1 = sign("not-the-secret", "sha256=", 0, b"x"),
    }
}

fn apps() -> Vec<App> {
    let basic = |pass: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("zap:{pass}"))
        )
    };
    vec![
        hmac_app("crm"),
        hmac_app("inv"),
        hmac_app("voc"),
        App {
            connection: "ins",
            good: Box::new(move |id: &str| {
                let body = serde_json::to_vec(&json!({"entity": {"CONTACT_ID": id.len() * 1000,
                    "FIRST_NAME": id, "DATE_UPDATED_UTC": "/Date(1489116850787-0800)/"}}))
                .expect("json");
                (vec![("Authorization", basic(INSIGHTLY_SECRET))], body)
            }),
            forge: |h| {
                h[0].1 = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode("zap:guess")
                )
            },
        },
        App {
            connection: "sn",
            good: Box::new(|id: &str| {
                let body = serde_json::to_vec(&json!({"triggerId": "t1", "action": "PostWebhook",
                    "opportunity": {"id": "o1", "currentStageId": "s2"},
                    "contact": {"contactId": id}}))
                .expect("json");
                (
                    vec![("X-Webhook-Token", SALESNEXUS_TOKEN.to_string())],
                    body,
                )
            }),
            forge: |h| h[0].1 = "wrong-token".into(),
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_app_takes_valid_deliveries_and_refuses_the_rest() {
    let w = world(0, ONE_WAY).await;
    project(&w);
    let server = Server::start(&w, &w.db_url, "serve").await;
    let url = server.url.clone();

    for app in apps() {
        let c = app.connection;
        // Valid: 200, one event, one job of the app's flow.
        let (headers, body) = (app.good)("alpha");
        let (status, v) = deliver(&url, c, &headers, body.clone()).await;
        assert_eq!(status, 200, "{c}: {v}\n{}", server.log_text());
        assert_eq!(
            (v["events"].as_u64(), v["jobs"].as_u64()),
            (Some(1), Some(1)),
            "{c}: {v}"
        );
        // Redelivery: 200, a duplicate, nothing stored twice.
        let (status, v) = deliver(&url, c, &headers, body.clone()).await;
        assert_eq!(
            (status, v["duplicates"].as_u64()),
            (200, Some(1)),
            "{c}: {v}"
        );
        assert_eq!(stored(&w.db_url).await.get(c), Some(&(1, 1)), "{c}");

        // Bad signature / secret: 401 with a reason, nothing stored.
        let (mut forged, body) = (app.good)("beta");
        (app.forge)(&mut forged);
        let (status, v) = deliver(&url, c, &forged, body).await;
        assert_eq!(status, 401, "{c}: {v}");
        assert!(v["error"]["message"].is_string(), "{c}: {v}");
        // Missing credentials altogether: 401 too.
        let (_, body) = (app.good)("gamma");
        let (status, v) = deliver(&url, c, &[], body).await;
        assert_eq!(status, 401, "{c}: {v}");

        // Garbled, but authenticated: 400 naming the body.
        let garbled = b"{not json".to_vec();
        let mut headers = (app.good)("delta").0;
        if c != "ins" && c != "sn" {
            let ts = chrono::Utc::now().timestamp();
            headers[0].1 = sign(HOOK_SECRET, "sha256=", ts, &garbled);
            headers[1].1 = ts.to_string();
        }
        let (status, v) = deliver(&url, c, &headers, garbled).await;
        assert_eq!(status, 400, "{c}: {v}");
        let reason = v["error"]["message"].as_str().unwrap_or_default();
        assert!(reason.contains("JSON"), "{c}: {v}");
        assert_eq!(stored(&w.db_url).await.get(c), Some(&(1, 1)), "{c}");
    }

    // Authenticated JSON of the wrong shape: 400 naming what is missing, for each app.
    let wrong_shape: [(&str, Headers, &[u8]); 3] = [
        (
            "sn",
            vec![("X-Webhook-Token", SALESNEXUS_TOKEN.into())],
            br#"{"action": "Other"}"#,
        ),
        (
            "ins",
            vec![(
                "Authorization",
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD
                        .encode(format!("zap:{INSIGHTLY_SECRET}"))
                ),
            )],
            br#"{"record": {}}"#,
        ),
        ("crm", Vec::new(), br#"{"data": {"id": "x"}}"#),
    ];
    for (c, mut headers, body) in wrong_shape {
        if c == "crm" {
            let ts = chrono::Utc::now().timestamp();
            headers = vec![
                ("X-Signature", sign(HOOK_SECRET, "sha256=", ts, body)),
                ("X-Timestamp", ts.to_string()),
                ("X-Event-Id", "evt-shape".into()),
            ];
        }
        let (status, v) = deliver(&url, c, &headers, body.to_vec()).await;
        assert_eq!(status, 400, "{c}: {v}");
    }

    // A stale (but correctly signed) Your App delivery: 401, nothing stored.
    let body = br#"{"type": "contact.updated", "data": {"id": "old"}}"#.to_vec();
    let ts = chrono::Utc::now().timestamp() - 600;
    let headers = [
        ("X-Signature", sign(HOOK_SECRET, "sha256=", ts, &body)),
        ("X-Timestamp", ts.to_string()),
        ("X-Event-Id", "evt-old".to_string()),
    ];
    let (status, v) = deliver(&url, "crm", &headers, body).await;
    assert_eq!(status, 401, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("timestamp"),
        "{v}"
    );

    // Oversized: 413 before any verification, nothing stored.
    let (status, _) = deliver(&url, "sn", &[], vec![b' '; 2 << 20]).await;
    assert_eq!(status, 413);
    assert_eq!(stored(&w.db_url).await.get("sn"), Some(&(1, 1)));

    // No secret ever shows in the log.
    let log = server.log_text();
    for secret in [HOOK_SECRET, INSIGHTLY_SECRET, SALESNEXUS_TOKEN] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ghl_legacy_rsa_stale_timestamp_and_uninstall() {
    let w = world(0, ONE_WAY).await;
    project(&w);
    let server = Server::start(&w, &w.db_url, "serve").await;
    let url = server.url.clone();
    let keys = w.ghl.state.keys.clone();
    let at = |secs_ago: i64| {
        (chrono::Utc::now() - chrono::Duration::seconds(secs_ago))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let event = |webhook_id: &str, kind: &str, ts: String| {
        serde_json::to_vec(&json!({"type": kind, "locationId": w.ghl.location_id(),
            "id": "contact-1", "appId": "app-1", "webhookId": webhook_id, "timestamp": ts}))
        .expect("json")
    };

    // The legacy RSA signature alone verifies.
    let body = event("wh-rsa", "ContactUpdate", at(0));
    let rsa = [("x-wh-signature", keys.sign_rsa(&body))];
    let (status, v) = deliver(&url, "ghl", &rsa, body).await;
    assert_eq!(
        (status, v["events"].as_u64()),
        (200, Some(1)),
        "{v}\n{}",
        server.log_text()
    );
    assert_eq!(events_with_key(&w.db_url, "wh-rsa").await, 1);
    // A forged RSA signature (another body's) does not.
    let body = event("wh-rsa-forged", "ContactUpdate", at(0));
    let (status, v) = deliver(&url, "ghl", &rsa, body).await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(events_with_key(&w.db_url, "wh-rsa-forged").await, 0);

    // Signed, but ten minutes old (the window is five): 401, nothing stored, in both schemes.
    let body = event("wh-stale", "ContactUpdate", at(600));
    for header in [
        ("x-ghl-signature", keys.sign_ed25519(&body)),
        ("x-wh-signature", keys.sign_rsa(&body)),
    ] {
        let (status, v) = deliver(&url, "ghl", &[header], body.clone()).await;
        assert_eq!(status, 401, "{v}");
        let reason = v["error"]["message"].as_str().unwrap_or_default();
        assert!(reason.contains("timestamp"), "{v}");
    }
    assert_eq!(events_with_key(&w.db_url, "wh-stale").await, 0);

    // UNINSTALL: verified, 200, nothing stored (INSTALL is covered by serve_cli).
    let body = event("wh-uninstall", "UNINSTALL", at(0));
    let sig = [("x-ghl-signature", keys.sign_ed25519(&body))];
    let (status, v) = deliver(&url, "ghl", &sig, body).await;
    assert_eq!((status, v["events"].as_u64()), (200, Some(0)), "{v}");
    assert_eq!(events_with_key(&w.db_url, "wh-uninstall").await, 0);
}
