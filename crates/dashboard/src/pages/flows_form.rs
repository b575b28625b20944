//! The sync editor's form and the flow file it edits: the rows and selections shown for one
//! kind of a sync (read from the file), and the file text a posted form makes (the file's tree
//! with the edited parts replaced). The project's flow parser then judges that text — the form
//! offers exactly the names the parser accepts, but never decides validity itself.

use engine::flow::{MatchOn, RuleDirection, TRANSFORMS};
use serde::Serialize;

use super::flows_yaml::{self, flow, Y};

/// Transforms that need no options, offered by name in each row's select. Transforms written
/// with options (`value_map`, `normalize_phone: {default_country: GB}`) or several in a row are
/// kept as written ("keep: …").
pub fn simple_transforms() -> Vec<&'static str> {
    TRANSFORMS
        .iter()
        .copied()
        .filter(|t| *t != "value_map")
        .collect()
}

/// `direction` of one rule: the parser's names; empty keeps the default.
pub const RULE_DIRECTIONS: [&str; 3] = RuleDirection::NAMES;
/// `delete` of a sync.
pub const DELETE_POLICIES: [&str; 3] = ["propagate", "archive", "ignore"];
/// `direction` of a sync.
pub const SYNC_DIRECTIONS: [&str; 2] = ["one_way", "two_way"];

/// `conflict` of a two-way sync: `last_writer_wins`, or a source of truth whose default side
/// is chosen here (per-field sides in the file are kept).
pub const CONFLICT_POLICIES: [(&str, &str); 3] = [
    ("last_writer_wins", "last writer wins"),
    ("source", "source of truth: source (per-field sides kept)"),
    ("target", "source of truth: target (per-field sides kept)"),
];

/// One mapping rule as the form shows it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Row {
    /// `from`, `value` or `template`.
    pub source_kind: String,
    /// The field(s) read (comma-separated), the constant, or the template text.
    pub source: String,
    /// The field(s) written, comma-separated (two for `split_name`).
    pub target: String,
    /// A transform name, `keep:<yaml>` for one kept as written, or empty.
    pub transform: String,
    /// `both`, `to_target`, `to_source`, or empty for the default.
    pub direction: String,
    /// The rule's `default` as YAML flow text, or empty.
    pub default: String,
}

impl Row {
    /// The label of a kept transform (`keep:` stripped).
    pub fn kept(&self) -> Option<&str> {
        self.transform.strip_prefix("keep:")
    }
}

/// The editor's form, as posted (fields repeat once per mapping row, in order).
#[derive(Debug, Clone, Default)]
pub struct EditForm {
    pub kind: String,
    pub sync_direction: String,
    pub match_key: String,
    pub conflict: String,
    pub delete: String,
    pub rows: Vec<Row>,
    /// The YAML of an actions flow (its editor is the text itself).
    pub yaml: Option<String>,
    pub sample_source: String,
    pub sample_record: String,
}

impl EditForm {
    /// Reads `application/x-www-form-urlencoded` pairs; the row fields are zipped by position.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> EditForm {
        let mut f = EditForm::default();
        let mut cols: [Vec<String>; 6] = Default::default();
        for (k, v) in pairs {
            match k.as_str() {
                "kind" => f.kind = v,
                "sync_direction" => f.sync_direction = v,
                "match_key" => f.match_key = v,
                "conflict" => f.conflict = v,
                "delete" => f.delete = v,
                "yaml" => f.yaml = Some(v),
                "sample_source" => f.sample_source = v,
                "sample_record" => f.sample_record = v,
                "source_kind" => cols[0].push(v),
                "source" => cols[1].push(v),
                "target" => cols[2].push(v),
                "transform" => cols[3].push(v),
                "direction" => cols[4].push(v),
                "default" => cols[5].push(v),
                _ => {}
            }
        }
        let n = cols[1].len().max(cols[2].len());
        let at = |c: &Vec<String>, i: usize| c.get(i).cloned().unwrap_or_default();
        f.rows = (0..n)
            .map(|i| Row {
                source_kind: at(&cols[0], i),
                source: at(&cols[1], i),
                target: at(&cols[2], i),
                transform: at(&cols[3], i),
                direction: at(&cols[4], i),
                default: at(&cols[5], i),
            })
            .collect();
        f
    }

    /// Whether the post carries the sync form (a dry run without it uses the saved file).
    pub fn has_sync_form(&self) -> bool {
        !self.kind.is_empty()
    }
}

