//! OAuth 2.0 against the GHL sandbox over real HTTP: the chooselocation consent page, code
//! exchange, expiry, rotating single-use refresh tokens, agency (Company) tokens and
//! `/oauth/locationToken` / `/oauth/installedLocations`.

mod common;

use std::time::Duration;

use common::oauth::{
    assert_invalid_grant, consent_code, exchange, field, refresh, token_call, AGENCY_SCOPES,
    CONTACT_SCOPES,
};
use common::{config, contact_of, read, start, Api};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn consent_flow_issues_a_working_token_and_codes_are_single_use() {
    let sb = start(config(|_| {})).await;
    let api = Api::new(&sb.base_url);
    let creds = sb.credentials();
    let client = (creds.client_id.as_str(), creds.client_secret.as_str());
    let loc = &creds.locations[0];

    let code = consent_code(&api, client.0, CONTACT_SCOPES, &loc.name).await;
    let r = exchange(&api, client, &code, "Location").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let t = r.json();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["userType"], "Location");
    assert_eq!(t["locationId"], json!(loc.location_id));
    assert_eq!(t["companyId"], json!(creds.company_id));
    assert!(t["expires_in"].as_i64().is_some_and(|s| s > 80_000), "{t}");
    assert!(t["refresh_token"].is_string(), "{t}");
    let scopes: Vec<&str> = t["scope"].as_str().unwrap_or_default().split(' ').collect();
    assert!(
        scopes.contains(&"contacts.readonly") && scopes.contains(&"contacts.write"),
        "{t}"
    );

    let id = contact_of(&sb, &loc.location_id);
    let got = api
        .get(&format!("/contacts/{id}"), &field(&t, "access_token"))
        .await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.json()["contact"]["id"], json!(id));

    let again = exchange(&api, client, &code, "Location").await;
    assert_invalid_grant(&again);
    sb.shutdown().await;
}

#[tokio::test]
async fn token_endpoint_checks_client_secret_and_redirect_uri() {
    let sb = start(config(|_| {})).await;
    let api = Api::new(&sb.base_url);
    let creds = sb.credentials();
    let name = &creds.locations[0].name;

    let code = consent_code(&api, &creds.client_id, CONTACT_SCOPES, name).await;
    let r = exchange(
        &api,
        (&creds.client_id, "not-the-secret"),
        &code,
        "Location",
    )
    .await;
    assert_eq!(r.status, 401, "wrong client_secret: {}", r.text);
    let r = exchange(
        &api,
        ("no-such-client", &creds.client_secret),
        &code,
        "Location",
    )
    .await;
    assert_eq!(r.status, 401, "unknown client_id: {}", r.text);

    let code = consent_code(&api, &creds.client_id, CONTACT_SCOPES, name).await;
    let form = [
        ("client_id", creds.client_id.as_str()),
        ("client_secret", creds.client_secret.as_str()),
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "http://127.0.0.1:9/elsewhere"),
        ("user_type", "Location"),
    ];
    let r = token_call(&api, &form).await;
    assert_eq!(r.status, 400, "redirect_uri mismatch: {}", r.text);
    assert!(r.message().contains("redirect_uri"), "{}", r.text);
    sb.shutdown().await;
}

