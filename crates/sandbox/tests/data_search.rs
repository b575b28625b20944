//! Listing and paging contacts over real HTTP: `POST /contacts/search` (filters, sort, the
//! 10,000-result page window and `searchAfter` beyond it), the incremental-sync pattern of
//! spec/ghl/FACTS.md, the legacy `GET /contacts/` and the business list.
//! Expected answers are computed from the sandbox's own store, independently of the search code.

mod support;

use std::collections::{BTreeSet, HashSet};

use ghl_sandbox::ghl::model::Contact;
use serde_json::{json, Value};
use support::{config, id_of, ids, Sb};

fn ms(iso: &Value) -> i64 {
    let s = iso.as_str().unwrap_or_else(|| panic!("not a date: {iso}"));
    chrono::DateTime::parse_from_rfc3339(s)
        .expect("RFC 3339 date")
        .timestamp_millis()
}

/// Ids of the location's contacts for which `keep` holds, read straight from the store.
fn expected(sb: &Sb, keep: impl Fn(&Contact) -> bool) -> BTreeSet<String> {
    let store = sb.sandbox.state.store.read();
    store
        .contacts_in(&sb.loc)
        .filter(|c| keep(c))
        .map(|c| c.id.clone())
        .collect()
}

/// One search (every hit fits in a page of 500); checks `total` against the page.
async fn found(sb: &Sb, filters: Value) -> BTreeSet<String> {
    let r = sb
        .search(json!({"pageLimit": 500, "filters": filters}))
        .await
        .expect(200);
    let contacts = r["contacts"].as_array().expect("contacts");
    assert_eq!(r["total"], json!(contacts.len()), "total of {filters}");
    let set: BTreeSet<String> = ids(contacts).into_iter().collect();
    assert_eq!(set.len(), contacts.len(), "repeated ids for {filters}");
    set
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_pages_past_the_10000_window_with_search_after() {
    let sb = Sb::start(config(11, 12_000)).await;
    let mut seen = HashSet::new();
    let mut order: Vec<Value> = Vec::new();
    let mut take = |page: &Value, order: &mut Vec<Value>| -> usize {
        assert_eq!(page["total"], json!(12_000));
        let contacts = page["contacts"].as_array().expect("contacts");
        for c in contacts {
            assert!(seen.insert(id_of(c)), "contact {} seen twice", id_of(c));
            order.push(c.clone());
        }
        contacts.len()
    };
    for page in 1..=20 {
        let r = sb
            .search(json!({"page": page, "pageLimit": 500}))
            .await
            .expect(200);
        assert_eq!(take(&r, &mut order), 500, "page {page}");
    }
    let past = sb.search(json!({"page": 21, "pageLimit": 500})).await;
    assert_eq!(past.status, 400, "{:?}", past.body);
    assert!(past.message().contains("searchAfter"), "{}", past.message());

    let mut pages_after = 0;
    loop {
        let after = order.last().expect("a contact")["searchAfter"].clone();
        assert!(
            after.as_array().is_some_and(|a| a.len() == 2),
            "searchAfter {after}"
        );
        let r = sb
            .search(json!({"pageLimit": 500, "searchAfter": after}))
            .await
            .expect(200);
        if take(&r, &mut order) == 0 {
            break;
        }
        pages_after += 1;
    }
    assert_eq!(pages_after, 4);
    assert_eq!(order.len(), 12_000);
    let all: HashSet<String> = expected(&sb, |_| true).into_iter().collect();
    assert_eq!(seen, all, "paging must reach every contact exactly once");
    // Default order: newest dateAdded first, ties by id, across the window boundary too.
    for pair in order.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let key = |c: &Value| (-ms(&c["dateAdded"]), id_of(c));
        assert!(
            key(a) < key(b),
            "order broken between {} and {}",
            id_of(a),
            id_of(b)
        );
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_filters_match_the_data() {
    let sb = Sb::start(config(5, 400)).await;
    let x = {
        let store = sb.sandbox.state.store.read();
        let mut all: Vec<&Contact> = store.contacts_in(&sb.loc).collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all[17].clone()
    };

    // eq on email ignores case.
    let email = x.email.clone().expect("seeded email").to_uppercase();
    let filters = json!([{"field": "email", "operator": "eq", "value": email}]);
    assert_eq!(found(&sb, filters).await, BTreeSet::from([x.id.clone()]));

    // tags eq
    let vip = expected(&sb, |c| c.tags.iter().any(|t| t == "vip"));
    assert!(!vip.is_empty());
    assert_eq!(
        found(
            &sb,
            json!([{"field": "tags", "operator": "eq", "value": "vip"}])
        )
        .await,
        vip
    );

    // contains (case-insensitive)
    let li = expected(&sb, |c| {
        c.first_name
            .as_deref()
            .is_some_and(|f| f.to_lowercase().contains("li"))
    });
    assert!(!li.is_empty());
    assert_eq!(
        found(
            &sb,
            json!([{"field": "firstName", "operator": "contains", "value": "LI"}])
        )
        .await,
        li
    );

    // not_eq
    let not_lead = expected(&sb, |c| c.contact_type != "lead");
    assert!(!not_lead.is_empty());
    assert_eq!(
        found(
            &sb,
            json!([{"field": "type", "operator": "not_eq", "value": "lead"}])
        )
        .await,
        not_lead
    );

    // exists / not_exists
    let linked = expected(&sb, |c| c.business_id.is_some());
    let unlinked = expected(&sb, |c| c.business_id.is_none());
    assert!(!linked.is_empty() && !unlinked.is_empty());
    assert_eq!(
        found(&sb, json!([{"field": "businessId", "operator": "exists"}])).await,
        linked
    );
    assert_eq!(
        found(
            &sb,
            json!([{"field": "businessId", "operator": "not_exists"}])
        )
        .await,
        unlinked
    );

    // range on dateUpdated, bounds as ISO strings and as epoch milliseconds.
    let mut updated: Vec<i64> = {
        let store = sb.sandbox.state.store.read();
        store
            .contacts_in(&sb.loc)
            .map(|c| c.date_updated.timestamp_millis())
            .collect()
    };
    updated.sort_unstable();
    let (lo, hi) = (updated[100], updated[300]);
    let iso = |m: i64| {
        chrono::DateTime::from_timestamp_millis(m)
            .expect("ms")
            .to_rfc3339()
    };
    let window = expected(&sb, |c| {
        (lo..hi).contains(&c.date_updated.timestamp_millis())
    });
    assert!(
        window.len() >= 150,
        "{} contacts in the window",
        window.len()
    );
    let by_iso = json!([{"field": "dateUpdated", "operator": "range", "value": {"gte": iso(lo), "lt": iso(hi)}}]);
    let by_ms =
        json!([{"field": "dateUpdated", "operator": "range", "value": {"gte": lo, "lt": hi}}]);
    assert_eq!(found(&sb, by_iso).await, window);
    assert_eq!(found(&sb, by_ms).await, window);
    let after = expected(&sb, |c| c.date_updated.timestamp_millis() > hi);
    assert_eq!(
        found(
            &sb,
            json!([{"field": "dateUpdated", "operator": "range", "value": {"gt": hi}}])
        )
        .await,
        after
    );

    // A nested OR group inside the (implicit) AND of the top-level list.
    let nested = json!([
        {"field": "type", "operator": "eq", "value": "customer"},
        {"group": "OR", "filters": [
            {"field": "tags", "operator": "eq", "value": "vip"},
            {"field": "tags", "operator": "eq", "value": "hot"},
        ]},
    ]);
    let want = expected(&sb, |c| {
        c.contact_type == "customer" && c.tags.iter().any(|t| t == "vip" || t == "hot")
    });
    assert!(!want.is_empty());
    assert_eq!(found(&sb, nested.clone()).await, want);
    let explicit = json!([{"group": "AND", "filters": nested}]);
    assert_eq!(found(&sb, explicit).await, want);

    // customFields.<id>: eq and range on the numeric lead score.
    let score_id = sb.custom_field_id("contact.lead_score").await;
    let score = |c: &Contact| {
        c.custom_fields
            .iter()
            .find(|(id, _)| *id == score_id)
            .and_then(|(_, v)| v.as_f64())
    };
    let field = format!("customFields.{score_id}");
    let high = expected(&sb, |c| score(c).is_some_and(|s| s >= 90.0));
    assert!(!high.is_empty());
    assert_eq!(
        found(
            &sb,
            json!([{"field": field, "operator": "range", "value": {"gte": 90}}])
        )
        .await,
        high
    );
    let x_score = score(&x).expect("seeded lead score");
    let same = expected(&sb, |c| score(c) == Some(x_score));
    assert!(same.contains(&x.id));
    assert_eq!(
        found(
            &sb,
            json!([{"field": field, "operator": "eq", "value": x_score}])
        )
        .await,
        same
    );

    // No filter: everything, and `total` counts all hits, not the page.
    let r = sb.search(json!({"pageLimit": 10})).await.expect(200);
    assert_eq!(r["total"], json!(400));
    assert_eq!(r["contacts"].as_array().map(Vec::len), Some(10));
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_rejects_unknown_operators_and_fields_by_name() {
    let sb = Sb::start(config(5, 20)).await;
    let r = sb
        .search(json!({"filters": [{"field": "email", "operator": "like", "value": "x"}]}))
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert!(
        r.message().contains("filters.0.operator"),
        "{}",
        r.message()
    );
    let r = sb
        .search(json!({"filters": [{"field": "favouriteColour", "operator": "eq", "value": "x"}]}))
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert!(r.message().contains("favouriteColour"), "{}", r.message());
    let nested = json!({"filters": [{"group": "OR", "filters": [{"field": "shoeSize", "operator": "eq", "value": 1}]}]});
    let r = sb.search(nested).await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert!(r.message().contains("shoeSize"), "{}", r.message());
    let r = sb
        .search(json!({"sort": [{"field": "dateUpdated", "direction": "sideways"}]}))
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert!(r.message().contains("direction"), "{}", r.message());
    let r = sb.search(json!({"pageLimit": 501})).await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert!(r.message().contains("pageLimit"), "{}", r.message());
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_sorts_by_date_updated_both_ways_with_search_after() {
    let sb = Sb::start(config(8, 400)).await;
    let mut store_order: Vec<(i64, String)> = {
        let store = sb.sandbox.state.store.read();
        store
            .contacts_in(&sb.loc)
            .map(|c| (c.date_updated.timestamp_millis(), c.id.clone()))
            .collect()
    };
    store_order.sort();
    let asc_expected: Vec<String> = store_order.iter().map(|(_, id)| id.clone()).collect();
    let mut desc_pairs = store_order.clone();
    desc_pairs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let desc_expected: Vec<String> = desc_pairs.iter().map(|(_, id)| id.clone()).collect();

    let asc = sb
        .search_all(
            json!([]),
            json!([{"field": "dateUpdated", "direction": "asc"}]),
            37,
        )
        .await;
    assert_eq!(ids(&asc), asc_expected);
    assert!(asc
        .windows(2)
        .all(|w| ms(&w[0]["dateUpdated"]) <= ms(&w[1]["dateUpdated"])));
    let desc = sb
        .search_all(
            json!([]),
            json!([{"field": "dateUpdated", "direction": "desc"}]),
            37,
        )
        .await;
    assert_eq!(ids(&desc), desc_expected);
    assert!(desc
        .windows(2)
        .all(|w| ms(&w[0]["dateUpdated"]) >= ms(&w[1]["dateUpdated"])));
    // The cursor is (sort value, id).
    let first = &asc[0]["searchAfter"];
    assert_eq!(first, &json!([ms(&asc[0]["dateUpdated"]), id_of(&asc[0])]));
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_sync_by_date_updated_picks_up_later_changes() {
    let sb = Sb::start(config(3, 120)).await;
    let asc = json!([{"field": "dateUpdated", "direction": "asc"}]);
    let full = sb.search_all(json!([]), asc.clone(), 50).await;
    assert_eq!(full.len(), 120);
    let cursor = full.last().expect("a contact")["dateUpdated"].clone();
    let untouched_at_cursor = expected(&sb, |c| c.date_updated.timestamp_millis() == ms(&cursor));

    // Changes after the cursor: an edit of the oldest contact, then a new contact.
    let oldest = id_of(&full[0]);
    sb.put(
        &format!("/contacts/{oldest}"),
        json!({"firstName": "Changed"}),
    )
    .await
    .expect(200);
    let fresh = sb
        .create(json!({"firstName": "Fresh", "email": "fresh.after.cursor@example.org"}))
        .await;

    let since = json!([{"field": "dateUpdated", "operator": "range", "value": {"gte": cursor}}]);
    let delta = sb.search_all(since, asc, 50).await;
    let delta_ids = ids(&delta);
    let mut want: BTreeSet<String> = untouched_at_cursor;
    want.insert(oldest.clone());
    want.insert(id_of(&fresh));
    assert_eq!(delta_ids.iter().cloned().collect::<BTreeSet<_>>(), want);
    // The overlap (contacts at the cursor) comes first, then the changes in the order they happened.
    assert_eq!(
        &delta_ids[delta_ids.len() - 2..],
        &[oldest.clone(), id_of(&fresh)]
    );
    let changed = &delta[delta.len() - 2];
    assert_eq!(changed["firstName"], json!("Changed"));
    assert!(ms(&changed["dateUpdated"]) > ms(&cursor));
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_list_pages_with_start_after_and_limits_to_100() {
    let sb = Sb::start(config(4, 250)).await;
    let loc = sb.loc.clone();
    let mut seen: Vec<String> = Vec::new();
    let mut path = format!("/contacts/?locationId={loc}&limit=100");
    let mut next_urls = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let r = sb.get(&path).await.expect(200);
        assert_eq!(r["meta"]["total"], json!(250));
        let contacts = r["contacts"].as_array().expect("contacts");
        assert_eq!(r["count"], json!(contacts.len()));
        sizes.push(contacts.len());
        seen.extend(ids(contacts));
        let meta = &r["meta"];
        if meta["nextPageUrl"].is_null() {
            break;
        }
        next_urls.push(meta["nextPageUrl"].as_str().expect("url").to_string());
        let (after_id, after) = (
            meta["startAfterId"].as_str().expect("startAfterId"),
            &meta["startAfter"],
        );
        assert_eq!(after_id, seen.last().expect("one").as_str());
        path = format!(
            "/contacts/?locationId={loc}&limit=100&startAfterId={after_id}&startAfter={after}"
        );
    }
    assert_eq!(sizes, vec![100, 100, 50]);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), 250, "each contact exactly once");
    assert_eq!(
        expected(&sb, |_| true),
        seen.iter().cloned().collect::<BTreeSet<_>>()
    );

    // nextPageUrl, followed as given, lands on the same pages.
    let mut via_urls: Vec<String> = ids(sb
        .get(&format!("/contacts/?locationId={loc}&limit=100"))
        .await
        .expect(200)["contacts"]
        .as_array()
        .expect("contacts"));
    for url in &next_urls {
        let path = url
            .strip_prefix(&sb.base)
            .expect("absolute URL of this sandbox");
        via_urls.extend(ids(sb.get(path).await.expect(200)["contacts"]
            .as_array()
            .expect("contacts")));
    }
    assert_eq!(via_urls, seen);

    let r = sb
        .get(&format!("/contacts/?locationId={loc}&limit=101"))
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert!(r.message().contains("limit"), "{}", r.message());
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_list_pages_with_skip_and_limit() {
    let sb = Sb::start(config(4, 200)).await;
    let (business, want) = {
        let store = sb.sandbox.state.store.read();
        let location = store.location(&sb.loc).expect("location");
        let counts = location.businesses.iter().map(|b| {
            let n = store
                .contacts_in(&sb.loc)
                .filter(|c| c.business_id.as_deref() == Some(b.id.as_str()))
                .count();
            (n, b.id.clone())
        });
        let (_, business) = counts.max().expect("a business");
        let want: BTreeSet<String> = store
            .contacts_in(&sb.loc)
            .filter(|c| c.business_id.as_deref() == Some(business.as_str()))
            .map(|c| c.id.clone())
            .collect();
        (business, want)
    };
    assert!(want.len() >= 3, "{} contacts in the business", want.len());
    let mut got = Vec::new();
    let mut skip = 0;
    loop {
        let path = format!(
            "/contacts/business/{business}?locationId={}&limit=2&skip={skip}",
            sb.loc
        );
        let r = sb.get(&path).await.expect(200);
        assert_eq!(
            r["count"],
            json!(want.len()),
            "count is the total, not the page size"
        );
        let page = r["contacts"].as_array().expect("contacts");
        assert!(page.len() <= 2);
        if page.is_empty() {
            break;
        }
        assert!(page.iter().all(|c| c["businessId"] == json!(business)));
        got.extend(ids(page));
        skip += 2;
    }
    assert_eq!(got.len(), want.len(), "no repeats");
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), want);
    let r = sb
        .get(&format!(
            "/contacts/business/{business}?locationId={}&limit=101",
            sb.loc
        ))
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    sb.shutdown().await;
}
