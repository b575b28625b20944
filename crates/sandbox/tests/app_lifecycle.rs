//! App lifecycle webhooks (`INSTALL` on a code exchange that installs the app, `UNINSTALL` when it
//! is removed, which also kills its tokens there) and faults on the token endpoint.

mod common;

use std::sync::Arc;

use axum::routing::post;
use axum::{Json, Router};
use common::oauth::{assert_invalid_grant, consent_code, exchange, field, refresh, CONTACT_SCOPES};
use common::{config, contact_of, read, start, Api};
use parking_lot::Mutex;
use reqwest::Method;
use serde_json::{json, Value};

/// A webhook receiver on loopback that keeps every body it gets.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let app = Router::new().route(
        "/hook",
        post(move |Json(v): Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().push(v);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

#[tokio::test]
async fn install_and_uninstall_are_announced_and_uninstall_kills_tokens() {
    let sb = start(config(|_| {})).await;
    let api = Api::new(&sb.base_url);
    let (url, got) = receiver().await;
    let app = api
        .admin(
            Method::POST,
            "/apps",
            Some(json!({"name": "second", "webhookUrl": url})),
        )
        .await;
    assert_eq!(app.status, 201, "{}", app.text);
    let (client_id, secret) = (
        field(&app.json(), "clientId"),
        field(&app.json(), "clientSecret"),
    );
    let loc = sb.credentials().locations[0].clone();

    let code = consent_code(&api, &client_id, CONTACT_SCOPES, &loc.name).await;
    let tokens = exchange(&api, (&client_id, &secret), &code, "Location").await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    let (access, refresh_token) = (
        field(&tokens.json(), "access_token"),
        field(&tokens.json(), "refresh_token"),
    );
    sb.state.webhooks.idle().await;
    {
        let seen = got.lock();
        let install = seen
            .iter()
            .find(|v| v["type"] == "INSTALL")
            .expect("INSTALL delivered");
        assert_eq!(install["appId"], client_id.as_str());
        assert_eq!(install["locationId"], loc.location_id.as_str());
        assert_eq!(install["companyId"], sb.credentials().company_id.as_str());
        assert!(
            install["webhookId"].is_string() && install["timestamp"].is_string(),
            "{install}"
        );
    }

    // The app now receives the location's contact webhooks too.
    let contact = contact_of(&sb, &loc.location_id);
    let r = api
        .put(
            &format!("/contacts/{contact}"),
            &access,
            json!({"city": "Lisbon"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    sb.state.webhooks.idle().await;
    assert!(got
        .lock()
        .iter()
        .any(|v| v["type"] == "ContactUpdate" && v["id"] == contact.as_str()));

    let path = format!("/apps/{client_id}/locations/{}", loc.location_id);
    let r = api.admin(Method::DELETE, &path, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    sb.state.webhooks.idle().await;
    assert!(got
        .lock()
        .iter()
        .any(|v| v["type"] == "UNINSTALL" && v["appId"] == client_id.as_str()));
    let r = api.get(&format!("/contacts/{contact}"), &access).await;
    assert_eq!(
        r.status, 401,
        "uninstalled app's token must die: {}",
        r.text
    );
    assert_invalid_grant(&refresh(&api, (&client_id, &secret), &refresh_token).await);
    let again = api.admin(Method::DELETE, &path, None).await;
    assert_eq!(again.status, 400, "second uninstall: {}", again.text);
}

#[tokio::test]
async fn token_endpoint_faults_before_and_after_rotation() {
    let sb = start(config(|_| {})).await;
    let api = Api::new(&sb.base_url);
    let creds = sb.credentials();
    let client = (creds.client_id.as_str(), creds.client_secret.as_str());
    let code = consent_code(&api, client.0, CONTACT_SCOPES, &creds.locations[0].name).await;
    let first = exchange(&api, client, &code, "Location").await;
    let rt = field(&first.json(), "refresh_token");

    // A 5xx before anything happens: the refresh token still works afterwards.
    api.set_faults(json!([{"route": "get-access-token", "errorRate": 1.0}]))
        .await;
    let failed = refresh(&api, client, &rt).await;
    assert!(failed.status >= 500, "{}", failed.text);
    api.set_faults(json!([])).await;
    let ok = refresh(&api, client, &rt).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let rt2 = field(&ok.json(), "refresh_token");

    // The refresh happens but the answer is lost (422): the old token is spent, as in GHL, which
    // is exactly why clients must persist the new pair before using it.
    api.set_faults(json!([{"route": "POST /oauth/token", "acceptThen422Rate": 1.0}]))
        .await;
    let lost = refresh(&api, client, &rt2).await;
    assert_eq!(lost.status, 422, "{}", lost.text);
    api.set_faults(json!([])).await;
    assert_invalid_grant(&refresh(&api, client, &rt2).await);

    let log = read(api.http.get(api.url("/_sandbox/requests?limit=100")))
        .await
        .json();
    let faults: Vec<&str> = log["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["path"] == "/oauth/token")
        .filter_map(|r| r["fault"].as_str())
        .collect();
    assert_eq!(faults.len(), 2, "both injected faults are logged: {log}");
}
