//! `ghl-bridge flows`: the flows of a project as an operator sees them — `list` (what each
//! does, whether it is on, which connections it touches), `validate` (every problem with
//! file:line:col, exit 1 when any) and `test` (a dry run of one record through a flow: the
//! mapped output and warnings, nothing written anywhere).

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use connectors::{EntityKind, Record};
use engine::connections::{connections_in_use, ConnectorFactory};
use engine::flow::{dry_run, load_project, Flow, FlowBody, Project, Schedule, Trigger};
use serde_json::{json, Map, Value};

use crate::project_ctx::{
    self, connect_one, find_flow, open_existing_store, print_json, require_project_file,
    ProjectArgs,
};

/// Options of `ghl-bridge flows`.
#[derive(Args, Debug, Clone)]
pub struct FlowsArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(subcommand)]
    pub action: FlowsAction,
}

/// What to do with the flows.
#[derive(Subcommand, Debug, Clone)]
pub enum FlowsAction {
    /// Every flow: name, kind, trigger, on/off, connections and file.
    List {
        /// JSON for other tools.
        #[arg(long)]
        json: bool,
    },
    /// Check the project and every flow file; prints each problem with file:line:col and exits
    /// 1 when there is any.
    Validate {
        /// JSON for other tools: `{"ok": bool, "problems": [...]}`.
        #[arg(long)]
        json: bool,
    },
    /// Dry-run one record through a flow: what it would write, and every warning. Nothing is
    /// written to any app or to the database.
    Test(TestArgs),
    /// Switch a flow back on after `disable` (saved in the database; a running `serve` on it
    /// follows within seconds).
    Enable {
        /// The flow's name.
        name: String,
    },
    /// Switch a flow off without editing its file: its new events start no jobs (queued jobs
    /// still run). Undo with `enable`.
    Disable {
        /// The flow's name.
        name: String,
    },
}

/// Options of `flows test`.
#[derive(Args, Debug, Clone)]
pub struct TestArgs {
    /// The flow's name (see `flows list`).
    pub name: String,
    /// A JSON file holding the record: its fields as an object (`{"email": …}`), or a record
    /// (`{"kind": "contact", "id": …, "fields": {…}}`).
    #[arg(
        long,
        conflicts_with = "record_from",
        required_unless_present = "record_from"
    )]
    pub sample: Option<PathBuf>,
    /// Read the record from an app as it is now: `CONNECTION:ID` (e.g. `ghl:abc123`).
    #[arg(long, value_name = "CONNECTION:ID")]
    pub record_from: Option<String>,
    /// The record's kind when the flow handles several (default: the flow's first kind).
    #[arg(long)]
    pub kind: Option<String>,
    /// JSON for other tools.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ghl-bridge flows`.
pub async fn run(args: FlowsArgs) -> Result<(), String> {
    let path = &args.project.project;
    match &args.action {
        FlowsAction::List { json } => list(&args.project, *json).await,
        FlowsAction::Validate { json } => validate(path, *json),
        FlowsAction::Test(t) => test(path, t).await,
        FlowsAction::Enable { name } => switch(&args.project, name, true).await,
        FlowsAction::Disable { name } => switch(&args.project, name, false).await,
    }
}

/// The trigger as a person reads it.
pub fn trigger_text(flow: &Flow) -> String {
    match (&flow.trigger, &flow.body) {
        (
            Trigger::Event {
                connection,
                kind,
                event,
                ..
            },
            _,
        ) => {
            let event = serde_json::to_value(event)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            format!("{connection}.{kind}.{event}")
        }
        (Trigger::Schedule(Schedule::Every { seconds }), _) => format!("every {seconds}s"),
        (Trigger::Schedule(Schedule::Cron { expr }), _) => format!("cron `{expr}`"),
        (Trigger::Manual, _) => "manual".into(),
        (Trigger::Changes, FlowBody::Sync(s)) => {
            let mut sides = vec![s.source.clone()];
            if s.direction == engine::flow::SyncDirection::TwoWay {
                sides.push(s.target.clone());
            }
            format!("changes on {}", sides.join(" and "))
        }
        (Trigger::Changes, _) => "changes".into(),
    }
}

/// `sync` or `actions`.
pub fn kind_text(flow: &Flow) -> &'static str {
    match flow.body {
        FlowBody::Sync(_) => "sync",
        FlowBody::Actions(_) => "actions",
    }
}

/// Every connection a flow reads or writes, in order of appearance.
pub fn flow_connections(flow: &Flow) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |c: &str| {
        if !out.iter().any(|o| o == c) {
            out.push(c.to_string());
        }
    };
    if let Trigger::Event { connection, .. } = &flow.trigger {
        add(connection);
    }
    match &flow.body {
        FlowBody::Sync(s) => {
            add(&s.source);
            add(&s.target);
        }
        FlowBody::Actions(actions) => {
            for a in actions {
                if let Some(c) = a.connection() {
                    add(c);
                }
            }
        }
    }
    out
}

