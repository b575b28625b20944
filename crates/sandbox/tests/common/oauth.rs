//! The OAuth consent flow as a browser walks it, and calls to the token endpoint.

use super::{read, Api, Resp};
use serde_json::Value;

pub const REDIRECT: &str = "http://127.0.0.1:9/oauth/callback";
pub const CONTACT_SCOPES: &str = "contacts.readonly contacts.write";
pub const AGENCY_SCOPES: &str = "contacts.readonly contacts.write oauth.readonly oauth.write";

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

/// `(link text, href)` of every link on a page, unescaped.
pub fn links(html: &str) -> Vec<(String, String)> {
    html.split("<a")
        .skip(1)
        .filter_map(|a| {
            let (tag, rest) = a.split_once('>')?;
            let text = rest.split("</a>").next()?;
            let href = attr(&format!(" {tag}"), "href")?.to_string();
            Some((unescape(text), unescape(&href)))
        })
        .collect()
}

/// Walks the consent flow as a browser would: opens the chooselocation page, clicks "Allow for
/// <location>", and takes the code from the redirect (not followed).
pub async fn consent_code(api: &Api, client_id: &str, scope: &str, location_name: &str) -> String {
    let query = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", "st-123"),
    ];
    let page = read(api.http.get(api.url("/oauth/chooselocation")).query(&query)).await;
    assert_eq!(page.status, 200, "consent page: {}", page.text);
    let wanted = format!("Allow for {location_name}");
    let href = links(&page.text)
        .into_iter()
        .find(|(text, _)| *text == wanted)
        .unwrap_or_else(|| panic!("no link {wanted:?} on the consent page: {}", page.text))
        .1;
    assert!(href.starts_with("/oauth/chooselocation/approve?"), "{href}");
    let approved = read(api.http.get(api.url(&href))).await;
    assert_eq!(approved.status, 302, "approve: {}", approved.text);
    let location = approved.header("location").expect("Location header");
    assert!(location.starts_with(REDIRECT), "redirected to {location}");
    let url = reqwest::Url::parse(location).expect("redirect URL");
    let param = |k: &str| {
        url.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(
        param("state").as_deref(),
        Some("st-123"),
        "state comes back"
    );
    param("code").expect("code in the redirect")
}

pub async fn token_call(api: &Api, form: &[(&str, &str)]) -> Resp {
    read(api.http.post(api.url("/oauth/token")).form(form)).await
}

pub async fn exchange(api: &Api, client: (&str, &str), code: &str, user_type: &str) -> Resp {
    let form = [
        ("client_id", client.0),
        ("client_secret", client.1),
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("user_type", user_type),
    ];
    token_call(api, &form).await
}

pub async fn refresh(api: &Api, client: (&str, &str), refresh_token: &str) -> Resp {
    let form = [
        ("client_id", client.0),
        ("client_secret", client.1),
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    token_call(api, &form).await
}

pub fn field(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
        .to_string()
}

pub fn assert_invalid_grant(r: &Resp) {
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"], "invalid_grant", "{}", r.text);
}
