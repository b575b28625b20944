//! OAuth: the consent flow, code exchange and refresh-token rotation, and the agency endpoints.

use serde_json::json;

use crate::harness::{self, str_at, Api, BOGUS_TOKEN};

/// Claimed by `oauth_consent_tokens_and_agency_endpoints`.
pub const OAUTH_OPS: &[(&str, &str)] = &[
    ("POST", "/oauth/token"),
    ("POST", "/oauth/locationToken"),
    ("GET", "/oauth/installedLocations"),
];

const REDIRECT_URI: &str = "http://127.0.0.1:9/oauth/callback";

fn unescape_html(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Runs the consent flow as a browser would: opens the chooselocation page, follows the "Allow"
/// link of our location, and takes `code` from the redirect (which is not followed).
async fn consent_code(api: &Api, client_id: &str, scope: &str) -> String {
    let page = api
        .http
        .get(format!("{}/oauth/chooselocation", api.base))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT_URI),
            ("scope", scope),
        ])
        .send()
        .await
        .expect("consent page");
    assert_eq!(page.status().as_u16(), 200, "consent page");
    let html = page.text().await.expect("consent html");
    let marker = format!("data-location-id=\"{}\"", api.location_id);
    let link = html
        .split("<a ")
        .find(|a| a.contains(&marker))
        .unwrap_or_else(|| panic!("no Allow link for our location in {html}"));
    let href = link
        .split("href=\"")
        .nth(1)
        .and_then(|h| h.split('"').next())
        .expect("Allow link has an href");
    let approve = api
        .http
        .get(format!("{}{}", api.base, unescape_html(href)))
        .send()
        .await
        .expect("approve");
    assert_eq!(
        approve.status().as_u16(),
        302,
        "approving redirects back to the app"
    );
    let location = approve.headers()["location"]
        .to_str()
        .expect("location header")
        .to_string();
    assert!(
        location.starts_with(REDIRECT_URI),
        "redirect goes to redirect_uri: {location}"
    );
    let url = reqwest::Url::parse(&location).expect("redirect URL");
    let code = url
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned());
    code.expect("redirect carries code")
}

#[tokio::test]
async fn oauth_consent_tokens_and_agency_endpoints() {
    let api = Api::start().await;
    let creds = api.sandbox.credentials();
    let (client_id, secret) = (creds.client_id.as_str(), creds.client_secret.as_str());
    let token = |form: &[(&str, &str)]| {
        api.call("POST", "/oauth/token")
            .no_auth()
            .no_version()
            .form(form)
    };

    let code = consent_code(&api, client_id, "contacts.readonly contacts.write").await;
    let exchange = [
        ("client_id", client_id),
        ("client_secret", secret),
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("user_type", "Location"),
    ];
    let issued = token(&exchange).expect(200).await;
    assert_eq!(
        (issued["userType"].clone(), issued["locationId"].clone()),
        (json!("Location"), json!(api.location_id))
    );
    let works = api
        .http
        .get(format!("{}/contacts/", api.base))
        .query(&[("locationId", api.location_id.as_str())])
        .bearer_auth(str_at(&issued, "/access_token"))
        .header("Version", harness::VERSION)
        .send()
        .await
        .expect("call with the OAuth token");
    assert_eq!(
        works.status().as_u16(),
        200,
        "the exchanged access token works"
    );
    token(&exchange).expect(400).await;

    let first_refresh = str_at(&issued, "/refresh_token").to_string();
    let refresh = |rt: &str, secret: &str| {
        let form = [
            ("client_id", client_id),
            ("client_secret", secret),
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
        ];
        api.call("POST", "/oauth/token")
            .no_auth()
            .no_version()
            .form(&form)
    };
    let refreshed = refresh(&first_refresh, secret).expect(200).await;
    assert_ne!(
        str_at(&refreshed, "/refresh_token"),
        first_refresh,
        "refresh tokens rotate"
    );
    let reused = refresh(&first_refresh, secret).expect(400).await;
    assert_eq!(reused["error"], json!("invalid_grant"));
    refresh(str_at(&refreshed, "/refresh_token"), "wrong-secret")
        .expect(401)
        .await;
    token(&[("client_id", client_id), ("client_secret", secret)])
        .expect(422)
        .await;

    let agency_code = consent_code(
        &api,
        client_id,
        "oauth.readonly oauth.write contacts.readonly contacts.write",
    )
    .await;
    let agency = token(&[
        ("client_id", client_id),
        ("client_secret", secret),
        ("grant_type", "authorization_code"),
        ("code", agency_code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("user_type", "Company"),
    ])
    .expect(200)
    .await;
    assert_eq!(agency["userType"], json!("Company"));
    let agency_token = str_at(&agency, "/access_token").to_string();
    let location_token = |form: &[(&str, &str)]| {
        api.call("POST", "/oauth/locationToken")
            .bearer(&agency_token)
            .form(form)
    };
    let for_location = [
        ("companyId", creds.company_id.as_str()),
        ("locationId", api.location_id.as_str()),
    ];
    let lt = location_token(&for_location).expect(200).await;
    assert_eq!(lt["locationId"], json!(api.location_id));
    location_token(&[("companyId", creds.company_id.as_str())])
        .expect(422)
        .await;
    location_token(&for_location).no_version().expect(400).await;
    location_token(&for_location)
        .bearer(str_at(&issued, "/access_token"))
        .expect(401)
        .await;

    let installed = |app: &str| {
        api.call("GET", "/oauth/installedLocations")
            .bearer(&agency_token)
            .query("companyId", &creds.company_id)
            .query("appId", app)
    };
    let list = installed(client_id).expect(200).await;
    let ours = list["locations"].as_array().and_then(|l| {
        l.iter()
            .find(|l| l["_id"] == json!(api.location_id))
            .cloned()
    });
    assert_eq!(
        ours.map(|l| l["isInstalled"].clone()),
        Some(json!(true)),
        "installed on our location: {list}"
    );
    api.call("GET", "/oauth/installedLocations")
        .bearer(&agency_token)
        .query("companyId", &creds.company_id)
        .expect(422)
        .await;
    installed(client_id).bearer(BOGUS_TOKEN).expect(401).await;
    installed("no-such-app").expect(400).await;

    api.assert_covered(OAUTH_OPS);
    api.stop().await;
}
