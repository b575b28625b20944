//! A connection's registry status follows what the app says of its credentials: the first
//! call refused for dead credentials marks it `needs_reauth` (what the `reconnect_needed` alert
//! and the dashboard read), and the first call that works again marks it `active`. Real HTTP
//! against the Your App emulator, whose accepted key is changed under the running connector.

use connectors::EntityKind;
use engine::connections::build_connectors;
use engine::flow::load_project_with;
use engine::store::{self, ConnectionStatus, NewConnection};
use ghl_sandbox::rest::{Profile, RestConfig, RestSandbox};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_credentials_mark_the_connection_and_a_working_call_clears_it() {
    let app = RestSandbox::start(RestConfig {
        profile: Profile::YourApp,
        contacts: 3,
        api_key: Some("the-right-key".into()),
        ..RestConfig::default()
    })
    .await
    .expect("emulator");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("flows")).expect("flows");
    let file = dir.path().join("ghl-bridge.yaml");
    std::fs::write(
        &file,
        format!(
            "version: 1\nconnections:\n  crm:\n    app: your_app\n    base_url: {}/v1\n    api_key: the-old-key\n",
            app.base_url
        ),
    )
    .expect("project");
    let project = load_project_with(&file, &|_: &str| None).expect("project loads");
    let db = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("engine.db").display()
    );
    let store = store::open(&db).await.expect("store");
    store
        .create_connection(NewConnection {
            id: "crm".into(),
            app: "your_app".into(),
            name: "crm".into(),
            settings: serde_json::Value::Null,
            secret: None,
            status: ConnectionStatus::Active,
        })
        .await
        .expect("registry entry");
    let connectors = engine::audit::audited(build_connectors(&project).expect("built"), &store);
    let crm = connectors["crm"].clone();
    let status = || async { store.connection("crm").await.unwrap().unwrap().status };

    let refused = crm.list_all(EntityKind::Contact, None).await;
    assert!(
        matches!(refused, Err(connectors::ConnectorError::Reconnect(_))),
        "a wrong key is a reconnect: {refused:?}"
    );
    assert_eq!(status().await, ConnectionStatus::NeedsReauth);
    // A second refusal changes nothing (and writes nothing).
    let _ = crm.list_all(EntityKind::Contact, None).await;
    assert_eq!(status().await, ConnectionStatus::NeedsReauth);

    // The app now takes the key the connector holds (as after a user fixed it on their side).
    app.state.config.write().api_key = Some("the-old-key".into());
    let page = crm
        .list_all(EntityKind::Contact, None)
        .await
        .expect("the call works again");
    assert!(
        !page.records.is_empty(),
        "the emulator's contacts are listed"
    );
    assert_eq!(status().await, ConnectionStatus::Active);

    // A paused connection is not switched back on by a working call.
    store
        .update_connection(
            "crm",
            engine::store::ConnectionPatch {
                status: Some(ConnectionStatus::Paused),
                ..Default::default()
            },
        )
        .await
        .expect("pause");
    crm.list_all(EntityKind::Contact, None)
        .await
        .expect("works");
    assert_eq!(status().await, ConnectionStatus::Paused);
    store.close().await;
    app.shutdown().await;
}