/// Flows switched off with `flows disable` (or the admin API), when the database exists.
async fn switched_off(p: &ProjectArgs) -> Result<BTreeSet<String>, String> {
    let Ok(store) = open_existing_store(p).await else {
        return Ok(BTreeSet::new());
    };
    let states = store.flow_states().await;
    store.close().await;
    Ok(states
        .map_err(|e| format!("reading flow switches: {e}"))?
        .into_iter()
        .filter(|s| !s.enabled)
        .map(|s| s.flow_id)
        .collect())
}

/// `flows enable|disable NAME`: persists the switch with `engine::flow_state::set_enabled`.
async fn switch(p: &ProjectArgs, name: &str, enabled: bool) -> Result<(), String> {
    let project = project_ctx::load(&p.project)?;
    let flow = find_flow(&project, name)?;
    if !flow.enabled {
        return Err(format!(
            "flow `{name}` is off in its file ({}): set `enabled: true` there (a switch can only turn off flows their file turns on)",
            flow.file
        ));
    }
    let store = project_ctx::open_store(&p.database_url()).await?;
    let out = engine::flow_state::set_enabled(store.as_ref(), name, enabled).await;
    store.close().await;
    out.map_err(|e| format!("saving the switch of `{name}`: {e}"))?;
    println!(
        "flow `{name}` is {}; a running `ghl-bridge serve` on this database follows within seconds",
        if enabled { "on" } else { "off" },
    );
    Ok(())
}

async fn list(p: &ProjectArgs, as_json: bool) -> Result<(), String> {
    let project = project_ctx::load(&p.project)?;
    let off = switched_off(p).await?;
    let on = |f: &Flow| f.enabled && !off.contains(&f.name);
    let rows: Vec<Value> = project
        .flows
        .iter()
        .map(|f| {
            json!({
                "name": f.name,
                "kind": kind_text(f),
                "trigger": trigger_text(f),
                "enabled": on(f),
                "enabled_in_file": f.enabled,
                "connections": flow_connections(f),
                "file": f.file,
                "description": f.description,
            })
        })
        .collect();
    if as_json {
        print_json(&Value::Array(rows));
        return Ok(());
    }
    if rows.is_empty() {
        println!(
            "no flows in {}: add a flow file there (`ghl-bridge templates` lists ready ones)",
            project.flows_dir.display()
        );
        return Ok(());
    }
    let width = project
        .flows
        .iter()
        .map(|f| f.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:<width$}  {:<7}  {:<3}  {:<28}  {:<18}  FILE",
        "NAME", "KIND", "ON", "TRIGGER", "CONNECTIONS"
    );
    for f in &project.flows {
        println!(
            "{:<width$}  {:<7}  {:<3}  {:<28}  {:<18}  {}",
            f.name,
            kind_text(f),
            match (f.enabled, on(f)) {
                (_, true) => "yes",
                (true, false) => "off",
                _ => "no",
            },
            trigger_text(f),
            flow_connections(f).join(", "),
            f.file
        );
    }
    Ok(())
}

/// A problem as JSON: where, what and how to fix it.
fn problem_json(d: &engine::flow::Diagnostic) -> Value {
    json!({
        "file": d.file,
        "line": d.line,
        "col": d.col,
        "field": d.path,
        "message": d.message,
        "help": d.help,
    })
}

fn validate(path: &std::path::Path, as_json: bool) -> Result<(), String> {
    require_project_file(path)?;
    let (problems, flows): (Vec<Value>, usize) = match load_project(path) {
        Ok(project) => {
            let problems = connection_problems(&project, path);
            (problems, project.flows.len())
        }
        Err(e) => {
            if !as_json {
                eprintln!("{e}");
            }
            (e.diagnostics.iter().map(problem_json).collect(), 0)
        }
    };
    if as_json {
        print_json(&json!({ "ok": problems.is_empty(), "flows": flows, "problems": problems }));
    } else if problems.is_empty() {
        println!(
            "{}: ok ({flows} flow{})",
            path.display(),
            if flows == 1 { "" } else { "s" }
        );
    }
    match problems.len() {
        0 => Ok(()),
        n => Err(format!(
            "{n} problem{} in {}; fix {} and run `ghl-bridge flows validate` again",
            if n == 1 { "" } else { "s" },
            path.display(),
            if n == 1 { "it" } else { "them" }
        )),
    }
}

/// Settings of the connections enabled flows use that cannot work (a missing token, a bad
/// URL): found now rather than when `run` starts. Printed on stderr unless asked for JSON.
fn connection_problems(project: &Project, path: &std::path::Path) -> Vec<Value> {
    let used = connections_in_use(project);
    match ConnectorFactory::new().build_for(project, &used) {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .0
            .iter()
            .map(|e| {
                json!({
                    "file": path.display().to_string(),
                    "line": 0,
                    "col": 0,
                    "field": match &e.setting {
                        Some(s) => format!("connections.{}.{s}", e.connection),
                        None => format!("connections.{}", e.connection),
                    },
                    "message": e.to_string(),
                    "help": Value::Null,
                })
            })
            .inspect(|p| eprintln!("error: {}", p["message"].as_str().unwrap_or_default()))
            .collect(),
    }
}

