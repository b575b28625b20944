//! Dry runs: output, warnings, filters, and the plan of an actions flow.

use chrono::{TimeZone, Utc};
use connectors::{EntityKind, Record};
use engine::flow::{
    dry_run, dry_run_with, parse_flow, AppKind, Connections, Direction, DryRunError, DryRunOptions,
    Flow,
};
use serde_json::{json, Map, Value};

fn conns() -> Connections {
    [
        ("ghl".to_string(), AppKind::Ghl),
        ("crm".to_string(), AppKind::YourApp),
    ]
    .into_iter()
    .collect()
}

fn flow(text: &str) -> Flow {
    parse_flow(text, "dry.yaml", &conns()).unwrap_or_else(|e| panic!("{e}"))
}

fn record(kind: EntityKind, v: Value) -> Record {
    let Value::Object(fields) = v else {
        panic!("object expected")
    };
    Record::new(kind, "r1", fields)
}

const SYNC: &str = r#"
name: contacts
sync:
  source: ghl
  target: crm
  direction: two_way
  kinds: [contact]
  filters:
    contact: {field: email, exists: true}
  mapping:
    contact:
      - {to: email, from: email, transform: normalize_email}
      - {to: phone, from: phone, transform: normalize_phone}
      - {to: custom.Since, from: custom.Since, transform: date}
      - {to: custom.Stage, from: custom.Stage, transform: {value_map: {map: {lead: prospect}}}}
      - {to: custom.Title, template: "{{ first_name }} {{ last_name }}"}
      - {to: city, from: city}
"#;

#[test]
fn sync_dry_run_shows_output_and_every_warning() {
    let f = flow(SYNC);
    let sample = record(
        EntityKind::Contact,
        json!({"email": "ADA@EXAMPLE.COM", "phone": "12", "custom.Since": "someday", "custom.Stage": "vip", "first_name": "Ada"}),
    );
    let run = dry_run(&f, &sample).unwrap();
    assert!(!run.skipped_by_filter);
    assert_eq!(run.before, sample.fields);
    assert_eq!(
        Value::Object(run.after.clone()),
        json!({"email": "ada@example.com", "custom.Title": "Ada "})
    );
    let text: Vec<String> = run.warnings.iter().map(ToString::to_string).collect();
    let expected = [
        "`phone`: normalize_phone: `12` is too short for a US number; not written",
        "`custom.Since`: date: cannot read `someday` as a date; not written",
        "`custom.Stage`: value_map: `vip` is not in value_map (known: lead) and there is no default; not written",
        "`custom.Title`: the template uses `last_name`, which the record does not have; it renders as empty text",
        "`city`: source field `city` is missing; not written",
    ];
    assert_eq!(text, expected);
}

#[test]
fn filtered_out_records_do_nothing() {
    let f = flow(SYNC);
    let run = dry_run(
        &f,
        &record(EntityKind::Contact, json!({"first_name": "No Email"})),
    )
    .unwrap();
    assert!(run.skipped_by_filter);
    assert!(run.after.is_empty() && run.warnings.is_empty());
}

#[test]
fn reverse_direction_and_errors() {
    let f = flow(SYNC);
    let opts = DryRunOptions {
        direction: Direction::ToSource,
        now: Utc::now(),
    };
    let run = dry_run_with(
        &f,
        &record(
            EntityKind::Contact,
            json!({"email": "a@b.co", "city": "Rome"}),
        ),
        &opts,
    )
    .unwrap();
    assert_eq!(run.after["city"], "Rome");
    assert!(
        !run.after.contains_key("custom.Title"),
        "templates run to the target only"
    );
    let err = dry_run(&f, &record(EntityKind::Task, json!({}))).unwrap_err();
    assert_eq!(
        err,
        DryRunError::KindNotSynced {
            kind: EntityKind::Task,
            kinds: "contact".into()
        }
    );
}

const ONBOARDING: &str = r#"
name: onboarding
trigger: ghl.contact.updated
filter: {field: tags, contains: client}
actions:
  - fetch_related: {kind: task, as: open_tasks}
  - upsert:
      connection: crm
      mapping:
        - {to: email, from: email}
        - {to: phone, from: phone}
  - create_related:
      kind: task
      items:
        - {title: "Welcome call with {{ first_name }}", due: +1d}
        - {title: "Check-in ({{ open_tasks | length }} open)", due: +1w, completed: false}
  - update: {set: {custom.Stage: onboarding, custom.Owner: "{{ x.owner }}"}}
  - complete_task: {title: Qualify lead}
  - add_tags: [onboarded, "{{ custom.Stage }}"]
  - remove_tags: [client]
  - add_note: "Onboarding for {{ first_name }} {{ last_name }}"