/// What the editor shows for one kind of a sync file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncView {
    pub source: String,
    pub target: String,
    pub kinds: Vec<String>,
    pub kind: String,
    pub sync_direction: String,
    pub match_key: String,
    pub conflict: String,
    pub delete: String,
    pub rows: Vec<Row>,
    /// The kind has no `mapping` entry: the identity mapping applies.
    pub identity: bool,
}

/// The editor's view of a sync file for `kind` (the first kind when `None` or unknown).
pub fn sync_view(doc: &Y, kind: Option<&str>) -> SyncView {
    let sync = doc.get("sync").cloned().unwrap_or(Y::Map(Vec::new()));
    let text = |k: &str| sync.get(k).map(Y::scalar_text).unwrap_or_default();
    let kinds = sync.get("kinds").map(Y::texts).unwrap_or_default();
    let kind = kind
        .filter(|k| kinds.iter().any(|x| x == k))
        .map(str::to_owned)
        .or_else(|| kinds.first().cloned())
        .unwrap_or_else(|| "contact".into());
    let rules = sync.get("mapping").and_then(|m| m.get(&kind));
    let rows = match rules {
        Some(Y::Seq(items)) => items.iter().map(row_of).collect(),
        _ => Vec::new(),
    };
    let conflict = match sync.get("conflict") {
        None => String::new(),
        Some(Y::Map(_)) => sync
            .get("conflict")
            .and_then(|c| c.get("default"))
            .map_or_else(|| "source".into(), Y::scalar_text),
        Some(other) => other.scalar_text(),
    };
    SyncView {
        source: text("source"),
        target: text("target"),
        sync_direction: text("direction"),
        match_key: sync
            .get("match")
            .and_then(|m| m.get(&kind))
            .map(|k| k.texts().join(","))
            .unwrap_or_default(),
        conflict,
        delete: text("delete"),
        identity: rules.is_none(),
        rows,
        kinds,
        kind,
    }
}

/// The view a posted form shows again (after a refused save, or for a preview).
pub fn view_of_form(doc: &Y, form: &EditForm) -> SyncView {
    let mut v = sync_view(doc, Some(&form.kind));
    v.kind = form.kind.clone();
    v.sync_direction = form.sync_direction.clone();
    v.match_key = form.match_key.clone();
    v.conflict = form.conflict.clone();
    v.delete = form.delete.clone();
    v.identity = form.rows.is_empty();
    v.rows = form.rows.clone();
    v
}

fn row_of(rule: &Y) -> Row {
    let mut row = Row::default();
    for (kind, key) in [
        ("from", "from"),
        ("value", "value"),
        ("template", "template"),
    ] {
        if let Some(v) = rule.get(key) {
            row.source_kind = kind.into();
            row.source = match (kind, v) {
                ("from", v) => v.texts().join(", "),
                ("template", v) => v.scalar_text(),
                (_, v) => flow(v),
            };
            break;
        }
    }
    row.target = rule
        .get("to")
        .map(|t| t.texts().join(", "))
        .unwrap_or_default();
    row.transform = match rule.get("transform") {
        None | Some(Y::Null) => String::new(),
        Some(Y::Str(t)) if simple_transforms().contains(&t.as_str()) => t.clone(),
        Some(other) => format!("keep:{}", flow(other)),
    };
    row.direction = rule
        .get("direction")
        .map(Y::scalar_text)
        .unwrap_or_default();
    row.default = rule.get("default").map(flow).unwrap_or_default();
    row
}

