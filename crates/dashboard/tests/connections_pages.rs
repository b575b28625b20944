//! The dashboard's Connections pages over real HTTP: the dashboard and the server's routes on
//! one listener, a real SQLite store and project key, the GHL emulator and the Your App
//! emulator. Signed in through the login form, a person sees every connection with its status,
//! stores a Private Integration Token and an API key through the form (sealed, as
//! `ghl-bridge connect --token/--key` does), tests them (GHL: 8 read-only and 9 write
//! endpoints), connects GHL by OAuth with the button — through the emulator's consent page and
//! back to the connection's page with the locations — and is offered "Reconnect" when the
//! registry says the credentials were refused. No page ever carries a secret.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use engine::connections::oauth::{load_credential, StoredCredential};
use engine::flow::{load_project_with, Project};
use engine::runtime::{Engine, EngineOptions};
use engine::store::{self, ConnectionPatch, ConnectionStatus, Store};
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use ghl_sandbox::rest::{RestConfig, RestSandbox};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use secrets::{key_path, write_new_private, SecretKey};
use server::admin::{AdminOptions, AdminToken};
use server::connect::ConnectState;
use server::{AppState, Metrics};

const ADMIN: &str = "admin-token-for-dashboard-connections";

/// A signed-in browser that does not follow redirects, and remembers every body it got.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: String,
    seen: Vec<String>,
}

impl Browser {
    async fn sign_in(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let r = http
            .post(format!("{base}/ui/login"))
            .form(&[("token", ADMIN)])
            .send()
            .await
            .expect("login");
        assert_eq!(r.status().as_u16(), 303, "signed in");
        let cookie = r.headers()[SET_COOKIE]
            .to_str()
            .expect("cookie")
            .split(';')
            .next()
            .expect("name=value")
            .to_string();
        Self {
            http,
            base: base.to_string(),
            cookie,
            seen: Vec::new(),
        }
    }

    /// GET a path (or full URL) with the session; (status, Location, body).
    async fn get(&mut self, path: &str) -> (u16, String, String) {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let r = self
            .http
            .get(url)
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .expect("GET");
        self.answer(r).await
    }

    /// POST the token form of `connection`.
    async fn store(&mut self, connection: &str, secret: &str) -> (u16, String, String) {
        let r = self
            .http
            .post(format!("{}/ui/connections/{connection}/secret", self.base))
            .header(COOKIE, &self.cookie)
            .header("origin", &self.base)
            .form(&[("secret", secret)])
            .send()
            .await
            .expect("POST");
        self.answer(r).await
    }

    async fn answer(&mut self, r: reqwest::Response) -> (u16, String, String) {
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = r.text().await.expect("body");
        self.seen.push(body.clone());
        (status, location, body)
    }
}

/// The `<tr data-connection="NAME">` row of the list page.
fn row<'a>(page: &'a str, name: &str) -> &'a str {
    let at = page
        .find(&format!("<tr data-connection=\"{name}\">"))
        .unwrap_or_else(|| panic!("no row for {name}:\n{page}"));
    let end = at + page[at..].find("</tr>").expect("row end");
    &page[at..end]
}

/// The text of the row's `.status` cell.
fn status_of(page: &str, name: &str) -> String {
    let r = row(page, name);
    let at = r.find("class=\"status\"").expect("status cell");
    let cell = &r[at..at + r[at..].find("</td>").expect("cell end")];
    let text: String = cell
        .split('>')
        .skip(1)
        .filter_map(|part| part.split('<').next())
        .collect();
    text.trim().to_string()
}

fn project(dir: &Path, ghl: &GhlSandbox, crm: &RestSandbox) -> Project {
    let c = ghl.credentials();
    std::fs::create_dir_all(dir.join("flows")).expect("flows folder");
    let text = format!(
        "version: 1\nconnections:\n  ghl:\n    app: ghl\n    auth: oauth\n    base_url: {b}\n    client_id: {}\n    client_secret: {}\n  pit:\n    app: ghl\n    base_url: {b}\n    location_id: {l}\n  direct:\n    app: ghl\n    base_url: {b}\n    location_id: {l}\n    token: {t}\n  crm:\n    app: your_app\n    base_url: '{}'\n",
        c.client_id,
        c.client_secret,
        crm.api_url(),
        b = ghl.base_url,
        l = ghl.location_id(),
        t = ghl.token(),
    );
    let file = dir.join("ghl-bridge.yaml");
    std::fs::write(&file, text).expect("project");
    load_project_with(&file, &|_: &str| None).expect("the project loads")
}