/// The record to dry-run: from the sample file or read from the app.
async fn sample_record(project: &Project, flow: &Flow, args: &TestArgs) -> Result<Record, String> {
    let kinds = flow_kinds(flow);
    let kind = match &args.kind {
        Some(k) => EntityKind::parse(k).ok_or_else(|| {
            let all: Vec<&str> = EntityKind::ALL.iter().map(|k| k.as_str()).collect();
            format!("--kind `{k}` is not a kind; use one of: {}", all.join(", "))
        })?,
        None => kinds.first().copied().unwrap_or(EntityKind::Contact),
    };
    if let Some(spec) = &args.record_from {
        let (conn, id) = spec
            .split_once(':')
            .filter(|(c, i)| !c.is_empty() && !i.is_empty())
            .ok_or_else(|| {
                format!("--record-from `{spec}`: write CONNECTION:ID, e.g. ghl:abc123")
            })?;
        let connector = connect_one(project, conn)?;
        return match connector.get(kind, id, None).await {
            Ok(Some(r)) => Ok(r),
            Ok(None) => Err(format!(
                "no {kind} `{id}` in connection `{conn}`; check the id (or pass --kind)"
            )),
            Err(e) => Err(format!("reading {kind} `{id}` from `{conn}`: {e}")),
        };
    }
    let file = args
        .sample
        .as_ref()
        .ok_or("pass --sample FILE.json or --record-from CONNECTION:ID")?;
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read the sample {}: {e}", file.display()))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}:{}:{}: not JSON: {e}; the sample is a JSON object of the record's fields",
            file.display(),
            e.line(),
            e.column()
        )
    })?;
    let Value::Object(obj) = value else {
        return Err(format!(
            "{}: the sample must be a JSON object of the record's fields, e.g. {{\"email\": \"ada@example.com\"}}",
            file.display()
        ));
    };
    Ok(match obj.get("fields") {
        Some(Value::Object(fields)) => {
            let kind = obj
                .get("kind")
                .and_then(Value::as_str)
                .and_then(EntityKind::parse)
                .filter(|_| args.kind.is_none())
                .unwrap_or(kind);
            let id = obj.get("id").and_then(Value::as_str).unwrap_or("sample");
            let mut r = Record::new(kind, id, fields.clone());
            r.parent_id = obj
                .get("parent_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            r
        }
        _ => Record::new(kind, "sample", obj),
    })
}

/// The kinds a flow handles: a sync's kinds, an event trigger's kind.
fn flow_kinds(flow: &Flow) -> Vec<EntityKind> {
    match (&flow.body, &flow.trigger) {
        (FlowBody::Sync(s), _) => s.kinds.clone(),
        (_, Trigger::Event { kind, .. }) => vec![*kind],
        _ => vec![EntityKind::Contact],
    }
}

async fn test(path: &std::path::Path, args: &TestArgs) -> Result<(), String> {
    let project = project_ctx::load(path)?;
    let flow = find_flow(&project, &args.name)?;
    let record = sample_record(&project, flow, args).await?;
    let run = dry_run(flow, &record).map_err(|e| {
        format!(
            "flow `{}`: {e}; pass --kind or a sample of the right kind",
            flow.name
        )
    })?;
    let target = match &flow.body {
        FlowBody::Sync(s) => Some(s.target.clone()),
        FlowBody::Actions(_) => None,
    };
    if args.json {
        let mut out = serde_json::to_value(&run).map_err(|e| e.to_string())?;
        if let Value::Object(o) = &mut out {
            o.insert("flow".into(), json!(flow.name));
            o.insert("kind".into(), json!(record.kind.as_str()));
            o.insert("target".into(), json!(target));
            o.insert("written".into(), json!(false));
        }
        print_json(&out);
        return Ok(());
    }
    println!(
        "flow `{}` with {} `{}` (dry run: nothing is written)",
        flow.name, record.kind, record.id
    );
    print_fields("record", &run.before);
    if run.skipped_by_filter {
        println!("\nskipped: the flow's filter does not match this record; nothing would happen");
        return Ok(());
    }
    match &target {
        Some(t) => print_fields(&format!("would write to `{t}`"), &run.after),
        None => {
            println!("\nwould run {} step(s):", run.actions.len());
            for a in &run.actions {
                let conn = if a.connection.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", a.connection)
                };
                println!("  {}{conn}: {}", a.action, a.summary);
                for (k, v) in &a.fields {
                    println!("      {k}: {}", short(v));
                }
            }
        }
    }
    if run.warnings.is_empty() {
        println!("\nno warnings");
    } else {
        println!("\n{} warning(s):", run.warnings.len());
        for w in &run.warnings {
            println!("  {w}");
        }
    }
    Ok(())
}

fn print_fields(title: &str, fields: &Map<String, Value>) {
    println!("\n{title}:");
    if fields.is_empty() {
        println!("  (no fields)");
    }
    for (k, v) in fields {
        println!("  {k}: {}", short(v));
    }
}

fn short(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
