//! Dry runs: what a flow would do to a sample record, without touching any app.
//!
//! This is the "test it before turning it on" step of the product: the dashboard and the CLI
//! show the record before and after mapping, every planned action, and every warning (a missing
//! source field, a value not in a `value_map`, an unparsable date, a template variable the
//! record lacks), so a person can fix the mapping before real data flows.

use chrono::{DateTime, Utc};
use connectors::{EntityKind, Record};
use serde::Serialize;
use serde_json::{Map, Value};

use super::eval::{
    action_context, edit_tags, related_fields, render, render_fields, render_input, render_tags,
    tags_of, with_contact,
};
use super::filter::text_of;
use super::mapping::{Direction, MapWarning};
use super::model::{Action, Flow, FlowBody, SyncDirection, Trigger};
use super::parse_report::{extension, kind_name, report_path_problem};

/// How to run a dry run.
#[derive(Debug, Clone, Copy)]
pub struct DryRunOptions {
    /// `ToSource` treats the sample as a target record of a two-way sync.
    pub direction: Direction,
    /// The run time, for due offsets (fixed in tests).
    pub now: DateTime<Utc>,
}

impl Default for DryRunOptions {
    fn default() -> Self {
        Self {
            direction: Direction::ToTarget,
            now: Utc::now(),
        }
    }
}

/// What a flow would do with one record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DryRun {
    /// The sample's fields.
    pub before: Map<String, Value>,
    /// Sync: the mapped fields that would be written to the other side. Actions: the triggering
    /// record after `update`, tag and `complete_task` steps. Empty when filtered out.
    pub after: Map<String, Value>,
    pub warnings: Vec<MapWarning>,
    /// The flow's filter rejected the record; nothing would happen.
    pub skipped_by_filter: bool,
    /// Actions flows: each step as it would run.
    pub actions: Vec<PlannedAction>,
}

/// One step an actions flow would take.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedAction {
    /// The action's name (`create_related` …).
    pub action: String,
    /// Where it acts; `*` for `report`, which reads every connection.
    pub connection: String,
    /// One line for people: "create task `Welcome call` due 2024-03-07T09:00:00Z".
    pub summary: String,
    /// The fields it would write.
    pub fields: Map<String, Value>,
}

/// Why a sample cannot be dry-run through a flow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DryRunError {
    #[error("the flow does not sync {kind} records (it syncs: {kinds})")]
    KindNotSynced { kind: EntityKind, kinds: String },
    #[error("the flow is triggered by {expected} records, but the sample is a {found}")]
    WrongKind {
        expected: EntityKind,
        found: EntityKind,
    },
    #[error("only two_way syncs map records back to the source")]
    NotTwoWay,
}

/// Dry-runs `sample` as a source record, now.
pub fn dry_run(flow: &Flow, sample: &Record) -> Result<DryRun, DryRunError> {
    dry_run_with(flow, sample, &DryRunOptions::default())
}

/// Dry-runs `sample` with explicit direction and time.
pub fn dry_run_with(
    flow: &Flow,
    sample: &Record,
    opts: &DryRunOptions,
) -> Result<DryRun, DryRunError> {
    let mut run = DryRun {
        before: sample.fields.clone(),
        after: Map::new(),
        warnings: Vec::new(),
        skipped_by_filter: false,
        actions: Vec::new(),
    };
    match &flow.body {
        FlowBody::Sync(sync) => {
            if !sync.kinds.contains(&sample.kind) {
                let kinds = sync
                    .kinds
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(DryRunError::KindNotSynced {
                    kind: sample.kind,
                    kinds,
                });
            }
            if opts.direction == Direction::ToSource && sync.direction != SyncDirection::TwoWay {
                return Err(DryRunError::NotTwoWay);
            }
            if sync
                .filters
                .get(&sample.kind)
                .is_some_and(|f| !f.matches(&sample.fields))
            {
                run.skipped_by_filter = true;
                return Ok(run);
            }
            if let Some(mapping) = sync.mapping.get(&sample.kind) {
                let out = mapping.apply(sample, opts.direction);
                run.after = out.fields;
                run.warnings = out.warnings;
            }
        }
        FlowBody::Actions(actions) => {
            if let Trigger::Event { kind, .. } = &flow.trigger {
                if *kind != sample.kind {
                    return Err(DryRunError::WrongKind {
                        expected: *kind,
                        found: sample.kind,
                    });
                }
            }
            if flow
                .filter
                .as_ref()
                .is_some_and(|f| !f.matches(&sample.fields))
            {
                run.skipped_by_filter = true;
                return Ok(run);
            }
            let everyone = matches!(flow.trigger, Trigger::Schedule(_));
            plan_actions(&mut run, actions, sample, opts.now, everyone);
        }
    }
    Ok(run)
}

