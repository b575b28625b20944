//! Contacts: create, read, update, delete, upsert, the two lists, duplicates and search.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::harness::{id_of, Api, BOGUS_TOKEN, MISSING_ID};

/// Claimed by `contact_crud_and_upsert`.
pub const CONTACT_OPS: &[(&str, &str)] = &[
    ("POST", "/contacts/"),
    ("GET", "/contacts/{contactId}"),
    ("PUT", "/contacts/{contactId}"),
    ("DELETE", "/contacts/{contactId}"),
    ("POST", "/contacts/upsert"),
];
/// Claimed by `lists_search_and_duplicates`.
pub const LIST_OPS: &[(&str, &str)] = &[
    ("GET", "/contacts/"),
    ("GET", "/contacts/business/{businessId}"),
    ("POST", "/contacts/bulk/business"),
    ("GET", "/contacts/search/duplicate"),
    ("POST", "/contacts/search"),
];

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
