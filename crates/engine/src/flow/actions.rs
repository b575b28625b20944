//! Decoding the `actions:` list of a flow, checking each step against the trigger and the
//! project's connections.

use std::collections::BTreeMap;

use connectors::EntityKind;

use super::decode::{index, Ctx, MapView};
use super::mapping::Mapping;
use super::model::{
    canonical_fields, is_known_field, Action, FieldValue, MatchOn, Offset, RelatedItem, Trigger,
};
use super::parse_flow::{check_connection, kinds_list, parse_duration, Connections};
use super::parse_mapping::{decode_mapping, template, unknown_field};
use super::template::Template;
use super::yaml::{Node, NodeValue};

const ACTIONS: [&str; 10] = [
    "upsert",
    "create_related",
    "update",
    "complete_task",
    "add_tags",
    "remove_tags",
    "add_note",
    "fetch_related",
    "call",
    "report",
];

/// What the actions know about the record that started the flow. When the trigger itself
/// was invalid, `known` is false and what could be read from it leniently is kept, so the
/// actions are still checked without repeating the trigger's problem as theirs.
pub(crate) struct Start {
    pub connection: Option<String>,
    pub kind: Option<EntityKind>,
    pub known: bool,
}

impl Start {
    /// From a decoded trigger.
    pub fn of(trigger: &Trigger) -> Self {
        match trigger {
            Trigger::Event {
                connection, kind, ..
            } => Self {
                connection: Some(connection.clone()),
                kind: Some(*kind),
                known: true,
            },
            _ => Self {
                connection: None,
                kind: None,
                known: true,
            },
        }
    }
}

pub(crate) fn decode_actions(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    conns: &Connections,
    start: &Start,
) -> Option<Vec<Action>> {
    let items = ctx.list(node, path, "actions")?;
    if items.is_empty() {
        ctx.error(node.pos, path, "the list of actions is empty", None);
    }
    let all: Vec<Option<Action>> = items
        .iter()
        .enumerate()
        .map(|(i, n)| decode_action(ctx, n, &index(path, i), conns, start))
        .collect();
    all.into_iter().collect()
}

