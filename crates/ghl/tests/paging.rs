//! Paging streams against the GHL sandbox over real HTTP: every contact exactly once past the
//! 10,000-result page window, incremental reads by `dateUpdated` with overlap and no duplicates,
//! and the legacy and business lists to the end.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use ghl::models::search::{Direction, Filter, Range, SearchContact, SearchRequest};
use ghl::paging::ChangeCursor;
use ghl::{Auth, GhlClient, Secret};
use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};
use serde_json::{json, Value};

const OVERLAP: Duration = Duration::from_secs(300);

async fn sandbox(contacts: usize) -> GhlSandbox {
    GhlSandbox::start(GhlConfig {
        contacts,
        limits: LimitConfig {
            burst_max: 100_000,
            burst_interval_ms: 10_000,
            daily_max: 10_000_000,
        },
        ..Default::default()
    })
    .await
    .expect("sandbox starts")
}

fn client(sb: &GhlSandbox) -> GhlClient {
    GhlClient::builder(Auth::PrivateIntegration(Secret::new(sb.token())))
        .base_url(&sb.base_url)
        .location_id(sb.location_id())
        .build()
        .expect("client")
}

async fn all(
    stream: impl futures_util::Stream<Item = Result<SearchContact, ghl::GhlError>>,
) -> Vec<SearchContact> {
    stream.try_collect().await.expect("stream completes")
}

fn ids(contacts: &[SearchContact]) -> Vec<String> {
    contacts.iter().map(|c| c.id.clone()).collect()
}

/// Every id once: returns the set after checking there are no repeats.
fn unique(ids: &[String]) -> HashSet<String> {
    let set: HashSet<String> = ids.iter().cloned().collect();
    assert_eq!(set.len(), ids.len(), "an id was yielded twice");
    set
}

fn store_ids(sb: &GhlSandbox) -> HashSet<String> {
    let loc = sb.location_id();
    let store = sb.state.store.read();
    store.contacts_in(&loc).map(|c| c.id.clone()).collect()
}

/// Edits a contact as a person in GHL's UI would (admin API), returning its new `dateUpdated`.
async fn edit(sb: &GhlSandbox, id: &str, body: Value) -> DateTime<Utc> {
    let answer: Value = reqwest::Client::new()
        .put(format!("{}/_sandbox/contacts/{id}", sb.base_url))
        .json(&body)
        .send()
        .await
        .expect("admin edit")
        .error_for_status()
        .expect("admin edit accepted")
        .json()
        .await
        .expect("json");
    let at = answer["contact"]["dateUpdated"]
        .as_str()
        .expect("dateUpdated");
    DateTime::parse_from_rfc3339(at)
        .expect("date")
        .with_timezone(&Utc)
}

