//! Notes, tasks and appointments of the "Your App" emulator over real HTTP: create under a
//! contact, list per contact and as a feed, read, partial update with versions and `If-Match`,
//! soft delete with tombstones, validation, and the cascade when their contact is deleted.

mod rest_support;

use reqwest::Method;
use rest_support::{start, Api};
use serde_json::{json, Value};

/// A valid create body and a patch for each kind, with the field the patch changes.
fn samples() -> Vec<(&'static str, Value, Value, &'static str)> {
    vec![
        (
            "notes",
            json!({"body": "Met at the fair."}),
            json!({"body": "Met at the fair, twice."}),
            "body",
        ),
        (
            "tasks",
            json!({"title": "Call", "due_at": "2026-01-02T10:00:00+02:00", "priority": "high"}),
            json!({"completed": true}),
            "completed",
        ),
        (
            "appointments",
            json!({"title": "Demo", "start_at": "2026-01-05T09:00:00Z", "end_at": "2026-01-05T09:30:00Z"}),
            json!({"status": "cancelled"}),
            "status",
        ),
    ]
}

async fn new_contact(api: &Api) -> String {
    api.contact(json!({"first_name": "Parent"})).await["id"]
        .as_str()
        .expect("id")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_tasks_and_appointments_crud() {
    let (sb, api) = start(|c| c.contacts = 0).await;
    let contact = new_contact(&api).await;
    for (plural, body, patch, field) in samples() {
        let created = api
            .post(&format!("/v1/contacts/{contact}/{plural}"), body.clone())
            .await;
        assert_eq!(created.status, 201, "{plural}: {}", created.text);
        let rec = created.json();
        let id = created.id();
        assert_eq!(rec["contact_id"], json!(contact));
        assert_eq!(rec["version"], json!(1));
        assert_eq!(rec["deleted_at"], Value::Null);
        assert!(rec["created_at"].is_string() && rec["updated_at"].is_string());

        let listed = api.all(&format!("/v1/contacts/{contact}/{plural}")).await;
        assert_eq!(listed, vec![rec.clone()], "{plural} per contact");
        let feed = api.all(&format!("/v1/{plural}")).await;
        assert_eq!(feed, vec![rec.clone()], "{plural} feed");
        assert_eq!(api.get(&format!("/v1/{plural}/{id}")).await.json(), rec);

        let stale = api
            .call(
                Method::PATCH,
                &format!("/v1/{plural}/{id}"),
                Some(patch.clone()),
                &[("If-Match", "7")],
            )
            .await;
        assert_eq!(stale.status, 412, "{plural}");
        let patched = api
            .call(
                Method::PATCH,
                &format!("/v1/{plural}/{id}"),
                Some(patch.clone()),
                &[("If-Match", "1")],
            )
            .await;
        assert_eq!(patched.status, 200, "{plural}: {}", patched.text);
        let p = patched.json();
        assert_eq!(p[field], patch[field], "{plural}");
        assert_eq!(p["version"], json!(2));
        let noop = api
            .patch(&format!("/v1/{plural}/{id}"), patch.clone())
            .await
            .json();
        assert_eq!(
            noop["version"],
            json!(2),
            "{plural}: a no-op is not a change"
        );

        assert_eq!(api.delete(&format!("/v1/{plural}/{id}")).await.status, 204);
        assert_eq!(api.get(&format!("/v1/{plural}/{id}")).await.status, 404);
        assert!(api.all(&format!("/v1/{plural}")).await.is_empty());
        let tombs = api.all(&format!("/v1/{plural}?include_deleted=true")).await;
        assert_eq!(tombs.len(), 1);
        assert!(tombs[0]["deleted_at"].is_string());
        assert_eq!(tombs[0]["version"], json!(3));
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_fields_are_normalised_and_validated() {
    let (sb, api) = start(|c| c.contacts = 0).await;
    let contact = new_contact(&api).await;
    let task = api
        .post(
            &format!("/v1/contacts/{contact}/tasks"),
            samples()[1].1.clone(),
        )
        .await
        .json();
    assert_eq!(
        task["due_at"],
        json!("2026-01-02T08:00:00.000Z"),
        "stored in UTC"
    );
    assert_eq!(task["completed"], json!(false));
    assert_eq!(task["priority"], json!("high"));
    let appt = api
        .post(
            &format!("/v1/contacts/{contact}/appointments"),
            samples()[2].1.clone(),
        )
        .await
        .json();
    assert_eq!(appt["status"], json!("confirmed"), "default status");

    let no_title = api
        .post(
            &format!("/v1/contacts/{contact}/tasks"),
            json!({"body": "x"}),
        )
        .await;
    assert_eq!(no_title.status, 422);
    assert_eq!(no_title.fields()["title"], json!("is required"));
    let bad = api
        .post(
            &format!("/v1/contacts/{contact}/tasks"),
            json!({"title": "t", "priority": "urgent", "completed": "yes", "contact_id": contact}),
        )
        .await;
    assert_eq!(bad.status, 422);
    for f in ["priority", "completed", "contact_id"] {
        assert!(bad.fields()[f].is_string(), "{f}: {}", bad.text);
    }
    let backwards = api
        .post(
            &format!("/v1/contacts/{contact}/appointments"),
            json!({"title": "t", "start_at": "2026-01-05T10:00:00Z", "end_at": "2026-01-05T09:00:00Z"}),
        )
        .await;
    assert_eq!(backwards.status, 422);
    assert!(backwards.fields()["end_at"].is_string());
    let empty_note = api
        .post(
            &format!("/v1/contacts/{contact}/notes"),
            json!({"body": " "}),
        )
        .await;
    assert_eq!(empty_note.status, 422);
    let cleared = api
        .patch(
            &format!("/v1/appointments/{}", appt["id"].as_str().expect("id")),
            json!({"start_at": null}),
        )
        .await;
    assert_eq!(cleared.status, 422, "a required time cannot be cleared");
    let note_feed = api.get("/v1/notes?email=a@b.co").await;
    assert_eq!(note_feed.status, 400, "email filters contacts only");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_need_a_live_contact_and_follow_its_delete() {
    let (sb, api) = start(|c| c.contacts = 0).await;
    for plural in ["notes", "tasks", "appointments"] {
        let r = api
            .post(&format!("/v1/contacts/con_missing/{plural}"), json!({}))
            .await;
        assert_eq!(r.status, 404, "{plural}: {}", r.text);
        assert_eq!(
            api.get(&format!("/v1/contacts/con_missing/{plural}"))
                .await
                .status,
            404
        );
    }
    let contact = new_contact(&api).await;
    let other = new_contact(&api).await;
    for (plural, body, _, _) in samples() {
        for c in [&contact, &other] {
            let r = api
                .post(&format!("/v1/contacts/{c}/{plural}"), body.clone())
                .await;
            assert_eq!(r.status, 201);
        }
    }
    assert_eq!(
        api.delete(&format!("/v1/contacts/{contact}")).await.status,
        204
    );
    for plural in ["notes", "tasks", "appointments"] {
        let live = api.all(&format!("/v1/{plural}")).await;
        assert_eq!(live.len(), 1, "{plural}: only the other contact's remain");
        assert_eq!(live[0]["contact_id"], json!(other));
        let tombs = api.all(&format!("/v1/{plural}?include_deleted=true")).await;
        let dead: Vec<&Value> = tombs
            .iter()
            .filter(|t| t["deleted_at"].is_string())
            .collect();
        assert_eq!(dead.len(), 1, "{plural}");
        assert_eq!(dead[0]["contact_id"], json!(contact));
        assert_eq!(
            api.get(&format!("/v1/contacts/{contact}/{plural}"))
                .await
                .status,
            404
        );
        let create = api
            .post(
                &format!("/v1/contacts/{contact}/{plural}"),
                samples()[0].1.clone(),
            )
            .await;
        assert_eq!(create.status, 404);
    }
    let admin = api
        .admin(Method::GET, &format!("/contacts/{contact}"), None)
        .await
        .json();
    for plural in ["notes", "tasks", "appointments"] {
        assert_eq!(
            admin[plural].as_array().map(Vec::len),
            Some(1),
            "{plural} in {admin}"
        );
    }
    sb.shutdown().await;
}
