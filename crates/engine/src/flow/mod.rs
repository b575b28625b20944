//! Flows: the YAML a person writes to say what ghl-bridge should do, loaded into a validated
//! model, plus the mapping, filter and dry-run machinery the worker and dashboard run.
//!
//! A project is one `ghl-bridge.yaml` (named connections, secrets as `${ENV_VAR}`) and a folder
//! of flow files, one flow each. A flow has a trigger (app event, schedule or manual), an
//! optional filter, and either a list of actions or a declarative `sync`. Loading reports every
//! problem in every file with `file:line:col`, the field path, what was found and what is
//! allowed, because these files are written by hand by people who are not programmers.
//! The reference for users is `docs/flows.md`.
//!
//! ```no_run
//! use engine::flow::{dry_run, load_project};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let project = load_project(std::path::Path::new("ghl-bridge.yaml"))?;
//! for flow in &project.flows {
//!     println!("{} ({})", flow.name, if flow.enabled { "on" } else { "off" });
//! }
//! # Ok(()) }
//! ```

mod actions;
mod decode;
mod diag;
mod dry_run;
mod eval;
mod filter;
mod mapping;
mod model;
mod parse_call;
mod parse_flow;
mod parse_mapping;
mod parse_report;
mod parse_sync;
mod phone;
mod project;
mod template;
mod transform;
mod values;
mod yaml;

pub use diag::{did_you_mean, Diagnostic, FlowError};
pub use dry_run::{dry_run, dry_run_with, DryRun, DryRunError, DryRunOptions, PlannedAction};
pub use eval::{
    action_context, edit_tags, record_value, related_fields, render, render_fields, render_input,
    render_tags, tags_of, with_contact,
};
pub(crate) use filter::text_of;
pub use filter::{lookup, Condition, Filter, Op};
pub use mapping::{
    AsFields, Direction, MapOutput, MapWarning, Mapping, Rule, RuleDirection, RuleSource,
};
pub use model::{
    canonical_fields, is_known_field, Action, AppKind, ConflictPolicy, DeletePolicy, EventType,
    FieldValue, Flow, FlowBody, InputValue, MatchOn, Offset, RelatedItem, Schedule, Side,
    SyncDirection, SyncSpec, Trigger,
};
pub use parse_flow::{parse_flow, Connections};
pub use parse_report::{report_file, report_path_problem, REPORT_FORMATS, REPORT_KINDS};
pub use phone::{countries as phone_countries, normalize_phone};
pub use project::{
    load_flows, load_project, load_project_with, parse_project, Connection, Env, ProcessEnv,
    Project, ProjectFile, Setting,
};
pub use template::{context as template_context, Template};
pub use transform::{DateOptions, Transform, TRANSFORMS};
pub use values::{
    join_name, normalize_email, parse_datetime, parse_datetime_in, parse_offset, split_name,
    to_rfc3339,
};
