//! A project file may hold a GHL token sealed with `ghl-bridge secrets seal` (`sealed:v1:…`):
//! the connector is built with the opened token and reaches the GHL emulator; a wrong key, a
//! missing key or a value moved to another connection fails naming the connection and setting,
//! never showing the token.

use connectors::EntityKind;
use engine::connections::build_connectors;
use engine::flow::load_project_with;
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use secrets::{key_path, seal_setting, write_new_private, SecretKey};

fn project_text(ghl: &GhlSandbox, conn: &str, sealed: &str) -> String {
    format!(
        "version: 1\nconnections:\n  {conn}:\n    app: ghl\n    base_url: {}\n    location_id: {}\n    token: {sealed}\n",
        ghl.base_url,
        ghl.location_id()
    )
}

/// Writes the project (and, when given, its key file) into a fresh folder and loads it.
fn load(text: &str, key: Option<&SecretKey>) -> (tempfile::TempDir, engine::flow::Project) {
    let dir = tempfile::tempdir().expect("temp dir");
    if let Some(key) = key {
        write_new_private(&key_path(dir.path()), &key.to_base64()).expect("key file");
    }
    std::fs::create_dir_all(dir.path().join("flows")).expect("flows folder");
    let file = dir.path().join("ghl-bridge.yaml");
    std::fs::write(&file, text).expect("project");
    let project = load_project_with(&file, &|_: &str| None).expect("the project loads");
    (dir, project)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_ghl_token_opens_and_reaches_the_emulator() {
    let ghl = GhlSandbox::start(GhlConfig {
        contacts: 6,
        ..Default::default()
    })
    .await
    .expect("GHL sandbox");
    let token = ghl.token();
    let key = SecretKey::generate();
    let sealed = seal_setting(&key, &token, "ghl", "token");
    assert!(sealed.starts_with("sealed:v1:") && !sealed.contains(&token));

    let (_dir, project) = load(&project_text(&ghl, "ghl", &sealed), Some(&key));
    let built = build_connectors(&project).expect("the sealed token opens");
    let page = built["ghl"]
        .list_all(EntityKind::Contact, None)
        .await
        .expect("GHL accepts the opened token");
    assert_eq!(page.records.len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_values_fail_clearly_with_the_wrong_key_or_connection() {
    let ghl = GhlSandbox::start(GhlConfig::default())
        .await
        .expect("GHL sandbox");
    let token = ghl.token();
    let key = SecretKey::generate();
    let sealed = seal_setting(&key, &token, "ghl", "token");

    let check = |text: String, key: Option<&SecretKey>, conn: &str, says: &str| {
        let (_dir, project) = load(&text, key);
        let Err(err) = build_connectors(&project) else {
            panic!("{conn}: the sealed token must not open");
        };
        assert_eq!(err.0.len(), 1, "{err}");
        assert_eq!(err.0[0].connection, conn);
        assert_eq!(err.0[0].setting.as_deref(), Some("token"));
        let shown = format!("{err} {err:?}");
        assert!(shown.contains(says), "{shown}");
        assert!(!shown.contains(&token), "the token leaked: {shown}");
    };
    // Another key (e.g. a different machine's .ghl-bridge/secret.key).
    check(
        project_text(&ghl, "ghl", &sealed),
        Some(&SecretKey::generate()),
        "ghl",
        "cannot be opened",
    );
    // The right key, but the value was copied to another connection.
    check(
        project_text(&ghl, "other", &sealed),
        Some(&key),
        "other",
        "another connection or setting",
    );
    // No key at all.
    check(
        project_text(&ghl, "ghl", &sealed),
        None,
        "ghl",
        "ghl-bridge init",
    );
    // A damaged value.
    check(
        project_text(&ghl, "ghl", "sealed:v1:AAAA"),
        Some(&key),
        "ghl",
        "ghl-bridge secrets seal --connection ghl --setting token",
    );
}
