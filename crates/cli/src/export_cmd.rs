//! `ghl-bridge export`: the unified view as a CSV file for a spreadsheet — every linked person,
//! or the people with the given emails. The rows are exactly those of `ghl-bridge view --csv`
//! (the same gathering in `view_cmd`, the same table in `engine::unified`).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use engine::unified::{render, ExportFormat, ExportKind, PersonView};

use crate::project_ctx::{require_project_file, ProjectArgs};
use crate::view_cmd::{self, Target, ViewArgs};

/// Options of `ghl-bridge export`.
#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Write the CSV to this file (default: stdout).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Only the person with this email; repeat for several (default: every linked person).
    #[arg(long)]
    pub email: Vec<String>,
    /// One row per person (contact details, task counts, next and last activity) instead of one
    /// per record.
    #[arg(long, conflicts_with = "timeline")]
    pub report: bool,
    /// One row per note, task or appointment, in date order.
    #[arg(long)]
    pub timeline: bool,
}

fn view_args(args: &ExportArgs, email: Option<String>) -> ViewArgs {
    ViewArgs {
        project: args.project.project.clone(),
        database: args.project.database.clone(),
        who: Target {
            all: email.is_none(),
            email,
            contact: None,
        },
        connection: None,
        json: false,
        csv: true,
        report: args.report,
        timeline: args.timeline,
        page: None,
        per_page: 50,
    }
}

/// Runs `ghl-bridge export`.
pub async fn run(args: ExportArgs) -> Result<(), String> {
    require_project_file(&args.project.project)?;
    let mut people: Vec<PersonView> = Vec::new();
    if args.email.is_empty() {
        people = view_cmd::gather(&view_args(&args, None)).await?.0;
    }
    for email in &args.email {
        for p in view_cmd::gather(&view_args(&args, Some(email.clone())))
            .await?
            .0
        {
            let seen =
                p.identity_id.is_some() && people.iter().any(|q| q.identity_id == p.identity_id);
            if !seen {
                people.push(p);
            }
        }
    }
    let kind = if args.report {
        ExportKind::Report
    } else if args.timeline {
        ExportKind::Timeline
    } else {
        ExportKind::Records
    };
    let csv = render(&people, kind, ExportFormat::Csv);
    match &args.out {
        Some(path) => {
            let mut f = std::fs::File::create(path).map_err(|e| {
                format!(
                    "cannot write {}: {e}; check the folder exists",
                    path.display()
                )
            })?;
            f.write_all(csv.as_bytes())
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
            eprintln!("wrote {} person(s) to {}", people.len(), path.display());
        }
        None => print!("{csv}"),
    }
    if people.is_empty() {
        eprintln!("nobody is linked yet: sync first (`ghl-bridge sync run`), then export again");
    }
    Ok(())
}
