//! Every transform, forwards and backwards, through the mapping rules people write.

use engine::flow::{
    parse_flow, AppKind, Connections, Direction, FlowBody, MapOutput, Mapping, Transform,
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

/// A one-way contact sync whose mapping is `rules` (YAML flow list items).
fn mapping(rules: &str, two_way: bool) -> Mapping {
    let dir = if two_way { "two_way" } else { "one_way" };
    let text = format!(
        "name: t\nsync:\n  source: ghl\n  target: crm\n  direction: {dir}\n  kinds: [contact]\n  mapping:\n    contact:\n{rules}"
    );
    let flow = parse_flow(&text, "t.yaml", &conns()).unwrap_or_else(|e| panic!("{e}"));
    let FlowBody::Sync(sync) = flow.body else {
        panic!("sync expected")
    };
    sync.mapping[&connectors::EntityKind::Contact].clone()
}

fn fields(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("object expected"),
    }
}

fn run(rules: &str, input: Value) -> MapOutput {
    mapping(rules, false).apply(&fields(input), Direction::ToTarget)
}

#[test]
fn split_name_and_back() {
    let m = mapping(
        "      - {to: [first_name, last_name], from: custom.Full Name, transform: split_name}\n",
        true,
    );
    let out = m.apply(
        &fields(json!({"custom.Full Name": "Ada King Lovelace"})),
        Direction::ToTarget,
    );
    assert_eq!(
        Value::Object(out.fields.clone()),
        json!({"first_name": "Ada King", "last_name": "Lovelace"})
    );
    let back = m.apply(&out.fields, Direction::ToSource);
    assert_eq!(
        Value::Object(back.fields),
        json!({"custom.Full Name": "Ada King Lovelace"})
    );
}

#[test]
fn join_name_with_separator() {
    let out = run(
        "      - {to: custom.Display, from: [last_name, first_name], transform: {join_name: {separator: \", \"}}}\n",
        json!({"first_name": "Ada", "last_name": "Lovelace"}),
    );
    assert_eq!(out.fields["custom.Display"], "Lovelace, Ada");
    let out = run(
        "      - {to: custom.Display, from: [first_name, last_name], transform: join_name}\n",
        json!({"first_name": "Cher"}),
    );
    assert_eq!(out.fields["custom.Display"], "Cher");
}

#[test]
fn case_and_trim_apply_to_text_and_lists() {
    let out = run(
        "      - {to: state, from: state, transform: [trim, uppercase]}\n      - {to: tags, from: tags, transform: lowercase}\n      - {to: city, from: city, transform: trim}\n",
        json!({"state": "  ca ", "tags": ["VIP", "New Lead"], "city": 42}),
    );
    assert_eq!(
        Value::Object(out.fields),
        json!({"state": "CA", "tags": ["vip", "new lead"], "city": 42})
    );
    assert!(out.warnings.is_empty());
}

#[test]
fn normalize_email_valid_and_invalid() {
    let rules = "      - {to: email, from: email, transform: normalize_email}\n";
    assert_eq!(
        run(rules, json!({"email": " Ada@Example.COM "})).fields["email"],
        "ada@example.com"
    );
    let bad = run(rules, json!({"email": "ada at example"}));
    assert!(bad.fields.is_empty());
    assert_eq!(bad.warnings[0].field, "email");
    assert!(
        bad.warnings[0].message.contains("not an email address"),
        "{:?}",
        bad.warnings
    );
}

#[test]
fn normalize_phone_with_default_country() {
    let us = "      - {to: phone, from: phone, transform: normalize_phone}\n";
    assert_eq!(
        run(us, json!({"phone": "(415) 555-0123"})).fields["phone"],
        "+14155550123"
    );
    assert_eq!(
        run(us, json!({"phone": 4155550123_u64})).fields["phone"],
        "+14155550123"
    );
    let gb =
        "      - {to: phone, from: phone, transform: {normalize_phone: {default_country: GB}}}\n";
    assert_eq!(
        run(gb, json!({"phone": "07911 123456"})).fields["phone"],
        "+447911123456"
    );
    let bad = run(us, json!({"phone": "555-01"}));
    assert!(bad.fields.is_empty());
    assert!(
        bad.warnings[0].message.contains("too short"),
        "{:?}",
        bad.warnings
    );
}

