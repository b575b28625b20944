//! Conformance of the GHL sandbox to GHL's published OpenAPI documents.
//!
//! `spec/ghl/contacts.json` and `spec/ghl/oauth.json` are read at test time. Every one of their
//! operations is called over real HTTP for a documented success status and at least one
//! documented error status, and every answer is validated against the schema the spec declares
//! for that status, made strict (see `conformance/schemas.rs`): objects accept no undeclared
//! property, the properties below in [`REQUIRED`] must be present, and OpenAPI's `nullable` is
//! honoured. The only departures from the published spec are the rows of [`EXTENSIONS`].

#[path = "conformance/contacts.rs"]
mod contacts;
#[path = "conformance/harness.rs"]
mod harness;
#[path = "conformance/oauth.rs"]
mod oauth;
#[path = "conformance/related.rs"]
mod related;
#[path = "conformance/schemas.rs"]
mod schemas;

use std::collections::BTreeSet;

use serde_json::json;

use schemas::{Extension, SPECS};

// ---------- the one table of documented extensions ----------

/// Where real GHL answers differently from (or beyond) its published spec. Each row is accepted
/// for the reason it gives; any other field or type outside the spec fails the suite (fix the
/// sandbox, or add a row only with evidence about real GHL). Keep this list as short as truth allows.
pub static EXTENSIONS: &[Extension] = &[
    Extension {
        schema: "CustomFieldSchema",
        base: None,
        properties: r#"{"value": {"type": ["string", "number", "array", "object"]}}"#,
        responses: &[],
        reason: "The spec types a custom-field value as string, but numeric and monetary fields come back as \
                 numbers, multi-select and checkbox fields as arrays, file uploads as objects; GHL's own webhook \
                 schemas (spec/ghl/webhook-events/ContactCreate.json) type it string|number|array|object.",
    },
    Extension {
        schema: "ContactsSearchSchema",
        base: None,
        properties: r#"{
            "firstName": {"type": "string"}, "lastName": {"type": "string"}, "contactName": {"type": "string"},
            "companyName": {"type": "string"}, "phone": {"type": "string"}, "dnd": {"type": "boolean"},
            "type": {"type": "string"}, "assignedTo": {"type": "string"}, "city": {"type": "string"},
            "state": {"type": "string"}, "postalCode": {"type": "string"}, "address1": {"type": "string"},
            "dateUpdated": {"type": "string"}, "dateOfBirth": {"type": "string"}, "website": {"type": "string"}
        }"#,
        responses: &[],
        reason: "The legacy GET /contacts/ and GET /contacts/business/{businessId} return each contact with its \
                 names, phone, address, type, dnd, owner and dates; the spec's list schema names only a few fields.",
    },
    Extension {
        schema: "ContactsSearchSuccessfulResponseDto",
        base: None,
        properties: r##"{"meta": {"$ref": "#/components/schemas/ContactsMetaSchema"}}"##,
        responses: &[],
        reason: "The legacy GET /contacts/ pages with a `meta` object; the spec defines ContactsMetaSchema but \
                 attaches it to no response.",
    },
    Extension {
        schema: "ContactsMetaSchema",
        base: None,
        properties: r#"{
            "nextPageUrl": {"type": "string", "nullable": true}, "startAfterId": {"type": "string", "nullable": true},
            "startAfter": {"type": "number", "nullable": true}, "nextPage": {"type": "number", "nullable": true}
        }"#,
        responses: &[],
        reason: "On the last page nextPageUrl and nextPage are null (and on an empty page startAfterId and \
                 startAfter); the spec marks only prevPage nullable.",
    },
    Extension {
        schema: "DuplicateContactResponseDto",
        base: None,
        properties: r##"{"contact": {"$ref": "#/components/schemas/GetContectByIdSchema", "nullable": true}}"##,
        responses: &[("GET", "/contacts/search/duplicate", 200)],
        reason: "The spec gives the duplicate search's 200 no schema; GHL answers {contact} with the matching \
                 contact, or {contact: null} when nothing matches.",
    },
    Extension {
        schema: "SearchContactSchema",
        base: Some("GetContectByIdSchema"),
        properties: r#"{"followers": {"type": "array", "items": {"type": "string"}}, "searchAfter": {"type": "array"}}"#,
        responses: &[],
        reason: "A contact in POST /contacts/search results: the full contact plus its followers and the \
                 searchAfter cursor (sort values, then id) used to page past 10,000 results (FACTS.md).",
    },
    Extension {
        schema: "SearchContactsResponseDto",
        base: None,
        properties: r##"{"contacts": {"type": "array", "items": {"$ref": "#/components/schemas/SearchContactSchema"}},
                         "total": {"type": "number"}}"##,
        responses: &[("POST", "/contacts/search", 200)],
        reason: "The spec gives POST /contacts/search no response schema (it links to a separate document); \
                 GHL answers {contacts, total} (FACTS.md).",
    },
    Extension {
        schema: "BadRequestDTO",
        base: None,
        properties: "{}",
        responses: &[("POST", "/contacts/search", 400)],
        reason: "The spec lists 400 for POST /contacts/search without a body schema; it is GHL's usual 400 body.",
    },
    Extension {
        schema: "UnauthorizedDTO",
        base: None,
        properties: "{}",
        responses: &[("POST", "/contacts/search", 401)],
        reason: "The spec lists 401 for POST /contacts/search without a body schema; it is GHL's usual 401 body.",
    },
    Extension {
        schema: "DuplicateContactBadRequestDTO",
        base: Some("BadRequestDTO"),
        properties: r#"{"meta": {"type": "object", "required": ["contactId", "matchingField"], "properties": {
            "contactName": {"type": "string", "nullable": true}, "contactId": {"type": "string"},
            "matchingField": {"type": "string", "enum": ["email", "phone"]}}}}"#,
        responses: &[("POST", "/contacts/", 400)],
        reason: "When the location does not allow duplicates, GHL's 400 for a contact whose email or phone is \
                 taken carries `meta` naming the existing contact; clients read meta.contactId to recover.",
    },
    Extension {
        schema: "TokenErrorDTO",
        base: Some("BadRequestDTO"),
        properties: r#"{"error": {"type": "string"}, "error_description": {"type": "string"}}"#,
        responses: &[("POST", "/oauth/token", 400)],
        reason: "An unknown or already used code or refresh token answers 400 with OAuth 2.0's `error` \
                 (invalid_grant) and `error_description` (RFC 6749 section 5.2) beside statusCode and message.",
    },
];

