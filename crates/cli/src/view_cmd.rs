//! `ghl-bridge view`: the unified view of a project's people — per person, the contact, tasks,
//! notes, appointments and tags every connected app holds, with a merged summary — as text, JSON
//! or CSV; `--report` gives one line per person, `--timeline` the activity in date order.
//!
//! It reads the store `ghl-bridge run` keeps (the identity links say which records are the
//! same person) and asks each app for the records as they are now. It never writes to an app.

use std::path::{Path, PathBuf};

use clap::Args;
use engine::connections::ConnectorFactory;
use engine::flow::{load_project, Project};
use engine::store::{self, Store};
use engine::sync::Connectors;
use engine::unified::{render, timeline, ExportFormat, ExportKind, PersonView, UnifiedView, Who};

use crate::run_cmd::{default_database, redact_url};

/// Options of `ghl-bridge view`.
#[derive(Args, Debug, Clone)]
pub struct ViewArgs {
    /// The project file (`ghl-bridge.yaml`).
    #[arg(long, default_value = "ghl-bridge.yaml")]
    pub project: PathBuf,
    /// Database URL (default: the `ghl-bridge.db` SQLite file next to the project file, as
    /// `ghl-bridge run` uses).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database: Option<String>,
    #[command(flatten)]
    pub who: Target,
    /// With `--contact`: the connection the id belongs to (default: GHL first, then the others).
    #[arg(long, requires = "contact")]
    pub connection: Option<String>,
    /// JSON for other tools.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// CSV for a spreadsheet.
    #[arg(long)]
    pub csv: bool,
    /// One line per person: contact details, open/overdue/completed tasks, notes, next and last
    /// activity.
    #[arg(long, conflicts_with = "timeline")]
    pub report: bool,
    /// Notes, tasks and appointments of every app in date order.
    #[arg(long)]
    pub timeline: bool,
    /// With `--all`: show this page only (from 1); every person when left out.
    #[arg(long, requires = "all", value_parser = clap::value_parser!(u32).range(1..))]
    pub page: Option<u32>,
    /// People per page.
    #[arg(long, default_value_t = 50, requires = "page", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub per_page: u32,
}

/// Whom to show: exactly one of these.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct Target {
    /// The person with this email (looked up in each app, GHL first).
    #[arg(long)]
    pub email: Option<String>,
    /// The person whose contact has this id (a GHL contact id, or another app's with
    /// `--connection`).
    #[arg(long)]
    pub contact: Option<String>,
    /// Every person the project has linked.
    #[arg(long)]
    pub all: bool,
}

fn load(path: &Path) -> Result<Project, String> {
    load_project(path).map_err(|e| {
        eprintln!("{e}");
        format!("{} has problems; fix them first", path.display())
    })
}

/// Connects every connection of the project that can be built; the others are reported and
/// left out (their sections then say so).
async fn connect(project: &Project, store: &std::sync::Arc<dyn Store>) -> Connectors {
    let factory = ConnectorFactory::new();
    // Tokens and keys stored by `ghl-bridge connect` (sealed in the store) fill in the
    // connections whose project settings leave them out.
    let names = project.connections.keys().cloned().collect();
    if let Err(errors) = factory.load_credentials_for(store, project, &names).await {
        for e in errors.0 {
            eprintln!("warning: {e}");
        }
    }
    let dir = project
        .file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut out = Connectors::new();
    for (name, conn) in &project.connections {
        match factory.build(conn, &dir) {
            Ok(c) => {
                out.insert(name.clone(), c);
            }
            Err(errors) => {
                for e in errors {
                    eprintln!("warning: {e}; its records are not shown");
                }
            }
        }
    }
    out
}

/// Opens the store without creating it: a view of a project never run has nothing to show.
async fn open_store(args: &ViewArgs) -> Result<std::sync::Arc<dyn Store>, String> {
    let url = match args.database.clone().filter(|u| !u.trim().is_empty()) {
        Some(u) => u,
        None => {
            let default = default_database(&args.project);
            let file = default
                .trim_start_matches("sqlite://")
                .trim_end_matches("?mode=rwc")
                .to_string();
            if !Path::new(&file).exists() {
                return Err(format!(
                    "no database at {file}: run the project first (ghl-bridge run --project {} --once), or pass --database",
                    args.project.display()
                ));
            }
            default
        }
    };
    let shown = redact_url(&url);
    store::open(&url)
        .await
        .map_err(|e| format!("database {shown}: {e}"))
}

/// The people `args` asks for, as every app holds them now, and how many linked people there
/// are in all (list mode). `export` uses it to write the same CSV as `view --csv`.
pub async fn gather(args: &ViewArgs) -> Result<(Vec<PersonView>, Option<usize>), String> {
    let project = load(&args.project)?;
    let store = open_store(args).await?;
    let connectors = engine::audit::audited(connect(&project, &store).await, &store);
    let view = UnifiedView::new(store.as_ref(), &connectors);
    let people = people(&view, args).await;
    store.close().await;
    people
}

/// Runs `ghl-bridge view`.
pub async fn run(args: ViewArgs) -> Result<(), String> {
    let (people, total) = gather(&args).await?;
    let kind = if args.report {
        ExportKind::Report
    } else if args.timeline {
        ExportKind::Timeline
    } else {
        ExportKind::Records
    };
    if args.json || args.csv {
        let format = if args.json {
            ExportFormat::Json
        } else {
            ExportFormat::Csv
        };
        print!("{}", render(&people, kind, format));
        return Ok(());
    }
    print!("{}", text(&people, kind, total, &args));
    Ok(())
}

