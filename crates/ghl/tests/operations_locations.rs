//! `custom_field_definitions` against the GHL sandbox over real HTTP: the definitions match the
//! location's fields, and a token without the Locations scope is told which scope is missing.

mod common;

use common::{fast_retry, Fx};
use ghl::GhlError;

#[tokio::test]
async fn lists_the_locations_custom_field_definitions() {
    let fx = Fx::start().await;
    let defs = fx
        .client
        .custom_field_definitions()
        .await
        .expect("definitions");
    let mut got: Vec<(String, String, String)> = defs
        .iter()
        .map(|d| {
            (
                d.id.clone(),
                d.field_key.clone().unwrap_or_default(),
                d.data_type.clone().unwrap_or_default(),
            )
        })
        .collect();
    let mut want = fx.custom_field_defs();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert!(defs.iter().all(|d| d.is_contact_field()));
    let lead = defs
        .iter()
        .find(|d| d.name == "Lead Score")
        .expect("Lead Score");
    assert_eq!(lead.data_type.as_deref(), Some("NUMERICAL"));
    let interests = defs
        .iter()
        .find(|d| d.name == "Interests")
        .expect("Interests");
    assert!(interests.picklist_options.len() >= 2, "{interests:?}");
}

#[tokio::test]
async fn needs_the_locations_scope() {
    let fx = Fx::start().await;
    let token = fx.token_with(&["contacts.readonly"]).await;
    let narrow = fx.client_with(&token, fast_retry());
    let err = narrow.custom_field_definitions().await.unwrap_err();
    assert!(
        matches!(&err, GhlError::ScopeMissing { scope, .. } if scope == "locations/customFields.readonly"),
        "{err:?}"
    );
}
