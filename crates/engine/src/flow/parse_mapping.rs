//! Decoding mapping rules and transforms, with the checks that make a mapping safe to run:
//! known field names, one value source per rule, value counts that fit through the transforms,
//! and directions that can actually run backwards.

use chrono::{Offset, Utc};
use connectors::EntityKind;
use serde_json::Value;

use super::decode::{index, Ctx, MapView};
use super::diag::allowed_help;
use super::mapping::{Mapping, Rule, RuleDirection, RuleSource};
use super::model::{canonical_fields, is_known_field};
use super::phone::countries;
use super::template::Template;
use super::transform::{DateOptions, Transform, TRANSFORMS};
use super::values::{parse_offset, valid_format};
use super::yaml::{Node, NodeValue};

const RULE_KEYS: [&str; 7] = [
    "to",
    "from",
    "value",
    "template",
    "transform",
    "default",
    "direction",
];

/// Decodes the rule list of one kind. `two_way` allows rules that run target → source.
pub(crate) fn decode_mapping(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    kind: EntityKind,
    two_way: bool,
) -> Option<Mapping> {
    let items = ctx.list(node, path, "mapping rules")?;
    let rules: Vec<Option<Rule>> = items
        .iter()
        .enumerate()
        .map(|(i, n)| decode_rule(ctx, n, &index(path, i), kind, two_way))
        .collect();
    let rules: Option<Vec<Rule>> = rules.into_iter().collect();
    Some(Mapping::new(kind, rules?))
}

/// One field name or a list of them, each a field records of `kind` can carry.
fn field_names(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    kind: EntityKind,
) -> Option<Vec<String>> {
    let nodes: Vec<(&Node, String)> = match &node.value {
        NodeValue::Seq(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, n)| (n, index(path, i)))
            .collect(),
        NodeValue::Seq(_) => {
            ctx.error(node.pos, path, "the list of fields is empty", None);
            return None;
        }
        _ => vec![(node, path.to_owned())],
    };
    let mut names = Vec::new();
    let mut ok = true;
    for (n, p) in nodes {
        match ctx.nonempty_text(n, &p) {
            Some(name) if is_known_field(kind, &name) => names.push(name),
            Some(name) => {
                ok = false;
                unknown_field(ctx, n, &p, kind, &name);
            }
            None => ok = false,
        }
    }
    ok.then_some(names)
}

pub(crate) fn unknown_field(ctx: &mut Ctx<'_>, n: &Node, path: &str, kind: EntityKind, name: &str) {
    ctx.error(
        n.pos,
        path,
        format!("unknown field `{name}` for a {kind}"),
        Some(format!(
            "{}; custom fields are written `custom.<Field Name>`",
            allowed_help(name, canonical_fields(kind))
        )),
    );
}

fn decode_rule(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    kind: EntityKind,
    two_way: bool,
) -> Option<Rule> {
    let m = ctx.map(node, path, "a mapping rule", &RULE_KEYS)?;
    let to = m
        .require(ctx, "to", "a mapping rule")
        .and_then(|n| field_names(ctx, n, &m.at("to"), kind));
    let source = decode_source(ctx, &m, kind);
    let transforms = match m.get("transform") {
        Some(n) => decode_transforms(ctx, n, &m.at("transform")),
        None => Some(Vec::new()),
    };
    let default = m.get("default").and_then(|n| match n.value {
        NodeValue::Seq(_) | NodeValue::Map(_) => {
            ctx.wrong_type(n, &m.at("default"), "a single value");
            None
        }
        _ => Some(n.to_json()),
    });
    let direction = direction(ctx, &m, &source, two_way);
    let (to, source, transforms, direction) = (to?, source?, transforms?, direction?);
    if default.is_some() && to.len() > 1 {
        let n = m.get("default").unwrap_or(node);
        ctx.error(
            n.pos,
            &m.at("default"),
            "`default` needs a single `to` field",
            None,
        );
    }
    check_arity(ctx, &m, node, &to, &source, &transforms, direction);
    Some(Rule {
        to,
        source,
        transforms,
        default,
        direction,
    })
}

fn decode_source(ctx: &mut Ctx<'_>, m: &MapView<'_>, kind: EntityKind) -> Option<RuleSource> {
    let given: Vec<&str> = ["from", "value", "template"]
        .into_iter()
        .filter(|k| m.has(k))
        .collect();
    match given.as_slice() {
        [] => {
            ctx.error(
                m.pos,
                &m.path,
                "a mapping rule needs `from`, `value` or `template`",
                Some("`from: <source field>` copies a field, `value:` writes a constant, `template:` builds text".into()),
            );
            None
        }
        [_, second, ..] => {
            let n = m.get(second)?;
            ctx.error(
                n.pos,
                &m.at(second),
                format!("a mapping rule has one of `from`, `value`, `template`; found `{}` and `{second}`", given[0]),
                None,
            );
            None
        }
        ["from"] => {
            let n = m.get("from")?;
            field_names(ctx, n, &m.at("from"), kind).map(RuleSource::Field)
        }
        ["value"] => m.get("value").map(|n| RuleSource::Value(n.to_json())),
        _ => {
            let n = m.get("template")?;
            template(ctx, n, &m.at("template")).map(RuleSource::Template)
        }
    }
}

