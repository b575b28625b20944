//! The models on JSON literals: nothing GHL sends is lost in a read-modify-write, every custom
//! field shape round-trips, and requests carry exactly the spec's names.

use ghl::models::appointment::Appointment;
use ghl::models::contact::{Contact, CreatedContact, DndStatus, UpdateContact, UpsertResult};
use ghl::models::custom_field::CustomFieldValue;
use ghl::models::misc::{BulkBusiness, BulkTagResponse, BulkTags, BulkTagsResult};
use ghl::models::note::Note;
use ghl::models::task::{CreateTask, Task};
use serde_json::{json, Value};

/// A GET answer with fields the models do not name, at the top and nested.
fn get_answer() -> Value {
    json!({
        "id": "seD4PfOuKoVMLkEZqohJ",
        "locationId": "ve9EPM428h8vShlRW1KT",
        "firstName": "rubika",
        "email": "rubika@deos.com",
        "tags": ["vip"],
        "dnd": false,
        "dndSettings": {
            "SMS": {"status": "active", "message": "stop", "code": "101", "updatedBy": "u1"},
            "RCS": {"status": "inactive"}
        },
        "customFields": [
            {"id": "cf1", "value": "text"},
            {"id": "cf2", "value": 100.5},
            {"id": "cf3", "value": ["a", "b"]},
            {"id": "cf4", "value": {"f3": {"meta": {"size": 1}, "url": "https://x", "documentId": "d"}}}
        ],
        "attributionSource": {"url": "Trigger Link", "sessionSource": "CRM UI"},
        "additionalEmails": [{"email": "other@deos.com"}],
        "profilePhoto": "https://img"
    })
}

#[test]
fn unknown_fields_survive_a_read_modify_write() {
    let mut c: Contact = serde_json::from_value(get_answer()).unwrap();
    assert_eq!(c.extra["profilePhoto"], "https://img");
    c.first_name = Some("Rubika".into());
    c.tags.push("synced".into());
    let written = serde_json::to_value(&c).unwrap();
    let mut expected = get_answer();
    expected["firstName"] = json!("Rubika");
    expected["tags"] = json!(["vip", "synced"]);
    assert_eq!(written, expected, "only the edits differ");
}

#[test]
fn an_update_from_a_read_contact_keeps_nested_unknowns_and_sends_no_read_only_fields() {
    let c: Contact = serde_json::from_value(get_answer()).unwrap();
    let mut update = c.to_update();
    update.city = Some("Pune".into());
    let sent = serde_json::to_value(&update).unwrap();
    // Nested fields GHL added ride along inside the values they belong to…
    assert_eq!(sent["dndSettings"]["SMS"]["updatedBy"], "u1");
    assert_eq!(sent["dndSettings"]["RCS"]["status"], "inactive");
    assert_eq!(
        sent["customFields"][3],
        json!({"id": "cf4", "field_value": {"f3": {"meta": {"size": 1}, "url": "https://x", "documentId": "d"}}})
    );
    assert_eq!(
        sent["customFields"][1],
        json!({"id": "cf2", "field_value": 100.5})
    );
    assert_eq!(sent["city"], "Pune");
    // …while read-only answer fields, which GHL rejects on input, are not sent.
    for key in [
        "id",
        "locationId",
        "additionalEmails",
        "profilePhoto",
        "attributionSource",
    ] {
        assert!(sent.get(key).is_none(), "{key} must not be sent: {sent}");
    }
    // Fields the caller adds to `extra` are sent as given.
    let mut update = UpdateContact::default();
    update.extra.insert("newGhlField".into(), json!(1));
    assert_eq!(
        serde_json::to_value(&update).unwrap(),
        json!({"newGhlField": 1})
    );
}

#[test]
fn custom_field_shapes_round_trip_inside_a_contact() {
    let c: Contact = serde_json::from_value(get_answer()).unwrap();
    assert_eq!(
        c.custom_field("cf1"),
        Some(&CustomFieldValue::Text("text".into()))
    );
    assert_eq!(
        c.custom_field("cf2").and_then(CustomFieldValue::as_f64),
        Some(100.5)
    );
    assert!(matches!(c.custom_field("cf3"), Some(CustomFieldValue::Options(o)) if o.len() == 2));
    assert!(matches!(
        c.custom_field("cf4"),
        Some(CustomFieldValue::Object(_))
    ));
    let back = serde_json::to_value(&c).unwrap();
    assert_eq!(back["customFields"], get_answer()["customFields"]);
    let sms = c.dnd_settings.and_then(|d| d.sms).unwrap();
    assert_eq!(sms.status, DndStatus::Active);
}

