//! Tasks and notes in the SalesNexus emulator over real HTTP: tasks page with `pageNumber`
//! (`page` is ignored: a trap for clients that use one name everywhere) inside a
//! `{data,pagination}` envelope with `pageSize` cut to 200, `scope` own/all, date filters, task
//! CRUD with `completedAt`, Meeting-type tasks in the seed; notes as a flat array filtered by
//! contact and paged with `page`; text 422 bodies naming `title` and `noteText`.

mod salesnexus_support;

use std::collections::BTreeSet;

use reqwest::Method;
use salesnexus_support::{ids, start};
use serde_json::{json, Value};

#[tokio::test]
async fn tasks_page_with_page_number_not_page() {
    let (_sb, api) = start(|c| c.contacts = 40).await;
    let first = api
        .get("/tasks?scope=all&pageNumber=1&pageSize=10")
        .await
        .expect(200)
        .json();
    let total = first["pagination"]["totalCount"]
        .as_u64()
        .expect("totalCount");
    assert!(total > 20, "{total}");
    assert_eq!(first["pagination"]["pageNumber"], 1);
    assert_eq!(first["pagination"]["pageSize"], 10);
    assert!(
        first.get("totalItems").is_none(),
        "not the contacts envelope"
    );
    let second = api
        .get("/tasks?scope=all&pageNumber=2&pageSize=10")
        .await
        .expect(200)
        .json();
    assert_ne!(ids(&first["data"]), ids(&second["data"]));
    let wrong_name = api
        .get("/tasks?scope=all&page=2&pageSize=10")
        .await
        .expect(200)
        .json();
    assert_eq!(
        ids(&wrong_name["data"]),
        ids(&first["data"]),
        "`page` is not a tasks parameter"
    );
    let big = api
        .get("/tasks?scope=all&pageNumber=1&pageSize=1000")
        .await
        .expect(200)
        .json();
    assert_eq!(big["pagination"]["pageSize"], 200);
    let mut seen = BTreeSet::new();
    for n in 1.. {
        let page = api
            .get(&format!("/tasks?scope=all&pageNumber={n}&pageSize=7"))
            .await
            .expect(200)
            .json();
        let got = ids(&page["data"]);
        if got.is_empty() {
            break;
        }
        seen.extend(got);
    }
    assert_eq!(seen.len() as u64, total, "every task once");
    let meetings: Vec<Value> = big["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|t| t["type"] == "Meeting")
        .collect();
    assert!(!meetings.is_empty(), "the seed has Meeting-type tasks");
    assert!(
        meetings.iter().all(|m| m["dateFrom"].is_string()
            && m["dateTo"].is_string()
            && m["dateFrom"].as_str() < m["dateTo"].as_str()),
        "{meetings:?}"
    );
}

#[tokio::test]
async fn scope_and_date_filters() {
    let (_sb, api) = start(|c| c.contacts = 30).await;
    let all = api
        .get("/tasks?scope=all&pageSize=200")
        .await
        .expect(200)
        .json();
    let own = api.get("/tasks?pageSize=200").await.expect(200).json();
    let own_ids = ids(&own["data"]);
    assert!(!own_ids.is_empty() && own_ids.len() < ids(&all["data"]).len());
    assert!(
        own["data"]
            .as_array()
            .is_some_and(|a| a.iter().all(|t| t["assignedToUserId"] == 1)),
        "own is the default"
    );
    let theirs = all["data"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["assignedToUserId"] != 1))
        .cloned()
        .expect("another user's task");
    let id = theirs["id"].as_i64().unwrap_or_default();
    api.get(&format!("/tasks/{id}")).await.expect(404);
    api.get(&format!("/tasks/{id}?scope=all")).await.expect(200);
    api.get("/tasks?scope=everyone").await.expect(400);

    let day = theirs["dateFrom"].as_str().unwrap_or_default()[..10].to_string();
    let on_day = api
        .get(&format!(
            "/tasks?scope=all&pageSize=200&startDate={day}&endDate={day}"
        ))
        .await
        .expect(200)
        .json();
    let rows = on_day["data"].as_array().cloned().unwrap_or_default();
    assert!(rows.iter().any(|t| t["id"] == id), "{day}");
    assert!(rows
        .iter()
        .all(|t| t["dateFrom"].as_str().is_some_and(|d| d.starts_with(&day))));
    api.get("/tasks?startDate=01/02/2025").await.expect(400);
}

#[tokio::test]
async fn task_crud_with_completion() {
    let (_sb, api) = start(|c| c.contacts = 2).await;
    let contact = ids(&api.get("/contacts").await.json()["data"])[0];
    let no_title = api
        .post("/tasks", json!({"contactId": contact}))
        .await
        .expect(422);
    assert_eq!(no_title.text, "title is required");
    let bad_contact = api
        .post("/tasks", json!({"title": "T", "contactId": 123456}))
        .await
        .expect(422);
    assert!(
        bad_contact.text.contains("contactId 123456"),
        "{}",
        bad_contact.text
    );
    let t = api
        .post("/tasks", json!({"title": "Demo", "type": "Meeting", "priority": "High", "status": "Completed",
            "dateFrom": "2026-03-01T15:00:00Z", "dateTo": "2026-03-01T16:00:00+00:00", "contactId": contact}))
        .await
        .expect(201)
        .json();
    assert_eq!(t["status"], "Pending", "status is set on update only");
    assert_eq!(
        (t["type"].clone(), t["priority"].clone()),
        (json!("Meeting"), json!("High"))
    );
    assert_eq!(t["dateTo"], "2026-03-01T16:00:00Z");
    assert_eq!(t["completedAt"], Value::Null);
    assert_eq!(t["assignedToUserId"], 1, "the key's user by default");
    let id = t["id"].as_i64().unwrap_or_default();
    let done = api
        .put(
            &format!("/tasks/{id}"),
            json!({"status": "Completed", "details": "went well"}),
        )
        .await
        .expect(200)
        .json();
    assert!(done["completedAt"].is_string(), "{done}");
    assert_eq!(done["title"], "Demo");
    let open = api
        .put(&format!("/tasks/{id}"), json!({"status": "Pending"}))
        .await
        .expect(200)
        .json();
    assert_eq!(open["completedAt"], Value::Null);
    api.put(&format!("/tasks/{id}"), json!({"title": ""}))
        .await
        .expect(422);
    api.delete(&format!("/tasks/{id}")).await.expect(204);
    api.get(&format!("/tasks/{id}?scope=all")).await.expect(404);
    api.delete(&format!("/tasks/{id}")).await.expect(404);
}