/// Properties the sandbox always returns, required so that a missing one fails the suite.
#[rustfmt::skip]
pub static REQUIRED: &[(&str, &[&str])] = &[
    ("GetContectByIdSchema", &["id", "locationId", "tags", "customFields", "type", "dnd", "dateAdded", "dateUpdated"]),
    ("SearchContactSchema", &["id", "locationId", "tags", "customFields", "type", "dnd", "dateAdded", "dateUpdated",
                              "followers", "searchAfter"]),
    ("CreateContactSchema", &["id", "locationId", "tags", "customFields", "type", "dnd", "deleted", "dateAdded",
                              "dateUpdated"]),
    ("ContactsSearchSchema", &["id", "locationId", "tags", "customFields", "followers", "dateAdded"]),
    ("CustomFieldSchema", &["id", "value"]),
    ("ContactsMetaSchema", &["total", "nextPageUrl", "startAfterId", "startAfter", "currentPage", "nextPage",
                             "prevPage"]),
    ("ContactsSearchSuccessfulResponseDto", &["contacts", "count"]),
    ("ContactsByIdSuccessfulResponseDto", &["contact"]),
    ("CreateContactsSuccessfulResponseDto", &["contact"]),
    ("UpdateContactsSuccessfulResponseDto", &["succeded", "contact"]),
    ("UpsertContactsSuccessfulResponseDto", &["new", "contact", "traceId"]),
    ("DeleteContactsSuccessfulResponseDto", &["succeded"]),
    ("DuplicateContactResponseDto", &["contact"]),
    ("SearchContactsResponseDto", &["contacts", "total"]),
    ("ContactsBulkUpateResponse", &["success", "ids"]),
    ("TaskSchema", &["id", "title", "dueDate", "completed", "contactId"]),
    ("TasksListSuccessfulResponseDto", &["tasks"]),
    ("TaskByIsSuccessfulResponseDto", &["task"]),
    ("DeleteTaskSuccessfulResponseDto", &["succeded"]),
    ("GetNoteSchema", &["id", "body", "contactId", "dateAdded", "pinned"]),
    ("GetNotesListSuccessfulResponseDto", &["notes"]),
    ("GetCreateUpdateNoteSuccessfulResponseDto", &["note"]),
    ("DeleteNoteSuccessfulResponseDto", &["succeded"]),
    ("GetEventSchema", &["id", "calendarId", "status", "title", "startTime", "endTime", "locationId", "contactId"]),
    ("GetEventsSuccessfulResponseDto", &["events"]),
    ("CreateAddTagSuccessfulResponseDto", &["tags"]),
    ("CreateDeleteTagSuccessfulResponseDto", &["tags"]),
    ("CreateAddFollowersSuccessfulResponseDto", &["followers", "followersAdded"]),
    ("DeleteFollowersSuccessfulResponseDto", &["followers", "followersRemoved"]),
    ("CreateDeleteCantactsCampaignsSuccessfulResponseDto", &["succeded"]),
    ("ContactsWorkflowSuccessfulResponseDto", &["succeded"]),
    ("GetAccessCodeSuccessfulResponseDto", &["access_token", "token_type", "expires_in", "refresh_token", "scope",
                                             "userType", "companyId"]),
    ("GetLocationAccessTokenSuccessfulResponseDto", &["access_token", "token_type", "expires_in", "scope",
                                                      "locationId"]),
    ("GetInstalledLocationsSuccessfulResponseDto", &["locations", "count"]),
    ("InstalledLocationSchema", &["isInstalled"]),
];

