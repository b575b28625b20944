//! Helpers that walk the YAML node tree and record every problem instead of stopping at the first.
//!
//! Each decoder returns `Option<T>`: `None` means "a problem was recorded here", so callers keep
//! going and the user sees all the mistakes in a file at once.

use super::diag::{allowed_help, Diagnostic, Source};
use super::yaml::{Key, Node, NodeValue, Pos};

/// The file being decoded and the problems found so far.
pub(crate) struct Ctx<'s> {
    pub src: &'s Source,
    pub diags: Vec<Diagnostic>,
}

impl<'s> Ctx<'s> {
    /// Starts decoding `src` with no problems found yet.
    pub fn new(src: &'s Source) -> Self {
        Self {
            src,
            diags: Vec::new(),
        }
    }

    /// Records a problem.
    pub fn error(
        &mut self,
        pos: Pos,
        path: &str,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        self.diags
            .push(Diagnostic::new(self.src, pos, path, message).with_help_opt(help));
    }

    /// Records "expected X, found Y".
    pub fn wrong_type(&mut self, node: &Node, path: &str, expected: &str) {
        let help = match (&node.value, expected) {
            (NodeValue::Int(_) | NodeValue::Float(_) | NodeValue::Bool(_), "text") => {
                Some("put the value in quotes to make it text".to_string())
            }
            (NodeValue::Str(s), "true or false") => Some(format!(
                "write `true` or `false` without quotes (found `{s}`)"
            )),
            (NodeValue::Null, _) => Some("the value is empty; write one after the colon".into()),
            _ => None,
        };
        self.error(
            node.pos,
            path,
            format!("expected {expected}, found {}", node.describe()),
            help,
        );
    }

    /// A map whose keys must come from `allowed`; unknown keys are reported with suggestions.
    pub fn map<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        what: &str,
        allowed: &[&str],
    ) -> Option<MapView<'n>> {
        let NodeValue::Map(entries) = &node.value else {
            self.wrong_type(node, path, &format!("a map ({what})"));
            return None;
        };
        for (key, _) in entries {
            if !allowed.contains(&key.name.as_str()) {
                self.error(
                    key.pos,
                    &join(path, &key.name),
                    format!("unknown key `{}` in {what}", key.name),
                    Some(allowed_help(&key.name, allowed)),
                );
            }
        }
        Some(MapView {
            pos: node.pos,
            entries,
            path: path.to_owned(),
        })
    }

    /// A map with free-form keys (settings, per-kind sections).
    pub fn any_map<'n>(&mut self, node: &'n Node, path: &str, what: &str) -> Option<MapView<'n>> {
        let NodeValue::Map(entries) = &node.value else {
            self.wrong_type(node, path, &format!("a map ({what})"));
            return None;
        };
        Some(MapView {
            pos: node.pos,
            entries,
            path: path.to_owned(),
        })
    }

    /// A list.
    pub fn list<'n>(&mut self, node: &'n Node, path: &str, what: &str) -> Option<&'n [Node]> {
        match &node.value {
            NodeValue::Seq(items) => Some(items),
            NodeValue::Str(s) => {
                let help = format!("write a list, even of one item: `[{s}]`");
                let found = node.describe();
                self.error(
                    node.pos,
                    path,
                    format!("expected a list ({what}), found {found}"),
                    Some(help),
                );
                None
            }
            _ => {
                self.wrong_type(node, path, &format!("a list ({what})"));
                None
            }
        }
    }

    /// Text.
    pub fn text(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            NodeValue::Str(s) => Some(s.clone()),
            _ => {
                self.wrong_type(node, path, "text");
                None
            }
        }
    }

    /// Non-empty text.
    pub fn nonempty_text(&mut self, node: &Node, path: &str) -> Option<String> {
        let s = self.text(node, path)?;
        if s.trim().is_empty() {
            self.error(node.pos, path, "this must not be empty", None);
            return None;
        }
        Some(s)
    }

    /// `true` or `false`.
    pub fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        match &node.value {
            NodeValue::Bool(b) => Some(*b),
            _ => {
                self.wrong_type(node, path, "true or false");
                None
            }
        }
    }

    /// One of a fixed set of words; `what` names the set ("transform", "delete policy").
    pub fn choice<'a>(
        &mut self,
        node: &Node,
        path: &str,
        what: &str,
        allowed: &[&'a str],
    ) -> Option<&'a str> {
        let s = match &node.value {
            NodeValue::Str(s) => s,
            _ => {
                let expected = format!("a {what} ({})", allowed.join(" | "));
                self.wrong_type(node, path, &expected);
                return None;
            }
        };
        if let Some(hit) = allowed.iter().find(|a| **a == s) {
            return Some(hit);
        }
        self.error(
            node.pos,
            path,
            format!("unknown {what} `{s}`"),
            Some(allowed_help(s, allowed)),
        );
        None
    }
}

/// A decoded map: look keys up, require them, build child paths.
pub(crate) struct MapView<'n> {
    pub pos: Pos,
    pub entries: &'n [(Key, Node)],
    pub path: String,
}

impl<'n> MapView<'n> {
    /// The value under `key`, if written.
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }

    /// Whether `key` is written.
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The value under `key`, or a "missing key" problem.
    pub fn require(&self, ctx: &mut Ctx<'_>, key: &str, what: &str) -> Option<&'n Node> {
        let found = self.get(key);
        if found.is_none() {
            let pos = Pos { len: 0, ..self.pos };
            ctx.error(
                pos,
                &self.path,
                format!("missing key `{key}` in {what}"),
                None,
            );
        }
        found
    }

    /// The field path of a child key.
    pub fn at(&self, key: &str) -> String {
        join(&self.path, key)
    }
}

/// `parent.key`, or `key` at the root.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// `parent[i]`.
pub(crate) fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}
