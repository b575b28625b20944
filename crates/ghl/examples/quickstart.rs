//! The examples of `docs/ghl-client.md`, runnable against a local GHL sandbox:
//! `cargo run -p ghl --example quickstart`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt;
use ghl::models::contact::CreateContact;
use ghl::models::search::{Filter, SearchRequest};
use ghl::oauth::{self, OAuthApp, UserType};
use ghl::webhooks::{Signatures, WebhookVerifier};
use ghl::{Auth, GhlClient, GhlError, NoStore, OAuthSession, Secret};
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = GhlSandbox::start(GhlConfig {
        contacts: 30,
        ..Default::default()
    })
    .await?;

    // 1. A client with a Private Integration Token.
    let client = GhlClient::builder(Auth::PrivateIntegration(Secret::new(sandbox.token())))
        .base_url(&sandbox.base_url) // omit for the real GHL
        .location_id(sandbox.location_id())
        .build()?;

    // 2. Create a contact. A create is never sent twice blindly: if the answer is lost, the
    //    client looks the contact up by email or phone before trying again.
    let new = CreateContact {
        first_name: Some("Ada".into()),
        email: Some("ada@example.com".into()),
        tags: Some(vec!["vip".into()]),
        ..Default::default()
    };
    let created = client.create_contact(&new).await?;
    println!("created {}", created.id);

    // 3. Every VIP contact, however many pages (searchAfter, past GHL's 10,000 window).
    let vips: Vec<_> = client
        .search_all(SearchRequest::new().filter(Filter::eq("tags", "vip")))
        .try_collect()
        .await?;
    println!("{} VIP contacts", vips.len());

    // 4. What changed since a cursor, with an overlap that never yields a contact twice.
    let mut changes = client.changed_since(
        chrono::Utc::now() - chrono::Duration::hours(1),
        Duration::from_secs(60),
    );
    while let Some(c) = changes.try_next().await? {
        println!("changed: {} at {:?}", c.id, c.date_updated);
    }
    let _save_me = changes.cursor(); // persist; resume with `client.changes_after(cursor, overlap)`

    // 5. Errors say what to do.
    match client.get_contact("no-such-id").await {
        Err(GhlError::NotFound { message }) => println!("not found: {message}"),
        other => println!("unexpected: {other:?}"),
    }
    println!("budget left: {:?}", client.budget());

    // 6. OAuth: the consent URL a person opens, then a session that refreshes itself.
    let creds = sandbox.credentials();
    let url = oauth::consent_url(
        &creds.client_id,
        "https://bridge.example/callback",
        &["contacts.readonly", "contacts.write"],
        Some("state-1"),
        false,
        None,
    );
    println!("consent page: {url}");
    let app = OAuthApp {
        client_id: creds.client_id,
        client_secret: Secret::new(creds.client_secret),
        api_base: sandbox.base_url.clone(),
    };
    // After the redirect back with `code` (the sandbox's approve link stands in for a person):
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let approve = http
        .get(format!("{}/oauth/chooselocation/approve", sandbox.base_url))
        .query(&[
            ("response_type", "code"),
            ("client_id", app.client_id.as_str()),
            ("redirect_uri", "https://bridge.example/callback"),
            ("scope", "contacts.readonly contacts.write"),
            ("location_id", &sandbox.location_id()),
        ])
        .send()
        .await?;
    let location = approve
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let code = url::Url::parse(location)?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let tokens = oauth::exchange_code(
        &http,
        &app,
        &code,
        "https://bridge.example/callback",
        UserType::Location,
    )
    .await?;
    // A real deployment passes its own TokenStore, which saves each new pair before it is used.
    let session = Arc::new(OAuthSession::new(
        app,
        tokens,
        Arc::new(NoStore),
        http,
        Duration::from_secs(300),
    ));
    let oauth_client = GhlClient::builder(Auth::OAuth(session))
        .base_url(&sandbox.base_url)
        .location_id(sandbox.location_id())
        .build()?;
    println!(
        "via OAuth: {}",
        oauth_client.get_contact(&created.id).await?.id
    );

    // 7. Verify a webhook over its raw body (keys: GHL's built in; here the sandbox's).
    let keys: serde_json::Value =
        reqwest::get(format!("{}/_sandbox/webhook-keys", sandbox.base_url))
            .await?
            .json()
            .await?;
    let verifier = WebhookVerifier::new()
        .with_ed25519_pem(keys["ed25519PublicKey"].as_str().unwrap_or_default())?
        .with_rsa_pem(keys["rsaPublicKey"].as_str().unwrap_or_default())?;
    let body = br#"{"type":"ContactUpdate","locationId":"L1","id":"C1"}"#;
    match verifier.verify(
        Signatures::new(Some("bm90LWEtc2lnbmF0dXJl"), None),
        body,
        chrono::Utc::now(),
    ) {
        Err(e) => println!("refused as it should be: {e}"),
        Ok(_) => println!("unexpectedly accepted"),
    }
    sandbox.shutdown().await;
    Ok(())
}