fn names(text: &str) -> Y {
    let parts: Vec<Y> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Y::s)
        .collect();
    match parts.len() {
        1 => parts.into_iter().next().unwrap_or(Y::Null),
        _ => Y::Seq(parts),
    }
}

/// One YAML value written in a form field (`12`, `true`, `[a, b]`, `ada`).
fn value_text(text: &str, field: &str, row: usize) -> Result<Y, String> {
    flows_yaml::parse(&format!("v: {}", text.trim()))
        .ok()
        .and_then(|d| d.get("v").cloned())
        .ok_or_else(|| {
            format!(
                "mapping row {row}: {field} `{text}` is not a YAML value; quote text with \"…\""
            )
        })
}

/// The rule a row writes; `None` for a row left empty (no source and no target).
pub fn rule_of(row: &Row, n: usize) -> Result<Option<Y>, String> {
    if row.source.trim().is_empty() && row.target.trim().is_empty() {
        return Ok(None);
    }
    let mut m = vec![(Y::s("to"), names(&row.target))];
    match row.source_kind.as_str() {
        "value" => m.push((Y::s("value"), value_text(&row.source, "value", n)?)),
        "template" => m.push((Y::s("template"), Y::s(row.source.as_str()))),
        _ => m.push((Y::s("from"), names(&row.source))),
    }
    if let Some(kept) = row.kept() {
        m.push((Y::s("transform"), value_text(kept, "transform", n)?));
    } else if !row.transform.is_empty() {
        m.push((Y::s("transform"), Y::s(row.transform.as_str())));
    }
    if !row.default.trim().is_empty() {
        m.push((Y::s("default"), value_text(&row.default, "default", n)?));
    }
    if !row.direction.is_empty() {
        m.push((Y::s("direction"), Y::s(row.direction.as_str())));
    }
    Ok(Some(Y::Map(m)))
}

/// Sets `parent.key.sub` (creating `key` as a map), or removes `sub` (and `key` once empty).
fn set_nested(parent: &mut Y, key: &str, sub: &str, value: Option<Y>) {
    if parent.get(key).is_none() {
        if value.is_none() {
            return;
        }
        parent.set(key, Some(Y::Map(Vec::new())));
    }
    if let Some(m) = parent.get_mut(key) {
        m.set(sub, value);
        if matches!(m, Y::Map(e) if e.is_empty()) {
            parent.set(key, None);
        }
    }
}

/// The flow file a posted sync form makes from the file's tree. Errors name the row or field.
pub fn apply(doc: &Y, form: &EditForm) -> Result<String, String> {
    let mut doc = doc.clone();
    let Some(sync) = doc.get_mut("sync") else {
        return Err("this flow has no `sync:` section; edit its YAML instead".into());
    };
    if form.kind.is_empty() {
        return Err("kind: choose which kind's mapping to edit".into());
    }
    let opt = |s: &str| (!s.is_empty()).then(|| Y::s(s));
    sync.set("direction", opt(&form.sync_direction));
    let keys: Vec<Y> = form
        .match_key
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Y::s)
        .collect();
    let keys = (!keys.is_empty()).then_some(Y::Seq(keys));
    set_nested(sync, "match", &form.kind, keys);
    let conflict = match form.conflict.as_str() {
        "" => None,
        "source" | "target" => {
            let mut c = match sync.get("conflict") {
                Some(c @ Y::Map(_)) => c.clone(),
                _ => Y::Map(Vec::new()),
            };
            c.set("default", opt(&form.conflict));
            Some(c)
        }
        other => opt(other),
    };
    sync.set("conflict", conflict);
    sync.set("delete", opt(&form.delete));
    let mut rules = Vec::new();
    for (i, row) in form.rows.iter().enumerate() {
        if let Some(rule) = rule_of(row, i + 1)? {
            rules.push(rule);
        }
    }
    let rules = (!rules.is_empty()).then_some(Y::Seq(rules));
    set_nested(sync, "mapping", &form.kind, rules);
    Ok(flows_yaml::emit(&doc))
}

