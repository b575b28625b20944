//! Credentials kept in the store's connection registry rather than in the project file: GHL
//! OAuth tokens (`auth: oauth`), and tokens or API keys given to `ghl-bridge connect … --token`
//! / `--key`. Each is sealed with the project's secret key (AES-256-GCM, bound to the
//! connection's name), so the database never holds a token in the clear, and every refreshed
//! OAuth pair is sealed and saved before it is used: GHL refresh tokens are single use, so a pair
//! lost at a restart would mean connecting again.
//!
//! The registry entry's id is the connection's name in `ghl-bridge.yaml`.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use ghl::oauth::{self, InstalledLocation, OAuthApp, TokenSet, UserType};
use ghl::{AgencyLocation, Auth, OAuthSession, Secret, TokenStore};
use secrets::SecretKey;

mod credential;
pub use credential::{
    load_credential, open_credential, registry_aad, save_credential, seal_credential,
    StoredCredential,
};

use super::{sealed, ConnectionError, ConnectionErrors, ConnectorFactory, Settings};
use crate::flow::{AppKind, Connection, Project, Setting};
use crate::store::Store;

/// Scopes asked for when a connection names none: the Contacts API both ways, and the custom
/// field definitions a sync needs to map custom fields by name.
pub const DEFAULT_SCOPES: &str = "contacts.readonly contacts.write locations/customFields.readonly";

/// Refresh this long before an access token expires.
const REFRESH_AHEAD: Duration = Duration::from_secs(300);

/// Writes each refreshed pair back to the registry, sealed, before the session uses it.
struct RegistryTokens {
    store: Arc<dyn Store>,
    key: SecretKey,
    connection: String,
}

impl TokenStore for RegistryTokens {
    fn save<'a>(
        &'a self,
        tokens: &'a TokenSet,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let c = StoredCredential::from_tokens(tokens);
            save_credential(&*self.store, &self.key, &self.connection, "ghl", &c)
                .await
                .map_err(|e| {
                    format!(
                        "connection `{}`: the store did not take the refreshed tokens: {e}",
                        self.connection
                    )
                })
        })
    }
}

/// How a GHL `auth: oauth` connection reaches GHL: its app, scopes and consent page.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// The connection's name.
    pub connection: String,
    /// The marketplace app (client id and secret) and the API host.
    pub app: OAuthApp,
    /// Scopes asked for on the consent page.
    pub scopes: Vec<String>,
    /// Location (sub-account) tokens, or Company (agency) tokens that mint location tokens.
    pub user_type: UserType,
    /// The consent page's host: GHL's marketplace, or the API host when it is not GHL's (the
    /// sandbox serves both).
    pub consent_host: String,
    /// The redirect URI registered with the app, when the connection names one.
    pub redirect_uri: Option<String>,
    /// The `location_id` setting, when present.
    pub location_id: Option<String>,
}

/// Reads the OAuth settings of a GHL connection (sealed ones opened with the project key).
pub fn oauth_config(
    conn: &Connection,
    project_dir: &Path,
) -> Result<OAuthConfig, Vec<ConnectionError>> {
    let opened = sealed::open_sealed(conn, project_dir)?;
    let mut s = Settings {
        conn: &opened,
        errors: Vec::new(),
    };
    if conn.app != AppKind::Ghl {
        s.push(None, "OAuth connect is for GHL connections (app: ghl); other apps take `ghl-bridge connect <app> --connection NAME --key`");
        return Err(s.errors);
    }
    let config = read_config(&mut s);
    match config.filter(|_| s.errors.is_empty()) {
        Some(c) => Ok(c),
        None => Err(s.errors),
    }
}

