//! GHL triggers (its webhooks, and polls of its changed-since search) and the record actions that
//! act on GHL (upsert, update, tasks, notes, tags, fetches).

use connectors::EntityKind::{self, Appointment, Contact, Note, Task};

use crate::{app_name, connection_input, field, record_outputs, Entry, EntryType, Field};

/// A trigger entry of `app`.
pub(crate) fn trigger(
    app: &'static str,
    key: &str,
    kind: EntityKind,
    title: &str,
    description: &str,
    snippet: &str,
) -> Entry {
    Entry {
        id: format!("{app}.trigger.{key}"),
        app,
        kind: EntryType::Trigger,
        title: format!("{}: {title}", app_name(app)),
        description: description.into(),
        inputs: vec![connection_input(
            "the connection, when the project has several of this app (`{event: …, connection: …}`)",
        )],
        outputs: record_outputs(kind),
        snippet: snippet.trim_start().into(),
    }
}

/// An action entry of `app`.
pub(crate) fn action(
    app: &'static str,
    key: &str,
    title: &str,
    description: &str,
    inputs: Vec<Field>,
    outputs: Vec<Field>,
    snippet: &str,
) -> Entry {
    Entry {
        id: format!("{app}.action.{key}"),
        app,
        kind: EntryType::Action,
        title: format!("{}: {title}", app_name(app)),
        description: description.into(),
        inputs,
        outputs,
        snippet: snippet.trim_start().into(),
    }
}

const WEBHOOK: &str = "Starts on GHL's signed webhook (verified, de-duplicated); the flow re-reads the record, so it sees it as it is now.";

fn ghl_trigger(key: &str, kind: EntityKind, title: &str, what: &str, snippet: &str) -> Entry {
    trigger(
        "ghl",
        key,
        kind,
        title,
        &format!("{what} {WEBHOOK}"),
        snippet,
    )
}

/// GHL's triggers and record actions.
pub(crate) fn entries() -> Vec<Entry> {
    let mut v = triggers();
    v.extend(actions());
    v
}