"#;

#[test]
fn actions_dry_run_plans_every_step() {
    let f = flow(ONBOARDING);
    let sample = record(
        EntityKind::Contact,
        json!({"first_name": "Ada", "email": "ada@example.com", "tags": ["client"], "custom.Stage": "lead"}),
    );
    let now = Utc.with_ymd_and_hms(2024, 3, 5, 9, 0, 0).unwrap();
    let run = dry_run_with(
        &f,
        &sample,
        &DryRunOptions {
            direction: Direction::ToTarget,
            now,
        },
    )
    .unwrap();
    let summaries: Vec<&str> = run.actions.iter().map(|a| a.summary.as_str()).collect();
    assert_eq!(
        summaries,
        [
            "fetch the contact's tasks as `open_tasks`",
            "upsert a contact, matched on email, external_id",
            "create task `Welcome call with Ada` due 2024-03-06T09:00:00Z",
            "create task `Check-in (0 open)` due 2024-03-12T09:00:00Z",
            "update the contact: custom.Owner, custom.Stage",
            "complete the contact's open tasks titled `Qualify lead`",
            "add tags: onboarded, lead",
            "remove tags: client",
            "add a note to the contact",
        ]
    );
    assert_eq!(run.actions[1].connection, "crm");
    assert_eq!(
        run.actions[2].connection, "ghl",
        "defaults to the trigger's connection"
    );
    assert_eq!(run.actions[3].fields["completed"], json!(false));
    assert_eq!(run.actions[8].fields["body"], "Onboarding for Ada ");
    let mut expected_after: Map<String, Value> = sample.fields.clone();
    expected_after.insert("custom.Stage".into(), json!("onboarding"));
    expected_after.insert("custom.Owner".into(), json!(""));
    expected_after.insert("tags".into(), json!(["onboarded", "lead"]));
    assert_eq!(run.after, expected_after);
    let warned: Vec<(&str, &str)> = run
        .warnings
        .iter()
        .map(|w| (w.field.as_str(), w.message.as_str()))
        .collect();
    assert_eq!(
        warned,
        [
            ("open_tasks", "a dry run does not fetch; `open_tasks` is an empty list of tasks"),
            ("phone", "source field `phone` is missing; not written"),
            ("body", "the template uses `last_name`, which the record does not have; it renders as empty text"),
        ]
    );
}

#[test]
fn actions_dry_run_filter_and_kind() {
    let f = flow(ONBOARDING);
    let run = dry_run(&f, &record(EntityKind::Contact, json!({"tags": ["lead"]}))).unwrap();
    assert!(run.skipped_by_filter && run.actions.is_empty());
    let err = dry_run(&f, &record(EntityKind::Task, json!({}))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the flow is triggered by contact records, but the sample is a task"
    );
}

#[test]
fn a_report_is_planned_with_its_file_and_its_people() {
    let now = Utc.with_ymd_and_hms(2024, 3, 4, 7, 0, 0).unwrap();
    let opts = DryRunOptions {
        direction: Direction::ToTarget,
        now,
    };
    let weekly = flow(
        r#"
name: weekly
trigger: {schedule: {cron: "0 7 * * 1"}}
actions:
  - report: {kind: records, to: "reports/weekly-{{ now[:10] }}.csv"}
"#,
    );
    let sample = record(EntityKind::Contact, json!({}));
    let run = dry_run_with(&weekly, &sample, &opts).unwrap();
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
    let plan = &run.actions[0];
    assert_eq!(
        (plan.action.as_str(), plan.connection.as_str()),
        ("report", "*")
    );
    assert_eq!(
        plan.summary,
        "write the records (csv) of every linked person to `reports/weekly-2024-03-04.csv`"
    );
    assert_eq!(plan.fields["to"], "reports/weekly-2024-03-04.csv");

    // For a record: that person; a value that would leave the project folder is a warning.
    let per_person = flow(
        r#"
name: per person
trigger: ghl.contact.updated
actions:
  - report: {to: "reports/{{ city }}.json"}
"#,
    );
    let run = dry_run_with(
        &per_person,
        &record(EntityKind::Contact, json!({"city": "../../etc"})),
        &opts,
    )
    .unwrap();
    let plan = &run.actions[0];
    assert_eq!(
        plan.summary,
        "write the report (json) of the contact's person to `reports/../../etc.json`"
    );
    assert_eq!(run.warnings.len(), 1, "{:?}", run.warnings);
    assert_eq!(run.warnings[0].field, "to");
    assert!(
        run.warnings[0].message.contains("`..`"),
        "{:?}",
        run.warnings
    );
}
