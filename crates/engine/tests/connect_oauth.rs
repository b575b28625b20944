//! A GHL `auth: oauth` connection against the GHL emulator, over real HTTP and a real SQLite
//! file: consent (the emulator's chooselocation page), code exchange, tokens sealed in the
//! store's connection registry (the database file never holds a token), the connector built
//! from them, and refresh rotation that survives a restart — GHL refresh tokens are single use,
//! so the second refresh only works if the first one's new pair was saved.

use std::path::Path;
use std::sync::Arc;

use connectors::EntityKind;
use engine::connections::oauth::{load_credential, new_state, oauth_config, StoredCredential};
use engine::connections::ConnectorFactory;
use engine::flow::{load_project_with, Project};
use engine::store::{self, Store};
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use secrets::{key_path, write_new_private, SecretKey};

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

/// Approves the consent page as a person would (first location) and returns where the
/// emulator sends the browser: the redirect URI with `code` and `state`.
async fn approve(base: &str, consent_url: &str) -> String {
    ghl_sandbox::ghl::consent::approve(base, consent_url)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

fn query_param(url: &str, name: &str) -> String {
    let q = url.split_once('?').map(|x| x.1).unwrap_or_default();
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}

fn db_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        if e.file_name().to_string_lossy().starts_with("engine.db") {
            all.extend(std::fs::read(e.path()).unwrap_or_default());
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

async fn tokens(store: &dyn Store, key: &SecretKey) -> (String, String) {
    match load_credential(store, key, "ghl").await.expect("opens") {
        Some(StoredCredential::Oauth {
            access_token,
            refresh_token,
            ..
        }) => (access_token, refresh_token.expect("refresh token")),
        other => panic!("no OAuth credential stored: {other:?}"),
    }
}

async fn expire(ghl: &GhlSandbox, token: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/_sandbox/tokens/expire", ghl.base_url))
        .json(&serde_json::json!({"token": token}))
        .send()
        .await
        .expect("expire");
    assert!(r.status().is_success(), "expire: {}", r.status());
}

/// Builds the connection from the store as `run` does and lists one page of contacts.
async fn list_contacts(store: &Arc<dyn Store>, project: &Project) -> usize {
    let f = ConnectorFactory::new();
    assert_eq!(f.load_credentials(store, project).await.expect("load"), 1);
    let c = f
        .build_for(project, &["ghl".to_string()].into())
        .expect("builds")
        .remove("ghl")
        .expect("ghl");
    c.list_all(EntityKind::Contact, None)
        .await
        .expect("lists contacts")
        .records
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_tokens_are_sealed_in_the_store_and_rotation_survives_a_restart() {
    let ghl = GhlSandbox::start(GhlConfig {
        contacts: 5,
        ..Default::default()
    })
    .await
    .expect("GHL sandbox");
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let key = SecretKey::generate();
    write_new_private(&key_path(dir), &key.to_base64()).expect("key file");
    let project = project(dir, &ghl, "");
    let db = format!("sqlite://{}?mode=rwc", dir.join("engine.db").display());

    // Before connecting: building says what to run.
    let store = store::open(&db).await.expect("store");
    let f = ConnectorFactory::new();
    f.load_credentials(&store, &project)
        .await
        .expect("nothing stored yet");
    let err = f
        .build_for(&project, &["ghl".to_string()].into())
        .err()
        .expect("no tokens yet")
        .to_string();
    assert!(
        err.contains("ghl-bridge connect ghl --connection ghl"),
        "{err}"
    );

    // Consent → code → tokens, sealed in the registry.
    let config = oauth_config(&project.connections["ghl"], dir).expect("oauth settings");
    let redirect = "http://127.0.0.1:9/oauth/callback";
    let state = new_state();
    let url = config.consent_url(redirect, &state);
    assert!(
        url.starts_with(&format!("{}/v2/oauth/chooselocation?", ghl.base_url)),
        "{url}"
    );
    let back = approve(&ghl.base_url, &url).await;
    assert!(back.starts_with(redirect), "{back}");
    assert_eq!(query_param(&back, "state"), state, "state comes back");
    let code = query_param(&back, "code");
    let (set, locations) = config
        .complete(&*store, &key, &code, redirect)
        .await
        .expect("exchange");
    assert_eq!(locations.len(), 1);
    assert_eq!(locations[0].id, ghl.location_id());
    assert!(set.scopes().contains(&"contacts.write"), "{:?}", set.scope);
    let (a1, r1) = tokens(&*store, &key).await;
    assert_eq!(a1, set.access_token.expose());
    let entry = store
        .connection("ghl")
        .await
        .expect("read")
        .expect("registered");
    assert_eq!(entry.settings["auth"], "oauth");
    assert_eq!(entry.settings["location_id"], ghl.location_id());
    assert_eq!(list_contacts(&store, &project).await, 5);

    // The access token expires: the connector refreshes and the new pair is saved sealed.
    expire(&ghl, &a1).await;
    assert_eq!(list_contacts(&store, &project).await, 5);
    let (a2, r2) = tokens(&*store, &key).await;
    assert_ne!(a2, a1, "a new access token is stored");
    assert_ne!(r2, r1, "the rotated refresh token is stored");
    store.close().await;

    // Restart: a fresh store handle and factory. The old refresh token is dead at GHL, so
    // this works only because the rotated one was persisted.
    let store = store::open(&db).await.expect("store reopens");
    expire(&ghl, &a2).await;
    assert_eq!(list_contacts(&store, &project).await, 5);
    let (a3, r3) = tokens(&*store, &key).await;
    assert_ne!(a3, a2);
    assert_ne!(r3, r2);
    store.close().await;

    // Nothing in the database file is a token in the clear.
    let raw = db_bytes(dir);
    assert!(!raw.is_empty());
    for t in [&a1, &r1, &a2, &r2, &a3, &r3] {
        assert!(
            !contains(&raw, t),
            "a token is in the database in the clear"
        );
    }
    assert!(!contains(&raw, "sbx-at-") && !contains(&raw, "sbx-rt-"));

    // Another key cannot open them, and says what to do.
    let other = tempfile::tempdir().expect("temp dir");
    write_new_private(&key_path(other.path()), &SecretKey::generate().to_base64()).expect("key");
    let mut moved = project.clone();
    moved.file = other.path().join("ghl-bridge.yaml");
    let store = store::open(&db).await.expect("store");
    let err = ConnectorFactory::new()
        .load_credentials(&store, &moved)
        .await
        .expect_err("wrong key")
        .to_string();
    assert!(
        err.contains("secret key") && err.contains("ghl-bridge connect"),
        "{err}"
    );
    store.close().await;
    ghl.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_location_id_other_than_the_tokens_is_named() {
    let ghl = GhlSandbox::start(GhlConfig {
        contacts: 1,
        ..Default::default()
    })
    .await
    .expect("GHL sandbox");
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let key = SecretKey::generate();
    write_new_private(&key_path(dir), &key.to_base64()).expect("key file");
    let project = project(dir, &ghl, "    location_id: somewhere-else\n");
    let db = format!("sqlite://{}?mode=rwc", dir.join("engine.db").display());
    let store = store::open(&db).await.expect("store");
    let config = oauth_config(&project.connections["ghl"], dir).expect("oauth settings");
    let redirect = "http://127.0.0.1:9/cb";
    let back = approve(&ghl.base_url, &config.consent_url(redirect, "s")).await;
    config
        .complete(&*store, &key, &query_param(&back, "code"), redirect)
        .await
        .expect("exchange");
    let f = ConnectorFactory::new();
    f.load_credentials(&store, &project).await.expect("load");
    let err = f
        .build_for(&project, &["ghl".to_string()].into())
        .err()
        .expect("mismatch")
        .to_string();
    assert!(
        err.contains("setting `location_id`") && err.contains(&ghl.location_id()),
        "{err}"
    );
    store.close().await;
    ghl.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agency_tokens_list_installed_locations_and_mint_location_tokens() {
    let ghl = GhlSandbox::start(GhlConfig {
        contacts: 3,
        locations: 2,
        ..Default::default()
    })
    .await
    .expect("GHL sandbox");
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let key = SecretKey::generate();
    write_new_private(&key_path(dir), &key.to_base64()).expect("key file");
    let second = ghl.credentials().locations[1].location_id.clone();
    let project = project(
        dir,
        &ghl,
        &format!("    user_type: company\n    location_id: {second}\n"),
    );
    let db = format!("sqlite://{}?mode=rwc", dir.join("engine.db").display());
    let store = store::open(&db).await.expect("store");
    let config = oauth_config(&project.connections["ghl"], dir).expect("oauth settings");
    assert!(
        config.scopes.iter().any(|s| s == "oauth.readonly"),
        "{:?}",
        config.scopes
    );
    let redirect = "http://127.0.0.1:9/cb";
    let back = approve(&ghl.base_url, &config.consent_url(redirect, "s")).await;
    let (set, locations) = config
        .complete(&*store, &key, &query_param(&back, "code"), redirect)
        .await
        .expect("exchange");
    assert_eq!(set.user_type, "Company");
    let ids: Vec<&str> = locations.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids.len(), 2, "both installed locations listed: {ids:?}");
    assert!(ids.contains(&second.as_str()));
    assert!(locations.iter().all(|l| !l.name.is_empty()));
    // The connector works in the configured location through minted location tokens.
    assert_eq!(list_contacts(&store, &project).await, 3);
    store.close().await;
    ghl.shutdown().await;
}
