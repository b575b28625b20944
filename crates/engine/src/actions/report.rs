//! The `report` action: an export of the unified view written to a file of the project folder.
//!
//! A run with a triggering record reports on that record's person (the contact, or the contact
//! of a task, note or appointment, looked up through the trigger's connection); a run without
//! one (a schedule, a manual run without a record) reports on every linked person. The export
//! reads every connection of the project, writes to no app, and replaces the whole file at once
//! (a temporary file, then a rename), so a reader never sees half a report and a retry or a
//! repeated run simply writes the file again.

use std::path::PathBuf;

use connectors::EntityKind;

use super::run::Run;
use crate::flow::{render, report_file, Template};
use crate::sync::SyncError;
use crate::unified::{write_export, ExportFormat, ExportKind, Scope, UnifiedView, ViewError, Who};

/// One report file is written at a time in this process: two runs writing the same file at once
/// would otherwise share its temporary file. (Other processes use their own temporary names.)
static WRITING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Run<'_> {
    /// Exports the run's scope of the unified view as `kind` / `format` to the file `to` names.
    pub(super) async fn report(
        &mut self,
        kind: ExportKind,
        format: ExportFormat,
        to: &Template,
    ) -> Result<(), SyncError> {
        let dir = self.job.project_dir.ok_or_else(|| {
            SyncError::Permanent(
                "`report` writes into the project folder, and this engine was started without one (EngineOptions::project_dir)".into(),
            )
        })?;
        let ctx = self.ctx();
        let rendered = render(&mut self.warnings, &ctx, "to", to);
        let path = report_file(dir, &rendered)
            .map_err(|e| SyncError::Permanent(format!("`report`: {e}")))?;
        let scope = self.report_scope()?;
        let view = UnifiedView::new(self.job.store, self.job.connectors).at(self.now);
        let people = view.people(&scope).await.map_err(view_error)?;
        for p in &people {
            for s in p.apps.iter().filter(|s| !s.problems.is_empty()) {
                tracing::warn!(flow = %self.flow_name(), connection = %s.connection, problems = ?s.problems, "`report`: part of a person's records could not be read");
            }
        }
        let text = crate::unified::render(&people, kind, format);
        write(path.clone(), text)
            .await
            .map_err(|e| SyncError::Retry(format!("`report`: writing {}: {e}", path.display())))?;
        tracing::info!(flow = %self.flow_name(), file = %path.display(), people = people.len(), "report written");
        Ok(())
    }

    /// The triggering contact's person, or everyone when the run has no record.
    fn report_scope(&self) -> Result<Scope, SyncError> {
        let Some(s) = &self.start else {
            return Ok(Scope::All);
        };
        let id = match s.record.kind {
            EntityKind::Contact => Some(s.record.id.clone()),
            k if k.has_parent() => s.record.parent_id.clone(),
            _ => None,
        };
        let id = id.ok_or_else(|| {
            SyncError::Permanent(format!(
                "`report`: {} {} has no contact to report on",
                s.record.kind, s.record.id
            ))
        })?;
        Ok(Scope::Person(Who::Contact {
            connection: Some(s.r.connection.clone()),
            id,
        }))
    }
}

/// A view that could not be built: an app or the store failing is worth a retry, a wrong
/// request is not.
fn view_error(e: ViewError) -> SyncError {
    match e {
        ViewError::Store(e) => SyncError::Store(e),
        ViewError::Connector { connection, error } => match SyncError::from(error) {
            SyncError::Retry(m) => SyncError::Retry(format!("`report`: `{connection}`: {m}")),
            other => SyncError::Permanent(format!("`report`: `{connection}`: {other}")),
        },
        ViewError::Invalid(m) => SyncError::Permanent(format!("`report`: {m}")),
    }
}

/// Writes the file off the async threads, one report at a time in this process.
async fn write(path: PathBuf, text: String) -> std::io::Result<()> {
    let _one_at_a_time = WRITING.lock().await;
    tokio::task::spawn_blocking(move || write_export(&path, &text))
        .await
        .map_err(std::io::Error::other)?
}
