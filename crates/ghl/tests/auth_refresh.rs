//! OAuth that never loses a token, against the GHL sandbox over real HTTP: proactive refresh,
//! one refresh for 50 concurrent callers, the new pair saved before it is used, one
//! refresh-and-retry on a 401, `invalid_grant` as "reconnect needed", a failed save that loses
//! nothing, agency → location tokens, and secrets that never print.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ghl::oauth::{self, OAuthApp, TokenSet, UserType};
use ghl::{AgencyLocation, Auth, GhlClient, GhlError, OAuthSession, Secret, TokenStore};
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use parking_lot::Mutex;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// Records every saved pair; can be told to fail, or to hold saves until released.
#[derive(Default)]
struct RecordingStore {
    saved: Mutex<Vec<TokenSet>>,
    failures_left: Mutex<u32>,
    gate: Option<Arc<Semaphore>>,
}

impl TokenStore for RecordingStore {
    fn save<'a>(
        &'a self,
        tokens: &'a TokenSet,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            if let Some(gate) = &self.gate {
                let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
            }
            {
                let mut left = self.failures_left.lock();
                if *left > 0 {
                    *left -= 1;
                    return Err("disk full".into());
                }
            }
            self.saved.lock().push(tokens.clone());
            Ok(())
        })
    }
}

struct Fixture {
    sb: GhlSandbox,
    http: reqwest::Client,
    app: OAuthApp,
    location: String,
    contact: String,
}

async fn fixture() -> Fixture {
    let sb = GhlSandbox::start(GhlConfig {
        contacts: 5,
        ..Default::default()
    })
    .await
    .expect("sandbox");
    let creds = sb.credentials();
    let app = OAuthApp {
        client_id: creds.client_id.clone(),
        client_secret: Secret::new(creds.client_secret.clone()),
        api_base: sb.base_url.clone(),
    };
    let location = sb.location_id();
    let contact = sb
        .state
        .store
        .read()
        .contacts_in(&location)
        .next()
        .map(|c| c.id.clone())
        .expect("a contact");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http");
    Fixture {
        sb,
        http,
        app,
        location,
        contact,
    }
}

impl Fixture {
    /// Consent as a person would give it: the approve link redirects to `REDIRECT?code=…`.
    async fn code(&self, scopes: &str) -> String {
        let url = format!("{}/oauth/chooselocation/approve", self.sb.base_url);
        let q = [
            ("response_type", "code"),
            ("client_id", &self.app.client_id),
            ("redirect_uri", REDIRECT),
            ("scope", scopes),
            ("location_id", &self.location),
        ];
        let r = self.http.get(url).query(&q).send().await.expect("approve");
        assert_eq!(r.status(), 302);
        let loc = r.headers()["location"]
            .to_str()
            .expect("location header")
            .to_string();
        let url = url::Url::parse(&loc).expect("redirect url");
        url.query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .expect("code")
    }

    async fn tokens(&self, user_type: UserType) -> TokenSet {
        let scopes = "contacts.readonly contacts.write oauth.readonly oauth.write";
        let code = self.code(scopes).await;
        oauth::exchange_code(&self.http, &self.app, &code, REDIRECT, user_type)
            .await
            .expect("code exchange")
    }

    fn client(&self, auth: Auth) -> GhlClient {
        GhlClient::builder(auth)
            .base_url(&self.sb.base_url)
            .location_id(&self.location)
            .build()
            .expect("client")
    }

    async fn log(&self) -> Vec<Value> {
        let v: Value = self
            .http
            .get(format!(
                "{}/_sandbox/requests?limit=100000",
                self.sb.base_url
            ))
            .send()
            .await
            .expect("log")
            .json()
            .await
            .expect("json");
        v["requests"].as_array().cloned().unwrap_or_default()
    }

