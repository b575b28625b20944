//! Connectors built from a project file (`engine::connections`) talk to the real emulators: GHL
//! with a Private Integration Token from `${ENV}`, Your App from its profile, and InvestNext
//! from a connector config file next to the project (smaller pages, its own webhook secret).

use std::collections::HashMap;

use connectors::EntityKind;
use engine::connections::{build_connectors, connections_in_use};
use engine::flow::load_project_with;
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use ghl_sandbox::rest::{Profile, RestConfig, RestSandbox};

const PROJECT: &str = "version: 1
connections:
  ghl:
    app: ghl
    base_url: ${GHL_URL}
    location_id: ${GHL_LOCATION}
    token: ${GHL_TOKEN}
    page_size: 7
  crm:
    app: your_app
    base_url: ${CRM_URL}
    api_key: ${CRM_KEY}
  investors:
    app: investnext
    api_key: ${INV_KEY}
    config: connectors/investnext.yaml
    webhook_secret: ${INV_WEBHOOK_SECRET}
  later:
    app: insightly
    api_key: x
";

const FLOW: &str = "name: contacts to crm
sync: {source: ghl, target: crm, kinds: [contact]}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectors_from_a_project_reach_their_apps() {
    let ghl = GhlSandbox::start(GhlConfig {
        contacts: 15,
        ..Default::default()
    })
    .await
    .expect("GHL sandbox");
    let crm = RestSandbox::start(RestConfig {
        contacts: 4,
        ..Default::default()
    })
    .await
    .expect("Your App emulator");
    let inv = RestSandbox::start(RestConfig {
        profile: Profile::InvestNext,
        contacts: 5,
        ..Default::default()
    })
    .await
    .expect("InvestNext emulator");

    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("flows")).expect("flows");
    std::fs::create_dir_all(dir.path().join("connectors")).expect("connectors");
    std::fs::write(dir.path().join("flows/contacts.yaml"), FLOW).expect("flow");
    std::fs::write(
        dir.path().join("connectors/investnext.yaml"),
        format!(
            "base_url: {}\npaging: {{page_size: 2}}\nkinds:\n  appointment: null\n",
            inv.api_url()
        ),
    )
    .expect("connector config");
    let file = dir.path().join("ghl-bridge.yaml");
    std::fs::write(&file, PROJECT).expect("project");
    let env: HashMap<&str, String> = [
        ("GHL_URL", ghl.base_url.clone()),
        ("GHL_LOCATION", ghl.location_id()),
        ("GHL_TOKEN", ghl.token()),
        ("CRM_URL", crm.api_url()),
        ("CRM_KEY", crm.api_key()),
        ("INV_KEY", inv.api_key()),
        ("INV_WEBHOOK_SECRET", "whsec_test".to_string()),
    ]
    .into();
    let project =
        load_project_with(&file, &|k: &str| env.get(k).cloned()).expect("the project loads");

    // Every connection: the one that cannot be built (no Insightly base_url) is named.
    let Err(err) = build_connectors(&project) else {
        panic!("the insightly connection has no base_url, so building every connection fails");
    };
    assert_eq!(err.0.len(), 1, "{err}");
    assert_eq!(err.0[0].connection, "later");
    assert_eq!(err.0[0].setting.as_deref(), Some("base_url"), "{err}");

    // The connections the enabled flows use (plus the config-file one, built explicitly).
    let used = connections_in_use(&project);
    assert_eq!(used.iter().collect::<Vec<_>>(), ["crm", "ghl"]);
    let mut names = used.clone();
    names.insert("investors".into());
    let built = engine::connections::ConnectorFactory::new()
        .build_for(&project, &names)
        .expect("these build");

    let count = |page: connectors::ChangePage| page.records.len();
    let mut ghl_total = 0;
    let mut cursor: Option<String> = None;
    loop {
        let page = built["ghl"]
            .list_all(EntityKind::Contact, cursor.as_deref())
            .await
            .expect("GHL lists contacts");
        assert!(
            page.records.len() <= 7,
            "page_size from the project applies"
        );
        ghl_total += page.records.len();
        if page.done {
            break;
        }
        cursor = page.next_cursor;
    }
    assert_eq!(ghl_total, 15);
    let crm_page = built["crm"]
        .list_all(EntityKind::Contact, None)
        .await
        .expect("Your App lists contacts");
    assert_eq!(count(crm_page), 4);
    let inv_page = built["investors"]
        .list_all(EntityKind::Contact, None)
        .await
        .expect("InvestNext lists contacts");
    assert_eq!(built["investors"].app(), "investnext");
    assert_eq!(
        inv_page.records.len(),
        2,
        "the config file's page size applies"
    );
    assert!(
        built["investors"]
            .list_all(EntityKind::Appointment, None)
            .await
            .is_err(),
        "the config file removed appointments"
    );
    ghl.shutdown().await;
    crm.shutdown().await;
    inv.shutdown().await;
}
