//! The SalesNexus business and web-lead templates end to end: each project exactly as shipped,
//! against the GHL sandbox and the SalesNexus emulator over real HTTP, driven by GHL's signed
//! webhooks and by polls.

mod support;

use connectors::EntityKind;
use serde_json::{json, Value};
use support::salesnexus::sn_tasks;

/// The SalesNexus twin of a GHL contact, as the admin API shows it.
async fn sn_twin(fx: &support::Fx, ghl_id: &str) -> Value {
    let id = fx
        .twin("ghl", EntityKind::Contact, ghl_id, "salesnexus")
        .await
        .unwrap_or_else(|| panic!("{ghl_id} reached SalesNexus"));
    fx.sn_contact(&id).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesnexus_business_carries_the_ghl_business_onto_the_contact() {
    let mut fx = support::start("salesnexus-business", support::SalesNexus, 0, 0).await;
    fx.fast_retries();
    let business = {
        let st = fx.ghl.state.store.read();
        let loc = st
            .locations
            .iter()
            .find(|l| l.id == fx.location())
            .expect("the location");
        loc.businesses.first().cloned().expect("a business")
    };
    // Ben works at the business (GHL shows its name as his company); Sol has no business.
    let ben = fx
        .ghl_contact(
            json!({"firstName": "Ben", "lastName": "Baker", "email": "ben@example.com",
                            "companyName": business.name}),
        )
        .await;
    fx.ghl.state.set_business(&ben, Some(business.id.clone()));
    let sol = fx
        .ghl_contact(
            json!({"firstName": "Sol", "lastName": "Solo", "email": "sol@example.com",
                            "companyName": "Solo Consulting"}),
        )
        .await;
    fx.deliver(&["ContactCreate", "ContactUpdate", "ContactCreate"])
        .await;
    fx.settle().await;
    let b = sn_twin(&fx, &ben).await;
    assert_eq!(
        (
            &b["company"],
            &b["customFields"]["Business"],
            &b["customFields"]["Business ID"],
            &b["customFields"]["Business Contacts"],
        ),
        (
            &json!(business.name),
            &json!(business.name),
            &json!(business.id),
            &json!("1")
        ),
        "{b}"
    );
    let s = sn_twin(&fx, &sol).await;
    assert_eq!(s["company"], "Solo Consulting");
    assert!(s["customFields"].get("Business").is_none(), "{s}");

    // Ada, added in GHL without a company, joins the business: SalesNexus shows its name
    // (from its contacts), its size and her colleague.
    let ada = fx
        .ghl_contact(
            json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"}),
        )
        .await;
    fx.deliver(&["ContactCreate"]).await;
    fx.settle().await;
    assert!(sn_twin(&fx, &ada).await["customFields"]
        .get("Business")
        .is_none());
    fx.ghl.state.set_business(&ada, Some(business.id.clone()));
    fx.deliver(&["ContactUpdate"]).await;
    fx.settle().await;
    let a = sn_twin(&fx, &ada).await;
    let cf = &a["customFields"];
    assert_eq!(
        (
            &cf["Business"],
            &cf["Business ID"],
            &cf["Business Contacts"],
            &cf["Business Colleagues"]
        ),
        (
            &json!(business.name),
            &json!(business.id),
            &json!("2"),
            &json!("Ben Baker <ben@example.com>")
        ),
        "{a}"
    );

    // The first poll of GHL's contacts runs the flow for everyone: Ben now shows Ada.
    fx.pass_settled().await;
    let b = sn_twin(&fx, &ben).await;
    assert_eq!(
        (
            &b["customFields"]["Business Contacts"],
            &b["customFields"]["Business Colleagues"]
        ),
        (&json!("2"), &json!("Ada Lovelace <ada@example.com>"))
    );

    // The same change again, and the next passes, write nothing.
    let before = fx.writes().await;
    fx.redeliver(EntityKind::Contact, &ada, None, "ContactUpdate")
        .await;
    fx.settle().await;
    fx.pass_settled().await;
    fx.pass_settled().await;
    assert_eq!(fx.writes().await, before, "nothing written twice");
    fx.assert_queue_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesnexus_web_leads_reach_salesnexus_with_one_call_back_task() {
    let mut fx = support::start("salesnexus-web-leads", support::SalesNexus, 0, 0).await;
    fx.fast_retries();
    // A web form sends a lead: GHL creates the contact with the form as its source. A contact
    // typed in by hand is no web lead.
    let lia = fx
        .ghl_contact(
            json!({"firstName": "Lia", "lastName": "Park", "email": "Lia.Park@Example.com",
                            "phone": "+14155550123", "source": "website form",
                            "tags": ["webinar"]}),
        )
        .await;
    let max = fx
        .ghl_contact(json!({"firstName": "Max", "email": "max@example.com", "source": "manual"}))
        .await;
    let sent = chrono::Utc::now();
    fx.deliver(&["ContactCreate", "ContactCreate"]).await;
    fx.settle().await;
    let l = sn_twin(&fx, &lia).await;
    assert_eq!(
        (
            &l["firstName"],
            &l["lastName"],
            &l["email"],
            &l["phone"],
            &l["customFields"]["Lead Source"],
            &l["customFields"]["Tags"]
        ),
        (
            &json!("Lia"),
            &json!("Park"),
            &json!("lia.park@example.com"),
            &json!("+14155550123"),
            &json!("website form"),
            &json!("webinar")
        ),
        "{l}"
    );
    let tasks = sn_tasks(&l, false);
    assert_eq!(tasks.len(), 1, "{l}");
    assert_eq!(tasks[0]["title"], "Call back web lead Lia Park");
    assert!(tasks[0]["details"]
        .as_str()
        .is_some_and(|d| d.contains("website form") && d.contains("+14155550123")));
    let due = chrono::DateTime::parse_from_rfc3339(tasks[0]["dateTo"].as_str().expect("due"))
        .expect("a time");
    let hours = (due.with_timezone(&chrono::Utc) - sent).num_minutes();
    assert!(
        (235..=245).contains(&hours),
        "due four hours on: {hours} min"
    );
    assert!(fx
        .twin("ghl", EntityKind::Contact, &max, "salesnexus")
        .await
        .is_none());
    assert!(fx.sn_contacts_by_email("max@example.com").await.is_empty());

    // Lia sends the form again with a new phone number: GHL updates her contact (its upsert,
    // as a form does), SalesNexus follows, and she gets no second task.
    let resp = reqwest::Client::new()
        .post(format!("{}/contacts/upsert", fx.ghl.base_url))
        .bearer_auth(fx.ghl.token())
        .header("Version", "2021-07-28")
        .json(
            &json!({"locationId": fx.location(), "email": "lia.park@example.com",
                      "phone": "+14155550199", "source": "website form"}),
        )
        .send()
        .await
        .expect("upsert");
    assert!(resp.status().is_success(), "{}", resp.status());
    fx.deliver(&["ContactUpdate"]).await;
    fx.settle().await;
    let l = sn_twin(&fx, &lia).await;
    assert_eq!(l["phone"], "+14155550199");
    assert_eq!(sn_tasks(&l, false).len(), 1, "one call-back task per lead");
    assert_eq!(fx.sn_contacts().await.len(), 1, "Lia once, Max never");

    // Settled: GHL repeating its webhook, and the next passes, write nothing.
    let before = fx.writes().await;
    fx.redeliver(EntityKind::Contact, &lia, None, "ContactUpdate")
        .await;
    fx.settle().await;
    fx.pass_settled().await;
    fx.pass_settled().await;
    assert_eq!(fx.writes().await, before, "nothing written twice");
    fx.assert_queue_clean().await;
}