/// `everyone`: the flow runs without a record (a schedule), so a `report` covers every linked
/// person rather than the sample's.
fn plan_actions(
    run: &mut DryRun,
    actions: &[Action],
    sample: &Record,
    now: DateTime<Utc>,
    everyone: bool,
) {
    let mut ctx = action_context(&sample.fields, now);
    with_contact(&mut ctx, sample);
    let mut after = sample.fields.clone();
    for action in actions {
        let mut plan = PlannedAction {
            action: action.name().to_owned(),
            connection: String::new(),
            summary: String::new(),
            fields: Map::new(),
        };
        match action {
            Action::Upsert {
                connection,
                kind,
                match_on,
                mapping,
            } => {
                let out = mapping.apply(sample, Direction::ToTarget);
                run.warnings.extend(out.warnings);
                let keys: Vec<&str> = match_on.iter().map(|k| k.as_str()).collect();
                plan.connection = connection.clone();
                plan.summary = format!("upsert a {kind}, matched on {}", keys.join(", "));
                plan.fields = out.fields;
            }
            Action::CreateRelated {
                connection,
                kind,
                items,
            } => {
                for item in items {
                    let fields = related_fields(&mut run.warnings, &ctx, item, now);
                    let title = fields
                        .get("title")
                        .or_else(|| fields.get("body"))
                        .map(text_of)
                        .unwrap_or_default();
                    let due = fields
                        .get("due_at")
                        .map(|d| format!(" due {}", text_of(d)))
                        .unwrap_or_default();
                    run.actions.push(PlannedAction {
                        action: plan.action.clone(),
                        connection: connection.clone(),
                        summary: format!("create {kind} `{title}`{due}"),
                        fields,
                    });
                }
                continue;
            }
            Action::Update {
                connection,
                kind,
                set,
            } => {
                let fields = render_fields(&mut run.warnings, &ctx, set.iter());
                after.extend(fields.clone());
                plan.connection = connection.clone();
                plan.summary = format!(
                    "update the {kind}: {}",
                    fields.keys().cloned().collect::<Vec<_>>().join(", ")
                );
                plan.fields = fields;
            }
            Action::CompleteTask { connection, title } => {
                plan.connection = connection.clone();
                plan.summary = match title {
                    Some(t) => format!(
                        "complete the contact's open tasks titled `{}`",
                        render(&mut run.warnings, &ctx, "title", t)
                    ),
                    None => {
                        after.insert("completed".into(), Value::Bool(true));
                        "complete the triggering task".into()
                    }
                };
            }
            Action::AddTags { connection, tags } | Action::RemoveTags { connection, tags } => {
                let names = render_tags(&mut run.warnings, &ctx, tags);
                let adding = matches!(action, Action::AddTags { .. });
                let current = edit_tags(&tags_of(&after), &names, adding);
                after.insert("tags".into(), Value::from(current));
                plan.connection = connection.clone();
                plan.summary = format!(
                    "{} tags: {}",
                    if adding { "add" } else { "remove" },
                    names.join(", ")
                );
                plan.fields.insert("tags".into(), Value::from(names));
            }
            Action::AddNote { connection, body } => {
                let text = render(&mut run.warnings, &ctx, "body", body);
                plan.connection = connection.clone();
                plan.summary = "add a note to the contact".into();
                plan.fields.insert("body".into(), Value::String(text));
            }
            Action::FetchRelated {
                connection,
                kind,
                as_name,
            } => {
                ctx.insert(as_name.clone(), Value::Array(Vec::new()));
                run.warnings.push(MapWarning {
                    field: as_name.clone(),
                    message: format!(
                        "a dry run does not fetch; `{as_name}` is an empty list of {kind}s"
                    ),
                });
                plan.connection = connection.clone();
                plan.summary = format!("fetch the contact's {kind}s as `{as_name}`");
            }
            Action::Call {
                connection,
                operation,
                input,
                as_name,
            } => {
                plan.fields = render_input(&mut run.warnings, &ctx, input);
                plan.connection = connection.clone();
                plan.summary = format!("call `{operation}`");
                if let Some(name) = as_name {
                    ctx.insert(name.clone(), Value::Null);
                    plan.summary.push_str(&format!(", its answer as `{name}`"));
                    run.warnings.push(MapWarning {
                        field: name.clone(),
                        message: format!("a dry run calls nothing; `{name}` is empty"),
                    });
                }
            }
            Action::Report { kind, format, to } => {
                let path = render(&mut run.warnings, &ctx, "to", to);
                if let Some(problem) = report_path_problem(&path) {
                    run.warnings.push(MapWarning {
                        field: "to".into(),
                        message: format!("{problem}; the report would not be written"),
                    });
                }
                let (kind, format) = (kind_name(*kind), extension(*format));
                let whom = if everyone {
                    "every linked person"
                } else {
                    "the contact's person"
                };
                plan.connection = "*".into();
                plan.summary = format!("write the {kind} ({format}) of {whom} to `{path}`");
                for (k, v) in [
                    ("kind", kind),
                    ("format", format),
                    ("to", &path),
                    ("of", whom),
                ] {
                    plan.fields.insert(k.into(), Value::String(v.to_string()));
                }
            }
        }
        run.actions.push(plan);
    }
    run.after = after;
}
