//! What the operator commands (`flows`, `sync`, `dlq`, `audit`, `export`) share: the
//! `--project`/`--database` options, loading the project with errors that say what to do next,
//! opening the store `ghl-bridge run` keeps, and finding a flow by name with a did-you-mean.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use engine::connections::ConnectorFactory;
use engine::flow::{did_you_mean, load_project, Flow, Project};
use engine::store::{self, Store};

use crate::run_cmd::{default_database, redact_url};

/// `--project` and `--database`, as `run` and `view` take them.
#[derive(Args, Debug, Clone)]
pub struct ProjectArgs {
    /// The project file (`ghl-bridge.yaml`: connections and the flows folder).
    #[arg(long, default_value = "ghl-bridge.yaml", global = true)]
    pub project: PathBuf,
    /// Database URL (default: the `ghl-bridge.db` SQLite file next to the project file, as
    /// `ghl-bridge run` uses).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database: Option<String>,
}

impl ProjectArgs {
    /// The database URL to use: `--database`/`DATABASE_URL`, else the project's default.
    pub fn database_url(&self) -> String {
        self.database
            .clone()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| default_database(&self.project))
    }
}

/// Fails with what to do when the project file does not exist (the loader's "cannot read"
/// does not say how to get one).
pub fn require_project_file(path: &Path) -> Result<(), String> {
    if path.is_file() {
        return Ok(());
    }
    Err(format!(
        "no project file at {}: run `ghl-bridge init` to make one, or pass --project PATH/ghl-bridge.yaml",
        path.display()
    ))
}

/// Loads the project, printing every problem in it (file:line:col) on stderr.
pub fn load(path: &Path) -> Result<Project, String> {
    require_project_file(path)?;
    load_project(path).map_err(|e| {
        eprintln!("{e}");
        let n = e.diagnostics.len();
        format!(
            "{} has {n} problem{}; fix them (`ghl-bridge flows validate` lists them) and try again",
            path.display(),
            if n == 1 { "" } else { "s" }
        )
    })
}

/// The flow named `name`, or an error listing the likely one and every flow there is.
pub fn find_flow<'a>(project: &'a Project, name: &str) -> Result<&'a Flow, String> {
    project
        .flows
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| unknown_flow(project, name))
}

/// "no flow named X; did you mean Y? the flows are: …".
pub fn unknown_flow(project: &Project, name: &str) -> String {
    let names: Vec<&str> = project.flows.iter().map(|f| f.name.as_str()).collect();
    let mut text = format!("no flow named `{name}` in {}", project.file.display());
    if let Some(close) = did_you_mean(name, names.iter().copied()) {
        text.push_str(&format!("; did you mean `{close}`?"));
    }
    if names.is_empty() {
        text.push_str(&format!(
            "; the project has no flows yet: add a file to {}",
            project.flows_dir.display()
        ));
    } else {
        text.push_str(&format!(
            "\nthe flows are: {} (see `ghl-bridge flows list`)",
            names.join(", ")
        ));
    }
    text
}

/// Checks a connection name against the project's, with a did-you-mean.
pub fn check_connection(project: &Project, name: &str) -> Result<(), String> {
    if project.connections.contains_key(name) {
        return Ok(());
    }
    let names: Vec<&str> = project.connections.keys().map(String::as_str).collect();
    let hint = did_you_mean(name, names.iter().copied())
        .map(|c| format!("did you mean `{c}`? "))
        .unwrap_or_default();
    Err(format!(
        "no connection named `{name}` in {}; {hint}the connections are: {}",
        project.file.display(),
        if names.is_empty() {
            "(none)".to_string()
        } else {
            names.join(", ")
        }
    ))
}

/// Opens the store without creating it: reading a project never run has nothing to show, and
/// making an empty database would hide a mistyped path.
pub async fn open_existing_store(args: &ProjectArgs) -> Result<Arc<dyn Store>, String> {
    let url = args.database_url();
    if let Some(rest) = url.strip_prefix("sqlite://") {
        let file = rest.split('?').next().unwrap_or_default();
        if !file.is_empty() && !file.contains(":memory:") && !Path::new(file).exists() {
            return Err(format!(
                "no database at {file}: run the project first (`ghl-bridge sync run --project {}`), or pass --database",
                args.project.display()
            ));
        }
    }
    open_store(&url).await
}

/// Opens (creating a SQLite file if needed) the store at `url`; the error hides any password.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, String> {
    let shown = redact_url(url);
    store::open(url)
        .await
        .map_err(|e| format!("database {shown}: {e}"))
}

/// Connects one connection of the project, naming every setting at fault.
pub fn connect_one(
    project: &Project,
    name: &str,
) -> Result<Arc<dyn connectors::Connector>, String> {
    check_connection(project, name)?;
    let conn = &project.connections[name];
    ConnectorFactory::new()
        .build(conn, &project.dir())
        .map_err(|errors| {
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        })
}

/// `Some(s)` unless empty, for optional filters given as `--flow ''`.
pub fn non_empty(s: &Option<String>) -> Option<String> {
    s.clone().filter(|s| !s.trim().is_empty())
}

/// Parses `2024-03-01`, `2024-03-01T10:00:00Z` or a duration back from now (`7d`, `12h`).
pub fn parse_since(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let t = text.trim();
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        if let Some(dt) = d.and_hms_opt(0, 0, 0) {
            return Ok(dt.and_utc());
        }
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&chrono::Utc));
    }
    if let Ok(d) = crate::run_cmd::parse_duration(t) {
        let back = chrono::Duration::from_std(d).map_err(|_| format!("`{t}` is too long"))?;
        return Ok(chrono::Utc::now() - back);
    }
    Err(format!(
        "`{t}` is not a date: write 2024-03-01, 2024-03-01T10:00:00Z, or a time back from now such as 7d or 12h"
    ))
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_dates_times_and_durations() {
        assert_eq!(
            parse_since("2024-03-01").map(|d| d.to_rfc3339()),
            Ok("2024-03-01T00:00:00+00:00".to_string())
        );
        assert!(parse_since("2024-03-01T10:00:00Z").is_ok());
        let week = parse_since("7d").expect("7d");
        let age = chrono::Utc::now() - week;
        assert!((age.num_hours() - 168).abs() <= 1);
        assert!(parse_since("last tuesday")
            .unwrap_err()
            .contains("not a date"));
    }
}
