//! The connection test on OAuth connections, in process against the GHL emulator and a real
//! SQLite store: agency (Company) tokens are tested through a minted location token, and an
//! expired access token is reported without spending the single-use refresh token (a running
//! server holding it would otherwise lose the connection).

use std::path::Path;

use engine::connections::oauth::{load_credential, oauth_config, StoredCredential};
use engine::flow::{load_project_with, Project};
use engine::store::{self, Store};
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use secrets::{key_path, write_new_private, SecretKey};
use server::connect::test_connection;

fn project(dir: &Path, ghl: &GhlSandbox, extra: &str) -> Project {
    let c = ghl.credentials();
    std::fs::create_dir_all(dir.join("flows")).expect("flows folder");
    let text = format!(
        "version: 1\nconnections:\n  ghl:\n    app: ghl\n    auth: oauth\n    base_url: {}\n    client_id: {}\n    client_secret: {}\n{extra}",
        ghl.base_url, c.client_id, c.client_secret
    );
    let file = dir.join("ghl-bridge.yaml");
    std::fs::write(&file, text).expect("project");
    load_project_with(&file, &|_: &str| None).expect("the project loads")
}

/// Consent (first location) and code exchange; the tokens end up sealed in `store`.
async fn connect(ghl: &GhlSandbox, project: &Project, store: &dyn Store, key: &SecretKey) {
    let config = oauth_config(&project.connections["ghl"], &project.dir()).expect("settings");
    let redirect = "http://127.0.0.1:9/oauth/callback";
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let html = http
        .get(config.consent_url(redirect, "st"))
        .send()
        .await
        .expect("consent")
        .text()
        .await
        .expect("page");
    let at = html
        .find("href=\"/oauth/chooselocation/approve?")
        .expect("Allow link")
        + 6;
    let end = at + html[at..].find('"').expect("end");
    let r = http
        .get(format!(
            "{}{}",
            ghl.base_url,
            html[at..end].replace("&amp;", "&")
        ))
        .send()
        .await
        .expect("approve");
    let back = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let code = back
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("code="))
        .expect("code");
    config
        .complete(store, key, code, redirect)
        .await
        .expect("exchange");
}

async fn stored_tokens(store: &dyn Store, key: &SecretKey) -> (String, String) {
    match load_credential(store, key, "ghl").await.expect("opens") {
        Some(StoredCredential::Oauth {
            access_token,
            refresh_token,
            ..
        }) => (access_token, refresh_token.unwrap_or_default()),
        other => panic!("no OAuth tokens: {other:?}"),
    }
}

/// The emulator, the project folder, the project, its store and its key.
type Setup = (
    GhlSandbox,
    tempfile::TempDir,
    Project,
    std::sync::Arc<dyn Store>,
    SecretKey,
);

async fn setup(extra: &str, locations: usize) -> Setup {
    let ghl = GhlSandbox::start(GhlConfig {
        contacts: 2,
        locations,
        ..Default::default()
    })
    .await
    .expect("GHL sandbox");
    let tmp = tempfile::tempdir().expect("temp dir");
    let key = SecretKey::generate();
    write_new_private(&key_path(tmp.path()), &key.to_base64()).expect("key file");
    let extra = extra.replace(
        "SECOND",
        &ghl.credentials().locations[locations - 1].location_id,
    );
    let project = project(tmp.path(), &ghl, &extra);
    let db = format!(
        "sqlite://{}?mode=rwc",
        tmp.path().join("engine.db").display()
    );
    let store = store::open(&db).await.expect("store");
    connect(&ghl, &project, &*store, &key).await;
    (ghl, tmp, project, store, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agency_connections_are_tested_in_their_location() {
    let (ghl, _tmp, project, store, _key) =
        setup("    user_type: company\n    location_id: SECOND\n", 2).await;
    let t = test_connection(&store, &project, "ghl")
        .await
        .expect("tested");
    assert!(t.ok(), "{t:?}");
    assert_eq!(t.auth, "oauth");
    assert_eq!(
        t.location_id,
        Some(ghl.credentials().locations[1].location_id.clone())
    );
    let e = t.endpoints.expect("endpoints");
    assert!(e.readonly.iter().chain(e.write.iter()).all(|x| x.allowed));
    assert!(t.token_expires_at.is_some());
    store.close().await;
    ghl.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_token_is_reported_and_the_refresh_token_is_not_spent() {
    let (ghl, _tmp, project, store, key) = setup("", 1).await;
    let (access, refresh) = stored_tokens(&*store, &key).await;
    let r = reqwest::Client::new()
        .post(format!("{}/_sandbox/tokens/expire", ghl.base_url))
        .json(&serde_json::json!({"token": access}))
        .send()
        .await
        .expect("expire");
    assert!(r.status().is_success());
    let t = test_connection(&store, &project, "ghl")
        .await
        .expect("tested");
    assert!(t.reachable && !t.authorized, "{t:?}");
    assert!(
        t.message.contains("expired") && t.message.contains("next sync call"),
        "{}",
        t.message
    );
    assert_eq!(t.scopes_source.as_deref(), Some("token"));
    assert_eq!(
        stored_tokens(&*store, &key).await,
        (access, refresh),
        "nothing was refreshed"
    );
    store.close().await;
    ghl.shutdown().await;
}
