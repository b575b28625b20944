//! Field mappings: how a record of one app becomes the fields written to another.
//!
//! A mapping is a list of rules for one kind. Each rule writes one target field (two for
//! `split_name`) from source fields, a constant or a template, through optional transforms.
//! Mapping never fails a record: a missing source field, an unparsable date or a value missing
//! from a `value_map` skips that one field and says so in a warning, which dry runs show and
//! the worker logs. A skipped field is left out of the output (never written as null), so a
//! partial webhook payload cannot blank fields in the other app.

use connectors::{EntityKind, Record};
use serde::Serialize;
use serde_json::{Map, Value};

use super::filter::lookup;
use super::model::canonical_fields;
use super::template::{context, Template};
use super::transform::Transform;

/// Which way a mapping runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Source record → target fields (the only direction of one-way syncs and actions).
    ToTarget,
    /// Target record → source fields (two-way syncs), running each rule backwards.
    ToSource,
}

/// Which ways one rule runs in a two-way sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleDirection {
    Both,
    ToTarget,
    ToSource,
}

impl RuleDirection {
    /// Names as written.
    pub const NAMES: [&'static str; 3] = ["both", "to_target", "to_source"];

    fn runs(self, dir: Direction) -> bool {
        matches!(
            (self, dir),
            (Self::Both, _)
                | (Self::ToTarget, Direction::ToTarget)
                | (Self::ToSource, Direction::ToSource)
        )
    }
}

/// Where a rule's value comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleSource {
    /// Source fields (`from:`), one or several (for `join_name`).
    Field(Vec<String>),
    /// A constant (`value:`); runs towards the target only.
    Value(Value),
    /// A template over the source record's fields (`template:`); towards the target only.
    Template(Template),
}

/// One mapping rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// Target fields written (two for `split_name`).
    pub to: Vec<String>,
    pub source: RuleSource,
    pub transforms: Vec<Transform>,
    /// Written when the source value is missing, null or empty text.
    pub default: Option<Value>,
    pub direction: RuleDirection,
}

/// The rules for one kind, or the identity mapping of canonical fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mapping {
    kind: EntityKind,
    /// `None`: identity.
    rules: Option<Vec<Rule>>,
}

/// Records and bare field maps can both be mapped.
pub trait AsFields {
    /// The canonical fields.
    fn as_fields(&self) -> &Map<String, Value>;
}

impl AsFields for Record {
    fn as_fields(&self) -> &Map<String, Value> {
        &self.fields
    }
}

impl AsFields for Map<String, Value> {
    fn as_fields(&self) -> &Map<String, Value> {
        self
    }
}

