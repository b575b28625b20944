//! Contact operations against the GHL sandbox over real HTTP: get, create, update, delete,
//! upsert, duplicate lookup; GHL's errors as typed errors; creates that never run twice.

mod common;

use common::{unique, Fx};
use ghl::models::contact::{
    CreateContact, DndSetting, DndSettings, DndStatus, UpdateContact, UpsertContact,
};
use ghl::models::custom_field::{CustomField, CustomFieldValue};
use ghl::{GhlError, RetryPolicy};
use serde_json::json;

fn new_contact(email: &str) -> CreateContact {
    CreateContact {
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        email: Some(email.into()),
        tags: Some(vec!["Engine".into()]),
        ..CreateContact::default()
    }
}

#[tokio::test]
async fn get_contact_reads_the_stored_contact() {
    let fx = Fx::start().await;
    let id = fx.some_contact();
    let c = fx.client.get_contact(&id).await.expect("get");
    let stored = fx.stored(&id).expect("stored");
    assert_eq!(c.id, id);
    assert_eq!(c.location_id.as_deref(), Some(fx.location.as_str()));
    assert_eq!(c.email, stored.email);
    assert_eq!(c.first_name, stored.first_name);
    assert_eq!(c.tags, stored.tags);
    assert_eq!(c.custom_fields.len(), stored.custom_fields.len());
    assert!(c.date_added.is_some() && c.date_updated.is_some());
}

#[tokio::test]
async fn create_contact_creates_it_in_the_clients_location() {
    let fx = Fx::start().await;
    let email = format!("{}@example.com", unique("ada"));
    let mut new = new_contact(&email);
    new.phone = Some("+14155550101".into());
    new.company_name = Some("Analytical Engines".into());
    new.dnd_settings = Some(DndSettings {
        sms: Some(DndSetting::new(DndStatus::Active)),
        ..DndSettings::default()
    });
    new.custom_fields = Some(vec![CustomField::by_id(
        fx.custom_field_of("NUMERICAL"),
        42,
    )]);
    let created = fx.client.create_contact(&new).await.expect("create");
    assert_eq!(created.email.as_deref(), Some(email.as_str()));
    assert_eq!(created.location_id.as_deref(), Some(fx.location.as_str()));
    assert_eq!(created.tags, vec!["engine".to_string()]);
    let back = fx.client.get_contact(&created.id).await.expect("get");
    assert_eq!(back.first_name.as_deref(), Some("Ada"));
    assert_eq!(back.phone.as_deref(), Some("+14155550101"));
    assert_eq!(back.company_name.as_deref(), Some("Analytical Engines"));
    let sms = back
        .dnd_settings
        .clone()
        .and_then(|d| d.sms)
        .expect("sms dnd");
    assert_eq!(sms.status, DndStatus::Active);
    assert_eq!(
        back.custom_field(&fx.custom_field_of("NUMERICAL")),
        Some(&CustomFieldValue::from(42))
    );
    assert_eq!(fx.contacts_with_email(&email), 1);
}

#[tokio::test]
async fn update_contact_changes_only_what_it_sends() {
    let fx = Fx::start().await;
    let id = fx.some_contact();
    let before = fx.client.get_contact(&id).await.expect("get");
    let update = UpdateContact {
        city: Some("Marylebone".into()),
        tags: Some(vec!["Synced".into(), "VIP".into()]),
        ..UpdateContact::default()
    };
    let answer = fx
        .client
        .update_contact(&id, &update)
        .await
        .expect("update");
    assert_eq!(answer.city.as_deref(), Some("Marylebone"));
    let back = fx.client.get_contact(&id).await.expect("get");
    assert_eq!(back.city.as_deref(), Some("Marylebone"));
    assert_eq!(back.tags, vec!["synced".to_string(), "vip".to_string()]);
    assert_eq!(back.email, before.email, "fields not sent stay");
    assert_eq!(back.first_name, before.first_name);
}