fn decode_action(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    conns: &Connections,
    start: &Start,
) -> Option<Action> {
    let NodeValue::Map(entries) = &node.value else {
        ctx.wrong_type(
            node,
            path,
            &format!(
                "an action map such as `upsert: {{…}}` (actions: {})",
                ACTIONS.join(", ")
            ),
        );
        return None;
    };
    let [(key, body)] = entries.as_slice() else {
        ctx.error(
            node.pos,
            path,
            "each action is a map with exactly one key, the action's name",
            Some("start each action with its own `- `".into()),
        );
        return None;
    };
    let key_node = Node {
        value: NodeValue::Str(key.name.clone()),
        pos: key.pos,
    };
    let name = ctx.choice(&key_node, path, "action", &ACTIONS)?;
    let p = format!("{path}.{name}");
    let shorthand = match (name, &body.value) {
        ("add_tags" | "remove_tags", NodeValue::Seq(_)) => Some("tags"),
        ("add_note", NodeValue::Str(_)) => Some("body"),
        _ => None,
    };
    let wrapped;
    let body = if let Some(field) = shorthand {
        wrapped = Node {
            value: NodeValue::Map(vec![(
                super::yaml::Key {
                    name: field.into(),
                    pos: body.pos,
                    value: serde_json::Value::String(field.into()),
                },
                body.clone(),
            )]),
            pos: body.pos,
        };
        &wrapped
    } else {
        body
    };
    let keys: &[&str] = match name {
        "upsert" => &["connection", "kind", "match", "mapping"],
        "create_related" => &["connection", "kind", "items"],
        "update" => &["connection", "set"],
        "complete_task" => &["connection", "title"],
        "add_tags" | "remove_tags" => &["connection", "tags"],
        "add_note" => &["connection", "body"],
        "call" => &super::parse_call::CALL_KEYS,
        "report" => &super::parse_report::REPORT_KEYS,
        _ => &["connection", "kind", "as"],
    };
    let m = ctx.map(body, &p, &format!("`{name}`"), keys)?;
    if name == "report" {
        // Reads every connection: it has none of its own.
        return super::parse_report::report(ctx, &m, start);
    }
    let connection = if name == "upsert" {
        m.require(ctx, "connection", "`upsert`").and_then(|n| {
            let c = ctx.text(n, &m.at("connection"))?;
            check_connection(ctx, n, &m.at("connection"), &c, conns)?;
            Some(c)
        })
    } else {
        action_connection(ctx, &m, name, conns, start)
    };
    match name {
        "upsert" => upsert(ctx, &m, conns, start, connection),
        "create_related" => create_related(ctx, &m, conns, start, connection),
        "update" => {
            let kind = needs_kind(ctx, &m, name, start);
            let set = m
                .require(ctx, "set", "`update`")
                .and_then(|n| field_values(ctx, n, &m.at("set"), kind));
            Some(Action::Update {
                connection: connection?,
                kind: kind?,
                set: set?,
            })
        }
        "complete_task" => {
            let title = match m.get("title") {
                Some(n) => Some(template(ctx, n, &m.at("title"))?),
                None => None,
            };
            if title.is_none() && start.known && start.kind != Some(EntityKind::Task) {
                ctx.error(m.pos, &p, "`complete_task` needs `title` unless the trigger is a task event", Some("e.g. `complete_task: {title: \"Welcome call\"}` completes the contact's open tasks with that title".into()));
                return None;
            }
            Some(Action::CompleteTask {
                connection: connection?,
                title,
            })
        }
        "add_tags" | "remove_tags" => {
            let on = on_contact(ctx, &m, name, start);
            let tags = m
                .require(ctx, "tags", &format!("`{name}`"))
                .and_then(|n| templates(ctx, n, &m.at("tags")));
            let (connection, tags, _) = (connection?, tags?, on?);
            Some(if name == "add_tags" {
                Action::AddTags { connection, tags }
            } else {
                Action::RemoveTags { connection, tags }
            })
        }
        "add_note" => {
            let on = on_contact(ctx, &m, name, start);
            let body = m
                .require(ctx, "body", "`add_note`")
                .and_then(|n| template(ctx, n, &m.at("body")));
            on?;
            Some(Action::AddNote {
                connection: connection?,
                body: body?,
            })
        }
        "call" => super::parse_call::call(ctx, &m, conns, connection),
        _ => fetch_related(ctx, &m, conns, connection),
    }
}

/// `connection:` when given (it must exist), else the trigger's.
fn action_connection(
    ctx: &mut Ctx<'_>,
    m: &MapView<'_>,
    name: &str,
    conns: &Connections,
    start: &Start,
) -> Option<String> {
    if let Some(n) = m.get("connection") {
        let c = ctx.text(n, &m.at("connection"))?;
        check_connection(ctx, n, &m.at("connection"), &c, conns)?;
        return Some(c);
    }
    if start.connection.is_none() && start.known {
        ctx.error(
            m.pos,
            &m.path,
            format!("`{name}` needs `connection:` because the trigger is not an app event"),
            None,
        );
    }
    start.connection.clone()
}

fn needs_kind(ctx: &mut Ctx<'_>, m: &MapView<'_>, name: &str, start: &Start) -> Option<EntityKind> {
    if start.kind.is_none() && start.known {
        ctx.error(
            m.pos,
            &m.path,
            format!("`{name}` acts on the triggering record, but the trigger is not an app event"),
            None,
        );
    }
    start.kind
}

fn on_contact(ctx: &mut Ctx<'_>, m: &MapView<'_>, name: &str, start: &Start) -> Option<()> {
    match start.kind {
        Some(k) if k == EntityKind::Contact || k.has_parent() => Some(()),
        Some(k) => {
            ctx.error(
                m.pos,
                &m.path,
                format!("`{name}` works on contacts, but the trigger is a {k} event"),
                None,
            );
            None
        }
        None if !start.known => None,
        None => {
            ctx.error(
                m.pos,
                &m.path,
                format!(
                    "`{name}` works on the triggering contact, but the trigger is not an app event"
                ),
                None,
            );
            None
        }
    }
}

