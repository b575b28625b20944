//! `updated_since` plus cursor paging over real HTTP, with writes landing between and during the
//! page requests: every record is seen, no record version is seen twice, and a record changed
//! mid-listing shows up again later with its new version (never skipped).

mod rest_support;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rest_support::{start, Api};
use serde_json::{json, Value};

/// One page: its records and the next cursor.
async fn page(api: &Api, query: &str, cursor: &Option<String>) -> (Vec<Value>, Option<String>) {
    let url = match cursor {
        Some(c) => format!("/v1/contacts?{query}&cursor={c}"),
        None => format!("/v1/contacts?{query}"),
    };
    let r = api.get(&url).await;
    assert_eq!(r.status, 200, "{url}: {}", r.text);
    let body = r.json();
    let data = body["data"].as_array().cloned().unwrap_or_default();
    (data, body["next_cursor"].as_str().map(str::to_string))
}

fn key(r: &Value) -> (String, u64) {
    (
        r["id"].as_str().unwrap_or_default().to_string(),
        r["version"].as_u64().unwrap_or(0),
    )
}

fn id(r: &Value) -> String {
    r["id"].as_str().unwrap_or_default().to_string()
}

/// The pass saw every id and no (id, version) twice; returns the last version seen per id.
fn check_pass(seen: &[Value], expected_ids: &BTreeSet<String>) -> HashMap<String, u64> {
    let mut versions = BTreeSet::new();
    let mut last = HashMap::new();
    for r in seen {
        assert!(versions.insert(key(r)), "{:?} seen twice", key(r));
        last.insert(id(r), key(r).1);
    }
    let ids: BTreeSet<String> = last.keys().cloned().collect();
    let missed: Vec<&String> = expected_ids.difference(&ids).collect();
    assert!(missed.is_empty(), "never seen: {missed:?}");
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursor_paging_is_stable_while_writes_land_between_pages() {
    let (sb, api) = start(|c| c.contacts = 60).await;
    let before: BTreeSet<String> = api
        .all("/v1/contacts?limit=100")
        .await
        .iter()
        .map(id)
        .collect();
    assert_eq!(before.len(), 60);
    let query = "include_deleted=true&updated_since=2020-01-01T00:00:00Z&limit=7";
    let (mut seen, mut cursor, mut created, mut touched) =
        (Vec::new(), None, BTreeSet::new(), BTreeSet::new());
    let (mut pages, mut backs) = (0, Vec::new());
    loop {
        let (data, next) = page(&api, query, &cursor).await;
        seen.extend(data);
        pages += 1;
        let Some(next) = next else { break };
        cursor = Some(next);
        if pages > 5 {
            continue; // let the pass end
        }
        // Between pages: change a record already seen, one not seen yet, delete one, create one.
        let seen_ids: BTreeSet<String> = seen.iter().map(id).collect();
        let unseen: Vec<String> = before
            .iter()
            .filter(|i| !seen_ids.contains(*i) && !touched.contains(*i))
            .cloned()
            .collect();
        let back = seen_ids.iter().nth(pages).cloned().expect("a seen record");
        let ahead = unseen[pages].clone();
        let doomed = unseen[unseen.len() - 1].clone();
        for (target, city) in [(&back, "Back"), (&ahead, "Ahead")] {
            let r = api
                .patch(
                    &format!("/v1/contacts/{target}"),
                    json!({"city": format!("{city}{pages}")}),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
        }
        assert_eq!(
            api.delete(&format!("/v1/contacts/{doomed}")).await.status,
            204
        );
        touched.insert(doomed);
        backs.push(back.clone());
        touched.extend([back, ahead]);
        created.insert(
            api.contact(json!({"first_name": format!("New{pages}")}))
                .await["id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    assert!(pages > 6, "the writes happened mid-listing ({pages} pages)");
    let all_ids: BTreeSet<String> = before.union(&created).cloned().collect();
    let last = check_pass(&seen, &all_ids);

    // Records nobody touched appear exactly once; every record's final version was seen.
    let count = |i: &String| seen.iter().filter(|r| id(r) == *i).count();
    for i in before.difference(&touched) {
        assert_eq!(count(i), 1, "{i}");
    }
    for i in &backs {
        assert!(
            count(i) >= 2,
            "{i} changed after it was seen, so it came again"
        );
    }
    let finals: BTreeMap<String, u64> = api
        .all("/v1/contacts?include_deleted=true&limit=100")
        .await
        .iter()
        .map(key)
        .collect();
    for (i, v) in &finals {
        assert_eq!(
            last.get(i),
            Some(v),
            "the pass ended on the final version of {i}"
        );
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cursor_paging_is_stable_under_a_concurrent_writer() {
    let (sb, api) = start(|c| c.contacts = 80).await;
    let ids: Vec<String> = api
        .all("/v1/contacts?limit=100")
        .await
        .iter()
        .map(id)
        .collect();
    let writer = {
        let (api, ids) = (api.clone(), ids.clone());
        tokio::spawn(async move {
            for (n, i) in ids.iter().cycle().step_by(7).take(60).enumerate() {
                let r = api
                    .patch(
                        &format!("/v1/contacts/{i}"),
                        json!({"state": format!("S{n}")}),
                    )
                    .await;
                assert_eq!(r.status, 200, "{}", r.text);
            }
        })
    };
    let query = "limit=5";
    let (mut seen, mut cursor, mut last_updated) = (Vec::new(), None, String::new());
    loop {
        let (data, next) = page(&api, query, &cursor).await;
        for r in &data {
            let u = r["updated_at"].as_str().unwrap_or_default().to_string();
            assert!(
                u >= last_updated,
                "ordered by updated_at: {u} after {last_updated}"
            );
            last_updated = u;
        }
        seen.extend(data);
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    writer.await.expect("writer");
    let expected: BTreeSet<String> = ids.iter().cloned().collect();
    let mut last = check_pass(&seen, &expected);

    // A sync's next poll from its high-water mark (inclusive) catches whatever came after.
    let tail = api
        .all(&format!("/v1/contacts?updated_since={last_updated}"))
        .await;
    for r in &tail {
        last.insert(id(r), key(r).1);
    }
    for r in api.all("/v1/contacts?limit=100").await {
        assert_eq!(
            last.get(&id(&r)),
            Some(&key(&r).1),
            "{} ends current",
            id(&r)
        );
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updated_since_is_inclusive_and_order_is_updated_at_then_id() {
    let (sb, api) = start(|c| c.contacts = 30).await;
    let all = api.all("/v1/contacts?limit=4").await;
    assert_eq!(all.len(), 30);
    let keys: Vec<(String, String)> = all
        .iter()
        .map(|r| (r["updated_at"].as_str().unwrap_or_default().into(), id(r)))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);

    let pivot = &all[12];
    let since = pivot["updated_at"].as_str().expect("updated_at");
    let tail = api
        .all(&format!("/v1/contacts?updated_since={since}&limit=3"))
        .await;
    assert_eq!(tail.first().map(id), Some(id(pivot)), "inclusive");
    assert_eq!(
        tail.len(),
        all.iter()
            .filter(|r| r["updated_at"].as_str() >= Some(since))
            .count()
    );
    let offset = api
        .all("/v1/contacts?updated_since=2099-01-01T00:00:00%2B02:00")
        .await;
    assert!(offset.is_empty());
    let first = api.get("/v1/contacts").await.json();
    assert_eq!(
        first["data"].as_array().map(Vec::len),
        Some(30),
        "default limit 50"
    );
    assert_eq!(first["next_cursor"], Value::Null);
    let capped = api.get("/v1/contacts?limit=100").await;
    assert_eq!(capped.status, 200);
    assert_eq!(api.get("/v1/contacts?limit=101").await.status, 400);
    sb.shutdown().await;
}
