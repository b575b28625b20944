//! Text templates (`"Call {{ first_name }} {{ last_name }}"`), checked when a flow loads.
//!
//! Templates are minijinja with lenient undefined values: a missing field renders as empty text
//! rather than failing a sync, and the variables a template needs are known at load time so a
//! dry run can warn about each one the record lacks.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

/// A template that compiled, with the top-level variables it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    vars: BTreeSet<String>,
}

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env
    })
}

impl Template {
    /// Compiles `source`; the error text explains what minijinja rejected and where.
    pub fn compile(source: &str) -> Result<Self, String> {
        let analysis = Environment::new();
        let tmpl = analysis
            .template_from_str(source)
            .map_err(|e| describe_error(&e))?;
        let globals: BTreeSet<&str> = analysis.globals().map(|(name, _)| name).collect();
        let vars = tmpl
            .undeclared_variables(false)
            .into_iter()
            .filter(|v| !globals.contains(v.as_str()))
            .collect();
        // Unknown filters and functions only surface when rendering; a trial render with no
        // data finds them now instead of on the first real record.
        if let Err(e) = env().render_str(source, minijinja::context! {}) {
            if matches!(
                e.kind(),
                ErrorKind::UnknownFilter | ErrorKind::UnknownTest | ErrorKind::UnknownFunction
            ) {
                return Err(describe_error(&e));
            }
        }
        Ok(Self {
            source: source.to_owned(),
            vars,
        })
    }

    /// The text as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Top-level variables the template reads (`first_name`, `custom`, `tasks` …).
    pub fn variables(&self) -> &BTreeSet<String> {
        &self.vars
    }

    /// Whether the text has no template syntax at all.
    pub fn is_literal(&self) -> bool {
        !self.source.contains("{{") && !self.source.contains("{%")
    }

    /// Renders against a context built by [`context`]; missing values render as empty text.
    pub fn render(&self, ctx: &Map<String, Value>) -> Result<String, String> {
        if self.is_literal() {
            return Ok(self.source.clone());
        }
        env()
            .render_str(
                &self.source,
                minijinja::Value::from(minijinja::value::Serde(ctx)),
            )
            .map_err(|e| describe_error(&e))
    }

    /// Variables the template reads that `ctx` does not have.
    pub fn missing_in(&self, ctx: &Map<String, Value>) -> Vec<String> {
        self.vars
            .iter()
            .filter(|v| ctx.get(v.as_str()).is_none_or(Value::is_null))
            .cloned()
            .collect()
    }
}

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

/// The variables a template sees for a record: every field by its name, plus `custom` and `x`
/// as maps so `{{ custom["Lead Score"] }}` works for names with spaces.
pub fn context(fields: &Map<String, Value>) -> Map<String, Value> {
    let mut ctx = Map::new();
    let mut custom = Map::new();
    let mut x = Map::new();
    for (k, v) in fields {
        if let Some(name) = k.strip_prefix("custom.") {
            custom.insert(name.to_owned(), v.clone());
        } else if let Some(name) = k.strip_prefix("x.") {
            x.insert(name.to_owned(), v.clone());
        }
        ctx.insert(k.clone(), v.clone());
    }
    if let Some(Value::Object(nested)) = fields.get("custom") {
        custom.extend(nested.clone());
    }
    ctx.insert("custom".into(), Value::Object(custom));
    ctx.insert("x".into(), Value::Object(x));
    ctx
}

fn describe_error(e: &minijinja::Error) -> String {
    let mut text = e.kind().to_string();
    if let Some(detail) = e.detail() {
        text.push_str(": ");
        text.push_str(detail);
    }
    if let Some(line) = e.line() {
        text.push_str(&format!(" (template line {line})"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_and_knows_its_variables() {
        let t = Template::compile("Call {{ first_name }} {{ last_name | upper }}").unwrap();
        assert_eq!(
            t.variables().iter().cloned().collect::<Vec<_>>(),
            ["first_name", "last_name"]
        );
        let Value::Object(fields) = json!({"first_name": "Ann"}) else {
            unreachable!()
        };
        let ctx = context(&fields);
        assert_eq!(t.render(&ctx).unwrap(), "Call Ann ");
        assert_eq!(t.missing_in(&ctx), ["last_name"]);
    }

    #[test]
    fn custom_fields_by_name() {
        let t = Template::compile("{{ custom['Lead Score'] }}").unwrap();
        let Value::Object(fields) = json!({"custom.Lead Score": 7}) else {
            unreachable!()
        };
        assert_eq!(t.render(&context(&fields)).unwrap(), "7");
    }

    #[test]
    fn syntax_errors_and_unknown_filters_fail_to_compile() {
        assert!(Template::compile("{{ first_name ").is_err());
        let e = Template::compile("{{ first_name | uppercse }}").unwrap_err();
        assert!(e.contains("unknown filter"), "{e}");
        assert!(Template::compile("{{ range(3) | list }}").is_ok());
    }
}
