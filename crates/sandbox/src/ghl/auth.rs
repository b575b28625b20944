//! Tokens, OAuth apps, authorization codes and single-use refresh tokens, as GHL keeps them.
//!
//! Two kinds of bearer token reach the API: Private Integration Tokens (static, one location) and
//! OAuth access tokens (Location or Company user type, short-lived). Refresh tokens rotate: each
//! use returns a new one and kills the old, which is the behaviour clients most often get wrong.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::errors::ApiError;
use super::webhooks::WebhookTarget;

/// Every scope a Contacts-API client can hold, plus the OAuth scopes of agency tokens.
pub const ALL_SCOPES: &[&str] = &[
    "contacts.readonly",
    "contacts.write",
    "locations/customFields.readonly",
    "oauth.readonly",
    "oauth.write",
    "locations.readonly",
];

/// Location (sub-account) or Company (agency), as in GHL's `user_type` / `userType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum UserType {
    Location,
    Company,
}

impl UserType {
    /// Parses `Location` / `Company` (GHL's spelling; case-insensitive here).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "location" => Some(Self::Location),
            "company" => Some(Self::Company),
            _ => None,
        }
    }
}

/// How a token came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    PrivateIntegration,
    OAuth,
}

/// What a bearer token grants.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub kind: TokenKind,
    /// The app the token belongs to (rate limits are per app): the OAuth client id, or the
    /// private integration's own id.
    pub app_id: String,
    pub user_type: UserType,
    pub company_id: String,
    pub location_id: Option<String>,
    pub user_id: String,
    pub scopes: BTreeSet<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl TokenInfo {
    /// The rate-limit resource: the location, or the company for agency tokens.
    pub fn resource_id(&self) -> &str {
        self.location_id.as_deref().unwrap_or(&self.company_id)
    }
}

/// A marketplace app able to run the OAuth flow.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthApp {
    pub client_id: String,
    #[serde(skip_serializing)]
    pub client_secret: String,
    pub name: String,
    /// The app's webhook subscription URL ("default webhook URL" in the marketplace settings).
    pub webhook_url: Option<String>,
    /// Locations where the app is installed; webhooks of a location go to its installed apps.
    pub installed_locations: BTreeSet<String>,
    pub version_id: String,
}

#[derive(Debug, Clone)]
struct Grant {
    app_id: String,
    user_type: UserType,
    company_id: String,
    location_id: Option<String>,
    user_id: String,
    scopes: BTreeSet<String>,
}

#[derive(Debug, Clone)]
struct AuthCode {
    grant: Grant,
    redirect_uri: String,
    expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct RefreshEntry {
    grant: Grant,
    used: bool,
}

/// The answer of a successful token exchange or refresh.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: i64,
    pub info: TokenInfo,
    /// Set when this exchange installed the app on a location (an `INSTALL` webhook is due).
    pub newly_installed: Option<String>,
}

/// All credentials of the sandbox. Guarded by one lock in [`super::Ghl`].
#[derive(Debug)]
pub struct AuthRegistry {
    tokens: HashMap<String, TokenInfo>,
    refresh: HashMap<String, RefreshEntry>,
    codes: HashMap<String, AuthCode>,
    pub apps: HashMap<String, OAuthApp>,
    /// Lifetime of OAuth access tokens; GHL's is about a day, tests use seconds.
    pub access_ttl: Duration,
    rng: ChaCha8Rng,
}

