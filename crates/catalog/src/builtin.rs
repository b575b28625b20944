//! Actions of the engine itself rather than of one app: `report`, which exports the unified view
//! (every connected app's records, per linked person) to a file of the project folder.

use crate::{field, Entry, EntryType};

/// The engine's own actions.
pub(crate) fn entries() -> Vec<Entry> {
    vec![Entry {
        id: "engine.action.report".into(),
        app: "engine",
        kind: EntryType::Action,
        title: "Engine: report — export the unified view".into(),
        description: "Writes an export of the unified view — each linked person's contact, tasks, notes and appointments in every connected app — to a file in the project folder, as CSV for a spreadsheet or JSON for other tools: one row per person (`report`), per record (`records`) or per moment (`timeline`). A run with a triggering record reports on that record's person (a task's, note's or appointment's contact); a scheduled run on everyone linked. The file is replaced whole, never left half-written, so a repeated run rewrites it. Reads every connection of the project; writes to no app.".into(),
        inputs: vec![
            field(
                "kind",
                "string",
                false,
                "report | records | timeline (default report)",
            ),
            field(
                "format",
                "string",
                false,
                "csv | json (default: json when `to` ends in .json, else csv)",
            ),
            field(
                "to",
                "string",
                true,
                "the file, relative to the project folder; a template, e.g. \"reports/weekly-{{ now[:10] }}.csv\". Absolute paths and `..` are refused, as written and as rendered",
            ),
        ],
        outputs: vec![field(
            "file",
            "file",
            false,
            "the export, written at `to` in the project folder (later steps see nothing new)",
        )],
        snippet: r#"name: Weekly report of everyone
trigger: {schedule: {cron: "0 7 * * 1"}}
actions:
  - report:
      kind: report
      format: csv
      to: "reports/weekly-{{ now[:10] }}.csv"
"#
        .into(),
    }]
}