/// The people asked for, and how many linked people there are in all (list mode).
async fn people(
    view: &UnifiedView<'_>,
    args: &ViewArgs,
) -> Result<(Vec<PersonView>, Option<usize>), String> {
    let who = if let Some(e) = &args.who.email {
        Who::Email(e.clone())
    } else if let Some(id) = &args.who.contact {
        Who::Contact {
            connection: args.connection.clone(),
            id: id.clone(),
        }
    } else {
        return match args.page {
            Some(page) => {
                let per = args.per_page as usize;
                let offset = (page as usize - 1) * per;
                let p = view.list(offset, per).await.map_err(|e| e.to_string())?;
                Ok((p.people, Some(p.total)))
            }
            None => {
                let all = view
                    .people(&engine::unified::Scope::All)
                    .await
                    .map_err(|e| e.to_string())?;
                let n = all.len();
                Ok((all, Some(n)))
            }
        };
    };
    match view.person(&who).await.map_err(|e| e.to_string())? {
        Some(p) => Ok((vec![p], None)),
        None => Err(match who {
            Who::Email(e) => format!("nobody with the email {e} in any app of the project"),
            Who::Contact { id, .. } => format!("no contact {id} in any app of the project"),
            Who::Identity(i) => format!("no person {i}"),
        }),
    }
}

fn day(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "-".into())
}

/// The text a person reads in a terminal.
fn text(people: &[PersonView], kind: ExportKind, total: Option<usize>, args: &ViewArgs) -> String {
    let mut out = String::new();
    if let Some(total) = total {
        let first = args
            .page
            .map_or(0, |p| (p as usize - 1) * args.per_page as usize);
        out.push_str(&match (people.len(), args.page) {
            (0, _) => format!("no linked people on this page ({total} in all)\n"),
            (n, Some(p)) => format!(
                "people {}–{} of {total} (page {p})\n\n",
                first + 1,
                first + n
            ),
            (n, None) => format!("{n} linked people\n\n"),
        });
    }
    for p in people {
        match kind {
            ExportKind::Report => report_line(&mut out, p),
            ExportKind::Timeline => timeline_text(&mut out, p),
            ExportKind::Records => person_text(&mut out, p),
        }
    }
    out
}

fn heading(p: &PersonView) -> String {
    let s = &p.summary;
    let mut h = s.name.clone().unwrap_or_else(|| "(no name)".into());
    if let Some(e) = &s.email {
        h.push_str(&format!(" <{e}>"));
    }
    if let Some(ph) = &s.phone {
        h.push_str(&format!("  {ph}"));
    }
    match p.identity_id {
        Some(i) => h.push_str(&format!("  · person {i}")),
        None => h.push_str("  · not linked to other apps yet"),
    }
    h
}

fn person_text(out: &mut String, p: &PersonView) {
    let s = &p.summary;
    out.push_str(&heading(p));
    out.push('\n');
    if !s.tags.is_empty() {
        out.push_str(&format!("  tags: {}\n", s.tags.join(", ")));
    }
    out.push_str(&format!(
        "  tasks: {} open ({} overdue), {} completed · notes: {} · appointments: {} · last activity {}\n",
        s.tasks.open, s.tasks.overdue, s.tasks.completed, s.notes, s.appointments,
        day(s.last_activity_at)
    ));
    if let Some(t) = &s.next_task {
        out.push_str(&format!("  next task: {} (due {})\n", t.title, day(t.at)));
    }
    if let Some(a) = &s.next_appointment {
        out.push_str(&format!(
            "  next appointment: {} ({})\n",
            a.title,
            day(a.at)
        ));
    }
    for a in &p.apps {
        out.push_str(&format!(
            "  {} ({}) contact {}\n",
            a.connection, a.app, a.contact_id
        ));
        for t in &a.tasks {
            out.push_str(&format!(
                "    task [{}] {} · due {}\n",
                t.status.as_deref().unwrap_or("open"),
                one_line(t.title.as_deref()),
                day(t.due_at)
            ));
        }
        for n in &a.notes {
            out.push_str(&format!(
                "    note {} · {}\n",
                one_line(n.title.as_deref()),
                day(n.updated_at)
            ));
        }
        for ap in &a.appointments {
            out.push_str(&format!(
                "    appointment [{}] {} · {}\n",
                ap.status.as_deref().unwrap_or("-"),
                one_line(ap.title.as_deref()),
                day(ap.start_at)
            ));
        }
        for problem in &a.problems {
            out.push_str(&format!("    ! {problem}\n"));
        }
    }
    out.push('\n');
}

fn one_line(s: Option<&str>) -> String {
    s.unwrap_or("").lines().next().unwrap_or("").to_string()
}

fn report_line(out: &mut String, p: &PersonView) {
    let r = engine::unified::report_row(p);
    out.push_str(&format!(
        "{} · apps: {} · tasks {} open / {} overdue / {} done · next: {} ({}) · notes {} · last activity {}\n",
        heading(p),
        r.apps.join(", "),
        r.open_tasks,
        r.overdue_tasks,
        r.completed_tasks,
        r.next_task.as_deref().unwrap_or("-"),
        day(r.next_task_due),
        r.notes,
        day(r.last_activity_at),
    ));
}

fn timeline_text(out: &mut String, p: &PersonView) {
    out.push_str(&heading(p));
    out.push('\n');
    let entries = timeline(p);
    if entries.is_empty() {
        out.push_str("  (no notes, tasks or appointments in any app)\n");
    }
    for e in entries {
        let apps: Vec<&str> = e.copies.iter().map(|c| c.connection.as_str()).collect();
        out.push_str(&format!(
            "  {}  {:<16} {}  [{}]\n",
            day(e.at),
            e.event,
            one_line(e.title.as_deref()),
            apps.join(", ")
        ));
    }
    out.push('\n');
}
