//! Spec-driven request validation and the request log (`GET /_sandbox/requests`) of the GHL
//! sandbox, over real HTTP.

mod common;

use common::oauth::{assert_invalid_grant, consent_code, exchange, field, refresh, CONTACT_SCOPES};
use common::{
    config, contact_count, contact_of, location_snapshot, new_contact, new_task, read, start, Api,
};
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn request_bodies_are_validated_like_ghl() {
    let sb = start(config(|_| {})).await;
    let api = Api::new(&sb.base_url);
    let location = sb.location_id();
    let tasks = format!("/contacts/{}/tasks", contact_of(&sb, &location));
    let before = location_snapshot(&sb, &location);

    let r = api.post(&tasks, &sb.token(), json!({})).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.json()["error"], "Unprocessable Entity");
    assert!(
        r.messages()
            .contains(&"title should not be empty".to_string()),
        "{}",
        r.text
    );

    let mut body = new_task();
    body["priority"] = json!("high");
    let r = api.post(&tasks, &sb.token(), body).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.messages(), ["property priority should not exist"]);

    let raw = api
        .request(Method::POST, &tasks, Some(&sb.token()))
        .header("content-type", "application/json");
    let r = read(raw.body("{\"title\": ")).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["statusCode"], 400);

    let r = api
        .post(
            "/contacts/",
            &sb.token(),
            json!({"firstName": "No location"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(
        r.messages()
            .contains(&"locationId should not be empty".to_string()),
        "{}",
        r.text
    );
    assert_eq!(
        location_snapshot(&sb, &location),
        before,
        "invalid requests change nothing"
    );

    let r = api.post(&tasks, &sb.token(), new_task()).await;
    assert_eq!(r.status, 201, "a valid body passes: {}", r.text);
    sb.shutdown().await;
}

#[tokio::test]
async fn request_log_records_calls_and_never_secrets() {
    let sb = start(config(|_| {})).await;
    let api = Api::new(&sb.base_url);
    let creds = sb.credentials();
    let location = sb.location_id();
    let id = contact_of(&sb, &location);
    let read_only = api.mint_pit(&location, &["contacts.readonly"]).await;

    let r = api.get(&format!("/contacts/{id}"), &sb.token()).await;
    assert_eq!(r.status, 200);
    let r = api
        .post(
            "/contacts/",
            &read_only,
            new_contact(&location, "logged@example.com"),
        )
        .await;
    assert_eq!(r.status, 401);
    // The OAuth flow: codes, tokens and the client secret travel in queries, form bodies and headers.
    let client = (creds.client_id.as_str(), creds.client_secret.as_str());
    let code = consent_code(&api, client.0, CONTACT_SCOPES, &creds.locations[0].name).await;
    let issued = exchange(&api, client, &code, "Location").await.json();
    let access = field(&issued, "access_token");
    let rt = field(&issued, "refresh_token");
    assert_eq!(
        api.get(&format!("/contacts/{id}"), &access).await.status,
        200
    );
    let rotated = refresh(&api, client, &rt).await.json();
    assert_invalid_grant(&refresh(&api, client, &rt).await);
    assert_eq!(contact_count(&sb, &location), 5);

    let log = api.admin(Method::GET, "/requests", None).await;
    assert_eq!(log.status, 200);
    let secrets = [
        sb.token(),
        read_only.clone(),
        creds.client_secret.clone(),
        code,
        access,
        rt,
        field(&rotated, "access_token"),
        field(&rotated, "refresh_token"),
    ];
    for secret in secrets {
        assert!(
            !log.text.contains(&secret),
            "the request log leaks {secret}: {}",
            log.text
        );
    }
    let entries = log.json()["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let find = |method: &str, path: &str| -> Value {
        entries
            .iter()
            .find(|e| e["method"] == method && e["path"] == path)
            .cloned()
            .unwrap_or_else(|| panic!("no {method} {path} in {entries:?}"))
    };
    let get = find("GET", &format!("/contacts/{id}"));
    assert_eq!(get["status"], 200);
    assert_eq!(get["operationId"], "get-contact");
    assert_eq!(get["locationId"], json!(location));
    let create = find("POST", "/contacts/");
    assert_eq!(create["status"], 401);
    assert_eq!(create["operationId"], "create-contact");
    let token = find("POST", "/oauth/token");
    assert_eq!(token["status"], 200);
    assert!(
        token["body"].is_null(),
        "token-endpoint bodies are not kept: {token}"
    );
    let statuses: Vec<u64> = entries
        .iter()
        .filter(|e| e["path"] == "/oauth/token")
        .filter_map(|e| e["status"].as_u64())
        .collect();
    assert_eq!(
        statuses,
        [200, 200, 400],
        "exchange, refresh, reused refresh"
    );
    assert!(entries.iter().all(|e| !e["path"]
        .as_str()
        .unwrap_or_default()
        .starts_with("/_sandbox")));
    sb.shutdown().await;
}
