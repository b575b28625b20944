//! Lists of the Insightly emulator over real HTTP: bare arrays in id order, `skip`/`top` with
//! `top` capped at 500, `X-Total-Count` only with `count_total=true`, `brief=true` without
//! sub-collections, `Search` by `field_name`/`field_value`, and `updated_after_utc` in both
//! accepted formats, strictly after the given time.

mod insightly_support;

use std::collections::BTreeSet;

use insightly_support::{id_of, start};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_top_cap_total_and_brief() {
    let (sb, api) = start(|c| c.contacts = 520).await;
    let all = api.get("/Contacts").await;
    assert_eq!(all.status, 200);
    assert!(all.header("x-total-count").is_none(), "only when asked");
    assert_eq!(all.rows().len(), 500, "no top: 500");
    let capped = api.get("/Contacts?top=1000&count_total=true").await;
    assert_eq!(capped.rows().len(), 500, "top is capped at 500");
    assert_eq!(capped.header("x-total-count"), Some("520"));
    let tail = api.get("/Contacts?skip=500&top=500").await.rows();
    assert_eq!(tail.len(), 20);

    let ids: Vec<i64> = api
        .all("/Contacts", 150)
        .await
        .iter()
        .map(|c| id_of(c, "CONTACT_ID"))
        .collect();
    assert_eq!(ids.len(), 520);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "id order, no repeats");

    let full = api.get("/Contacts?top=3").await.rows();
    let brief = api.get("/Contacts?top=3&brief=true").await.rows();
    for (f, b) in full.iter().zip(&brief) {
        for sub in ["TAGS", "CUSTOMFIELDS", "LINKS", "DATES"] {
            assert!(f.get(sub).is_some_and(|v| v.is_array()), "{sub} in full");
            assert!(b.get(sub).is_none(), "{sub} not in brief");
        }
        assert_eq!(f["FIRST_NAME"], b["FIRST_NAME"]);
        assert_eq!(f["DATE_UPDATED_UTC"], b["DATE_UPDATED_UTC"]);
    }
    for (q, needle) in [
        ("top=-1", "top"),
        ("skip=x", "skip"),
        ("brief=yes", "brief"),
        ("limit=5", "Unknown query parameters: limit"),
        ("updated_after_utc=2024-01-01", "Unknown query parameters"),
    ] {
        api.get(&format!("/Contacts?{q}"))
            .await
            .assert_error(400, needle);
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_by_field_and_by_tag() {
    let (sb, api) = start(|c| c.contacts = 30).await;
    let all = api.all("/Contacts", 500).await;
    let target = &all[7];
    let email = target["EMAIL_ADDRESS"].as_str().expect("seeded email");
    let hits = api
        .get(&format!(
            "/Contacts/Search?field_name=EMAIL_ADDRESS&field_value={}",
            email.to_uppercase()
        ))
        .await
        .rows();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["CONTACT_ID"], target["CONTACT_ID"]);
    let none = api
        .get("/Contacts/Search?field_name=EMAIL_ADDRESS&field_value=nobody@example.com")
        .await
        .rows();
    assert!(none.is_empty());
    let city = target["ADDRESS_MAIL_CITY"].as_str().expect("city");
    let in_city = api
        .get(&format!(
            "/Contacts/Search?field_name=ADDRESS_MAIL_CITY&field_value={city}&count_total=true"
        ))
        .await;
    let want = all
        .iter()
        .filter(|c| c["ADDRESS_MAIL_CITY"] == city)
        .count();
    assert_eq!(in_city.rows().len(), want);
    assert_eq!(
        in_city.header("x-total-count"),
        Some(want.to_string().as_str())
    );
    let by_custom = api
        .get("/Contacts/Search?field_name=Lead_Source__c&field_value=Website")
        .await;
    assert_eq!(by_custom.status, 200, "custom fields are searchable");
    api.get("/Contacts/Search?field_name=EMAIL_ADDRESS")
        .await
        .assert_error(400, "field_name and field_value");
    api.get("/Contacts/Search?field_name=SHOE_SIZE&field_value=9")
        .await
        .assert_error(400, "SHOE_SIZE");

    let tagged = api
        .get("/Contacts/SearchByTag?tagName=vip&top=500")
        .await
        .rows();
    let want: BTreeSet<i64> = all
        .iter()
        .filter(|c| {
            c["TAGS"].as_array().into_iter().flatten().any(|t| {
                t["TAG_NAME"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case("vip"))
            })
        })
        .map(|c| id_of(c, "CONTACT_ID"))
        .collect();
    let got: BTreeSet<i64> = tagged.iter().map(|c| id_of(c, "CONTACT_ID")).collect();
    assert_eq!(got, want);
    api.get("/Contacts/SearchByTag")
        .await
        .assert_error(400, "tagName");
    let tags = api.get("/Tags?record_type=contacts").await.rows();
    assert!(tags.iter().any(|t| t["TAG_NAME"] == "VIP"), "{tags:?}");
    api.get("/Tags").await.assert_error(400, "record_type");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updated_after_utc_is_strict_and_takes_both_formats() {
    let (sb, api) = start(|c| c.contacts = 10).await;
    api.advance(5).await;
    let a = api.contact(json!({"FIRST_NAME": "A"})).await;
    let t_a = a["DATE_UPDATED_UTC"].as_str().expect("stamp").to_string();
    api.advance(2).await;
    let b = api.contact(json!({"FIRST_NAME": "B"})).await;
    let t_b = b["DATE_UPDATED_UTC"].as_str().expect("stamp").to_string();
    assert!(t_b > t_a);
    let rfc = |t: &str| t.replace(' ', "T") + "Z";
    let ids = |rows: Vec<serde_json::Value>| -> Vec<i64> {
        rows.iter().map(|r| id_of(r, "CONTACT_ID")).collect()
    };
    let (ia, ib) = (id_of(&a, "CONTACT_ID"), id_of(&b, "CONTACT_ID"));
    for fmt in [t_a.clone(), rfc(&t_a)] {
        let r = api
            .get(&format!("/Contacts/Search?updated_after_utc={fmt}"))
            .await;
        assert_eq!(r.status, 200, "{fmt}: {}", r.text);
        assert_eq!(
            ids(r.rows()),
            [ib],
            "strictly after {fmt}: A itself is not listed"
        );
    }
    // One second earlier lists both; an offset is honoured.
    let before = chrono::NaiveDateTime::parse_from_str(&t_a, "%Y-%m-%d %H:%M:%S").expect("time")
        - chrono::Duration::seconds(1);
    let q = before.format("%Y-%m-%dT%H:%M:%S+00:00").to_string();
    let r = api
        .get(&format!(
            "/Contacts/Search?updated_after_utc={}",
            q.replace('+', "%2B")
        ))
        .await;
    assert_eq!(ids(r.rows()), [ia, ib]);
    api.get("/Contacts/Search?updated_after_utc=yesterday")
        .await
        .assert_error(400, "updated_after_utc");

    // A person's change in the app moves the record past the cursor; so does a tag change.
    api.advance(2).await;
    let person = api
        .admin(
            Method::PUT,
            &format!("/Contacts/{ia}"),
            Some(json!({"LAST_NAME": "Edited"})),
        )
        .await;
    assert_eq!(person.status, 200, "{}", person.text);
    let after_b = api
        .get(&format!("/Contacts/Search?updated_after_utc={t_b}"))
        .await
        .rows();
    assert_eq!(ids(after_b), [ia]);
    api.advance(2).await;
    let now_b = api.get(&format!("/Contacts/{ib}")).await.json()["DATE_UPDATED_UTC"].clone();
    let t = api
        .post(
            &format!("/Contacts/{ib}/Tags"),
            json!({"TAG_NAME": "fresh"}),
        )
        .await;
    assert_eq!(t.status, 201, "{}", t.text);
    let tagged = api.get(&format!("/Contacts/{ib}")).await.json();
    assert!(tagged["DATE_UPDATED_UTC"].as_str() > now_b.as_str());

    // Children lists take the filter too.
    let task = api
        .post(
            "/Tasks",
            json!({"TITLE": "T", "LINKS": [{"LINK_OBJECT_NAME": "Contact", "LINK_OBJECT_ID": ib}]}),
        )
        .await
        .json();
    let stamp = task["DATE_UPDATED_UTC"]
        .as_str()
        .expect("stamp")
        .to_string();
    let r = api
        .get(&format!("/Contacts/{ib}/Tasks?updated_after_utc={stamp}"))
        .await;
    assert!(r.rows().is_empty(), "strict on children too");
    let r = api
        .get(&format!("/Tasks/Search?updated_after_utc={}", rfc(&t_a)))
        .await
        .rows();
    assert_eq!(r.len(), 1);
    sb.shutdown().await;
}