    async fn count(&self, path_prefix: &str) -> usize {
        self.log()
            .await
            .iter()
            .filter(|r| {
                r["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with(path_prefix))
            })
            .count()
    }

    async fn admin(&self, method: Method, path: &str, body: Value) -> Value {
        let r = self
            .http
            .request(method, format!("{}/_sandbox{path}", self.sb.base_url))
            .json(&body)
            .send()
            .await
            .expect("admin");
        r.json().await.unwrap_or(Value::Null)
    }
}

fn session(f: &Fixture, tokens: TokenSet, store: Arc<RecordingStore>) -> Arc<OAuthSession> {
    Arc::new(OAuthSession::new(
        f.app.clone(),
        tokens,
        store,
        f.http.clone(),
        Duration::from_secs(60),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_calls_at_expiry_make_one_refresh_saved_before_use() {
    let f = fixture().await;
    let mut tokens = f.tokens(UserType::Location).await;
    tokens.expires_at = Utc::now() - chrono::Duration::seconds(1); // due for a refresh
    let gate = Arc::new(Semaphore::new(0));
    let store = Arc::new(RecordingStore {
        gate: Some(gate.clone()),
        ..Default::default()
    });
    let s = session(&f, tokens.clone(), store.clone());
    let client = f.client(Auth::OAuth(s.clone()));
    let before = f.count("/contacts").await;

    let calls: Vec<_> = (0..50)
        .map(|_| {
            let (c, id) = (client.clone(), f.contact.clone());
            tokio::spawn(async move { c.get_contact(&id).await })
        })
        .collect();
    // The refresh has happened at GHL but its save is held: nothing may use the new token yet.
    while f.count("/oauth/token").await < 2 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await; // give any wrong-doer time to call
    assert_eq!(
        f.count("/contacts").await,
        before,
        "no API call before the new pair is saved"
    );
    gate.add_permits(1000);
    for c in calls {
        c.await.expect("task").expect("call succeeds");
    }
    assert_eq!(s.refresh_count(), 1, "exactly one refresh for 50 callers");
    assert_eq!(
        f.count("/oauth/token").await,
        2,
        "the code exchange and one refresh"
    );
    assert_eq!(store.saved.lock().len(), 1);
    let saved = store.saved.lock()[0].clone();
    assert_eq!(saved.access_token, s.tokens().await.access_token);
    assert_ne!(
        saved.refresh_token, tokens.refresh_token,
        "the refresh token rotated"
    );
    assert_eq!(f.count("/contacts").await, before + 50);
}

#[tokio::test]
async fn a_401_for_an_expired_token_refreshes_once_and_retries() {
    let f = fixture().await;
    let tokens = f.tokens(UserType::Location).await;
    let s = session(&f, tokens.clone(), Arc::new(RecordingStore::default()));
    let client = f.client(Auth::OAuth(s.clone()));
    client
        .get_contact(&f.contact)
        .await
        .expect("fresh token works");
    f.admin(
        Method::POST,
        "/tokens/expire",
        json!({"token": tokens.access_token.expose()}),
    )
    .await;
    let c = client
        .get_contact(&f.contact)
        .await
        .expect("refreshed and retried");
    assert_eq!(c.id, f.contact);
    assert_eq!(s.refresh_count(), 1);
}

#[tokio::test]
async fn a_spent_refresh_token_means_reconnect_needed() {
    let f = fixture().await;
    let tokens = f.tokens(UserType::Location).await;
    // Someone else (another process with a stale copy) uses the refresh token first.
    oauth::refresh(
        &f.http,
        &f.app,
        tokens.refresh_token.as_ref().expect("refresh token"),
    )
    .await
    .expect("first use");
    let mut stale = tokens.clone();
    stale.expires_at = Utc::now() - chrono::Duration::seconds(1);
    let client = f.client(Auth::OAuth(session(
        &f,
        stale,
        Arc::new(RecordingStore::default()),
    )));
    match client.get_contact(&f.contact).await {
        Err(GhlError::ReconnectNeeded { .. }) => {}
        other => panic!("expected ReconnectNeeded, got {other:?}"),
    }
}

#[tokio::test]
async fn a_failed_save_loses_nothing_and_the_pair_is_saved_before_use() {
    let f = fixture().await;
    let mut tokens = f.tokens(UserType::Location).await;
    tokens.expires_at = Utc::now() - chrono::Duration::seconds(1);
    let store = Arc::new(RecordingStore {
        failures_left: Mutex::new(1),
        ..Default::default()
    });
    let s = session(&f, tokens, store.clone());
    let client = f.client(Auth::OAuth(s.clone()));
    let before = f.count("/contacts").await;
    match client.get_contact(&f.contact).await {
        Err(GhlError::TokenStore { message }) => assert!(message.contains("disk full")),
        other => panic!("expected TokenStore error, got {other:?}"),
    }
    assert_eq!(
        f.count("/contacts").await,
        before,
        "the unsaved token was not used"
    );
    client
        .get_contact(&f.contact)
        .await
        .expect("second call saves the pending pair, then works");
    assert_eq!(
        s.refresh_count(),
        1,
        "no second refresh: the refreshed pair was kept in memory"
    );
    assert_eq!(store.saved.lock().len(), 1);
}

#[tokio::test]
async fn agency_tokens_mint_location_tokens() {
    let f = fixture().await;
    let agency_tokens = f.tokens(UserType::Company).await;
    let company = agency_tokens.company_id.clone().expect("companyId");
    let agency = session(
        &f,
        agency_tokens.clone(),
        Arc::new(RecordingStore::default()),
    );
    let locations = oauth::installed_locations(
        &f.http,
        &f.sb.base_url,
        &agency_tokens.access_token,
        &company,
        &f.app.client_id,
    )
    .await
    .expect("installed");
    assert!(
        locations
            .iter()
            .any(|l| l.id == f.location && l.is_installed),
        "{locations:?}"
    );
    let auth = Auth::AgencyLocation(Arc::new(AgencyLocation::new(
        agency.clone(),
        company,
        f.location.clone(),
    )));
    let client = f.client(auth);
    assert_eq!(
        client
            .get_contact(&f.contact)
            .await
            .expect("location token works")
            .id,
        f.contact
    );
    // The agency token itself is refused on contacts, as in GHL.
    let direct = f.client(Auth::OAuth(agency));
    assert!(matches!(
        direct.get_contact(&f.contact).await,
        Err(GhlError::Unauthorized { .. })
    ));
}

#[tokio::test]
async fn secrets_never_print() {
    let f = fixture().await;
    let tokens = f.tokens(UserType::Location).await;
    let access = tokens.access_token.expose().to_string();
    let refresh = tokens
        .refresh_token
        .as_ref()
        .map(|r| r.expose().to_string())
        .unwrap_or_default();
    let s = session(&f, tokens.clone(), Arc::new(RecordingStore::default()));
    let client = f.client(Auth::OAuth(s));
    let err = f
        .client(Auth::PrivateIntegration(Secret::new("pit-not-valid")))
        .get_contact(&f.contact)
        .await
        .expect_err("bad token");
    let printed = format!(
        "{tokens:?} {client:?} {err} {err:?} {:?} {}",
        f.app, f.app.client_secret
    );
    for secret in [
        access.as_str(),
        refresh.as_str(),
        f.app.client_secret.expose(),
        "pit-not-valid",
    ] {
        assert!(!printed.contains(secret), "a secret leaked into: {printed}");
    }
}
