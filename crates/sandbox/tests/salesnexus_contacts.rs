//! Contacts in the SalesNexus emulator over real HTTP: `{data,totalItems,page,pageSize}` pages
//! from 1 with `pageSize` cut to 100, the fuzzy `search` (name, email, company; substring, any
//! case), create / partial update / soft delete with `updatedAt` kept, text 422 bodies naming the
//! field, batch update and delete, and custom fields (auto-created as Character, multi-select
//! `Tags`, 409 on a duplicate definition).

mod salesnexus_support;

use std::collections::BTreeSet;

use reqwest::Method;
use salesnexus_support::{ids, start};
use serde_json::{json, Value};

#[tokio::test]
async fn pages_count_from_one_and_page_size_is_capped_at_100() {
    let (_sb, api) = start(|c| c.contacts = 130).await;
    let first = api
        .get("/contacts?page=1&pageSize=50")
        .await
        .expect(200)
        .json();
    assert_eq!(
        (
            first["totalItems"].clone(),
            first["page"].clone(),
            first["pageSize"].clone()
        ),
        (json!(130), json!(1), json!(50))
    );
    let capped = api
        .get("/contacts?page=1&pageSize=500")
        .await
        .expect(200)
        .json();
    assert_eq!(capped["pageSize"], 100, "the size used is answered");
    assert_eq!(capped["data"].as_array().map(Vec::len), Some(100));
    let second = api
        .get("/contacts?page=2&pageSize=100")
        .await
        .expect(200)
        .json();
    assert_eq!(second["data"].as_array().map(Vec::len), Some(30));
    let beyond = api
        .get("/contacts?page=3&pageSize=100")
        .await
        .expect(200)
        .json();
    assert_eq!(beyond["data"], json!([]), "an empty page past the end");
    let mut all: Vec<i64> = ids(&capped["data"]);
    all.extend(ids(&second["data"]));
    let unique: BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(unique.len(), 130, "every contact once");
    assert!(all.windows(2).all(|w| w[0] < w[1]), "ordered by id");
    let default = api.get("/contacts").await.expect(200).json();
    assert_eq!(
        (default["page"].clone(), default["pageSize"].clone()),
        (json!(1), json!(20))
    );
    let bad = api.get("/contacts?page=0").await.expect(400);
    assert!(bad.text.contains("page"), "{}", bad.text);
    // A contact shows every documented field, `customFields` by name and ISO 8601 Z times.
    let c = &first["data"][0];
    for f in [
        "id",
        "firstName",
        "lastName",
        "email",
        "phone",
        "company",
        "title",
        "address",
        "city",
        "state",
        "zip",
        "country",
        "managerUserId",
        "customFields",
        "createdAt",
        "updatedAt",
    ] {
        assert!(c.get(f).is_some(), "{f} missing in {c}");
    }
    assert!(
        c["updatedAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.len() == 20),
        "{c}"
    );
}

#[tokio::test]
async fn search_is_fuzzy_over_name_email_and_company() {
    let (_sb, api) = start(|c| c.contacts = 0).await;
    let mk = |first: &str, last: &str, email: &str, company: &str| json!({"firstName": first, "lastName": last, "email": email, "company": company});
    let a = api
        .post(
            "/contacts",
            mk("Ada", "Lovelace", "ada@engines.example", "Analytical Ltd"),
        )
        .await
        .expect(201)
        .id();
    let b = api
        .post(
            "/contacts",
            mk("Grace", "Hopper", "grace@navy.example", "Cobol Works"),
        )
        .await
        .expect(201)
        .id();
    let c = api
        .post(
            "/contacts",
            mk(
                "Adam",
                "Smith",
                "adam.smith@market.example",
                "Invisible Hand",
            ),
        )
        .await
        .expect(201)
        .id();
    let found = |q: &str| {
        let api = api.clone();
        let q = q.to_string();
        async move {
            let v = api
                .get(&format!("/contacts?search={}", urlencode(&q)))
                .await
                .expect(200)
                .json();
            assert_eq!(
                v["totalItems"].as_u64(),
                v["data"].as_array().map(|a| a.len() as u64)
            );
            ids(&v["data"])
        }
    };
    assert_eq!(
        found("ada").await,
        [a, c],
        "first names, any case, substring"
    );
    assert_eq!(found("LOVELACE").await, [a]);
    assert_eq!(found("Grace Hopper").await, [b], "full name");
    assert_eq!(found("navy.example").await, [b], "email");
    assert_eq!(found("cobol").await, [b], "company");
    assert_eq!(found("ada@engines.example").await, [a]);
    assert_eq!(found("d").await, [a, c]);
    assert_eq!(found("nobody").await, Vec::<i64>::new());
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn create_partial_update_and_soft_delete() {
    let (_sb, api) = start(|c| c.contacts = 3).await;
    let missing = api
        .post("/contacts", json!({"lastName": "NoFirst"}))
        .await
        .expect(422);
    assert_eq!(missing.text, "firstName is required");
    let bad = api
        .post(
            "/contacts",
            json!({"firstName": "X", "managerUserId": "boss"}),
        )
        .await
        .expect(422);
    assert!(bad.text.contains("managerUserId"), "{}", bad.text);
    api.post("/contacts", json!(["not", "an", "object"]))
        .await
        .expect(400);

    let created = api
        .post("/contacts", json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
            "city": "London", "customFields": {"Tags": "vip,board", "Lead Source": "Referral"}, "id": 5}))
        .await
        .expect(201)
        .json();
    let id = created["id"].as_i64().expect("integer id");
    assert_ne!(id, 5, "the id is the server's");
    assert_eq!(
        created["customFields"]["Tags"], "vip, board",
        "multi-select values as `a, b`"
    );
    assert_eq!(created["createdAt"], created["updatedAt"]);

    // The admin API backdates nothing, so wait for the clock's next second before the update.
    wait_next_second(created["updatedAt"].as_str().unwrap_or_default()).await;
    let updated = api
        .put(
            &format!("/contacts/{id}"),
            json!({"city": "Paris", "customFields": {"Lead Source": null}}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(updated["city"], "Paris");
    assert_eq!(
        updated["firstName"], "Ada",
        "a PUT changes only what it sends"
    );
    assert_eq!(updated["customFields"], json!({"Tags": "vip, board"}));
    assert!(
        updated["updatedAt"].as_str() > created["updatedAt"].as_str(),
        "{updated}"
    );
    let same = api
        .put(&format!("/contacts/{id}"), json!({"city": "Paris"}))
        .await
        .expect(200)
        .json();
    assert_eq!(
        same["updatedAt"], updated["updatedAt"],
        "a no-op write moves nothing"
    );
    let emptied = api
        .put(&format!("/contacts/{id}"), json!({"firstName": " "}))
        .await
        .expect(422);
    assert_eq!(emptied.text, "firstName cannot be empty");

    api.delete(&format!("/contacts/{id}")).await.expect(204);
    let gone = api.get(&format!("/contacts/{id}")).await.expect(404);
    assert_eq!(gone.text, format!("Contact {id} not found"));
    api.put(&format!("/contacts/{id}"), json!({"city": "Rome"}))
        .await
        .expect(404);
    api.delete(&format!("/contacts/{id}")).await.expect(404);
    let listed = api
        .get("/contacts?search=ada@example.com")
        .await
        .expect(200)
        .json();
    assert_eq!(listed["totalItems"], 0, "hidden from lists");
    let kept = api
        .admin(Method::GET, &format!("/contacts/{id}"), Value::Null)
        .await;
    assert_eq!(
        (kept["deleted"].clone(), kept["city"].clone()),
        (json!(true), json!("Paris")),
        "a soft delete"
    );
    api.get("/contacts/not-a-number").await.expect(404);
}

async fn wait_next_second(after: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        if now.as_str() > after {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the clock does not move"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn batch_update_and_batch_delete() {
    let (_sb, api) = start(|c| c.contacts = 4).await;
    let all = ids(&api.get("/contacts").await.expect(200).json()["data"]);
    let r = api
        .post(
            "/contacts/batch-update",
            json!({"selectionMode": "ids", "contactIds": [all[0], all[1], 999999],
            "fieldUpdates": {"city": "Oslo", "Region": "North"}}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(
        (r["successCount"].clone(), r["failedIds"].clone()),
        (json!(2), json!([999999]))
    );
    let c0 = api
        .get(&format!("/contacts/{}", all[0]))
        .await
        .expect(200)
        .json();
    assert_eq!(
        (c0["city"].clone(), c0["customFields"]["Region"].clone()),
        (json!("Oslo"), json!("North"))
    );
    api.post(
        "/contacts/batch-update",
        json!({"selectionMode": "ids", "contactIds": [all[0]]}),
    )
    .await
    .expect(422);
    let lookup = api
        .post(
            "/contacts/batch-update",
            json!({"selectionMode": "lookup", "lookupId": 7, "fieldUpdates": {"city": "x"}}),
        )
        .await
        .expect(404);
    assert!(lookup.text.contains("Lookup 7"), "{}", lookup.text);

    let r = api
        .call(
            Method::DELETE,
            "/contacts/batch-delete",
            json!({"selectionMode": "ids", "contactIds": [all[2], all[3]]}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(
        (r["deletedCount"].clone(), r["failedIds"].clone()),
        (json!(2), json!([]))
    );
    assert_eq!(r["opportunitiesDeletedCount"], 0);
    let left = api.get("/contacts").await.expect(200).json();
    assert_eq!(ids(&left["data"]), [all[0], all[1]]);
}

#[tokio::test]
async fn custom_fields_are_created_on_first_write_and_duplicates_conflict() {
    let (_sb, api) = start(|c| c.contacts = 1).await;
    let defs = api.get("/contact-fields").await.expect(200).json();
    let tags = defs
        .as_array()
        .and_then(|a| a.iter().find(|d| d["name"] == "Tags"))
        .cloned()
        .expect("Tags field");
    assert_eq!(
        (tags["multiSelect"].clone(), tags["isSystem"].clone()),
        (json!(true), json!(false))
    );
    assert!(defs.as_array().is_some_and(|a| a
        .iter()
        .any(|d| d["name"] == "email" && d["isSystem"] == true)));

    let c = api
        .post("/contacts", json!({"firstName": "Cy", "customFields": {"Favourite Colour": "teal", "tags": "new-tag"}}))
        .await
        .expect(201)
        .json();
    assert_eq!(c["customFields"]["Favourite Colour"], "teal");
    assert_eq!(
        c["customFields"]["Tags"], "new-tag",
        "an existing name is matched ignoring case"
    );
    let defs = api.get("/contact-fields").await.expect(200).json();
    let made = defs
        .as_array()
        .and_then(|a| a.iter().find(|d| d["name"] == "Favourite Colour"))
        .cloned()
        .expect("auto-created");
    assert_eq!(made["type"], 0, "auto-created as Character");
    let tags = defs
        .as_array()
        .and_then(|a| a.iter().find(|d| d["name"] == "Tags"))
        .cloned()
        .unwrap_or_default();
    assert!(
        tags["options"]
            .as_array()
            .is_some_and(|o| o.contains(&json!("new-tag"))),
        "{tags}"
    );

    let made = api
        .post(
            "/contact-fields",
            json!({"name": "Renewal Date", "type": 2, "label": "Renewal"}),
        )
        .await
        .expect(201)
        .json();
    assert!(made["id"].is_i64() && made["type"] == 2, "{made}");
    let dup = api
        .post(
            "/contact-fields",
            json!({"name": "renewal date", "type": 0}),
        )
        .await
        .expect(409);
    assert_eq!(dup.text, "Field 'Renewal Date' already exists");
    let system = api
        .post("/contact-fields", json!({"name": "email"}))
        .await
        .expect(409);
    assert!(system.text.contains("email"), "{}", system.text);
    let no_name = api
        .post("/contact-fields", json!({"type": 1}))
        .await
        .expect(422);
    assert_eq!(no_name.text, "name is required");
    let bad_type = api
        .post("/contact-fields", json!({"name": "Odd", "type": 9}))
        .await
        .expect(422);
    assert!(
        bad_type.text.starts_with("type must be"),
        "{}",
        bad_type.text
    );
    let opts = api
        .put(
            "/contact-fields/Renewal%20Date",
            json!({"options": ["Q1", "Q2"]}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(opts["options"], json!(["Q1", "Q2"]));
    let wrong = api
        .post(
            "/contacts",
            json!({"firstName": "Dee", "customFields": {"email": "x@y.z"}}),
        )
        .await
        .expect(422);
    assert!(wrong.text.contains("customFields.email"), "{}", wrong.text);
}