#[tokio::test]
async fn notes_are_a_flat_array_filtered_by_contact() {
    let (_sb, api) = start(|c| c.contacts = 0).await;
    let a = api
        .post("/contacts", json!({"firstName": "A"}))
        .await
        .expect(201)
        .id();
    let b = api
        .post("/contacts", json!({"firstName": "B"}))
        .await
        .expect(201)
        .id();
    let missing = api
        .post("/notes", json!({"contactId": a}))
        .await
        .expect(422);
    assert_eq!(missing.text, "noteText is required");
    let orphan = api
        .post("/notes", json!({"noteText": "x"}))
        .await
        .expect(422);
    assert!(orphan.text.contains("contactId"), "{}", orphan.text);
    let mut of_a = Vec::new();
    for i in 0..5 {
        of_a.push(
            api.post(
                "/notes",
                json!({"noteText": format!("note {i}"), "contactId": a}),
            )
            .await
            .expect(201)
            .id(),
        );
    }
    let of_b = api
        .post("/notes", json!({"noteText": "b's", "contactId": b}))
        .await
        .expect(201)
        .json();
    assert!(
        of_b["createdOn"].is_string() && of_b["createdBy"].is_i64(),
        "{of_b}"
    );
    let page = api
        .get(&format!("/notes?contactId={a}&page=1&pageSize=3"))
        .await
        .expect(200)
        .json();
    assert!(page.is_array(), "a flat array, no envelope: {page}");
    assert_eq!(ids(&page), of_a[..3]);
    let rest = api
        .get(&format!("/notes?contactId={a}&page=2&pageSize=3"))
        .await
        .expect(200)
        .json();
    assert_eq!(ids(&rest), of_a[3..]);
    let everyone = api.get("/notes?pageSize=100").await.expect(200).json();
    assert_eq!(everyone.as_array().map(Vec::len), Some(6));
    let id = of_a[0];
    let edited = api
        .put(&format!("/notes/{id}"), json!({"noteText": "edited"}))
        .await
        .expect(200)
        .json();
    assert_eq!(edited["noteText"], "edited");
    api.put(&format!("/notes/{id}"), json!({"noteText": ""}))
        .await
        .expect(422);
    api.delete(&format!("/notes/{id}")).await.expect(204);
    api.get(&format!("/notes/{id}")).await.expect(404);
    // A soft-deleted contact takes its notes out of sight.
    api.delete(&format!("/contacts/{b}")).await.expect(204);
    let gone = api
        .get(&format!("/notes?contactId={b}"))
        .await
        .expect(200)
        .json();
    assert_eq!(gone, json!([]));
    let id_b = of_b["id"].as_i64().unwrap_or_default();
    api.get(&format!("/notes/{id_b}")).await.expect(404);
    let kept = api
        .admin(Method::GET, &format!("/notes/{id_b}"), Value::Null)
        .await;
    assert_eq!(kept["noteText"], "b's");
}

#[tokio::test]
async fn activities_can_hide_updated_at_and_the_admin_api_edits_like_a_person() {
    let (_sb, api) = start(|c| {
        c.contacts = 3;
        c.activity_updated_at = false;
    })
    .await;
    let tasks = api
        .get("/tasks?scope=all&pageSize=200")
        .await
        .expect(200)
        .json();
    assert!(tasks["data"]
        .as_array()
        .is_some_and(|a| !a.is_empty() && a.iter().all(|t| t.get("updatedAt").is_none())));
    let contacts = api.get("/contacts").await.expect(200).json();
    assert!(
        contacts["data"][0]["updatedAt"].is_string(),
        "contacts keep theirs"
    );
    let id = contacts["data"][0]["id"].as_i64().unwrap_or_default();
    let before = api.log().await.len();
    let edited = api
        .admin(
            Method::PUT,
            &format!("/contacts/{id}"),
            json!({"city": "Lagos"}),
        )
        .await;
    assert_eq!(edited["city"], "Lagos");
    let task = api
        .admin(
            Method::POST,
            "/tasks",
            json!({"title": "From the app", "contactId": id}),
        )
        .await;
    assert!(task["id"].is_i64());
    assert_eq!(
        api.log().await.len(),
        before,
        "admin changes are not API calls"
    );
    let full = api
        .admin(Method::GET, &format!("/contacts/{id}"), Value::Null)
        .await;
    assert!(full["tasks"]
        .as_array()
        .is_some_and(|t| t.iter().any(|x| x["title"] == "From the app")));
}