/// The dashboard and the server's routes on one listener, as `ghl-bridge serve` mounts them;
/// `direct` (token in the project file) is in use, so its connector and budget exist.
async fn serve(project: Project, store: Arc<dyn Store>) -> String {
    let used: BTreeSet<String> = ["direct".to_string()].into();
    let connectors = engine::connections::ConnectorFactory::new()
        .build_for(&project, &used)
        .expect("direct builds");
    let engine = Arc::new(Engine {
        store,
        flows: Vec::new(),
        connectors,
        options: EngineOptions::default(),
    });
    let state = Arc::new(AppState {
        engine,
        project_connections: project.connections.keys().cloned().collect(),
        metrics: Metrics::default(),
        admin_token: Some(AdminToken::new(ADMIN)),
        admin: AdminOptions {
            apps: project.apps(),
            ..Default::default()
        },
        connect: Some(Arc::new(ConnectState::new(project))),
    });
    let app = server::router(state.clone()).merge(dashboard::router(state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    format!("http://{addr}")
}

/// Follows the emulator's consent page: the "Allow" link, whose answer sends the browser to
/// the callback. Returns the callback URL.
async fn approve(ghl_base: &str, consent_url: &str) -> String {
    ghl_sandbox::ghl::consent::approve(ghl_base, consent_url)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_listed_stored_tested_and_connected_by_oauth() {
    let ghl = GhlSandbox::start(GhlConfig {
        contacts: 2,
        ..Default::default()
    })
    .await
    .expect("GHL sandbox");
    let crm = RestSandbox::start(RestConfig {
        contacts: 1,
        ..Default::default()
    })
    .await
    .expect("Your App emulator");
    let tmp = tempfile::tempdir().expect("temp dir");
    let key = SecretKey::generate();
    write_new_private(&key_path(tmp.path()), &key.to_base64()).expect("key file");
    let project = project(tmp.path(), &ghl, &crm);
    let db = format!(
        "sqlite://{}?mode=rwc",
        tmp.path().join("engine.db").display()
    );
    let store = store::open(&db).await.expect("store");
    let base = serve(project, store.clone()).await;

    // Not signed in: the login page.
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("{base}/ui/connections"))
        .send()
        .await
        .expect("anonymous");
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()[LOCATION], "/ui/login");

    let mut b = Browser::sign_in(&base).await;
    let (st, _, page) = b.get("/ui/connections").await;
    assert_eq!(st, 200, "{page}");
    assert!(page.contains("<table id=\"connections\">"), "{page}");
    assert_eq!(page.matches("<h1>").count(), 1);
    assert_eq!(status_of(&page, "ghl"), "not_connected");
    assert_eq!(status_of(&page, "pit"), "not_connected");
    assert_eq!(status_of(&page, "crm"), "not_connected");
    assert_eq!(status_of(&page, "direct"), "configured");
    // The connector in use shows its budget (a fresh pacer: all of it left).
    let direct = row(&page, "direct");
    assert!(direct.contains("in use"), "{direct}");
    let budget = direct
        .split("class=\"budget\">")
        .nth(1)
        .expect("budget cell");
    let (left, max) = budget
        .split(" per ")
        .next()
        .and_then(|b| b.split_once('/'))
        .expect("burst left/max");
    assert_eq!(left, max, "{budget}");
    assert!(row(&page, "pit").contains("not in use"));

    // A token through the form: empty is refused naming the field, a real one stored sealed.
    let (st, _, page) = b.store("pit", "   ").await;
    assert_eq!(st, 400);
    assert!(
        page.contains("role=\"alert\" id=\"secret-error\">Private Integration Token: "),
        "{page}"
    );
    assert!(page.contains("<input id=\"secret\" name=\"secret\" type=\"password\""));
    let (st, to, _) = b.store("pit", &ghl.token()).await;
    assert_eq!((st, to.as_str()), (303, "/ui/connections/pit?saved=1"));
    let (_, _, page) = b.get(&to).await;
    assert!(page.contains("id=\"secret-saved\""), "{page}");
    assert!(page.contains("id=\"token-form\""));
    match load_credential(&*store, &key, "pit").await.expect("opens") {
        Some(StoredCredential::Token { token }) => assert_eq!(token, ghl.token()),
        other => panic!("no token stored: {other:?}"),
    }
    let (_, _, page) = b.get("/ui/connections").await;
    assert_eq!(status_of(&page, "pit"), "active");

    // The test fragment: reachable, the probed scopes and the 17 endpoints.
    let (st, _, frag) = b.get("/ui/connections/pit/test").await;
    assert_eq!(st, 200);
    assert!(!frag.contains("<html"), "a fragment: {frag}");
    assert!(
        frag.contains("<td id=\"test-reachable\">yes</td>"),
        "{frag}"
    );
    assert!(frag.contains("<td id=\"test-authorized\">yes</td>"));
    assert!(frag.contains("<table id=\"endpoints\">"));
    assert_eq!(frag.matches("data-scope=\"contacts.readonly\"").count(), 8);
    assert_eq!(frag.matches("data-scope=\"contacts.write\"").count(), 9);
    assert_eq!(frag.matches("data-allowed=\"true\"").count(), 17, "{frag}");

    // An API key for the other app, then its test.
    let (st, to, _) = b.store("crm", &crm.api_key()).await;
    assert_eq!((st, to.as_str()), (303, "/ui/connections/crm?saved=1"));
    let (_, _, frag) = b.get("/ui/connections/crm/test").await;
    assert!(
        frag.contains("<td id=\"test-reachable\">yes</td>")
            && frag.contains("<td id=\"test-authorized\">yes</td>"),
        "{frag}"
    );
    // A key where the project file already has one is stored but said to be unused.
    let (st, _, page) = b.store("direct", "another-token").await;
    assert_eq!(st, 303, "{page}");
    let (_, _, page) = b.get("/ui/connections/direct?saved=1").await;
    assert!(page.contains("id=\"secret-shadowed\""), "{page}");

    // OAuth: the page offers the button and no token form.
    let (_, _, page) = b.get("/ui/connections/ghl").await;
    assert!(
        page.contains("<a id=\"connect-oauth\" class=\"button primary\" href=\"/ui/connections/ghl/connect\">Connect with GHL</a>"),
        "{page}"
    );
    assert!(!page.contains("id=\"token-form\""));
    assert!(page.contains("id=\"test-connection\""));
    assert!(page.contains("<div id=\"test-result\""));
    // The button, the consent, the callback, and back to the connection's page.
    let (st, consent, _) = b.get("/ui/connections/ghl/connect").await;
    assert_eq!(st, 303);
    assert!(
        consent.starts_with(&format!("{}/v2/oauth/chooselocation?", ghl.base_url)),
        "{consent}"
    );
    let back = approve(&ghl.base_url, &consent).await;
    assert!(
        back.starts_with(&format!("{base}/oauth/callback?")),
        "{back}"
    );
    // GHL's redirect is cross-site, so the browser brings no session cookie to the callback.
    let r = reqwest::Client::new()
        .get(&back)
        .send()
        .await
        .expect("callback");
    assert_eq!(r.status().as_u16(), 200);
    let bounce = r.text().await.expect("page");
    b.seen.push(bounce.clone());
    let target = "/ui/connections/ghl?connected=1";
    assert!(
        bounce.contains(&format!("content=\"0;url={target}\""))
            && bounce.contains(&format!("<a id=\"continue\" href=\"{target}\"")),
        "{bounce}"
    );
    let (st, _, page) = b.get(target).await;
    assert_eq!(st, 200);
    let notice = page
        .split("id=\"connected-notice\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no connected notice:\n{page}"));
    let notice = &notice[..notice.find("</p>").expect("end")];
    assert!(notice.contains(&ghl.location_id()), "{notice}");
    assert!(notice.contains("contacts.write"), "{notice}");
    let (_, _, page) = b.get("/ui/connections").await;
    assert_eq!(status_of(&page, "ghl"), "active");
    let ghl_row = row(&page, "ghl");
    assert!(
        ghl_row.contains("<time datetime=\""),
        "expiry shown: {ghl_row}"
    );
    assert!(ghl_row.contains("contacts.readonly"), "{ghl_row}");
    let (_, _, frag) = b.get("/ui/connections/ghl/test").await;
    assert!(
        frag.contains("<td id=\"test-authorized\">yes</td>"),
        "{frag}"
    );
    assert_eq!(frag.matches("class=\"endpoint\"").count(), 17);
    // The state was one-time.
    let r = reqwest::Client::new()
        .get(&back)
        .send()
        .await
        .expect("again");
    assert_eq!(r.status().as_u16(), 400);

    // A refused consent comes back with the reason.
    let (_, consent, _) = b.get("/ui/connections/ghl/connect").await;
    let state = consent
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("state="))
        .expect("state");
    let r = reqwest::Client::new()
        .get(format!(
            "{base}/oauth/callback?error=access_denied&state={state}"
        ))
        .send()
        .await
        .expect("denied");
    assert!(r
        .text()
        .await
        .expect("page")
        .contains("/ui/connections/ghl?connect_failed=1"));
    let (_, _, page) = b.get("/ui/connections/ghl?connect_failed=1").await;
    assert!(
        page.contains(
            "id=\"connect-error\">Not connected: GHL did not grant access (access_denied)"
        ),
        "{page}"
    );

    // The bearer-token route still works beside the dashboard's.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = http
        .get(format!("{base}/connect/ghl/ghl"))
        .send()
        .await
        .expect("no token");
    assert_eq!(r.status().as_u16(), 401);
    let r = http
        .get(format!("{base}/connect/ghl/ghl"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("bearer");
    assert_eq!(r.status().as_u16(), 302);

    // Refused credentials: the list says so and the page puts "Reconnect" first.
    let patch = ConnectionPatch {
        status: Some(ConnectionStatus::NeedsReauth),
        ..Default::default()
    };
    store.update_connection("ghl", patch).await.expect("flag");
    let (_, _, page) = b.get("/ui/connections").await;
    assert_eq!(status_of(&page, "ghl"), "needs_reauth");
    assert!(row(&page, "ghl").contains("href=\"/ui/connections/ghl/connect\">Reconnect</a>"));
    let (_, _, page) = b.get("/ui/connections/ghl").await;
    let reauth = page.find("id=\"reauth-notice\"").expect("reauth notice");
    let button = page.find("id=\"connect-oauth\"").expect("button");
    assert!(button > reauth && button < page.find("id=\"test-connection\"").expect("test"));
    assert_eq!(page.matches("id=\"connect-oauth\"").count(), 1);

    // Unknown connections and foreign-origin posts.
    let (st, _, _) = b.get("/ui/connections/nope").await;
    assert_eq!(st, 404);
    let r = b
        .http
        .post(format!("{base}/ui/connections/pit/secret"))
        .header(COOKIE, &b.cookie)
        .header("origin", "http://evil.example")
        .form(&[("secret", "x")])
        .send()
        .await
        .expect("foreign");
    assert_eq!(r.status().as_u16(), 403);

    // No page carried a secret: tokens, keys, the client secret, OAuth tokens.
    let c = ghl.credentials();
    let mut secrets = vec![ghl.token(), crm.api_key(), c.client_secret.clone()];
    if let Some(StoredCredential::Oauth {
        access_token,
        refresh_token,
        ..
    }) = load_credential(&*store, &key, "ghl").await.expect("opens")
    {
        secrets.push(access_token);
        secrets.extend(refresh_token);
    } else {
        panic!("no OAuth tokens stored");
    }
    for page in &b.seen {
        for s in &secrets {
            assert!(!page.contains(s.as_str()), "a secret in a page:\n{page}");
        }
        assert!(
            !page.contains("sbx-at-") && !page.contains("sbx-rt-"),
            "{page}"
        );
    }
    store.close().await;
    ghl.shutdown().await;
    crm.shutdown().await;
}
