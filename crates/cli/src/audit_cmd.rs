//! `ghl-bridge audit`: what the engine did, from the store's audit log — `calls` (every API call
//! to an app: method, path without query, status, latency) and `changes` (every write to a
//! record: which flow, create/update/delete, field by field). Newest first.

use clap::{Args, Subcommand};
use engine::store::{CallFilter, ChangeFilter, Page};
use serde_json::{json, Value};

use crate::project_ctx::{
    non_empty, open_existing_store, parse_since, print_json, require_project_file, ProjectArgs,
};

/// Options of `ghl-bridge audit`.
#[derive(Args, Debug, Clone)]
pub struct AuditArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(subcommand)]
    pub what: AuditWhat,
}

/// Which log.
#[derive(Subcommand, Debug, Clone)]
pub enum AuditWhat {
    /// API calls made to the apps.
    Calls(AuditFilter),
    /// Writes made to records, field by field.
    Changes(AuditFilter),
}

/// Filters of both logs.
#[derive(Args, Debug, Clone)]
pub struct AuditFilter {
    /// Only this connection.
    #[arg(long)]
    pub connection: Option<String>,
    /// Only this flow (changes; calls are kept per connection and job, not per flow).
    #[arg(long)]
    pub flow: Option<String>,
    /// Only since this time: 2024-03-01, 2024-03-01T10:00:00Z, or back from now (7d, 12h).
    #[arg(long, value_parser = parse_since)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// At most this many, newest first.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
    /// JSON for other tools.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ghl-bridge audit`.
pub async fn run(args: AuditArgs) -> Result<(), String> {
    require_project_file(&args.project.project)?;
    let store = open_existing_store(&args.project).await?;
    let page = |f: &AuditFilter| Page {
        limit: f.limit,
        offset: 0,
    };
    let out = match &args.what {
        AuditWhat::Calls(f) => {
            if non_empty(&f.flow).is_some() {
                store.close().await;
                return Err("`audit calls` cannot filter by flow (calls are kept per connection); use --connection, or `audit changes --flow`".into());
            }
            store
                .calls(&CallFilter {
                    connection_id: non_empty(&f.connection),
                    since: f.since,
                    page: page(f),
                    ..CallFilter::default()
                })
                .await
                .map(|calls| {
                    let rows: Vec<Value> = calls
                        .iter()
                        .map(|c| serde_json::to_value(c).unwrap_or_default())
                        .collect();
                    let lines: Vec<String> = calls
                        .iter()
                        .map(|c| {
                            let c = &c.call;
                            format!(
                                "{}  {:<10} {:<6} {:<40} {:>4}  {:>5}ms{}",
                                c.at.format("%Y-%m-%d %H:%M:%S"),
                                c.connection_id,
                                c.method,
                                c.path,
                                c.status.map_or("-".into(), |s| s.to_string()),
                                c.latency_ms,
                                c.job_id.map_or(String::new(), |j| format!("  job #{j}"))
                            )
                        })
                        .collect();
                    (rows, lines, "API calls")
                })
        }
        AuditWhat::Changes(f) => store
            .changes(&ChangeFilter {
                connection_id: non_empty(&f.connection),
                flow_id: non_empty(&f.flow),
                since: f.since,
                page: page(f),
                ..ChangeFilter::default()
            })
            .await
            .map(|changes| {
                let rows: Vec<Value> = changes
                    .iter()
                    .map(|c| serde_json::to_value(c).unwrap_or_default())
                    .collect();
                let lines: Vec<String> = changes
                    .iter()
                    .map(|c| {
                        let c = &c.change;
                        let fields: Vec<&str> = c.diff.iter().map(|d| d.field.as_str()).collect();
                        format!(
                            "{}  {:<6} {}:{}:{}  flow `{}`{}",
                            c.at.format("%Y-%m-%d %H:%M:%S"),
                            c.op.as_str(),
                            c.connection_id,
                            c.kind,
                            c.external_id,
                            c.flow_id,
                            if fields.is_empty() {
                                String::new()
                            } else {
                                format!("  fields: {}", fields.join(", "))
                            }
                        )
                    })
                    .collect();
                (rows, lines, "changes")
            }),
    };
    store.close().await;
    let (rows, lines, what) = out.map_err(|e| format!("reading the audit log: {e}"))?;
    let filter = match &args.what {
        AuditWhat::Calls(f) | AuditWhat::Changes(f) => f,
    };
    if filter.json {
        print_json(&json!(rows));
        return Ok(());
    }
    if lines.is_empty() {
        println!(
            "no {what} recorded{}; the engine records them while `ghl-bridge sync run` or `serve` works",
            if filter.since.is_some() || non_empty(&filter.connection).is_some() || non_empty(&filter.flow).is_some() {
                " matching the filters"
            } else {
                " yet"
            }
        );
        return Ok(());
    }
    for l in &lines {
        println!("{l}");
    }
    if lines.len() as u32 == filter.limit {
        println!(
            "(the newest {}; --limit shows more, --since narrows)",
            filter.limit
        );
    }
    Ok(())
}
