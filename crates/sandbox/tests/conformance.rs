//! Conformance of the GHL sandbox to GHL's published OpenAPI documents.
//!
//! `spec/ghl/contacts.json` and `spec/ghl/oauth.json` are read at test time. Every one of their
//! operations is called over real HTTP for a documented success status and at least one
//! documented error status, and every answer is validated against the schema the spec declares
//! for that status, made strict (see `conformance/schemas.rs`): objects accept no undeclared
//! property, the properties below in [`REQUIRED`] must be present, and OpenAPI's `nullable` is
//! honoured. The only departures from the published spec are the rows of [`EXTENSIONS`].

#[path = "conformance/harness.rs"]
mod harness;
#[path = "conformance/schemas.rs"]
mod schemas;

use std::collections::BTreeSet;

use serde_json::{json, Value};

use harness::{str_at, Api};
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
pub static REQUIRED: &[(&str, &[&str])] = &[
    (
        "GetContectByIdSchema",
        &[
            "id",
            "locationId",
            "tags",
            "customFields",
            "type",
            "dnd",
            "dateAdded",
            "dateUpdated",
        ],
    ),
    (
        "SearchContactSchema",
        &[
            "id",
            "locationId",
            "tags",
            "customFields",
            "type",
            "dnd",
            "dateAdded",
            "dateUpdated",
            "followers",
            "searchAfter",
        ],
    ),
    (
        "CreateContactSchema",
        &[
            "id",
            "locationId",
            "tags",
            "customFields",
            "type",
            "dnd",
            "deleted",
            "dateAdded",
            "dateUpdated",
        ],
    ),
    (
        "ContactsSearchSchema",
        &[
            "id",
            "locationId",
            "tags",
            "customFields",
            "followers",
            "dateAdded",
        ],
    ),
    ("CustomFieldSchema", &["id", "value"]),
    (
        "ContactsMetaSchema",
        &[
            "total",
            "nextPageUrl",
            "startAfterId",
            "startAfter",
            "currentPage",
            "nextPage",
            "prevPage",
        ],
    ),
    (
        "ContactsSearchSuccessfulResponseDto",
        &["contacts", "count"],
    ),
    ("ContactsByIdSuccessfulResponseDto", &["contact"]),
    ("CreateContactsSuccessfulResponseDto", &["contact"]),
    (
        "UpdateContactsSuccessfulResponseDto",
        &["succeded", "contact"],
    ),
    (
        "UpsertContactsSuccessfulResponseDto",
        &["new", "contact", "traceId"],
    ),
    ("DeleteContactsSuccessfulResponseDto", &["succeded"]),
    ("DuplicateContactResponseDto", &["contact"]),
    ("SearchContactsResponseDto", &["contacts", "total"]),
    ("ContactsBulkUpateResponse", &["success", "ids"]),
    (
        "TaskSchema",
        &["id", "title", "dueDate", "completed", "contactId"],
    ),
    ("TasksListSuccessfulResponseDto", &["tasks"]),
    ("TaskByIsSuccessfulResponseDto", &["task"]),
    ("DeleteTaskSuccessfulResponseDto", &["succeded"]),
    (
        "GetNoteSchema",
        &["id", "body", "contactId", "dateAdded", "pinned"],
    ),
    ("GetNotesListSuccessfulResponseDto", &["notes"]),
    ("GetCreateUpdateNoteSuccessfulResponseDto", &["note"]),
    ("DeleteNoteSuccessfulResponseDto", &["succeded"]),
    (
        "GetEventSchema",
        &[
            "id",
            "calendarId",
            "status",
            "title",
            "startTime",
            "endTime",
            "locationId",
            "contactId",
        ],
    ),
    ("GetEventsSuccessfulResponseDto", &["events"]),
    ("CreateAddTagSuccessfulResponseDto", &["tags"]),
    ("CreateDeleteTagSuccessfulResponseDto", &["tags"]),
    (
        "CreateAddFollowersSuccessfulResponseDto",
        &["followers", "followersAdded"],
    ),
    (
        "DeleteFollowersSuccessfulResponseDto",
        &["followers", "followersRemoved"],
    ),
    (
        "CreateDeleteCantactsCampaignsSuccessfulResponseDto",
        &["succeded"],
    ),
    ("ContactsWorkflowSuccessfulResponseDto", &["succeded"]),
    (
        "GetAccessCodeSuccessfulResponseDto",
        &[
            "access_token",
            "token_type",
            "expires_in",
            "refresh_token",
            "scope",
            "userType",
            "companyId",
        ],
    ),
    (
        "GetLocationAccessTokenSuccessfulResponseDto",
        &[
            "access_token",
            "token_type",
            "expires_in",
            "scope",
            "locationId",
        ],
    ),
    (
        "GetInstalledLocationsSuccessfulResponseDto",
        &["locations", "count"],
    ),
    ("InstalledLocationSchema", &["isInstalled"]),
];

