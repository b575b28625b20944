//! GHL's 32 Contacts-API operations as `call` actions. Inputs and outputs come from the
//! connector's operation table; the snippets are written here, one per operation.

use crate::ghl::action;
use crate::{field, Entry, Field};

/// A flow using the operation, by operation id.
fn snippet(op: &str) -> Option<&'static str> {
    Some(match op {
        "search-contacts-advanced" => {
            r#"
name: Count GHL matches
trigger: ghl.contact.updated
actions:
  - call:
      operation: search-contacts-advanced
      input: {query: "{{ email }}", pageLimit: 10}
      as: found
  - add_note: "Contacts with this email: {{ found.contacts | length }}"
"#
        }
        "get-duplicate-contact" => {
            r#"
name: Find the GHL duplicate of a Your App contact
trigger: your_app.contact.created
actions:
  - call:
      connection: ghl
      operation: get-duplicate-contact
      input: {email: "{{ email }}"}
      as: dup
  - add_tags: ["ghl-{{ 'known' if dup.contact else 'new' }}"]
"#
        }
        "get-all-tasks" => {
            r#"
name: Count GHL tasks
trigger: ghl.contact.updated
actions:
  - call: {operation: get-all-tasks, input: {contactId: "{{ contact.id }}"}, as: all}
  - add_note: "{{ all.tasks | length }} tasks"
"#
        }
        "create-task" => {
            r#"
name: GHL follow-up task
trigger: ghl.contact.created
actions:
  - call:
      operation: create-task
      input: {contactId: "{{ contact.id }}", title: "Follow up with {{ first_name }}", dueDate: "2030-01-01T09:00:00Z"}
"#
        }
        "get-task" => {
            r#"
name: Read a GHL task
trigger: ghl.contact.updated
actions:
  - fetch_related: {kind: task}
  - call: {operation: get-task, input: {contactId: "{{ contact.id }}", taskId: "{{ tasks[0].id }}"}, as: t}
  - add_note: "First task: {{ t.task.title }}"
"#
        }
        "update-task" => {
            r#"
name: Add an agenda to new GHL tasks
trigger: ghl.task.created
actions:
  - call:
      operation: update-task
      input: {contactId: "{{ contact.id }}", taskId: "{{ id }}", body: "Agenda for {{ title }}"}
"#
        }
        "delete-task" => {
            r#"
name: Delete completed GHL tasks
trigger: ghl.task.completed
actions:
  - call: {operation: delete-task, input: {contactId: "{{ contact.id }}", taskId: "{{ id }}"}}
"#
        }
        "update-task-completed" => {
            r#"
name: Close GHL reminder tasks
trigger: ghl.task.created
filter: {field: title, contains: "[fyi]"}
actions:
  - call:
      operation: update-task-completed
      input: {contactId: "{{ contact.id }}", taskId: "{{ id }}", completed: true}
"#
        }
        "get-appointments-for-contact" => {
            r#"
name: Count GHL appointments
trigger: ghl.contact.updated
actions:
  - call: {operation: get-appointments-for-contact, input: {contactId: "{{ contact.id }}"}, as: appts}
  - add_note: "{{ appts.events | length }} appointments"
"#
        }
        "add-tags" => {
            r#"
name: Tag new GHL contacts through the API
trigger: ghl.contact.created
actions:
  - call: {operation: add-tags, input: {contactId: "{{ contact.id }}", tags: [new-lead]}}
"#
        }
        "remove-tags" => {
            r#"
name: Drop the lead tag of GHL clients
trigger: ghl.contact.updated
filter: {field: tags, contains: client}
actions:
  - call: {operation: remove-tags, input: {contactId: "{{ contact.id }}", tags: [lead]}}
"#
        }
        "get-all-notes" => {
            r#"
name: Count GHL notes through the API
trigger: ghl.contact.updated
actions:
  - call: {operation: get-all-notes, input: {contactId: "{{ contact.id }}"}, as: all}
  - add_tags: ["api-notes-{{ all.notes | length }}"]
"#
        }
        "create-note" => {
            r#"
name: GHL welcome note
trigger: ghl.contact.created
actions:
  - call:
      operation: create-note
      input: {contactId: "{{ contact.id }}", body: "Welcome {{ first_name }}!", pinned: true}
"#
        }
        "get-note" => {
            r#"
name: Copy a GHL note's text
trigger: ghl.contact.updated
actions:
  - fetch_related: {kind: note}
  - call: {operation: get-note, input: {contactId: "{{ contact.id }}", id: "{{ notes[0].id }}"}, as: one}
  - add_note: "Copy: {{ one.note.body }}"
"#
        }
        "update-note" => {
            r#"
name: Mark new GHL notes as checked
trigger: ghl.note.created
actions:
  - call:
      operation: update-note
      input: {contactId: "{{ contact.id }}", id: "{{ id }}", body: "{{ body }} (checked)"}
"#
        }
        "delete-note" => {
            r#"
name: Delete GHL spam notes
trigger: ghl.note.created
filter: {field: body, contains: "[spam]"}
actions:
  - call: {operation: delete-note, input: {contactId: "{{ contact.id }}", id: "{{ id }}"}}
"#
        }
        "create-association" => {
            r#"
name: Bulk-tag GHL contacts
trigger: ghl.contact.updated
actions:
  - call:
      operation: create-association
      input: {type: add, contacts: ["{{ contact.id }}"], tags: [bulk-tagged]}
"#
        }
        "add-remove-contact-from-business" => {
            r#"
name: Link GHL key accounts to their business
trigger: ghl.contact.updated
filter: {field: tags, contains: key-account}
actions:
  - call:
      operation: add-remove-contact-from-business
      input: {ids: ["{{ contact.id }}"], businessId: biz_key_accounts}
"#
        }
        "get-contact" => {
            r#"
name: Read a GHL contact as GHL answers it
trigger: ghl.contact.updated
actions:
  - call: {operation: get-contact, input: {contactId: "{{ contact.id }}"}, as: c}
  - add_note: "GHL type: {{ c.contact.type }}"
"#
        }
        "update-contact" => {
            r#"
name: Set the city of GHL contacts
trigger: ghl.contact.created
actions:
  - call: {operation: update-contact, input: {contactId: "{{ contact.id }}", city: Lisbon}}
"#
        }
        "delete-contact" => {
            r#"
name: Delete GHL contacts tagged for deletion
trigger: ghl.contact.updated
filter: {field: tags, contains: delete-me}
actions:
  - call: {operation: delete-contact, input: {contactId: "{{ contact.id }}"}}
"#
        }
        "upsert-contact" => {
            r#"
name: Upsert Your App contacts into GHL
trigger: your_app.contact.created
actions:
  - call:
      connection: ghl
      operation: upsert-contact
      input: {email: "{{ email }}", firstName: "{{ first_name }}", source: your-app}
      as: up
"#
        }
        "get-contacts-by-businessId" => {
            r#"
name: Count a GHL business's contacts
trigger: ghl.contact.updated
filter: {field: business_id, exists: true}
actions:
  - call: {operation: get-contacts-by-businessId, input: {businessId: "{{ business_id }}", limit: 100}, as: biz}
  - add_note: "{{ biz.count }} contacts in this business"
"#
        }
        "add-followers-contact" => {
            r#"
name: Follow new GHL contacts
trigger: ghl.contact.created
actions:
  - call: {operation: add-followers-contact, input: {contactId: "{{ contact.id }}", followers: [user_sales_lead]}}
"#
        }
        "remove-followers-contact" => {
            r#"
name: Unfollow GHL clients
trigger: ghl.contact.updated
filter: {field: tags, contains: client}
actions:
  - call: {operation: remove-followers-contact, input: {contactId: "{{ contact.id }}", followers: [user_sales_lead]}}
"#
        }
        "add-contact-to-campaign" => {
            r#"
name: Nurture GHL leads
trigger: ghl.contact.updated
filter: {field: tags, contains: lead}
actions:
  - call: {operation: add-contact-to-campaign, input: {contactId: "{{ contact.id }}", campaignId: nurture}}
"#
        }
        "remove-contact-from-campaign" => {
            r#"
name: Stop nurturing GHL clients
trigger: ghl.contact.updated
filter: {field: tags, contains: client}
actions:
  - call: {operation: remove-contact-from-campaign, input: {contactId: "{{ contact.id }}", campaignId: nurture}}
"#
        }
        "remove-contact-from-every-campaign" => {
            r#"
name: Stop every campaign for GHL contacts in DND
trigger: ghl.contact.updated
filter: {field: dnd, eq: true}
actions:
  - call: {operation: remove-contact-from-every-campaign, input: {contactId: "{{ contact.id }}"}}
"#
        }
        "add-contact-to-workflow" => {
            r#"
name: Start the GHL onboarding workflow
trigger: ghl.contact.updated
filter: {field: tags, contains: client}
actions:
  - call:
      operation: add-contact-to-workflow
      input: {contactId: "{{ contact.id }}", workflowId: wf_onboarding}
      as: result
"#
        }
        "delete-contact-from-workflow" => {
            r#"
name: Leave the GHL onboarding workflow
trigger: ghl.contact.updated
filter: {field: tags, contains: churned}
actions:
  - call: {operation: delete-contact-from-workflow, input: {contactId: "{{ contact.id }}", workflowId: wf_onboarding}}
"#
        }
        "create-contact" => {
            r#"
name: Create GHL contacts for Your App contacts
trigger: your_app.contact.created
actions:
  - call:
      connection: ghl
      operation: create-contact
      input: {email: "{{ email }}", firstName: "{{ first_name }}", lastName: "{{ last_name }}"}
"#
        }
        "get-contacts" => {
            r#"
name: List GHL contacts with the legacy endpoint
trigger: ghl.contact.updated
actions:
  - call: {operation: get-contacts, input: {query: "{{ email }}", limit: 10}, as: page}
  - add_note: "Legacy list found {{ page.contacts | length }}"
"#
        }
        _ => return None,
    })
}

