//! A flow file as an ordered YAML tree, read with the same YAML parser the flow loader uses
//! (serde-saphyr) and written back in the style of the docs: block maps, short lists and
//! mapping rules in flow style (`- {to: email, from: email}`).
//!
//! The editor changes only the parts its form shows (the sync's direction, one kind's match
//! keys and mapping, the conflict default, the delete policy) and keeps every other key — the
//! description, filters, other kinds' mappings, transform options — in the order written. The
//! text it produces is then checked by the project's own flow parser before anything is saved,
//! so this module never decides whether a flow is valid. Comments are not kept.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// One YAML value; maps keep their order (and typed keys, as `value_map` uses them).
#[derive(Debug, Clone, PartialEq)]
pub enum Y {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Y>),
    Map(Vec<(Y, Y)>),
}

impl Y {
    /// A text value.
    pub fn s(text: impl Into<String>) -> Y {
        Y::Str(text.into())
    }

    /// The value under a text key of a map.
    pub fn get(&self, key: &str) -> Option<&Y> {
        match self {
            Y::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Mutable access to the value under a text key of a map.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Y> {
        match self {
            Y::Map(entries) => entries
                .iter_mut()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Sets `key` (in place when present, else appended); `None` removes it.
    pub fn set(&mut self, key: &str, value: Option<Y>) {
        let Y::Map(entries) = self else { return };
        let at = entries.iter().position(|(k, _)| k.as_str() == Some(key));
        match (at, value) {
            (Some(i), Some(v)) => entries[i].1 = v,
            (Some(i), None) => {
                entries.remove(i);
            }
            (None, Some(v)) => entries.push((Y::s(key), v)),
            (None, None) => {}
        }
    }

    /// The text of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Y::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Texts of a string or a list of strings (`from: a` / `from: [a, b]`).
    pub fn texts(&self) -> Vec<String> {
        match self {
            Y::Seq(items) => items.iter().map(Y::scalar_text).collect(),
            other => vec![other.scalar_text()],
        }
    }

    /// A scalar as people read it (`true`, `12`, `ada`).
    pub fn scalar_text(&self) -> String {
        match self {
            Y::Str(s) => s.clone(),
            Y::Null => String::new(),
            other => flow(other),
        }
    }
}

/// Reads YAML text into the tree; the message is the parser's own (the loader reports the same
/// problem with its line and column when the text is saved).
pub fn parse(text: &str) -> Result<Y, String> {
    serde_saphyr::from_str::<Option<Y>>(text)
        .map(|y| y.unwrap_or(Y::Map(Vec::new())))
        .map_err(|e| e.to_string())
}

impl<'de> Deserialize<'de> for Y {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Y, D::Error> {
        d.deserialize_any(YVisitor)
    }
}

struct YVisitor;

impl<'de> Visitor<'de> for YVisitor {
    type Value = Y;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Y, E> {
        Ok(Y::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Y, E> {
        Ok(Y::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Y, E> {
        Ok(i64::try_from(v).map_or(Y::Float(v as f64), Y::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Y, E> {
        Ok(Y::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Y, E> {
        Ok(Y::s(v))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Y, E> {
        Ok(Y::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Y, E> {
        Ok(Y::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Y, E> {
        Ok(Y::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Y, D::Error> {
        Y::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Y, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element::<Y>()? {
            out.push(v);
        }
        Ok(Y::Seq(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Y, A::Error> {
        let mut out = Vec::new();
        while let Some((k, v)) = map.next_entry::<Y, Y>()? {
            out.push((k, v));
        }
        Ok(Y::Map(out))
    }
}

/// Widest a collection is written on one line in flow style.
const FLOW_WIDTH: usize = 100;

/// Writes the tree as YAML text (a map at the top, as flow files are).
pub fn emit(doc: &Y) -> String {
    let mut out = String::new();
    match doc {
        Y::Map(entries) if !entries.is_empty() => block_map(&mut out, entries, 0),
        other => {
            out.push_str(&flow(other));
            out.push('\n');
        }
    }
    out
}

fn is_collection(y: &Y) -> bool {
    matches!(y, Y::Seq(_) | Y::Map(_))
}

/// Whether a value goes on its key's line: scalars, and collections short enough in flow style
/// (rules and lists of scalars; a list of maps stays a block unless every item is short).
fn fits_inline(y: &Y, indent: usize) -> bool {
    match y {
        Y::Seq(items) if items.iter().any(is_collection) => false,
        Y::Map(entries)
            if entries
                .iter()
                .any(|(_, v)| is_collection(v) && !short_seq(v)) =>
        {
            false
        }
        Y::Seq(_) | Y::Map(_) => indent + flow(y).chars().count() <= FLOW_WIDTH,
        _ => true,
    }
}

/// A list of scalars (kinds, match keys, tags) — written `[a, b]` even inside a rule.
fn short_seq(y: &Y) -> bool {
    matches!(y, Y::Seq(items) if !items.iter().any(is_collection))
}

fn block_map(out: &mut String, entries: &[(Y, Y)], indent: usize) {
    for (k, v) in entries {
        out.push_str(&" ".repeat(indent));
        out.push_str(&scalar(k));
        value_after_key(out, v, indent);
    }
}

fn value_after_key(out: &mut String, v: &Y, indent: usize) {
    match v {
        Y::Map(e) if !e.is_empty() && !fits_inline(v, indent + 2) => {
            out.push_str(":\n");
            block_map(out, e, indent + 2);
        }
        Y::Seq(items) if !items.is_empty() && !fits_inline(v, indent + 2) => {
            out.push_str(":\n");
            block_seq(out, items, indent + 2);
        }
        _ => {
            out.push_str(": ");
            out.push_str(&flow(v));
            out.push('\n');
        }
    }
}

fn block_seq(out: &mut String, items: &[Y], indent: usize) {
    for item in items {
        out.push_str(&" ".repeat(indent));
        out.push_str("- ");
        match item {
            Y::Map(e) if !e.is_empty() && !fits_inline(item, indent + 2) => {
                // The first entry on the dash's line, the rest under it.
                let mut first = true;
                for (k, v) in e {
                    if !first {
                        out.push_str(&" ".repeat(indent + 2));
                    }
                    first = false;
                    out.push_str(&scalar(k));
                    value_after_key(out, v, indent + 2);
                }
            }
            Y::Seq(s) if !s.is_empty() && !fits_inline(item, indent + 2) => {
                out.push('\n');
                block_seq(out, s, indent + 2);
            }
            _ => {
                out.push_str(&flow(item));
                out.push('\n');
            }
        }
    }
}

/// Flow style: `{to: email, from: email}`, `[contact, task]`, or a scalar.
pub fn flow(y: &Y) -> String {
    match y {
        Y::Seq(items) => format!(
            "[{}]",
            items.iter().map(flow).collect::<Vec<_>>().join(", ")
        ),
        Y::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}: {}", scalar(k), flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => scalar(other),
    }
}

fn scalar(y: &Y) -> String {
    match y {
        Y::Null => "null".into(),
        Y::Bool(b) => b.to_string(),
        Y::Int(i) => i.to_string(),
        Y::Float(f) if f.is_finite() => {
            let s = f.to_string();
            if s.contains('.') || s.contains('e') {
                s
            } else {
                format!("{s}.0")
            }
        }
        Y::Float(f) if f.is_nan() => ".nan".into(),
        Y::Float(f) if *f > 0.0 => ".inf".into(),
        Y::Float(_) => "-.inf".into(),
        Y::Str(s) if plain_ok(s) => s.clone(),
        // A JSON string is a valid YAML double-quoted scalar.
        Y::Str(s) => serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()),
        other => flow(other),
    }
}

/// Whether text can be written without quotes and still read back as the same text, in block
/// and flow context alike.
fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.trim() != s
        || !(first.is_alphabetic() || first == '_')
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.chars()
            .any(|c| c.is_control() || ",[]{}#&*!|>'\"%@`".contains(c))
    {
        return false;
    }
    !matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n" | "nan" | "inf"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_a_flow_in_the_docs_style() {
        let text = "name: GHL ⇄ CRM
description: Two lines
  folded.
sync:
  source: ghl
  target: crm
  kinds: [contact]
  match:
    contact: [email, phone]
  filters:
    contact:
      any:
        - {field: email, exists: true}
        - {field: custom.Lead Score, gt: 50}
  mapping:
    contact:
      - {to: first_name, from: first_name, transform: trim}
      - {to: phone, from: phone, transform: {normalize_phone: {default_country: US}}}
      - {to: title, template: \"Call {{ first_name }}\"}
      - to: custom.Stage
        from: custom.Stage
        transform:
          value_map: {map: {1: high, lead: prospect, done: 'no'}, default: prospect}
";
        let y = parse(text).unwrap();
        let out = emit(&y);
        assert!(out.contains("kinds: [contact]"), "{out}");
        assert!(
            out.contains("- {to: first_name, from: first_name, transform: trim}"),
            "{out}"
        );
        assert!(out.contains("\"Call {{ first_name }}\""), "{out}");
        assert!(out.contains("1: high"), "{out}");
        assert_eq!(parse(&out).unwrap(), y, "{out}");
    }

    #[test]
    fn ambiguous_text_is_quoted() {
        for s in ["true", "12", "+1d", "a: b", "", " x", "*", "{{ x }}", "No"] {
            let out = emit(&Y::Map(vec![(Y::s("k"), Y::s(s))]));
            assert_eq!(parse(&out).unwrap().get("k"), Some(&Y::s(s)), "{out}");
        }
    }
}