#[tokio::test]
async fn read_modify_write_keeps_every_custom_field_shape() {
    let fx = Fx::start().await;
    let (text, num, money, multi) = (
        fx.custom_field_of("TEXT"),
        fx.custom_field_of("NUMERICAL"),
        fx.custom_field_of("MONETORY"),
        fx.custom_field_of("MULTIPLE_OPTIONS"),
    );
    let large_key = fx
        .custom_field_defs()
        .into_iter()
        .find(|(_, _, t)| t == "LARGE_TEXT")
        .map(|(_, key, _)| key)
        .expect("large text field");
    let mut new = new_contact(&format!("{}@example.com", unique("cf")));
    new.custom_fields = Some(vec![
        CustomField::by_id(&text, "hello"),
        CustomField::by_id(&num, 7),
        CustomField::by_id(&money, 100.5),
        CustomField::by_id(&multi, vec!["a".to_string(), "b".to_string()]),
        CustomField::by_key(&large_key, "by key"),
    ]);
    let id = fx.client.create_contact(&new).await.expect("create").id;
    let read = fx.client.get_contact(&id).await.expect("get");
    assert_eq!(read.custom_fields.len(), 5, "{:?}", read.custom_fields);
    // Write everything back unchanged, then read again: nothing moved.
    fx.client
        .update_contact(&id, &read.to_update())
        .await
        .expect("write back");
    let again = fx.client.get_contact(&id).await.expect("get again");
    assert_eq!(again.custom_fields, read.custom_fields);
    assert_eq!(
        again.custom_field(&money),
        Some(&CustomFieldValue::from(100.5))
    );
    assert_eq!(
        again.custom_field(&multi),
        Some(&CustomFieldValue::Options(vec!["a".into(), "b".into()]))
    );
    // An explicit null clears one field.
    let clear = UpdateContact {
        custom_fields: Some(vec![CustomField::by_id(&text, CustomFieldValue::Null)]),
        ..UpdateContact::default()
    };
    let cleared = fx.client.update_contact(&id, &clear).await.expect("clear");
    assert_eq!(cleared.custom_field(&text), None);
    assert_eq!(cleared.custom_fields.len(), 4);
}

#[tokio::test]
async fn delete_contact_removes_it() {
    let fx = Fx::start().await;
    let id = fx.some_contact();
    let ack = fx.client.delete_contact(&id).await.expect("delete");
    assert!(ack.succeded);
    assert!(fx.stored(&id).is_none());
    assert!(matches!(
        fx.client.get_contact(&id).await,
        Err(GhlError::NotFound { .. })
    ));
}

#[tokio::test]
async fn upsert_creates_then_updates_the_same_contact() {
    let fx = Fx::start().await;
    let email = format!("{}@example.com", unique("up"));
    let mut upsert = UpsertContact {
        email: Some(email.clone()),
        first_name: Some("Grace".into()),
        tags: Some(vec!["one".into()]),
        ..UpsertContact::default()
    };
    let first = fx.client.upsert_contact(&upsert).await.expect("upsert 1");
    assert!(first.new);
    assert_eq!(first.contact.email.as_deref(), Some(email.as_str()));
    upsert.last_name = Some("Hopper".into());
    upsert.tags = Some(vec!["two".into()]);
    let second = fx.client.upsert_contact(&upsert).await.expect("upsert 2");
    assert!(!second.new);
    assert_eq!(second.contact.id, first.contact.id);
    let back = fx.client.get_contact(&first.contact.id).await.expect("get");
    assert_eq!(back.last_name.as_deref(), Some("Hopper"));
    assert_eq!(
        back.tags,
        vec!["one".to_string(), "two".to_string()],
        "upsert merges tags"
    );
    assert_eq!(fx.contacts_with_email(&email), 1);
}

#[tokio::test]
async fn duplicate_search_finds_by_email_or_phone() {
    let fx = Fx::start().await;
    let stored = fx.stored(&fx.some_contact()).expect("stored");
    let (email, phone) = (
        stored.email.clone().expect("seed email"),
        stored.phone.clone().expect("seed phone"),
    );
    let by_email = fx
        .client
        .find_duplicate_contact(Some(&email.to_uppercase()), None)
        .await
        .expect("search");
    assert_eq!(by_email.map(|c| c.id), Some(stored.id.clone()));
    let by_phone = fx
        .client
        .find_duplicate_contact(None, Some(&phone))
        .await
        .expect("search");
    assert_eq!(by_phone.map(|c| c.id), Some(stored.id.clone()));
    let none = fx
        .client
        .find_duplicate_contact(Some("nobody@example.com"), None)
        .await
        .expect("search");
    assert!(none.is_none());
}

#[tokio::test]
async fn a_duplicate_create_is_a_typed_duplicate_error() {
    let fx = Fx::start().await;
    let existing = fx.stored(&fx.some_contact()).expect("stored");
    let new = new_contact(existing.email.as_deref().expect("seed email"));
    match fx.client.create_contact(&new).await {
        Err(GhlError::Duplicate {
            contact_id,
            matching_field,
        }) => {
            assert_eq!(contact_id, existing.id);
            assert_eq!(matching_field, "email");
        }
        other => panic!("expected Duplicate, got {other:?}"),
    }
}

