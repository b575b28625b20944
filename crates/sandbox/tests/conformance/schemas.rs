//! GHL's published response schemas, loaded from `spec/ghl/` at test time, extended by the
//! documented table in `conformance.rs`, made strict, and compiled into JSON-Schema validators.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use parking_lot::Mutex;
use serde_json::{json, Map, Value};

/// `(METHOD, path template)` exactly as a spec file writes it, e.g. `("GET", "/contacts/{contactId}")`.
pub type OpKey = (String, String);

/// One documented extension (see the table in `conformance.rs`).
pub struct Extension {
    /// The component schema changed; a new one when `base` is set or the name is not in the specs.
    pub schema: &'static str,
    /// A new component starts as a copy of this one.
    pub base: Option<&'static str>,
    /// Properties added or replaced: OpenAPI 3.0 schema JSON (`nullable` is honoured).
    pub properties: &'static str,
    /// Responses `(METHOD, path, status)` validated against `schema` instead of what the spec says.
    pub responses: &'static [(&'static str, &'static str, u16)],
    /// Why real GHL needs this.
    pub reason: &'static str,
}

/// Both spec files, merged into one strict schema document, with a validator per component.
pub struct Specs {
    /// `{"components": {"schemas": {...}}}`: contacts + oauth + common, extended and strict.
    components: Value,
    /// Every operation of contacts.json: status → schema name (`None`: the spec gives no body schema).
    pub contacts: BTreeMap<OpKey, BTreeMap<u16, Option<String>>>,
    /// The same for oauth.json.
    pub oauth: BTreeMap<OpKey, BTreeMap<u16, Option<String>>>,
    overrides: HashMap<(OpKey, u16), String>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// Schema errors listed in a failure message; the rest are counted.
const MAX_ERRORS_SHOWN: usize = 20;
/// Characters of the offending body quoted in a failure message.
const MAX_BODY_SHOWN: usize = 2_000;

fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/ghl")
}

fn load(file: &str) -> Value {
    let path = spec_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

fn ref_name(schema: &Value) -> Option<String> {
    let r = schema.get("$ref")?.as_str()?;
    let (_, name) = r.split_once("#/components/schemas/")?;
    Some(name.to_string())
}

fn operations(doc: &Value) -> BTreeMap<OpKey, BTreeMap<u16, Option<String>>> {
    let mut out = BTreeMap::new();
    let paths = doc["paths"].as_object().expect("spec has paths");
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item is an object") {
            let mut statuses = BTreeMap::new();
            for (status, resp) in op["responses"]
                .as_object()
                .expect("operation has responses")
            {
                let status: u16 = status.parse().expect("numeric status");
                let schema = resp
                    .pointer("/content/application~1json/schema")
                    .and_then(ref_name);
                statuses.insert(status, schema);
            }
            out.insert((method.to_ascii_uppercase(), path.clone()), statuses);
        }
    }
    out
}

fn schemas_of(doc: &Value) -> &Map<String, Value> {
    doc.pointer("/components/schemas")
        .and_then(Value::as_object)
        .expect("components.schemas")
}

/// OpenAPI 3.0 `nullable: true` → JSON Schema: `null` joins the types (and enum), or wraps a `$ref`.
fn make_nullable(m: &mut Map<String, Value>) {
    if let Some(r) = m.remove("$ref") {
        m.insert("anyOf".into(), json!([{"$ref": r}, {"type": "null"}]));
        return;
    }
    match m.get_mut("type") {
        Some(Value::String(t)) => {
            let t = t.clone();
            m.insert("type".into(), json!([t, "null"]));
        }
        Some(Value::Array(ts)) if !ts.contains(&json!("null")) => ts.push(json!("null")),
        _ => {}
    }
    if let Some(Value::Array(e)) = m.get_mut("enum") {
        e.push(Value::Null);
    }
}

/// Converts `nullable` and forbids undeclared properties in every object schema that lists some.
fn strictify(schema: &mut Value) {
    let Value::Object(m) = schema else { return };
    if m.remove("nullable") == Some(Value::Bool(true)) {
        make_nullable(m);
    }
    let lists_properties = m
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty());
    if lists_properties && !m.contains_key("additionalProperties") {
        m.insert("additionalProperties".into(), Value::Bool(false));
    }
    if let Some(Value::Object(props)) = m.get_mut("properties") {
        props.values_mut().for_each(strictify);
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(v @ Value::Object(_)) = m.get_mut(key) {
            strictify(v);
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(list)) = m.get_mut(key) {
            list.iter_mut().for_each(strictify);
        }
    }
}

