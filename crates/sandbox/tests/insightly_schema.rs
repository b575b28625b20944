//! Conformance of the Insightly emulator to Insightly's published Swagger 2.0 document
//! (`spec/insightly/v3-1.json`, read at test time): a sample of operations of every object is
//! called over real HTTP, each answer's status must be one the swagger documents for the
//! operation, and each body is validated against the schema the swagger declares for that
//! status, made strict: objects accept no undeclared property and required properties must be
//! present.
//!
//! The swagger is adapted only where real Insightly answers differently, each for a reason (the
//! one table of departures, [`EXTENSIONS`], plus three blanket rules in [`adapt`]):
//! - `maxLength: 0` means "no limit" in Insightly's generator (it is on integers and on `BODY`);
//!   it is dropped.
//! - `format: date-time` fields come back as `YYYY-MM-DD HH:MM:SS` (amp-labs fixture
//!   `test/read/contacts/list.json`, lib-go-insightly `DateTimeString.go`); they are checked
//!   against that pattern instead.
//! - Properties that are not required may be `null`: real answers carry every field, empty ones
//!   as `null` (the same fixture).

use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;

use reqwest::Method;
use serde_json::{json, Map, Value};

mod insightly_support;

use insightly_support::{id_of, read, start, Api, Resp};

/// Where real Insightly answers beyond its swagger: (definition or inline title, properties
/// added, why).
static EXTENSIONS: &[(&str, &str, &str)] = &[
    (
        "Contact",
        r#"{"VISIBLE_TO": {"type": "string"}, "VISIBLE_TEAM_ID": {"type": "integer"}}"#,
        "Real contact answers carry VISIBLE_TO (e.g. \"EVERYONE\") and VISIBLE_TEAM_ID \
         (amp-labs fixture test/read/contacts/list.json; airbyte schema).",
    ),
    (
        "APICustomField",
        r#"{"FIELD_VALUE": {}, "CUSTOM_FIELD_ID": {"type": "string"}}"#,
        "FIELD_VALUE is typed object, but values come back as strings, numbers and booleans, and \
         answers add CUSTOM_FIELD_ID (same fixture: \"Skiing\", true).",
    ),
    (
        "APINote",
        "Note",
        "Child lists (GET /Contacts/{id}/Notes) name APINote, which lacks fields the same note \
         carries in GET /Notes/{id} (OWNER_USER_ID, LINKS): one record, one shape.",
    ),
    (
        "APITask",
        "Task",
        "As APINote: GET /Contacts/{id}/Tasks names APITask, which lacks fields of GET /Tasks/{id}.",
    ),
    (
        "APIEvent",
        "Event",
        "As APINote: GET /Contacts/{id}/Events names APIEvent, which lacks LINKS.",
    ),
];

const TIME_PATTERN: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$";

struct Spec {
    doc: Value,
    /// Inline object schemas by title (`Contact`, `Note`, …), as the swagger writes them.
    inline: HashMap<String, Value>,
}

static SPEC: LazyLock<Spec> = LazyLock::new(|| {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/insightly/v3-1.json");
    let text = std::fs::read_to_string(&path).expect("spec/insightly/v3-1.json");
    let doc: Value = serde_json::from_str(&text).expect("the swagger is JSON");
    let mut inline = HashMap::new();
    for (p, title) in [
        ("/Contacts/{id}", "Contact"),
        ("/Notes/{id}", "Note"),
        ("/Tasks/{id}", "Task"),
        ("/Events/{id}", "Event"),
    ] {
        let s = doc["paths"][p]["get"]["responses"]["200"]["schema"].clone();
        assert_eq!(s["title"], title, "{p}");
        inline.insert(title.to_string(), s);
    }
    Spec { doc, inline }
});

/// Applies the extensions to one object schema named `name`.
fn extend(name: &str, schema: &mut Value) {
    for (target, props, _) in EXTENSIONS {
        if *target != name {
            continue;
        }
        let add: Map<String, Value> = match serde_json::from_str(props) {
            Ok(Value::Object(m)) => m,
            _ => SPEC.inline[*props]["properties"]
                .as_object()
                .cloned()
                .expect("inline properties"),
        };
        let own = schema["properties"].as_object_mut().expect("properties");
        for (k, v) in add {
            own.insert(k, v);
        }
    }
}

