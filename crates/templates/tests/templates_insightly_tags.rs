//! The Insightly tags-and-companies template end to end: the project exactly as shipped,
//! against the GHL sandbox and the Insightly emulator over real HTTP, driven by GHL's signed
//! webhooks and by polls (Insightly has no webhooks; the tests move its clock instead of
//! sleeping).

mod support;

use std::collections::BTreeSet;

use connectors::EntityKind;
use reqwest::Method;
use serde_json::{json, Value};
use support::insightly::tag_set;

fn set(tags: &[&str]) -> BTreeSet<String> {
    tags.iter().map(|t| t.to_string()).collect()
}

/// A GHL contact's tags.
fn ghl_tags(contact: &Value) -> BTreeSet<String> {
    contact["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect()
}

/// The name of an Insightly contact's organisation (`None` when it has none).
async fn organisation(fx: &support::Fx, contact: &Value) -> Option<String> {
    let id = contact["ORGANISATION_ID"].as_i64()?;
    let org = fx.ins_get(&format!("/Organisations/{id}")).await;
    org["ORGANISATION_NAME"].as_str().map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insightly_tags_companies_sync_tags_and_organisations_both_ways() {
    let mut fx = support::start("insightly-tags-companies", support::Insightly, 0, 0).await;
    fx.fast_retries();
    // In GHL, Ada works at Analytical Engines; in Insightly, Ivy at Insight Partners.
    let ada = fx
        .ghl_contact(
            json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
                            "companyName": "Analytical Engines", "tags": ["vip", "investor"]}),
        )
        .await;
    let partners = fx
        .ins_create(
            "Organisations",
            json!({"ORGANISATION_NAME": "Insight Partners"}),
        )
        .await;
    let ivy = fx
        .ins_create(
            "Contacts",
            json!({"FIRST_NAME": "Ivy", "LAST_NAME": "Insight", "EMAIL_ADDRESS": "ivy@example.com",
                   "ORGANISATION_ID": partners, "TAGS": [{"TAG_NAME": "Board"}]}),
        )
        .await;
    fx.deliver(&["ContactCreate"]).await;
    fx.pass_settled().await;
    fx.pass_settled().await;

    // GHL → Insightly: tags, and the company as the organisation (created).
    let ins_ada: i64 = fx
        .twin("ghl", EntityKind::Contact, &ada, "insightly")
        .await
        .expect("Ada paired")
        .parse()
        .expect("id");
    let a = fx.ins_get(&format!("/Contacts/{ins_ada}")).await;
    assert_eq!(tag_set(&a), set(&["vip", "investor"]), "{a}");
    assert_eq!(
        organisation(&fx, &a).await.as_deref(),
        Some("Analytical Engines")
    );
    // Insightly → GHL: tags, and the organisation as the company.
    let ghl_ivy = fx
        .twin("insightly", EntityKind::Contact, &ivy.to_string(), "ghl")
        .await
        .expect("Ivy paired");
    let g = fx.ghl_view(&ghl_ivy).await["contact"].clone();
    assert_eq!(ghl_tags(&g), set(&["board"]), "{g}");
    assert_eq!(g["companyName"], "Insight Partners");

    // Tags changed in GHL (one added, one removed) reach Insightly by webhook.
    fx.ghl_admin(
        Method::PUT,
        &format!("/contacts/{ada}"),
        json!({"tags": ["vip", "partner"]}),
    )
    .await;
    fx.deliver(&["ContactTagUpdate"]).await;
    fx.pass_settled().await;
    let a = fx.ins_get(&format!("/Contacts/{ins_ada}")).await;
    assert_eq!(tag_set(&a), set(&["vip", "partner"]), "{a}");

    // In Insightly, a person tags Ivy "Speaker" and moves her to a new organisation: GHL gets
    // the tag and the company at the next poll.
    let summit = fx
        .ins_create(
            "Organisations",
            json!({"ORGANISATION_NAME": "Summit Capital"}),
        )
        .await;
    fx.ins_edit(
        "Contacts",
        ivy,
        json!({"ORGANISATION_ID": summit,
               "TAGS": [{"TAG_NAME": "Board"}, {"TAG_NAME": "Speaker"}]}),
    )
    .await;
    fx.pass_settled().await;
    fx.pass_settled().await;
    let g = fx.ghl_view(&ghl_ivy).await["contact"].clone();
    assert_eq!(ghl_tags(&g), set(&["board", "speaker"]), "{g}");
    assert_eq!(g["companyName"], "Summit Capital");

    // A company changed in GHL moves Ada to that organisation in Insightly.
    fx.ghl_admin(
        Method::PUT,
        &format!("/contacts/{ada}"),
        json!({"companyName": "Babbage & Co"}),
    )
    .await;
    fx.deliver(&["ContactUpdate"]).await;
    fx.pass_settled().await;
    let a = fx.ins_get(&format!("/Contacts/{ins_ada}")).await;
    assert_eq!(organisation(&fx, &a).await.as_deref(), Some("Babbage & Co"));
    assert_eq!(
        fx.ghl_view(&ada).await["contact"]["companyName"],
        "Babbage & Co"
    );

    // Settled: the next passes write nothing; nobody was duplicated.
    fx.pass_settled().await;
    let before = fx.writes().await;
    fx.pass_settled().await;
    fx.pass_settled().await;
    assert_eq!(fx.writes().await, before, "nothing goes back and forth");
    assert_eq!(fx.ins_contacts().await.len(), 2);
    assert_eq!(fx.ghl.state.store.read().contacts.len(), 2);
    fx.assert_queue_clean().await;
}
