//! The 32 operations of GHL's Contacts API (`spec/ghl/contacts.json`) as data: id (the spec's
//! `operationId`), method and path, what repeating a call does, inputs named as the spec names
//! its path, query and body parameters, and the answer's top-level fields (the spec's first 16
//! operations here, the rest in `specs_more.rs`). `locationId` is never an input: the
//! connection's location is always used. A test compares this table with the spec.

use crate::connector::{OperationEffect, OperationField, OperationSpec};

pub(super) const fn f(
    name: &'static str,
    ty: &'static str,
    required: bool,
    description: &'static str,
) -> OperationField {
    OperationField {
        name,
        ty,
        required,
        description,
    }
}

/// The spec's first 16 operations, in its order.
pub(super) const FIRST: [OperationSpec; 16] = [
    OperationSpec {
        id: "search-contacts-advanced",
        method: "POST",
        path: "/contacts/search",
        summary: "Search Contacts",
        effect: OperationEffect::Read,
        inputs: &[
            f(
                "query",
                "string",
                false,
                "free text matched against names, email, phone and company",
            ),
            f(
                "filters",
                "object[]",
                false,
                "`{field, operator, value}` or `{group: AND|OR, filters}`",
            ),
            f("sort", "object[]", false, "`{field, direction: asc|desc}`"),
            f(
                "page",
                "number",
                false,
                "page number (first 10,000 results)",
            ),
            f(
                "pageLimit",
                "number",
                false,
                "results per page, 1 to 500 (default 100)",
            ),
            f(
                "searchAfter",
                "any[]",
                false,
                "`searchAfter` of the previous page's last contact",
            ),
        ],
        outputs: &[
            f("contacts", "object[]", false, "matching contacts"),
            f("total", "number", false, "matches in all"),
        ],
    },
    OperationSpec {
        id: "get-duplicate-contact",
        method: "GET",
        path: "/contacts/search/duplicate",
        summary: "Get Duplicate Contact",
        effect: OperationEffect::Read,
        inputs: &[
            f("number", "string", false, "phone number (E.164)"),
            f("email", "string", false, "email address"),
        ],
        outputs: &[f(
            "contact",
            "object",
            false,
            "the matching contact, or null",
        )],
    },
    OperationSpec {
        id: "get-all-tasks",
        method: "GET",
        path: "/contacts/{contactId}/tasks",
        summary: "Get all Tasks",
        effect: OperationEffect::Read,
        inputs: &[f("contactId", "string", true, "the contact's id")],
        outputs: &[f("tasks", "object[]", false, "the contact's tasks")],
    },
    OperationSpec {
        id: "create-task",
        method: "POST",
        path: "/contacts/{contactId}/tasks",
        summary: "Create Task",
        effect: OperationEffect::Once,
        inputs: &[
            f("contactId", "string", true, "the contact's id"),
            f("title", "string", true, "the title"),
            f("body", "string", false, "the text"),
            f(
                "dueDate",
                "string",
                true,
                "RFC 3339 (`2030-01-01T09:00:00Z`)",
            ),
            f("completed", "boolean", false, "default false"),
            f("assignedTo", "string", false, "a user's id"),
        ],
        outputs: &[f("task", "object", false, "the task")],
    },
    OperationSpec {
        id: "get-task",
        method: "GET",
        path: "/contacts/{contactId}/tasks/{taskId}",
        summary: "Get Task",
        effect: OperationEffect::Read,
        inputs: &[
            f("contactId", "string", true, "the contact's id"),
            f("taskId", "string", true, "the task's id"),
        ],
        outputs: &[f("task", "object", false, "the task")],
    },
    OperationSpec {
        id: "update-task",
        method: "PUT",
        path: "/contacts/{contactId}/tasks/{taskId}",
        summary: "Update Task",
        effect: OperationEffect::Converges,
        inputs: &[
            f("contactId", "string", true, "the contact's id"),
            f("taskId", "string", true, "the task's id"),
            f("title", "string", false, "the title"),
            f("body", "string", false, "the text"),
            f(
                "dueDate",
                "string",
                false,
                "RFC 3339 (`2030-01-01T09:00:00Z`)",
            ),
            f("completed", "boolean", false, "done or not"),
            f("assignedTo", "string", false, "a user's id"),
        ],
        outputs: &[f("task", "object", false, "the task")],
    },
    OperationSpec {
        id: "delete-task",
        method: "DELETE",
        path: "/contacts/{contactId}/tasks/{taskId}",
        summary: "Delete Task",
        effect: OperationEffect::Delete,
        inputs: &[
            f("contactId", "string", true, "the contact's id"),
            f("taskId", "string", true, "the task's id"),
        ],
        outputs: &[f("succeded", "boolean", false, "GHL's acknowledgement")],
    },
    OperationSpec {
        id: "update-task-completed",
        method: "PUT",
        path: "/contacts/{contactId}/tasks/{taskId}/completed",
        summary: "Update Task Completed",
        effect: OperationEffect::Converges,
        inputs: &[
            f("contactId", "string", true, "the contact's id"),
            f("taskId", "string", true, "the task's id"),
            f("completed", "boolean", true, "done or not"),
        ],
        outputs: &[f("task", "object", false, "the task")],
    },
    OperationSpec {
        id: "get-appointments-for-contact",
        method: "GET",
        path: "/contacts/{contactId}/appointments",
        summary: "Get Appointments for Contact",
        effect: OperationEffect::Read,
        inputs: &[f("contactId", "string", true, "the contact's id")],
        outputs: &[f("events", "object[]", false, "the contact's appointments")],
    },
    OperationSpec {
        id: "add-tags",
        method: "POST",
        path: "/contacts/{contactId}/tags",
        summary: "Add Tags",
        effect: OperationEffect::Converges,
        inputs: &[
            f("contactId", "string", true, "the contact's id"),
            f("tags", "string[]", true, "tag names"),
        ],
        outputs: &[f("tags", "string[]", false, "the contact's tags now")],
    },
    OperationSpec {
        id: "remove-tags",
        method: "DELETE",
        path: "/contacts/{contactId}/tags",
        summary: "Remove Tags",
        effect: OperationEffect::Converges,
        inputs: &[
            f("contactId", "string", true, "the contact's id"),
            f("tags", "string[]", true, "tag names"),
        ],
        outputs: &[f("tags", "string[]", false, "the contact's tags now")],
    },
    OperationSpec {
        id: "get-all-notes",
        method: "GET",
        path: "/contacts/{contactId}/notes",
        summary: "Get All Notes",
        effect: OperationEffect::Read,
        inputs: &[f("contactId", "string", true, "the contact's id")],
        outputs: &[f("notes", "object[]", false, "the contact's notes")],
    },
    OperationSpec {
        id: "create-note",
        method: "POST",
        path: "/contacts/{contactId}/notes",
        summary: "Create Note",
        effect: OperationEffect::Once,
        inputs: &[
            f("contactId", "string", true, "the contact's id"),
            f("userId", "string", false, "the author's user id"),
            f("body", "string", true, "the text"),
            f("title", "string", false, "the title"),
            f("color", "string", false, "a colour such as `#FFAA00`"),
            f("pinned", "boolean", false, "pinned to the top"),
        ],
        outputs: &[f("note", "object", false, "the note")],
    },
    OperationSpec {
        id: "get-note",
        method: "GET",
        path: "/contacts/{contactId}/notes/{id}",
        summary: "Get Note",
        effect: OperationEffect::Read,
        inputs: &[
            f("contactId", "string", true, "the contact's id"),
            f("id", "string", true, "the note's id"),
        ],
        outputs: &[f("note", "object", false, "the note")],
    },
    OperationSpec {
        id: "update-note",
        method: "PUT",
        path: "/contacts/{contactId}/notes/{id}",
        summary: "Update Note",
        effect: OperationEffect::Converges,
        inputs: &[
            f("contactId", "string", true, "the contact's id"),
            f("id", "string", true, "the note's id"),
            f("userId", "string", false, "the author's user id"),
            f("body", "string", false, "the text"),
            f("title", "string", false, "the title"),
            f("color", "string", false, "a colour such as `#FFAA00`"),
            f("pinned", "boolean", false, "pinned to the top"),
        ],
        outputs: &[f("note", "object", false, "the note")],
    },
    OperationSpec {
        id: "delete-note",
        method: "DELETE",
        path: "/contacts/{contactId}/notes/{id}",
        summary: "Delete Note",
        effect: OperationEffect::Delete,
        inputs: &[
            f("contactId", "string", true, "the contact's id"),
            f("id", "string", true, "the note's id"),
        ],
        outputs: &[f("succeded", "boolean", false, "GHL's acknowledgement")],
    },
];