/// A template string that compiles.
pub(crate) fn template(ctx: &mut Ctx<'_>, n: &Node, path: &str) -> Option<Template> {
    let text = ctx.text(n, path)?;
    match Template::compile(&text) {
        Ok(t) => Some(t),
        Err(e) => {
            ctx.error(
                n.pos,
                path,
                format!("invalid template: {e}"),
                Some("templates use `{{ field_name }}`; filters must exist (e.g. `| upper`, `| lower`, `| trim`)".into()),
            );
            None
        }
    }
}

fn direction(
    ctx: &mut Ctx<'_>,
    m: &MapView<'_>,
    source: &Option<RuleSource>,
    two_way: bool,
) -> Option<RuleDirection> {
    let computed = matches!(source, Some(RuleSource::Value(_) | RuleSource::Template(_)));
    let Some(n) = m.get("direction") else {
        return Some(if computed || !two_way {
            RuleDirection::ToTarget
        } else {
            RuleDirection::Both
        });
    };
    let p = m.at("direction");
    let d = match ctx.choice(n, &p, "direction", &RuleDirection::NAMES)? {
        "both" => RuleDirection::Both,
        "to_target" => RuleDirection::ToTarget,
        _ => RuleDirection::ToSource,
    };
    if d != RuleDirection::ToTarget && !two_way {
        ctx.error(
            n.pos,
            &p,
            format!(
                "direction `{}` needs a two_way sync; this mapping only runs source → target",
                RuleDirection::NAMES[d as usize]
            ),
            Some("remove `direction`, or set `direction: two_way` on the sync".into()),
        );
        return None;
    }
    if d != RuleDirection::ToTarget && computed {
        ctx.error(
            n.pos,
            &p,
            "`value` and `template` rules cannot run backwards (to the source)",
            Some("use `direction: to_target`, or map a field with `from`".into()),
        );
        return None;
    }
    Some(d)
}

fn check_arity(
    ctx: &mut Ctx<'_>,
    m: &MapView<'_>,
    node: &Node,
    to: &[String],
    source: &RuleSource,
    transforms: &[Transform],
    direction: RuleDirection,
) {
    let at = |key: &str| m.get(key).map_or(node.pos, |n| n.pos);
    let mut count = match source {
        RuleSource::Field(from) => from.len(),
        _ => 1,
    };
    for (i, t) in transforms.iter().enumerate() {
        let fits = t.inputs().map_or(count >= 1, |n| n == count);
        if !fits {
            let help = if count > 1 {
                "combine several fields with `join_name` first".to_string()
            } else {
                format!("`{}` takes one value", t.name())
            };
            ctx.error(
                at("transform"),
                &m.at("transform"),
                format!("transform #{} `{}` gets {count} values", i + 1, t.name()),
                Some(help),
            );
            return;
        }
        if matches!(t, Transform::JoinName { .. })
            && direction != RuleDirection::ToTarget
            && count != 2
        {
            ctx.error(
                at("transform"),
                &m.at("transform"),
                format!("`join_name` of {count} fields cannot run backwards (it splits into first and last name)"),
                Some("join exactly two fields, or add `direction: to_target`".into()),
            );
            return;
        }
        count = t.outputs();
    }
    if count != to.len() {
        let help = match (count, transforms.last()) {
            (2, Some(Transform::SplitName)) => {
                "split_name writes two fields: `to: [first_name, last_name]`".to_string()
            }
            (n, _) if n > 1 => {
                "add `transform: join_name` to combine the source fields into one".to_string()
            }
            _ => "name one `to` field, or split the value with `transform: split_name`".to_string(),
        };
        ctx.error(
            at("to"),
            &m.at("to"),
            format!(
                "this rule makes {count} value(s) but `to` names {} field(s)",
                to.len()
            ),
            Some(help),
        );
    }
}

