//! The project file (`ghl-bridge.yaml`): named connections and the folder of flow files.
//!
//! Secrets never live in the file: values are written `${ENV_VAR}` and read from the
//! environment at load. Every value that came from the environment, and every setting whose
//! name looks secret (`token`, `api_key`, `client_secret` …), is held as a [`Secret`], so the
//! loaded project can be logged or debug-printed without leaking credentials.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use ghl::Secret;

use super::decode::Ctx;
use super::diag::{Diagnostic, FlowError, Source};
use super::model::{AppKind, Flow};
use super::parse_flow::{parse_flow_diags, Connections};
use super::yaml::{self, Node, NodeValue};

/// Where values like `${GHL_TOKEN}` come from: the process environment in production, a map in
/// tests. Any `Fn(&str) -> Option<String>` is an `Env`.
pub trait Env {
    /// The variable's value, if set.
    fn var(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// One setting of a connection.
#[derive(Clone, PartialEq)]
pub enum Setting {
    Text(String),
    Number(serde_json::Number),
    Bool(bool),
    /// From the environment, or under a secret-looking name; prints as `***`.
    Secret(Secret),
}

impl Setting {
    /// The value as text (exposing secrets: for the connector that must send them).
    pub fn expose(&self) -> String {
        match self {
            Self::Text(s) => s.clone(),
            Self::Number(n) => n.to_string(),
            Self::Bool(b) => b.to_string(),
            Self::Secret(s) => s.expose().to_owned(),
        }
    }
}

impl fmt::Debug for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(s) => write!(f, "{s:?}"),
            Self::Number(n) => write!(f, "{n}"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Secret(_) => f.write_str("***"),
        }
    }
}

/// A named account in an app.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub name: String,
    pub app: AppKind,
    /// Everything but `app`, for the connector's own config to read.
    pub settings: BTreeMap<String, Setting>,
}

/// A loaded project: connections and every flow, all validated.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project file.
    pub file: PathBuf,
    /// The folder flows were read from.
    pub flows_dir: PathBuf,
    pub connections: BTreeMap<String, Connection>,
    /// Sorted by file name.
    pub flows: Vec<Flow>,
}

impl Project {
    /// Connection name → app, as flow validation needs it.
    pub fn apps(&self) -> Connections {
        apps(&self.connections)
    }

    /// The project folder (that of the project file; `.` for a bare file name): relative
    /// settings resolve against it, and `report` actions write into it.
    pub fn dir(&self) -> PathBuf {
        self.file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }
}

fn apps(conns: &BTreeMap<String, Connection>) -> Connections {
    conns.iter().map(|(n, c)| (n.clone(), c.app)).collect()
}

/// The project file itself, before flows are read.
#[derive(Debug, Clone)]
pub struct ProjectFile {
    pub connections: BTreeMap<String, Connection>,
    /// As written (relative to the project file); `flows` by default.
    pub flows_dir: String,
}

fn is_secret_name(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["token", "secret", "password", "key", "credential"]
        .iter()
        .any(|w| k.contains(w))
}

/// Parses `ghl-bridge.yaml` text, interpolating `${VAR}` from `env`.
pub fn parse_project(text: &str, file: &str, env: &dyn Env) -> Result<ProjectFile, FlowError> {
    let src = Source::new(file, text);
    let root = yaml::parse(&src).map_err(|d| FlowError::new(vec![*d]))?;
    let mut ctx = Ctx::new(&src);
    let out = decode_project(&mut ctx, &root, env);
    match out {
        Some(p) if ctx.diags.is_empty() => Ok(p),
        _ => Err(FlowError::new(ctx.diags)),
    }
}

fn decode_project(ctx: &mut Ctx<'_>, root: &Node, env: &dyn Env) -> Option<ProjectFile> {
    let m = ctx.map(
        root,
        "",
        "the project file",
        &["version", "connections", "flows"],
    )?;
    if let Some(v) = m.get("version") {
        if v.value != NodeValue::Int(1) {
            ctx.error(
                v.pos,
                "version",
                format!("unsupported version: found {}", v.describe()),
                Some("the only version is 1".into()),
            );
        }
    }
    let flows_dir = match m.get("flows") {
        Some(n) => ctx.nonempty_text(n, "flows")?,
        None => "flows".into(),
    };
    let conns_node = m.require(ctx, "connections", "the project file")?;
    let cm = ctx.any_map(conns_node, "connections", "connection name → settings")?;
    let mut connections = BTreeMap::new();
    for (key, node) in cm.entries {
        let path = cm.at(&key.name);
        let valid = !key.name.is_empty()
            && key
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            ctx.error(key.pos, &path, format!("`{}` is not a valid connection name", key.name), Some("use lower-case letters, digits and `_` (names appear in triggers like `crm_main.contact.updated`)".into()));
            continue;
        }
        if let Some(c) = decode_connection(ctx, &key.name, node, &path, env) {
            connections.insert(key.name.clone(), c);
        }
    }
    Some(ProjectFile {
        connections,
        flows_dir,
    })
}

