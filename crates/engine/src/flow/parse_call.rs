//! Decoding the `call` action: one operation of the connection's app by id, with inputs.
//!
//! Everything is checked against the app's operation list (`connectors::operations_of`) when the
//! flow loads: the operation exists for that app, every input is one the operation takes, and
//! every required input is written — so a typo fails at its line, not at the first run.

use std::collections::BTreeMap;

use super::decode::{index, Ctx, MapView};
use super::diag::did_you_mean;
use super::model::{Action, InputValue};
use super::parse_flow::Connections;
use super::parse_mapping::template;
use super::yaml::{Node, NodeValue};

/// The keys of a `call`.
pub(crate) const CALL_KEYS: [&str; 4] = ["connection", "operation", "input", "as"];

/// `call: {connection, operation, input, as}`; `connection` was resolved by the caller.
pub(crate) fn call(
    ctx: &mut Ctx<'_>,
    m: &MapView<'_>,
    conns: &Connections,
    connection: Option<String>,
) -> Option<Action> {
    let op_node = m.require(ctx, "operation", "`call`")?;
    let op_path = m.at("operation");
    let operation = ctx.nonempty_text(op_node, &op_path)?;
    let app = connection.as_deref().and_then(|c| conns.get(c));
    let spec = match app {
        Some(app) => {
            let ops = connectors::operations_of(app.as_str());
            let c = connection.as_deref().unwrap_or_default();
            match ops.iter().find(|o| o.id == operation) {
                Some(spec) => Some(spec),
                None if ops.is_empty() => {
                    ctx.error(
                        op_node.pos,
                        &op_path,
                        format!("{app} (connection `{c}`) has no operations to `call`"),
                        Some(
                            "use the record actions (upsert, update, add_note …) for this app"
                                .into(),
                        ),
                    );
                    return None;
                }
                None => {
                    let names: Vec<&str> = ops.iter().map(|o| o.id).collect();
                    let hint = did_you_mean(&operation, names.iter().copied())
                        .map(|s| format!("did you mean `{s}`? "))
                        .unwrap_or_default();
                    ctx.error(
                        op_node.pos,
                        &op_path,
                        format!("unknown operation `{operation}` for {app} (connection `{c}`)"),
                        Some(format!("{hint}{app} operations: {}", names.join(", "))),
                    );
                    return None;
                }
            }
        }
        None => None,
    };
    let input = match m.get("input") {
        Some(n) => inputs(ctx, n, &m.at("input"), spec)?,
        None => BTreeMap::new(),
    };
    if let Some(spec) = spec {
        let missing: Vec<&str> = spec
            .inputs
            .iter()
            .filter(|f| f.required && !input.contains_key(f.name))
            .map(|f| f.name)
            .collect();
        if !missing.is_empty() {
            let at = m.get("input").map_or(m.pos, |n| n.pos);
            ctx.error(
                at,
                &m.at("input"),
                format!(
                    "`{}` needs the input{} {}",
                    spec.id,
                    if missing.len() > 1 { "s" } else { "" },
                    missing
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Some(format!(
                    "e.g. `input: {{{}: \"{{{{ id }}}}\"}}`",
                    missing[0]
                )),
            );
            return None;
        }
    }
    let as_name = match m.get("as") {
        Some(n) => Some(var_name(ctx, n, &m.at("as"))?),
        None => None,
    };
    Some(Action::Call {
        connection: connection?,
        operation,
        input,
        as_name,
    })
}

/// The `input:` map, each key one the operation takes (when the operation is known).
fn inputs(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    spec: Option<&connectors::OperationSpec>,
) -> Option<BTreeMap<String, InputValue>> {
    let m = ctx.any_map(node, path, "input: value")?;
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (k, v) in m.entries {
        let p = m.at(&k.name);
        if let Some(spec) = spec.filter(|s| s.input(&k.name).is_none()) {
            let names: Vec<&str> = spec.inputs.iter().map(|f| f.name).collect();
            let hint = did_you_mean(&k.name, names.iter().copied())
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            let allowed = if names.is_empty() {
                "it takes no inputs".to_string()
            } else {
                format!("inputs: {}", names.join(", "))
            };
            ctx.error(
                k.pos,
                &p,
                format!("`{}` has no input `{}`", spec.id, k.name),
                Some(format!("{hint}{allowed}")),
            );
            ok = false;
            continue;
        }
        match value(ctx, v, &p) {
            Some(val) => {
                out.insert(k.name.clone(), val);
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// One input value: text is a template; lists and maps nest.
fn value(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> Option<InputValue> {
    match &node.value {
        NodeValue::Str(_) => template(ctx, node, path).map(InputValue::Template),
        NodeValue::Seq(items) => {
            let all: Vec<Option<InputValue>> = items
                .iter()
                .enumerate()
                .map(|(i, n)| value(ctx, n, &index(path, i)))
                .collect();
            all.into_iter()
                .collect::<Option<Vec<_>>>()
                .map(InputValue::List)
        }
        NodeValue::Map(entries) => {
            let mut out = BTreeMap::new();
            let mut ok = true;
            for (k, v) in entries {
                match value(ctx, v, &format!("{path}.{}", k.name)) {
                    Some(val) => {
                        out.insert(k.name.clone(), val);
                    }
                    None => ok = false,
                }
            }
            ok.then_some(InputValue::Map(out))
        }
        _ => Some(InputValue::Constant(node.to_json())),
    }
}

/// A template variable name for `as`.
pub(crate) fn var_name(ctx: &mut Ctx<'_>, n: &Node, path: &str) -> Option<String> {
    let s = ctx.text(n, path)?;
    let valid = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        ctx.error(
            n.pos,
            path,
            format!("`{s}` is not a template variable name"),
            Some("use lower-case letters, digits and `_`, e.g. `open_tasks`".into()),
        );
        return None;
    }
    Some(s)
}