// ---------- which test covers which operations ----------

const CONTACT_OPS: &[(&str, &str)] = &[
    ("POST", "/contacts/"),
    ("GET", "/contacts/{contactId}"),
    ("PUT", "/contacts/{contactId}"),
    ("DELETE", "/contacts/{contactId}"),
    ("POST", "/contacts/upsert"),
];
const LIST_OPS: &[(&str, &str)] = &[
    ("GET", "/contacts/"),
    ("GET", "/contacts/business/{businessId}"),
    ("POST", "/contacts/bulk/business"),
    ("GET", "/contacts/search/duplicate"),
    ("POST", "/contacts/search"),
];
const TASK_OPS: &[(&str, &str)] = &[
    ("GET", "/contacts/{contactId}/tasks"),
    ("POST", "/contacts/{contactId}/tasks"),
    ("GET", "/contacts/{contactId}/tasks/{taskId}"),
    ("PUT", "/contacts/{contactId}/tasks/{taskId}"),
    ("PUT", "/contacts/{contactId}/tasks/{taskId}/completed"),
    ("DELETE", "/contacts/{contactId}/tasks/{taskId}"),
];
const NOTE_OPS: &[(&str, &str)] = &[
    ("GET", "/contacts/{contactId}/notes"),
    ("POST", "/contacts/{contactId}/notes"),
    ("GET", "/contacts/{contactId}/notes/{id}"),
    ("PUT", "/contacts/{contactId}/notes/{id}"),
    ("DELETE", "/contacts/{contactId}/notes/{id}"),
    ("GET", "/contacts/{contactId}/appointments"),
];
const TAG_OPS: &[(&str, &str)] = &[
    ("POST", "/contacts/{contactId}/tags"),
    ("DELETE", "/contacts/{contactId}/tags"),
    ("POST", "/contacts/bulk/tags/update/{type}"),
    ("POST", "/contacts/{contactId}/followers"),
    ("DELETE", "/contacts/{contactId}/followers"),
];
const AUTOMATION_OPS: &[(&str, &str)] = &[
    ("POST", "/contacts/{contactId}/campaigns/{campaignId}"),
    ("DELETE", "/contacts/{contactId}/campaigns/{campaignId}"),
    ("DELETE", "/contacts/{contactId}/campaigns/removeAll"),
    ("POST", "/contacts/{contactId}/workflow/{workflowId}"),
    ("DELETE", "/contacts/{contactId}/workflow/{workflowId}"),
];
const OAUTH_OPS: &[(&str, &str)] = &[
    ("POST", "/oauth/token"),
    ("POST", "/oauth/locationToken"),
    ("GET", "/oauth/installedLocations"),
];
const ALL_OPS: &[&[(&str, &str)]] = &[
    CONTACT_OPS,
    LIST_OPS,
    TASK_OPS,
    NOTE_OPS,
    TAG_OPS,
    AUTOMATION_OPS,
    OAUTH_OPS,
];

// ---------- helpers ----------

const BOGUS_TOKEN: &str = "pit-not-a-real-token";
const MISSING_ID: &str = "NoSuchIdNoSuchId0000";

/// A contact with every kind of field, so that the strict schemas see them all.
async fn create_rich_contact(api: &Api, email: &str, phone: &str) -> Value {
    let body = json!({
        "locationId": api.location_id,
        "firstName": "Ada", "lastName": "Lovelace", "email": email, "phone": phone,
        "companyName": "Analytical Engines", "address1": "12 St James's Square", "city": "London",
        "state": "LDN", "postalCode": "SW1Y", "country": "GB", "website": "https://example.org",
        "timezone": "Europe/London", "source": "conformance", "dateOfBirth": "1815-12-10",
        "tags": ["Investor", "vip"], "dnd": false,
        "dndSettings": {"SMS": {"status": "active", "message": "opted out", "code": "STOP"}},
        "customFields": [
            {"key": "contact.lead_score", "field_value": 42},
            {"key": "contact.interests", "field_value": ["Land", "Retail"]},
            {"key": "contact.referral_code", "field_value": "ADA-1815"}
        ]
    });
    api.call("POST", "/contacts/").json(body).expect(201).await
}

fn id_of(body: &Value, pointer: &str) -> String {
    str_at(body, pointer).to_string()
}

