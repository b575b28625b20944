//! Your App, InvestNext and Invoco: apps of the generic REST contract (InvestNext and Invoco are
//! profiles of it), so each offers the same triggers (its signed webhooks, and polls of
//! `updated_since` for `changed`) and actions. Snippets are written once with `APP` for the app.

use connectors::EntityKind::{self, Appointment, Contact, Note, Task};

use crate::ghl::{action, fetched, inputs as i, trigger};
use crate::{field, Entry};

/// The REST apps, by short name.
pub const APPS: [&str; 3] = ["your_app", "investnext", "invoco"];

fn s(text: &str, app: &str) -> String {
    text.replace("APP", app)
}

fn hook(app: &str, event: &str) -> String {
    format!(
        "Starts on the app's signed `{event}` webhook (HMAC-checked, de-duplicated); the flow re-reads the record. Connection `{app}` needs `webhook_secret`."
    )
}

/// The entries of one REST app.
pub(crate) fn entries(app: &'static str) -> Vec<Entry> {
    let mut v = Vec::new();
    let kinds: [(EntityKind, &str); 4] = [
        (Contact, "contact"),
        (Task, "task"),
        (Note, "note"),
        (Appointment, "appointment"),
    ];
    for (kind, k) in kinds {
        let effect = |tag: &str| format!("actions:\n  - add_tags: [{tag}]\n");
        for (event, what) in [
            ("created", "created"),
            ("updated", "updated"),
            ("deleted", "deleted"),
            ("changed", "created or updated"),
        ] {
            let (actions, description) = match (k, event) {
                ("contact", "deleted") => (
                    "actions:\n  - add_tags: {connection: ghl, tags: [deleted-in-APP]}\n".to_string(),
                    format!("{} The flow sees the contact as last synced; actions reach its linked records in other apps.", hook(app, "contact.deleted")),
                ),
                ("contact", "changed") => (
                    effect("seen-by-bridge"),
                    format!("A contact is created or changes: from webhooks, and from the scheduler's polls of `updated_since` (a dropped webhook still starts the flow). {}", "Polling starts counting when the flow is first seen."),
                ),
                ("contact", _) => (effect(&format!("contact-{event}")), hook(app, &format!("contact.{event}"))),
                (_, "changed") => (
                    effect(&format!("{k}-activity")),
                    format!("A {k} is created or changes: from webhooks and from polls of `updated_since`."),
                ),
                (_, _) => (
                    effect(&format!("{k}-{event}")),
                    format!("{} Actions on \"the contact\" act on the {k}'s contact.", hook(app, &format!("{k}.{event}"))),
                ),
            };
            let snippet = format!("name: APP {k} {event}\ntrigger: APP.{k}.{event}\n{actions}");
            v.push(trigger(
                app,
                &format!("{k}_{event}"),
                kind,
                &format!("{k} {what}"),
                &description,
                &s(&snippet, app),
            ));
        }
    }
    v.extend(actions(app));
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
    let mut v = vec![
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
        - {to: phone, from: phone, transform: normalize_phone}
"#),
        a("upsert_task", "upsert task", "Creates or updates the app's task linked to the triggering task, under the contact linked to its contact.", i::upsert(), vec![], r#"
name: GHL tasks into APP
trigger: ghl.task.created
actions:
  - upsert: {connection: APP, kind: task}
"#),
        a("upsert_note", "upsert note", "Creates or updates the app's note linked to the triggering note, under the contact linked to its contact.", i::upsert(), vec![], r#"
name: GHL notes into APP
trigger: ghl.note.created
actions:
  - upsert:
      connection: APP
      mapping:
        - {to: body, from: body}
"#),
        a("upsert_appointment", "upsert appointment", "Creates or updates the app's appointment linked to the triggering appointment, under the contact linked to its contact.", i::upsert(), vec![], r#"
name: GHL appointments into APP
trigger: ghl.appointment.created
actions:
  - upsert:
      connection: APP
      mapping:
        - {to: title, from: title}
        - {to: start_at, from: start_at}
        - {to: end_at, from: end_at}
        - {to: notes, from: notes}
"#),
    ];
    for (kind, set) in [
        ("contact", "company_name: \"{{ first_name }}'s company\""),
        ("task", "body: \"Checked by ghl-bridge\""),
        ("note", "body: \"{{ body }} (reviewed)\""),
        ("appointment", "notes: Confirmed by ghl-bridge"),
    ] {
        v.push(a(
            &format!("update_{kind}"),
            &format!("update {kind}"),
            &format!("Sets fields on the triggering {kind} (or the {kind} linked to the triggering record, with `connection: APP`); writes only what differs, with the version it read.").replace("APP", app),
            i::update(),
            vec![],
            &format!("\nname: Update APP {kind}s\ntrigger: APP.{kind}.created\nactions:\n  - update: {{set: {{{set}}}}}\n"),
        ));
    }
    v.extend([
        a("create_tasks", "create tasks", "Creates tasks under the triggering contact, each once per contact.", i::create_related(), vec![], r#"
name: APP onboarding tasks
trigger: APP.contact.created
actions:
  - create_related:
      kind: task
      items:
        - {title: "Welcome call with {{ first_name }}", due: +1d}
"#),
        a("create_notes", "create notes", "Creates notes under the triggering contact, each once per contact.", i::create_related(), vec![], r#"
name: APP onboarding note
trigger: APP.contact.created
actions:
  - create_related:
      kind: note
      items:
        - {body: "Onboarding checklist for {{ first_name }}"}
"#),
        a("create_appointments", "create appointment", "Books appointments for the triggering contact, each once per contact.", i::create_related(), vec![], r#"
name: APP kickoff meeting
trigger: APP.contact.created
actions:
  - create_related:
      kind: appointment
      items:
        - {title: "Kickoff with {{ first_name }}", start_at: "2030-01-07T10:00:00Z", end_at: "2030-01-07T10:30:00Z"}
"#),
        a("add_note", "add note", "Adds a note to the contact, once per text.", i::add_note(), vec![], r#"
name: APP update note
trigger: APP.contact.updated
actions:
  - add_note: "Updated: {{ first_name }} {{ last_name }} <{{ email }}>"
"#),
        a("complete_task", "complete task", "Completes the triggering task.", i::complete(false), vec![], r#"
name: Auto-close APP reminder tasks
trigger: APP.task.created
filter: {field: title, contains: "[auto-close]"}
actions:
  - complete_task: {}
"#),
        a("complete_task_by_title", "complete task by title", "Completes the contact's open tasks with a title.", i::complete(true), vec![], r#"
name: Close the APP welcome call
trigger: APP.contact.updated
filter: {field: tags, contains: onboarded}
actions:
  - complete_task: {title: "Welcome call"}
"#),
        a("add_tags", "add tags", "Adds tags to the contact, one at a time through the app's tags endpoint.", i::tags(), vec![], r#"
name: Tag APP prospects
trigger: APP.contact.changed
filter: {field: email, exists: true}
actions:
  - add_tags: [prospect]
"#),
        a("remove_tags", "remove tags", "Removes tags from the contact, one at a time.", i::tags(), vec![], r#"
name: Untag APP customers
trigger: APP.contact.changed
filter: {field: tags, contains: customer}
actions:
  - remove_tags: [prospect]
"#),
        a("fetch_tasks", "fetch tasks", "Loads the contact's tasks for later templates.", i::fetch("task"), fetched("tasks", "task"), r#"
name: Summarise APP open tasks
trigger: APP.contact.updated
actions:
  - fetch_related: {kind: task}
  - add_note: "Open tasks: {{ tasks | rejectattr('completed') | map(attribute='title') | join(', ') }}"
"#),
        a("fetch_notes", "fetch notes", "Loads the contact's notes for later templates.", i::fetch("note"), fetched("notes", "note"), r#"
name: Count APP notes
trigger: APP.contact.updated
actions:
  - fetch_related: {kind: note}
  - add_tags: ["notes-{{ notes | length }}"]
"#),
        a("fetch_appointments", "fetch appointments", "Loads the contact's appointments for later templates.", i::fetch("appointment"), fetched("appointments", "appointment"), r#"
name: Summarise APP appointments
trigger: APP.contact.updated
actions:
  - fetch_related: {kind: appointment}
  - add_note: "Appointments: {{ appointments | map(attribute='title') | join(', ') }}"
"#),
    ]);
    v.extend(calls(app));
    v
}

/// The app's operations by name (`call`).
fn calls(app: &'static str) -> Vec<Entry> {
    let snippets = [
        (
            "get-contact",
            r#"
name: Read the APP contact as the app answers it
trigger: APP.contact.updated
actions:
  - call: {operation: get-contact, input: {id: "{{ id }}"}, as: raw}
  - add_note: "Record version {{ raw.version }}"
"#,
        ),
        (
            "delete-contact",
            r#"
name: Delete APP contacts tagged for deletion
trigger: APP.contact.updated
filter: {field: tags, contains: delete-me}
actions:
  - call: {operation: delete-contact, input: {id: "{{ id }}"}}
"#,
        ),
        (
            "delete-task",
            r#"
name: Delete completed APP tasks
trigger: APP.task.updated
filter: {field: completed, eq: true}
actions:
  - call: {operation: delete-task, input: {id: "{{ id }}"}}
"#,
        ),
        (
            "delete-note",
            r#"
name: Delete APP spam notes
trigger: APP.note.created
filter: {field: body, contains: "[spam]"}
actions:
  - call: {operation: delete-note, input: {id: "{{ id }}"}}
"#,
        ),
        (
            "delete-appointment",
            r#"
name: Delete cancelled APP appointments
trigger: APP.appointment.updated
filter: {field: status, eq: cancelled}
actions:
  - call: {operation: delete-appointment, input: {id: "{{ id }}"}}
"#,
        ),
    ];
    connectors::operations_of(app)
        .iter()
        .map(|op| {
            let snippet = snippets
                .iter()
                .find(|(id, _)| *id == op.id)
                .map_or("# no snippet\n", |(_, t)| t);
            let mut inputs: Vec<_> = op
                .inputs
                .iter()
                .map(|f| {
                    field(
                        &format!("input.{}", f.name),
                        f.ty,
                        f.required,
                        f.description,
                    )
                })
                .collect();
            inputs.push(field(
                "as",
                "string",
                false,
                "the template variable that holds the answer",
            ));
            let outputs = op
                .outputs
                .iter()
                .map(|f| field(&format!("<as>.{}", f.name), f.ty, false, f.description))
                .collect();
            action(
                app,
                op.id,
                &format!("{} (`{}`)", op.summary.to_lowercase(), op.id),
                &format!(
                    "`{} {}` through `call`; a record already gone counts as deleted.",
                    op.method, op.path
                ),
                inputs,
                outputs,
                &s(snippet, app),
            )
        })
        .collect()
}
