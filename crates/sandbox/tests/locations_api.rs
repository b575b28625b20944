//! `GET /locations/{locationId}/customFields`: the definitions a sync maps custom fields by.

mod common;

use common::{config, start, Api};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn custom_field_definitions_need_the_scope_and_the_location() {
    let sb = start(config(|c| c.locations = 2)).await;
    let api = Api::new(&sb.base_url);
    let creds = sb.credentials();
    let (a, b) = (&creds.locations[0], &creds.locations[1]);
    let r = api
        .get(
            &format!("/locations/{}/customFields", a.location_id),
            &a.token,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let fields = r.json()["customFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = fields.iter().filter_map(|f| f["name"].as_str()).collect();
    assert!(
        names.contains(&"Lead Score") && names.contains(&"Interests"),
        "{names:?}"
    );
    assert!(fields.iter().all(|f| f["fieldKey"]
        .as_str()
        .is_some_and(|k| k.starts_with("contact."))));
    let other = api
        .get(
            &format!("/locations/{}/customFields", b.location_id),
            &a.token,
        )
        .await;
    assert_eq!(other.status, 403, "{}", other.text);
    let mint = api
        .admin(
            Method::POST,
            "/tokens",
            Some(json!({"locationId": a.location_id, "scopes": ["contacts.readonly"]})),
        )
        .await;
    let narrow = mint.json()["token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let denied = api
        .get(
            &format!("/locations/{}/customFields", a.location_id),
            &narrow,
        )
        .await;
    assert_eq!(denied.status, 401);
    assert!(
        denied.message().contains("locations/customFields.readonly"),
        "{}",
        denied.text
    );
}

#[tokio::test]
async fn admin_overview_answers_with_and_without_the_trailing_slash() {
    let sb = start(config(|_| {})).await;
    let api = Api::new(&sb.base_url);
    for path in ["/_sandbox", "/_sandbox/"] {
        let r = common::read(api.http.get(api.url(path))).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.json()["counts"]["contacts"], 5, "{path}");
    }
}