/// The blanket rules of the module docs, and strictness, applied recursively.
fn adapt(schema: &mut Value) {
    let Some(o) = schema.as_object_mut() else {
        return;
    };
    if o.get("maxLength") == Some(&json!(0)) {
        o.remove("maxLength");
    }
    if let Some(f) = o.remove("format") {
        if f == "date-time" {
            o.insert("pattern".into(), json!(TIME_PATTERN));
        }
    }
    o.remove("readOnly");
    if let Some(title) = o.get("title").and_then(Value::as_str).map(str::to_string) {
        if o.contains_key("properties") {
            extend(&title, schema);
        }
    }
    let Some(o) = schema.as_object_mut() else {
        return;
    };
    if let Some(items) = o.get_mut("items") {
        adapt(items);
    }
    let required: Vec<String> = o
        .get("required")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if let Some(Value::Object(props)) = o.get_mut("properties") {
        for (name, p) in props.iter_mut() {
            adapt(p);
            if !required.contains(name) {
                nullable(p);
            }
        }
        o.insert("additionalProperties".into(), json!(false));
    }
}

fn nullable(p: &mut Value) {
    let Some(o) = p.as_object_mut() else {
        return;
    };
    if let Some(t) = o.get("type").cloned() {
        o.insert("type".into(), json!([t, "null"]));
    } else if let Some(r) = o.remove("$ref") {
        *p = json!({"anyOf": [{"$ref": r}, {"type": "null"}]});
    }
}

/// The adapted definitions, each also extended under its own name.
static DEFINITIONS: LazyLock<Value> = LazyLock::new(|| {
    let mut defs = SPEC.doc["definitions"].clone();
    for (name, d) in defs.as_object_mut().expect("definitions").iter_mut() {
        if d.get("properties").is_some() {
            extend(name, d);
        }
        adapt(d);
    }
    defs
});

