//! Transforms: the value conversions a mapping rule can apply, forwards and (for two-way
//! syncs) backwards.
//!
//! A rule's values flow through its transforms as a list, so `split_name` can turn one value
//! into two and `join_name` several into one. Going back (target → source) runs the inverse of
//! each transform in reverse order: `split_name` ⇄ `join_name`, `value_map` reversed, `date`
//! reads its own output format back. Normalisers (`trim`, `lowercase`, `uppercase`,
//! `normalize_email`, `normalize_phone`) have no inverse and pass values back unchanged.

use chrono::FixedOffset;
use serde::Serialize;
use serde_json::Value;

use super::filter::text_of;
use super::mapping::Direction;
use super::phone::normalize_phone;
use super::values::{
    join_name, normalize_email, parse_datetime_in, parse_with_format, split_name, to_rfc3339,
};

/// Transform names as written in flows.
pub const TRANSFORMS: [&str; 9] = [
    "split_name",
    "join_name",
    "lowercase",
    "uppercase",
    "trim",
    "normalize_email",
    "normalize_phone",
    "date",
    "value_map",
];

/// One conversion step of a mapping rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// One full name → first and last name.
    SplitName,
    /// Several name parts → one text.
    JoinName {
        separator: String,
    },
    Lowercase,
    Uppercase,
    Trim,
    /// Trimmed, lower-cased, validated.
    NormalizeEmail,
    /// E.164, reading national numbers as `default_country`.
    NormalizePhone {
        default_country: String,
    },
    /// Any common date format → RFC 3339 UTC, or `format` (chrono strftime) when given.
    Date(DateOptions),
    /// Statuses, priorities …: `map` from source values to target values.
    ValueMap {
        /// `(source value, target value)`, in file order.
        map: Vec<(Value, Value)>,
        /// Used when a value is not in `map`; otherwise the field is skipped with a warning.
        default: Option<Value>,
    },
}

/// Options of the `date` transform.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DateOptions {
    /// Output format (chrono strftime); RFC 3339 when absent.
    pub format: Option<String>,
    /// Read `03/05/2024` as 3 May.
    pub day_first: bool,
    /// Offset for values without one, and for formatting.
    #[serde(serialize_with = "ser_offset")]
    pub timezone: FixedOffset,
}

fn ser_offset<S: serde::Serializer>(o: &FixedOffset, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(o)
}

impl Transform {
    /// How many values the transform takes (`None`: any number, at least one).
    pub fn inputs(&self) -> Option<usize> {
        match self {
            Self::JoinName { .. } => None,
            _ => Some(1),
        }
    }

    /// How many values it produces.
    pub fn outputs(&self) -> usize {
        match self {
            Self::SplitName => 2,
            _ => 1,
        }
    }

    /// The name as written.
    pub fn name(&self) -> &'static str {
        match self {
            Self::SplitName => "split_name",
            Self::JoinName { .. } => "join_name",
            Self::Lowercase => "lowercase",
            Self::Uppercase => "uppercase",
            Self::Trim => "trim",
            Self::NormalizeEmail => "normalize_email",
            Self::NormalizePhone { .. } => "normalize_phone",
            Self::Date(_) => "date",
            Self::ValueMap { .. } => "value_map",
        }
    }

    /// Applies the transform (or its inverse for [`Direction::ToSource`]). `Null` stands for
    /// "no value"; the error is the warning to show.
    pub fn apply(&self, values: Vec<Value>, dir: Direction) -> Result<Vec<Value>, String> {
        match dir {
            Direction::ToTarget => self.forward(values),
            Direction::ToSource => self.backward(values),
        }
    }

    fn forward(&self, values: Vec<Value>) -> Result<Vec<Value>, String> {
        let one = || values.first().cloned().unwrap_or(Value::Null);
        Ok(match self {
            Self::SplitName => split(&one()),
            Self::JoinName { separator } => vec![join(&values, separator)],
            Self::Lowercase => vec![map_text(one(), |s| s.to_lowercase())],
            Self::Uppercase => vec![map_text(one(), |s| s.to_uppercase())],
            Self::Trim => vec![map_text(one(), |s| s.trim().to_owned())],
            Self::NormalizeEmail => vec![email(&one())?],
            Self::NormalizePhone { default_country } => vec![phone(&one(), default_country)?],
            Self::Date(opts) => vec![date_forward(&one(), opts)?],
            Self::ValueMap { map, default } => vec![map_value(&one(), map, default)?],
        })
    }

    fn backward(&self, values: Vec<Value>) -> Result<Vec<Value>, String> {
        let one = || values.first().cloned().unwrap_or(Value::Null);
        Ok(match self {
            Self::SplitName => vec![join(&values, " ")],
            Self::JoinName { .. } => split(&one()),
            Self::Date(opts) => vec![date_backward(&one(), opts)?],
            Self::ValueMap { map, .. } => vec![unmap_value(&one(), map)?],
            _ => values,
        })
    }
}