fn read_config(s: &mut Settings<'_>) -> Option<OAuthConfig> {
    let base = s
        .text("base_url")
        .unwrap_or_else(|| connectors::ghl::DEFAULT_BASE_URL.to_string());
    let base = base.trim_end_matches('/').to_string();
    let client_id = s.required(
        "client_id",
        "the client id of your GHL marketplace app (auth: oauth)",
    );
    let client_secret = s.required(
        "client_secret",
        "the client secret of your GHL marketplace app, e.g. `client_secret: ${GHL_CLIENT_SECRET}` or sealed with `ghl-bridge secrets seal`",
    );
    let user_type = match s.text("user_type").as_deref() {
        None => UserType::Location,
        Some(t) if t.eq_ignore_ascii_case("location") => UserType::Location,
        Some(t) if t.eq_ignore_ascii_case("company") => UserType::Company,
        Some(_) => {
            s.push(
                Some("user_type"),
                "must be `location` (sub-account tokens, the default) or `company` (agency tokens)",
            );
            UserType::Location
        }
    };
    let default_scopes = match user_type {
        UserType::Location => DEFAULT_SCOPES.to_string(),
        UserType::Company => format!("{DEFAULT_SCOPES} oauth.readonly oauth.write"),
    };
    let scopes = s.text("scopes").unwrap_or(default_scopes);
    let consent_host = s.text("consent_host").unwrap_or_else(|| {
        if base == connectors::ghl::DEFAULT_BASE_URL.trim_end_matches('/') {
            oauth::MARKETPLACE_HOST.to_string()
        } else {
            base.clone()
        }
    });
    let location_id = s.text("location_id");
    if user_type == UserType::Company && location_id.is_none() {
        s.push(
            Some("location_id"),
            "is required with `user_type: company`: the location to mint tokens for",
        );
    }
    Some(OAuthConfig {
        connection: s.conn.name.clone(),
        app: OAuthApp {
            client_id: client_id?,
            client_secret: Secret::new(client_secret?),
            api_base: base,
        },
        scopes: scopes.split_whitespace().map(str::to_string).collect(),
        user_type,
        consent_host,
        redirect_uri: s.text("redirect_uri"),
        location_id,
    })
}

impl OAuthConfig {
    /// The consent page URL for `redirect_uri`, carrying the CSRF `state`.
    pub fn consent_url(&self, redirect_uri: &str, state: &str) -> String {
        let scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        oauth::consent_url(
            &self.app.client_id,
            redirect_uri,
            &scopes,
            Some(state),
            false,
            Some(&self.consent_host),
        )
    }

    /// Exchanges a consent code, lists the locations the tokens reach, and stores the tokens
    /// sealed under the connection's name. Messages say what to do next and hold no secret.
    pub async fn complete(
        &self,
        store: &dyn Store,
        key: &SecretKey,
        code: &str,
        redirect_uri: &str,
    ) -> Result<(TokenSet, Vec<InstalledLocation>), String> {
        let http = reqwest::Client::new();
        let tokens = oauth::exchange_code(&http, &self.app, code, redirect_uri, self.user_type)
            .await
            .map_err(|e| {
                format!(
                    "GHL did not exchange the code: {e}; check client_id/client_secret of \
                     connection `{}` and that the redirect URI is the one registered with the \
                     app, then run `ghl-bridge connect ghl --connection {}` again",
                    self.connection, self.connection
                )
            })?;
        let locations = match self.user_type {
            UserType::Location => tokens
                .location_id
                .iter()
                .map(|id| InstalledLocation {
                    id: id.clone(),
                    name: String::new(),
                    address: String::new(),
                    is_installed: true,
                })
                .collect(),
            UserType::Company => oauth::installed_locations(
                &http,
                &self.app.api_base,
                &tokens.access_token,
                tokens.company_id.as_deref().unwrap_or_default(),
                &self.app.client_id,
            )
            .await
            .map_err(|e| format!("GHL did not list the installed locations: {e}; the app needs the oauth.readonly scope"))?,
        };
        save_credential(store, key, &self.connection, "ghl", &StoredCredential::from_tokens(&tokens))
            .await
            .map_err(|e| format!("the store did not take the tokens: {e}; nothing was saved, connect again once the database is back"))?;
        Ok((tokens, locations))
    }
}

/// A fresh random CSRF `state` (128 bits, hex).
pub fn new_state() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// A credential loaded for the factory.
#[derive(Clone)]
pub(super) enum Loaded {
    /// The session, and its tokens as loaded (location and company do not change on refresh).
    OAuth(Arc<OAuthSession>, Box<TokenSet>),
    Token(Secret),
    ApiKey(Secret),
}

fn needs_key_error(conn: &Connection, message: String) -> ConnectionError {
    ConnectionError {
        connection: conn.name.clone(),
        app: conn.app.as_str().to_string(),
        setting: None,
        message,
    }
}