const ALL_KINDS: [&str; 6] = ["contact", "task", "note", "appointment", "tag", "business"];

/// The action's `kind:`, supported by its connection's app.
fn kind_of(
    ctx: &mut Ctx<'_>,
    m: &MapView<'_>,
    name: &str,
    conns: &Connections,
    connection: Option<&str>,
    allowed: &[&str],
) -> Option<EntityKind> {
    let n = m.require(ctx, "kind", &format!("`{name}`"))?;
    let kind = EntityKind::parse(ctx.choice(n, &m.at("kind"), "kind", allowed)?)?;
    supported(ctx, n, &m.at("kind"), conns, connection, kind)
}

fn supported(
    ctx: &mut Ctx<'_>,
    n: &Node,
    path: &str,
    conns: &Connections,
    connection: Option<&str>,
    kind: EntityKind,
) -> Option<EntityKind> {
    let Some(app) = connection.and_then(|c| conns.get(c)) else {
        return Some(kind);
    };
    if !app.kinds().contains(&kind) {
        let c = connection.unwrap_or_default();
        ctx.error(
            n.pos,
            path,
            format!("{app} (connection `{c}`) has no {kind} records"),
            Some(format!("{app} supports: {}", kinds_list(*app))),
        );
        return None;
    }
    Some(kind)
}

fn upsert(
    ctx: &mut Ctx<'_>,
    m: &MapView<'_>,
    conns: &Connections,
    start: &Start,
    connection: Option<String>,
) -> Option<Action> {
    let kind = match (m.get("kind"), start.kind) {
        (None, Some(k)) => {
            let fallback = Node {
                value: NodeValue::Null,
                pos: m.pos,
            };
            let at = m.get("connection").unwrap_or(&fallback);
            supported(
                ctx,
                at,
                &m.at("connection"),
                conns,
                connection.as_deref(),
                k,
            )
        }
        (None, None) if !start.known => None,
        _ => kind_of(ctx, m, "upsert", conns, connection.as_deref(), &ALL_KINDS),
    };
    let match_on = kind.and_then(|k| match m.get("match") {
        Some(n) => match_keys(ctx, n, &m.at("match"), k),
        None => Some(MatchOn::default_for(k)),
    });
    let mapping = kind.and_then(|k| match m.get("mapping") {
        Some(n) => decode_mapping(ctx, n, &m.at("mapping"), k, false),
        None => Some(Mapping::identity(k)),
    });
    Some(Action::Upsert {
        connection: connection?,
        kind: kind?,
        match_on: match_on?,
        mapping: mapping?,
    })
}

/// A list of match keys valid for `kind`.
pub(crate) fn match_keys(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    kind: EntityKind,
) -> Option<Vec<MatchOn>> {
    let items = ctx.list(node, path, "match keys")?;
    let valid = MatchOn::valid_for(kind);
    let names: Vec<&str> = valid.iter().map(|k| k.as_str()).collect();
    let mut keys = Vec::new();
    for (i, n) in items.iter().enumerate() {
        let p = index(path, i);
        let Some(name) = ctx.choice(n, &p, "match key", &MatchOn::NAMES) else {
            continue;
        };
        match MatchOn::parse(name) {
            Some(k) if valid.contains(&k) => keys.push(k),
            _ => ctx.error(
                n.pos,
                &p,
                format!("`{name}` cannot match a {kind}"),
                Some(format!("a {kind} matches on: {}", names.join(", "))),
            ),
        }
    }
    if items.is_empty() {
        ctx.error(
            node.pos,
            path,
            "the list of match keys is empty",
            Some(format!("a {kind} matches on: {}", names.join(", "))),
        );
    }
    (keys.len() == items.len() && !keys.is_empty()).then_some(keys)
}

