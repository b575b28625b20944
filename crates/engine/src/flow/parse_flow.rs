//! Decoding one flow file: name, trigger, filter, and either actions or a sync, cross-checked
//! against the project's connections.

use std::collections::BTreeMap;
use std::str::FromStr;

use connectors::EntityKind;

use super::actions::{decode_actions, Start};
use super::decode::{Ctx, MapView};
use super::diag::{allowed_help, did_you_mean, Diagnostic, FlowError, Source};
use super::filter;
use super::model::{AppKind, EventType, Flow, FlowBody, Schedule, Trigger};
use super::parse_sync::decode_sync;
use super::yaml::{self, Node, NodeValue};

/// Connection name → app, as declared in `ghl-bridge.yaml`.
pub type Connections = BTreeMap<String, AppKind>;

const FLOW_KEYS: [&str; 7] = [
    "name",
    "description",
    "enabled",
    "trigger",
    "filter",
    "actions",
    "sync",
];

const KIND_NAMES: [&str; 6] = ["contact", "task", "note", "appointment", "tag", "business"];

/// Parses and validates one flow file's text against the project's connections, reporting
/// every problem found. `file` is the name used in messages.
pub fn parse_flow(text: &str, file: &str, connections: &Connections) -> Result<Flow, FlowError> {
    parse_flow_diags(text, file, connections).map_err(FlowError::new)
}

pub(crate) fn parse_flow_diags(
    text: &str,
    file: &str,
    connections: &Connections,
) -> Result<Flow, Vec<Diagnostic>> {
    let src = Source::new(file, text);
    let root = yaml::parse(&src).map_err(|d| vec![*d])?;
    let mut ctx = Ctx::new(&src);
    let flow = decode_flow(&mut ctx, &root, connections);
    match flow {
        Some(f) if ctx.diags.is_empty() => Ok(f),
        _ => {
            if ctx.diags.is_empty() {
                ctx.error(root.pos, "", "the flow is invalid", None);
            }
            Err(ctx.diags)
        }
    }
}

fn decode_flow(ctx: &mut Ctx<'_>, root: &Node, conns: &Connections) -> Option<Flow> {
    if root.value == NodeValue::Null {
        ctx.error(
            root.pos,
            "",
            "the flow file is empty",
            Some("a flow needs at least `name`, `trigger` and `actions` or `sync`".into()),
        );
        return None;
    }
    let m = ctx.map(root, "", "a flow", &FLOW_KEYS)?;
    let name = m
        .require(ctx, "name", "a flow")
        .and_then(|n| ctx.nonempty_text(n, "name"));
    let description = m
        .get("description")
        .and_then(|n| ctx.text(n, "description"));
    let enabled = match m.get("enabled") {
        Some(n) => ctx.boolean(n, "enabled"),
        None => Some(true),
    };
    let is_sync = m.has("sync");
    if is_sync && m.has("actions") {
        let n = m.get("sync")?;
        ctx.error(
            n.pos,
            "sync",
            "a flow has either `actions` or `sync`, not both",
            Some("split it into two flow files".into()),
        );
    }
    if !is_sync && !m.has("actions") {
        ctx.error(m.pos, "", "a flow needs `actions` or `sync`", Some("`actions:` runs steps when the trigger fires; `sync:` keeps two connections in step".into()));
    }
    let trigger = match m.get("trigger") {
        Some(n) => decode_trigger(ctx, n, "trigger", conns, is_sync),
        None if is_sync => Some(Trigger::Changes),
        None => {
            m.require(ctx, "trigger", "a flow");
            None
        }
    };
    let start = match (&trigger, m.get("trigger")) {
        (Some(t), _) => Start::of(t),
        (None, Some(n)) => lenient_start(n, conns),
        (None, None) => Start {
            connection: None,
            kind: None,
            known: false,
        },
    };
    let filter = match m.get("filter") {
        Some(n) if is_sync => {
            ctx.error(
                n.pos,
                "filter",
                "a sync flow filters per kind",
                Some("use `sync.filters.<kind>` instead of `filter`".into()),
            );
            None
        }
        Some(n) => filter::decode(ctx, n, "filter", start.kind).map(Some),
        None => Some(None),
    };
    let body = if is_sync {
        let n = m.get("sync")?;
        let sync = decode_sync(ctx, n, "sync", conns)?;
        if let Some(Trigger::Event {
            connection, kind, ..
        }) = &trigger
        {
            let at = m.get("trigger").map_or(m.pos, |n| n.pos);
            if *connection != sync.source && *connection != sync.target {
                let msg = format!(
                    "the trigger's connection `{connection}` is not part of this sync ({} → {})",
                    sync.source, sync.target
                );
                ctx.error(at, "trigger", msg, None);
            } else if !sync.kinds.contains(kind) {
                let msg =
                    format!("the trigger is about {kind} records, which this sync does not sync");
                let help = format!("add `{kind}` to `sync.kinds`, or trigger on a synced kind");
                ctx.error(at, "trigger", msg, Some(help));
            }
        }
        FlowBody::Sync(Box::new(sync))
    } else {
        let n = m.get("actions")?;
        FlowBody::Actions(decode_actions(ctx, n, "actions", conns, &start)?)
    };
    Some(Flow {
        name: name?,
        description,
        enabled: enabled?,
        file: ctx.src.name.clone(),
        trigger: trigger?,
        filter: filter?,
        body,
    })
}