fn wants_oauth(conn: &Connection) -> bool {
    conn.settings
        .get("auth")
        .is_some_and(|a| a.expose().trim().eq_ignore_ascii_case("oauth"))
}

impl ConnectorFactory {
    /// Loads the credentials the registry holds for `project`'s connections (OAuth sessions,
    /// tokens and keys stored by `ghl-bridge connect`), so [`ConnectorFactory::build_for`] can
    /// use them. Call once after opening the store; rotated OAuth tokens are written back to
    /// `store`. Returns how many were loaded.
    pub async fn load_credentials(
        &self,
        store: &Arc<dyn Store>,
        project: &Project,
    ) -> Result<usize, ConnectionErrors> {
        let all: BTreeSet<String> = project.connections.keys().cloned().collect();
        self.load_credentials_for(store, project, &all).await
    }

    /// [`ConnectorFactory::load_credentials`] for the named connections only (those `run`
    /// builds), so a stored credential of an unused connection never stops a start.
    pub async fn load_credentials_for(
        &self,
        store: &Arc<dyn Store>,
        project: &Project,
        names: &BTreeSet<String>,
    ) -> Result<usize, ConnectionErrors> {
        let dir = project.dir();
        let mut errors = Vec::new();
        let mut loaded = HashMap::new();
        let mut key: Option<SecretKey> = None;
        let wanted = project
            .connections
            .values()
            .filter(|c| names.contains(&c.name));
        for conn in wanted {
            let entry = match store.connection(&conn.name).await {
                Ok(Some(e)) if e.secret.is_some() => e,
                Ok(_) => continue,
                Err(e) => {
                    errors.push(needs_key_error(
                        conn,
                        format!("reading the connection registry: {e}"),
                    ));
                    continue;
                }
            };
            if key.is_none() {
                match SecretKey::load(&dir) {
                    Ok((k, _)) => key = Some(k),
                    Err(e) => {
                        errors.push(needs_key_error(
                            conn,
                            format!("has credentials stored by `ghl-bridge connect`, but {e}"),
                        ));
                        continue;
                    }
                }
            }
            let Some(k) = key.as_ref() else { continue };
            let blob = entry.secret.as_ref().expect("checked above");
            let cred = match open_credential(k, &conn.name, blob) {
                Ok(c) => c,
                Err(m) => {
                    errors.push(needs_key_error(conn, m));
                    continue;
                }
            };
            let l = match &cred {
                StoredCredential::Token { token } => Loaded::Token(Secret::new(token.clone())),
                StoredCredential::ApiKey { api_key } => {
                    Loaded::ApiKey(Secret::new(api_key.clone()))
                }
                StoredCredential::Oauth { .. } if !wants_oauth(conn) => continue,
                StoredCredential::Oauth { .. } => {
                    let config = match oauth_config(conn, &dir) {
                        Ok(c) => c,
                        Err(mut e) => {
                            errors.append(&mut e);
                            continue;
                        }
                    };
                    let tokens = cred.tokens().expect("an OAuth credential");
                    let saver = Arc::new(RegistryTokens {
                        store: store.clone(),
                        key: k.clone(),
                        connection: conn.name.clone(),
                    });
                    let session = OAuthSession::new(
                        config.app,
                        tokens.clone(),
                        saver,
                        reqwest::Client::new(),
                        REFRESH_AHEAD,
                    );
                    Loaded::OAuth(Arc::new(session), Box::new(tokens))
                }
            };
            loaded.insert(conn.name.clone(), l);
        }
        let n = loaded.len();
        self.stored.lock().extend(loaded);
        if errors.is_empty() {
            Ok(n)
        } else {
            Err(ConnectionErrors(errors))
        }
    }

    /// The OAuth session of a connection, once [`ConnectorFactory::load_credentials`] loaded it.
    pub fn oauth_session(&self, connection: &str) -> Option<Arc<OAuthSession>> {
        match self.stored.lock().get(connection) {
            Some(Loaded::OAuth(s, _)) => Some(s.clone()),
            _ => None,
        }
    }