#[tokio::test]
async fn a_read_only_token_cannot_write() {
    let fx = Fx::start().await;
    let token = fx.token_with(&["contacts.readonly"]).await;
    let client = fx.client_with(&token, common::fast_retry());
    client
        .get_contact(&fx.some_contact())
        .await
        .expect("reading is allowed");
    let new = new_contact(&format!("{}@example.com", unique("ro")));
    match client.create_contact(&new).await {
        Err(GhlError::ScopeMissing { scope, .. }) => assert_eq!(scope, "contacts.write"),
        other => panic!("expected ScopeMissing, got {other:?}"),
    }
    assert!(fx
        .calls_of("create-contact")
        .await
        .iter()
        .all(|r| r["status"] == 401));
}

#[tokio::test]
async fn unknown_ids_are_not_found() {
    let fx = Fx::start().await;
    let cid = fx.some_contact();
    for result in [
        fx.client
            .get_contact("noSuchContact000000")
            .await
            .map(|_| ()),
        fx.client
            .get_task(&cid, "noSuchTask00000000")
            .await
            .map(|_| ()),
        fx.client
            .get_note(&cid, "noSuchNote00000000")
            .await
            .map(|_| ()),
        fx.client
            .delete_contact("noSuchContact000000")
            .await
            .map(|_| ()),
    ] {
        assert!(
            matches!(result, Err(GhlError::NotFound { .. })),
            "{result:?}"
        );
    }
}

#[tokio::test]
async fn a_create_answered_422_after_creating_returns_the_contact_once() {
    let fx = Fx::start().await;
    fx.faults(json!([{"route": "create-contact", "acceptThen422Rate": 1.0}]))
        .await;
    let email = format!("{}@example.com", unique("flaky"));
    let created = fx
        .client
        .create_contact(&new_contact(&email))
        .await
        .expect("the created contact, found by lookup");
    assert_eq!(created.email.as_deref(), Some(email.as_str()));
    assert_eq!(fx.contacts_with_email(&email), 1);
    assert!(fx.stored(&created.id).is_some());
    let posts = fx.calls_of("create-contact").await;
    assert_eq!(posts.len(), 1, "never sent twice: {posts:?}");
    assert_eq!(posts[0]["status"], 422);
}

#[tokio::test]
async fn a_lost_create_answer_is_found_by_phone_when_there_is_no_email() {
    let fx = Fx::start().await;
    fx.faults(json!([{"route": "create-contact", "garbledRate": 1.0}]))
        .await;
    let new = CreateContact {
        first_name: Some("Phone".into()),
        phone: Some("+14155550199".into()),
        ..CreateContact::default()
    };
    let created = fx
        .client
        .create_contact(&new)
        .await
        .expect("found by phone");
    assert_eq!(created.phone.as_deref(), Some("+14155550199"));
    assert_eq!(fx.calls_of("create-contact").await.len(), 1);
    let dup = fx.calls_of("get-duplicate-contact").await;
    assert!(
        dup.iter()
            .any(|r| r["query"].as_str().unwrap_or_default().contains("number=")),
        "{dup:?}"
    );
}

#[tokio::test]
async fn an_unclear_create_without_email_or_phone_is_outcome_unknown() {
    let fx = Fx::start().await;
    fx.faults(json!([{"route": "create-contact", "acceptThen422Rate": 1.0}]))
        .await;
    let new = CreateContact {
        first_name: Some("Nameless".into()),
        ..CreateContact::default()
    };
    match fx.client.create_contact(&new).await {
        Err(GhlError::OutcomeUnknown { message }) => assert!(message.contains("422"), "{message}"),
        other => panic!("expected OutcomeUnknown, got {other:?}"),
    }
    assert_eq!(fx.calls_of("create-contact").await.len(), 1, "not re-sent");
    // A 5xx, with retries allowed, is not re-sent either.
    fx.faults(json!([{"route": "create-contact", "errorRate": 1.0}]))
        .await;
    let client = fx.client_with(
        &fx.sb.token(),
        RetryPolicy {
            max_attempts: 5,
            ..common::fast_retry()
        },
    );
    assert!(matches!(
        client.create_contact(&new).await,
        Err(GhlError::OutcomeUnknown { .. })
    ));
    assert_eq!(fx.calls_of("create-contact").await.len(), 2);
}
