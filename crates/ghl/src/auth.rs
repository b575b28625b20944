//! Credentials of one GHL connection, and the rules that keep an OAuth connection alive:
//! refresh ahead of expiry, one refresh in flight per connection, the new pair saved before it
//! is used, one refresh-and-retry on a 401, and `invalid_grant` surfaced as "reconnect needed".

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, RwLock};

use crate::error::GhlError;
use crate::oauth::{self, OAuthApp, TokenSet};
use crate::secret::Secret;

/// Where refreshed tokens are kept. The engine implements it (encrypted, in its database); a
/// refreshed pair is handed here and must be durable when `save` returns, because the old
/// refresh token is already dead.
pub trait TokenStore: Send + Sync {
    /// Persists the new pair of a connection.
    fn save<'a>(
        &'a self,
        tokens: &'a TokenSet,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
}

/// A store that keeps nothing (tests, one-off scripts).
#[derive(Debug, Default)]
pub struct NoStore;

impl TokenStore for NoStore {
    fn save<'a>(
        &'a self,
        _: &'a TokenSet,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async { Ok(()) })
    }
}

#[derive(Debug)]
struct Current {
    tokens: TokenSet,
    /// False while a refreshed pair has not reached the store: it is then not used.
    saved: bool,
}

/// A live OAuth connection (Location or Company token) that refreshes itself.
pub struct OAuthSession {
    app: OAuthApp,
    http: reqwest::Client,
    current: RwLock<Current>,
    refreshing: Mutex<()>,
    store: Arc<dyn TokenStore>,
    /// Refresh this long before expiry.
    ahead: Duration,
    refreshes: AtomicU64,
}

impl std::fmt::Debug for OAuthSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthSession")
            .field("client_id", &self.app.client_id)
            .finish_non_exhaustive()
    }
}

impl OAuthSession {
    /// A session from tokens already saved. `ahead`: how long before expiry to refresh (GHL
    /// tokens live a day; five minutes is a good default).
    pub fn new(
        app: OAuthApp,
        tokens: TokenSet,
        store: Arc<dyn TokenStore>,
        http: reqwest::Client,
        ahead: Duration,
    ) -> Self {
        Self {
            app,
            http,
            current: RwLock::new(Current {
                tokens,
                saved: true,
            }),
            refreshing: Mutex::new(()),
            store,
            ahead,
            refreshes: AtomicU64::new(0),
        }
    }

    /// How many refreshes this session made (for tests and metrics).
    pub fn refresh_count(&self) -> u64 {
        self.refreshes.load(Ordering::SeqCst)
    }

    /// The tokens in use now.
    pub async fn tokens(&self) -> TokenSet {
        self.current.read().await.tokens.clone()
    }

    /// A usable access token, refreshing first when it is about to expire.
    pub async fn access_token(&self) -> Result<Secret, GhlError> {
        {
            let c = self.current.read().await;
            if c.saved && !c.tokens.expires_within(self.ahead) {
                return Ok(c.tokens.access_token.clone());
            }
        }
        self.refresh(None).await
    }

    /// Refreshes once, whoever asks: callers queue on one lock and the ones behind the first find
    /// a fresh token and return it. `rejected`: the token a 401 just refused — if the current one
    /// differs, someone already refreshed.
    pub async fn refresh(&self, rejected: Option<&Secret>) -> Result<Secret, GhlError> {
        let _one_at_a_time = self.refreshing.lock().await;
        let refresh_token = {
            let mut c = self.current.write().await;
            if !c.saved {
                // A refreshed pair is waiting to be saved: save it before anything else.
                self.store
                    .save(&c.tokens)
                    .await
                    .map_err(|message| GhlError::TokenStore { message })?;
                c.saved = true;
            }
            let stale = match rejected {
                Some(r) => *r == c.tokens.access_token,
                None => c.tokens.expires_within(self.ahead),
            };
            if !stale {
                return Ok(c.tokens.access_token.clone());
            }
            c.tokens
                .refresh_token
                .clone()
                .ok_or_else(|| GhlError::ReconnectNeeded {
                    message: "the token has no refresh token; connect again".into(),
                })?
        };
        let fresh = oauth::refresh(&self.http, &self.app, &refresh_token).await?;
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        let mut c = self.current.write().await;
        c.tokens = fresh;
        c.saved = false;
        self.store
            .save(&c.tokens)
            .await
            .map_err(|message| GhlError::TokenStore { message })?;
        c.saved = true;
        tracing::info!(client_id = %self.app.client_id, "GHL tokens refreshed and saved");
        Ok(c.tokens.access_token.clone())
    }
}

