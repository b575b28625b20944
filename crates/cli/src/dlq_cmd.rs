//! `ghl-bridge dlq`: the dead-letter queue — jobs that failed every attempt. `list` shows why
//! each failed, `replay` puts jobs back to run now (after the cause is fixed), `discard` drops
//! one for good. Replayed jobs run with the next `ghl-bridge sync run` or a running `serve`.

use clap::{Args, Subcommand};
use engine::store::{DlqFilter, Job, JobId, Page, Store, StoreError};
use serde_json::{json, Value};

use crate::project_ctx::{self, non_empty, open_existing_store, print_json, ProjectArgs};

/// Options of `ghl-bridge dlq`.
#[derive(Args, Debug, Clone)]
pub struct DlqArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(subcommand)]
    pub action: DlqAction,
}

/// What to do with dead jobs.
#[derive(Subcommand, Debug, Clone)]
pub enum DlqAction {
    /// Dead jobs, most recent first, with their last error.
    List {
        /// Only this flow's.
        #[arg(long)]
        flow: Option<String>,
        /// Only jobs about records of this connection.
        #[arg(long)]
        connection: Option<String>,
        /// JSON for other tools.
        #[arg(long)]
        json: bool,
    },
    /// Put dead jobs back to run now, with their attempts reset.
    Replay {
        /// The job id (see `dlq list`).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        /// Every dead job (of `--flow` when given).
        #[arg(long)]
        all: bool,
        /// With `--all`: only this flow's.
        #[arg(long, requires = "all")]
        flow: Option<String>,
    },
    /// Delete one dead job for good.
    Discard {
        /// The job id (see `dlq list`).
        id: i64,
    },
}

/// Runs `ghl-bridge dlq`.
pub async fn run(args: DlqArgs) -> Result<(), String> {
    project_ctx::require_project_file(&args.project.project)?;
    let store = open_existing_store(&args.project).await?;
    let out = act(store.as_ref(), &args).await;
    store.close().await;
    out
}

/// The connection a job's entity belongs to (`connection:kind:id`).
fn job_connection(job: &Job) -> &str {
    job.entity_key.split(':').next().unwrap_or_default()
}

/// Every dead job matching the filters (pages through the store).
async fn dead_jobs(
    store: &dyn Store,
    flow: Option<String>,
    connection: Option<&str>,
) -> Result<Vec<Job>, String> {
    let filter = DlqFilter {
        flow_id: flow,
        entity_key: None,
    };
    let mut out = Vec::new();
    let mut page = Page {
        limit: 1000,
        offset: 0,
    };
    loop {
        let jobs = store
            .dlq_list(&filter, page)
            .await
            .map_err(|e| format!("reading the dead-letter queue: {e}"))?;
        let n = jobs.len();
        out.extend(
            jobs.into_iter()
                .filter(|j| connection.is_none_or(|c| job_connection(j) == c)),
        );
        if n < page.limit as usize {
            return Ok(out);
        }
        page.offset += page.limit;
    }
}

fn job_json(j: &Job) -> Value {
    json!({
        "id": j.id,
        "flow": j.flow_id,
        "entity": j.entity_key,
        "connection": job_connection(j),
        "attempts": j.attempts,
        "last_error": j.last_error,
        "created_at": j.created_at,
        "dead_at": j.finished_at,
    })
}

fn replay_error(id: i64, e: StoreError) -> String {
    match e {
        StoreError::NotFound { .. } => format!(
            "job {id} is not in the dead-letter queue (already replayed, discarded, or never dead); `ghl-bridge dlq list` shows the dead jobs"
        ),
        other => format!("job {id}: {other}"),
    }
}

async fn act(store: &dyn Store, args: &DlqArgs) -> Result<(), String> {
    match &args.action {
        DlqAction::List {
            flow,
            connection,
            json,
        } => {
            let conn = non_empty(connection);
            let jobs = dead_jobs(store, non_empty(flow), conn.as_deref()).await?;
            if *json {
                print_json(&Value::Array(jobs.iter().map(job_json).collect()));
                return Ok(());
            }
            if jobs.is_empty() {
                println!(
                    "the dead-letter queue is empty{}: no job failed for good",
                    scope(flow, connection)
                );
                return Ok(());
            }
            println!("{} dead job(s){}:", jobs.len(), scope(flow, connection));
            for j in &jobs {
                let when = j
                    .finished_at
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_else(|| "-".into());
                println!(
                    "  #{}  {}  flow `{}`  {}  after {} attempt(s)\n      {}",
                    j.id,
                    when,
                    j.flow_id,
                    j.entity_key,
                    j.attempts,
                    j.last_error.as_deref().unwrap_or("(no error recorded)")
                );
            }
            println!("\nfix the cause, then `ghl-bridge dlq replay ID` (or `--all`); `dlq discard ID` drops one");
            Ok(())
        }
        DlqAction::Replay { id, all, flow } => {
            let ids: Vec<i64> = match (id, all) {
                (Some(id), _) => vec![*id],
                (None, true) => dead_jobs(store, non_empty(flow), None)
                    .await?
                    .iter()
                    .map(|j| j.id.0)
                    .collect(),
                (None, false) => return Err("pass a job id or --all".into()),
            };
            if ids.is_empty() {
                println!(
                    "the dead-letter queue is empty{}: nothing to replay",
                    scope(flow, &None)
                );
                return Ok(());
            }
            for id in &ids {
                store
                    .dlq_replay(JobId(*id))
                    .await
                    .map_err(|e| replay_error(*id, e))?;
            }
            println!(
                "replayed {} job(s) ({}); they run now with `ghl-bridge sync run`, or at once in a running `ghl-bridge serve`",
                ids.len(),
                ids.iter().map(|i| format!("#{i}")).collect::<Vec<_>>().join(", ")
            );
            Ok(())
        }
        DlqAction::Discard { id } => {
            store
                .dlq_discard(JobId(*id))
                .await
                .map_err(|e| replay_error(*id, e))?;
            println!("discarded job #{id}");
            Ok(())
        }
    }
}

fn scope(flow: &Option<String>, connection: &Option<String>) -> String {
    let mut parts = Vec::new();
    if let Some(f) = non_empty(flow) {
        parts.push(format!("flow `{f}`"));
    }
    if let Some(c) = non_empty(connection) {
        parts.push(format!("connection `{c}`"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" for {}", parts.join(" and "))
    }
}
