//! The OpenAPI document against the official OpenAPI 3.1 JSON Schema (vendored in
//! `spec/openapi/`, see its SOURCE.txt), and every documented client error in the admin
//! error shape.

use serde_json::Value;
use utoipa::OpenApi;

use super::{ApiDoc, PREFIX, ROUTES};

fn doc() -> Value {
    serde_json::to_value(ApiDoc::openapi()).expect("the document serializes")
}

#[test]
fn document_validates_against_the_openapi_3_1_schema() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../spec/openapi/openapi-3.1-schema.json"
    );
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("vendored schema"))
            .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the 3.1 schema compiles");
    let doc = doc();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "{}",
        doc["openapi"]
    );
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "invalid OpenAPI document:\n{}",
        errors.join("\n")
    );

    // The schema must catch a broken document, or the check above proves nothing.
    let mut broken = doc.clone();
    broken["paths"]["/api/v1/flows"]["get"]["responses"] = Value::String("none".into());
    assert!(!validator.is_valid(&broken));
}

#[test]
fn every_client_error_uses_the_error_shape() {
    let doc = doc();
    let mut checked = 0;
    for (method, path) in ROUTES {
        let full = format!("{PREFIX}{path}");
        let op = &doc["paths"][&full][*method];
        let responses = op["responses"].as_object().expect("responses");
        for status in ["401", "403", "429"] {
            assert!(
                responses.contains_key(status),
                "{method} {full} does not document {status}"
            );
        }
        for (status, r) in responses {
            if !status.starts_with('4') && !status.starts_with('5') {
                continue;
            }
            let schema = &r["content"]["application/json"]["schema"]["$ref"];
            assert_eq!(
                schema.as_str(),
                Some("#/components/schemas/ErrorBody"),
                "{method} {full} answers {status} without the error shape"
            );
            checked += 1;
        }
    }
    assert!(checked > ROUTES.len());
    // And the shape itself has code, message and details.
    let body = &doc["components"]["schemas"]["ErrorDetail"]["required"];
    for field in ["code", "message", "details"] {
        assert!(
            body.as_array()
                .is_some_and(|r| r.iter().any(|f| f == field)),
            "{field} not required in ErrorDetail: {body}"
        );
    }
}