/// One `call` entry per GHL operation.
pub(crate) fn entries() -> Vec<Entry> {
    connectors::operations_of("ghl")
        .iter()
        .map(|op| {
            let mut inputs: Vec<Field> = op
                .inputs
                .iter()
                .map(|f| field(&format!("input.{}", f.name), f.ty, f.required, f.description))
                .collect();
            inputs.push(field("as", "string", false, "the template variable that holds the answer"));
            inputs.push(crate::connection_input("default: the trigger's connection"));
            let outputs = op
                .outputs
                .iter()
                .map(|f| field(&format!("<as>.{}", f.name), f.ty, false, f.description))
                .collect();
            let effect = match op.effect {
                connectors::OperationEffect::Read => "Reads only.",
                connectors::OperationEffect::Converges => "Safe to repeat: a repeat leaves GHL as it is.",
                connectors::OperationEffect::Once => "Runs once per flow step and triggering record (a repeat answers the first call's answer).",
                connectors::OperationEffect::Delete => "A repeat finds it gone, which counts as done.",
            };
            action(
                "ghl",
                op.id,
                &format!("{} (`{}`)", op.summary.to_lowercase(), op.id),
                &format!("`{} {}` through `call`. {effect}", op.method, op.path),
                inputs,
                outputs,
                snippet(op.id).unwrap_or("# no snippet\n"),
            )
        })
        .collect()
}