/// A location token minted from an agency session, re-minted when it nears expiry.
pub struct AgencyLocation {
    agency: Arc<OAuthSession>,
    company_id: String,
    location_id: String,
    cached: Mutex<Option<TokenSet>>,
}

impl AgencyLocation {
    /// Location tokens for `location_id` from an agency (Company) session.
    pub fn new(
        agency: Arc<OAuthSession>,
        company_id: impl Into<String>,
        location_id: impl Into<String>,
    ) -> Self {
        Self {
            agency,
            company_id: company_id.into(),
            location_id: location_id.into(),
            cached: Mutex::new(None),
        }
    }

    async fn access_token(&self, rejected: Option<&Secret>) -> Result<Secret, GhlError> {
        let mut cached = self.cached.lock().await;
        if let Some(t) = cached.as_ref() {
            let refused = rejected.is_some_and(|r| *r == t.access_token);
            if !refused && !t.expires_within(self.agency.ahead) {
                return Ok(t.access_token.clone());
            }
        }
        let agency_token = self.agency.access_token().await?;
        let t = oauth::location_token(
            &self.agency.http,
            &self.agency.app.api_base,
            &agency_token,
            &self.company_id,
            &self.location_id,
        )
        .await?;
        let token = t.access_token.clone();
        *cached = Some(t);
        Ok(token)
    }
}

/// How a client authenticates.
#[derive(Clone)]
pub enum Auth {
    /// A Private Integration Token: static, nothing to refresh.
    PrivateIntegration(Secret),
    /// An OAuth connection that refreshes itself.
    OAuth(Arc<OAuthSession>),
    /// Location tokens minted from an agency OAuth connection.
    AgencyLocation(Arc<AgencyLocation>),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::PrivateIntegration(_) => "PrivateIntegration(***)",
            Self::OAuth(_) => "OAuth(***)",
            Self::AgencyLocation(_) => "AgencyLocation(***)",
        })
    }
}

impl Auth {
    /// The bearer token to send now.
    pub async fn bearer(&self) -> Result<Secret, GhlError> {
        match self {
            Self::PrivateIntegration(t) => Ok(t.clone()),
            Self::OAuth(s) => s.access_token().await,
            Self::AgencyLocation(a) => a.access_token(None).await,
        }
    }

    /// When the token in use expires; `None` for a Private Integration Token (it does not) and
    /// for agency location tokens not minted yet. For `/metrics`: no refresh happens here.
    pub async fn expires_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        match self {
            Self::PrivateIntegration(_) => None,
            Self::OAuth(s) => Some(s.current.read().await.tokens.expires_at),
            Self::AgencyLocation(a) => a.cached.lock().await.as_ref().map(|t| t.expires_at),
        }
    }

    /// After a 401 that says the token expired: a fresh token, or `None` when nothing can be
    /// refreshed (a Private Integration Token).
    pub async fn after_expiry(&self, rejected: &Secret) -> Result<Option<Secret>, GhlError> {
        match self {
            Self::PrivateIntegration(_) => Ok(None),
            Self::OAuth(s) => s.refresh(Some(rejected)).await.map(Some),
            Self::AgencyLocation(a) => a.access_token(Some(rejected)).await.map(Some),
        }
    }
}
