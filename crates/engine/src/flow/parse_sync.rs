//! Decoding a declarative `sync:` section: the two connections, kinds, direction, match keys,
//! conflict and delete policies, per-kind filters and mappings.

use std::collections::BTreeMap;

use connectors::EntityKind;

use super::actions::match_keys;
use super::decode::{index, Ctx, MapView};
use super::diag::allowed_help;
use super::filter::{self, Filter};
use super::mapping::Mapping;
use super::model::{
    is_known_field, ConflictPolicy, DeletePolicy, MatchOn, Side, SyncDirection, SyncSpec,
};
use super::parse_flow::{check_connection, kinds_list, Connections};
use super::parse_mapping::decode_mapping;
use super::yaml::{Node, NodeValue};

const SYNC_KEYS: [&str; 9] = [
    "source",
    "target",
    "kinds",
    "direction",
    "match",
    "conflict",
    "delete",
    "filters",
    "mapping",
];

const KIND_NAMES: [&str; 6] = ["contact", "task", "note", "appointment", "tag", "business"];

pub(crate) fn decode_sync(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    conns: &Connections,
) -> Option<SyncSpec> {
    let m = ctx.map(node, path, "`sync`", &SYNC_KEYS)?;
    let side = |ctx: &mut Ctx<'_>, key: &str| -> Option<(String, &Node)> {
        let n = m.require(ctx, key, "`sync`")?;
        let name = ctx.text(n, &m.at(key))?;
        check_connection(ctx, n, &m.at(key), &name, conns)?;
        Some((name, n))
    };
    let source = side(ctx, "source");
    let target = side(ctx, "target");
    if let (Some((s, _)), Some((t, n))) = (&source, &target) {
        if s == t {
            ctx.error(
                n.pos,
                &m.at("target"),
                format!("source and target are both `{s}`"),
                Some("a sync connects two different connections".into()),
            );
        }
    }
    let direction = match m.get("direction") {
        Some(n) => match ctx.choice(
            n,
            &m.at("direction"),
            "sync direction",
            &["one_way", "two_way"],
        )? {
            "two_way" => SyncDirection::TwoWay,
            _ => SyncDirection::OneWay,
        },
        None => SyncDirection::OneWay,
    };
    let two_way = direction == SyncDirection::TwoWay;
    let kinds = m.require(ctx, "kinds", "`sync`").and_then(|n| {
        let apps: Vec<_> = [&source, &target]
            .into_iter()
            .flatten()
            .filter_map(|(name, _)| conns.get(name).map(|a| (name.clone(), *a)))
            .collect();
        kinds(ctx, n, &m.at("kinds"), &apps)
    });
    let conflict = conflict(ctx, &m, two_way, kinds.as_ref().map(|(k, _)| k.as_slice()));
    let delete = match m.get("delete") {
        Some(n) => match ctx.choice(
            n,
            &m.at("delete"),
            "delete policy",
            &["propagate", "archive", "ignore"],
        )? {
            "propagate" => DeletePolicy::Propagate,
            "archive" => DeletePolicy::Archive,
            _ => DeletePolicy::Ignore,
        },
        None => DeletePolicy::Ignore,
    };
    // Keep checking the per-kind sections with the kinds that did parse.
    let (kinds, kinds_ok) = kinds?;
    let match_on = per_kind(ctx, &m, "match", &kinds, |ctx, n, p, k| {
        match_keys(ctx, n, p, k)
    });
    let filters: Option<BTreeMap<EntityKind, Filter>> =
        per_kind(ctx, &m, "filters", &kinds, |ctx, n, p, k| {
            filter::decode(ctx, n, p, Some(k))
        });
    let mapping = per_kind(ctx, &m, "mapping", &kinds, |ctx, n, p, k| {
        decode_mapping(ctx, n, p, k, two_way)
    });
    let (match_on, filters, mapping) = (match_on?, filters?, mapping?);
    let match_on = kinds
        .iter()
        .map(|k| {
            (
                *k,
                match_on
                    .get(k)
                    .cloned()
                    .unwrap_or_else(|| MatchOn::default_for(*k)),
            )
        })
        .collect();
    let mapping = kinds
        .iter()
        .map(|k| {
            (
                *k,
                mapping
                    .get(k)
                    .cloned()
                    .unwrap_or_else(|| Mapping::identity(*k)),
            )
        })
        .collect();
    if !kinds_ok {
        return None;
    }
    Some(SyncSpec {
        source: source?.0,
        target: target?.0,
        kinds,
        direction,
        match_on,
        conflict: conflict?,
        delete,
        filters,
        mapping,
    })
}