/// A contact to hang tasks, notes, tags… on.
fn some_contact(api: &Api) -> String {
    let store = api.sandbox.state.store.read();
    let mut ids: Vec<&String> = store.contacts.keys().collect();
    ids.sort();
    ids.first().map(|s| s.to_string()).expect("seeded contacts")
}

// ---------- the operations ----------

#[tokio::test]
async fn contact_crud_and_upsert() {
    let api = Api::start().await;
    let read_only = api.token_with(&["contacts.readonly"]).await;

    let created = create_rich_contact(&api, "ada@example.org", "+15559990001").await;
    let id = id_of(&created, "/contact/id");
    assert_eq!(created["contact"]["locationId"], json!(api.location_id));
    let dup = api
        .call("POST", "/contacts/")
        .json(
            json!({"locationId": api.location_id, "firstName": "Ada", "email": "ADA@example.org"}),
        )
        .expect(400)
        .await;
    assert_eq!(
        dup["meta"]["contactId"],
        json!(id),
        "duplicate names the existing contact"
    );
    api.call("POST", "/contacts/")
        .json(json!({"locationId": api.location_id, "email": "not-an-email"}))
        .expect(422)
        .await;
    api.call("POST", "/contacts/")
        .bearer(&read_only)
        .json(json!({"locationId": api.location_id}))
        .expect(401)
        .await;

    let got = api
        .call("GET", "/contacts/{contactId}")
        .path("contactId", &id)
        .expect(200)
        .await;
    assert_eq!(got["contact"]["email"], json!("ada@example.org"));
    assert_eq!(
        got["contact"]["customFields"].as_array().map(Vec::len),
        Some(3)
    );
    api.call("GET", "/contacts/{contactId}")
        .path("contactId", MISSING_ID)
        .expect(400)
        .await;
    api.call("GET", "/contacts/{contactId}")
        .path("contactId", &id)
        .bearer(BOGUS_TOKEN)
        .expect(401)
        .await;

    let updated = api
        .call("PUT", "/contacts/{contactId}")
        .path("contactId", &id)
        .json(json!({"firstName": "Augusta", "tags": ["founder"], "dnd": true}))
        .expect(200)
        .await;
    assert_eq!(updated["contact"]["firstName"], json!("Augusta"));
    api.call("PUT", "/contacts/{contactId}")
        .path("contactId", &id)
        .json(json!({"email": "nope"}))
        .expect(422)
        .await;
    api.call("PUT", "/contacts/{contactId}")
        .path("contactId", MISSING_ID)
        .json(json!({"firstName": "X"}))
        .expect(400)
        .await;

    let same = api
        .call("POST", "/contacts/upsert")
        .json(json!({"locationId": api.location_id, "email": "ada@example.org", "tags": ["upserted"]}))
        .expect(200)
        .await;
    assert_eq!(
        (same["new"].clone(), same["contact"]["id"].clone()),
        (json!(false), json!(id))
    );
    let fresh = api
        .call("POST", "/contacts/upsert")
        .json(json!({"locationId": api.location_id, "firstName": "Charles", "email": "babbage@example.org"}))
        .expect(200)
        .await;
    assert_eq!(fresh["new"], json!(true));
    api.call("POST", "/contacts/upsert")
        .json(json!({"email": "x@example.org"}))
        .expect(422)
        .await;
    api.call("POST", "/contacts/upsert")
        .bearer(&read_only)
        .json(json!({"locationId": api.location_id}))
        .expect(401)
        .await;

    api.call("DELETE", "/contacts/{contactId}")
        .path("contactId", &id)
        .bearer(&read_only)
        .expect(401)
        .await;
    api.call("DELETE", "/contacts/{contactId}")
        .path("contactId", &id)
        .expect(200)
        .await;
    api.call("DELETE", "/contacts/{contactId}")
        .path("contactId", &id)
        .expect(400)
        .await;

    api.assert_covered(CONTACT_OPS);
    api.stop().await;
}

