//! GHL's own OpenAPI documents, built into the binary, and what the sandbox reads from them:
//! for each operation its id, the scope it needs, and the schema of its request body.
//!
//! Driving validation and scope checks from the published spec keeps the sandbox honest: an
//! operation behaves as GHL documents it, not as someone remembered it.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::Value;

/// `spec/ghl/contacts.json`, byte-exact as HighLevel publishes it.
pub const CONTACTS_SPEC: &str = include_str!("../../../../spec/ghl/contacts.json");
/// `spec/ghl/oauth.json`, byte-exact as HighLevel publishes it.
pub const OAUTH_SPEC: &str = include_str!("../../../../spec/ghl/oauth.json");

/// What the sandbox needs to know of one operation.
#[derive(Debug, Clone)]
pub struct Operation {
    pub operation_id: String,
    pub method: String,
    /// Path template as in the spec, e.g. `/contacts/{contactId}/tasks`.
    pub path: String,
    /// Scope named in the spec's `security`; writes without one (bulk endpoints) need `contacts.write`.
    pub scope: String,
    /// JSON schema of the request body, `$ref`s still pointing into `components`.
    pub body_schema: Option<Value>,
    /// Query parameters the spec marks required.
    pub required_query: Vec<String>,
}

/// Both documents parsed, with operations indexed by (METHOD, path template).
pub struct Spec {
    pub contacts: Value,
    pub oauth: Value,
    operations: HashMap<(String, String), Operation>,
}

impl Spec {
    /// The operation at this method and axum route template, if the spec has one.
    pub fn operation(&self, method: &str, path: &str) -> Option<&Operation> {
        let p = if path == "/contacts" {
            "/contacts/"
        } else {
            path
        };
        self.operations
            .get(&(method.to_ascii_uppercase(), p.to_string()))
    }

    /// Every operation of both documents.
    pub fn operations(&self) -> impl Iterator<Item = &Operation> {
        self.operations.values()
    }

    /// A component schema of the contacts document.
    pub fn component(&self, name: &str) -> Option<&Value> {
        self.contacts
            .pointer(&format!("/components/schemas/{name}"))
    }
}

fn index(doc: &Value, out: &mut HashMap<(String, String), Operation>) {
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, op) in item {
            let method = method.to_ascii_uppercase();
            let scope = op
                .pointer("/security/0")
                .and_then(Value::as_object)
                .and_then(|m| m.values().next())
                .and_then(|v| v.get(0))
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| {
                    if method == "GET" {
                        "contacts.readonly".into()
                    } else {
                        "contacts.write".into()
                    }
                });
            let body_schema = op
                .pointer("/requestBody/content/application~1json/schema")
                .cloned();
            let required_query = op
                .get("parameters")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "query" && p["required"] == true)
                        .filter_map(|p| p["name"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let operation = Operation {
                operation_id: op["operationId"].as_str().unwrap_or_default().to_string(),
                method: method.clone(),
                path: path.clone(),
                scope,
                body_schema,
                required_query,
            };
            out.insert((method, path.clone()), operation);
        }
    }
}

/// The parsed specs. The documents are compiled in, so parsing cannot fail at run time unless
/// the files in `spec/ghl/` were replaced by invalid JSON, which the test suite would catch.
pub static SPEC: LazyLock<Spec> = LazyLock::new(|| {
    let contacts: Value = serde_json::from_str(CONTACTS_SPEC).unwrap_or(Value::Null);
    let oauth: Value = serde_json::from_str(OAUTH_SPEC).unwrap_or(Value::Null);
    let mut operations = HashMap::new();
    index(&contacts, &mut operations);
    index(&oauth, &mut operations);
    Spec {
        contacts,
        oauth,
        operations,
    }
});
