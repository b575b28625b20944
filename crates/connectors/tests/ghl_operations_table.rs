//! The GHL operation table behind `call` and the catalog matches `spec/ghl/contacts.json`:
//! every operation, with its method, path and inputs named and required as
//! the spec says; and inputs are checked before anything is sent.

use connectors::{operations_of, ConnectorError};
use serde_json::{json, Map, Value};

fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../spec/ghl/contacts.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("spec")).expect("json")
}

/// (operationId, method, path, [(input, required)]) as the spec has them, `locationId` aside.
type SpecOp = (String, String, String, Vec<(String, bool)>);

fn spec_ops() -> Vec<SpecOp> {
    let s = spec();
    let schemas = &s["components"]["schemas"];
    let mut out = Vec::new();
    for (path, ops) in s["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("ops") {
            let Some(id) = op["operationId"].as_str() else {
                continue;
            };
            let mut inputs = Vec::new();
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap_or_default();
                if p["in"] != "header" && name != "locationId" {
                    inputs.push((name.to_string(), p["required"] == true));
                }
            }
            let body = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .and_then(|r| r.rsplit('/').next())
                .map(|name| &schemas[name]);
            if let Some(b) = body {
                let required: Vec<&str> = b["required"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                for name in b["properties"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k)
                {
                    if name != "locationId" {
                        inputs.push((name.clone(), required.contains(&name.as_str())));
                    }
                }
            }
            out.push((id.to_string(), method.to_uppercase(), path.clone(), inputs));
        }
    }
    out
}

#[test]
fn the_table_is_the_spec() {
    let table = operations_of("ghl");
    let spec = spec_ops();
    assert_eq!((table.len(), spec.len()), (32, 32));
    for (id, method, path, inputs) in &spec {
        let op = connectors::operation_of("ghl", id)
            .unwrap_or_else(|| panic!("spec operation {id} is not in the table"));
        assert_eq!(
            (op.method, op.path),
            (method.as_str(), path.as_str()),
            "{id}"
        );
        for (name, required) in inputs {
            let input = op
                .input(name)
                .unwrap_or_else(|| panic!("{id}: spec input {name} missing"));
            // `completed` of create-task defaults to false here, so it need not be written.
            let want = *required && !(id == "create-task" && name == "completed");
            assert_eq!(input.required, want, "{id}.{name}");
        }
        for input in op.inputs {
            let in_spec = inputs.iter().any(|(n, _)| n == input.name);
            // The search body lives outside contacts.json (spec/ghl/FACTS.md), and the bulk tag
            // path's `{type}` is not listed among the spec's parameters.
            let documented_elsewhere = id == "search-contacts-advanced"
                || (id == "create-association" && input.name == "type");
            assert!(
                in_spec || documented_elsewhere,
                "{id}: {} is not in the spec",
                input.name
            );
            assert!(!input.description.is_empty(), "{id}.{}", input.name);
        }
        assert!(!op.outputs.is_empty(), "{id}");
    }
}

fn map(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

#[test]
fn inputs_are_checked_and_read_before_anything_is_sent() {
    let op = connectors::operation_of("ghl", "update-task-completed").expect("op");
    let ok = op
        .check_input(&map(
            json!({"contactId": "c1", "taskId": "t1", "completed": "true"}),
        ))
        .expect("valid");
    assert_eq!(ok["completed"], json!(true), "text read as a boolean");
    let unknown = op.check_input(&map(
        json!({"contactId": "c", "taskId": "t", "completed": true, "done": 1}),
    ));
    assert!(
        matches!(&unknown, Err(ConnectorError::Rejected(m)) if m.contains("`done`") && m.contains("taskId")),
        "{unknown:?}"
    );
    let missing = op.check_input(&map(json!({"contactId": "c", "completed": true})));
    assert!(
        matches!(&missing, Err(ConnectorError::Rejected(m)) if m.contains("`taskId`")),
        "{missing:?}"
    );
    let bad = op.check_input(&map(
        json!({"contactId": "c", "taskId": "t", "completed": "maybe"}),
    ));
    assert!(
        matches!(&bad, Err(ConnectorError::Rejected(m)) if m.contains("boolean")),
        "{bad:?}"
    );
    let tags = connectors::operation_of("ghl", "add-tags").expect("op");
    let one = tags
        .check_input(&map(json!({"contactId": "c", "tags": "vip"})))
        .expect("valid");
    assert_eq!(one["tags"], json!(["vip"]), "one text for a list of texts");
    assert!(operations_of("insightly").is_empty());
    assert_eq!(operations_of("invoco").len(), 5);
}