fn triggers() -> Vec<Entry> {
    vec![
        ghl_trigger("contact_created", Contact, "contact created", "A contact is created in GHL (`ContactCreate`).", r#"
name: Welcome new GHL contacts
trigger: ghl.contact.created
actions:
  - add_tags: [welcome]
"#),
        ghl_trigger("contact_updated", Contact, "contact updated", "A contact's fields change in GHL (`ContactUpdate`, and the tag and DND updates below).", r#"
name: Mark updated GHL contacts
trigger: ghl.contact.updated
actions:
  - add_tags: [recently-updated]
"#),
        ghl_trigger("contact_deleted", Contact, "contact deleted", "A contact is deleted in GHL (`ContactDelete`). The flow sees the contact as last synced; actions reach its linked records in other apps.", r#"
name: Flag contacts deleted in GHL
trigger: ghl.contact.deleted
actions:
  - add_tags: {connection: your_app, tags: [deleted-in-ghl]}
"#),
        trigger("ghl", "contact_changed", Contact, "contact created or updated",
            "A contact is created or changes in GHL: from webhooks, and from the scheduler's polls of GHL's changed-since search (so a dropped webhook still starts the flow). Polling starts counting when the flow is first seen.", r#"
name: Tag every changed GHL contact
trigger: ghl.contact.changed
actions:
  - add_tags: [seen-by-bridge]
"#),
        ghl_trigger("contact_tag_update", Contact, "contact tags changed", "Tags are added to or removed from a contact (`ContactTagUpdate`, counted as an update: trigger `ghl.contact.updated`).", r#"
name: Log GHL tag changes
trigger: ghl.contact.updated
actions:
  - add_note: "Tags now: {{ tags | join(', ') }}"
"#),
        ghl_trigger("contact_dnd_update", Contact, "contact DND changed", "A contact's Do Not Disturb settings change (`ContactDndUpdate`, counted as an update); the filter keeps contacts now in DND.", r#"
name: Tag GHL contacts in DND
trigger: ghl.contact.updated
filter: {field: dnd, eq: true}
actions:
  - add_tags: [do-not-contact]
"#),
        ghl_trigger("task_created", Task, "task created", "A task is added to a contact (`TaskCreate`).", r#"
name: Note new GHL tasks
trigger: ghl.task.created
actions:
  - add_note: "New task: {{ title }}"
"#),
        ghl_trigger("task_completed", Task, "task completed", "A task is marked completed (`TaskComplete`); the flow checks it still is.", r#"
name: Note completed GHL tasks
trigger: ghl.task.completed
actions:
  - add_note: "Done: {{ title }}"
"#),
        ghl_trigger("task_deleted", Task, "task deleted", "A task is deleted (`TaskDelete`); its contact is still there for actions.", r#"
name: Note deleted GHL tasks
trigger: ghl.task.deleted
actions:
  - add_note: "Task {{ id }} was deleted"
"#),
        ghl_trigger("task_changed", Task, "task created or completed", "A task is created or completed (GHL sends no webhook for other task edits; the reconcile catches those for syncs).", r#"
name: Tag contacts with task activity
trigger: ghl.task.changed
actions:
  - add_tags: [task-activity]
"#),
        ghl_trigger("note_created", Note, "note created", "A note is added to a contact (`NoteCreate`).", r#"
name: Tag GHL contacts with notes
trigger: ghl.note.created
actions:
  - add_tags: [has-notes]
"#),
        ghl_trigger("note_updated", Note, "note updated", "A note is edited (`NoteUpdate`).", r#"
name: Tag GHL contacts whose notes were edited
trigger: ghl.note.updated
actions:
  - add_tags: [note-edited]
"#),
        ghl_trigger("note_deleted", Note, "note deleted", "A note is deleted (`NoteDelete`).", r#"
name: Tag GHL contacts whose notes were deleted
trigger: ghl.note.deleted
actions:
  - add_tags: [note-removed]
"#),
        ghl_trigger("note_changed", Note, "note created or updated", "A note is created or edited.", r#"
name: Tag GHL contacts with note activity
trigger: ghl.note.changed
actions:
  - add_tags: [note-activity]
"#),
        ghl_trigger("appointment_created", Appointment, "appointment created", "An appointment is booked for a contact (`AppointmentCreate`).", r#"
name: Prepare GHL appointments
trigger: ghl.appointment.created
actions:
  - create_related:
      kind: task
      items:
        - {title: "Prepare for {{ title }}", due: +1d}
"#),
        ghl_trigger("appointment_updated", Appointment, "appointment updated", "An appointment changes (`AppointmentUpdate`).", r#"
name: Note GHL appointment changes
trigger: ghl.appointment.updated
actions:
  - add_note: "Appointment {{ title }} is now {{ status }}"
"#),
        ghl_trigger("appointment_deleted", Appointment, "appointment deleted", "An appointment is deleted (`AppointmentDelete`).", r#"
name: Tag GHL contacts whose appointment was deleted
trigger: ghl.appointment.deleted
actions:
  - add_tags: [appointment-cancelled]
"#),
        ghl_trigger("appointment_changed", Appointment, "appointment created or updated", "An appointment is booked or changes.", r#"
name: Tag GHL contacts with appointment activity
trigger: ghl.appointment.changed
actions:
  - add_tags: [appointment-activity]
"#),
    ]
}

/// Inputs of the record actions, shared with the REST apps.
pub(crate) mod inputs {
    use crate::{field, Field};

    pub fn tags() -> Vec<Field> {
        vec![
            field(
                "tags",
                "string[]",
                true,
                "tag names (templates); compared ignoring case",
            ),
            crate::connection_input(
                "default: the trigger's connection; another one acts on the linked contact",
            ),
        ]
    }
    pub fn upsert() -> Vec<Field> {
        vec![
            field("connection", "string", true, "where to write"),
            field("kind", "string", false, "default: the trigger's kind"),
            field(
                "match",
                "string[]",
                false,
                "match keys: email, phone, external_id",
            ),
            field(
                "mapping",
                "object[]",
                false,
                "mapping rules (default: the identity mapping)",
            ),
        ]
    }
    pub fn update() -> Vec<Field> {
        vec![
            field(
                "set",
                "object",
                true,
                "`{field: value}`; text values are templates",
            ),
            crate::connection_input(
                "default: the triggering record; another connection: its linked record",
            ),
        ]
    }
    pub fn create_related() -> Vec<Field> {
        vec![
            field("kind", "string", true, "task, note or appointment"),
            field(
                "items",
                "object[]",
                true,
                "`{field: value}` each, with `due: +2d` for tasks",
            ),
            crate::connection_input("default: the trigger's connection"),
        ]
    }
    pub fn add_note() -> Vec<Field> {
        vec![
            field(
                "body",
                "string",
                true,
                "the note's text (a template); added once per text and contact",
            ),
            crate::connection_input("default: the trigger's connection"),
        ]
    }
    pub fn complete(by_title: bool) -> Vec<Field> {
        let mut v = vec![crate::connection_input("default: the trigger's connection")];
        if by_title {
            v.insert(
                0,
                field(
                    "title",
                    "string",
                    true,
                    "the open tasks' title (a template), ignoring case",
                ),
            );
        }
        v
    }
    pub fn fetch(kind: &str) -> Vec<Field> {
        vec![
            field("kind", "string", true, kind),
            field(
                "as",
                "string",
                false,
                "the template variable (default: the kind's plural)",
            ),
            crate::connection_input("default: the trigger's connection"),
        ]
    }
}

/// The output of a `fetch_related`.
pub(crate) fn fetched(name: &str, kind: &str) -> Vec<Field> {
    vec![field(
        name,
        "object[]",
        false,
        &format!("the contact's live {kind}s, each with its fields and `id`"),
    )]
}

fn actions() -> Vec<Entry> {
    use inputs as i;
    let g = "ghl";
    vec![
        action(g, "upsert_contact", "upsert contact", "Creates or updates the GHL contact matching the triggering record (by link, then email), and links both.", i::upsert(), vec![], r#"
name: Your App contacts into GHL
trigger: your_app.contact.changed
actions:
  - upsert:
      connection: ghl
      match: [email]
      mapping:
        - {to: first_name, from: first_name}
        - {to: last_name, from: last_name}
        - {to: email, from: email, transform: normalize_email}
"#),
        action(g, "upsert_task", "upsert task", "Creates or updates the GHL task linked to the triggering task, under the contact linked to its contact. GHL tasks need a due date.", i::upsert(), vec![], r#"
name: Your App tasks into GHL
trigger: your_app.task.created
actions:
  - upsert:
      connection: ghl
      mapping:
        - {to: title, from: title}
        - {to: body, from: body}
        - {to: due_at, from: due_at, default: "2030-01-01T09:00:00Z"}
"#),
        action(g, "upsert_note", "upsert note", "Creates or updates the GHL note linked to the triggering note, under the contact linked to its contact.", i::upsert(), vec![], r#"
name: Your App notes into GHL
trigger: your_app.note.created
actions:
  - upsert:
      connection: ghl
      mapping:
        - {to: body, from: body}
"#),
        action(g, "update_contact", "update contact", "Sets fields on the triggering GHL contact (or the GHL contact linked to the triggering record); writes only what differs.", i::update(), vec![], r#"
name: Stamp new GHL contacts
trigger: ghl.contact.created
actions:
  - update: {set: {website: "https://example.com/welcome", source: ghl-bridge}}
"#),
        action(g, "update_task", "update task", "Sets fields on the triggering GHL task.", i::update(), vec![], r#"
name: Add an agenda to GHL tasks
trigger: ghl.task.created
actions:
  - update: {set: {body: "Agenda: {{ title }}"}}
"#),
        action(g, "update_note", "update note", "Sets fields on the triggering GHL note.", i::update(), vec![], r#"
name: Title GHL notes
trigger: ghl.note.created
actions:
  - update: {set: {title: Reviewed}}
"#),
        action(g, "create_tasks", "create tasks", "Creates tasks under the triggering contact, each once per contact (due dates relative to the run).", i::create_related(), vec![], r#"
name: Onboarding tasks in GHL
trigger: ghl.contact.created
actions:
  - create_related:
      kind: task
      items:
        - {title: "Welcome call with {{ first_name }}", due: +1d}
        - {title: Send the onboarding pack, due: +2d}
"#),
        action(g, "create_notes", "create notes", "Creates notes under the triggering contact, each once per contact.", i::create_related(), vec![], r#"
name: Onboarding note in GHL
trigger: ghl.contact.created
actions:
  - create_related:
      kind: note
      items:
        - {body: "Onboarding checklist for {{ first_name }}"}
"#),
        action(g, "add_note", "add note", "Adds a note to the triggering contact (or the contact of a triggering task, note or appointment), once per text.", i::add_note(), vec![], r#"
name: Note GHL updates
trigger: ghl.contact.updated
actions:
  - add_note: "Updated by ghl-bridge: {{ first_name }} {{ last_name }}"
"#),
        action(g, "complete_task", "complete task", "Completes the triggering GHL task.", i::complete(false), vec![], r#"
name: Auto-close GHL reminder tasks
trigger: ghl.task.created
filter: {field: title, contains: "[auto-close]"}
actions:
  - complete_task: {}
"#),
        action(g, "complete_task_by_title", "complete task by title", "Completes the contact's open GHL tasks with a title (every such task of the connection in runs without a record).", i::complete(true), vec![], r#"
name: Close the qualify task for clients
trigger: ghl.contact.updated
filter: {field: tags, contains: client}
actions:
  - complete_task: {title: Qualify lead}
"#),
        action(g, "add_tags", "add tags", "Adds tags to the contact, one at a time (tags someone else adds meanwhile are kept).", i::tags(), vec![], r#"
name: Tag GHL leads
trigger: ghl.contact.changed
filter: {field: source, eq: website}
actions:
  - add_tags: [lead, "from-{{ source }}"]
"#),
        action(g, "remove_tags", "remove tags", "Removes tags from the contact, one at a time.", i::tags(), vec![], r#"
name: Untag GHL clients
trigger: ghl.contact.changed
filter: {field: tags, contains: client}
actions:
  - remove_tags: [lead]
"#),
        action(g, "fetch_tasks", "fetch tasks", "Loads the contact's tasks for later templates.", i::fetch("task"), fetched("tasks", "task"), r#"
name: Summarise GHL open tasks
trigger: ghl.contact.updated
actions:
  - fetch_related: {kind: task}
  - add_note: "Open tasks: {{ tasks | rejectattr('completed') | map(attribute='title') | join(', ') }}"
"#),
        action(g, "fetch_notes", "fetch notes", "Loads the contact's notes for later templates.", i::fetch("note"), fetched("notes", "note"), r#"
name: Count GHL notes
trigger: ghl.contact.updated
actions:
  - fetch_related: {kind: note, as: notes}
  - add_tags: ["notes-{{ notes | length }}"]
"#),
        action(g, "fetch_appointments", "fetch appointments", "Loads the contact's appointments for later templates.", i::fetch("appointment"), fetched("appointments", "appointment"), r#"
name: Summarise GHL appointments
trigger: ghl.contact.updated
actions:
  - fetch_related: {kind: appointment}
  - add_note: "Appointments: {{ appointments | map(attribute='title') | join(', ') }}"
"#),
    ]
}