impl AuthRegistry {
    /// An empty registry; `seed` makes the generated secrets repeatable.
    pub fn new(seed: u64, access_ttl_secs: i64) -> Self {
        Self {
            tokens: HashMap::new(),
            refresh: HashMap::new(),
            codes: HashMap::new(),
            apps: HashMap::new(),
            access_ttl: Duration::seconds(access_ttl_secs),
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_a117),
        }
    }

    fn random(&mut self, len: usize) -> String {
        const A: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| A[self.rng.random_range(0..A.len())] as char)
            .collect()
    }

    /// Registers an OAuth app and returns its client id.
    pub fn register_app(&mut self, name: &str, webhook_url: Option<String>) -> OAuthApp {
        let client_id = format!("{}-{}", self.random(24), self.random(8));
        let app = OAuthApp {
            client_secret: self.random(36),
            client_id: client_id.clone(),
            name: name.to_string(),
            webhook_url,
            installed_locations: BTreeSet::new(),
            version_id: self.random(24),
        };
        self.apps.insert(client_id, app.clone());
        app
    }

    /// The client secret of an app (for the admin API and the demo banner only).
    pub fn client_secret(&self, client_id: &str) -> Option<String> {
        self.apps.get(client_id).map(|a| a.client_secret.clone())
    }

    /// Mints a Private Integration Token for one location with the given scopes. Its "app" is
    /// the integration itself, so each PIT has its own rate-limit budget.
    pub fn mint_pit(&mut self, company_id: &str, location_id: &str, scopes: &[String]) -> String {
        let token = format!(
            "pit-{}-{}-{}",
            self.random(8),
            self.random(4),
            self.random(12)
        );
        let app_id = format!("pit-app-{}", self.random(10));
        let info = TokenInfo {
            kind: TokenKind::PrivateIntegration,
            app_id,
            user_type: UserType::Location,
            company_id: company_id.to_string(),
            location_id: Some(location_id.to_string()),
            user_id: format!("user-{}", self.random(10)),
            scopes: scopes.iter().cloned().collect(),
            expires_at: None,
        };
        self.tokens.insert(token.clone(), info);
        token
    }

    /// Looks a bearer token up: 401 if unknown or expired.
    pub fn resolve(&self, token: &str) -> Result<TokenInfo, ApiError> {
        let info = self
            .tokens
            .get(token)
            .ok_or_else(|| ApiError::unauthorized("Invalid JWT"))?;
        if let Some(exp) = info.expires_at {
            if Utc::now() >= exp {
                return Err(ApiError::unauthorized("Invalid JWT: token expired"));
            }
        }
        Ok(info.clone())
    }

    /// Issues an authorization code after consent on the chooselocation page.
    #[allow(clippy::too_many_arguments)]
    pub fn issue_code(
        &mut self,
        client_id: &str,
        company_id: &str,
        location_id: Option<&str>,
        scopes: BTreeSet<String>,
        redirect_uri: &str,
    ) -> Result<String, ApiError> {
        if !self.apps.contains_key(client_id) {
            return Err(ApiError::bad_request("Invalid client_id"));
        }
        let code = self.random(40);
        let user_id = format!("user-{}", self.random(10));
        let grant = Grant {
            app_id: client_id.to_string(),
            user_type: UserType::Location,
            company_id: company_id.to_string(),
            location_id: location_id.map(str::to_string),
            user_id,
            scopes,
        };
        let expires_at = Utc::now() + Duration::minutes(10);
        self.codes.insert(
            code.clone(),
            AuthCode {
                grant,
                redirect_uri: redirect_uri.into(),
                expires_at,
            },
        );
        Ok(code)
    }

    fn check_client(&self, client_id: &str, client_secret: &str) -> Result<(), ApiError> {
        match self.apps.get(client_id) {
            Some(app) if app.client_secret == client_secret => Ok(()),
            _ => Err(ApiError::unauthorized("Invalid client credentials")),
        }
    }

    fn issue(&mut self, grant: Grant, with_refresh: bool) -> IssuedTokens {
        let access_token = format!("sbx-at-{}", self.random(48));
        let expires_at = Utc::now() + self.access_ttl;
        let info = TokenInfo {
            kind: TokenKind::OAuth,
            app_id: grant.app_id.clone(),
            user_type: grant.user_type,
            company_id: grant.company_id.clone(),
            location_id: grant.location_id.clone(),
            user_id: grant.user_id.clone(),
            scopes: grant.scopes.clone(),
            expires_at: Some(expires_at),
        };
        self.tokens.insert(access_token.clone(), info.clone());
        let refresh_token = with_refresh.then(|| {
            let rt = format!("sbx-rt-{}", self.random(48));
            self.refresh
                .insert(rt.clone(), RefreshEntry { grant, used: false });
            rt
        });
        IssuedTokens {
            access_token,
            refresh_token,
            expires_in: self.access_ttl.num_seconds(),
            info,
            newly_installed: None,
        }
    }

    /// `grant_type=authorization_code`: one use per code, redirect URI must match.
    pub fn exchange_code(
        &mut self,
        client_id: &str,
        client_secret: &str,
        code: &str,
        redirect_uri: Option<&str>,
        user_type: UserType,
    ) -> Result<IssuedTokens, ApiError> {
        self.check_client(client_id, client_secret)?;
        let entry = self.codes.remove(code).ok_or_else(invalid_grant)?;
        if entry.grant.app_id != client_id || entry.expires_at < Utc::now() {
            return Err(invalid_grant());
        }
        if let Some(r) = redirect_uri {
            if r != entry.redirect_uri {
                return Err(ApiError::bad_request(
                    "redirect_uri does not match the one of the authorization request",
                ));
            }
        }
        let mut grant = entry.grant;
        // Consent named a location: the app is installed there whichever token type is asked for.
        let chosen = grant.location_id.clone();
        grant.user_type = user_type;
        if user_type == UserType::Company {
            grant.location_id = None;
        }
        let mut newly_installed = None;
        if let (Some(app), Some(loc)) = (self.apps.get_mut(client_id), chosen) {
            if app.installed_locations.insert(loc.clone()) {
                newly_installed = Some(loc);
            }
        }
        let mut issued = self.issue(grant, true);
        issued.newly_installed = newly_installed;
        Ok(issued)
    }

    /// `grant_type=refresh_token`: the old refresh token dies, a new pair is returned.
    pub fn refresh(
        &mut self,
        client_id: &str,
        client_secret: &str,
        refresh_token: &str,
    ) -> Result<IssuedTokens, ApiError> {
        self.check_client(client_id, client_secret)?;
        let entry = self
            .refresh
            .get_mut(refresh_token)
            .ok_or_else(invalid_grant)?;
        if entry.used || entry.grant.app_id != client_id {
            return Err(invalid_grant());
        }
        entry.used = true;
        let grant = entry.grant.clone();
        Ok(self.issue(grant, true))
    }

    /// `POST /oauth/locationToken`: an agency token yields a location token for an installed location.
    pub fn location_token(
        &mut self,
        agency: &TokenInfo,
        location_id: &str,
    ) -> Result<IssuedTokens, ApiError> {
        let grant = Grant {
            app_id: agency.app_id.clone(),
            user_type: UserType::Location,
            company_id: agency.company_id.clone(),
            location_id: Some(location_id.to_string()),
            user_id: agency.user_id.clone(),
            scopes: agency.scopes.clone(),
        };
        if let Some(app) = self.apps.get_mut(&agency.app_id) {
            app.installed_locations.insert(location_id.to_string());
        }
        Ok(self.issue(grant, false))
    }

    /// Where an app should receive this location's webhooks.
    pub fn webhook_targets(&self, location_id: &str) -> Vec<WebhookTarget> {
        let mut targets: Vec<WebhookTarget> = self
            .apps
            .values()
            .filter(|a| a.installed_locations.contains(location_id))
            .filter_map(|a| {
                a.webhook_url.as_ref().map(|u| WebhookTarget {
                    app_id: a.client_id.clone(),
                    url: u.clone(),
                })
            })
            .collect();
        targets.sort_by(|a, b| a.app_id.cmp(&b.app_id));
        targets
    }

    /// Uninstalls an app from a location: its tokens and refresh tokens for that location die.
    /// Returns where the app wants its webhooks, to announce the uninstall.
    pub fn uninstall(
        &mut self,
        client_id: &str,
        location_id: &str,
    ) -> Option<Option<WebhookTarget>> {
        let app = self.apps.get_mut(client_id)?;
        if !app.installed_locations.remove(location_id) {
            return None;
        }
        let target = app.webhook_url.clone().map(|url| WebhookTarget {
            app_id: client_id.to_string(),
            url,
        });
        let here = |app_id: &str, loc: &Option<String>| {
            app_id == client_id && loc.as_deref() == Some(location_id)
        };
        self.tokens.retain(|_, t| !here(&t.app_id, &t.location_id));
        self.refresh
            .retain(|_, r| !here(&r.grant.app_id, &r.grant.location_id));
        Some(target)
    }

    /// Where one app wants its webhooks, if anywhere.
    pub fn app_target(&self, client_id: &str) -> Option<WebhookTarget> {
        let app = self.apps.get(client_id)?;
        app.webhook_url.clone().map(|url| WebhookTarget {
            app_id: client_id.to_string(),
            url,
        })
    }

    /// Makes an existing access token expire now (admin API; lets tests force a refresh).
    pub fn expire_token(&mut self, token: &str) -> bool {
        match self.tokens.get_mut(token) {
            Some(t) => {
                t.expires_at = Some(Utc::now() - Duration::seconds(1));
                true
            }
            None => false,
        }
    }
}

fn invalid_grant() -> ApiError {
    let mut e = ApiError::bad_request("Invalid grant: refresh token is invalid or already used");
    e.body = serde_json::json!({
        "error": "invalid_grant",
        "error_description": "This refresh token or authorization code is invalid, expired or already used",
        "statusCode": 400,
        "message": "Invalid grant"
    });
    e
}
