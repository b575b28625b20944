//! Insightly and SalesNexus: apps without webhooks, so their triggers are the scheduler's polls
//! (a poll sees that a record changed, not whether it is new: `changed` only), and their actions
//! are the record actions through their connectors.

use connectors::EntityKind::{self, Appointment, Contact, Note, Task};

use crate::ghl::{action, fetched, inputs as i, trigger};
use crate::Entry;

/// Apps whose triggers are polls.
pub const APPS: [&str; 2] = ["insightly", "salesnexus"];

fn s(text: &str, app: &str) -> String {
    text.replace("APP", app)
}

/// The entries of both polled apps.
pub(crate) fn entries() -> Vec<Entry> {
    let mut v = Vec::new();
    for app in APPS {
        let kinds: &[(EntityKind, &str)] = match app {
            "insightly" => &[
                (Contact, "contact"),
                (Task, "task"),
                (Note, "note"),
                (Appointment, "appointment"),
            ],
            _ => &[(Contact, "contact"), (Task, "task"), (Note, "note")],
        };
        for (kind, k) in kinds {
            let tag = if *k == "contact" {
                "seen-by-bridge".to_string()
            } else {
                format!("{k}-activity")
            };
            v.push(trigger(
                app,
                &format!("{k}_changed"),
                *kind,
                &format!("{k} created or updated"),
                &format!("A {k} is created or changes, found by the scheduler's poll of the app's changed records (every poll interval; the app sends no webhooks). Polling starts counting when the flow is first seen."),
                &s(&format!("name: APP {k} changed\ntrigger: APP.{k}.changed\nactions:\n  - add_tags: [{tag}]\n"), app),
            ));
        }
        v.extend(actions(app));
    }
    v
}

fn actions(app: &'static str) -> Vec<Entry> {
    let a = |key: &str, title: &str, description: &str, inputs, outputs, snippet: &str| {
        action(
            app,
            key,
            title,
            description,
            inputs,
            outputs,
            &s(snippet, app),
        )
    };
    vec![
        a("upsert_contact", "upsert contact", "Creates or updates the app's contact matching the triggering record (by link, then email), and links both.", i::upsert(), vec![], r#"
name: GHL contacts into APP
trigger: ghl.contact.changed
filter: {field: email, exists: true}
actions:
  - upsert:
      connection: APP
      match: [email]
      mapping:
        - {to: first_name, from: first_name}
        - {to: last_name, from: last_name}
        - {to: email, from: email, transform: normalize_email}
"#),
        a("upsert_task", "upsert task", "Creates or updates the app's task linked to the triggering task, under the contact linked to its contact.", i::upsert(), vec![], r#"
name: GHL tasks into APP
trigger: ghl.task.created
actions:
  - upsert: {connection: APP, kind: task}
"#),
        a("update_contact", "update contact", "Sets fields on the triggering contact (or the contact linked to the triggering record); writes only what differs.", i::update(), vec![], r#"
name: Stamp APP contacts
trigger: APP.contact.changed
actions:
  - update: {set: {city: "{{ city | default('Unknown', true) }}"}}
"#),
        a("create_tasks", "create tasks", "Creates tasks under the triggering contact, each once per contact.", i::create_related(), vec![], r#"
name: APP onboarding tasks
trigger: APP.contact.changed
actions:
  - create_related:
      kind: task
      items:
        - {title: "Welcome call with {{ first_name }}", due: +1d}
"#),
        a("add_note", "add note", "Adds a note to the contact, once per text.", i::add_note(), vec![], r#"
name: APP contact note
trigger: APP.contact.changed
actions:
  - add_note: "Seen by ghl-bridge: {{ first_name }} {{ last_name }}"
"#),
        a("complete_task_by_title", "complete task by title", "Completes the contact's open tasks with a title.", i::complete(true), vec![], r#"
name: Close the APP welcome call
trigger: APP.contact.changed
filter: {field: tags, contains: onboarded}
actions:
  - complete_task: {title: "Welcome call"}
"#),
        a("add_tags", "add tags", "Adds tags to the contact.", i::tags(), vec![], r#"
name: Tag APP prospects
trigger: APP.contact.changed
actions:
  - add_tags: [prospect]
"#),
        a("remove_tags", "remove tags", "Removes tags from the contact.", i::tags(), vec![], r#"
name: Untag APP customers
trigger: APP.contact.changed
filter: {field: tags, contains: customer}
actions:
  - remove_tags: [prospect]
"#),
        a("fetch_tasks", "fetch tasks", "Loads the contact's tasks for later templates.", i::fetch("task"), fetched("tasks", "task"), r#"
name: Summarise APP open tasks
trigger: APP.contact.changed
actions:
  - fetch_related: {kind: task}
  - add_note: "Open tasks: {{ tasks | rejectattr('completed') | map(attribute='title') | join(', ') }}"
"#),
        a("fetch_notes", "fetch notes", "Loads the contact's notes for later templates.", i::fetch("note"), fetched("notes", "note"), r#"
name: Count APP notes
trigger: APP.contact.changed
actions:
  - fetch_related: {kind: note}
  - add_tags: ["notes-{{ notes | length }}"]
"#),
    ]
}