#[tokio::test]
async fn lists_search_and_duplicates() {
    let api = Api::start().await;
    let loc = api.location_id.clone();
    let a = id_of(
        &create_rich_contact(&api, "list-a@example.org", "+15559990101").await,
        "/contact/id",
    );
    let b = id_of(
        &create_rich_contact(&api, "list-b@example.org", "+15559990102").await,
        "/contact/id",
    );

    let page = api
        .call("GET", "/contacts/")
        .query("locationId", &loc)
        .query("limit", "5")
        .expect(200)
        .await;
    assert_eq!(page["contacts"].as_array().map(Vec::len), Some(5));
    assert!(
        page["meta"]["nextPageUrl"].is_string(),
        "a first page links the next one"
    );
    let all = api
        .call("GET", "/contacts/")
        .query("locationId", &loc)
        .query("limit", "100")
        .expect(200)
        .await;
    assert!(
        all["meta"]["nextPageUrl"].is_null() && all["meta"]["nextPage"].is_null(),
        "last page: {}",
        all["meta"]
    );
    api.call("GET", "/contacts/")
        .query("locationId", &loc)
        .query("limit", "500")
        .expect(422)
        .await;
    api.call("GET", "/contacts/")
        .query("locationId", &loc)
        .query("startAfterId", MISSING_ID)
        .expect(400)
        .await;
    api.call("GET", "/contacts/")
        .query("locationId", &loc)
        .bearer(BOGUS_TOKEN)
        .expect(401)
        .await;

    let business = api.sandbox.state.store.read().locations[0].businesses[0]
        .id
        .clone();
    let linked = api
        .call("POST", "/contacts/bulk/business")
        .json(json!({"locationId": loc, "ids": [a, b], "businessId": business}))
        .expect(200)
        .await;
    assert_eq!(linked["success"], json!(true));
    api.call("POST", "/contacts/bulk/business")
        .json(json!({"locationId": loc, "businessId": business}))
        .expect(422)
        .await;
    let of_business = api
        .call("GET", "/contacts/business/{businessId}")
        .path("businessId", &business)
        .query("locationId", &loc)
        .expect(200)
        .await;
    let ids: BTreeSet<&str> = of_business["contacts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(
        ids.contains(a.as_str()) && ids.contains(b.as_str()),
        "business list: {ids:?}"
    );
    api.call("GET", "/contacts/business/{businessId}")
        .path("businessId", &business)
        .expect(422)
        .await;
    api.call("GET", "/contacts/business/{businessId}")
        .path("businessId", &business)
        .query("locationId", &loc)
        .bearer(BOGUS_TOKEN)
        .expect(401)
        .await;
    let unlinked = api
        .call("POST", "/contacts/bulk/business")
        .json(json!({"locationId": loc, "ids": [b], "businessId": null}))
        .expect(200)
        .await;
    assert_eq!(unlinked["ids"], json!([b]));

    let dup = api
        .call("GET", "/contacts/search/duplicate")
        .query("locationId", &loc)
        .query("email", "list-a@example.org")
        .expect(200)
        .await;
    assert_eq!(dup["contact"]["id"], json!(a));
    let none = api
        .call("GET", "/contacts/search/duplicate")
        .query("locationId", &loc)
        .query("email", "nobody@example.org")
        .expect(200)
        .await;
    assert!(none["contact"].is_null());
    api.call("GET", "/contacts/search/duplicate")
        .query("locationId", &loc)
        .query("email", "x@example.org")
        .no_version()
        .expect(400)
        .await;
    api.call("GET", "/contacts/search/duplicate")
        .query("locationId", &loc)
        .bearer(BOGUS_TOKEN)
        .expect(401)
        .await;

    let search = |body: Value| api.call("POST", "/contacts/search").json(body);
    let first = search(json!({"locationId": loc, "pageLimit": 5, "sort": [{"field": "dateAdded", "direction": "asc"}]}))
        .expect(200)
        .await;
    assert_eq!(first["total"], json!(22));
    let cursor = first["contacts"][4]["searchAfter"].clone();
    let next = search(
        json!({"locationId": loc, "pageLimit": 5, "searchAfter": cursor,
                             "sort": [{"field": "dateAdded", "direction": "asc"}]}),
    )
    .expect(200)
    .await;
    assert_ne!(next["contacts"][0]["id"], first["contacts"][0]["id"]);
    let filtered = search(json!({"locationId": loc, "filters": [{"field": "email", "operator": "eq", "value": "list-b@example.org"}]}))
        .expect(200)
        .await;
    assert_eq!(filtered["contacts"][0]["id"], json!(b));
    search(json!({"locationId": loc, "page": 100, "pageLimit": 500}))
        .expect(400)
        .await;
    search(json!({"locationId": loc}))
        .bearer(BOGUS_TOKEN)
        .expect(401)
        .await;

    api.assert_covered(LIST_OPS);
    api.stop().await;
}

