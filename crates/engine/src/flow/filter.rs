//! Filters: which records a flow (or one kind of a sync) acts on.
//!
//! Written as conditions on canonical fields combined with `all` / `any` / `not`; a list is
//! shorthand for `all`. Evaluation is total: a missing field never errors, it simply fails
//! `eq`, `in`, `contains`, `gt`, `lt` and `exists: true`.

use std::cmp::Ordering;

use connectors::EntityKind;
use serde::Serialize;
use serde_json::{Map, Value};

use super::decode::{index, Ctx};
use super::diag::allowed_help;
use super::model::{canonical_fields, is_known_field};
use super::values::parse_datetime;
use super::yaml::{Node, NodeValue};

/// A tree of conditions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    All(Vec<Filter>),
    Any(Vec<Filter>),
    Not(Box<Filter>),
    Condition(Condition),
}

/// One test of one field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    pub field: String,
    pub op: Op,
}

/// The tests a condition can make.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Equal; numbers and numeric text compare as numbers, text compares exactly.
    Eq(Value),
    /// Not equal (true when the field is missing).
    Ne(Value),
    /// Equal to one of these; for list fields (tags), any element is.
    In(Vec<Value>),
    /// Text contains this (case-insensitive); a list has an element equal to it (case-insensitive).
    Contains(Value),
    /// `true`: present, not null, not empty text, not an empty list. `false`: the opposite.
    Exists(bool),
    /// Greater than, comparing numbers, then dates, then text.
    Gt(Value),
    /// Less than, comparing numbers, then dates, then text.
    Lt(Value),
}

const OPS: [&str; 7] = ["eq", "ne", "in", "contains", "exists", "gt", "lt"];

impl Filter {
    /// Whether a record's fields pass.
    pub fn matches(&self, fields: &Map<String, Value>) -> bool {
        match self {
            Self::All(fs) => fs.iter().all(|f| f.matches(fields)),
            Self::Any(fs) => fs.iter().any(|f| f.matches(fields)),
            Self::Not(f) => !f.matches(fields),
            Self::Condition(c) => c.matches(fields),
        }
    }
}

impl Condition {
    /// Whether this one condition holds.
    pub fn matches(&self, fields: &Map<String, Value>) -> bool {
        let v = lookup(fields, &self.field).filter(|v| !v.is_null());
        match (&self.op, v) {
            (Op::Exists(want), v) => *want == v.is_some_and(is_present),
            (Op::Ne(x), v) => !v.is_some_and(|v| loosely_equal(v, x)),
            (_, None) => false,
            (Op::Eq(x), Some(v)) => loosely_equal(v, x),
            (Op::In(xs), Some(Value::Array(items))) => {
                items.iter().any(|i| xs.iter().any(|x| loosely_equal(i, x)))
            }
            (Op::In(xs), Some(v)) => xs.iter().any(|x| loosely_equal(v, x)),
            (Op::Contains(x), Some(Value::Array(items))) => {
                let want = text_of(x).to_lowercase();
                items.iter().any(|i| {
                    loosely_equal(i, x) || (i.is_string() && text_of(i).to_lowercase() == want)
                })
            }
            (Op::Contains(x), Some(v)) => text_of(v)
                .to_lowercase()
                .contains(&text_of(x).to_lowercase()),
            (Op::Gt(x), Some(v)) => compare(v, x) == Some(Ordering::Greater),
            (Op::Lt(x), Some(v)) => compare(v, x) == Some(Ordering::Less),
        }
    }
}

/// Reads a field by canonical name: the flat key (`custom.Lead Score`) or, failing that, the
/// same path through nested maps (`{"custom": {"Lead Score": …}}`).
pub fn lookup<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(v) = fields.get(name) {
        return Some(v);
    }
    let (head, rest) = name.split_once('.')?;
    match fields.get(head)? {
        Value::Object(inner) => lookup(inner, rest),
        _ => None,
    }
}

fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

pub(crate) fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn number_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

fn loosely_equal(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (number_of(a), number_of(b)) {
        (Some(x), Some(y)) => x == y,
        _ => match (a, b) {
            (Value::Bool(x), Value::String(s)) | (Value::String(s), Value::Bool(x)) => s
                .trim()
                .eq_ignore_ascii_case(if *x { "true" } else { "false" }),
            _ => false,
        },
    }
}

fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (number_of(a), number_of(b)) {
        return x.partial_cmp(&y);
    }
    if let (Value::String(x), Value::String(y)) = (a, b) {
        if let (Some(dx), Some(dy)) = (parse_datetime(x, false), parse_datetime(y, false)) {
            return Some(dx.cmp(&dy));
        }
        return Some(x.cmp(y));
    }
    None
}

/// Decodes a filter; `kind` (when known) lets field names be checked.
pub(crate) fn decode(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    kind: Option<EntityKind>,
) -> Option<Filter> {
    match &node.value {
        NodeValue::Seq(items) => decode_list(ctx, items, path, kind).map(Filter::All),
        NodeValue::Map(entries) => {
            let first = entries.first().map(|(k, _)| k.name.as_str());
            if entries.len() == 1 && matches!(first, Some("all" | "any" | "not")) {
                let (key, value) = &entries[0];
                let p = format!("{path}.{}", key.name);
                return match key.name.as_str() {
                    "not" => decode(ctx, value, &p, kind).map(|f| Filter::Not(Box::new(f))),
                    name => {
                        let items = ctx.list(value, &p, "conditions")?;
                        let fs = decode_list(ctx, items, &p, kind)?;
                        Some(if name == "all" {
                            Filter::All(fs)
                        } else {
                            Filter::Any(fs)
                        })
                    }
                };
            }
            decode_condition(ctx, node, path, kind).map(Filter::Condition)
        }
        _ => {
            ctx.wrong_type(
                node,
                path,
                "a condition map, `all:`, `any:`, `not:` or a list",
            );
            None
        }
    }
}

fn decode_list(
    ctx: &mut Ctx<'_>,
    items: &[Node],
    path: &str,
    kind: Option<EntityKind>,
) -> Option<Vec<Filter>> {
    let decoded: Vec<Option<Filter>> = items
        .iter()
        .enumerate()
        .map(|(i, n)| decode(ctx, n, &index(path, i), kind))
        .collect();
    decoded.into_iter().collect()
}

fn decode_condition(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    kind: Option<EntityKind>,
) -> Option<Condition> {
    let mut allowed = vec!["field"];
    allowed.extend(OPS);
    let m = ctx.map(node, path, "a filter condition", &allowed)?;
    if m.has("all") || m.has("any") || m.has("not") {
        // Already reported as unknown keys; explain the shape too.
        ctx.error(
            m.pos,
            path,
            "`all`, `any` and `not` must be alone in their map",
            Some("put the other conditions inside the list".into()),
        );
        return None;
    }
    let field_node = m.require(ctx, "field", "a filter condition");
    let field = field_node.and_then(|n| ctx.nonempty_text(n, &m.at("field")));
    if let (Some(f), Some(k), Some(n)) = (&field, kind, field_node) {
        if !is_known_field(k, f) {
            let allowed = canonical_fields(k);
            ctx.error(
                n.pos,
                &m.at("field"),
                format!("unknown field `{f}` for a {k}"),
                Some(format!(
                    "{}; or `custom.<Field Name>`",
                    allowed_help(f, allowed)
                )),
            );
        }
    }
    let ops: Vec<_> = m
        .entries
        .iter()
        .filter(|(k, _)| OPS.contains(&k.name.as_str()))
        .collect();
    let (key, value) = match ops.as_slice() {
        [one] => *one,
        [] => {
            ctx.error(
                m.pos,
                path,
                "a condition needs one test",
                Some(format!("add one of: {}", OPS.join(", "))),
            );
            return None;
        }
        [_, second, ..] => {
            ctx.error(
                second.0.pos,
                &m.at(&second.0.name),
                "a condition has exactly one test",
                Some("combine several with `all:` or `any:`".into()),
            );
            return None;
        }
    };
    let p = m.at(&key.name);
    let scalar = |ctx: &mut Ctx<'_>| -> Option<Value> {
        match value.value {
            NodeValue::Seq(_) | NodeValue::Map(_) => {
                ctx.wrong_type(value, &p, "a single value");
                None
            }
            _ => Some(value.to_json()),
        }
    };
    let op = match key.name.as_str() {
        "eq" => Op::Eq(scalar(ctx)?),
        "ne" => Op::Ne(scalar(ctx)?),
        "contains" => Op::Contains(scalar(ctx)?),
        "gt" => Op::Gt(scalar(ctx)?),
        "lt" => Op::Lt(scalar(ctx)?),
        "exists" => Op::Exists(ctx.boolean(value, &p)?),
        _ => Op::In(
            ctx.list(value, &p, "values")?
                .iter()
                .map(Node::to_json)
                .collect(),
        ),
    };
    Some(Condition { field: field?, op })
}
