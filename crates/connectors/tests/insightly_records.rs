//! The Insightly connector's tags and businesses as records of their own, and custom fields
//! by label, by name or by Insightly's derived name, against the emulator over real HTTP.

mod insightly_common;

use connectors::{Connector, ConnectorError, EntityKind};
use insightly_common::{fields, Fx};
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_and_businesses_as_records() {
    let fx = Fx::start(2).await;
    let c = fx
        .conn
        .create(
            EntityKind::Contact,
            None,
            &fields(json!({"first_name": "Tia", "tags": ["one"]})),
            "c",
        )
        .await
        .expect("contact");
    let t = fx
        .conn
        .create(
            EntityKind::Tag,
            Some(&c.id),
            &fields(json!({"name": "Two"})),
            "t",
        )
        .await
        .expect("tag");
    assert_eq!(
        (t.id.as_str(), t.parent_id.as_deref()),
        ("Two", Some(c.id.as_str()))
    );
    let got = fx
        .conn
        .get(EntityKind::Tag, "two", Some(&c.id))
        .await
        .unwrap();
    assert_eq!(
        got.map(|r| r.id),
        Some("Two".to_string()),
        "matched ignoring case"
    );
    let all = fx
        .conn
        .children(EntityKind::Tag, &c.id)
        .await
        .expect("tags");
    assert_eq!(
        all.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["one", "Two"]
    );
    fx.conn
        .delete(EntityKind::Tag, "ONE", Some(&c.id))
        .await
        .expect("remove");
    fx.conn
        .delete(EntityKind::Tag, "one", Some(&c.id))
        .await
        .expect("already gone");
    assert!(fx
        .conn
        .get(EntityKind::Tag, "one", Some(&c.id))
        .await
        .unwrap()
        .is_none());
    assert!(matches!(
        fx.conn
            .update(
                EntityKind::Tag,
                "Two",
                Some(&c.id),
                &fields(json!({"name": "x"}))
            )
            .await,
        Err(ConnectorError::Unsupported(_))
    ));
    assert!(matches!(
        fx.conn.list_changed(EntityKind::Tag, None).await,
        Err(ConnectorError::Unsupported(_))
    ));

    let b = fx
        .conn
        .create(
            EntityKind::Business,
            None,
            &fields(json!({"name": "Hooli", "x.website": "https://hooli.example"})),
            "b",
        )
        .await
        .expect("business");
    assert_eq!(b.fields["name"], "Hooli");
    let again = fx
        .conn
        .create(
            EntityKind::Business,
            None,
            &fields(json!({"name": "hooli"})),
            "b2",
        )
        .await
        .expect("found by name");
    assert_eq!(again.id, b.id, "one organisation per name");
    let renamed = fx
        .conn
        .update(
            EntityKind::Business,
            &b.id,
            None,
            &fields(json!({"name": "Hooli XYZ"})),
        )
        .await
        .expect("rename");
    assert_eq!(renamed.fields["name"], "Hooli XYZ");
    assert_eq!(renamed.fields["x.website"], "https://hooli.example");
    let got = fx
        .conn
        .get(EntityKind::Business, &b.id, None)
        .await
        .unwrap();
    assert_eq!(
        got.map(|r| r.fields["name"].clone()),
        Some(json!("Hooli XYZ"))
    );
    let none = fx
        .conn
        .create(
            EntityKind::Business,
            None,
            &fields(json!({"x.phone": "1"})),
            "b3",
        )
        .await;
    assert!(matches!(&none, Err(ConnectorError::Rejected(m)) if m.contains("name")));
    fx.conn
        .delete(EntityKind::Business, &b.id, None)
        .await
        .expect("delete");
    assert!(fx
        .conn
        .get(EntityKind::Business, &b.id, None)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_fields_by_label_name_or_derived_name() {
    let fx = Fx::start(1).await;
    // A field a person adds in Insightly while the connector runs.
    fx.admin(
        Method::POST,
        "/CustomFields/Contacts",
        json!({"FIELD_LABEL": "Favourite Colour"}),
    )
    .await;
    let c = fx
        .conn
        .create(
            EntityKind::Contact,
            None,
            &fields(json!({"first_name": "Cy", "custom.Hobby__c": "Go", "custom.interests": ["Art", "Music"],
                "custom.Renewal Date": "2031-05-06T00:00:00Z", "custom.Newsletter": true})),
            "c",
        )
        .await
        .expect("create");
    assert_eq!(c.fields["custom.Hobby"], "Go", "read back by label");
    assert_eq!(c.fields["custom.Interests"], json!(["Art", "Music"]));
    assert_eq!(c.fields["custom.Renewal Date"], "2031-05-06T00:00:00Z");
    assert_eq!(c.fields["custom.Newsletter"], true);
    let stored = fx.stored("Contacts", &c.id).await;
    let cf: Vec<(String, Value)> = stored["CUSTOMFIELDS"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["FIELD_NAME"].as_str().unwrap_or_default().to_string(),
                f["FIELD_VALUE"].clone(),
            )
        })
        .collect();
    assert!(
        cf.contains(&("Interests__c".into(), json!("Art;Music"))),
        "{cf:?}"
    );
    assert!(
        cf.contains(&("Renewal_Date__c".into(), json!("2031-05-06 00:00:00"))),
        "{cf:?}"
    );
    // The field added after the definitions were first read: fetched again, then written.
    let u = fx
        .conn
        .update(
            EntityKind::Contact,
            &c.id,
            None,
            &fields(json!({"custom.Favourite Colour": "teal", "custom.Hobby": null})),
        )
        .await
        .expect("update");
    assert_eq!(u.fields["custom.Favourite Colour"], "teal");
    assert!(!u.fields.contains_key("custom.Hobby"), "null cleared it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_adopts_the_contact_with_the_same_email() {
    let fx = Fx::start(1).await;
    let made = fx
        .admin(
            Method::POST,
            "/Contacts",
            json!({"FIRST_NAME": "Ann", "EMAIL_ADDRESS": "Ann@Example.com", "ADDRESS_MAIL_CITY": "Oslo"}),
        )
        .await;
    let id = made["CONTACT_ID"].to_string();
    let same = fields(json!({"first_name": "Ann", "email": "Ann@Example.com"}));
    let r = fx
        .conn
        .create(EntityKind::Contact, None, &same, "k1")
        .await
        .expect("adopted");
    assert_eq!(r.id, id);
    let writes = |log: &[Value]| log.iter().filter(|r| r["method"] != "GET").count();
    assert_eq!(
        writes(&fx.requests().await),
        0,
        "nothing to change: nothing sent"
    );
    let more = fields(json!({"first_name": "Ann", "email": "ann@example.com", "city": "Bergen"}));
    let r = fx
        .conn
        .create(EntityKind::Contact, None, &more, "k2")
        .await
        .expect("adopted and updated");
    assert_eq!(
        (r.id.as_str(), r.fields["city"].as_str()),
        (id.as_str(), Some("Bergen"))
    );
    let log = fx.requests().await;
    assert!(!log.iter().any(|r| r["method"] == "POST"), "never created");
    assert_eq!(writes(&log), 1, "one PUT");
}