/// The listed kinds that parsed, and whether all of them were valid.
fn kinds(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    apps: &[(String, super::model::AppKind)],
) -> Option<(Vec<EntityKind>, bool)> {
    let items = ctx.list(node, path, "entity kinds")?;
    if items.is_empty() {
        ctx.error(
            node.pos,
            path,
            "the list of kinds is empty",
            Some(format!("kinds: {}", KIND_NAMES.join(", "))),
        );
        return None;
    }
    let mut out: Vec<EntityKind> = Vec::new();
    let mut ok = true;
    for (i, n) in items.iter().enumerate() {
        let p = index(path, i);
        let Some(kind) = ctx
            .choice(n, &p, "kind", &KIND_NAMES)
            .and_then(EntityKind::parse)
        else {
            ok = false;
            continue;
        };
        if out.contains(&kind) {
            ctx.error(n.pos, &p, format!("`{kind}` is listed twice"), None);
            ok = false;
            continue;
        }
        for (conn, app) in apps {
            if !app.kinds().contains(&kind) {
                ctx.error(
                    n.pos,
                    &p,
                    format!("{app} (connection `{conn}`) has no {kind} records"),
                    Some(format!("{app} supports: {}", kinds_list(*app))),
                );
                ok = false;
            }
        }
        out.push(kind);
    }
    Some((out, ok))
}

/// A map keyed by kinds of this sync (`match`, `filters`, `mapping`).
fn per_kind<T>(
    ctx: &mut Ctx<'_>,
    m: &MapView<'_>,
    key: &str,
    kinds: &[EntityKind],
    mut decode: impl FnMut(&mut Ctx<'_>, &Node, &str, EntityKind) -> Option<T>,
) -> Option<BTreeMap<EntityKind, T>> {
    let mut out = BTreeMap::new();
    let Some(node) = m.get(key) else {
        return Some(out);
    };
    let path = m.at(key);
    let entries = ctx.any_map(node, &path, &format!("`{key}` per kind, e.g. `contact:`"))?;
    let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    let mut ok = true;
    for (k, v) in entries.entries {
        let p = entries.at(&k.name);
        let Some(kind) = EntityKind::parse(&k.name).filter(|kind| kinds.contains(kind)) else {
            let msg = if EntityKind::parse(&k.name).is_some() {
                format!("`{}` is not in sync.kinds", k.name)
            } else {
                format!("unknown kind `{}`", k.name)
            };
            ctx.error(
                k.pos,
                &p,
                msg,
                Some(format!(
                    "{}; add it to `kinds` to sync it",
                    allowed_help(&k.name, &names)
                )),
            );
            ok = false;
            continue;
        };
        match decode(ctx, v, &p, kind) {
            Some(t) => {
                out.insert(kind, t);
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn conflict(
    ctx: &mut Ctx<'_>,
    m: &MapView<'_>,
    two_way: bool,
    kinds: Option<&[EntityKind]>,
) -> Option<ConflictPolicy> {
    let Some(node) = m.get("conflict") else {
        return Some(ConflictPolicy::LastWriterWins);
    };
    let path = m.at("conflict");
    if !two_way {
        ctx.error(node.pos, &path, "`conflict` only applies to two_way syncs", Some("in a one_way sync the source always wins; remove `conflict` or set `direction: two_way`".into()));
        return None;
    }
    if let NodeValue::Str(_) = node.value {
        ctx.choice(node, &path, "conflict policy", &["last_writer_wins"])?;
        return Some(ConflictPolicy::LastWriterWins);
    }
    let cm = ctx.map(node, &path, "`conflict`", &["default", "source_of_truth"])?;
    let side = |ctx: &mut Ctx<'_>, n: &Node, p: &str| -> Option<Side> {
        Some(match ctx.choice(n, p, "side", &["source", "target"])? {
            "source" => Side::Source,
            _ => Side::Target,
        })
    };
    let default = match cm.get("default") {
        Some(n) => side(ctx, n, &cm.at("default"))?,
        None => Side::Source,
    };
    let mut fields = BTreeMap::new();
    if let Some(n) = cm.get("source_of_truth") {
        let sm = ctx.any_map(n, &cm.at("source_of_truth"), "field: source | target")?;
        for (k, v) in sm.entries {
            let p = sm.at(&k.name);
            let known = kinds.is_none_or(|ks| ks.iter().any(|kind| is_known_field(*kind, &k.name)));
            if !known {
                let all: Vec<&str> = kinds
                    .unwrap_or_default()
                    .iter()
                    .flat_map(|kind| super::model::canonical_fields(*kind).iter().copied())
                    .collect();
                ctx.error(
                    k.pos,
                    &p,
                    format!("unknown field `{}` for the synced kinds", k.name),
                    Some(allowed_help(&k.name, &all)),
                );
                continue;
            }
            if let Some(s) = side(ctx, v, &p) {
                fields.insert(k.name.clone(), s);
            }
        }
    }
    Some(ConflictPolicy::SourceOfTruth { default, fields })
}
