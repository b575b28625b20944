//! Triggers that are not app events: schedules and manual runs.

use crate::{field, Entry, EntryType};

fn entry(
    app: &'static str,
    key: &str,
    title: &str,
    description: &str,
    inputs: Vec<crate::Field>,
    snippet: &str,
) -> Entry {
    Entry {
        id: format!("{app}.trigger.{key}"),
        app,
        kind: EntryType::Trigger,
        title: title.into(),
        description: description.into(),
        inputs,
        outputs: vec![field(
            "now",
            "string",
            false,
            "the run time (RFC 3339); a run without a record has no other fields",
        )],
        snippet: snippet.trim_start().into(),
    }
}

/// Schedule and manual triggers.
pub(crate) fn entries() -> Vec<Entry> {
    vec![
        entry("schedule", "every_n_minutes", "Schedule: every N minutes",
            "Runs the flow every interval (`15m`, `1h30m`, `1d`; at least `1m`) on the scheduler's leader. It starts counting when first seen; missed runs fire once. A scheduled run has no triggering record: actions name their connection.",
            vec![field("every", "duration", true, "the interval: a number and a unit (s, m, h, d, w), combinable")], r#"
name: Close stale GHL review tasks
trigger: {schedule: {every: 15m}}
actions:
  - complete_task: {connection: ghl, title: Daily review}
"#),
        entry("schedule", "cron", "Schedule: cron",
            "Runs the flow at the times of a cron expression (5 fields, or 6 with seconds), in UTC, on the scheduler's leader.",
            vec![field("cron", "string", true, "the cron expression, quoted: \"0 * * * *\"")], r#"
name: Hourly Your App check
trigger: {schedule: {cron: "0 * * * *"}}
actions:
  - complete_task: {connection: your_app, title: Hourly check}
"#),
        entry("manual", "run", "Manual: run by hand",
            "Runs only when a person starts it (dashboard, CLI, API), with or without a record.",
            vec![], r#"
name: Create the team contact in GHL
trigger: manual
actions:
  - upsert:
      connection: ghl
      kind: contact
      match: [email]
      mapping:
        - {to: email, value: team@example.com}
        - {to: first_name, value: Team}
"#),
    ]
}
