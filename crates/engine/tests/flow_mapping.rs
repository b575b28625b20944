//! Mappings as a whole: two-way round trips, per-rule directions, identity, and warnings.

use connectors::{EntityKind, Record};
use engine::flow::{
    parse_flow, AppKind, Connections, Direction, FlowBody, Mapping, Rule, RuleDirection,
    RuleSource, Transform,
};
use serde_json::{json, Map, Value};

fn conns() -> Connections {
    [
        ("ghl".to_string(), AppKind::Ghl),
        ("crm".to_string(), AppKind::YourApp),
    ]
    .into_iter()
    .collect()
}

fn f(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("object expected"),
    }
}

const TWO_WAY: &str = r#"
name: round trip
sync:
  source: ghl
  target: crm
  direction: two_way
  kinds: [contact, task]
  mapping:
    contact:
      - {to: first_name, from: first_name}
      - {to: [custom.Given, custom.Family], from: custom.Full Name, transform: split_name}
      - {to: custom.Name, from: [first_name, last_name], transform: join_name}
      - {to: custom.Stage, from: custom.Stage, transform: {value_map: {map: {lead: prospect, client: customer}}}}
      - {to: custom.Since, from: custom.Since, transform: {date: {format: "%m/%d/%Y"}}}
      - {to: email, from: email, transform: normalize_email}
      - {to: source, value: ghl-bridge}
      - {to: city, from: city, direction: to_target}
      - {to: state, from: state, direction: to_source}
    task:
      - {to: title, from: title}
      - {to: completed, from: custom.Status, transform: {value_map: {map: {open: false, done: true}}}}
"#;

fn two_way(kind: EntityKind) -> Mapping {
    let flow = parse_flow(TWO_WAY, "round-trip.yaml", &conns()).unwrap_or_else(|e| panic!("{e}"));
    let FlowBody::Sync(sync) = flow.body else {
        panic!("sync expected")
    };
    sync.mapping[&kind].clone()
}

#[test]
fn two_way_round_trip_returns_the_original() {
    let m = two_way(EntityKind::Contact);
    let source = f(json!({
        "first_name": "Ada",
        "last_name": "Lovelace",
        "custom.Full Name": "Ada King Lovelace",
        "custom.Stage": "client",
        "custom.Since": "2024-03-05T00:00:00Z",
        "email": "ada@example.com",
    }));
    let target = m.apply(&source, Direction::ToTarget);
    assert_eq!(
        Value::Object(target.fields.clone()),
        json!({
            "first_name": "Ada",
            "custom.Given": "Ada King",
            "custom.Family": "Lovelace",
            "custom.Name": "Ada Lovelace",
            "custom.Stage": "customer",
            "custom.Since": "03/05/2024",
            "email": "ada@example.com",
            "source": "ghl-bridge",
        })
    );
    let back = m.apply(&target.fields, Direction::ToSource);
    // `custom.Name` splits back into first/last; the constant never goes back.
    assert_eq!(Value::Object(back.fields), Value::Object(source));
    // Only the to_source-only `state` rule found nothing to read.
    let warned: Vec<&str> = back.warnings.iter().map(|w| w.field.as_str()).collect();
    assert_eq!(warned, ["state"], "{:?}", back.warnings);
}

#[test]
fn round_trip_of_typed_value_maps() {
    let m = two_way(EntityKind::Task);
    let source = f(json!({"title": "Call", "custom.Status": "done"}));
    let target = m.apply(&source, Direction::ToTarget);
    assert_eq!(target.fields["completed"], json!(true));
    let back = m.apply(&target.fields, Direction::ToSource);
    assert_eq!(Value::Object(back.fields), Value::Object(source));
}

#[test]
fn per_rule_directions() {
    let m = two_way(EntityKind::Contact);
    let rec = f(json!({"city": "Paris", "state": "IDF"}));
    let to_target = m.apply(&rec, Direction::ToTarget);
    assert_eq!(to_target.fields.get("city"), Some(&json!("Paris")));
    assert_eq!(to_target.fields.get("state"), None);
    let to_source = m.apply(&rec, Direction::ToSource);
    assert_eq!(to_source.fields.get("state"), Some(&json!("IDF")));
    assert_eq!(to_source.fields.get("city"), None);
}

#[test]
fn missing_fields_warn_and_are_not_written() {
    let m = two_way(EntityKind::Contact);
    let out = m.apply(&f(json!({"first_name": "Ada"})), Direction::ToTarget);
    assert!(!out.fields.contains_key("email"));
    let text: Vec<String> = out.warnings.iter().map(ToString::to_string).collect();
    assert!(
        text.contains(&"`email`: source field `email` is missing; not written".to_string()),
        "{text:?}"
    );
    assert!(text.contains(&"`custom.Given, custom.Family`: source field `custom.Full Name` is missing; not written".to_string()), "{text:?}");
    // join_name with one part present still writes.
    assert_eq!(out.fields["custom.Name"], "Ada");
}

#[test]
fn empty_values_sync_as_empty() {
    let m = two_way(EntityKind::Contact);
    let out = m.apply(&f(json!({"first_name": ""})), Direction::ToTarget);
    assert_eq!(out.fields["first_name"], "");
}

#[test]
fn identity_mapping_when_none_is_given() {
    let text = "name: id\nsync:\n  source: ghl\n  target: crm\n  kinds: [contact]\n";
    let flow = parse_flow(text, "id.yaml", &conns()).unwrap_or_else(|e| panic!("{e}"));
    let FlowBody::Sync(sync) = flow.body else {
        panic!("sync expected")
    };
    let m = &sync.mapping[&EntityKind::Contact];
    assert!(m.rules().is_none());
    let rec = Record::new(
        EntityKind::Contact,
        "c1",
        f(json!({"first_name": "Ada", "custom.Score": 3, "x.raw": 1, "unknown": 2, "email": null})),
    );
    for dir in [Direction::ToTarget, Direction::ToSource] {
        let out = m.apply(&rec, dir);
        assert_eq!(
            Value::Object(out.fields),
            json!({"first_name": "Ada", "custom.Score": 3})
        );
    }
}

#[test]
fn mapping_built_in_code() {
    let m = Mapping::new(
        EntityKind::Contact,
        vec![Rule {
            to: vec!["email".into()],
            source: RuleSource::Field(vec!["email".into()]),
            transforms: vec![Transform::NormalizeEmail],
            default: None,
            direction: RuleDirection::Both,
        }],
    );
    let out = m.apply(&f(json!({"email": "A@B.CO"})), Direction::ToTarget);
    assert_eq!(out.fields["email"], "a@b.co");
    assert_eq!(serde_json::to_value(&m).unwrap()["kind"], "contact");
}