/// What an invalid event trigger still says (`ghl.contact.updatd` is still about GHL contacts),
/// so the actions can be checked without blaming them for the trigger's mistake.
fn lenient_start(node: &Node, conns: &Connections) -> Start {
    let text = match &node.value {
        NodeValue::Str(s) => Some(s.as_str()),
        NodeValue::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.name == "event")
            .and_then(|(_, v)| v.as_str()),
        _ => None,
    };
    let mut parts = text.unwrap_or_default().split('.');
    let who = parts.next().unwrap_or_default();
    let kind = parts.next().and_then(EntityKind::parse);
    let connection = if conns.contains_key(who) {
        Some(who.to_owned())
    } else {
        let of_app: Vec<&String> = conns
            .iter()
            .filter(|(_, a)| Some(**a) == AppKind::parse(who))
            .map(|(n, _)| n)
            .collect();
        match of_app.as_slice() {
            [one] => Some((*one).clone()),
            _ => None,
        }
    };
    Start {
        connection,
        kind,
        known: false,
    }
}

fn decode_trigger(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    conns: &Connections,
    is_sync: bool,
) -> Option<Trigger> {
    match &node.value {
        NodeValue::Str(s) if s == "manual" => Some(Trigger::Manual),
        NodeValue::Str(s) if s == "changes" && is_sync => Some(Trigger::Changes),
        NodeValue::Str(s) => decode_event(ctx, node, path, s, None, conns),
        NodeValue::Map(_) => {
            let m = ctx.map(
                node,
                path,
                "a trigger",
                &["event", "connection", "schedule"],
            )?;
            if let Some(s) = m.get("schedule") {
                if m.has("event") || m.has("connection") {
                    ctx.error(
                        s.pos,
                        &m.at("schedule"),
                        "a trigger is either an `event` or a `schedule`",
                        None,
                    );
                    return None;
                }
                return decode_schedule(ctx, s, &m.at("schedule"));
            }
            let ev = m.require(ctx, "event", "a trigger")?;
            let text = ctx.text(ev, &m.at("event"))?;
            let conn = match m.get("connection") {
                Some(n) => Some((n, ctx.text(n, &m.at("connection"))?, m.at("connection"))),
                None => None,
            };
            decode_event(ctx, ev, &m.at("event"), &text, conn, conns)
        }
        _ => {
            ctx.wrong_type(
                node,
                path,
                "an event like `ghl.contact.updated`, `manual`, or a map with `schedule`",
            );
            None
        }
    }
}

fn decode_event(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    text: &str,
    explicit: Option<(&Node, String, String)>,
    conns: &Connections,
) -> Option<Trigger> {
    let parts: Vec<&str> = text.split('.').collect();
    let [who, kind, event] = parts.as_slice() else {
        ctx.error(
            node.pos,
            path,
            format!("`{text}` is not a trigger"),
            Some("write `<app or connection>.<kind>.<event>` (e.g. `ghl.contact.updated`), `manual`, or `{schedule: {every: 15m}}`".into()),
        );
        return None;
    };
    let kind_ok = EntityKind::parse(kind);
    if kind_ok.is_none() {
        ctx.error(
            node.pos,
            path,
            format!("unknown kind `{kind}` in trigger `{text}`"),
            Some(allowed_help(kind, &KIND_NAMES)),
        );
    }
    let event_ok = EventType::parse(event);
    if event_ok.is_none() {
        ctx.error(
            node.pos,
            path,
            format!("unknown event `{event}` in trigger `{text}`"),
            Some(allowed_help(event, &EventType::NAMES)),
        );
    }
    if event_ok == Some(EventType::Completed) && kind_ok.is_some_and(|k| k != EntityKind::Task) {
        ctx.error(
            node.pos,
            path,
            "only tasks are `completed`",
            Some("use `created`, `updated`, `deleted` or `changed`".into()),
        );
        return None;
    }
    let connection = resolve_connection(ctx, node, path, who, explicit, conns)?;
    let app = *conns.get(&connection)?;
    let (kind, event) = (kind_ok?, event_ok?);
    if !app.kinds().contains(&kind) {
        ctx.error(
            node.pos,
            path,
            format!("{app} has no {kind} records, so `{text}` never fires"),
            Some(format!("{app} supports: {}", kinds_list(app))),
        );
        return None;
    }
    Some(Trigger::Event {
        connection,
        app,
        kind,
        event,
    })
}

