//! The per-connection gauges of `/metrics` read from real GHL connectors: an OAuth connection
//! shows seconds to its token's expiry and a Private Integration Token shows none; both show
//! their location's rate budget (a fresh pacer: all of it left). No call is made.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use connectors::{Connector, GhlConfig, GhlConnector, GhlSettings};
use ghl::{Auth, NoStore, OAuthApp, OAuthSession, Secret, TokenSet};
use server::Metrics;

fn connector(location: &str, auth: Auth) -> Arc<dyn Connector> {
    let settings = GhlSettings::new("http://127.0.0.1:9", location);
    Arc::new(GhlConnector::new(GhlConfig::new(settings, auth)).expect("GHL connector"))
}

#[tokio::test]
async fn oauth_expiry_and_budget_gauges() {
    let tokens = TokenSet {
        access_token: Secret::new("access-token-value"),
        refresh_token: Some(Secret::new("refresh-token-value")),
        expires_at: chrono::Utc::now() + chrono::Duration::seconds(3600),
        scope: "contacts.readonly".into(),
        user_type: "Location".into(),
        location_id: Some("loc-oauth".into()),
        company_id: None,
        user_id: None,
    };
    let app = OAuthApp {
        client_id: "client".into(),
        client_secret: Secret::new("client-secret"),
        api_base: "http://127.0.0.1:9".into(),
    };
    let session = OAuthSession::new(
        app,
        tokens,
        Arc::new(NoStore),
        reqwest::Client::new(),
        Duration::from_secs(300),
    );
    let mut connectors: BTreeMap<String, Arc<dyn Connector>> = BTreeMap::new();
    connectors.insert(
        "oauth-ghl".into(),
        connector("loc-oauth", Auth::OAuth(Arc::new(session))),
    );
    connectors.insert(
        "pit-ghl".into(),
        connector(
            "loc-pit",
            Auth::PrivateIntegration(Secret::new("pit-token")),
        ),
    );

    let m = Metrics::default();
    m.observe_connections(&connectors).await;
    let text = m.render(None);
    let expiry = text
        .lines()
        .find(|l| l.starts_with("ghl_bridge_token_expires_in_seconds{connection=\"oauth-ghl\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no expiry gauge:\n{text}"));
    assert!((3500.0..=3600.0).contains(&expiry), "{expiry}");
    assert!(
        !text.contains("ghl_bridge_token_expires_in_seconds{connection=\"pit-ghl\"}"),
        "{text}"
    );
    for (connection, location) in [("oauth-ghl", "loc-oauth"), ("pit-ghl", "loc-pit")] {
        let labels =
            format!("{{connection=\"{connection}\",location=\"{location}\",window=\"burst\"}}");
        assert!(
            text.contains(&format!("ghl_bridge_rate_budget_limit{labels}")),
            "{labels}:\n{text}"
        );
    }
    for secret in [
        "access-token-value",
        "refresh-token-value",
        "pit-token",
        "client-secret",
    ] {
        assert!(!text.contains(secret), "{secret} in /metrics");
    }
}