#[tokio::test]
async fn tasks() {
    let api = Api::start().await;
    let cid = some_contact(&api);
    let read_only = api.token_with(&["contacts.readonly"]).await;
    let tasks = |m: &str| {
        api.call(m, "/contacts/{contactId}/tasks")
            .path("contactId", &cid)
    };
    let task = |m: &str, tid: &str| {
        api.call(m, "/contacts/{contactId}/tasks/{taskId}")
            .path("contactId", &cid)
            .path("taskId", tid)
    };

    let created = tasks("POST")
        .json(json!({"title": "Call back", "body": "About the offering", "dueDate": "2026-03-01T10:00:00Z",
                     "completed": false, "assignedTo": "user0000000000000001"}))
        .expect(201)
        .await;
    let tid = id_of(&created, "/task/id");
    tasks("POST")
        .json(json!({"body": "no title"}))
        .expect(422)
        .await;
    tasks("POST")
        .bearer(&read_only)
        .json(json!({"title": "t", "dueDate": "2026-03-01T10:00:00Z", "completed": false}))
        .expect(401)
        .await;
    api.call("POST", "/contacts/{contactId}/tasks")
        .path("contactId", MISSING_ID)
        .json(json!({"title": "t", "dueDate": "2026-03-01T10:00:00Z", "completed": false}))
        .expect(400)
        .await;

    let list = tasks("GET").expect(200).await;
    assert!(list["tasks"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t["id"] == json!(tid))));
    api.call("GET", "/contacts/{contactId}/tasks")
        .path("contactId", MISSING_ID)
        .expect(400)
        .await;
    tasks("GET").bearer(BOGUS_TOKEN).expect(401).await;

    task("GET", &tid).expect(200).await;
    task("GET", MISSING_ID).expect(400).await;
    let updated = task("PUT", &tid)
        .json(json!({"title": "Call back (moved)", "dueDate": "2026-03-02T10:00:00Z"}))
        .expect(200)
        .await;
    assert_eq!(updated["task"]["title"], json!("Call back (moved)"));
    task("PUT", &tid)
        .json(json!({"title": 5}))
        .expect(422)
        .await;

    let completed = |tid: &str| {
        api.call("PUT", "/contacts/{contactId}/tasks/{taskId}/completed")
            .path("contactId", &cid)
            .path("taskId", tid)
    };
    let done = completed(&tid)
        .json(json!({"completed": true}))
        .expect(200)
        .await;
    assert_eq!(done["task"]["completed"], json!(true));
    completed(&tid).json(json!({})).expect(422).await;
    completed(MISSING_ID)
        .json(json!({"completed": true}))
        .expect(400)
        .await;

    task("DELETE", &tid).expect(200).await;
    task("DELETE", &tid).expect(400).await;

    api.assert_covered(TASK_OPS);
    api.stop().await;
}

#[tokio::test]
async fn notes_and_appointments() {
    let api = Api::start().await;
    let cid = some_contact(&api);
    let notes = |m: &str| {
        api.call(m, "/contacts/{contactId}/notes")
            .path("contactId", &cid)
    };
    let note = |m: &str, nid: &str| {
        api.call(m, "/contacts/{contactId}/notes/{id}")
            .path("contactId", &cid)
            .path("id", nid)
    };

    let created = notes("POST")
        .json(json!({"body": "Met at the conference.", "userId": "user0000000000000001", "title": "Intro",
                     "color": "#FFAA00", "pinned": true}))
        .expect(201)
        .await;
    let nid = id_of(&created, "/note/id");
    notes("POST")
        .json(json!({"title": "no body"}))
        .expect(422)
        .await;
    api.call("POST", "/contacts/{contactId}/notes")
        .path("contactId", MISSING_ID)
        .json(json!({"body": "x"}))
        .expect(400)
        .await;

    let list = notes("GET").expect(200).await;
    assert!(list["notes"]
        .as_array()
        .is_some_and(|n| n.iter().any(|n| n["id"] == json!(nid))));
    notes("GET").bearer(BOGUS_TOKEN).expect(401).await;
    note("GET", &nid).expect(200).await;
    note("GET", MISSING_ID).expect(400).await;
    let updated = note("PUT", &nid)
        .json(json!({"body": "Met at the conference; call in May.", "pinned": false}))
        .expect(200)
        .await;
    assert_eq!(updated["note"]["pinned"], json!(false));
    note("PUT", &nid).json(json!({"body": 5})).expect(422).await;
    note("DELETE", &nid).expect(200).await;
    note("DELETE", &nid).expect(400).await;

    api.admin_post(
        &format!("/contacts/{cid}/appointments"),
        json!({"title": "Intro call", "startTime": "2026-03-03T15:00:00.000Z", "endTime": "2026-03-03T15:30:00.000Z"}),
    )
    .await;
    let appointments = |id: &str| {
        api.call("GET", "/contacts/{contactId}/appointments")
            .path("contactId", id)
    };
    let events = appointments(&cid).expect(200).await;
    assert!(
        events["events"].as_array().is_some_and(|e| !e.is_empty()),
        "booked appointment is listed"
    );
    appointments(MISSING_ID).expect(400).await;
    appointments(&cid).bearer(BOGUS_TOKEN).expect(401).await;

    api.assert_covered(NOTE_OPS);
    api.stop().await;
}

