//! `ghl-bridge serve` over real HTTP: signed GHL sandbox webhooks reach the store and run the
//! flow (the contact appears in the Your App emulator); forged or tampered signatures are 401
//! and store nothing; a replayed webhook id is stored once; garbled bodies are 400, oversized
//! ones 413, unknown connections 404; health, readiness and metrics answer.

mod serve_support;
mod support;

use std::time::Duration;

use serde_json::{json, Map, Value};
use serve_support::*;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_takes_signed_webhooks_and_refuses_the_rest() {
    let w = world(0, ONE_WAY).await;
    project_with_webhook_keys(&w);
    let server = Server::start(&w, &w.db_url, "serve").await;
    let http = reqwest::Client::new();
    let url = server.url.clone();

    // Health and readiness.
    let r = http
        .get(format!("{url}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status().as_u16(), 200);
    let r = http
        .get(format!("{url}/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(r.status().as_u16(), 200);

    // The sandbox delivers a signed ContactCreate to the server; the flow copies the contact.
    w.ghl
        .state
        .set_webhook_url(Some(format!("{url}/webhooks/ghl")));
    let body: Map<String, Value> = json!({"email": "ada@example.com", "firstName": "Ada"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let created = w
        .ghl
        .state
        .create_contact(&w.ghl.location_id(), &body)
        .expect("create a GHL contact");
    let emails = eventually(
        Duration::from_secs(30),
        "the contact in Your App",
        || async {
            let c = w.crm_contacts().await;
            c.iter()
                .any(|c| c.to_string().contains("ada@example.com"))
                .then_some(c)
        },
    )
    .await;
    assert_eq!(emails.len(), 1, "{emails:?}\n{}", server.log_text());
    let delivered = w.ghl.state.webhooks.deliveries();
    assert!(
        delivered.iter().any(|d| d.status == Some(200)),
        "{delivered:?}"
    );
    assert_eq!(
        webhook_events(&w.db_url).await,
        1,
        "one webhook event stored"
    );

    // Forged and tampered signatures: 401, nothing stored.
    let keys = w.ghl.state.keys.clone();
    let good = contact_update(&w, &created.id, "wh-forged");
    let (status, v) = post(&http, &url, good.clone(), "AAAA").await.expect("post");
    assert_eq!(status, 401, "{v}");
    assert!(
        v["error"]["code"].is_string() && v["error"]["message"].is_string(),
        "{v}"
    );
    let mut tampered = good.clone();
    let sig = keys.sign_ed25519(&good);
    let at = tampered.len() - 3;
    tampered[at] ^= 1;
    let (status, v) = post(&http, &url, tampered, &sig).await.expect("post");
    assert_eq!(status, 401, "{v}");
    assert_eq!(events_with_key(&w.db_url, "wh-forged").await, 0);

    // A replayed webhook id: both deliveries answered 200, one event stored.
    let replay = contact_update(&w, &created.id, "wh-replayed");
    let sig = keys.sign_ed25519(&replay);
    let (s1, v1) = post(&http, &url, replay.clone(), &sig).await.expect("post");
    let (s2, v2) = post(&http, &url, replay, &sig).await.expect("post");
    assert_eq!((s1, s2), (200, 200), "{v1} {v2}");
    assert_eq!(v1["events"], 1, "{v1}");
    assert_eq!(v2["duplicates"], 1, "{v2}");
    assert_eq!(events_with_key(&w.db_url, "wh-replayed").await, 1);

    // Garbled (but signed) → 400 with the reason; oversized → 413; unknown connection → 404.
    let garbled = b"{not json".to_vec();
    let sig = keys.sign_ed25519(&garbled);
    let (status, v) = post(&http, &url, garbled, &sig).await.expect("post");
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("body"),
        "{v}"
    );
    let big = vec![b' '; 2 << 20];
    let sig = keys.sign_ed25519(&big);
    // Its own client: the server closes that connection without reading the rest.
    match post(&reqwest::Client::new(), &url, big, &sig).await {
        Ok((status, v)) => assert_eq!(status, 413, "{v}"),
        // The server may answer and close before the whole body was sent.
        Err(e) => assert!(!e.is_timeout(), "{e}"),
    }
    let r = http
        .post(format!("{url}/webhooks/nowhere"))
        .body("{}")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 404);

    // An app install is verified, answered 200, logged, and stores no event.
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let install = serde_json::to_vec(&json!({"type": "INSTALL", "appId": "app-1",
        "locationId": w.ghl.location_id(), "webhookId": "wh-install", "timestamp": now}))
    .expect("json");
    let sig = keys.sign_ed25519(&install);
    let (status, v) = post(&http, &url, install, &sig).await.expect("post");
    assert_eq!((status, v["events"].as_u64()), (200, Some(0)), "{v}");
    assert_eq!(events_with_key(&w.db_url, "wh-install").await, 0);
    let log = eventually(Duration::from_secs(5), "the install log line", || async {
        let log = server.log_text();
        (log.contains("INSTALL") && log.contains("no record change")).then_some(log)
    })
    .await;
    assert!(log.contains("app install/uninstall"), "{log}");

    // Metrics count what happened.
    let text = http
        .get(format!("{url}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    let value = |name: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(&format!("{name}{{connection=\"ghl\"}}")))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
    };
    assert_eq!(value("ghl_bridge_webhooks_accepted_total"), 3, "{text}");
    assert_eq!(value("ghl_bridge_webhooks_duplicate_total"), 1, "{text}");
    assert!(value("ghl_bridge_webhooks_rejected_total") >= 3, "{text}");
    assert!(
        text.contains("ghl_bridge_webhook_duration_seconds_count"),
        "{text}"
    );
    assert!(text.contains("ghl_bridge_jobs_pending "), "{text}");
    assert!(
        !server.log_text().contains(&w.ghl.token()),
        "the token never shows in logs"
    );
}
