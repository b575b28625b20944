//! GHL's OAuth 2.0 endpoints (`oauth.json`): the consent URL, code exchange, refresh, agency →
//! location tokens and installed locations. These are plain calls; [`crate::auth`] decides when
//! to make them and guards the single-use refresh tokens.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::GhlError;
use crate::secret::Secret;

/// GHL's marketplace host for the consent page.
pub const MARKETPLACE_HOST: &str = "https://marketplace.gohighlevel.com";
/// The white-label marketplace host.
pub const WHITE_LABEL_HOST: &str = "https://marketplace.leadconnectorhq.com";
/// GHL's API host.
pub const API_BASE: &str = "https://services.leadconnectorhq.com";

/// An OAuth app's identity.
#[derive(Debug, Clone)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: Secret,
    /// API base URL (token endpoint lives there): [`API_BASE`], or a sandbox.
    pub api_base: String,
}

/// `user_type` of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserType {
    Location,
    Company,
}

impl UserType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Location => "Location",
            Self::Company => "Company",
        }
    }
}

/// A token pair as GHL issued it.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: Secret,
    /// Absent for location tokens minted from an agency token.
    pub refresh_token: Option<Secret>,
    pub expires_at: DateTime<Utc>,
    pub scope: String,
    pub user_type: String,
    pub location_id: Option<String>,
    pub company_id: Option<String>,
    pub user_id: Option<String>,
}

impl TokenSet {
    /// Reads GHL's token answer; `now` anchors `expires_in`.
    pub fn from_json(v: &Value, now: DateTime<Utc>) -> Result<Self, GhlError> {
        let s = |k: &str| v[k].as_str().map(str::to_string);
        let access = s("access_token").ok_or_else(|| GhlError::Transient {
            status: None,
            message: "token answer without access_token".into(),
        })?;
        let expires_in = v["expires_in"].as_i64().unwrap_or(86_399);
        Ok(Self {
            access_token: Secret::new(access),
            refresh_token: s("refresh_token").map(Secret::new),
            expires_at: now + chrono::Duration::seconds(expires_in),
            scope: s("scope").unwrap_or_default(),
            user_type: s("userType").unwrap_or_else(|| "Location".into()),
            location_id: s("locationId"),
            company_id: s("companyId"),
            user_id: s("userId"),
        })
    }

    /// Whether the access token expires within `ahead`.
    pub fn expires_within(&self, ahead: Duration) -> bool {
        let ahead = chrono::Duration::from_std(ahead).unwrap_or(chrono::Duration::zero());
        Utc::now() + ahead >= self.expires_at
    }

    /// The granted scopes.
    pub fn scopes(&self) -> Vec<&str> {
        self.scope.split_whitespace().collect()
    }
}

/// The consent page URL a person opens to connect a location. `white_label` picks GHL's
/// white-label marketplace host; `host` overrides both (a sandbox).
pub fn consent_url(
    client_id: &str,
    redirect_uri: &str,
    scopes: &[&str],
    state: Option<&str>,
    white_label: bool,
    host: Option<&str>,
) -> String {
    let host = host.unwrap_or(if white_label {
        WHITE_LABEL_HOST
    } else {
        MARKETPLACE_HOST
    });
    let mut q = vec![
        ("response_type", "code".to_string()),
        ("redirect_uri", redirect_uri.to_string()),
        ("client_id", client_id.to_string()),
        ("scope", scopes.join(" ")),
    ];
    if let Some(s) = state {
        q.push(("state", s.to_string()));
    }
    let query = serde_urlencoded::to_string(&q).unwrap_or_default();
    format!(
        "{}/v2/oauth/chooselocation?{query}",
        host.trim_end_matches('/')
    )
}

async fn post_form(
    http: &reqwest::Client,
    url: String,
    form: &[(&str, &str)],
    bearer: Option<&Secret>,
) -> Result<Value, GhlError> {
    let mut rb = http
        .post(url)
        .header("Accept", "application/json")
        .form(form);
    if let Some(b) = bearer {
        rb = rb
            .bearer_auth(b.expose())
            .header("Version", crate::client::API_VERSION);
    }
    let resp = rb.send().await.map_err(|e| GhlError::Transient {
        status: None,
        message: crate::client::describe(e),
    })?;
    read_json(resp).await
}