#[tokio::test]
async fn tags_followers_and_bulk_tags() {
    let api = Api::start().await;
    let cid = some_contact(&api);
    let read_only = api.token_with(&["contacts.readonly"]).await;
    let tags = |m: &str| {
        api.call(m, "/contacts/{contactId}/tags")
            .path("contactId", &cid)
    };
    let followers = |m: &str| {
        api.call(m, "/contacts/{contactId}/followers")
            .path("contactId", &cid)
    };

    let added = tags("POST")
        .json(json!({"tags": ["Conformance", "second"]}))
        .expect(201)
        .await;
    assert!(
        added["tags"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("conformance"))),
        "tags are lower-cased: {added}"
    );
    tags("POST").json(json!({})).expect(422).await;
    tags("POST")
        .bearer(&read_only)
        .json(json!({"tags": ["x"]}))
        .expect(401)
        .await;
    let removed = tags("DELETE")
        .json(json!({"tags": ["second"]}))
        .expect(200)
        .await;
    assert!(!removed["tags"]
        .as_array()
        .is_some_and(|t| t.contains(&json!("second"))));
    tags("DELETE")
        .json(json!({"tags": "second"}))
        .expect(422)
        .await;

    let users = ["user0000000000000001", "user0000000000000002"];
    let f = followers("POST")
        .json(json!({"followers": users}))
        .expect(201)
        .await;
    assert_eq!(f["followersAdded"], json!(users));
    followers("POST").json(json!({})).expect(422).await;
    let f = followers("DELETE")
        .json(json!({"followers": [users[0]]}))
        .expect(200)
        .await;
    assert_eq!(f["followersRemoved"], json!([users[0]]));
    followers("DELETE")
        .json(json!({"followers": [1]}))
        .expect(422)
        .await;

    let bulk = |kind: &str| {
        api.call("POST", "/contacts/bulk/tags/update/{type}")
            .path("type", kind)
    };
    let loc = api.location_id.clone();
    let result = bulk("add")
        .json(json!({"locationId": loc, "contacts": [cid, MISSING_ID], "tags": ["bulk"]}))
        .expect(201)
        .await;
    assert_eq!(
        (result["succeded"].clone(), result["errorCount"].clone()),
        (json!(false), json!(1))
    );
    bulk("remove")
        .json(json!({"locationId": loc, "contacts": [cid], "tags": [], "removeAllTags": true}))
        .expect(201)
        .await;
    bulk("swap")
        .json(json!({"locationId": loc, "contacts": [cid], "tags": ["x"]}))
        .expect(400)
        .await;
    bulk("add")
        .json(json!({"locationId": loc, "tags": ["x"]}))
        .expect(422)
        .await;

    api.assert_covered(TAG_OPS);
    api.stop().await;
}

#[tokio::test]
async fn campaigns_and_workflows() {
    let api = Api::start().await;
    let cid = some_contact(&api);
    let campaign = |m: &str, id: &str| {
        api.call(m, "/contacts/{contactId}/campaigns/{campaignId}")
            .path("contactId", id)
            .path("campaignId", "campaign000000000001")
    };
    let workflow = |m: &str, id: &str| {
        api.call(m, "/contacts/{contactId}/workflow/{workflowId}")
            .path("contactId", id)
            .path("workflowId", "workflow000000000001")
    };
    let remove_all = |id: &str| {
        api.call("DELETE", "/contacts/{contactId}/campaigns/removeAll")
            .path("contactId", id)
    };

    campaign("POST", &cid).json(json!({})).expect(201).await;
    campaign("POST", MISSING_ID)
        .json(json!({}))
        .expect(400)
        .await;
    campaign("DELETE", &cid).expect(200).await;
    campaign("DELETE", MISSING_ID).expect(400).await;
    remove_all(&cid).expect(200).await;
    remove_all(MISSING_ID).expect(400).await;
    remove_all(&cid).bearer(BOGUS_TOKEN).expect(401).await;

    workflow("POST", &cid)
        .json(json!({"eventStartTime": "2026-06-23T03:30:00+01:00"}))
        .expect(200)
        .await;
    workflow("POST", &cid)
        .json(json!({"eventStartTime": "next tuesday"}))
        .expect(422)
        .await;
    workflow("DELETE", &cid).json(json!({})).expect(200).await;
    workflow("DELETE", MISSING_ID)
        .json(json!({}))
        .expect(400)
        .await;
    workflow("DELETE", &cid)
        .json(json!({"eventStartTime": 5}))
        .expect(422)
        .await;

    api.assert_covered(AUTOMATION_OPS);
    api.stop().await;
}