#[test]
fn an_unknown_dnd_status_is_kept() {
    let c: Contact =
        serde_json::from_value(json!({"id": "x", "dndSettings": {"Call": {"status": "paused"}}}))
            .unwrap();
    let call = c.dnd_settings.clone().and_then(|d| d.call).unwrap();
    assert_eq!(call.status, DndStatus::Other("paused".into()));
    assert_eq!(
        serde_json::to_value(&c).unwrap()["dndSettings"]["Call"]["status"],
        "paused"
    );
}

#[test]
fn a_found_contact_becomes_a_create_answer_without_loss() {
    let c: Contact = serde_json::from_value(get_answer()).unwrap();
    let created = CreatedContact::from(c);
    assert_eq!(created.id, "seD4PfOuKoVMLkEZqohJ");
    assert_eq!(created.email.as_deref(), Some("rubika@deos.com"));
    assert_eq!(created.extra["profilePhoto"], "https://img");
    assert_eq!(created.custom_fields.len(), 4);
}

#[test]
fn every_answer_keeps_unknown_fields() {
    let task: Task = serde_json::from_value(
        json!({"id": "t", "title": "x", "completed": true, "dateAdded": "d", "isLocked": false}),
    )
    .unwrap();
    assert_eq!(task.extra["isLocked"], false);
    assert_eq!(serde_json::to_value(&task).unwrap()["dateAdded"], "d");
    let note: Note =
        serde_json::from_value(json!({"id": "n", "body": "b", "relations": [1]})).unwrap();
    assert_eq!(note.extra["relations"], json!([1]));
    let appt: Appointment =
        serde_json::from_value(json!({"id": "a", "users": ["u"], "isRecurring": true})).unwrap();
    assert_eq!(appt.extra["isRecurring"], true);
    let up: UpsertResult = serde_json::from_value(
        json!({"new": true, "contact": {"id": "c", "z": 1}, "traceId": "t", "w": 2}),
    )
    .unwrap();
    assert!(up.new);
    assert_eq!(up.contact.extra["z"], 1);
    assert_eq!(up.extra["w"], 2);
}

#[test]
fn bulk_tag_answers_read_in_both_documented_shapes() {
    let r: BulkTagsResult = serde_json::from_value(json!({
        "succeded": false, "errorCount": 1,
        "responses": [
            "abc: tags updated",
            {"contactId": "qF", "message": "Tags updated", "type": "success",
             "oldTags": ["tag-1"], "tagsAdded": [], "tagsRemoved": []},
            {"contactId": "abcdef", "message": "contact is deleted", "type": "error"}
        ]
    }))
    .unwrap();
    assert!(matches!(&r.responses[0], BulkTagResponse::Message(m) if m.contains("abc")));
    match &r.responses[2] {
        BulkTagResponse::Detail(d) => assert_eq!(d.outcome.as_deref(), Some("error")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn requests_use_the_spec_names() {
    let bulk = BulkTags {
        contacts: vec!["a".into()],
        tags: vec!["t".into()],
        location_id: Some("L".into()),
        remove_all_tags: Some(false),
    };
    assert_eq!(
        serde_json::to_value(&bulk).unwrap(),
        json!({"contacts": ["a"], "tags": ["t"], "locationId": "L", "removeAllTags": false})
    );
    // businessId is required and nullable: `None` unlinks and must be sent as null.
    let unlink = BulkBusiness {
        location_id: Some("L".into()),
        ids: vec!["a".into()],
        business_id: None,
    };
    assert_eq!(
        serde_json::to_value(&unlink).unwrap(),
        json!({"locationId": "L", "ids": ["a"], "businessId": null})
    );
    let task = CreateTask {
        title: "t".into(),
        due_date: "2030-01-01T00:00:00Z".into(),
        ..CreateTask::default()
    };
    assert_eq!(
        serde_json::to_value(&task).unwrap(),
        json!({"title": "t", "dueDate": "2030-01-01T00:00:00Z", "completed": false})
    );
    assert_eq!(
        serde_json::to_value(UpdateContact::default()).unwrap(),
        json!({})
    );
}