/// A problem met while mapping one record; the field it concerns was not written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MapWarning {
    /// The field the rule writes (the output side).
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for MapWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`: {}", self.field, self.message)
    }
}

/// The fields to write and what went wrong on the way.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct MapOutput {
    pub fields: Map<String, Value>,
    pub warnings: Vec<MapWarning>,
}

fn is_blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        _ => false,
    }
}

impl Mapping {
    /// Copies every canonical field of `kind` and every `custom.*` field, both ways.
    pub fn identity(kind: EntityKind) -> Self {
        Self { kind, rules: None }
    }

    /// A mapping from rules; the loader has checked field names, arities and directions.
    pub fn new(kind: EntityKind, rules: Vec<Rule>) -> Self {
        Self {
            kind,
            rules: Some(rules),
        }
    }

    /// The kind it maps.
    pub fn kind(&self) -> EntityKind {
        self.kind
    }

    /// The rules, or `None` for the identity mapping.
    pub fn rules(&self) -> Option<&[Rule]> {
        self.rules.as_deref()
    }

    /// Maps a record (or bare fields) in `dir`.
    pub fn apply(&self, input: &impl AsFields, dir: Direction) -> MapOutput {
        let fields = input.as_fields();
        let Some(rules) = &self.rules else {
            return self.apply_identity(fields);
        };
        let mut out = MapOutput::default();
        let ctx = rules
            .iter()
            .any(|r| matches!(r.source, RuleSource::Template(_)))
            .then(|| context(fields));
        for rule in rules.iter().filter(|r| r.direction.runs(dir)) {
            match dir {
                Direction::ToTarget => forward(rule, fields, ctx.as_ref(), &mut out),
                Direction::ToSource => backward(rule, fields, &mut out),
            }
        }
        out
    }

    fn apply_identity(&self, fields: &Map<String, Value>) -> MapOutput {
        let canonical = canonical_fields(self.kind);
        let fields = fields
            .iter()
            .filter(|(k, v)| {
                !v.is_null() && (canonical.contains(&k.as_str()) || k.starts_with("custom."))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        MapOutput {
            fields,
            warnings: Vec::new(),
        }
    }
}

fn warn(out: &mut MapOutput, field: &[String], message: String) {
    out.warnings.push(MapWarning {
        field: field.join(", "),
        message,
    });
}

fn forward(
    rule: &Rule,
    fields: &Map<String, Value>,
    ctx: Option<&Map<String, Value>>,
    out: &mut MapOutput,
) {
    let inputs = match &rule.source {
        RuleSource::Value(v) => vec![v.clone()],
        RuleSource::Template(t) => {
            let Some(ctx) = ctx else { return };
            for var in t.missing_in(ctx) {
                warn(
                    out,
                    &rule.to,
                    format!("the template uses `{var}`, which the record does not have; it renders as empty text"),
                );
            }
            match t.render(ctx) {
                Ok(s) => vec![Value::String(s)],
                Err(e) => {
                    return warn(
                        out,
                        &rule.to,
                        format!("the template failed: {e}; not written"),
                    )
                }
            }
        }
        RuleSource::Field(from) => {
            let values: Vec<Option<&Value>> = from.iter().map(|f| lookup(fields, f)).collect();
            if values.iter().all(|v| is_blank(*v)) {
                if let Some(d) = &rule.default {
                    write(out, &rule.to, vec![d.clone()]);
                } else if values.iter().all(|v| v.is_none()) {
                    let names = from.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>();
                    let message =
                        format!("source field {} is missing; not written", names.join(", "));
                    warn(out, &rule.to, message);
                } else {
                    // An empty value syncs as empty (a cleared field stays cleared).
                    let empty = values
                        .iter()
                        .flatten()
                        .next()
                        .map_or(Value::Null, |v| (*v).clone());
                    if !empty.is_null() {
                        write(out, &rule.to, vec![empty; rule.to.len()]);
                    }
                }
                return;
            }
            values
                .into_iter()
                .map(|v| v.cloned().unwrap_or(Value::Null))
                .collect()
        }
    };
    if let Some(vals) = run(
        rule.transforms.iter(),
        inputs,
        Direction::ToTarget,
        &rule.to,
        out,
    ) {
        write(out, &rule.to, vals);
    }
}

fn backward(rule: &Rule, fields: &Map<String, Value>, out: &mut MapOutput) {
    let RuleSource::Field(from) = &rule.source else {
        return;
    };
    let values: Vec<Option<&Value>> = rule.to.iter().map(|f| lookup(fields, f)).collect();
    if values.iter().all(|v| v.is_none()) {
        let names = rule.to.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>();
        warn(
            out,
            from,
            format!("target field {} is missing; not written", names.join(", ")),
        );
        return;
    }
    let inputs = values
        .into_iter()
        .map(|v| v.cloned().unwrap_or(Value::Null))
        .collect();
    if let Some(vals) = run(
        rule.transforms.iter().rev(),
        inputs,
        Direction::ToSource,
        from,
        out,
    ) {
        write(out, from, vals);
    }
}

fn run<'a>(
    transforms: impl Iterator<Item = &'a Transform>,
    mut values: Vec<Value>,
    dir: Direction,
    field: &[String],
    out: &mut MapOutput,
) -> Option<Vec<Value>> {
    for t in transforms {
        match t.apply(values, dir) {
            Ok(v) => values = v,
            Err(msg) => {
                warn(out, field, format!("{}: {msg}; not written", t.name()));
                return None;
            }
        }
    }
    Some(values)
}

fn write(out: &mut MapOutput, to: &[String], values: Vec<Value>) {
    for (name, value) in to.iter().zip(values) {
        if !value.is_null() {
            out.fields.insert(name.clone(), value);
        }
    }
}