// ---------- OAuth ----------

const REDIRECT_URI: &str = "http://127.0.0.1:9/oauth/callback";

fn unescape_html(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Runs the consent flow as a browser would: opens the chooselocation page, follows the "Allow"
/// link of our location, and takes `code` from the redirect (which is not followed).
async fn consent_code(api: &Api, client_id: &str, scope: &str) -> String {
    let page = api
        .http
        .get(format!("{}/oauth/chooselocation", api.base))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT_URI),
            ("scope", scope),
        ])
        .send()
        .await
        .expect("consent page");
    assert_eq!(page.status().as_u16(), 200, "consent page");
    let html = page.text().await.expect("consent html");
    let marker = format!("data-location-id=\"{}\"", api.location_id);
    let link = html
        .split("<a ")
        .find(|a| a.contains(&marker))
        .unwrap_or_else(|| panic!("no Allow link for our location in {html}"));
    let href = link
        .split("href=\"")
        .nth(1)
        .and_then(|h| h.split('"').next())
        .expect("Allow link has an href");
    let approve = api
        .http
        .get(format!("{}{}", api.base, unescape_html(href)))
        .send()
        .await
        .expect("approve");
    assert_eq!(
        approve.status().as_u16(),
        302,
        "approving redirects back to the app"
    );
    let location = approve.headers()["location"]
        .to_str()
        .expect("location header")
        .to_string();
    assert!(
        location.starts_with(REDIRECT_URI),
        "redirect goes to redirect_uri: {location}"
    );
    let url = reqwest::Url::parse(&location).expect("redirect URL");
    let code = url
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned());
    code.expect("redirect carries code")
}