fn nonempty(s: String) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::String(s)
    }
}

fn split(v: &Value) -> Vec<Value> {
    match v {
        Value::Null => vec![Value::Null, Value::Null],
        v => {
            let (first, last) = split_name(&text_of(v));
            vec![nonempty(first), nonempty(last)]
        }
    }
}

fn join(values: &[Value], separator: &str) -> Value {
    let texts: Vec<String> = values.iter().map(text_of).collect();
    let parts: Vec<&str> = texts.iter().map(String::as_str).collect();
    nonempty(join_name(&parts, separator))
}

/// Applies a text function to text, and to each text of a list (tags); other values pass.
fn map_text(v: Value, f: impl Fn(&str) -> String + Copy) -> Value {
    match v {
        Value::String(s) => Value::String(f(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(|i| map_text(i, f)).collect()),
        other => other,
    }
}

fn email(v: &Value) -> Result<Value, String> {
    match v {
        Value::String(s) if s.trim().is_empty() => Ok(Value::String(String::new())),
        Value::String(s) => normalize_email(s)
            .map(Value::String)
            .ok_or_else(|| format!("`{s}` is not an email address")),
        other => Err(format!("expected an email address, found {other}")),
    }
}

fn phone(v: &Value, country: &str) -> Result<Value, String> {
    match v {
        Value::String(s) if s.trim().is_empty() => Ok(Value::String(String::new())),
        Value::String(_) | Value::Number(_) => {
            normalize_phone(&text_of(v), country).map(Value::String)
        }
        other => Err(format!("expected a phone number, found {other}")),
    }
}

fn date_forward(v: &Value, opts: &DateOptions) -> Result<Value, String> {
    let dt = match v {
        Value::String(s) if s.trim().is_empty() => return Ok(Value::String(String::new())),
        Value::String(s) => parse_datetime_in(s, opts.day_first, opts.timezone),
        Value::Number(n) => n.as_i64().and_then(super::values::from_epoch),
        _ => None,
    }
    .ok_or_else(|| format!("cannot read {} as a date", show(v)))?;
    Ok(Value::String(match &opts.format {
        Some(f) => dt.with_timezone(&opts.timezone).format(f).to_string(),
        None => to_rfc3339(dt),
    }))
}

fn date_backward(v: &Value, opts: &DateOptions) -> Result<Value, String> {
    let (Some(format), Value::String(s)) = (&opts.format, v) else {
        return Ok(v.clone());
    };
    if s.trim().is_empty() {
        return Ok(v.clone());
    }
    parse_with_format(s, format, opts.timezone)
        .map(|dt| Value::String(to_rfc3339(dt)))
        .ok_or_else(|| format!("cannot read {} as a date in the format `{format}`", show(v)))
}

fn same(a: &Value, b: &Value) -> bool {
    a == b || (!a.is_object() && !a.is_array() && text_of(a).trim() == text_of(b).trim())
}

fn same_folded(a: &Value, b: &Value) -> bool {
    text_of(a).trim().to_lowercase() == text_of(b).trim().to_lowercase()
}

fn map_value(v: &Value, map: &[(Value, Value)], default: &Option<Value>) -> Result<Value, String> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let hit = map
        .iter()
        .find(|(k, _)| same(k, v))
        .or_else(|| map.iter().find(|(k, _)| same_folded(k, v)));
    match (hit, default) {
        (Some((_, out)), _) => Ok(out.clone()),
        (None, Some(d)) => Ok(d.clone()),
        (None, None) => Err(format!(
            "{} is not in value_map (known: {}) and there is no default",
            show(v),
            keys(map.iter().map(|(k, _)| k))
        )),
    }
}

fn unmap_value(v: &Value, map: &[(Value, Value)]) -> Result<Value, String> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    map.iter()
        .find(|(_, out)| same(out, v))
        .or_else(|| map.iter().find(|(_, out)| same_folded(out, v)))
        .map(|(k, _)| k.clone())
        .ok_or_else(|| {
            format!(
                "{} is not a value of value_map (values: {}), so it cannot be mapped back",
                show(v),
                keys(map.iter().map(|(_, o)| o))
            )
        })
}

fn show(v: &Value) -> String {
    format!("`{}`", text_of(v))
}

fn keys<'a>(vals: impl Iterator<Item = &'a Value>) -> String {
    vals.map(text_of).collect::<Vec<_>>().join(", ")
}