fn search_bodies(sb: &GhlSandbox) -> Vec<Value> {
    sb.state
        .log
        .since(0, usize::MAX)
        .into_iter()
        .filter(|r| r.path == "/contacts/search")
        .map(|r| {
            assert_eq!(r.status, 200, "search answered {}", r.status);
            r.body.unwrap_or(Value::Null)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_all_reads_25000_contacts_exactly_once() {
    let sb = sandbox(25_000).await;
    let client = client(&sb);
    let expected = store_ids(&sb);
    assert_eq!(expected.len(), 25_000);

    let contacts = all(client.search_all(SearchRequest::new().page_limit(500))).await;
    let got = unique(&ids(&contacts));
    assert_eq!(got.len(), 25_000);
    assert_eq!(got, expected, "no gaps");
    let added: Vec<_> = contacts
        .iter()
        .map(|c| c.date_added.expect("dateAdded"))
        .collect();
    assert!(
        added.windows(2).all(|w| w[0] <= w[1]),
        "dateAdded ascending by default"
    );

    // Cursor paging from the first page: page 1, then searchAfter only (50 full pages + 1 empty).
    let bodies = search_bodies(&sb);
    assert_eq!(bodies.len(), 51);
    assert_eq!(bodies[0]["page"], 1);
    assert!(bodies[0].get("searchAfter").is_none());
    for b in &bodies[1..] {
        assert!(
            b.get("page").is_none(),
            "no page numbers after the first: {b}"
        );
        assert!(b["searchAfter"].is_array());
    }

    // A filtered search in another order, with a page size that does not divide the total.
    let mut dates: Vec<DateTime<Utc>> = {
        let loc = sb.location_id();
        let store = sb.state.store.read();
        store.contacts_in(&loc).map(|c| c.date_added).collect()
    };
    dates.sort();
    let from = dates[dates.len() / 3];
    let expected: HashSet<String> = {
        let loc = sb.location_id();
        let store = sb.state.store.read();
        store
            .contacts_in(&loc)
            .filter(|c| c.date_added >= from)
            .map(|c| c.id.clone())
            .collect()
    };
    assert!(expected.len() > 10_000, "past the page window");
    let request = SearchRequest::new()
        .page_limit(337)
        .filter(Filter::range(
            "dateAdded",
            Range {
                gte: Some(Range::date(from)),
                ..Default::default()
            },
        ))
        .sort_by("dateUpdated", Direction::Desc);
    let contacts = all(client.search_all(request)).await;
    assert_eq!(unique(&ids(&contacts)), expected);
    let updated: Vec<_> = contacts
        .iter()
        .map(|c| c.date_updated.expect("dateUpdated"))
        .collect();
    assert!(
        updated.windows(2).all(|w| w[0] >= w[1]),
        "dateUpdated descending"
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_since_reads_only_changes_after_the_cursor() {
    let sb = sandbox(3_000).await;
    let client = client(&sb);
    let long_ago = Utc::now() - chrono::Duration::days(3_650);

    // First run: everything, oldest change first.
    let mut run = client.changed_since(long_ago, OVERLAP);
    let mut first = Vec::new();
    while let Some(c) = run.next().await {
        first.push(c.expect("contact"));
    }
    assert!(run.is_finished());
    assert_eq!(unique(&ids(&first)), store_ids(&sb));
    let updated: Vec<_> = first
        .iter()
        .map(|c| c.date_updated.expect("dateUpdated"))
        .collect();
    assert!(
        updated.windows(2).all(|w| w[0] <= w[1]),
        "dateUpdated ascending"
    );
    let cursor = run.cursor();
    assert_eq!(run.next_cursor(), cursor.since);
    assert_eq!(Some(cursor.since), updated.iter().max().copied());
    assert!(
        !cursor.recent.is_empty(),
        "the versions inside the overlap are remembered"
    );

    // Nothing changed: the overlap re-reads the last five minutes but delivers nothing again.
    let again = all(client.changes_after(cursor.clone(), OVERLAP)).await;
    assert_eq!(ids(&again), Vec::<String>::new());

    // Change seven contacts and create one: exactly those eight come next.
    let picked: Vec<String> = first.iter().step_by(400).map(|c| c.id.clone()).collect();
    assert_eq!(picked.len(), 8);
    let mut changed = HashSet::new();
    for (i, id) in picked.iter().take(7).enumerate() {
        edit(&sb, id, json!({"city": format!("Changed {i}")})).await;
        changed.insert(id.clone());
    }
    let created: Value = reqwest::Client::new()
        .post(format!(
            "{}/_sandbox/locations/{}/contacts",
            sb.base_url,
            sb.location_id()
        ))
        .json(&json!({"firstName": "New", "email": "new.one@example.org"}))
        .send()
        .await
        .expect("admin create")
        .json()
        .await
        .expect("json");
    changed.insert(created["contact"]["id"].as_str().expect("id").to_string());

    let mut run = client.changes_after(cursor.clone(), OVERLAP);
    let second = all(&mut run).await;
    assert_eq!(unique(&ids(&second)), changed);
    for c in &second {
        let city = c
            .extra
            .get("city")
            .and_then(Value::as_str)
            .unwrap_or_default();
        assert!(
            c.extra["firstName"] == "New" || city.starts_with("Changed"),
            "{c:?}"
        );
    }
    let cursor2 = run.cursor();
    assert!(cursor2.since > cursor.since);

    // The bare-timestamp form also finds them (it cannot tell the margin's old versions apart).
    let by_time = all(client.changed_since(cursor.since, OVERLAP)).await;
    let by_time_ids = unique(&ids(&by_time));
    assert!(by_time_ids.is_superset(&changed));
    let floor = cursor.since - chrono::Duration::from_std(OVERLAP).expect("overlap");
    assert!(by_time
        .iter()
        .all(|c| c.date_updated.expect("date") >= floor));

    // And the run after that, with nothing new, is empty despite the overlap.
    let third = all(client.changes_after(cursor2.clone(), OVERLAP)).await;
    assert_eq!(ids(&third), Vec::<String>::new());

    // A contact changed during a run moves behind the read position: it is not delivered twice
    // in that run, and the next run delivers its new version.
    let mut run = client.changes_after(ChangeCursor::new(long_ago), OVERLAP);
    let mut during = Vec::new();
    for _ in 0..10 {
        during.push(run.next().await.expect("item").expect("contact"));
    }
    let moved = during[0].id.clone();
    let moved_at = edit(&sb, &moved, json!({"city": "Moved"})).await;
    while let Some(c) = run.next().await {
        during.push(c.expect("contact"));
    }
    assert_eq!(unique(&ids(&during)), store_ids(&sb), "every contact once");
    let cursor3 = run.cursor();
    assert!(cursor3.since <= moved_at);
    let after = all(client.changes_after(cursor3, OVERLAP)).await;
    assert_eq!(ids(&after), vec![moved.clone()]);
    assert_eq!(after[0].extra["city"], "Moved");
    assert_eq!(after[0].date_updated, Some(moved_at));
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_and_business_lists_complete() {
    let sb = sandbox(2_500).await;
    let client = client(&sb);

    let legacy = all(client.legacy_all()).await;
    assert_eq!(unique(&ids(&legacy)), store_ids(&sb));
    let added: Vec<_> = legacy
        .iter()
        .map(|c| c.date_added.expect("dateAdded"))
        .collect();
    assert!(
        added.windows(2).all(|w| w[0] <= w[1]),
        "dateAdded ascending"
    );

    // One business with 250 more contacts than it had: three pages of up to 100.
    let business = sb.state.store.read().locations[0].businesses[0].id.clone();
    let loose: Vec<String> = {
        let loc = sb.location_id();
        let store = sb.state.store.read();
        store
            .contacts_in(&loc)
            .filter(|c| c.business_id.is_none())
            .take(250)
            .map(|c| c.id.clone())
            .collect()
    };
    let linked: Value = reqwest::Client::new()
        .post(format!("{}/contacts/bulk/business", sb.base_url))
        .bearer_auth(sb.token())
        .header("Version", ghl::API_VERSION)
        .json(&json!({"locationId": sb.location_id(), "ids": loose, "businessId": business}))
        .send()
        .await
        .expect("bulk business")
        .json()
        .await
        .expect("json");
    assert_eq!(linked["success"], true, "{linked}");
    let expected: HashSet<String> = {
        let loc = sb.location_id();
        let store = sb.state.store.read();
        store
            .contacts_in(&loc)
            .filter(|c| c.business_id.as_deref() == Some(business.as_str()))
            .map(|c| c.id.clone())
            .collect()
    };
    assert!(expected.len() > 250);
    let members = all(client.business_contacts_all(business.clone())).await;
    assert_eq!(unique(&ids(&members)), expected);

    // An unknown business has no contacts: the stream ends at once.
    assert!(all(client.business_contacts_all("no-such-business"))
        .await
        .is_empty());
    sb.shutdown().await;
}