pub(crate) async fn read_json(resp: reqwest::Response) -> Result<Value, GhlError> {
    let status = resp.status().as_u16();
    let retry_after = crate::client::retry_after(resp.headers());
    let body = resp.bytes().await.map_err(|e| GhlError::Transient {
        status: Some(status),
        message: crate::client::describe(e),
    })?;
    if !(200..300).contains(&status) {
        return Err(GhlError::from_response(status, &body, retry_after));
    }
    serde_json::from_slice(&body).map_err(|e| GhlError::Transient {
        status: Some(status),
        message: format!("unreadable answer: {e}"),
    })
}

/// `grant_type=authorization_code`.
pub async fn exchange_code(
    http: &reqwest::Client,
    app: &OAuthApp,
    code: &str,
    redirect_uri: &str,
    user_type: UserType,
) -> Result<TokenSet, GhlError> {
    let form = [
        ("client_id", app.client_id.as_str()),
        ("client_secret", app.client_secret.expose()),
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("user_type", user_type.as_str()),
    ];
    let v = post_form(http, format!("{}/oauth/token", app.api_base), &form, None).await?;
    TokenSet::from_json(&v, Utc::now())
}

/// `grant_type=refresh_token`. The refresh token is spent by this call whatever happens next.
pub async fn refresh(
    http: &reqwest::Client,
    app: &OAuthApp,
    refresh_token: &Secret,
) -> Result<TokenSet, GhlError> {
    let form = [
        ("client_id", app.client_id.as_str()),
        ("client_secret", app.client_secret.expose()),
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.expose()),
    ];
    let now = Utc::now();
    let v = post_form(http, format!("{}/oauth/token", app.api_base), &form, None).await?;
    TokenSet::from_json(&v, now)
}

/// `POST /oauth/locationToken`: an agency (Company) token yields a token for one location.
pub async fn location_token(
    http: &reqwest::Client,
    api_base: &str,
    agency_token: &Secret,
    company_id: &str,
    location_id: &str,
) -> Result<TokenSet, GhlError> {
    let form = [("companyId", company_id), ("locationId", location_id)];
    let now = Utc::now();
    let v = post_form(
        http,
        format!("{api_base}/oauth/locationToken"),
        &form,
        Some(agency_token),
    )
    .await?;
    TokenSet::from_json(&v, now)
}

/// One location where an app is (or could be) installed.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InstalledLocation {
    #[serde(rename = "_id")]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub is_installed: bool,
}

/// `GET /oauth/installedLocations` with an agency token.
pub async fn installed_locations(
    http: &reqwest::Client,
    api_base: &str,
    agency_token: &Secret,
    company_id: &str,
    app_id: &str,
) -> Result<Vec<InstalledLocation>, GhlError> {
    let resp = http
        .get(format!("{api_base}/oauth/installedLocations"))
        .query(&[
            ("companyId", company_id),
            ("appId", app_id),
            ("isInstalled", "true"),
            ("limit", "500"),
        ])
        .bearer_auth(agency_token.expose())
        .header("Version", crate::client::API_VERSION)
        .send()
        .await
        .map_err(|e| GhlError::Transient {
            status: None,
            message: crate::client::describe(e),
        })?;
    let v = read_json(resp).await?;
    serde_json::from_value(v["locations"].clone()).map_err(|e| GhlError::Transient {
        status: None,
        message: format!("unreadable locations: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_urls() {
        let u = consent_url(
            "cid",
            "https://app.example/cb",
            &["contacts.readonly", "contacts.write"],
            Some("s1"),
            false,
            None,
        );
        assert_eq!(u, "https://marketplace.gohighlevel.com/v2/oauth/chooselocation?response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&client_id=cid&scope=contacts.readonly+contacts.write&state=s1");
        assert!(consent_url("c", "r", &[], None, true, None).starts_with(WHITE_LABEL_HOST));
    }
}