/// Match-key choices for a kind: each valid key alone and each ordered pair (contacts), plus
/// the current value when it is longer; `""` is the default (`email, external_id` for
/// contacts, `external_id` otherwise).
pub fn match_choices(kind: &str, current: &str) -> Vec<String> {
    let valid: Vec<&str> = connectors::EntityKind::parse(kind)
        .map(|k| MatchOn::valid_for(k).iter().map(|m| m.as_str()).collect())
        .unwrap_or_else(|| vec!["external_id"]);
    let mut out: Vec<String> = valid.iter().map(|k| k.to_string()).collect();
    for a in &valid {
        for b in &valid {
            if a != b {
                out.push(format!("{a},{b}"));
            }
        }
    }
    if !current.is_empty() && !out.iter().any(|c| c == current) {
        out.push(current.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLOW: &str = "name: t
sync:
  source: ghl
  target: crm
  kinds: [contact, task]
  conflict:
    default: source
    source_of_truth: {phone: target}
  mapping:
    contact:
      - {to: email, from: email, transform: normalize_email}
      - {to: phone, from: phone, transform: {normalize_phone: {default_country: GB}}}
      - {to: source, value: ghl-bridge}
    task:
      - {to: title, from: title}
";

    #[test]
    fn a_form_round_trips_and_keeps_what_it_does_not_show() {
        let doc = flows_yaml::parse(FLOW).unwrap();
        let v = sync_view(&doc, None);
        assert_eq!(v.kind, "contact");
        assert_eq!(v.conflict, "source");
        assert_eq!(v.rows.len(), 3);
        assert_eq!(
            v.rows[1].kept(),
            Some("{normalize_phone: {default_country: GB}}")
        );
        let mut form = EditForm {
            kind: "contact".into(),
            conflict: "target".into(),
            delete: "archive".into(),
            match_key: "email,phone".into(),
            rows: v.rows.clone(),
            ..EditForm::default()
        };
        form.rows[0].transform = "trim".into();
        let text = apply(&doc, &form).unwrap();
        let again = flows_yaml::parse(&text).unwrap();
        let v2 = sync_view(&again, Some("contact"));
        assert_eq!(v2.rows[0].transform, "trim");
        assert_eq!(v2.rows[1], v.rows[1]);
        assert_eq!(v2.rows[2].source, "ghl-bridge");
        assert_eq!(v2.match_key, "email,phone");
        assert_eq!(v2.delete, "archive");
        assert!(text.contains("source_of_truth: {phone: target}"), "{text}");
        assert!(text.contains("default: target"), "{text}");
        assert_eq!(sync_view(&again, Some("task")).rows.len(), 1);
    }

    #[test]
    fn empty_rows_are_dropped_and_no_rows_means_identity() {
        let doc = flows_yaml::parse(FLOW).unwrap();
        let form = EditForm {
            kind: "task".into(),
            rows: vec![Row::default()],
            ..EditForm::default()
        };
        let text = apply(&doc, &form).unwrap();
        let again = flows_yaml::parse(&text).unwrap();
        assert!(sync_view(&again, Some("task")).identity);
        assert!(!sync_view(&again, Some("contact")).identity);
    }

    #[test]
    fn pairs_are_zipped_into_rows() {
        let pairs = [
            ("kind", "contact"),
            ("source_kind", "from"),
            ("source", "a"),
            ("target", "b"),
            ("transform", ""),
            ("direction", ""),
            ("default", ""),
            ("source_kind", "from"),
            ("source", "c"),
            ("target", "d"),
            ("transform", "trim"),
            ("direction", "to_target"),
            ("default", ""),
        ];
        let f = EditForm::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        assert_eq!(f.rows.len(), 2);
        assert_eq!(f.rows[1].transform, "trim");
        assert_eq!(f.rows[1].direction, "to_target");
    }
}