    /// `conn` with a stored token or API key filled in where the project file has none.
    pub(super) fn with_stored(&self, mut conn: Connection) -> Connection {
        let setting = match self.stored.lock().get(&conn.name) {
            Some(Loaded::Token(t)) if conn.app == AppKind::Ghl && !wants_oauth(&conn) => {
                Some(("token", t.clone()))
            }
            Some(Loaded::ApiKey(k)) if conn.app != AppKind::Ghl => Some(("api_key", k.clone())),
            _ => None,
        };
        if let Some((name, value)) = setting {
            conn.settings
                .entry(name.to_string())
                .or_insert(Setting::Secret(value));
        }
        conn
    }

    /// The auth and location of an `auth: oauth` GHL connection; errors say to connect.
    pub(super) fn ghl_oauth(&self, s: &mut Settings<'_>) -> Option<(Auth, String)> {
        let config = read_config(s)?;
        if !s.errors.is_empty() {
            return None;
        }
        let name = &s.conn.name;
        let loaded = match self.stored.lock().get(name) {
            Some(Loaded::OAuth(session, tokens)) => Some((session.clone(), tokens.clone())),
            _ => None,
        };
        let Some((session, tokens)) = loaded else {
            s.push(
                Some("auth"),
                format!("is oauth, but no GHL tokens are stored for this connection; run `ghl-bridge connect ghl --connection {name}` (with the project's database and secret key)"),
            );
            return None;
        };
        match config.user_type {
            UserType::Company => {
                let company = tokens.company_id.clone().unwrap_or_default();
                let location = config.location_id.unwrap_or_default();
                let agency = AgencyLocation::new(session, company, location.clone());
                Some((Auth::AgencyLocation(Arc::new(agency)), location))
            }
            UserType::Location => {
                let Some(token_location) = tokens.location_id.clone() else {
                    s.push(Some("auth"), format!("the stored tokens are not for one location; run `ghl-bridge connect ghl --connection {name}` and choose a sub-account"));
                    return None;
                };
                if let Some(l) = config.location_id.filter(|l| *l != token_location) {
                    s.push(Some("location_id"), format!("is {l}, but the stored tokens are for location {token_location}; fix location_id or run `ghl-bridge connect ghl --connection {name}` again for that location"));
                    return None;
                }
                Some((Auth::OAuth(session), token_location))
            }
        }
    }
}

/// What a connection test needs to call GHL exactly as the connection does.
pub struct GhlTarget {
    /// The API host.
    pub base_url: String,
    /// The location the connection works in.
    pub location_id: String,
    /// The credentials in use (a refreshing OAuth session for `auth: oauth`).
    pub auth: Auth,
    /// The OAuth session, for its scopes and expiry.
    pub oauth: Option<Arc<OAuthSession>>,
}

impl ConnectorFactory {
    /// The address, location and credentials of a GHL connection, read like
    /// [`ConnectorFactory::build`] reads them (sealed settings opened, stored credentials used).
    pub fn ghl_target(
        &self,
        conn: &Connection,
        project_dir: &Path,
    ) -> Result<GhlTarget, Vec<ConnectionError>> {
        let opened = sealed::open_sealed(conn, project_dir)?;
        let opened = self.with_stored(opened.into_owned());
        let mut s = Settings {
            conn: &opened,
            errors: Vec::new(),
        };
        let base_url = s
            .text("base_url")
            .unwrap_or_else(|| connectors::ghl::DEFAULT_BASE_URL.to_string())
            .trim_end_matches('/')
            .to_string();
        let found = if wants_oauth(&opened) {
            self.ghl_oauth(&mut s)
                .map(|(auth, location)| (auth, location, self.oauth_session(&conn.name)))
        } else {
            let location = s.required("location_id", "the GHL location (sub-account) id to sync");
            let token = s.required(
                "token",
                &format!("a Private Integration Token, or one stored with `ghl-bridge connect ghl --connection {} --token`", conn.name),
            );
            location
                .zip(token)
                .map(|(l, t)| (Auth::PrivateIntegration(Secret::new(t)), l, None))
        };
        match found.filter(|_| s.errors.is_empty()) {
            Some((auth, location_id, oauth)) => Ok(GhlTarget {
                base_url,
                location_id,
                auth,
                oauth,
            }),
            None => Err(s.errors),
        }
    }
}