fn create_related(
    ctx: &mut Ctx<'_>,
    m: &MapView<'_>,
    conns: &Connections,
    start: &Start,
    connection: Option<String>,
) -> Option<Action> {
    let on = on_contact(ctx, m, "create_related", start);
    let kind = kind_of(
        ctx,
        m,
        "create_related",
        conns,
        connection.as_deref(),
        &["task", "note", "appointment"],
    );
    let n = m.require(ctx, "items", "`create_related`")?;
    let path = m.at("items");
    let items = ctx.list(n, &path, "records to create")?;
    if items.is_empty() {
        ctx.error(n.pos, &path, "the list of items is empty", None);
    }
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = index(&path, i);
        let Some(im) = ctx.any_map(item, &p, "a record's fields") else {
            continue;
        };
        let due = match im.get("due") {
            Some(d) if kind == Some(EntityKind::Note) => {
                ctx.error(d.pos, &im.at("due"), "notes have no due date", None);
                None
            }
            Some(d) => offset(ctx, d, &im.at("due")),
            None => None,
        };
        let due_ok = im.get("due").is_none() || due.is_some();
        let rest: Vec<_> = im
            .entries
            .iter()
            .filter(|(k, _)| k.name != "due")
            .cloned()
            .collect();
        let fields_node = Node {
            value: NodeValue::Map(rest),
            pos: item.pos,
        };
        if let Some(fields) = field_values(ctx, &fields_node, &p, kind) {
            if due_ok {
                out.push(RelatedItem { fields, due });
            }
        }
    }
    let (_, kind, connection) = (on?, kind?, connection?);
    (out.len() == items.len()).then_some(Action::CreateRelated {
        connection,
        kind,
        items: out,
    })
}

/// `+2d`, `+1d4h`, `+30m` after the run time.
fn offset(ctx: &mut Ctx<'_>, n: &Node, path: &str) -> Option<Offset> {
    let text = ctx.text(n, path)?;
    match text.trim().strip_prefix('+').and_then(parse_duration) {
        Some(s) => Some(Offset {
            seconds: i64::try_from(s).ok()?,
        }),
        None => {
            ctx.error(
                n.pos,
                path,
                format!("`{text}` is not a due offset"),
                Some("write `+` and a duration: +30m, +4h, +2d, +1w, +1d12h".into()),
            );
            None
        }
    }
}

/// `{field: value}` with fields valid for `kind` (when known); text values are templates.
fn field_values(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    kind: Option<EntityKind>,
) -> Option<BTreeMap<String, FieldValue>> {
    let m = ctx.any_map(node, path, "field: value")?;
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (k, v) in m.entries {
        let p = m.at(&k.name);
        if let Some(kind) = kind.filter(|kind| !is_known_field(*kind, &k.name)) {
            let key_node = Node {
                value: NodeValue::Str(k.name.clone()),
                pos: k.pos,
            };
            unknown_field(ctx, &key_node, &p, kind, &k.name);
            ok = false;
            continue;
        }
        let value = match &v.value {
            NodeValue::Str(_) => template(ctx, v, &p).map(FieldValue::Template),
            NodeValue::Map(_) => {
                ctx.wrong_type(v, &p, "a value or a template");
                None
            }
            _ => Some(FieldValue::Constant(v.to_json())),
        };
        match value {
            Some(val) => {
                out.insert(k.name.clone(), val);
            }
            None => ok = false,
        }
    }
    if m.entries.is_empty() {
        let help = kind.map(|k| format!("fields of a {k}: {}", canonical_fields(k).join(", ")));
        ctx.error(node.pos, path, "no fields given", help);
        return None;
    }
    ok.then_some(out)
}

fn templates(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> Option<Vec<Template>> {
    let items = ctx.list(node, path, "tags")?;
    let all: Vec<Option<Template>> = items
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let p = index(path, i);
            ctx.nonempty_text(n, &p)?;
            template(ctx, n, &p)
        })
        .collect();
    all.into_iter().collect()
}

fn fetch_related(
    ctx: &mut Ctx<'_>,
    m: &MapView<'_>,
    conns: &Connections,
    connection: Option<String>,
) -> Option<Action> {
    let kind = kind_of(
        ctx,
        m,
        "fetch_related",
        conns,
        connection.as_deref(),
        &["task", "note", "appointment"],
    );
    let as_name = match m.get("as") {
        Some(n) => super::parse_call::var_name(ctx, n, &m.at("as"))?,
        None => format!("{}s", kind?),
    };
    Some(Action::FetchRelated {
        connection: connection?,
        kind: kind?,
        as_name,
    })
}