/// Checks one answer of `METHOD path` (the swagger's template): a documented status, and the
/// body valid against that status's schema (an empty body where it gives none).
fn check(method: &str, path: &str, r: &Resp) {
    let op = &SPEC.doc["paths"][path][method.to_ascii_lowercase()];
    assert!(op.is_object(), "{method} {path} is not in the swagger");
    let documented = &op["responses"][r.status.to_string()];
    assert!(
        documented.is_object(),
        "{method} {path} answered {}, which the swagger does not document: {}",
        r.status,
        r.text
    );
    let Some(schema) = documented.get("schema") else {
        assert!(
            r.text.trim().is_empty(),
            "{method} {path} {}: {}",
            r.status,
            r.text
        );
        return;
    };
    let mut schema = schema.clone();
    adapt(&mut schema);
    let mut doc = schema.as_object().cloned().unwrap_or_default();
    doc.insert("definitions".into(), DEFINITIONS.clone());
    let validator = jsonschema::validator_for(&Value::Object(doc))
        .unwrap_or_else(|e| panic!("{method} {path}: schema does not compile: {e}"));
    let body = r.json();
    let errors: Vec<String> = validator
        .iter_errors(&body)
        .take(10)
        .map(|e| format!("at {}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {} does not match the swagger:\n  {}\nbody: {}",
        r.status,
        errors.join("\n  "),
        &r.text[..r.text.len().min(1500)]
    );
}

async fn call(api: &Api, method: Method, template: &str, path: &str, body: Option<Value>) -> Resp {
    let r = api.call(method.clone(), path, body).await;
    check(method.as_str(), template, &r);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_match_the_swagger() {
    let (sb, api) = start(|c| c.contacts = 12).await;
    use Method as M;
    for (t, p) in [
        ("/Contacts", "/Contacts?top=5"),
        ("/Contacts", "/Contacts?top=5&brief=true"),
        (
            "/Contacts/Search",
            "/Contacts/Search?field_name=ADDRESS_MAIL_CITY&field_value=Austin",
        ),
        ("/Organisations", "/Organisations"),
        ("/Tasks", "/Tasks?top=20"),
        ("/Notes", "/Notes?top=20"),
        ("/Events", "/Events?top=20"),
        (
            "/Tasks/Search",
            "/Tasks/Search?updated_after_utc=2020-01-01T00:00:00Z",
        ),
        ("/Users/Me", "/Users/Me"),
        ("/CustomFields/{objectName}", "/CustomFields/Contacts"),
        ("/Tags", "/Tags?record_type=contacts"),
    ] {
        let r = call(&api, M::GET, t, p, None).await;
        assert_eq!(r.status, 200, "{p}");
    }
    let org = call(
        &api,
        M::POST,
        "/Organisations",
        "/Organisations",
        Some(json!({"ORGANISATION_NAME": "Conformance Ltd", "TAGS": [{"TAG_NAME": "b2b"}]})),
    )
    .await;
    let oid = id_of(&org.json(), "ORGANISATION_ID");
    let c = call(&api, M::POST, "/Contacts", "/Contacts", Some(json!({
        "FIRST_NAME": "Conny", "EMAIL_ADDRESS": "conny@example.com", "ORGANISATION_ID": oid,
        "TAGS": [{"TAG_NAME": "vip"}],
        "CUSTOMFIELDS": [{"FIELD_NAME": "Hobby__c", "FIELD_VALUE": "Go"}, {"FIELD_NAME": "Newsletter__c", "FIELD_VALUE": true}],
    }))).await;
    assert_eq!(c.status, 201);
    let cid = id_of(&c.json(), "CONTACT_ID");
    call(
        &api,
        M::GET,
        "/Contacts/{id}",
        &format!("/Contacts/{cid}"),
        None,
    )
    .await;
    call(
        &api,
        M::PUT,
        "/Contacts",
        "/Contacts",
        Some(json!({"CONTACT_ID": cid, "PHONE": "+1555"})),
    )
    .await;
    call(
        &api,
        M::GET,
        "/Contacts/{id}/Tags",
        &format!("/Contacts/{cid}/Tags"),
        None,
    )
    .await;
    call(
        &api,
        M::POST,
        "/Contacts/{id}/Tags",
        &format!("/Contacts/{cid}/Tags"),
        Some(json!({"TAG_NAME": "new"})),
    )
    .await;
    let t = call(
        &api,
        M::POST,
        "/Tasks",
        "/Tasks",
        Some(json!({"TITLE": "Conform",
        "DUE_DATE": "2030-01-01 09:00:00",
        "LINKS": [{"LINK_OBJECT_NAME": "Contact", "LINK_OBJECT_ID": cid}]})),
    )
    .await;
    let tid = id_of(&t.json(), "TASK_ID");
    call(
        &api,
        M::PUT,
        "/Tasks",
        "/Tasks",
        Some(json!({"TASK_ID": tid, "COMPLETED": true})),
    )
    .await;
    call(&api, M::GET, "/Tasks/{id}", &format!("/Tasks/{tid}"), None).await;
    call(
        &api,
        M::GET,
        "/Tasks/{id}/Links",
        &format!("/Tasks/{tid}/Links"),
        None,
    )
    .await;
    call(
        &api,
        M::POST,
        "/Tasks/{id}/Links",
        &format!("/Tasks/{tid}/Links"),
        Some(json!({"LINK_OBJECT_NAME": "Organisation", "LINK_OBJECT_ID": oid})),
    )
    .await;
    let n = call(
        &api,
        M::POST,
        "/Contacts/{id}/Notes",
        &format!("/Contacts/{cid}/Notes"),
        Some(json!({"TITLE": "Hello", "BODY": "A longer body\nover lines"})),
    )
    .await;
    let nid = id_of(&n.json(), "NOTE_ID");
    call(
        &api,
        M::PUT,
        "/Notes",
        "/Notes",
        Some(json!({"NOTE_ID": nid, "BODY": "Edited"})),
    )
    .await;
    call(&api, M::GET, "/Notes/{id}", &format!("/Notes/{nid}"), None).await;
    let e = call(
        &api,
        M::POST,
        "/Events",
        "/Events",
        Some(json!({"TITLE": "Meet",
        "START_DATE_UTC": "2030-01-02 10:00:00", "END_DATE_UTC": "2030-01-02 11:00:00",
        "LINKS": [{"LINK_OBJECT_NAME": "Contact", "LINK_OBJECT_ID": cid}]})),
    )
    .await;
    let eid = id_of(&e.json(), "EVENT_ID");
    call(
        &api,
        M::GET,
        "/Events/{id}",
        &format!("/Events/{eid}"),
        None,
    )
    .await;
    for sub in ["Notes", "Tasks", "Events"] {
        let r = call(
            &api,
            M::GET,
            &format!("/Contacts/{{id}}/{sub}"),
            &format!("/Contacts/{cid}/{sub}"),
            None,
        )
        .await;
        assert_eq!(r.rows().len(), 1, "{sub}");
    }
    call(
        &api,
        M::GET,
        "/Organisations/{id}",
        &format!("/Organisations/{oid}"),
        None,
    )
    .await;
    // Errors carry documented statuses (their bodies have no schema: plain text).
    let bad = api.post("/Contacts", json!({"LAST_NAME": "x"})).await;
    assert_eq!(bad.status, 400);
    let op = &SPEC.doc["paths"]["/Contacts"]["post"]["responses"];
    assert!(op["400"].is_object());
    let missing = api.get("/Contacts/1").await;
    assert!(SPEC.doc["paths"]["/Contacts/{id}"]["get"]["responses"]["404"].is_object());
    assert_eq!(missing.status, 404);
    let anon = read(api.http.get(format!("{}/Contacts", api.base))).await;
    assert!(SPEC.doc["paths"]["/Contacts"]["get"]["responses"]["401"].is_object());
    assert_eq!(anon.status, 401);
    // Deletes: 202 with no body.
    for (t, p) in [("/Contacts/{id}/Tags", format!("/Contacts/{cid}/Tags"))] {
        let r = api.delete_with(&p, json!({"TAG_NAME": "new"})).await;
        check("DELETE", t, &r);
    }
    for (t, p) in [
        ("/Notes/{id}", format!("/Notes/{nid}")),
        ("/Tasks/{id}", format!("/Tasks/{tid}")),
        ("/Events/{id}", format!("/Events/{eid}")),
        ("/Contacts/{id}", format!("/Contacts/{cid}")),
        ("/Organisations/{id}", format!("/Organisations/{oid}")),
    ] {
        let r = call(&api, M::DELETE, t, &p, None).await;
        assert_eq!(r.status, 202, "{p}");
    }
    sb.shutdown().await;
}

#[test]
fn the_strict_schemas_catch_what_insightly_would_not_send() {
    let mut schema =
        SPEC.doc["paths"]["/Contacts/{id}"]["get"]["responses"]["200"]["schema"].clone();
    adapt(&mut schema);
    let mut doc = schema.as_object().cloned().unwrap_or_default();
    doc.insert("definitions".into(), DEFINITIONS.clone());
    let v = jsonschema::validator_for(&Value::Object(doc)).expect("compiles");
    assert!(v.is_valid(
        &json!({"FIRST_NAME": "A", "DATE_UPDATED_UTC": "2025-04-22 20:03:25", "PHONE": null})
    ));
    assert!(
        !v.is_valid(&json!({"FIRST_NAME": "A", "DATE_UPDATED_UTC": "2025-04-22T20:03:25Z"})),
        "ISO form"
    );
    assert!(
        !v.is_valid(&json!({"FIRST_NAME": "A", "SHOE_SIZE": 9})),
        "undeclared property"
    );
    assert!(
        !v.is_valid(&json!({"LAST_NAME": "A"})),
        "required FIRST_NAME"
    );
    assert!(
        !v.is_valid(&json!({"FIRST_NAME": null})),
        "required is not nullable"
    );
    assert!(!v.is_valid(&json!({"FIRST_NAME": "A", "TAGS": [{"TAG": "x"}]})));
}
