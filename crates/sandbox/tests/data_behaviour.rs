//! What the sandbox does to contact data over real HTTP: duplicate rules and upsert, tag
//! normalisation, bulk endpoints, followers, campaigns, workflows, custom fields and dates, and
//! seed determinism through the API. (Search and paging: data_search.rs; webhooks: data_webhooks.rs.)

mod support;

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};
use support::{config, id_of, ids, Sb};

const DUPLICATE: &str = "This location does not allow duplicated contacts.";

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().expect("string").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_by_email_or_phone_are_refused_unless_allowed() {
    let sb = Sb::start(config(21, 30)).await;
    let first = sb.create(json!({"firstName": "Jane", "lastName": "Dup", "email": "Jane.Dup@Example.org", "phone": "+14155550100"})).await;
    let first_id = id_of(&first);

    let body = json!({"locationId": sb.loc, "firstName": "Other", "email": "JANE.DUP@example.ORG"});
    let r = sb.post("/contacts/", body.clone()).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert_eq!(r.body["message"], json!(DUPLICATE));
    assert_eq!(r.body["meta"]["contactId"], json!(first_id));
    assert_eq!(r.body["meta"]["matchingField"], json!("email"));

    let by_phone = json!({"locationId": sb.loc, "firstName": "Other", "email": "someone.else@example.org", "phone": "+1 (415) 555-0100"});
    let r = sb.post("/contacts/", by_phone).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert_eq!(r.body["message"], json!(DUPLICATE));
    assert_eq!(r.body["meta"]["contactId"], json!(first_id));
    assert_eq!(r.body["meta"]["matchingField"], json!("phone"));

    // Turning the location setting on lets the same email in.
    let path = format!("/locations/{}/settings", sb.loc);
    let settings = sb
        .admin(Method::PUT, &path, Some(json!({"allowDuplicates": true})))
        .await
        .expect(200);
    assert_eq!(settings["allowDuplicates"], json!(true));
    let second = sb.post("/contacts/", body).await.expect(201)["contact"].clone();
    assert_ne!(id_of(&second), first_id);

    // The duplicate lookup answers the oldest match, by email (any case) and by number.
    let dup = |q: String| format!("/contacts/search/duplicate?locationId={}&{q}", sb.loc);
    let r = sb
        .get(&dup("email=jane.dup%40EXAMPLE.org".into()))
        .await
        .expect(200);
    assert_eq!(r["contact"]["id"], json!(first_id));
    let r = sb
        .get(&dup("number=%2B14155550100".into()))
        .await
        .expect(200);
    assert_eq!(r["contact"]["id"], json!(first_id));
    let r = sb
        .get(&dup("email=nobody%40example.org".into()))
        .await
        .expect(200);
    assert_eq!(r, json!({"contact": null}));
    let r = sb
        .get(&dup("number=%2B19995550000".into()))
        .await
        .expect(200);
    assert_eq!(r, json!({"contact": null}));
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upsert_updates_by_email_and_merges_tags_or_creates() {
    let sb = Sb::start(config(22, 30)).await;
    let c = sb.create(json!({"firstName": "Una", "email": "una.upsert@example.org", "tags": ["alpha"], "city": "Austin"})).await;
    let id = id_of(&c);

    let body = json!({"locationId": sb.loc, "email": "UNA.Upsert@example.org", "lastName": "Updated", "tags": ["Beta", "alpha"]});
    let r = sb.post("/contacts/upsert", body).await.expect(200);
    assert_eq!(r["new"], json!(false));
    assert_eq!(r["contact"]["id"], json!(id));
    assert_eq!(r["contact"]["lastName"], json!("Updated"));
    assert_eq!(
        r["contact"]["firstName"],
        json!("Una"),
        "fields not in the body stay"
    );
    assert_eq!(r["contact"]["city"], json!("Austin"));
    assert_eq!(strings(&r["contact"]["tags"]), ["alpha", "beta"]);
    let stored = sb.contact(&id).await;
    assert_eq!(stored["lastName"], json!("Updated"));
    assert_eq!(strings(&stored["tags"]), ["alpha", "beta"]);

    // Matching by phone when the email is unknown.
    sb.put(&format!("/contacts/{id}"), json!({"phone": "+14155550111"}))
        .await
        .expect(200);
    let body = json!({"locationId": sb.loc, "phone": "+14155550111", "city": "Denver"});
    let r = sb.post("/contacts/upsert", body).await.expect(200);
    assert_eq!(
        (r["new"].clone(), r["contact"]["id"].clone()),
        (json!(false), json!(id))
    );
    assert_eq!(r["contact"]["city"], json!("Denver"));

    let body = json!({"locationId": sb.loc, "email": "brand.new@example.org", "firstName": "Bran", "tags": ["X"]});
    let r = sb.post("/contacts/upsert", body).await.expect(200);
    assert_eq!(r["new"], json!(true));
    let new_id = id_of(&r["contact"]);
    assert_ne!(new_id, id);
    assert_eq!(
        sb.contact(&new_id).await["email"],
        json!("brand.new@example.org")
    );
    assert_eq!(strings(&sb.contact(&new_id).await["tags"]), ["x"]);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_are_lower_cased_and_deduplicated() {
    let sb = Sb::start(config(23, 10)).await;
    let c = sb
        .create(json!({"firstName": "Tia", "tags": [" VIP ", "vip", "Hot", "", "hot"]}))
        .await;
    let id = id_of(&c);
    assert_eq!(strings(&c["tags"]), ["vip", "hot"]);

    let r = sb
        .post(
            &format!("/contacts/{id}/tags"),
            json!({"tags": ["NEW", "hot", "New "]}),
        )
        .await
        .expect(201);
    assert_eq!(strings(&r["tags"]), ["vip", "hot", "new"]);
    let r = sb
        .delete(
            &format!("/contacts/{id}/tags"),
            Some(json!({"tags": ["VIP", "absent"]})),
        )
        .await
        .expect(200);
    assert_eq!(strings(&r["tags"]), ["hot", "new"]);
    assert_eq!(strings(&sb.contact(&id).await["tags"]), ["hot", "new"]);

    // PUT replaces the whole list, normalised the same way.
    let r = sb
        .put(
            &format!("/contacts/{id}"),
            json!({"tags": ["Zeta", "ZETA", "eta"]}),
        )
        .await
        .expect(200);
    assert_eq!(strings(&r["contact"]["tags"]), ["zeta", "eta"]);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_tags_and_bulk_business() {
    let sb = Sb::start(config(24, 40)).await;
    let a = id_of(
        &sb.create(json!({"firstName": "Ann", "tags": ["keep"]}))
            .await,
    );
    let b = id_of(&sb.create(json!({"firstName": "Ben"})).await);
    let unknown = "NoSuchContact0000000";

    let body = json!({"locationId": sb.loc, "contacts": [a, b, unknown], "tags": ["Bulk", "wave"]});
    let r = sb
        .post("/contacts/bulk/tags/update/add", body)
        .await
        .expect(201);
    assert_eq!(r["errorCount"], json!(1));
    assert_eq!(r["succeded"], json!(false));
    assert_eq!(r["responses"].as_array().map(Vec::len), Some(3));
    assert!(r["responses"].to_string().contains(unknown));
    assert_eq!(
        strings(&sb.contact(&a).await["tags"]),
        ["keep", "bulk", "wave"]
    );
    assert_eq!(strings(&sb.contact(&b).await["tags"]), ["bulk", "wave"]);

    let body = json!({"locationId": sb.loc, "contacts": [a, unknown], "tags": ["BULK"]});
    let r = sb
        .post("/contacts/bulk/tags/update/remove", body)
        .await
        .expect(201);
    assert_eq!(r["errorCount"], json!(1));
    assert_eq!(strings(&sb.contact(&a).await["tags"]), ["keep", "wave"]);
    assert_eq!(
        strings(&sb.contact(&b).await["tags"]),
        ["bulk", "wave"],
        "b was not in the remove list"
    );

    let body = json!({"locationId": sb.loc, "contacts": [b], "tags": [], "removeAllTags": true});
    let r = sb
        .post("/contacts/bulk/tags/update/remove", body)
        .await
        .expect(201);
    assert_eq!(r["errorCount"], json!(0));
    assert_eq!(strings(&sb.contact(&b).await["tags"]), Vec::<String>::new());

    // Linking contacts to a business makes them show in its list.
    let business = sb.location().await["businesses"][0]["id"]
        .as_str()
        .expect("business")
        .to_string();
    let list_path = format!(
        "/contacts/business/{business}?locationId={}&limit=100",
        sb.loc
    );
    let before: BTreeSet<String> = ids(sb.get(&list_path).await.expect(200)["contacts"]
        .as_array()
        .expect("list"))
    .into_iter()
    .collect();
    let body = json!({"locationId": sb.loc, "ids": [a, b], "businessId": business});
    let r = sb.post("/contacts/bulk/business", body).await.expect(200);
    assert_eq!(r["success"], json!(true));
    let r = sb.get(&list_path).await.expect(200);
    let after: BTreeSet<String> = ids(r["contacts"].as_array().expect("list"))
        .into_iter()
        .collect();
    let mut want = before.clone();
    want.extend([a.clone(), b.clone()]);
    assert_eq!(after, want);
    assert_eq!(r["count"], json!(want.len()));
    assert_eq!(sb.contact(&a).await["businessId"], json!(business));
    // skip/limit over the same list.
    let first = sb
        .get(&format!(
            "/contacts/business/{business}?locationId={}&limit=1&skip=0",
            sb.loc
        ))
        .await
        .expect(200);
    let skipped = sb
        .get(&format!(
            "/contacts/business/{business}?locationId={}&limit=100&skip=1",
            sb.loc
        ))
        .await
        .expect(200);
    assert_eq!(first["contacts"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        skipped["contacts"].as_array().map(Vec::len),
        Some(want.len() - 1)
    );
    assert_eq!(first["count"], json!(want.len()));
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_campaigns_and_workflows() {
    let sb = Sb::start(config(25, 10)).await;
    let id = id_of(&sb.create(json!({"firstName": "Flo"})).await);

    let path = format!("/contacts/{id}/followers");
    let r = sb
        .post(&path, json!({"followers": ["u1", "u2"]}))
        .await
        .expect(201);
    assert_eq!(
        (strings(&r["followers"]), strings(&r["followersAdded"])),
        (
            vec!["u1".into(), "u2".into()],
            vec!["u1".into(), "u2".into()]
        )
    );
    let r = sb
        .post(&path, json!({"followers": ["u2", "u3"]}))
        .await
        .expect(201);
    assert_eq!(strings(&r["followersAdded"]), ["u3"]);
    assert_eq!(strings(&r["followers"]), ["u1", "u2", "u3"]);
    let r = sb
        .delete(&path, Some(json!({"followers": ["u1", "nobody"]})))
        .await
        .expect(200);
    assert_eq!(strings(&r["followersRemoved"]), ["u1"]);
    assert_eq!(strings(&r["followers"]), ["u2", "u3"]);
    assert_eq!(
        strings(&sb.admin_contact(&id).await["followers"]),
        ["u2", "u3"]
    );

    for camp in ["camp1", "camp2", "camp1"] {
        let r = sb
            .post(&format!("/contacts/{id}/campaigns/{camp}"), json!({}))
            .await
            .expect(201);
        assert_eq!(r["succeded"], json!(true));
    }
    assert_eq!(
        strings(&sb.admin_contact(&id).await["campaigns"]),
        ["camp1", "camp2"]
    );
    sb.delete(&format!("/contacts/{id}/campaigns/camp1"), None)
        .await
        .expect(200);
    assert_eq!(
        strings(&sb.admin_contact(&id).await["campaigns"]),
        ["camp2"]
    );
    sb.post(&format!("/contacts/{id}/campaigns/camp3"), json!({}))
        .await
        .expect(201);
    sb.delete(&format!("/contacts/{id}/campaigns/removeAll"), None)
        .await
        .expect(200);
    assert_eq!(
        strings(&sb.admin_contact(&id).await["campaigns"]),
        Vec::<String>::new()
    );

    let r = sb
        .post(
            &format!("/contacts/{id}/workflow/wf1"),
            json!({"eventStartTime": "2026-06-23T03:30:00+01:00"}),
        )
        .await
        .expect(200);
    assert_eq!(r["succeded"], json!(true));
    sb.post(&format!("/contacts/{id}/workflow/wf2"), json!({}))
        .await
        .expect(200);
    assert_eq!(
        strings(&sb.admin_contact(&id).await["workflows"]),
        ["wf1", "wf2"]
    );
    let r = sb
        .post(
            &format!("/contacts/{id}/workflow/wf3"),
            json!({"eventStartTime": "next tuesday"}),
        )
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert!(r.message().contains("eventStartTime"), "{}", r.message());
    sb.delete(&format!("/contacts/{id}/workflow/wf1"), Some(json!({})))
        .await
        .expect(200);
    assert_eq!(strings(&sb.admin_contact(&id).await["workflows"]), ["wf2"]);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_fields_by_id_and_key_and_date_of_birth() {
    let sb = Sb::start(config(26, 10)).await;
    let score = sb.custom_field_id("contact.lead_score").await;
    let code = sb.custom_field_id("contact.referral_code").await;
    let value_of = |c: &Value, id: &str| {
        let fields = c["customFields"].as_array().expect("customFields");
        fields
            .iter()
            .find(|f| f["id"] == json!(id))
            .map(|f| f["value"].clone())
    };

    let c = sb
        .create(json!({
            "firstName": "Cus",
            "dateOfBirth": "1990-05-17",
            "customFields": [
                {"id": score, "field_value": "42"},
                {"key": "contact.referral_code", "field_value": "REF-9"},
                {"id": "NoSuchField000000000", "field_value": "ignored"},
            ],
        }))
        .await;
    let id = id_of(&c);
    let stored = sb.contact(&id).await;
    assert_eq!(
        value_of(&stored, &score),
        Some(json!(42)),
        "numeric text becomes a number"
    );
    assert_eq!(value_of(&stored, &code), Some(json!("REF-9")));
    assert_eq!(
        stored["customFields"].as_array().map(Vec::len),
        Some(2),
        "unknown field ignored"
    );
    assert_eq!(stored["dateOfBirth"], json!("1990-05-17T00:00:00.000Z"));

    // By key on update, numbers stay numbers; a non-number is refused naming the field.
    let body = json!({"customFields": [{"key": "contact.lead_score", "field_value": 77.5}]});
    sb.put(&format!("/contacts/{id}"), body).await.expect(200);
    assert_eq!(value_of(&sb.contact(&id).await, &score), Some(json!(77.5)));
    let body = json!({"customFields": [{"id": score, "field_value": "lots"}]});
    let r = sb.put(&format!("/contacts/{id}"), body).await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert!(r.message().contains("customFields.0"), "{}", r.message());
    assert_eq!(
        value_of(&sb.contact(&id).await, &score),
        Some(json!(77.5)),
        "refused change leaves the value"
    );
    // The search filter sees the coerced number.
    let filters = json!([{"field": format!("customFields.{score}"), "operator": "range", "value": {"gt": 77, "lt": 78}}]);
    let r = sb.search(json!({"filters": filters})).await.expect(200);
    assert_eq!(ids(r["contacts"].as_array().expect("contacts")), vec![id]);
    sb.shutdown().await;
}

/// Every contact, in search order, with every field the search answer has.
async fn snapshot(sb: &Sb) -> Vec<Value> {
    let r = sb.search(json!({"pageLimit": 500})).await.expect(200);
    r["contacts"].as_array().expect("contacts").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_seed_same_data_and_reset_restores_it() {
    let mut a = Sb::start(config(99, 150)).await;
    let b = Sb::start(config(99, 150)).await;
    let other = Sb::start(config(100, 150)).await;
    assert_eq!(a.loc, b.loc);
    let seeded = snapshot(&a).await;
    assert_eq!(seeded.len(), 150);
    assert_eq!(seeded, snapshot(&b).await, "same seed, same ids and fields");
    assert_ne!(
        ids(&seeded),
        ids(&snapshot(&other).await),
        "another seed, other data"
    );
    let one = id_of(&seeded[7]);
    assert_eq!(a.contact(&one).await, b.contact(&one).await);
    let tasks = format!("/contacts/{one}/tasks");
    assert_eq!(
        a.get(&tasks).await.expect(200),
        b.get(&tasks).await.expect(200)
    );

    // Change things, then reset.
    a.put(&format!("/contacts/{one}"), json!({"firstName": "Mutated"}))
        .await
        .expect(200);
    a.delete(&format!("/contacts/{}", id_of(&seeded[8])), None)
        .await
        .expect(200);
    a.create(json!({"firstName": "Extra", "email": "extra.reset@example.org"}))
        .await;
    assert_ne!(snapshot(&a).await, seeded);
    let r = a
        .admin(Method::POST, "/reset", Some(json!({})))
        .await
        .expect(200);
    assert_eq!(r["counts"]["contacts"], json!(150));
    a.refresh_credentials();
    assert_eq!(
        snapshot(&a).await,
        seeded,
        "reset restores the seeded state"
    );
    assert_eq!(a.contact(&one).await, b.contact(&one).await);
    for sb in [a, b, other] {
        sb.shutdown().await;
    }
}