pub(crate) fn kinds_list(app: AppKind) -> String {
    app.kinds()
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first segment of an event names a connection, or an app with exactly one connection.
fn resolve_connection(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    who: &str,
    explicit: Option<(&Node, String, String)>,
    conns: &Connections,
) -> Option<String> {
    if let Some((n, name, conn_path)) = explicit {
        let app = check_connection(ctx, n, &conn_path, &name, conns)?;
        if app.as_str() != who && name != who {
            ctx.error(
                node.pos,
                path,
                format!("the event is for `{who}` but connection `{name}` is {app}"),
                None,
            );
            return None;
        }
        return Some(name);
    }
    if conns.contains_key(who) {
        return Some(who.to_owned());
    }
    let Some(app) = AppKind::parse(who) else {
        let mut names: Vec<&str> = conns.keys().map(String::as_str).collect();
        names.extend(AppKind::ALL.iter().map(|a| a.as_str()));
        let hint = did_you_mean(who, names.iter().copied())
            .map(|s| format!("did you mean `{s}`? "))
            .unwrap_or_default();
        ctx.error(
            node.pos,
            path,
            format!("unknown app or connection `{who}` in trigger"),
            Some(format!("{hint}connections: {}", connection_list(conns))),
        );
        return None;
    };
    let of_app: Vec<&String> = conns
        .iter()
        .filter(|(_, a)| **a == app)
        .map(|(n, _)| n)
        .collect();
    match of_app.as_slice() {
        [one] => Some((*one).clone()),
        [] => {
            ctx.error(
                node.pos,
                path,
                format!("no connection in ghl-bridge.yaml is a {app} app"),
                Some(format!(
                    "add one under `connections:` with `app: {app}`; connections: {}",
                    connection_list(conns)
                )),
            );
            None
        }
        many => {
            let names: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
            ctx.error(
                node.pos,
                path,
                format!("several connections are {app} apps ({})", names.join(", ")),
                Some(format!(
                    "name the connection instead of the app, e.g. `{}.{}`",
                    names[0],
                    path_tail(node)
                )),
            );
            None
        }
    }
}

fn path_tail(node: &Node) -> String {
    node.as_str()
        .and_then(|s| s.split_once('.'))
        .map(|(_, t)| t.to_owned())
        .unwrap_or_default()
}

fn connection_list(conns: &Connections) -> String {
    if conns.is_empty() {
        return "(none)".into();
    }
    conns
        .iter()
        .map(|(n, a)| format!("{n} ({a})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A connection name that exists in the project; returns its app.
pub(crate) fn check_connection(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    name: &str,
    conns: &Connections,
) -> Option<AppKind> {
    if let Some(app) = conns.get(name) {
        return Some(*app);
    }
    let hint = did_you_mean(name, conns.keys().map(String::as_str))
        .map(|s| format!("did you mean `{s}`? "))
        .unwrap_or_default();
    ctx.error(
        node.pos,
        path,
        format!("unknown connection `{name}`"),
        Some(format!(
            "{hint}connections in ghl-bridge.yaml: {}",
            connection_list(conns)
        )),
    );
    None
}

fn decode_schedule(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> Option<Trigger> {
    let m: MapView<'_> = ctx.map(node, path, "a schedule", &["every", "cron"])?;
    match (m.get("every"), m.get("cron")) {
        (Some(n), None) => {
            let p = m.at("every");
            let text = ctx.text(n, &p)?;
            match parse_duration(&text) {
                Some(s) if s >= 60 => Some(Trigger::Schedule(Schedule::Every { seconds: s })),
                Some(_) => {
                    ctx.error(n.pos, &p, format!("`every: {text}` is too often"), Some("the shortest interval is 1m (GHL allows 100 requests per 10 s per location)".into()));
                    None
                }
                None => {
                    ctx.error(
                        n.pos,
                        &p,
                        format!("`{text}` is not an interval"),
                        Some(
                            "write a number and a unit: 30m, 1h, 6h, 1d (units: s, m, h, d)".into(),
                        ),
                    );
                    None
                }
            }
        }
        (None, Some(n)) => {
            let p = m.at("cron");
            let expr = ctx.text(n, &p)?;
            if let Err(e) = croner::Cron::from_str(&expr) {
                ctx.error(n.pos, &p, format!("invalid cron expression `{expr}`: {e}"), Some("five fields: minute hour day-of-month month day-of-week, e.g. \"0 * * * *\" (hourly) or \"30 8 * * MON-FRI\"; quote it in YAML".into()));
                return None;
            }
            Some(Trigger::Schedule(Schedule::Cron { expr }))
        }
        _ => {
            ctx.error(
                m.pos,
                path,
                "a schedule has exactly one of `every` or `cron`",
                Some("e.g. `schedule: {every: 15m}` or `schedule: {cron: \"0 * * * *\"}`".into()),
            );
            None
        }
    }
}

/// `90s`, `15m`, `1h30m`, `2d`, `1w` → seconds.
pub(crate) fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    let mut total: u64 = 0;
    let mut num = String::new();
    let mut any = false;
    for ch in s.chars() {
        if ch.is_ascii_digit() {
            num.push(ch);
            continue;
        }
        let unit = match ch {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        let n: u64 = num.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        num.clear();
        any = true;
    }
    (any && num.is_empty()).then_some(total)
}
