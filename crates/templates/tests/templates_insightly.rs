//! The Insightly contact and activity templates end to end: each project exactly as shipped,
//! against the GHL sandbox and the Insightly emulator over real HTTP. Insightly has no
//! webhooks: its changes are found by polling, and the tests move its virtual clock instead of
//! sleeping (it stamps records to the second).

mod support;

use connectors::EntityKind;
use reqwest::Method;
use serde_json::{json, Value};
use support::insightly::contact_link;

/// A time as instants compare, whatever its format (`2030-04-05 16:00:00`, RFC 3339).
fn instant(v: &Value) -> chrono::DateTime<chrono::Utc> {
    let s = v.as_str().unwrap_or_else(|| panic!("a time, not {v}"));
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").map(|t| t.and_utc())
        })
        .unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    instant(&json!(s))
}

/// The Insightly twin of a GHL contact, through the API.
async fn ins_twin(fx: &support::Fx, ghl_id: &str) -> i64 {
    fx.twin("ghl", EntityKind::Contact, ghl_id, "insightly")
        .await
        .unwrap_or_else(|| panic!("{ghl_id} paired in Insightly"))
        .parse()
        .expect("an Insightly id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insightly_contacts_to_ghl_creates_and_updates_by_polling() {
    // Three contacts in Insightly before the project starts.
    let mut fx = support::start("insightly-contacts-to-ghl", support::Insightly, 0, 3).await;
    fx.fast_retries();
    let seeded = fx.ins_contacts().await;
    assert_eq!(seeded.len(), 3);
    // Grace is in GHL already, under the email a person adds in Insightly now.
    let ghl_grace = fx
        .ghl_contact(
            json!({"firstName": "Grace", "email": "grace@example.com", "city": "Arlington"}),
        )
        .await;
    let grace = fx
        .ins_create(
            "Contacts",
            json!({"FIRST_NAME": "Grace", "LAST_NAME": "Hopper", "EMAIL_ADDRESS": "Grace@Example.com",
                   "PHONE": "(703) 555-0142", "ADDRESS_MAIL_CITY": "Arlington",
                   "TAGS": [{"TAG_NAME": "Navy"}, {"TAG_NAME": "COBOL"}]}),
        )
        .await;
    fx.pass_settled().await;

    // Every Insightly contact has its GHL contact; Grace was updated, not duplicated.
    for c in &seeded {
        let email = c["EMAIL_ADDRESS"].as_str().expect("seeded email");
        let id = c["CONTACT_ID"].as_i64().expect("id").to_string();
        let g = fx
            .twin("insightly", EntityKind::Contact, &id, "ghl")
            .await
            .unwrap_or_else(|| panic!("{email} reached GHL"));
        let g = fx.ghl_view(&g).await["contact"].clone();
        assert_eq!(g["email"], email.to_lowercase());
        assert_eq!(g["firstName"], c["FIRST_NAME"]);
        assert_eq!(g["source"], "Insightly");
    }
    assert_eq!(
        fx.twin("insightly", EntityKind::Contact, &grace.to_string(), "ghl")
            .await
            .as_deref(),
        Some(ghl_grace.as_str())
    );
    let g = fx.ghl_view(&ghl_grace).await["contact"].clone();
    assert_eq!(
        (
            &g["lastName"],
            &g["email"],
            &g["phone"],
            &g["city"],
            &g["tags"]
        ),
        (
            &json!("Hopper"),
            &json!("grace@example.com"),
            &json!("+17035550142"),
            &json!("Arlington"),
            &json!(["navy", "cobol"])
        ),
        "{g}"
    );
    assert_eq!(
        fx.ghl.state.store.read().contacts.len(),
        4,
        "nobody twice in GHL"
    );

    // A person changes Grace in Insightly: the next poll brings it to GHL.
    fx.ins_edit(
        "Contacts",
        grace,
        json!({"ADDRESS_MAIL_CITY": "Washington", "LAST_NAME": "Hopper-Murray"}),
    )
    .await;
    fx.pass_settled().await;
    let g = fx.ghl_view(&ghl_grace).await["contact"].clone();
    assert_eq!(
        (&g["city"], &g["lastName"]),
        (&json!("Washington"), &json!("Hopper-Murray"))
    );

    // Settled: nothing is written again.
    let before = fx.writes().await;
    fx.pass_settled().await;
    fx.pass_settled().await;
    assert_eq!(fx.writes().await, before, "the next passes write nothing");
    fx.assert_queue_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insightly_tasks_notes_mirror_both_ways_with_status() {
    let mut fx = support::start("insightly-tasks-notes", support::Insightly, 0, 0).await;
    fx.fast_retries();
    // In GHL, Ada with a task and a note; in Insightly, Ivy with a task and a note.
    let ada = fx
        .ghl_contact(
            json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"}),
        )
        .await;
    let ghl_task = fx
        .ghl_admin(
            Method::POST,
            &format!("/contacts/{ada}/tasks"),
            json!({"title": "Send the contract", "body": "Two copies",
                   "dueDate": "2030-04-05T16:00:00Z"}),
        )
        .await["task"]["id"]
        .as_str()
        .expect("task id")
        .to_string();
    let ghl_note = fx
        .ghl_admin(
            Method::POST,
            &format!("/contacts/{ada}/notes"),
            json!({"body": "Wants a call on Friday."}),
        )
        .await["note"]["id"]
        .as_str()
        .expect("note id")
        .to_string();
    let ivy = fx
        .ins_create(
            "Contacts",
            json!({"FIRST_NAME": "Ivy", "LAST_NAME": "Insight", "EMAIL_ADDRESS": "ivy@example.com"}),
        )
        .await;
    let ins_task = fx
        .ins_create(
            "Tasks",
            json!({"TITLE": "Prepare the renewal", "DETAILS": "Two more seats",
                   "DUE_DATE": "2030-05-06 10:00:00", "COMPLETED": false,
                   "STATUS": "NOT STARTED", "LINKS": contact_link(ivy)}),
        )
        .await;
    let ins_note = fx
        .ins_create(
            "Notes",
            json!({"TITLE": "Renewal", "BODY": "Budget approved.", "LINKS": contact_link(ivy)}),
        )
        .await;
    fx.deliver(&["ContactCreate", "TaskCreate", "NoteCreate"])
        .await;
    fx.pass_settled().await;
    fx.pass_settled().await;

    // GHL → Insightly.
    let ins_ada = ins_twin(&fx, &ada).await;
    let tasks = fx.ins_get(&format!("/Contacts/{ins_ada}/Tasks")).await;
    let t = &tasks[0];
    assert_eq!(tasks.as_array().map(Vec::len), Some(1), "{tasks}");
    assert_eq!(
        (&t["TITLE"], &t["DETAILS"], &t["COMPLETED"], &t["STATUS"]),
        (
            &json!("Send the contract"),
            &json!("Two copies"),
            &json!(false),
            &json!("NOT STARTED")
        )
    );
    assert_eq!(instant(&t["DUE_DATE"]), at("2030-04-05T16:00:00Z"));
    let notes = fx.ins_get(&format!("/Contacts/{ins_ada}/Notes")).await;
    assert_eq!(notes[0]["BODY"], "Wants a call on Friday.", "{notes}");
    // Insightly → GHL.
    let ghl_ivy = fx
        .twin("insightly", EntityKind::Contact, &ivy.to_string(), "ghl")
        .await
        .expect("Ivy paired in GHL");
    let v = fx.ghl_view(&ghl_ivy).await;
    assert_eq!(v["tasks"].as_array().map(Vec::len), Some(1), "{v}");
    let gt = &v["tasks"][0];
    assert_eq!(
        (&gt["title"], &gt["body"], &gt["completed"]),
        (
            &json!("Prepare the renewal"),
            &json!("Two more seats"),
            &json!(false)
        )
    );
    assert_eq!(instant(&gt["dueDate"]), at("2030-05-06T10:00:00Z"));
    assert_eq!(v["notes"][0]["body"], "Budget approved.");
    let ghl_ivy_task = gt["id"].as_str().expect("id").to_string();

    // Completed in GHL → COMPLETED and STATUS in Insightly, within one webhook.
    fx.ghl_admin(
        Method::PUT,
        &format!("/contacts/{ada}/tasks/{ghl_task}"),
        json!({"completed": true}),
    )
    .await;
    fx.deliver(&["TaskComplete"]).await;
    fx.settle().await;
    let t = fx.ins_get(&format!("/Contacts/{ins_ada}/Tasks")).await[0].clone();
    assert_eq!(
        (&t["COMPLETED"], &t["STATUS"]),
        (&json!(true), &json!("COMPLETED"))
    );
    // Completed by a person in Insightly → completed in GHL at the next poll.
    fx.ins_edit(
        "Tasks",
        ins_task,
        json!({"COMPLETED": true, "STATUS": "COMPLETED"}),
    )
    .await;
    fx.pass_settled().await;
    let v = fx.ghl_view(&ghl_ivy).await;
    assert_eq!(v["tasks"][0]["completed"], true, "{v}");
    // Reopened in GHL (no webhook for that): the next full comparison reopens it in Insightly.
    fx.ghl_admin(
        Method::PUT,
        &format!("/contacts/{ghl_ivy}/tasks/{ghl_ivy_task}"),
        json!({"completed": false}),
    )
    .await;
    fx.drain().await;
    fx.pass_settled().await;
    let t = fx.ins_get(&format!("/Tasks/{ins_task}")).await;
    assert_eq!(
        (&t["COMPLETED"], &t["STATUS"]),
        (&json!(false), &json!("NOT STARTED"))
    );
    // A note edited in Insightly follows to GHL.
    fx.ins_edit(
        "Notes",
        ins_note,
        json!({"BODY": "Budget approved for three seats."}),
    )
    .await;
    fx.pass_settled().await;
    assert_eq!(
        fx.ghl_view(&ghl_ivy).await["notes"][0]["body"],
        "Budget approved for three seats."
    );

    // Settled: nothing goes back and forth.
    fx.pass_settled().await;
    let before = fx.writes().await;
    fx.pass_settled().await;
    fx.pass_settled().await;
    assert_eq!(fx.writes().await, before, "the next passes write nothing");

    // A note deleted in GHL is deleted in Insightly.
    fx.ghl_admin(
        Method::DELETE,
        &format!("/contacts/{ada}/notes/{ghl_note}"),
        json!({}),
    )
    .await;
    fx.deliver(&["NoteDelete"]).await;
    fx.settle().await;
    let notes = fx.ins_get(&format!("/Contacts/{ins_ada}/Notes")).await;
    assert_eq!(notes.as_array().map(Vec::len), Some(0), "{notes}");
    fx.assert_queue_clean().await;
}