#[test]
fn date_parses_many_formats_and_formats() {
    let iso = "      - {to: custom.Since, from: custom.Since, transform: date}\n";
    for input in [
        "2024-03-05",
        "03/05/2024",
        "March 5, 2024",
        "2024-03-05T00:00:00Z",
        "1709596800",
    ] {
        let out = run(iso, json!({"custom.Since": input}));
        assert_eq!(
            out.fields["custom.Since"], "2024-03-05T00:00:00Z",
            "{input}"
        );
    }
    let fmt = "      - {to: custom.Since, from: custom.Since, transform: {date: {format: \"%d/%m/%Y\", timezone: \"+02:00\"}}}\n";
    assert_eq!(
        run(fmt, json!({"custom.Since": "2024-03-05T23:30:00Z"})).fields["custom.Since"],
        "06/03/2024"
    );
    let day_first =
        "      - {to: custom.Since, from: custom.Since, transform: {date: {day_first: true}}}\n";
    assert_eq!(
        run(day_first, json!({"custom.Since": "05/03/2024"})).fields["custom.Since"],
        "2024-03-05T00:00:00Z"
    );
    let bad = run(iso, json!({"custom.Since": "next tuesday"}));
    assert!(
        bad.warnings[0]
            .message
            .contains("cannot read `next tuesday` as a date"),
        "{:?}",
        bad.warnings
    );
}

#[test]
fn date_with_format_reads_back() {
    let m = mapping(
        "      - {to: custom.Since, from: custom.Since, transform: {date: {format: \"%Y-%m-%d\"}}}\n",
        true,
    );
    let back = m.apply(
        &fields(json!({"custom.Since": "2024-03-05"})),
        Direction::ToSource,
    );
    assert_eq!(back.fields["custom.Since"], "2024-03-05T00:00:00Z");
}

#[test]
fn value_map_with_default_and_reverse() {
    let rules = "      - {to: custom.Status, from: custom.Status, transform: {value_map: {map: {open: todo, done: completed, 1: high}, default: todo}}}\n";
    let m = mapping(rules, true);
    let fwd = |v: Value| {
        m.apply(&fields(json!({"custom.Status": v})), Direction::ToTarget)
            .fields["custom.Status"]
            .clone()
    };
    assert_eq!(fwd(json!("done")), "completed");
    assert_eq!(fwd(json!("DONE")), "completed", "case-insensitive fallback");
    assert_eq!(fwd(json!(1)), "high");
    assert_eq!(fwd(json!("weird")), "todo", "default");
    let back = m.apply(
        &fields(json!({"custom.Status": "high"})),
        Direction::ToSource,
    );
    assert_eq!(
        back.fields["custom.Status"],
        json!(1),
        "keys keep their YAML type"
    );
}

#[test]
fn value_map_without_default_warns() {
    let rules = "      - {to: custom.Status, from: custom.Status, transform: {value_map: {map: {open: todo}}}}\n";
    let out = run(rules, json!({"custom.Status": "archived"}));
    assert!(out.fields.is_empty());
    assert_eq!(out.warnings[0].to_string(), "`custom.Status`: value_map: `archived` is not in value_map (known: open) and there is no default; not written");
}

#[test]
fn default_value_when_missing_or_blank() {
    let rules = "      - {to: country, from: country, default: US}\n";
    assert_eq!(run(rules, json!({})).fields["country"], "US");
    assert_eq!(run(rules, json!({"country": " "})).fields["country"], "US");
    assert_eq!(run(rules, json!({"country": "CA"})).fields["country"], "CA");
    assert!(run(rules, json!({})).warnings.is_empty());
}

#[test]
fn constants_and_templates() {
    let rules = "      - {to: source, value: ghl-bridge}\n      - {to: custom.Greeting, template: \"Hi {{ first_name }} from {{ custom['Home Town'] | upper }}\"}\n";
    let out = run(
        rules,
        json!({"first_name": "Ada", "custom.Home Town": "London"}),
    );
    assert_eq!(
        Value::Object(out.fields),
        json!({"source": "ghl-bridge", "custom.Greeting": "Hi Ada from LONDON"})
    );
}

#[test]
fn transform_api_directly() {
    let t = Transform::SplitName;
    assert_eq!(
        t.apply(vec![json!("Ann Lee")], Direction::ToTarget)
            .unwrap(),
        vec![json!("Ann"), json!("Lee")]
    );
    assert_eq!(
        t.apply(vec![json!("Ann"), json!("Lee")], Direction::ToSource)
            .unwrap(),
        vec![json!("Ann Lee")]
    );
    assert_eq!(
        Transform::Lowercase
            .apply(vec![json!("AbC")], Direction::ToSource)
            .unwrap(),
        vec![json!("AbC")],
        "normalisers pass values back"
    );
    assert_eq!(engine::flow::TRANSFORMS.len(), 9);
}
