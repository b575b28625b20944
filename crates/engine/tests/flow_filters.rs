//! Filter operators and combinators, decoded from YAML and evaluated on fields.

use engine::flow::{parse_flow, AppKind, Condition, Connections, Filter, Op};
use serde_json::{json, Map, Value};

fn conns() -> Connections {
    [
        ("ghl".to_string(), AppKind::Ghl),
        ("crm".to_string(), AppKind::YourApp),
    ]
    .into_iter()
    .collect()
}

/// Decodes `filter:` of a contact-triggered actions flow.
fn filter(yaml: &str) -> Filter {
    let text = format!(
        "name: t\ntrigger: ghl.contact.updated\nfilter: {yaml}\nactions:\n  - add_tags: [x]\n"
    );
    parse_flow(&text, "t.yaml", &conns())
        .unwrap_or_else(|e| panic!("{e}"))
        .filter
        .expect("filter")
}

fn f(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("object expected"),
    }
}

fn contact() -> Map<String, Value> {
    f(json!({
        "first_name": "Ada",
        "email": "ada@example.com",
        "phone": "",
        "tags": ["VIP", "client"],
        "custom.Lead Score": "72",
        "custom": {"Region": "EMEA"},
        "dnd": false,
        "state": "CA",
        "x.created": "2024-03-05T10:00:00Z"
    }))
}

fn yes(yaml: &str) {
    assert!(filter(yaml).matches(&contact()), "should match: {yaml}");
}

fn no(yaml: &str) {
    assert!(
        !filter(yaml).matches(&contact()),
        "should not match: {yaml}"
    );
}

#[test]
fn eq_and_ne() {
    yes("{field: first_name, eq: Ada}");
    no("{field: first_name, eq: ada}");
    yes("{field: custom.Lead Score, eq: 72}");
    yes("{field: dnd, eq: false}");
    no("{field: last_name, eq: Lovelace}");
    yes("{field: first_name, ne: Bob}");
    yes("{field: last_name, ne: Lovelace}");
    no("{field: state, ne: CA}");
}

#[test]
fn in_for_scalars_and_lists() {
    yes("{field: state, in: [CA, NY]}");
    no("{field: state, in: [TX]}");
    yes("{field: tags, in: [client, lead]}");
    no("{field: tags, in: [lead]}");
    no("{field: last_name, in: [x]}");
}

#[test]
fn contains_for_text_and_lists() {
    yes("{field: email, contains: EXAMPLE.com}");
    yes("{field: tags, contains: vip}");
    no("{field: tags, contains: vi}");
    no("{field: email, contains: gmail}");
}

#[test]
fn exists() {
    yes("{field: email, exists: true}");
    no("{field: phone, exists: true}");
    yes("{field: phone, exists: false}");
    yes("{field: last_name, exists: false}");
    yes("{field: tags, exists: true}");
}

#[test]
fn gt_and_lt_compare_numbers_dates_and_text() {
    yes("{field: custom.Lead Score, gt: 50}");
    no("{field: custom.Lead Score, lt: 50}");
    yes("{field: x.created, gt: \"2024-03-01\"}");
    yes("{field: x.created, lt: \"March 6, 2024\"}");
    yes("{field: state, lt: NY}");
    no("{field: last_name, gt: 0}");
}

#[test]
fn nested_custom_fields_are_found() {
    yes("{field: custom.Region, eq: EMEA}");
}

#[test]
fn all_any_not_and_list_shorthand() {
    yes("{all: [{field: email, exists: true}, {field: tags, contains: vip}]}");
    no("{all: [{field: email, exists: true}, {field: tags, contains: lead}]}");
    yes("{any: [{field: tags, contains: lead}, {field: state, eq: CA}]}");
    no("{any: [{field: tags, contains: lead}, {field: state, eq: TX}]}");
    yes("{not: {field: tags, contains: do-not-sync}}");
    yes("[{field: email, exists: true}, {not: {field: state, eq: TX}}]");
    assert!(Filter::All(vec![]).matches(&contact()));
    assert!(!Filter::Any(vec![]).matches(&contact()));
}

#[test]
fn built_in_code() {
    let c = Filter::Condition(Condition {
        field: "email".into(),
        op: Op::Contains(json!("@example.")),
    });
    assert!(c.matches(&contact()));
}