// ---------- which test covers which operations ----------

/// The operations each test claims; together they must be exactly the specs' operations.
const ALL_OPS: &[&[(&str, &str)]] = &[
    contacts::CONTACT_OPS,
    contacts::LIST_OPS,
    related::TASK_OPS,
    related::NOTE_OPS,
    related::TAG_OPS,
    related::AUTOMATION_OPS,
    oauth::OAUTH_OPS,
];

// ---------- the suite itself ----------

/// The strict schemas do reject what the spec does not allow, with JSON pointers in the report.
#[test]
fn strict_schemas_reject_undocumented_shapes() {
    let by_id = "ContactsByIdSuccessfulResponseDto";
    let contact = json!({"id": "c1", "locationId": "l1", "tags": [], "customFields": [{"id": "f", "value": 3}],
                         "type": "lead", "dnd": false, "dateAdded": "2026-01-01T00:00:00.000Z",
                         "dateUpdated": "2026-01-01T00:00:00.000Z"});
    let valid = SPECS.validate(by_id, &json!({ "contact": contact }));
    assert_eq!(valid, Ok(()), "a valid contact passes");

    let mut extra = contact.clone();
    extra["favouriteColour"] = json!("teal");
    let errors = SPECS
        .validate(by_id, &json!({ "contact": extra }))
        .expect_err("extra property");
    let named = |e: &String| e.contains("at /contact:") && e.contains("favouriteColour");
    assert!(errors.iter().any(named), "{errors:?}");

    let mut no_id = contact.clone();
    if let Some(m) = no_id.as_object_mut() {
        m.remove("id");
    }
    let errors = SPECS
        .validate(by_id, &json!({ "contact": no_id }))
        .expect_err("missing id");
    assert!(errors.iter().any(|e| e.contains("\"id\"")), "{errors:?}");

    let task = json!({"task": {"id": "t", "title": "x", "dueDate": "d", "completed": "yes", "contactId": "c"}});
    let errors = SPECS
        .validate("TaskByIsSuccessfulResponseDto", &task)
        .expect_err("wrong type");
    assert!(
        errors.iter().any(|e| e.contains("at /task/completed:")),
        "{errors:?}"
    );

    let flat = json!({"statusCode": 422, "message": "one string", "error": "x"});
    let errors = SPECS
        .validate("UnprocessableDTO", &flat)
        .expect_err("422 message must be a list");
    assert!(
        errors.iter().any(|e| e.contains("at /message:")),
        "{errors:?}"
    );

    let op = ("GET".to_string(), "/contacts/{contactId}".to_string());
    let message = SPECS
        .check(&op, 200, &json!({"contact": {"id": 1}}))
        .expect_err("invalid body");
    let names_all = [
        "GET /contacts/{contactId}",
        "200",
        "ContactsByIdSuccessfulResponseDto",
        "at /contact/id:",
    ];
    assert!(
        names_all.iter().all(|part| message.contains(part)),
        "{message}"
    );
    let message = SPECS
        .check(&op, 404, &json!({}))
        .expect_err("undocumented status");
    assert!(message.contains("404 is not documented"), "{message}");
}

/// The operations the tests claim are exactly those of contacts.json and oauth.json, so an
/// operation added to the spec without a test fails here.
#[test]
fn every_spec_operation_is_covered() {
    let mut covered = BTreeSet::new();
    for (method, path) in ALL_OPS.iter().flat_map(|ops| ops.iter()) {
        let first = covered.insert((method.to_string(), path.to_string()));
        assert!(first, "{method} {path} is claimed by two tests");
    }
    let in_spec: BTreeSet<_> = SPECS
        .contacts
        .keys()
        .chain(SPECS.oauth.keys())
        .cloned()
        .collect();
    let untested: Vec<_> = in_spec.difference(&covered).collect();
    let unknown: Vec<_> = covered.difference(&in_spec).collect();
    assert!(
        untested.is_empty() && unknown.is_empty(),
        "operations without a test: {untested:?}; tested but not in the spec: {unknown:?}"
    );
    assert_eq!(
        (SPECS.contacts.len(), SPECS.oauth.len()),
        (32, 3),
        "operations in contacts.json, oauth.json"
    );
}
