//! Webhooks emitted by data changes, end to end: changes made through the Contacts API and
//! through the admin API ("the GHL UI") reach a local axum receiver as signed POSTs whose payloads
//! have the keys of GHL's examples (spec/ghl/webhook-events/). Signatures are verified with
//! aws-lc-rs against the public keys the sandbox publishes at `/_sandbox/webhook-keys`
//! (helpers in support/hooks.rs).

mod support;

use reqwest::Method;
use serde_json::json;
use support::hooks::{assert_shape, full_contact, via, Hooks};
use support::id_of;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_changes_emit_signed_webhooks_shaped_like_ghls() {
    let mut h = Hooks::start().await;
    let loc = h.sb.loc.clone();

    // Create: through the API (every field), and in the "UI" with few fields.
    let api = h.sb.create(full_contact(1)).await;
    let api_id = id_of(&api);
    let ev = h.expect(&["ContactCreate"]).await;
    assert_eq!(ev[0]["id"], json!(api_id));
    assert_shape(&ev[0], "ContactCreate", None, &json!({}));
    let ui_body = json!({"firstName": "Uma", "email": "uma.ui@example.org"});
    let ui =
        h.sb.admin(
            Method::POST,
            &format!("/locations/{loc}/contacts"),
            Some(ui_body),
        )
        .await
        .expect(201);
    let ui_id = id_of(&ui["contact"]);
    let ev = h.expect(&["ContactCreate"]).await;
    assert_eq!(ev[0]["id"], json!(ui_id));
    assert_shape(&ev[0], "ContactCreate", None, &h.sb.contact(&ui_id).await);

    // Update.
    h.sb.put(&format!("/contacts/{api_id}"), json!({"city": "Denver"}))
        .await
        .expect(200);
    let ev = h.expect(&["ContactUpdate"]).await;
    assert_eq!(ev[0]["city"], json!("Denver"));
    assert_shape(&ev[0], "ContactUpdate", None, &json!({}));
    h.sb.admin(
        Method::PUT,
        &format!("/contacts/{ui_id}"),
        Some(json!({"lastName": "Ui"})),
    )
    .await
    .expect(200);
    let ev = h.expect(&["ContactUpdate"]).await;
    assert_eq!(ev[0]["lastName"], json!("Ui"));
    assert_shape(&ev[0], "ContactUpdate", None, &h.sb.contact(&ui_id).await);

    // Reads and no-op writes emit nothing.
    let before = h.emitted();
    h.sb.put(
        &format!("/contacts/{api_id}"),
        json!({"city": "Denver", "tags": ["one"]}),
    )
    .await
    .expect(200);
    h.sb.admin(
        Method::PUT,
        &format!("/contacts/{ui_id}"),
        Some(json!({"lastName": "Ui"})),
    )
    .await
    .expect(200);
    h.sb.post(
        &format!("/contacts/{api_id}/tags"),
        json!({"tags": ["ONE"]}),
    )
    .await
    .expect(201);
    h.sb.contact(&api_id).await;
    h.sb.search(json!({"pageLimit": 5})).await.expect(200);
    h.sb.get(&format!("/contacts/{api_id}/tasks"))
        .await
        .expect(200);
    h.sb.get(&format!("/contacts/?locationId={loc}&limit=5"))
        .await
        .expect(200);
    h.sb.get(&format!(
        "/contacts/search/duplicate?locationId={loc}&email=uma.ui%40example.org"
    ))
    .await
    .expect(200);
    h.expect_none(before, "a read or an unchanged write").await;

    // Tags.
    h.sb.post(
        &format!("/contacts/{api_id}/tags"),
        json!({"tags": ["Two"]}),
    )
    .await
    .expect(201);
    let ev = h.expect(&["ContactTagUpdate"]).await;
    assert_eq!(ev[0]["tags"], json!(["one", "two"]));
    assert_shape(&ev[0], "ContactTagUpdate", None, &json!({}));
    h.sb.admin(
        Method::DELETE,
        &format!("/contacts/{api_id}/tags"),
        Some(json!({"tags": ["one"]})),
    )
    .await
    .expect(200);
    let ev = h.expect(&["ContactTagUpdate"]).await;
    assert_eq!(ev[0]["tags"], json!(["two"]));

    // DND: the DND event carries dndSettings; the update event goes with it.
    let dnd = json!({"dnd": true, "dndSettings": {"SMS": {"status": "active", "message": "opted out", "code": "101"}}});
    h.sb.put(&format!("/contacts/{api_id}"), dnd)
        .await
        .expect(200);
    let ev = h.expect(&["ContactDndUpdate", "ContactUpdate"]).await;
    assert_eq!(ev[0]["dnd"], json!(true));
    assert_eq!(ev[0]["dndSettings"]["SMS"]["status"], json!("active"));
    assert_shape(&ev[0], "ContactDndUpdate", None, &json!({}));
    h.sb.admin(
        Method::PUT,
        &format!("/contacts/{ui_id}"),
        Some(json!({"dnd": true})),
    )
    .await
    .expect(200);
    let ev = h.expect(&["ContactDndUpdate", "ContactUpdate"]).await;
    assert!(ev[0]["dndSettings"].is_object());
    assert_shape(
        &ev[0],
        "ContactDndUpdate",
        None,
        &h.sb.contact(&ui_id).await,
    );

    // Delete.
    let last_seen = h.sb.contact(&ui_id).await;
    h.sb.delete(&format!("/contacts/{api_id}"), None)
        .await
        .expect(200);
    let ev = h.expect(&["ContactDelete"]).await;
    assert_eq!(ev[0]["id"], json!(api_id));
    assert_shape(&ev[0], "ContactDelete", None, &json!({}));
    h.sb.admin(Method::DELETE, &format!("/contacts/{ui_id}"), None)
        .await
        .expect(200);
    let ev = h.expect(&["ContactDelete"]).await;
    assert_shape(&ev[0], "ContactDelete", None, &last_seen);
    h.sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_note_and_appointment_changes_emit_signed_webhooks() {
    let mut h = Hooks::start().await;
    let cid = id_of(&h.sb.create(full_contact(2)).await);
    h.expect(&["ContactCreate"]).await;
    let task_body = json!({"title": "Call", "body": "About the deal", "dueDate": "2026-03-01T10:00:00.000Z",
        "completed": false, "assignedTo": "user0000000000000001"});

    // Tasks through the API.
    let task =
        h.sb.post(&format!("/contacts/{cid}/tasks"), task_body.clone())
            .await
            .expect(201)["task"]
            .clone();
    let tid = id_of(&task);
    let ev = h.expect(&["TaskCreate"]).await;
    assert_eq!(
        (ev[0]["id"].clone(), ev[0]["contactId"].clone()),
        (json!(tid), json!(cid))
    );
    assert_shape(&ev[0], "TaskCreate", None, &task);
    let before = h.emitted();
    h.sb.put(
        &format!("/contacts/{cid}/tasks/{tid}"),
        json!({"title": "Call back"}),
    )
    .await
    .expect(200);
    h.expect_none(before, "a task edit other than completion")
        .await;
    h.sb.put(
        &format!("/contacts/{cid}/tasks/{tid}/completed"),
        json!({"completed": true}),
    )
    .await
    .expect(200);
    let ev = h.expect(&["TaskComplete"]).await;
    assert_eq!(ev[0]["title"], json!("Call back"));
    assert_shape(&ev[0], "TaskComplete", None, &task);
    let before = h.emitted();
    h.sb.put(
        &format!("/contacts/{cid}/tasks/{tid}/completed"),
        json!({"completed": true}),
    )
    .await
    .expect(200);
    h.expect_none(before, "completing a completed task").await;
    h.sb.delete(&format!("/contacts/{cid}/tasks/{tid}"), None)
        .await
        .expect(200);
    let ev = h.expect(&["TaskDelete"]).await;
    assert_shape(&ev[0], "TaskDelete", None, &task);

    // Tasks in the UI, with only the required fields.
    let bare = json!({"title": "Bare", "dueDate": "2026-03-02T10:00:00.000Z", "completed": false});
    let task =
        h.sb.admin(Method::POST, &format!("/contacts/{cid}/tasks"), Some(bare))
            .await
            .expect(201)["task"]
            .clone();
    let tid = id_of(&task);
    assert_shape(
        &h.expect(&["TaskCreate"]).await[0],
        "TaskCreate",
        None,
        &task,
    );
    let path = format!("/contacts/{cid}/tasks/{tid}");
    h.sb.admin(Method::PUT, &path, Some(json!({"completed": true})))
        .await
        .expect(200);
    assert_shape(
        &h.expect(&["TaskComplete"]).await[0],
        "TaskComplete",
        None,
        &task,
    );
    h.sb.admin(Method::DELETE, &path, None).await.expect(200);
    assert_shape(
        &h.expect(&["TaskDelete"]).await[0],
        "TaskDelete",
        None,
        &task,
    );

    // Notes, through the API and in the UI.
    for via_admin in [false, true] {
        let note = via(
            &h.sb,
            via_admin,
            Method::POST,
            &format!("/contacts/{cid}/notes"),
            Some(json!({"body": "First"})),
        )
        .await
        .expect(201)["note"]
            .clone();
        let nid = id_of(&note);
        let ev = h.expect(&["NoteCreate"]).await;
        assert_eq!(
            (ev[0]["id"].clone(), ev[0]["body"].clone()),
            (json!(nid), json!("First"))
        );
        assert_shape(&ev[0], "NoteCreate", None, &note);
        via(
            &h.sb,
            via_admin,
            Method::PUT,
            &format!("/contacts/{cid}/notes/{nid}"),
            Some(json!({"body": "Second"})),
        )
        .await
        .expect(200);
        let ev = h.expect(&["NoteUpdate"]).await;
        assert_eq!(ev[0]["body"], json!("Second"));
        assert_shape(&ev[0], "NoteUpdate", None, &note);
        via(
            &h.sb,
            via_admin,
            Method::DELETE,
            &format!("/contacts/{cid}/notes/{nid}"),
            None,
        )
        .await
        .expect(200);
        assert_shape(
            &h.expect(&["NoteDelete"]).await[0],
            "NoteDelete",
            None,
            &note,
        );
    }

    // Appointments exist only through calendars, i.e. the admin API here; payload {appointment: {...}}.
    let appt_body = json!({"title": "Intro", "startTime": "2026-03-05T15:00:00.000Z", "endTime": "2026-03-05T15:30:00.000Z",
        "notes": "Bring the deck", "address": "https://meet.example.org/x", "assignedUserId": "user0000000000000001",
        "users": ["user0000000000000001"]});
    let appt =
        h.sb.admin(
            Method::POST,
            &format!("/contacts/{cid}/appointments"),
            Some(appt_body),
        )
        .await
        .expect(201)["appointment"]
            .clone();
    let aid = id_of(&appt);
    let ev = h.expect(&["AppointmentCreate"]).await;
    assert_eq!(ev[0]["appointment"]["id"], json!(aid));
    assert_eq!(ev[0]["appointment"]["contactId"], json!(cid));
    assert_shape(&ev[0], "AppointmentCreate", None, &json!({}));
    assert_shape(&ev[0], "AppointmentCreate", Some("appointment"), &appt);
    h.sb.admin(
        Method::PUT,
        &format!("/appointments/{aid}"),
        Some(json!({"title": "Intro (moved)"})),
    )
    .await
    .expect(200);
    let ev = h.expect(&["AppointmentUpdate"]).await;
    assert_eq!(ev[0]["appointment"]["title"], json!("Intro (moved)"));
    assert_shape(&ev[0], "AppointmentUpdate", None, &json!({}));
    assert_shape(&ev[0], "AppointmentUpdate", Some("appointment"), &appt);
    h.sb.admin(Method::DELETE, &format!("/appointments/{aid}"), None)
        .await
        .expect(200);
    let ev = h.expect(&["AppointmentDelete"]).await;
    assert_shape(&ev[0], "AppointmentDelete", Some("appointment"), &appt);
    assert_eq!(
        h.sb.get(&format!("/contacts/{cid}/appointments"))
            .await
            .expect(200)["events"],
        json!([])
    );

    // The delivery log agrees: every event delivered once, nothing else.
    let log =
        h.sb.admin(Method::GET, "/webhooks/deliveries", None)
            .await
            .expect(200);
    let log = log["deliveries"].as_array().expect("deliveries").clone();
    assert_eq!(log.len(), h.webhook_ids.len());
    assert!(
        log.iter().all(|d| d["outcome"] == json!("delivered")),
        "{log:?}"
    );
    h.sb.shutdown().await;
}