impl Specs {
    /// Loads contacts.json, oauth.json and common-schemas.json, applies `extensions`, marks
    /// `required` properties, then makes every object schema strict.
    pub fn build(extensions: &[Extension], required: &[(&str, &[&str])]) -> Self {
        let contacts_doc = load("contacts.json");
        let oauth_doc = load("oauth.json");
        let common_doc = load("common-schemas.json");
        let mut all = Map::new();
        for doc in [&contacts_doc, &oauth_doc, &common_doc] {
            for (name, schema) in schemas_of(doc) {
                let clash = all.insert(name.clone(), schema.clone());
                assert!(
                    clash.is_none(),
                    "schema {name} is defined by two spec files"
                );
            }
        }
        let mut overrides = HashMap::new();
        for ext in extensions {
            assert!(
                !ext.reason.trim().is_empty(),
                "extension of {} has no reason",
                ext.schema
            );
            let mut schema = match ext.base {
                Some(base) => {
                    assert!(
                        !all.contains_key(ext.schema),
                        "new schema {} already exists",
                        ext.schema
                    );
                    all.get(base)
                        .unwrap_or_else(|| panic!("unknown base schema {base}"))
                        .clone()
                }
                None => all
                    .get(ext.schema)
                    .cloned()
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
            };
            let added: Map<String, Value> =
                serde_json::from_str(ext.properties).unwrap_or_else(|e| {
                    panic!(
                        "extension of {}: properties are not a JSON object: {e}",
                        ext.schema
                    )
                });
            let props = schema["properties"].as_object_mut().expect("object schema");
            props.extend(added);
            all.insert(ext.schema.to_string(), schema);
            for (method, path, status) in ext.responses {
                let key = ((method.to_string(), path.to_string()), *status);
                let before = overrides.insert(key, ext.schema.to_string());
                assert!(
                    before.is_none(),
                    "two extensions replace the schema of {method} {path} {status}"
                );
            }
        }
        for (name, names) in required {
            let schema = all
                .get_mut(*name)
                .unwrap_or_else(|| panic!("required: unknown schema {name}"));
            let props = schema["properties"]
                .as_object()
                .expect("object schema")
                .clone();
            let list = schema
                .as_object_mut()
                .expect("object")
                .entry("required")
                .or_insert_with(|| json!([]));
            let list = list.as_array_mut().expect("required is an array");
            for n in *names {
                assert!(
                    props.contains_key(*n),
                    "required: {name} has no property {n}"
                );
                if !list.contains(&json!(n)) {
                    list.push(json!(n));
                }
            }
        }
        for schema in all.values_mut() {
            strictify(schema);
        }
        let specs = Self {
            components: json!({"schemas": all}),
            contacts: operations(&contacts_doc),
            oauth: operations(&oauth_doc),
            overrides,
            validators: Mutex::new(HashMap::new()),
        };
        for ((op, status), _) in specs.overrides.iter() {
            let documented = specs.operation(op).is_some_and(|s| s.contains_key(status));
            assert!(
                documented,
                "an extension replaces {} {} {status}, which the spec does not document",
                op.0, op.1
            );
        }
        specs
    }

    /// The documented statuses of an operation of either file.
    pub fn operation(&self, op: &OpKey) -> Option<&BTreeMap<u16, Option<String>>> {
        self.contacts.get(op).or_else(|| self.oauth.get(op))
    }

    /// The schema a response is validated against: the extension's, else the spec's.
    pub fn schema_for(&self, op: &OpKey, status: u16) -> Result<String, String> {
        let statuses = self
            .operation(op)
            .ok_or_else(|| format!("{} {} is not in the specs", op.0, op.1))?;
        if !statuses.contains_key(&status) {
            let documented: Vec<String> = statuses.keys().map(u16::to_string).collect();
            return Err(format!(
                "status {status} is not documented (documented: {})",
                documented.join(", ")
            ));
        }
        if let Some(name) = self.overrides.get(&(op.clone(), status)) {
            return Ok(name.clone());
        }
        statuses[&status].clone().ok_or_else(|| {
            format!("the spec gives status {status} no schema and no extension supplies one")
        })
    }

    fn validator(&self, name: &str) -> Arc<jsonschema::Validator> {
        let mut cache = self.validators.lock();
        let build = || {
            assert!(
                self.components["schemas"].get(name).is_some(),
                "schema {name} is not defined"
            );
            let doc = json!({"$ref": format!("#/components/schemas/{name}"), "components": self.components});
            Arc::new(
                jsonschema::validator_for(&doc)
                    .unwrap_or_else(|e| panic!("schema {name} does not compile: {e}")),
            )
        };
        cache.entry(name.to_string()).or_insert_with(build).clone()
    }

    /// Validates `body` against component `name`; `Err` lists every error with its JSON pointer.
    pub fn validate(&self, name: &str, body: &Value) -> Result<(), Vec<String>> {
        let validator = self.validator(name);
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| {
                let at = e.instance_path().to_string();
                let at = if at.is_empty() { "/".to_string() } else { at };
                format!("at {at}: {e} (schema {})", e.schema_path())
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Checks one real response; the message names operation, status, schema and every error.
    pub fn check(&self, op: &OpKey, status: u16, body: &Value) -> Result<String, String> {
        let (method, path) = op;
        let name = self
            .schema_for(op, status)
            .map_err(|e| format!("{method} {path} answered {status}: {e}"))?;
        self.validate(&name, body).map_err(|errors| {
            let shown = errors.len().min(MAX_ERRORS_SHOWN);
            let more = errors.len() - shown;
            let more = if more > 0 { format!("\n  … and {more} more") } else { String::new() };
            let body = body.to_string();
            let body = match body.char_indices().nth(MAX_BODY_SHOWN) {
                Some((cut, _)) => format!("{}…", &body[..cut]),
                None => body,
            };
            format!(
                "{method} {path} answered {status} with a body that does not match {name}:\n  {}{more}\nbody: {body}",
                errors[..shown].join("\n  ")
            )
        })?;
        Ok(name)
    }
}

/// The specs, built once per test binary with the table of `conformance.rs`.
pub static SPECS: LazyLock<Specs> =
    LazyLock::new(|| Specs::build(crate::EXTENSIONS, crate::REQUIRED));
