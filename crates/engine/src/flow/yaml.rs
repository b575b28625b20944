//! A YAML document as a tree of nodes that each remember where they were written.
//!
//! Flow files are decoded in two steps: serde-saphyr parses the text into this tree (so syntax
//! errors come with its precise locations), then the decoders walk the tree and collect *every*
//! problem they find with its `line:col` and field path. A derived `Deserialize` would stop at
//! the first problem and could not point at values, which is why the tree exists.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::diag::{Diagnostic, Source};

/// Where a node starts, 1-based, in characters; `len` is how many characters to underline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line; 0 when unknown.
    pub line: usize,
    /// 1-based column in characters; 0 when unknown.
    pub col: usize,
    /// Length of the node's text in characters (0 when it spans lines or is unknown).
    pub len: usize,
}

impl Pos {
    fn from_location(loc: serde_saphyr::Location) -> Self {
        Self {
            line: usize::try_from(loc.line()).unwrap_or(0),
            col: usize::try_from(loc.column()).unwrap_or(0),
            len: usize::try_from(loc.span().len()).unwrap_or(0),
        }
    }
}

/// One YAML value with its position.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub value: NodeValue,
    pub pos: Pos,
}

/// A map key with its position.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Key {
    pub name: String,
    pub pos: Pos,
    /// The key as a typed value (`1:` is a number), for maps whose keys are data (`value_map`).
    pub value: serde_json::Value,
}

/// The shapes a YAML value can take once anchors and merges are resolved.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

impl Node {
    /// "text `abc`", "a list", … — how a value is named in "found …" messages.
    pub fn describe(&self) -> String {
        match &self.value {
            NodeValue::Null => "nothing (null)".into(),
            NodeValue::Bool(b) => format!("`{b}`"),
            NodeValue::Int(i) => format!("the number `{i}`"),
            NodeValue::Float(f) => format!("the number `{f}`"),
            NodeValue::Str(s) if s.chars().count() > 40 => "a long text".into(),
            NodeValue::Str(s) => format!("the text `{s}`"),
            NodeValue::Seq(_) => "a list".into(),
            NodeValue::Map(_) => "a map".into(),
        }
    }

    /// The value as JSON (positions dropped), for constants and filter operands.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::from(*i),
            NodeValue::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
            }
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// The text of a string node.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Parses YAML text into a node tree; a syntax error becomes one diagnostic at its location.
pub(crate) fn parse(src: &Source) -> Result<Node, Box<Diagnostic>> {
    match serde_saphyr::from_str::<Option<Node>>(&src.text) {
        Ok(Some(node)) => Ok(node),
        Ok(None) => Ok(Node {
            value: NodeValue::Null,
            pos: Pos {
                line: 1,
                col: 1,
                len: 0,
            },
        }),
        Err(err) => Err(Box::new(syntax_error(src, &err))),
    }
}

fn syntax_error(src: &Source, err: &serde_saphyr::Error) -> Diagnostic {
    let pos = err.location().map(Pos::from_location).unwrap_or_default();
    let opts = serde_saphyr::render_options! {
        formatter: &serde_saphyr::UserMessageFormatter,
        snippets: serde_saphyr::SnippetMode::Off,
    };
    let mut message = err.render_with_options(opts);
    // The renderer appends the position; ours is shown in the header already.
    if let Some(at) = message.rfind(" at line ") {
        message.truncate(at);
    }
    let help = syntax_help(&message, src, pos);
    Diagnostic::new(src, pos, "", format!("invalid YAML: {message}")).with_help_opt(help)
}

/// Hints for the YAML mistakes people make most in flow files.
fn syntax_help(message: &str, src: &Source, pos: Pos) -> Option<String> {
    let line = src.line(pos.line).unwrap_or_default();
    if line.contains('*') || message.contains("alias") || message.contains("anchor") {
        return Some(
            "`*` and `&` start YAML aliases and anchors; quote text that contains them, \
             e.g. cron: \"0 * * * *\""
                .into(),
        );
    }
    if let Some((open, at)) = unclosed_bracket(src, pos.line) {
        return Some(format!("the `{open}` opened on line {at} is never closed"));
    }
    if line.contains('\t') {
        return Some("YAML does not allow tabs for indentation; use spaces".into());
    }
    if message.contains("duplicate") {
        return Some("each key may appear once per map; remove or rename one of them".into());
    }
    Some(
        "check the indentation and that every `key: value` pair has a space after the colon".into(),
    )
}