#[tokio::test]
async fn expired_access_tokens_get_401_expired_and_refresh_recovers() {
    let sb = start(config(|c| c.access_token_ttl_secs = 1)).await;
    let api = Api::new(&sb.base_url);
    let creds = sb.credentials();
    let client = (creds.client_id.as_str(), creds.client_secret.as_str());
    let loc = &creds.locations[0];
    let path = format!("/contacts/{}", contact_of(&sb, &loc.location_id));

    let code = consent_code(&api, client.0, CONTACT_SCOPES, &loc.name).await;
    let t = exchange(&api, client, &code, "Location").await.json();
    assert_eq!(t["expires_in"], 1);
    let access = field(&t, "access_token");
    assert_eq!(api.get(&path, &access).await.status, 200);

    // The behaviour under test is the 1 s lifetime running out.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let r = api.get(&path, &access).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r.message().contains("expired"), "message: {}", r.text);

    let fresh = refresh(&api, client, &field(&t, "refresh_token")).await;
    assert_eq!(fresh.status, 200, "{}", fresh.text);
    let fresh_access = field(&fresh.json(), "access_token");
    assert_eq!(api.get(&path, &fresh_access).await.status, 200);

    // The admin API can expire a token at once, too.
    let r = api
        .admin(
            Method::POST,
            "/tokens/expire",
            Some(json!({"token": fresh_access})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = api.get(&path, &fresh_access).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r.message().contains("expired"), "{}", r.text);
    sb.shutdown().await;
}

#[tokio::test]
async fn refresh_tokens_rotate_and_are_single_use() {
    let sb = start(config(|_| {})).await;
    let api = Api::new(&sb.base_url);
    let creds = sb.credentials();
    let client = (creds.client_id.as_str(), creds.client_secret.as_str());
    let loc = &creds.locations[0];
    let path = format!("/contacts/{}", contact_of(&sb, &loc.location_id));

    let code = consent_code(&api, client.0, CONTACT_SCOPES, &loc.name).await;
    let first = exchange(&api, client, &code, "Location").await.json();
    let rt1 = field(&first, "refresh_token");

    let r = refresh(&api, (client.0, "wrong-secret"), &rt1).await;
    assert_eq!(r.status, 401, "wrong secret on refresh: {}", r.text);

    let r = refresh(&api, client, &rt1).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let second = r.json();
    let rt2 = field(&second, "refresh_token");
    assert_ne!(rt2, rt1, "a refresh returns a new refresh token");
    assert_ne!(
        field(&second, "access_token"),
        field(&first, "access_token")
    );
    assert_eq!(second["locationId"], json!(loc.location_id));
    assert_eq!(
        api.get(&path, &field(&second, "access_token")).await.status,
        200
    );

    assert_invalid_grant(&refresh(&api, client, &rt1).await);
    let r = refresh(&api, client, &rt2).await;
    assert_eq!(
        r.status, 200,
        "the new refresh token works once: {}",
        r.text
    );
    assert_invalid_grant(&refresh(&api, client, &rt2).await);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_with_one_token_let_exactly_one_win() {
    let sb = start(config(|_| {})).await;
    let api = Api::new(&sb.base_url);
    let creds = sb.credentials();
    let client = (creds.client_id.as_str(), creds.client_secret.as_str());
    let code = consent_code(&api, client.0, CONTACT_SCOPES, &creds.locations[0].name).await;
    let mut rt = field(
        &exchange(&api, client, &code, "Location").await.json(),
        "refresh_token",
    );

    for round in 0..5 {
        let (a, b) = tokio::join!(refresh(&api, client, &rt), refresh(&api, client, &rt));
        let (winner, loser) = match (a.status, b.status) {
            (200, _) => (a, b),
            (_, 200) => (b, a),
            _ => panic!(
                "round {round}: no refresh succeeded: {} / {}",
                a.text, b.text
            ),
        };
        assert_invalid_grant(&loser);
        rt = field(&winner.json(), "refresh_token");
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn agency_tokens_get_location_tokens_and_list_installs() {
    let sb = start(config(|c| c.locations = 2)).await;
    let api = Api::new(&sb.base_url);
    let creds = sb.credentials();
    let (a, b) = (&creds.locations[0], &creds.locations[1]);
    let contact_a = contact_of(&sb, &a.location_id);
    let contact_b = contact_of(&sb, &b.location_id);

    // A fresh app, installed nowhere yet.
    let app = api
        .admin(Method::POST, "/apps", Some(json!({"name": "agency-app"})))
        .await;
    assert_eq!(app.status, 201, "{}", app.text);
    let app = app.json();
    let (client_id, secret) = (field(&app, "clientId"), field(&app, "clientSecret"));
    let client = (client_id.as_str(), secret.as_str());

    let code = consent_code(&api, client.0, AGENCY_SCOPES, &a.name).await;
    let r = exchange(&api, client, &code, "Company").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let t = r.json();
    assert_eq!(t["userType"], "Company");
    assert_eq!(t["companyId"], json!(creds.company_id));
    assert!(
        t.get("locationId").is_none(),
        "an agency token has no location: {t}"
    );
    let agency = field(&t, "access_token");

    let r = api.get(&format!("/contacts/{contact_a}"), &agency).await;
    assert_eq!(r.status, 401, "agency token on contacts: {}", r.text);

    let location_token = |company: String, location: String| {
        let form = [("companyId", company), ("locationId", location)];
        read(
            api.request(Method::POST, "/oauth/locationToken", Some(&agency))
                .form(&form),
        )
    };
    let r = location_token("someone-else".into(), a.location_id.clone()).await;
    assert_eq!(r.status, 403, "foreign company: {}", r.text);
    let r = location_token(creds.company_id.clone(), a.location_id.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let lt = r.json();
    assert_eq!(lt["locationId"], json!(a.location_id));
    let lt = field(&lt, "access_token");
    let r = api.get(&format!("/contacts/{contact_a}"), &lt).await;
    assert_eq!(r.status, 200, "location token on its contact: {}", r.text);
    assert_eq!(r.json()["contact"]["id"], json!(contact_a));
    let r = api.get(&format!("/contacts/{contact_b}"), &lt).await;
    assert_eq!(
        r.status, 403,
        "location token on another location: {}",
        r.text
    );

    let installed = |token: String, filter: Option<&'static str>| {
        let mut q = vec![
            ("companyId", creds.company_id.clone()),
            ("appId", client_id.clone()),
        ];
        if let Some(f) = filter {
            q.push(("isInstalled", f.to_string()));
        }
        read(
            api.request(Method::GET, "/oauth/installedLocations", Some(&token))
                .query(&q),
        )
    };
    let r = installed(agency.clone(), Some("true")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = r.json();
    let ids: Vec<&str> = list["locations"]
        .as_array()
        .expect("locations")
        .iter()
        .filter_map(|l| l["_id"].as_str())
        .collect();
    assert_eq!(ids, [a.location_id.as_str()], "{list}");
    assert_eq!(list["locations"][0]["isInstalled"], true);
    assert_eq!(list["locations"][0]["name"], json!(a.name));

    let all = installed(agency.clone(), None).await.json();
    let by_id = |id: &str| {
        all["locations"]
            .as_array()
            .and_then(|ls| ls.iter().find(|l| l["_id"] == id).cloned())
    };
    assert_eq!(
        by_id(&a.location_id).expect("A listed")["isInstalled"],
        true,
        "{all}"
    );
    assert_eq!(
        by_id(&b.location_id).expect("B listed")["isInstalled"],
        false,
        "{all}"
    );

    let r = installed(lt.clone(), Some("true")).await;
    assert_eq!(
        r.status, 401,
        "a location token is not an agency token: {}",
        r.text
    );
    sb.shutdown().await;
}
