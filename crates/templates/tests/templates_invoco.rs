//! The Invoco templates end to end (contact updates, batch import, starter tasks): each project
//! exactly as shipped, against the GHL sandbox and the REST emulator's Invoco profile over real
//! HTTP, driven by GHL's signed webhooks or by `--once` passes.

mod support;

use std::collections::BTreeSet;

use connectors::EntityKind;
use ghl_sandbox::rest::Profile;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoco_contact_updates_reach_invoco() {
    let mut fx = support::start("invoco-contact-updates", Profile::Invoco, 0, 0).await;
    let c = fx
        .ghl_contact(
            json!({"firstName": "Kim", "lastName": "Kerr", "email": "kim@kerr.example",
                            "companyName": "Kerr Plumbing"}),
        )
        .await;
    // A creation is not an update: nothing happens yet.
    assert_eq!(fx.deliver(&["ContactCreate"]).await, 0);
    assert!(fx.app_list("contacts").await.is_empty());

    fx.ghl_admin(
        Method::PUT,
        &format!("/contacts/{c}"),
        json!({"phone": "+1 (303) 555-0188", "city": "Denver"}),
    )
    .await;
    fx.deliver(&["ContactUpdate"]).await;
    fx.run().await;
    let inv = fx
        .twin("ghl", EntityKind::Contact, &c, "invoco")
        .await
        .expect("customer created and linked");
    let r = fx.app_record("contacts", &inv).await;
    assert_eq!(
        (
            &r["first_name"],
            &r["email"],
            &r["phone"],
            &r["company_name"],
            &r["city"]
        ),
        (
            &json!("Kim"),
            &json!("kim@kerr.example"),
            &json!("+13035550188"),
            &json!("Kerr Plumbing"),
            &json!("Denver")
        )
    );

    // Tags follow; the same update delivered again writes nothing.
    fx.ghl_admin(
        Method::POST,
        &format!("/contacts/{c}/tags"),
        json!({"tags": ["customer"]}),
    )
    .await;
    fx.deliver(&["ContactTagUpdate"]).await;
    fx.run().await;
    assert_eq!(
        fx.app_record("contacts", &inv).await["tags"],
        json!(["customer"])
    );
    let before = fx.writes().await;
    fx.redeliver(EntityKind::Contact, &c, None, "ContactUpdate")
        .await;
    fx.drain().await;
    fx.run().await;
    assert_eq!(fx.writes().await, before, "nothing written twice");
    assert_eq!(fx.app_list("contacts").await.len(), 1);
    fx.assert_queue_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoco_batch_import_adds_only_what_is_new() {
    let fx = support::start("invoco-batch-import", Profile::Invoco, 12, 0).await;
    let (emails, kept_out): (Vec<(String, String)>, String) = {
        let st = fx.ghl.state.store.read();
        let mut all: Vec<(String, String)> = st
            .contacts
            .values()
            .filter_map(|c| Some((c.id.clone(), c.email.clone()?)))
            .collect();
        all.sort();
        let out = all.pop().expect("a contact to keep out").0;
        (all, out)
    };
    // One GHL contact is tagged to stay out; one is already an Invoco customer.
    fx.ghl_admin(
        Method::POST,
        &format!("/contacts/{kept_out}/tags"),
        json!({"tags": ["no-invoco"]}),
    )
    .await;
    let existing = fx
        .app_admin(
            Method::POST,
            "/contacts",
            json!({"email": emails[0].1.to_uppercase(), "company_name": "Already here"}),
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();

    fx.pass().await;
    let invoco = fx.app_list("contacts").await;
    let got: BTreeSet<String> = invoco
        .iter()
        .filter_map(|c| c["email"].as_str().map(str::to_lowercase))
        .collect();
    let want: BTreeSet<String> = emails.iter().map(|(_, e)| e.to_lowercase()).collect();
    assert_eq!(got, want, "every GHL contact but the one kept out");
    assert_eq!(
        invoco.len(),
        emails.len(),
        "the existing customer was matched, not duplicated"
    );
    assert_eq!(
        fx.twin("ghl", EntityKind::Contact, &emails[0].0, "invoco")
            .await,
        Some(existing)
    );
    assert!(fx
        .link("ghl", EntityKind::Contact, &kept_out)
        .await
        .is_none());

    // The next batch with nothing new writes nothing.
    let before = fx.writes().await;
    fx.pass().await;
    assert_eq!(fx.writes().await, before);

    // Two new GHL contacts: the next batch creates exactly them.
    for n in 1..=2 {
        fx.ghl_contact(
            json!({"firstName": format!("New{n}"), "email": format!("new{n}@example.com")}),
        )
        .await;
    }
    let (ghl_writes, app_writes) = fx.writes().await;
    fx.pass().await;
    assert_eq!(fx.writes().await, (ghl_writes, app_writes + 2));
    assert_eq!(fx.app_list("contacts").await.len(), emails.len() + 2);
    fx.assert_queue_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoco_starter_tasks_for_new_customers_once() {
    let mut fx = support::start("invoco-starter-tasks", Profile::Invoco, 0, 0).await;
    let c = fx
        .ghl_contact(
            json!({"firstName": "Mo", "lastName": "Mesa", "email": "mo@mesa.example",
                            "companyName": "Mesa Realty"}),
        )
        .await;
    fx.deliver(&["ContactCreate"]).await;
    fx.run().await;
    assert!(
        fx.app_list("contacts").await.is_empty(),
        "not a customer yet"
    );

    fx.ghl_admin(
        Method::POST,
        &format!("/contacts/{c}/tags"),
        json!({"tags": ["customer"]}),
    )
    .await;
    fx.deliver(&["ContactTagUpdate"]).await;
    fx.run().await;
    let inv = fx
        .twin("ghl", EntityKind::Contact, &c, "invoco")
        .await
        .expect("customer created");
    let mut tasks: Vec<(String, Option<String>)> = fx
        .app_children("tasks", &inv)
        .await
        .iter()
        .map(|t| {
            (
                t["title"].as_str().unwrap_or_default().to_string(),
                t["body"].as_str().map(str::to_string),
            )
        })
        .collect();
    tasks.sort();
    assert_eq!(
        tasks,
        [
            (
                "Confirm the call-handling script".to_string(),
                Some("Walk Mo through the greeting and the call-routing rules.".to_string())
            ),
            ("Send the first invoice to Mesa Realty".to_string(), None),
            ("Set up auto-pay".to_string(), None),
        ]
    );
    let tags = fx.ghl_view(&c).await["contact"]["tags"].clone();
    assert!(
        tags.as_array()
            .into_iter()
            .flatten()
            .any(|t| t == "invoco-started"),
        "{tags}"
    );

    // The tag's webhook comes back, and the customer tag is delivered again: nothing more.
    let before = fx.writes().await;
    fx.deliver(&["ContactTagUpdate"]).await;
    fx.redeliver(EntityKind::Contact, &c, None, "ContactTagUpdate")
        .await;
    fx.run().await;
    assert_eq!(fx.writes().await, before);
    assert_eq!(fx.app_children("tasks", &inv).await.len(), 3);
    fx.assert_queue_clean().await;
}
