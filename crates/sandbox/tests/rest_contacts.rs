//! Contacts of the "Your App" emulator over real HTTP: create, read, partial update, soft delete
//! with tombstones, tags, versions with `If-Match`, exact email lookup and validation errors.

mod rest_support;

use reqwest::Method;
use rest_support::start;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_crud_round_trip_with_versions() {
    let (sb, api) = start(|_| {}).await;
    let created = api
        .post(
            "/v1/contacts",
            json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org",
                   "phone": "+44 20 7946 0000", "custom_fields": {"plan": "pro"},
                   "external_ids": {"ghl": "ghl-1"}, "tags": ["vip"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let c = created.json();
    let id = created.id();
    assert!(id.starts_with("con_"), "{id}");
    assert_eq!(c["version"], json!(1));
    assert_eq!(created.header("etag"), Some("\"1\""));
    assert_eq!(c["deleted_at"], Value::Null);
    assert_eq!(c["city"], Value::Null, "every field is present");
    assert_eq!(c["created_at"], c["updated_at"]);
    assert_eq!(c["external_ids"], json!({"ghl": "ghl-1"}));

    let got = api.get(&format!("/v1/contacts/{id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json(), c);

    let patched = api
        .patch(
            &format!("/v1/contacts/{id}"),
            json!({"city": "London", "custom_fields": {"tier": 2}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let p = patched.json();
    assert_eq!(p["version"], json!(2));
    assert_eq!(p["city"], json!("London"));
    assert_eq!(p["first_name"], json!("Ada"), "partial: other fields kept");
    assert_eq!(
        p["custom_fields"],
        json!({"plan": "pro", "tier": 2}),
        "objects merge"
    );
    assert!(p["updated_at"].as_str() > c["updated_at"].as_str());
    assert_eq!(p["created_at"], c["created_at"]);

    let cleared = api
        .patch(
            &format!("/v1/contacts/{id}"),
            json!({"phone": null, "custom_fields": {"plan": null}}),
        )
        .await
        .json();
    assert_eq!(cleared["phone"], Value::Null);
    assert_eq!(cleared["custom_fields"], json!({"tier": 2}));
    assert_eq!(cleared["version"], json!(3));

    let del = api.delete(&format!("/v1/contacts/{id}")).await;
    assert_eq!(del.status, 204, "{}", del.text);
    assert!(del.text.is_empty());
    let gone = api.get(&format!("/v1/contacts/{id}")).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.code(), "not_found");
    assert_eq!(
        api.patch(&format!("/v1/contacts/{id}"), json!({"city": "X"}))
            .await
            .status,
        404
    );
    assert_eq!(api.delete(&format!("/v1/contacts/{id}")).await.status, 404);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tombstones_show_only_with_include_deleted() {
    let (sb, api) = start(|c| c.contacts = 3).await;
    let c = api.contact(json!({"email": "gone@example.com"})).await;
    let id = c["id"].as_str().expect("id").to_string();
    assert_eq!(api.delete(&format!("/v1/contacts/{id}")).await.status, 204);

    let live = api.all("/v1/contacts").await;
    assert_eq!(live.len(), 3);
    assert!(live.iter().all(|x| x["id"] != json!(id)));

    let all = api.all("/v1/contacts?include_deleted=true").await;
    assert_eq!(all.len(), 4);
    let tomb = all
        .iter()
        .find(|x| x["id"] == json!(id))
        .expect("tombstone listed");
    assert!(tomb["deleted_at"].is_string());
    assert_eq!(tomb["version"], json!(2), "the delete is a change");
    assert_eq!(tomb["updated_at"], tomb["deleted_at"]);
    assert_eq!(
        all.last(),
        Some(tomb),
        "the delete moved it to the end of the feed"
    );

    // An incremental poll from just before the delete sees the tombstone.
    let since = c["updated_at"].as_str().expect("updated_at");
    let feed = api
        .all(&format!(
            "/v1/contacts?include_deleted=true&updated_since={since}"
        ))
        .await;
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0]["id"], json!(id));

    // The email of a deleted contact is free again, and lookups see the tombstone on request.
    let again = api.contact(json!({"email": "GONE@example.com"})).await;
    let by_email = api
        .all("/v1/contacts?email=gone@example.com&include_deleted=true")
        .await;
    assert_eq!(by_email.len(), 2);
    assert_eq!(by_email[1]["id"], again["id"]);
    let admin = api
        .admin(Method::GET, &format!("/contacts/{id}"), None)
        .await;
    assert_eq!(admin.status, 200, "the admin API reads deleted records");
    assert!(admin.json()["deleted_at"].is_string());
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_add_remove_and_patch_replaces_the_set() {
    let (sb, api) = start(|_| {}).await;
    let id = api.contact(json!({"tags": ["lead"]})).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let tags_path = format!("/v1/contacts/{id}/tags");

    let added = api
        .post(&tags_path, json!({"tags": ["VIP", " hot ", "LEAD"]}))
        .await;
    assert_eq!(added.status, 200, "{}", added.text);
    assert_eq!(added.json()["tags"], json!(["lead", "VIP", "hot"]));
    assert_eq!(added.json()["version"], json!(2));

    let same = api.post(&tags_path, json!({"tags": ["vip"]})).await.json();
    assert_eq!(
        same["version"],
        json!(2),
        "adding a present tag changes nothing"
    );

    let removed = api
        .call(
            Method::DELETE,
            &tags_path,
            Some(json!({"tags": ["lead", "absent"]})),
            &[],
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!(removed.json()["tags"], json!(["VIP", "hot"]));
    assert_eq!(removed.json()["version"], json!(3));

    let replaced = api
        .patch(&format!("/v1/contacts/{id}"), json!({"tags": ["new"]}))
        .await;
    assert_eq!(replaced.json()["tags"], json!(["new"]));

    let bad = api.post(&tags_path, json!({"tags": "vip"})).await;
    assert_eq!(bad.status, 422);
    assert!(bad.fields()["tags"].is_string(), "{}", bad.text);
    let missing = api
        .post("/v1/contacts/con_nope/tags", json!({"tags": ["x"]}))
        .await;
    assert_eq!(missing.status, 404);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_match_mismatch_is_412_and_a_match_applies() {
    let (sb, api) = start(|_| {}).await;
    let id = api.contact(json!({"first_name": "V"})).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let path = format!("/v1/contacts/{id}");
    let first = api
        .call(
            Method::PATCH,
            &path,
            Some(json!({"city": "Oslo"})),
            &[("If-Match", "1")],
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.header("etag"), Some("\"2\""));

    let stale = api
        .call(
            Method::PATCH,
            &path,
            Some(json!({"city": "Rome"})),
            &[("If-Match", "1")],
        )
        .await;
    assert_eq!(stale.status, 412, "{}", stale.text);
    assert_eq!(stale.code(), "precondition_failed");
    assert_eq!(
        stale.json()["error"]["details"]["current_version"],
        json!(2)
    );
    assert_eq!(
        api.get(&path).await.json()["city"],
        json!("Oslo"),
        "412 changed nothing"
    );

    // The ETag form is accepted as well; a stale no-op is still refused (checked first).
    let noop = api
        .call(
            Method::PATCH,
            &path,
            Some(json!({"city": "Oslo"})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert_eq!(noop.status, 412);
    let etag = api
        .call(
            Method::PATCH,
            &path,
            Some(json!({"city": "Rome"})),
            &[("If-Match", "\"2\"")],
        )
        .await;
    assert_eq!(etag.status, 200);
    let stale_delete = api
        .call(Method::DELETE, &path, None, &[("If-Match", "2")])
        .await;
    assert_eq!(stale_delete.status, 412);
    let garbage = api
        .call(
            Method::PATCH,
            &path,
            Some(json!({})),
            &[("If-Match", "abc")],
        )
        .await;
    assert_eq!(garbage.status, 400);
    assert_eq!(
        api.call(Method::DELETE, &path, None, &[("If-Match", "3")])
            .await
            .status,
        204
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_op_patch_keeps_version_and_updated_at() {
    let (sb, api) = start(|_| {}).await;
    let c = api
        .contact(json!({"first_name": "Same", "tags": ["a"]}))
        .await;
    let path = format!("/v1/contacts/{}", c["id"].as_str().expect("id"));
    let again = api
        .patch(&path, json!({"first_name": "Same", "tags": ["a"]}))
        .await
        .json();
    assert_eq!(again["version"], json!(1));
    assert_eq!(again["updated_at"], c["updated_at"]);
    let empty = api.patch(&path, json!({})).await.json();
    assert_eq!(empty, c);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_lookup_is_exact_and_case_insensitive() {
    let (sb, api) = start(|c| c.contacts = 20).await;
    let c = api
        .contact(json!({"email": "Grace.Hopper@Example.com"}))
        .await;
    let hits = api.all("/v1/contacts?email=GRACE.hopper@example.COM").await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["id"], c["id"]);
    assert_eq!(
        hits[0]["email"],
        json!("Grace.Hopper@Example.com"),
        "stored as given"
    );
    for near in [
        "grace.hopper@example.co",
        "grace",
        "hopper@example.com",
        "race.hopper@example.com",
    ] {
        assert!(
            api.all(&format!("/v1/contacts?email={near}"))
                .await
                .is_empty(),
            "{near}"
        );
    }
    let conflict = api
        .post("/v1/contacts", json!({"email": "grace.hopper@example.com"}))
        .await;
    assert_eq!(conflict.status, 409, "{}", conflict.text);
    assert_eq!(conflict.code(), "conflict");
    assert_eq!(conflict.json()["error"]["details"]["existing_id"], c["id"]);
    let other = api.contact(json!({"email": "other@example.com"})).await;
    let clash = api
        .patch(
            &format!("/v1/contacts/{}", other["id"].as_str().expect("id")),
            json!({"email": "GRACE.HOPPER@example.com"}),
        )
        .await;
    assert_eq!(clash.status, 409);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_name_every_offending_field() {
    let (sb, api) = start(|_| {}).await;
    let r = api
        .post(
            "/v1/contacts",
            json!({"email": "not-an-email", "nickname": "Al", "tags": [1], "id": "mine", "phone": "call me"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.code(), "validation_failed");
    let fields = r.fields();
    for name in ["email", "nickname", "tags", "id", "phone"] {
        assert!(fields[name].is_string(), "{name} not named in {}", r.text);
    }
    assert_eq!(fields["nickname"], json!("unknown field"));
    assert_eq!(fields["id"], json!("is read-only"));
    let message = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("nickname") && message.contains("email"),
        "{message}"
    );

    let wrong_type = api
        .post(
            "/v1/contacts",
            json!({"first_name": 5, "custom_fields": []}),
        )
        .await;
    assert_eq!(wrong_type.status, 422);
    assert!(
        wrong_type.fields()["first_name"].is_string()
            && wrong_type.fields()["custom_fields"].is_string()
    );

    let not_json = rest_support::read(
        api.http
            .post(format!("{}/v1/contacts", api.base))
            .bearer_auth(&api.key)
            .body("{oops"),
    )
    .await;
    assert_eq!(not_json.status, 400, "{}", not_json.text);
    assert_eq!(not_json.code(), "validation_failed");
    let array = api.post("/v1/contacts", json!([1])).await;
    assert_eq!(array.status, 400);

    let list = api.get("/v1/contacts?limit=0").await;
    assert_eq!(list.status, 400);
    assert!(list.json()["error"]["details"]["parameters"]["limit"].is_string());
    let typo = api
        .get("/v1/contacts?updatedSince=2025-01-01T00:00:00Z")
        .await;
    assert_eq!(
        typo.status, 400,
        "a misspelt filter must not silently list everything"
    );
    assert!(typo.json()["error"]["details"]["parameters"]["updatedSince"].is_string());
    assert_eq!(
        api.get("/v1/contacts?updated_since=yesterday").await.status,
        400
    );
    assert_eq!(api.get("/v1/contacts?cursor=zzz").await.status, 400);
    assert_eq!(
        api.get("/v1/contacts?include_deleted=yes").await.status,
        400
    );
    assert_eq!(
        api.all("/v1/contacts").await.len(),
        5,
        "nothing was created"
    );
    sb.shutdown().await;
}