/// The last `[` or `{` opened before `line` and not closed, outside quotes and comments.
fn unclosed_bracket(src: &Source, line: usize) -> Option<(char, usize)> {
    let mut stack: Vec<(char, usize)> = Vec::new();
    for (i, text) in src.text.lines().take(line).enumerate() {
        let mut quote: Option<char> = None;
        let mut prev = ' ';
        for ch in text.chars() {
            match (quote, ch) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') if prev == ' ' || prev == '[' || prev == '{' || prev == ',' => {
                    quote = Some(ch)
                }
                (None, '#') if prev == ' ' => break,
                (None, '[' | '{') => stack.push((ch, i + 1)),
                (None, ']' | '}') => {
                    stack.pop();
                }
                _ => {}
            }
            prev = ch;
        }
    }
    stack.pop()
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NodeValue, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodeValue, E> {
        Ok(i64::try_from(v).map_or(NodeValue::Float(v as f64), NodeValue::Int))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<NodeValue, E> {
        Ok(i64::try_from(v).map_or(NodeValue::Float(v as f64), NodeValue::Int))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<NodeValue, E> {
        Ok(i64::try_from(v).map_or(NodeValue::Float(v as f64), NodeValue::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<NodeValue, E> {
        Ok(NodeValue::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(NodeValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<NodeValue>>()? {
            let pos = Pos::from_location(key.referenced);
            let typed = Node {
                value: key.value,
                pos,
            }
            .to_json();
            let name = match typed {
                serde_json::Value::String(ref s) => s.clone(),
                serde_json::Value::Number(ref n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Null => "null".into(),
                _ => {
                    return Err(de::Error::custom("a map key must be plain text"));
                }
            };
            let value = map.next_value::<Node>()?;
            entries.push((
                Key {
                    name,
                    pos,
                    value: typed,
                },
                value,
            ));
        }
        Ok(NodeValue::Map(entries))
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<NodeValue>::deserialize(d)?;
        Ok(Node {
            value: spanned.value,
            pos: Pos::from_location(spanned.referenced),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> Source {
        Source::new("t.yaml", text)
    }

    #[test]
    fn positions_of_keys_and_values() {
        let n = parse(&src("name: x\nlist:\n  - a: 1\n    b: [true, 2.5]\n")).unwrap();
        let NodeValue::Map(entries) = &n.value else {
            panic!("map expected")
        };
        assert_eq!(entries[0].0.name, "name");
        assert_eq!((entries[0].1.pos.line, entries[0].1.pos.col), (1, 7));
        let NodeValue::Seq(items) = &entries[1].1.value else {
            panic!("seq expected")
        };
        let NodeValue::Map(inner) = &items[0].value else {
            panic!("map expected")
        };
        assert_eq!((inner[1].0.pos.line, inner[1].0.pos.col), (4, 5));
        assert_eq!(inner[1].1.to_json(), serde_json::json!([true, 2.5]));
    }

    #[test]
    fn quoted_numbers_stay_text_and_nulls_have_positions() {
        let n = parse(&src("a: \"12\"\nb:\nc: 0 1\n")).unwrap();
        let NodeValue::Map(e) = &n.value else {
            panic!("map expected")
        };
        assert_eq!(e[0].1.value, NodeValue::Str("12".into()));
        assert_eq!(e[1].1.value, NodeValue::Null);
        assert_eq!(e[1].1.pos.line, 2);
        assert_eq!(e[2].1.value, NodeValue::Str("0 1".into()));
    }

    #[test]
    fn syntax_error_has_location() {
        let d = parse(&src("a: [1, 2\nb: c\n")).unwrap_err();
        assert!(d.line > 0, "{d}");
        assert!(d.message.starts_with("invalid YAML"), "{d}");
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let d = parse(&src("name: a\nname: b\n")).unwrap_err();
        assert_eq!(d.line, 2, "{d}");
        assert!(
            d.help.as_deref().unwrap_or_default().contains("once"),
            "{d}"
        );
    }
}
