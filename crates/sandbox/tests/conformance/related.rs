//! What hangs off a contact: tasks, notes, appointments, tags, followers, campaigns and
//! workflows, plus the bulk tag endpoint.

use serde_json::json;

use crate::harness::{id_of, some_contact, Api, BOGUS_TOKEN, MISSING_ID};

/// Claimed by `tasks`.
pub const TASK_OPS: &[(&str, &str)] = &[
    ("GET", "/contacts/{contactId}/tasks"),
    ("POST", "/contacts/{contactId}/tasks"),
    ("GET", "/contacts/{contactId}/tasks/{taskId}"),
    ("PUT", "/contacts/{contactId}/tasks/{taskId}"),
    ("PUT", "/contacts/{contactId}/tasks/{taskId}/completed"),
    ("DELETE", "/contacts/{contactId}/tasks/{taskId}"),
];
/// Claimed by `notes_and_appointments`.
pub const NOTE_OPS: &[(&str, &str)] = &[
    ("GET", "/contacts/{contactId}/notes"),
    ("POST", "/contacts/{contactId}/notes"),
    ("GET", "/contacts/{contactId}/notes/{id}"),
    ("PUT", "/contacts/{contactId}/notes/{id}"),
    ("DELETE", "/contacts/{contactId}/notes/{id}"),
    ("GET", "/contacts/{contactId}/appointments"),
];
/// Claimed by `tags_followers_and_bulk_tags`.
pub const TAG_OPS: &[(&str, &str)] = &[
    ("POST", "/contacts/{contactId}/tags"),
    ("DELETE", "/contacts/{contactId}/tags"),
    ("POST", "/contacts/bulk/tags/update/{type}"),
    ("POST", "/contacts/{contactId}/followers"),
    ("DELETE", "/contacts/{contactId}/followers"),
];
/// Claimed by `campaigns_and_workflows`.
pub const AUTOMATION_OPS: &[(&str, &str)] = &[
    ("POST", "/contacts/{contactId}/campaigns/{campaignId}"),
    ("DELETE", "/contacts/{contactId}/campaigns/{campaignId}"),
    ("DELETE", "/contacts/{contactId}/campaigns/removeAll"),
    ("POST", "/contacts/{contactId}/workflow/{workflowId}"),
    ("DELETE", "/contacts/{contactId}/workflow/{workflowId}"),
];

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
