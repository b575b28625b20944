//! Decoding the `report` action, and the rule its file path follows.
//!
//! ```yaml
//! - report:
//!     kind: report          # report | records | timeline (default report)
//!     format: csv           # csv | json (default: json for a `.json` file, else csv)
//!     to: "reports/weekly-{{ now[:10] }}.csv"
//! ```
//!
//! `to` is a template, relative to the project folder. A report is written by the engine's own
//! process, with its rights, so the path must never leave the project folder: the text as written
//! is checked when the flow loads (no absolute path, no `..`), and the rendered text again when
//! the action runs, since a template value (an app's field) could hold `../` too.

use std::path::{Path, PathBuf};

use connectors::EntityKind;

use super::actions::Start;
use super::decode::{Ctx, MapView};
use super::model::Action;
use super::parse_mapping::template;
use crate::unified::{ExportFormat, ExportKind};

/// The keys of a `report`.
pub(crate) const REPORT_KEYS: [&str; 3] = ["kind", "format", "to"];

/// The report kinds, as written.
pub const REPORT_KINDS: [&str; 3] = ["report", "records", "timeline"];

/// The report formats, as written.
pub const REPORT_FORMATS: [&str; 2] = ["csv", "json"];

fn kind_of(name: &str) -> ExportKind {
    match name {
        "records" => ExportKind::Records,
        "timeline" => ExportKind::Timeline,
        _ => ExportKind::Report,
    }
}

fn format_of(name: &str) -> ExportFormat {
    match name {
        "json" => ExportFormat::Json,
        _ => ExportFormat::Csv,
    }
}

/// A kind's name as written.
pub(crate) fn kind_name(kind: ExportKind) -> &'static str {
    match kind {
        ExportKind::Report => "report",
        ExportKind::Records => "records",
        ExportKind::Timeline => "timeline",
    }
}

/// A format's name as written, which is also the extension of its files (for the "does `to`
/// match `format`" check).
pub(crate) fn extension(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Csv => "csv",
        ExportFormat::Json => "json",
    }
}

/// Why a report path is refused, or `None` when it is a relative path inside the project
/// folder. Both separators count (`/` and `\`), so a path checked here is safe on every system.
pub fn report_path_problem(path: &str) -> Option<String> {
    let trimmed = path.trim();
    if trimmed.is_empty() {
        return Some("the path is empty".into());
    }
    if trimmed.starts_with('/') || trimmed.starts_with('\\') || has_drive(trimmed) {
        return Some(format!(
            "`{trimmed}` is an absolute path; reports are written inside the project folder"
        ));
    }
    if trimmed.starts_with('~') {
        return Some(format!(
            "`{trimmed}` starts with `~`, which is not expanded; write a path relative to the project folder"
        ));
    }
    if trimmed.split(['/', '\\']).any(|part| part.trim() == "..") {
        return Some(format!(
            "`{trimmed}` uses `..`; reports stay inside the project folder"
        ));
    }
    if trimmed.ends_with('/') || trimmed.ends_with('\\') {
        return Some(format!("`{trimmed}` names a folder, not a file"));
    }
    None
}

/// `C:` at the start: a Windows drive.
fn has_drive(path: &str) -> bool {
    let b = path.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// The file a rendered `to` names, inside `project_dir`; an error (naming `to`) when the path
/// is refused by [`report_path_problem`].
pub fn report_file(project_dir: &Path, rendered: &str) -> Result<PathBuf, String> {
    if let Some(problem) = report_path_problem(rendered) {
        return Err(format!("`to`: {problem}"));
    }
    let rel: PathBuf = rendered.trim().split(['/', '\\']).collect();
    Ok(project_dir.join(rel))
}

/// `report: {kind, format, to}`.
pub(crate) fn report(ctx: &mut Ctx<'_>, m: &MapView<'_>, start: &Start) -> Option<Action> {
    if let Some(k) = start
        .kind
        .filter(|k| *k != EntityKind::Contact && !k.has_parent())
    {
        ctx.error(
            m.pos,
            &m.path,
            format!("`report` reports on the triggering contact's person, but a {k} has no contact"),
            Some("trigger it on a contact, task, note or appointment event, or on a schedule (then it reports on everyone)".into()),
        );
        return None;
    }
    let kind = match m.get("kind") {
        Some(n) => ctx
            .choice(n, &m.at("kind"), "report kind", &REPORT_KINDS)
            .map(kind_of),
        None => Some(ExportKind::Report),
    };
    let to = m.require(ctx, "to", "`report`").and_then(|n| {
        let path = m.at("to");
        let text = ctx.nonempty_text(n, &path)?;
        let t = template(ctx, n, &path)?;
        if let Some(problem) = report_path_problem(&text) {
            ctx.error(
                n.pos,
                &path,
                problem,
                Some("write a path relative to the project folder, e.g. `reports/weekly-{{ now[:10] }}.csv`".into()),
            );
            return None;
        }
        Some(t)
    });
    let written_ext = to.as_ref().and_then(|t| {
        Path::new(t.source())
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
    });
    let format = match m.get("format") {
        Some(n) => {
            let format = ctx
                .choice(n, &m.at("format"), "report format", &REPORT_FORMATS)
                .map(format_of)?;
            let clash = written_ext
                .as_deref()
                .filter(|e| REPORT_FORMATS.contains(e) && *e != extension(format));
            if let Some(ext) = clash {
                ctx.error(
                    n.pos,
                    &m.at("format"),
                    format!(
                        "`format` is {}, but `to` names a .{ext} file",
                        extension(format)
                    ),
                    Some(format!(
                        "write `format: {ext}`, or end `to` with .{}",
                        extension(format)
                    )),
                );
                return None;
            }
            Some(format)
        }
        None if written_ext.as_deref() == Some("json") => Some(ExportFormat::Json),
        None => Some(ExportFormat::Csv),
    };
    Some(Action::Report {
        kind: kind?,
        format: format?,
        to: to?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_project_folder() {
        for ok in [
            "report.csv",
            "reports/weekly-2024-03-04.csv",
            "a/./b.json",
            "..hidden/x.csv",
            "x..csv",
        ] {
            assert_eq!(report_path_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "  ",
            "/etc/passwd",
            "\\\\server\\share\\x.csv",
            "C:\\reports\\x.csv",
            "c:/x.csv",
            "~/x.csv",
            "../x.csv",
            "reports/../../x.csv",
            "reports\\..\\..\\x.csv",
            "reports/ .. /x.csv",
            "reports/",
        ] {
            assert!(report_path_problem(bad).is_some(), "{bad:?} is refused");
        }
    }

    #[test]
    fn the_file_is_under_the_project_folder() {
        let dir = Path::new("/srv/project");
        assert_eq!(
            report_file(dir, "reports\\w.csv").unwrap(),
            Path::new("/srv/project/reports/w.csv")
        );
        let e = report_file(dir, "reports/../../etc/x").unwrap_err();
        assert!(e.starts_with("`to`: "), "{e}");
    }
}
