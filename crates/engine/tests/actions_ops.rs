//! Actions against the apps over real HTTP: upsert from GHL into Your App (with links, and
//! further steps on the linked contact), tags, notes, updates and task completion on GHL, a
//! task-triggered flow with a filter, and `fetch_related` feeding templates.

mod actions_support;

use actions_support::{hint, world};
use connectors::{EntityKind, MatchKey, Record};
use engine::store::ChangeOp;
use serde_json::{json, Map};

const TO_CRM: &str = r#"
name: Contacts to CRM
trigger: ghl.contact.changed
filter: {field: email, exists: true}
actions:
  - upsert:
      connection: crm
      match: [email]
      mapping:
        - {to: first_name, from: first_name}
        - {to: last_name, from: last_name}
        - {to: email, from: email, transform: normalize_email}
        - {to: city, from: city}
  - add_tags: {connection: crm, tags: [client, from-ghl]}
  - update: {connection: crm, set: {company_name: "{{ first_name }}'s company"}}
"#;

async fn crm_by_email(w: &actions_support::World, email: &str) -> Option<Record> {
    w.connectors["crm"]
        .find(EntityKind::Contact, &MatchKey::Email(email.into()))
        .await
        .expect("crm lookup")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upsert_creates_then_updates_the_linked_contact_in_your_app() {
    let w = world(&[("to-crm.yaml", TO_CRM)]).await;
    let gil = w.ghl_contact(json!({
        "firstName": "Gil", "lastName": "Scott", "email": "Gil@Example.com", "city": "Oslo"
    }));
    w.hint(
        "ghl",
        hint(EntityKind::Contact, &gil, None, "ContactCreate", "wh-1"),
    )
    .await;
    assert_eq!(w.run().await, 1);
    let crm = crm_by_email(&w, "gil@example.com")
        .await
        .expect("created in the CRM");
    assert_eq!(crm.fields["first_name"], "Gil");
    assert_eq!(crm.fields["city"], "Oslo");
    assert_eq!(crm.fields["tags"], json!(["client", "from-ghl"]));
    assert_eq!(crm.fields["company_name"], "Gil's company");
    // Linked like a sync links: one identity for both records.
    let a = w
        .store()
        .find_link("ghl", "contact", &gil)
        .await
        .expect("link");
    let b = w
        .store()
        .find_link("crm", "contact", &crm.id)
        .await
        .expect("link");
    assert_eq!(
        a.map(|l| l.identity_id),
        b.map(|l| l.identity_id),
        "linked to one identity"
    );

    // A change in GHL updates the same CRM contact, only the field that changed.
    let mut city = Map::new();
    city.insert("city".into(), json!("Lisbon"));
    w.ghl
        .state
        .update_contact(&gil, &city, false)
        .expect("GHL edit");
    w.hint(
        "ghl",
        hint(EntityKind::Contact, &gil, None, "ContactUpdate", "wh-2"),
    )
    .await;
    assert_eq!(w.run().await, 1);
    assert_eq!(w.crm_contacts().await.len(), 1, "no second CRM contact");
    let crm = crm_by_email(&w, "gil@example.com")
        .await
        .expect("still there");
    assert_eq!(crm.fields["city"], "Lisbon");
    let changes = w.changes("Contacts to CRM").await;
    let last = changes.last().expect("audited");
    assert_eq!(
        (last.change.connection_id.as_str(), last.change.op),
        ("crm", ChangeOp::Update)
    );
    let fields: Vec<&str> = last.change.diff.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(fields, ["city"]);

    // Nothing changed: nothing written.
    let n = changes.len();
    w.hint(
        "ghl",
        hint(EntityKind::Contact, &gil, None, "ContactUpdate", "wh-3"),
    )
    .await;
    assert_eq!(w.run().await, 1);
    assert_eq!(w.changes("Contacts to CRM").await.len(), n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upsert_matches_an_existing_contact_by_email() {
    let w = world(&[("to-crm.yaml", TO_CRM)]).await;
    let mut fields = Map::new();
    fields.insert("first_name".into(), json!("Grace"));
    fields.insert("email".into(), json!("grace@example.com"));
    fields.insert("city".into(), json!("Paris"));
    let existing = w.connectors["crm"]
        .create(EntityKind::Contact, None, &fields, "seed-grace")
        .await
        .expect("seed CRM contact");
    let grace = w.ghl_contact(json!({
        "firstName": "Grace", "email": "GRACE@example.com", "city": "Rome"
    }));
    w.hint(
        "ghl",
        hint(EntityKind::Contact, &grace, None, "ContactCreate", "wh-g"),
    )
    .await;
    assert_eq!(w.run().await, 1);
    let contacts = w.crm_contacts().await;
    assert_eq!(contacts.len(), 1, "{contacts:?}");
    let now = crm_by_email(&w, "grace@example.com").await.expect("found");
    assert_eq!(now.id, existing.id);
    assert_eq!(now.fields["city"], "Rome");
}

const QUALIFY: &str = r#"
name: Qualify
trigger: ghl.contact.updated
filter: {field: tags, contains: qualified}
actions:
  - complete_task: {title: Qualify lead}
  - remove_tags: [lead]
  - add_tags: [customer, "{{ city | lower }}"]
  - add_note: "{{ first_name }} qualified."
  - update: {set: {source: ghl-bridge}}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_note_update_and_completing_tasks_by_title_on_ghl() {
    let w = world(&[("qualify.yaml", QUALIFY)]).await;
    let eve = w.ghl_contact(json!({
        "firstName": "Eve", "email": "eve@example.com", "city": "Paris", "tags": ["lead"]
    }));
    let qualify = w.ghl_task(
        &eve,
        json!({"title": "Qualify lead", "dueDate": "2030-01-01T00:00:00Z"}),
    );
    let call = w.ghl_task(
        &eve,
        json!({"title": "Call back", "dueDate": "2030-01-02T00:00:00Z"}),
    );
    // A person tags her `qualified` in GHL: a ContactTagUpdate webhook.
    w.ghl
        .state
        .change_tags(&eve, &[json!("qualified")], true)
        .expect("tagged");
    w.hint(
        "ghl",
        hint(EntityKind::Contact, &eve, None, "ContactTagUpdate", "wh-1"),
    )
    .await;
    assert_eq!(w.run().await, 1);
    let tasks = w.ghl_tasks(&eve);
    let done = |id: &str| tasks.iter().find(|t| t.id == id).map(|t| t.completed);
    assert_eq!(done(&qualify), Some(true));
    assert_eq!(done(&call), Some(false));
    let mut tags = w.ghl_tags(&eve);
    tags.sort();
    assert_eq!(tags, ["customer", "paris", "qualified"]);
    let notes = w.ghl_notes(&eve);
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].body, "Eve qualified.");
    let source = w.ghl.state.store.read().contacts[&eve].source.clone();
    assert_eq!(source.as_deref(), Some("ghl-bridge"));
    let kinds: Vec<(String, ChangeOp)> = w
        .changes("Qualify")
        .await
        .iter()
        .map(|c| (c.change.kind.clone(), c.change.op))
        .collect();
    assert_eq!(
        kinds,
        [
            ("task".to_string(), ChangeOp::Update),
            ("contact".to_string(), ChangeOp::Update),
            ("contact".to_string(), ChangeOp::Update),
            ("note".to_string(), ChangeOp::Create),
            ("contact".to_string(), ChangeOp::Update),
        ]
    );

    // The flow's own writes come back as contact updates: it runs again, writes nothing.
    let writes = w.ghl_writes().await;
    w.hint(
        "ghl",
        hint(EntityKind::Contact, &eve, None, "ContactUpdate", "wh-2"),
    )
    .await;
    assert_eq!(w.run().await, 1);
    assert_eq!(w.ghl_writes().await, writes);
    assert_eq!(w.ghl_notes(&eve).len(), 1);
}

const AUTO_CLOSE: &str = r#"
name: Auto-close
trigger: ghl.task.created
filter: {field: title, contains: "[auto]"}
actions:
  - complete_task: {}
  - add_note: "Closed {{ title }}"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_flow_completes_its_task_and_skips_what_the_filter_rejects() {
    let w = world(&[("auto-close.yaml", AUTO_CLOSE)]).await;
    let ivy = w.ghl_contact(json!({"firstName": "Ivy", "email": "ivy@example.com"}));
    let auto = w.ghl_task(
        &ivy,
        json!({"title": "[auto] ping", "dueDate": "2030-01-01T00:00:00Z"}),
    );
    let manual = w.ghl_task(
        &ivy,
        json!({"title": "Manual follow-up", "dueDate": "2030-01-01T00:00:00Z"}),
    );
    for (id, key) in [(&auto, "wh-t1"), (&manual, "wh-t2")] {
        let jobs = w
            .hint(
                "ghl",
                hint(EntityKind::Task, id, Some(&ivy), "TaskCreate", key),
            )
            .await;
        assert_eq!(jobs, 1);
    }
    assert_eq!(w.run().await, 2);
    let tasks = w.ghl_tasks(&ivy);
    let done = |id: &str| tasks.iter().find(|t| t.id == id).map(|t| t.completed);
    assert_eq!(done(&auto), Some(true));
    assert_eq!(done(&manual), Some(false), "filtered out");
    let notes: Vec<String> = w.ghl_notes(&ivy).into_iter().map(|n| n.body).collect();
    assert_eq!(notes, ["Closed [auto] ping"]);
    // Its completion (TaskComplete) does not start a `created` flow.
    assert_eq!(
        w.hint(
            "ghl",
            hint(EntityKind::Task, &auto, Some(&ivy), "TaskComplete", "wh-t3")
        )
        .await,
        0
    );
}

const SUMMARY: &str = r#"
name: Summary
trigger: ghl.contact.updated
actions:
  - fetch_related: {kind: task, as: tasks}
  - add_note: "{{ first_name }}: {{ tasks | rejectattr('completed') | list | length }} open ({{ tasks | rejectattr('completed') | map(attribute='title') | join(', ') }})"
  - create_related:
      kind: task
      items:
        - {title: "Review {{ tasks | length }} tasks", due: +1d}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetched_related_records_feed_later_templates() {
    let w = world(&[("summary.yaml", SUMMARY)]).await;
    let fay = w.ghl_contact(json!({"firstName": "Fay", "email": "fay@example.com"}));
    for (title, completed) in [("Send quote", false), ("Intro call", true), ("Demo", false)] {
        w.ghl_task(
            &fay,
            json!({"title": title, "dueDate": "2030-01-01T00:00:00Z", "completed": completed}),
        );
    }
    w.hint(
        "ghl",
        hint(EntityKind::Contact, &fay, None, "ContactUpdate", "wh-1"),
    )
    .await;
    assert_eq!(w.run().await, 1);
    let notes: Vec<String> = w.ghl_notes(&fay).into_iter().map(|n| n.body).collect();
    assert_eq!(notes, ["Fay: 2 open (Send quote, Demo)"]);
    let titles: Vec<String> = w.ghl_tasks(&fay).into_iter().map(|t| t.title).collect();
    assert_eq!(
        titles,
        ["Send quote", "Intro call", "Demo", "Review 3 tasks"]
    );
}
