//! Tags, the admin API, faults and workflow webhooks of the Insightly emulator, over real HTTP.
//! Tags: `POST` adds (201), `PUT` replaces (201), `DELETE` removes the tag named in the body
//! (202; 417 when the record has no such tag) or in the path (the v2.2 form).

mod insightly_support;

use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use insightly_support::{id_of, start};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::mpsc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_add_replace_and_remove_ignoring_case() {
    let (sb, api) = start(|_| {}).await;
    let c = api
        .contact(json!({"FIRST_NAME": "Tag", "TAGS": [{"TAG_NAME": "one"}]}))
        .await;
    let path = format!("/Contacts/{}/Tags", id_of(&c, "CONTACT_ID"));
    let add = api.post(&path, json!({"TAG_NAME": "Two"})).await;
    assert_eq!(add.status, 201, "{}", add.text);
    assert_eq!(add.json(), json!({"TAG_NAME": "Two"}));
    let again = api.post(&path, json!({"TAG_NAME": "two"})).await;
    assert_eq!(again.status, 201, "adding a present tag is fine");
    let list = api.get(&path).await;
    assert_eq!(list.status, 201, "the swagger documents 201 for this read");
    assert_eq!(
        list.json(),
        json!([{"TAG_NAME": "one"}, {"TAG_NAME": "Two"}])
    );
    let del = api.delete_with(&path, json!({"TAG_NAME": "ONE"})).await;
    assert_eq!(del.status, 202, "{}", del.text);
    api.delete_with(&path, json!({"TAG_NAME": "one"}))
        .await
        .assert_error(417, "Delete failed");
    api.delete_with(&path, json!({}))
        .await
        .assert_error(400, "TAG_NAME");
    let by_path = api.delete(&format!("{path}/two")).await;
    assert_eq!(by_path.status, 202, "{}", by_path.text);
    let put = api
        .put(&path, json!([{"TAG_NAME": "x"}, {"TAG_NAME": "y"}]))
        .await;
    assert_eq!(put.status, 201, "{}", put.text);
    assert_eq!(put.json(), json!([{"TAG_NAME": "x"}, {"TAG_NAME": "y"}]));
    api.post("/Contacts/1/Tags", json!({"TAG_NAME": "z"}))
        .await
        .assert_error(404, "Record not found");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_overview_reset_and_faults() {
    let (sb, api) = start(|c| c.contacts = 6).await;
    let o = api.admin(Method::GET, "/", None).await.json();
    assert_eq!(o["app"], "Insightly");
    assert_eq!(o["api_url"], api.base.as_str());
    assert_eq!(o["counts"]["Contacts"], 6);
    api.contact(json!({"FIRST_NAME": "Extra"})).await;
    let r = api
        .admin(Method::POST, "/reset", Some(json!({"contacts": 3})))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["counts"]["Contacts"], 3);
    assert_eq!(api.all("/Contacts", 100).await.len(), 3);
    let log = api.admin(Method::GET, "/requests", None).await.json();
    assert_eq!(
        log["requests"].as_array().map(Vec::len),
        Some(1),
        "the reset cleared the log"
    );

    let rules = json!({"rules": [{"route": "post-contacts", "errorRate": 1.0}]});
    let r = api.admin(Method::PUT, "/faults", Some(rules)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let failed = api.post("/Contacts", json!({"FIRST_NAME": "Never"})).await;
    assert!(failed.status >= 500, "{}", failed.status);
    assert!(failed.header("x-ratelimit-remaining").is_some());
    assert_eq!(
        api.all("/Contacts", 100).await.len(),
        3,
        "a 5xx fault does nothing"
    );
    let rules = json!({"rules": [{"route": "POST /v3.1/Contacts", "acceptThen422Rate": 1.0}]});
    api.admin(Method::PUT, "/faults", Some(rules)).await;
    let lost = api.post("/Contacts", json!({"FIRST_NAME": "Made"})).await;
    assert_eq!(lost.status, 500, "the answer is lost");
    let all = api.all("/Contacts", 100).await;
    assert!(
        all.iter().any(|c| c["FIRST_NAME"] == "Made"),
        "but the write happened"
    );
    let bad = api
        .admin(
            Method::PUT,
            "/faults",
            Some(json!({"rules": [{"errorRate": 2.0}]})),
        )
        .await;
    bad.assert_error(400, "errorRate");
    api.admin(Method::PUT, "/faults", Some(json!({"rules": []})))
        .await;

    // Changes "as a person in the app".
    let made = api
        .admin(
            Method::POST,
            "/Contacts",
            Some(json!({"FIRST_NAME": "Person"})),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let id = id_of(&made.json(), "CONTACT_ID");
    let read = api
        .admin(Method::GET, &format!("/Contacts/{id}"), None)
        .await;
    assert_eq!(read.json()["FIRST_NAME"], "Person");
    let gone = api
        .admin(Method::DELETE, &format!("/Contacts/{id}"), None)
        .await;
    assert_eq!(gone.status, 204);
    assert_eq!(api.get(&format!("/Contacts/{id}")).await.status, 404);
    sb.shutdown().await;
}

/// The next post (fails the test after 10 s without one).
async fn next(rx: &mut mpsc::UnboundedReceiver<(HeaderMap, Value)>) -> (HeaderMap, Value) {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a post within 10 s")
        .expect("open")
}

/// A receiver for workflow posts: hands each over a channel.
async fn receiver() -> (String, mpsc::UnboundedReceiver<(HeaderMap, Value)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |h: HeaderMap, b: Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((h, serde_json::from_slice(&b).unwrap_or(Value::Null)));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (url, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_webhooks_post_the_entity_with_dotnet_dates() {
    let (url, mut rx) = receiver().await;
    let (sb, api) = start(|_| {}).await;
    let r = api
        .admin(
            Method::PUT,
            "/webhook",
            Some(json!({"url": url, "secret": "s3cret"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let c = api.contact(json!({"FIRST_NAME": "Hooked"})).await;
    let id = id_of(&c, "CONTACT_ID");
    let (headers, body) = next(&mut rx).await;
    assert_eq!(body["entity"]["CONTACT_ID"], id);
    assert_eq!(body["entity"]["FIRST_NAME"], "Hooked");
    let stamp = body["entity"]["DATE_UPDATED_UTC"]
        .as_str()
        .unwrap_or_default();
    assert!(
        stamp.starts_with("/Date(") && stamp.ends_with(")/"),
        "{stamp}"
    );
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert_eq!(
        auth,
        format!("Basic {}", STANDARD.encode("insightly:s3cret"))
    );
    api.put("/Contacts", json!({"CONTACT_ID": id, "LAST_NAME": "Again"}))
        .await;
    let (_, body) = next(&mut rx).await;
    assert_eq!(body["entity"]["LAST_NAME"], "Again");
    api.delete(&format!("/Contacts/{id}")).await;
    api.post("/Organisations", json!({"ORGANISATION_NAME": "After"}))
        .await;
    let (_, body) = next(&mut rx).await;
    assert!(
        body["entity"]["ORGANISATION_ID"].is_i64(),
        "deletes post nothing: {body}"
    );
    let d = api
        .admin(Method::GET, "/webhook/deliveries", None)
        .await
        .json();
    assert!(d["deliveries"].as_array().map_or(0, Vec::len) >= 2);
    sb.shutdown().await;
}
