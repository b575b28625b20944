//! Records of the Insightly emulator over real HTTP: the swagger's statuses (201 on POST and
//! PUT, 202 on DELETE, 404 after), partial updates where `null` clears, both PUT forms, required
//! fields answered 400 naming the field, custom fields with `__c` names, organisations, tasks,
//! notes (no `POST /Notes`) and events, and datetimes as `YYYY-MM-DD HH:MM:SS`.

mod insightly_support;

use insightly_support::{id_of, start};
use reqwest::Method;
use serde_json::{json, Value};

fn is_insightly_time(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_create_update_both_forms_and_delete() {
    let (sb, api) = start(|_| {}).await;
    let c = api
        .contact(json!({
            "FIRST_NAME": "Ada", "LAST_NAME": "Lovelace", "EMAIL_ADDRESS": "ada@example.com",
            "PHONE": "+15550001", "ADDRESS_MAIL_CITY": "London",
            "DATE_OF_BIRTH": "1815-12-10T00:00:00Z",
            "CONTACT_ID": 5, "DATE_UPDATED_UTC": "2000-01-01 00:00:00", "NOT_A_FIELD": 1,
            "TAGS": [{"TAG_NAME": "vip"}, {"TAG_NAME": "VIP"}, {"TAG_NAME": "lead"}],
            "CUSTOMFIELDS": [{"FIELD_NAME": "Hobby__c", "FIELD_VALUE": "Chess"},
                             {"FIELD_NAME": "Score__c", "FIELD_VALUE": "42"}],
        }))
        .await;
    let id = id_of(&c, "CONTACT_ID");
    assert_ne!(id, 5, "the id is the server's");
    assert!(c.get("NOT_A_FIELD").is_none());
    assert_eq!(c["DATE_OF_BIRTH"], "1815-12-10 00:00:00");
    assert!(is_insightly_time(&c["DATE_CREATED_UTC"]), "{c}");
    assert_ne!(c["DATE_UPDATED_UTC"], "2000-01-01 00:00:00");
    assert_eq!(
        c["TAGS"],
        json!([{"TAG_NAME": "vip"}, {"TAG_NAME": "lead"}])
    );
    assert_eq!(c["VISIBLE_TO"], "EVERYONE");
    let custom = c["CUSTOMFIELDS"].as_array().cloned().unwrap_or_default();
    assert!(
        custom.contains(
            &json!({"FIELD_NAME": "Score__c", "FIELD_VALUE": 42.0, "CUSTOM_FIELD_ID": "Score__c"})
        ),
        "{custom:?}"
    );

    // PUT /Contacts with the id in the body: partial, null clears, 201.
    api.advance(2).await;
    let r = api
        .put(
            "/Contacts",
            json!({"CONTACT_ID": id, "LAST_NAME": "King", "PHONE": null,
            "CUSTOMFIELDS": [{"FIELD_NAME": "Hobby__c", "FIELD_VALUE": null}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let u = r.json();
    assert_eq!(
        (u["FIRST_NAME"].as_str(), u["LAST_NAME"].as_str()),
        (Some("Ada"), Some("King"))
    );
    assert_eq!(u["PHONE"], Value::Null);
    assert_eq!(u["ADDRESS_MAIL_CITY"], "London", "fields not sent are kept");
    assert_eq!(
        u["TAGS"].as_array().map(Vec::len),
        Some(2),
        "TAGS not sent are kept"
    );
    let names: Vec<&str> = u["CUSTOMFIELDS"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["FIELD_NAME"].as_str())
        .collect();
    assert_eq!(
        names,
        ["Score__c"],
        "a null custom value clears only that field"
    );
    assert!(u["DATE_UPDATED_UTC"].as_str() > c["DATE_UPDATED_UTC"].as_str());

    // PUT /Contacts/{id} (amp-labs' form) works too; the ids must agree; TAGS replace the set.
    let r = api
        .put(
            &format!("/Contacts/{id}"),
            json!({"TITLE": "Countess", "TAGS": [{"TAG_NAME": "alumni"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["TAGS"], json!([{"TAG_NAME": "alumni"}]));
    api.put(
        &format!("/Contacts/{id}"),
        json!({"CONTACT_ID": id + 1, "TITLE": "x"}),
    )
    .await
    .assert_error(400, "does not match");
    api.put("/Contacts", json!({"TITLE": "x"}))
        .await
        .assert_error(400, "CONTACT_ID is required");
    api.put("/Contacts", json!({"CONTACT_ID": 1, "TITLE": "x"}))
        .await
        .assert_error(404, "Record not found");
    api.put("/Contacts", json!({"CONTACT_ID": id, "FIRST_NAME": null}))
        .await
        .assert_error(400, "FIRST_NAME is required");

    let got = api.get(&format!("/Contacts/{id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json()["TITLE"], "Countess");
    let del = api.delete(&format!("/Contacts/{id}")).await;
    assert_eq!(del.status, 202, "{}", del.text);
    api.get(&format!("/Contacts/{id}"))
        .await
        .assert_error(404, "Record not found");
    api.delete(&format!("/Contacts/{id}"))
        .await
        .assert_error(404, "Record not found");
    api.get("/Contacts/abc")
        .await
        .assert_error(400, "not a valid integer");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_answers_400_naming_the_field() {
    let (sb, api) = start(|_| {}).await;
    let cases = [
        (
            "/Contacts",
            json!({"LAST_NAME": "No first name"}),
            "FIRST_NAME",
        ),
        ("/Contacts", json!({"FIRST_NAME": "  "}), "FIRST_NAME"),
        (
            "/Contacts",
            json!({"FIRST_NAME": "x".repeat(256)}),
            "FIRST_NAME of contact is longer than 255",
        ),
        (
            "/Contacts",
            json!({"FIRST_NAME": "A", "EMAIL_OPTED_OUT": "yes"}),
            "EMAIL_OPTED_OUT",
        ),
        (
            "/Contacts",
            json!({"FIRST_NAME": "A", "DATE_OF_BIRTH": "soon"}),
            "DATE_OF_BIRTH",
        ),
        (
            "/Contacts",
            json!({"FIRST_NAME": "A", "ORGANISATION_ID": 9}),
            "ORGANISATION_ID 9 does not exist",
        ),
        (
            "/Contacts",
            json!({"FIRST_NAME": "A", "CUSTOMFIELDS": [{"FIELD_NAME": "Nope__c", "FIELD_VALUE": 1}]}),
            "Nope__c is not a custom field",
        ),
        (
            "/Contacts",
            json!({"FIRST_NAME": "A", "CUSTOMFIELDS": [{"FIELD_NAME": "Lead_Source__c", "FIELD_VALUE": "Radio"}]}),
            "Lead_Source__c must be one of",
        ),
        (
            "/Contacts",
            json!({"FIRST_NAME": "A", "TAGS": [{"TAG_NAME": ""}]}),
            "TAG_NAME is required",
        ),
        (
            "/Organisations",
            json!({"WEBSITE": "https://x.example"}),
            "ORGANISATION_NAME",
        ),
        ("/Tasks", json!({"DETAILS": "no title"}), "TITLE"),
        (
            "/Events",
            json!({"TITLE": "t", "END_DATE_UTC": "2030-01-01 10:00:00"}),
            "START_DATE_UTC",
        ),
        (
            "/Events",
            json!({"TITLE": "t", "START_DATE_UTC": "2030-01-01 10:00:00"}),
            "END_DATE_UTC",
        ),
        (
            "/Events",
            json!({"START_DATE_UTC": "2030-01-01 10:00:00", "END_DATE_UTC": "2030-01-01 09:00:00"}),
            "END_DATE_UTC is before",
        ),
        (
            "/Tasks",
            json!({"TITLE": "t", "LINKS": [{"LINK_OBJECT_NAME": "Contact", "LINK_OBJECT_ID": 1}]}),
            "Contact 1 does not exist",
        ),
        (
            "/Tasks",
            json!({"TITLE": "t", "LINKS": [{"LINK_OBJECT_NAME": "Lead", "LINK_OBJECT_ID": 1}]}),
            "LINK_OBJECT_NAME",
        ),
    ];
    for (path, body, needle) in cases {
        api.post(path, body.clone()).await.assert_error(400, needle);
    }
    let c = api
        .contact(json!({"FIRST_NAME": "Note", "LAST_NAME": "Holder"}))
        .await;
    let cid = id_of(&c, "CONTACT_ID");
    api.post(
        &format!("/Contacts/{cid}/Notes"),
        json!({"BODY": "no title"}),
    )
    .await
    .assert_error(400, "TITLE is required for a note");
    let bad_json = insightly_support::read(
        api.http
            .post(format!("{}/Contacts", api.base))
            .basic_auth(&api.key, Some(""))
            .header("content-type", "application/json")
            .body("{nope"),
    )
    .await;
    bad_json.assert_error(400, "not valid JSON");
    // Nothing invalid was stored.
    assert_eq!(api.all("/Contacts", 100).await.len(), 9);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activities_link_to_contacts_and_notes_are_created_under_them() {
    let (sb, api) = start(|_| {}).await;
    let c = api
        .contact(json!({"FIRST_NAME": "Grace", "EMAIL_ADDRESS": "grace@example.com"}))
        .await;
    let cid = id_of(&c, "CONTACT_ID");
    let t = api
        .post("/Tasks", json!({"TITLE": "Call", "DUE_DATE": "2030-05-01T09:00:00-04:00",
            "LINKS": [{"LINK_OBJECT_NAME": "contacts", "LINK_OBJECT_ID": cid, "DETAILS": "marker-1"}]}))
        .await;
    assert_eq!(t.status, 201, "{}", t.text);
    let task = t.json();
    assert_eq!(task["DUE_DATE"], "2030-05-01 13:00:00", "stored in UTC");
    assert_eq!(task["COMPLETED"], false);
    let link = &task["LINKS"][0];
    assert_eq!(
        (
            link["LINK_OBJECT_NAME"].as_str(),
            link["LINK_OBJECT_ID"].as_i64()
        ),
        (Some("Contact"), Some(cid))
    );
    assert_eq!(link["DETAILS"], "marker-1");
    let tid = id_of(&task, "TASK_ID");
    let done = api
        .put("/Tasks", json!({"TASK_ID": tid, "COMPLETED": true}))
        .await
        .json();
    assert!(is_insightly_time(&done["COMPLETED_DATE_UTC"]), "{done}");

    let e = api
        .post("/Events", json!({"TITLE": "Demo", "START_DATE_UTC": "2030-05-02 10:00:00",
            "END_DATE_UTC": "2030-05-02 10:30:00", "LINKS": [{"LINK_OBJECT_NAME": "CONTACT", "LINK_OBJECT_ID": cid}]}))
        .await;
    assert_eq!(e.status, 201, "{}", e.text);

    // v3.1 has no POST /Notes; a note is created under its contact, linked to it.
    let no_post = api.post("/Notes", json!({"TITLE": "x"})).await;
    assert_eq!(no_post.status, 405, "{}", no_post.text);
    let n = api
        .post(
            &format!("/Contacts/{cid}/Notes"),
            json!({"TITLE": "Met", "BODY": "Met at the fair"}),
        )
        .await;
    assert_eq!(n.status, 201, "{}", n.text);
    let nid = id_of(&n.json(), "NOTE_ID");
    let put = api
        .put(
            "/Notes",
            json!({"NOTE_ID": nid, "BODY": "Met at the spring fair"}),
        )
        .await;
    assert_eq!(put.status, 201, "{}", put.text);
    let put = api
        .put(
            &format!("/Contacts/{cid}/Notes"),
            json!({"NOTE_ID": nid, "TITLE": "Met again"}),
        )
        .await;
    assert_eq!(put.status, 201, "{}", put.text);
    assert_eq!(put.json()["BODY"], "Met at the spring fair");

    for (sub, field, want) in [("Tasks", "TASK_ID", tid), ("Notes", "NOTE_ID", nid)] {
        let rows = api.get(&format!("/Contacts/{cid}/{sub}")).await.rows();
        let ids: Vec<i64> = rows.iter().map(|r| id_of(r, field)).collect();
        assert_eq!(ids, [want], "{sub}");
    }
    assert_eq!(
        api.get(&format!("/Contacts/{cid}/Events"))
            .await
            .rows()
            .len(),
        1
    );
    api.get("/Contacts/1/Tasks")
        .await
        .assert_error(404, "Record not found");
    // The contact itself does not list its activities' links.
    let contact = api.get(&format!("/Contacts/{cid}")).await.json();
    assert_eq!(contact["LINKS"], json!([]));

    // Links by route: add one to an organisation, list, remove.
    let org = api
        .post("/Organisations", json!({"ORGANISATION_NAME": "Acme"}))
        .await
        .json();
    let oid = id_of(&org, "ORGANISATION_ID");
    let l = api
        .post(
            &format!("/Tasks/{tid}/Links"),
            json!({"LINK_OBJECT_NAME": "Organisation", "LINK_OBJECT_ID": oid}),
        )
        .await;
    assert_eq!(l.status, 201, "{}", l.text);
    let link_id = id_of(&l.json(), "LINK_ID");
    assert_eq!(
        api.get(&format!("/Tasks/{tid}/Links")).await.rows().len(),
        2
    );
    assert_eq!(
        api.get(&format!("/Organisations/{oid}/Tasks"))
            .await
            .rows()
            .len(),
        1
    );
    assert_eq!(
        api.delete(&format!("/Tasks/{tid}/Links/{link_id}"))
            .await
            .status,
        202
    );
    assert_eq!(
        api.get(&format!("/Tasks/{tid}/Links")).await.rows().len(),
        1
    );

    // Deleting the contact removes its links; the task stays, linked to nothing.
    assert_eq!(api.delete(&format!("/Contacts/{cid}")).await.status, 202);
    let orphan = api.get(&format!("/Tasks/{tid}")).await.json();
    assert_eq!(orphan["LINKS"], json!([]));
    assert_eq!(api.delete(&format!("/Tasks/{tid}")).await.status, 202);
    assert_eq!(api.get(&format!("/Tasks/{tid}")).await.status, 404);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organisations_users_and_custom_field_metadata() {
    let (sb, api) = start(|_| {}).await;
    let org = api
        .post(
            "/Organisations",
            json!({"ORGANISATION_NAME": "Initrode", "TAGS": ["b2b"],
        "CUSTOMFIELDS": [{"FIELD_NAME": "Industry__c", "FIELD_VALUE": "Paper"}]}),
        )
        .await;
    assert_eq!(org.status, 201, "{}", org.text);
    let oid = id_of(&org.json(), "ORGANISATION_ID");
    let c = api
        .contact(json!({"FIRST_NAME": "Bill", "ORGANISATION_ID": oid}))
        .await;
    assert_eq!(c["ORGANISATION_ID"], oid);
    let found = api
        .get("/Organisations/Search?field_name=ORGANISATION_NAME&field_value=initrode")
        .await
        .rows();
    assert_eq!(found.len(), 1, "search ignores case");
    assert_eq!(
        api.delete(&format!("/Organisations/{oid}")).await.status,
        202
    );
    let c = api
        .get(&format!("/Contacts/{}", id_of(&c, "CONTACT_ID")))
        .await
        .json();
    assert_eq!(
        c["ORGANISATION_ID"],
        Value::Null,
        "the contact loses its organisation"
    );

    let me = api.get("/Users/Me").await;
    assert_eq!(me.status, 200);
    assert!(me.json()["USER_ID"].as_i64().is_some());
    let defs = api.get("/CustomFields/Contacts").await.rows();
    let names: Vec<&str> = defs
        .iter()
        .filter_map(|d| d["FIELD_NAME"].as_str())
        .collect();
    assert!(
        names.contains(&"Lead_Source__c") && names.iter().all(|n| n.ends_with("__c")),
        "{names:?}"
    );
    assert!(defs.iter().all(|d| d["FIELD_FOR"] == "CONTACT"));
    api.get("/CustomFields/Leads")
        .await
        .assert_error(400, "objectName");
    // A field added in the app (admin API) is usable at once.
    let r = api
        .admin(
            Method::POST,
            "/CustomFields/Contacts",
            Some(json!({"FIELD_LABEL": "Favourite Colour"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["FIELD_NAME"], "Favourite_Colour__c");
    let c = api.contact(json!({"FIRST_NAME": "Cy", "CUSTOMFIELDS": [{"FIELD_NAME": "Favourite_Colour__c", "FIELD_VALUE": "teal"}]})).await;
    assert_eq!(c["CUSTOMFIELDS"][0]["FIELD_VALUE"], "teal");
    sb.shutdown().await;
}