fn decode_connection(
    ctx: &mut Ctx<'_>,
    name: &str,
    node: &Node,
    path: &str,
    env: &dyn Env,
) -> Option<Connection> {
    let m = ctx.any_map(node, path, "a connection: `app` and its settings")?;
    let app_node = m.require(ctx, "app", "a connection")?;
    let apps: Vec<&str> = AppKind::ALL.iter().map(|a| a.as_str()).collect();
    let app = ctx
        .choice(app_node, &m.at("app"), "app", &apps)
        .and_then(AppKind::parse);
    let mut settings = BTreeMap::new();
    for (key, value) in m.entries.iter().filter(|(k, _)| k.name != "app") {
        let p = m.at(&key.name);
        let setting = match &value.value {
            NodeValue::Str(s) => {
                let Some((text, from_env)) = interpolate(ctx, value, &p, s, env) else {
                    continue;
                };
                if from_env || is_secret_name(&key.name) {
                    Setting::Secret(Secret::new(text))
                } else {
                    Setting::Text(text)
                }
            }
            NodeValue::Bool(b) => Setting::Bool(*b),
            NodeValue::Int(_) | NodeValue::Float(_) => match value.to_json() {
                serde_json::Value::Number(n) => Setting::Number(n),
                _ => continue,
            },
            _ => {
                ctx.wrong_type(value, &p, "a single value (text, number, true/false)");
                continue;
            }
        };
        settings.insert(key.name.clone(), setting);
    }
    Some(Connection {
        name: name.to_owned(),
        app: app?,
        settings,
    })
}

/// Replaces `${VAR}` (and `${VAR:-default}`) from `env`; `$$` is a literal `$`. Returns the text
/// and whether anything came from the environment.
fn interpolate(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    s: &str,
    env: &dyn Env,
) -> Option<(String, bool)> {
    let mut out = String::new();
    let mut from_env = false;
    let mut ok = true;
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
            continue;
        }
        let Some(inner_start) = after.strip_prefix('{') else {
            out.push('$');
            rest = after;
            continue;
        };
        let Some(end) = inner_start.find('}') else {
            ctx.error(
                node.pos,
                path,
                "unclosed `${` in value",
                Some("write `${VARIABLE}`, or `$$` for a literal `$`".into()),
            );
            return None;
        };
        let inner = &inner_start[..end];
        let (var, default) = match inner.split_once(":-") {
            Some((v, d)) => (v, Some(d)),
            None => (inner, None),
        };
        let valid = var
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            ctx.error(
                node.pos,
                path,
                format!("`${{{inner}}}` is not a variable reference"),
                Some("variable names are letters, digits and `_`: `${GHL_TOKEN}`".into()),
            );
            ok = false;
        } else {
            match env.var(var).or_else(|| default.map(str::to_owned)) {
                Some(v) => {
                    out.push_str(&v);
                    from_env = true;
                }
                None => {
                    ctx.error(node.pos, path, format!("environment variable `{var}` is not set"), Some(format!("set it before starting (export {var}=…), or give a default: `${{{var}:-value}}`")));
                    ok = false;
                }
            }
        }
        rest = &inner_start[end + 1..];
    }
    out.push_str(rest);
    ok.then_some((out, from_env))
}

/// Loads `ghl-bridge.yaml` and every flow in its folder, reading `${VAR}` from the process
/// environment. Reports every problem in every file.
pub fn load_project(path: &Path) -> Result<Project, FlowError> {
    load_project_with(path, &ProcessEnv)
}

/// [`load_project`] with variables from `env`.
pub fn load_project_with(path: &Path, env: &dyn Env) -> Result<Project, FlowError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        FlowError::new(vec![Diagnostic::file_level(
            &file,
            format!("cannot read the project file: {e}"),
        )])
    })?;
    let pf = parse_project(&text, &file, env)?;
    let base = path.parent().unwrap_or(Path::new(""));
    let flows_dir = base.join(&pf.flows_dir);
    let flows = load_flows(&flows_dir, &apps(&pf.connections))?;
    Ok(Project {
        file: path.to_owned(),
        flows_dir,
        connections: pf.connections,
        flows,
    })
}

/// Loads every `*.yaml` / `*.yml` file of `dir` (sorted by name) as one flow each; flow names
/// must be unique.
pub fn load_flows(dir: &Path, connections: &Connections) -> Result<Vec<Flow>, FlowError> {
    let shown = dir.display().to_string();
    let entries = std::fs::read_dir(dir).map_err(|e| {
        FlowError::new(vec![Diagnostic::file_level(&shown, format!("cannot read the flows folder: {e}"))
            .with_help("create it, or point `flows:` in ghl-bridge.yaml at the folder that holds the flow files")])
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
        })
        .collect();
    files.sort();
    let mut diags = Vec::new();
    let mut flows: Vec<Flow> = Vec::new();
    for f in files {
        let name = f.display().to_string();
        let text = match std::fs::read_to_string(&f) {
            Ok(t) => t,
            Err(e) => {
                diags.push(Diagnostic::file_level(
                    &name,
                    format!("cannot read the flow file: {e}"),
                ));
                continue;
            }
        };
        match parse_flow_diags(&text, &name, connections) {
            Ok(flow) => {
                if let Some(other) = flows.iter().find(|o| o.name == flow.name) {
                    diags.push(
                        Diagnostic::file_level(
                            &name,
                            format!(
                                "a flow named `{}` is already defined in {}",
                                flow.name, other.file
                            ),
                        )
                        .with_help("flow names must be unique; rename one of them"),
                    );
                } else {
                    flows.push(flow);
                }
            }
            Err(ds) => diags.extend(ds),
        }
    }
    if diags.is_empty() {
        Ok(flows)
    } else {
        Err(FlowError::new(diags))
    }
}