fn decode_transforms(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> Option<Vec<Transform>> {
    match &node.value {
        NodeValue::Seq(items) => {
            let all: Vec<Option<Transform>> = items
                .iter()
                .enumerate()
                .map(|(i, n)| decode_transform(ctx, n, &index(path, i)))
                .collect();
            all.into_iter().collect()
        }
        _ => decode_transform(ctx, node, path).map(|t| vec![t]),
    }
}

fn decode_transform(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> Option<Transform> {
    match &node.value {
        NodeValue::Str(_) => decode_named(ctx, node, None, path),
        NodeValue::Map(entries) if entries.len() == 1 => {
            let (k, v) = &entries[0];
            let key_node = Node {
                value: NodeValue::Str(k.name.clone()),
                pos: k.pos,
            };
            decode_named(ctx, &key_node, Some(v), path)
        }
        _ => {
            ctx.wrong_type(
                node,
                path,
                "a transform name, `{name: {options}}`, or a list of them",
            );
            None
        }
    }
}

fn decode_named(
    ctx: &mut Ctx<'_>,
    name_node: &Node,
    options: Option<&Node>,
    path: &str,
) -> Option<Transform> {
    let name = ctx.choice(name_node, path, "transform", &TRANSFORMS)?;
    let opts_path = format!("{path}.{name}");
    let options = options.filter(|n| n.value != NodeValue::Null);
    let empty = Node {
        value: NodeValue::Map(Vec::new()),
        pos: name_node.pos,
    };
    let opts = options.unwrap_or(&empty);
    let keys: &[&str] = match name {
        "join_name" => &["separator"],
        "normalize_phone" => &["default_country"],
        "date" => &["format", "day_first", "timezone"],
        "value_map" => &["map", "default"],
        _ => &[],
    };
    let what = format!("the options of `{name}`");
    let m = ctx.map(opts, &opts_path, &what, keys)?;
    let text = |ctx: &mut Ctx<'_>, key: &str| m.get(key).and_then(|n| ctx.text(n, &m.at(key)));
    Some(match name {
        "split_name" => Transform::SplitName,
        "lowercase" => Transform::Lowercase,
        "uppercase" => Transform::Uppercase,
        "trim" => Transform::Trim,
        "normalize_email" => Transform::NormalizeEmail,
        "join_name" => Transform::JoinName {
            separator: text(ctx, "separator").unwrap_or_else(|| " ".into()),
        },
        "normalize_phone" => {
            let country = text(ctx, "default_country").unwrap_or_else(|| "US".into());
            if !countries().any(|c| c.eq_ignore_ascii_case(&country)) {
                let n = m.get("default_country").unwrap_or(name_node);
                let known: Vec<&str> = countries().collect();
                let help = if country.eq_ignore_ascii_case("uk") {
                    "the ISO code of the United Kingdom is GB".to_string()
                } else {
                    allowed_help(&country, &known)
                };
                ctx.error(
                    n.pos,
                    &m.at("default_country"),
                    format!("unknown country `{country}`"),
                    Some(help),
                );
                return None;
            }
            Transform::NormalizePhone {
                default_country: country.to_uppercase(),
            }
        }
        "date" => date_options(ctx, &m)?,
        _ => value_map(ctx, &m, options.is_some())?,
    })
}

fn date_options(ctx: &mut Ctx<'_>, m: &MapView<'_>) -> Option<Transform> {
    let format = match m.get("format") {
        Some(n) => {
            let f = ctx.text(n, &m.at("format"))?;
            if !valid_format(&f) {
                ctx.error(
                    n.pos,
                    &m.at("format"),
                    format!("invalid date format `{f}`"),
                    Some(
                        "use chrono strftime codes, e.g. \"%Y-%m-%d\" or \"%m/%d/%Y %H:%M\"".into(),
                    ),
                );
                return None;
            }
            Some(f)
        }
        None => None,
    };
    let day_first = match m.get("day_first") {
        Some(n) => ctx.boolean(n, &m.at("day_first"))?,
        None => false,
    };
    let timezone = match m.get("timezone") {
        Some(n) => {
            let s = ctx.text(n, &m.at("timezone"))?;
            let Some(tz) = parse_offset(&s) else {
                ctx.error(
                    n.pos,
                    &m.at("timezone"),
                    format!("invalid timezone `{s}`"),
                    Some("write `UTC` or a fixed offset like \"+02:00\"".into()),
                );
                return None;
            };
            tz
        }
        None => Utc.fix(),
    };
    Some(Transform::Date(DateOptions {
        format,
        day_first,
        timezone,
    }))
}

fn value_map(ctx: &mut Ctx<'_>, m: &MapView<'_>, has_options: bool) -> Option<Transform> {
    if !has_options {
        ctx.error(m.pos, &m.path, "`value_map` needs its values", Some("write `transform: {value_map: {map: {open: todo, done: completed}, default: todo}}`".into()));
        return None;
    }
    let map_node = m.require(ctx, "map", "the options of `value_map`")?;
    let entries = ctx.any_map(map_node, &m.at("map"), "source value → target value")?;
    let mut map: Vec<(Value, Value)> = Vec::new();
    for (k, v) in entries.entries {
        if matches!(v.value, NodeValue::Seq(_) | NodeValue::Map(_)) {
            ctx.wrong_type(v, &entries.at(&k.name), "a single value");
            continue;
        }
        map.push((k.value.clone(), v.to_json()));
    }
    let default = m.get("default").map(Node::to_json);
    Some(Transform::ValueMap { map, default })
}