#[tokio::test]
async fn oauth_consent_tokens_and_agency_endpoints() {
    let api = Api::start().await;
    let creds = api.sandbox.credentials();
    let (client_id, secret) = (creds.client_id.as_str(), creds.client_secret.as_str());
    let token = |form: &[(&str, &str)]| {
        api.call("POST", "/oauth/token")
            .no_auth()
            .no_version()
            .form(form)
    };

    let code = consent_code(&api, client_id, "contacts.readonly contacts.write").await;
    let exchange = [
        ("client_id", client_id),
        ("client_secret", secret),
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("user_type", "Location"),
    ];
    let issued = token(&exchange).expect(200).await;
    assert_eq!(
        (issued["userType"].clone(), issued["locationId"].clone()),
        (json!("Location"), json!(api.location_id))
    );
    let works = api
        .http
        .get(format!("{}/contacts/", api.base))
        .query(&[("locationId", api.location_id.as_str())])
        .bearer_auth(str_at(&issued, "/access_token"))
        .header("Version", harness::VERSION)
        .send()
        .await
        .expect("call with the OAuth token");
    assert_eq!(
        works.status().as_u16(),
        200,
        "the exchanged access token works"
    );
    token(&exchange).expect(400).await;

    let first_refresh = str_at(&issued, "/refresh_token").to_string();
    let refresh = |rt: &str, secret: &str| {
        let form = [
            ("client_id", client_id),
            ("client_secret", secret),
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
        ];
        api.call("POST", "/oauth/token")
            .no_auth()
            .no_version()
            .form(&form)
    };
    let refreshed = refresh(&first_refresh, secret).expect(200).await;
    assert_ne!(
        str_at(&refreshed, "/refresh_token"),
        first_refresh,
        "refresh tokens rotate"
    );
    let reused = refresh(&first_refresh, secret).expect(400).await;
    assert_eq!(reused["error"], json!("invalid_grant"));
    refresh(str_at(&refreshed, "/refresh_token"), "wrong-secret")
        .expect(401)
        .await;
    token(&[("client_id", client_id), ("client_secret", secret)])
        .expect(422)
        .await;

    let agency_code = consent_code(
        &api,
        client_id,
        "oauth.readonly oauth.write contacts.readonly contacts.write",
    )
    .await;
    let agency = token(&[
        ("client_id", client_id),
        ("client_secret", secret),
        ("grant_type", "authorization_code"),
        ("code", agency_code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("user_type", "Company"),
    ])
    .expect(200)
    .await;
    assert_eq!(agency["userType"], json!("Company"));
    let agency_token = str_at(&agency, "/access_token").to_string();
    let location_token = |form: &[(&str, &str)]| {
        api.call("POST", "/oauth/locationToken")
            .bearer(&agency_token)
            .form(form)
    };
    let for_location = [
        ("companyId", creds.company_id.as_str()),
        ("locationId", api.location_id.as_str()),
    ];
    let lt = location_token(&for_location).expect(200).await;
    assert_eq!(lt["locationId"], json!(api.location_id));
    location_token(&[("companyId", creds.company_id.as_str())])
        .expect(422)
        .await;
    location_token(&for_location).no_version().expect(400).await;
    location_token(&for_location)
        .bearer(str_at(&issued, "/access_token"))
        .expect(401)
        .await;

    let installed = |app: &str| {
        api.call("GET", "/oauth/installedLocations")
            .bearer(&agency_token)
            .query("companyId", &creds.company_id)
            .query("appId", app)
    };
    let list = installed(client_id).expect(200).await;
    let ours = list["locations"].as_array().and_then(|l| {
        l.iter()
            .find(|l| l["_id"] == json!(api.location_id))
            .cloned()
    });
    assert_eq!(
        ours.map(|l| l["isInstalled"].clone()),
        Some(json!(true)),
        "installed on our location: {list}"
    );
    api.call("GET", "/oauth/installedLocations")
        .bearer(&agency_token)
        .query("companyId", &creds.company_id)
        .expect(422)
        .await;
    installed(client_id).bearer(BOGUS_TOKEN).expect(401).await;
    installed("no-such-app").expect(400).await;

    api.assert_covered(OAUTH_OPS);
    api.stop().await;
}

// ---------- the suite itself ----------

/// The strict schemas do reject what the spec does not allow, with JSON pointers in the report.
#[test]
fn strict_schemas_reject_undocumented_shapes() {
    let contact = json!({"id": "c1", "locationId": "l1", "tags": [], "customFields": [{"id": "f", "value": 3}],
                         "type": "lead", "dnd": false, "dateAdded": "2026-01-01T00:00:00.000Z",
                         "dateUpdated": "2026-01-01T00:00:00.000Z"});
    SPECS
        .validate(
            "ContactsByIdSuccessfulResponseDto",
            &json!({"contact": contact}),
        )
        .expect("a valid contact passes");

    let mut extra = contact.clone();
    extra["favouriteColour"] = json!("teal");
    let errors = SPECS
        .validate(
            "ContactsByIdSuccessfulResponseDto",
            &json!({"contact": extra}),
        )
        .expect_err("extra property");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("at /contact:") && e.contains("favouriteColour")),
        "{errors:?}"
    );

    let mut no_id = contact.clone();
    no_id.as_object_mut().map(|m| m.remove("id"));
    let errors = SPECS
        .validate(
            "ContactsByIdSuccessfulResponseDto",
            &json!({"contact": no_id}),
        )
        .expect_err("missing id");
    assert!(errors.iter().any(|e| e.contains("\"id\"")), "{errors:?}");

    let errors = SPECS
        .validate(
            "TaskByIsSuccessfulResponseDto",
            &json!({"task": {"id": "t", "title": "x",
        "dueDate": "d", "completed": "yes", "contactId": "c"}}),
        )
        .expect_err("wrong type");
    assert!(
        errors.iter().any(|e| e.contains("at /task/completed:")),
        "{errors:?}"
    );

    let errors = SPECS
        .validate(
            "UnprocessableDTO",
            &json!({"statusCode": 422, "message": "one string", "error": "x"}),
        )
        .expect_err("422 message must be a list");
    assert!(
        errors.iter().any(|e| e.contains("at /message:")),
        "{errors:?}"
    );

    let op = ("GET".to_string(), "/contacts/{contactId}".to_string());
    let message = SPECS
        .check(&op, 200, &json!({"contact": {"id": 1}}))
        .expect_err("invalid body");
    assert!(
        message.contains("GET /contacts/{contactId}")
            && message.contains("200")
            && message.contains("at /contact/id:"),
        "{message}"
    );
    let message = SPECS
        .check(&op, 404, &json!({}))
        .expect_err("undocumented status");
    assert!(message.contains("404 is not documented"), "{message}");
}

/// Every operation of both spec files is covered by exactly one test above.
#[test]
fn every_spec_operation_is_covered() {
    let mut covered = BTreeSet::new();
    for (method, path) in ALL_OPS.iter().flat_map(|ops| ops.iter()) {
        assert!(
            covered.insert((method.to_string(), path.to_string())),
            "{method} {path} is listed twice"
        );
    }
    assert_eq!(SPECS.contacts.len(), 32, "contacts.json has 32 operations");
    assert_eq!(SPECS.oauth.len(), 3, "oauth.json has 3 operations");
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
}
