//! The actions of Insightly and SalesNexus: the record actions through their connectors, for
//! every kind each app has (Insightly: contacts, tasks, notes, events as appointments,
//! organisations as businesses; SalesNexus: contacts, tasks, notes, Meeting tasks as
//! appointments). Neither app has operations for `call`. Snippets triggered on these apps'
//! `changed` triggers write only what is not so already, because the next poll sees the flow's
//! own write as one more change.

use crate::ghl::{action, fetched, inputs as i};
use crate::polled::s;
use crate::Entry;

/// Insightly's text or SalesNexus' text.
fn per<'a>(app: &str, insightly: &'a str, salesnexus: &'a str) -> &'a str {
    if app == "insightly" {
        insightly
    } else {
        salesnexus
    }
}

/// The actions of one polled app.
pub(crate) fn entries(app: &'static str) -> Vec<Entry> {
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
        a("upsert_contact", "upsert contact", per(app,
            "Creates or updates the Insightly contact matching the triggering record (by link, then by email, exact ignoring case), and links both. `company_name` links the contact to the organisation of that name, found or created. Insightly requires a first name: a contact without one is written as `(no name)`. Insightly takes no idempotency key, so a create first looks for a contact with the email and adopts it.",
            "Creates or updates the SalesNexus contact matching the triggering record (by link, then by email: the API's search, filtered to the exact address), and links both. `company_name` is the contact's company text. SalesNexus requires a first name, so the snippet maps a default. A create whose outcome is unclear is looked up by email before it is sent again."),
            i::upsert(), vec![], per(app, r#"
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
        - {to: company_name, from: company_name}
"#, r#"
name: GHL contacts into APP
trigger: ghl.contact.changed
filter: {field: email, exists: true}
actions:
  - upsert:
      connection: APP
      match: [email]
      mapping:
        - {to: first_name, from: first_name, default: "(no name)"}
        - {to: last_name, from: last_name}
        - {to: email, from: email, transform: normalize_email}
        - {to: company_name, from: company_name}
"#)),
        a("upsert_task", "upsert task", per(app,
            "Creates or updates the Insightly task linked to the triggering task, linked to the Insightly contact linked to its contact (the job retries while that contact is not linked yet). A create is looked up first by a marker in the task's contact link, so a retried create makes one task.",
            "Creates or updates the SalesNexus task linked to the triggering task, under the SalesNexus contact linked to its contact (the job retries while that contact is not linked yet). A create whose outcome is unclear is looked up by title and dates among the contact's tasks before it is sent again."),
            i::upsert(), vec![], r#"
name: GHL tasks into APP
trigger: ghl.task.created
actions:
  - upsert: {connection: APP, kind: task}
"#),
        a("upsert_note", "upsert note", per(app,
            "Creates or updates the Insightly note linked to the triggering note, on the Insightly contact linked to its contact. Insightly requires a note title: without one, the body's first line becomes it.",
            "Creates or updates the SalesNexus note linked to the triggering note, on the SalesNexus contact linked to its contact (SalesNexus notes have no title)."),
            i::upsert(), vec![], r#"
name: GHL notes into APP
trigger: ghl.note.created
actions:
  - upsert:
      connection: APP
      mapping:
        - {to: body, from: body}
"#),
        a("upsert_appointment", "upsert appointment", per(app,
            "Creates or updates the Insightly event linked to the triggering appointment, linked to the Insightly contact linked to its contact. Events need a start and an end; Insightly events have no status.",
            "Creates or updates the SalesNexus meeting (a task of type Meeting, `dateFrom`/`dateTo`) linked to the triggering appointment, under the SalesNexus contact linked to its contact. A meeting has no status or location: those fields are not sent."),
            i::upsert(), vec![], r#"
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
    for (kind, what, set, filter) in [
        (
            "contact",
            "contact",
            "city: \"{{ city | default('Unknown', true) }}\"",
            "",
        ),
        ("task", "task", "body: \"Checked by ghl-bridge\"", ""),
        (
            "note",
            "note",
            "body: \"{{ body }} (reviewed)\"",
            "filter:\n  not: {field: body, contains: \"(reviewed)\"}\n",
        ),
        (
            "appointment",
            per(app, "event", "meeting"),
            "notes: Confirmed by ghl-bridge",
            "",
        ),
    ] {
        v.push(a(
            &format!("update_{kind}"),
            &format!("update {kind}"),
            &format!("Sets fields on the triggering {what} (or on the {what} linked to the triggering record, with `connection: APP`); writes only what differs, so the flow's own change, seen again by the next poll, writes nothing.{}", if kind == "note" { " The snippet's filter skips notes already reviewed: its template would otherwise append again at every poll." } else { "" }).replace("APP", app),
            i::update(),
            vec![],
            &format!("\nname: Update APP {kind}s\ntrigger: APP.{kind}.changed\n{filter}actions:\n  - update: {{set: {{{set}}}}}\n"),
        ));
    }
    v.extend([
        a("create_tasks", "create tasks", "Creates tasks under the triggering contact, each once per contact (due dates relative to the run).", i::create_related(), vec![], r#"
name: APP onboarding tasks
trigger: APP.contact.changed
actions:
  - create_related:
      kind: task
      items:
        - {title: "Welcome call with {{ first_name }}", due: +1d}
"#),
        a("create_notes", "create notes", "Creates notes under the triggering contact, each once per contact.", i::create_related(), vec![], r#"
name: APP onboarding note
trigger: APP.contact.changed
actions:
  - create_related:
      kind: note
      items:
        - {body: "Onboarding checklist for {{ first_name }}"}
"#),
        a("create_appointments", "create appointments", per(app,
            "Books Insightly events for the triggering contact, each once per contact; an event needs a start and an end.",
            "Books SalesNexus meetings (tasks of type Meeting) for the triggering contact, each once per contact."),
            i::create_related(), vec![], r#"
name: APP kickoff meeting
trigger: APP.contact.changed
actions:
  - create_related:
      kind: appointment
      items:
        - {title: "Kickoff with {{ first_name }}", start_at: "2030-01-07T10:00:00Z", end_at: "2030-01-07T10:30:00Z"}
"#),
        a("add_note", "add note", "Adds a note to the contact (the triggering contact, or the contact of a triggering task, note or appointment), once per text.", i::add_note(), vec![], r#"
name: APP contact note
trigger: APP.contact.changed
actions:
  - add_note: "Seen by ghl-bridge: {{ first_name }} {{ last_name }}"
"#),
        a("complete_task", "complete task", per(app,
            "Completes the triggering Insightly task (`COMPLETED`).",
            "Completes the triggering SalesNexus task (status `Completed`)."),
            i::complete(false), vec![], r#"
name: Auto-close APP reminder tasks
trigger: APP.task.changed
filter: {field: title, contains: "[auto-close]"}
actions:
  - complete_task: {}
"#),
        a("complete_task_by_title", "complete task by title", "Completes the contact's open tasks with a title.", i::complete(true), vec![], r#"
name: Close the APP welcome call
trigger: APP.contact.changed
filter: {field: tags, contains: onboarded}
actions:
  - complete_task: {title: "Welcome call"}
"#),
        a("add_tags", "add tags", per(app,
            "Adds tags to the contact, one `POST /Contacts/{id}/Tags` each, so tags someone else adds meanwhile are kept.",
            "Adds tags to the contact. SalesNexus has no tag resource: tags are the contact's multi-select custom field `Tags` (`tags_field`), written whole with the new list."),
            i::tags(), vec![], r#"
name: Tag APP prospects
trigger: APP.contact.changed
actions:
  - add_tags: [prospect]
"#),
        a("remove_tags", "remove tags", per(app,
            "Removes tags from the contact, one `DELETE /Contacts/{id}/Tags` each.",
            "Removes tags from the contact's `Tags` custom field (`tags_field`), written whole with the remaining list."),
            i::tags(), vec![], r#"
name: Untag APP customers
trigger: APP.contact.changed
filter: {field: tags, contains: customer}
actions:
  - remove_tags: [prospect]
"#),
        a("fetch_tasks", "fetch tasks", per(app,
            "Loads the contact's tasks (`/Contacts/{id}/Tasks`) for later templates.",
            "Loads the contact's tasks for later templates (a scan of the task list: it has no contact filter)."),
            i::fetch("task"), fetched("tasks", "task"), r#"
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
        a("fetch_appointments", "fetch appointments", per(app,
            "Loads the contact's events (`/Contacts/{id}/Events`) for later templates.",
            "Loads the contact's meetings for later templates (a scan of the task list)."),
            i::fetch("appointment"), fetched("appointments", "appointment"), r#"
name: Summarise APP appointments
trigger: APP.contact.changed
actions:
  - fetch_related: {kind: appointment}
  - add_note: "Appointments: {{ appointments | map(attribute='title') | join(', ') }}"
"#),
    ]);
    if app == "insightly" {
        v.extend(businesses(app));
    }
    v
}

/// Insightly organisations.
fn businesses(app: &'static str) -> Vec<Entry> {
    vec![
        action(app, "upsert_business", "upsert organisation (business)",
            "Makes sure the organisation the mapping names exists in Insightly: organisations are matched by exact name (ignoring case), so an existing one is reused and its other mapped fields are updated, and none is made twice. Organisations have no contact and are not linked to the triggering record.",
            i::upsert(), vec![], r#"name: GHL companies as Insightly organisations
trigger: ghl.contact.changed
filter: {field: company_name, exists: true}
actions:
  - upsert:
      connection: insightly
      kind: business
      mapping:
        - {to: name, template: "{{ company_name | trim }}"}
"#),
        action(app, "update_business", "update organisation (business)",
            "Sets fields on the triggering organisation: `name`, `x.website`, `x.phone`; writes only what differs.",
            i::update(), vec![], r#"name: Default website for Insightly organisations
trigger: insightly.business.changed
filter: {field: x.website, exists: false}
actions:
  - update: {set: {x.website: "https://example.com/organisations/{{ id }}"}}
"#),
    ]
}
