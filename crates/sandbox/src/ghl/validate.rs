//! Request-body validation driven by the spec's schemas, answering the way GHL's NestJS
//! `ValidationPipe` does: one class-validator message per problem, e.g. `title should not be
//! empty`, `completed must be a boolean value`, `property foo should not exist`.

use serde_json::Value;

use super::spec::SPEC;

/// Validates `body` against `schema` (a spec schema, `$ref`s resolved in the contacts document)
/// and returns every problem as a class-validator message; empty means valid.
pub fn validate_body(body: &Value, schema: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(body, schema, "", &mut errors, 0);
    errors
}

fn resolve(schema: &Value) -> &Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or_default();
            SPEC.component(name).unwrap_or(&Value::Null)
        }
        None => schema,
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn type_message(name: &str, ty: &str) -> String {
    match ty {
        "string" => format!("{name} must be a string"),
        "boolean" => format!("{name} must be a boolean value"),
        "number" | "integer" => {
            format!("{name} must be a number conforming to the specified constraints")
        }
        "array" => format!("{name} must be an array"),
        _ => format!("nested property {name} must be either object or array"),
    }
}

fn check(value: &Value, schema: &Value, name: &str, errors: &mut Vec<String>, depth: usize) {
    if depth > 8 {
        return;
    }
    let schema = resolve(schema);
    if schema.get("oneOf").is_some() || schema.get("anyOf").is_some() {
        // Custom-field inputs: GHL accepts any of the variants; all share `id`/`key`/`field_value`.
        if !value.is_object() {
            errors.push(format!("each value in {name} must be an object"));
        }
        return;
    }
    let ty = schema.get("type").and_then(Value::as_str);
    let props = schema.get("properties").and_then(Value::as_object);
    match (ty, value) {
        (Some("string"), Value::String(s)) => {
            if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
                if !allowed.iter().any(|a| a.as_str() == Some(s)) {
                    let list: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
                    errors.push(format!(
                        "{name} must be one of the following values: {}",
                        list.join(", ")
                    ));
                }
            }
            if name.ends_with("email") && !s.is_empty() && !looks_like_email(s) {
                errors.push(format!("{name} must be an email"));
            }
        }
        (Some("string"), _) => errors.push(type_message(name, "string")),
        (Some("boolean"), Value::Bool(_)) => {}
        (Some("boolean"), _) => errors.push(type_message(name, "boolean")),
        (Some("number" | "integer"), Value::Number(_)) => {}
        (Some("number" | "integer"), _) => errors.push(type_message(name, "number")),
        (Some("array"), Value::Array(items)) => {
            let item_schema = schema.get("items").unwrap_or(&Value::Null);
            let item_ty = resolve(item_schema).get("type").and_then(Value::as_str);
            for (i, item) in items.iter().enumerate() {
                match (item_ty, item) {
                    (Some("string"), Value::String(_)) => {}
                    (Some("string"), _) => {
                        errors.push(format!("each value in {name} must be a string"));
                        break;
                    }
                    _ => check(item, item_schema, &format!("{name}.{i}"), errors, depth + 1),
                }
            }
        }
        (Some("array"), _) => errors.push(type_message(name, "array")),
        (_, Value::Object(obj)) if props.is_some() || ty == Some("object") => {
            // `properties: {}` (search body, campaign body) means "not documented": accept anything.
            let Some(props) = props.filter(|p| !p.is_empty()) else {
                return;
            };
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for key in obj.keys() {
                if !props.contains_key(key) {
                    errors.push(format!("property {} should not exist", join(name, key)));
                }
            }
            for (key, prop_schema) in props {
                let full = join(name, key);
                match obj.get(key) {
                    // A required `nullable` property takes an explicit null (e.g. `businessId: null`
                    // unlinks contacts in `POST /contacts/bulk/business`).
                    Some(Value::Null)
                        if resolve(prop_schema).get("nullable") == Some(&Value::Bool(true)) => {}
                    None | Some(Value::Null) => {
                        if required.contains(&key.as_str()) {
                            errors.push(format!("{full} should not be empty"));
                        }
                    }
                    Some(Value::String(s)) if s.is_empty() && required.contains(&key.as_str()) => {
                        errors.push(format!("{full} should not be empty"));
                    }
                    Some(v) => check(v, prop_schema, &full, errors, depth + 1),
                }
            }
        }
        // A bare `type: object` without `properties` is how the spec leaves a field untyped
        // (`dateOfBirth` takes "1990-09-25", numeric `field_value`s take 100): accept anything.
        (Some("object"), _) if props.is_none() => {}
        (Some("object"), _) => errors.push(type_message(name, "object")),
        _ => {}
    }
}

fn looks_like_email(s: &str) -> bool {
    let Some((user, domain)) = s.split_once('@') else {
        return false;
    };
    !user.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(name: &str) -> Value {
        json!({"$ref": format!("#/components/schemas/{name}")})
    }

    #[test]
    fn task_body_errors_are_class_validator_messages() {
        let errs = validate_body(
            &json!({"title": 5, "extra": 1}),
            &schema("CreateTaskParams"),
        );
        assert!(
            errs.contains(&"title must be a string".to_string()),
            "{errs:?}"
        );
        assert!(
            errs.contains(&"dueDate should not be empty".to_string()),
            "{errs:?}"
        );
        assert!(
            errs.contains(&"completed should not be empty".to_string()),
            "{errs:?}"
        );
        assert!(
            errs.contains(&"property extra should not exist".to_string()),
            "{errs:?}"
        );
    }

    #[test]
    fn nested_enum_and_email_are_checked() {
        let body = json!({"locationId": "x", "email": "nope",
            "dndSettings": {"SMS": {"status": "maybe"}}, "tags": ["a", 3]});
        let errs = validate_body(&body, &schema("CreateContactDto"));
        assert!(
            errs.contains(&"email must be an email".to_string()),
            "{errs:?}"
        );
        assert!(
            errs.contains(
                &"dndSettings.SMS.status must be one of the following values: active, inactive, permanent"
                    .to_string()
            ),
            "{errs:?}"
        );
        assert!(
            errs.contains(&"each value in tags must be a string".to_string()),
            "{errs:?}"
        );
    }

    #[test]
    fn valid_body_passes() {
        let body = json!({"title": "Call", "dueDate": "2026-01-01T00:00:00Z", "completed": false});
        assert!(validate_body(&body, &schema("CreateTaskParams")).is_empty());
    }
}
