//! The example project in `examples/` (the one `docs/flows.md` walks through) loads cleanly
//! and does what the docs say.

use std::path::Path;

use chrono::{TimeZone, Utc};
use connectors::{EntityKind, Record};
use engine::flow::{
    dry_run_with, load_project_with, ConflictPolicy, DeletePolicy, Direction, DryRunOptions,
    FlowBody, MatchOn, Side, SyncDirection, Trigger,
};
use serde_json::{json, Value};

fn example_env(name: &str) -> Option<String> {
    match name {
        "GHL_LOCATION_ID" => Some("loc-example".into()),
        "GHL_TOKEN" => Some("pit-example-token".into()),
        "YOUR_APP_KEY" => Some("crm-example-key".into()),
        _ => None,
    }
}

fn project() -> engine::flow::Project {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ghl-bridge.yaml");
    load_project_with(&path, &example_env).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn example_project_loads_without_errors() {
    let p = project();
    assert_eq!(p.connections.len(), 2);
    let names: Vec<&str> = p.flows.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["GHL ⇄ CRM contacts", "Onboard new clients"]);
    let debug = format!("{p:?}");
    assert!(!debug.contains("pit-example-token") && !debug.contains("crm-example-key"));
    // The validated model is what the admin API and dashboard show.
    let json = serde_json::to_value(&p.flows[1]).unwrap();
    assert_eq!(json["trigger"]["event"]["event"], "updated");
    assert_eq!(
        json["body"]["actions"][1]["create_related"]["items"][0]["due"]["seconds"],
        86_400
    );
}

#[test]
fn two_way_contact_sync_is_what_the_docs_say() {
    let p = project();
    let flow = &p.flows[0];
    assert_eq!(flow.trigger, Trigger::Changes);
    let FlowBody::Sync(sync) = &flow.body else {
        panic!("sync expected")
    };
    assert_eq!(sync.direction, SyncDirection::TwoWay);
    assert_eq!(sync.kinds, [EntityKind::Contact, EntityKind::Task]);
    assert_eq!(
        sync.match_on[&EntityKind::Contact],
        [MatchOn::Email, MatchOn::Phone]
    );
    assert_eq!(sync.delete, DeletePolicy::Archive);
    assert!(matches!(
        sync.conflict,
        ConflictPolicy::SourceOfTruth { .. }
    ));
    assert_eq!(sync.conflict.winner("phone"), Some(Side::Target));
    assert_eq!(sync.conflict.winner("email"), Some(Side::Source));

    let ghl = Record::new(
        EntityKind::Contact,
        "c1",
        serde_json::from_value(json!({
            "first_name": " Ada ", "last_name": "Lovelace", "email": "Ada@Example.com",
            "phone": "(415) 555-0123", "tags": ["VIP"], "custom.Stage": "client"
        }))
        .unwrap(),
    );
    let opts = DryRunOptions {
        direction: Direction::ToTarget,
        now: Utc::now(),
    };
    let run = dry_run_with(flow, &ghl, &opts).unwrap();
    assert_eq!(run.after["first_name"], "Ada");
    assert_eq!(run.after["email"], "ada@example.com");
    assert_eq!(run.after["phone"], "+14155550123");
    assert_eq!(run.after["custom.Lifecycle Stage"], "customer");
    assert_eq!(run.after["custom.Full Name"], "Ada Lovelace");
    assert_eq!(run.after["source"], "ghl-bridge");

    let back = dry_run_with(
        flow,
        &Record::new(EntityKind::Contact, "r1", run.after.clone()),
        &DryRunOptions {
            direction: Direction::ToSource,
            ..opts
        },
    )
    .unwrap();
    assert_eq!(back.after["custom.Stage"], "client");
    assert!(!back.after.contains_key("source"));
}

#[test]
fn onboarding_flow_plans_its_tasks() {
    let p = project();
    let flow = &p.flows[1];
    assert!(
        matches!(flow.trigger, Trigger::Event { ref connection, kind: EntityKind::Contact, .. } if connection == "ghl")
    );
    let contact = Record::new(
        EntityKind::Contact,
        "c1",
        serde_json::from_value(json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "phone": "4155550123", "tags": ["client"]})).unwrap(),
    );
    let now = Utc.with_ymd_and_hms(2024, 3, 5, 9, 0, 0).unwrap();
    let run = dry_run_with(
        flow,
        &contact,
        &DryRunOptions {
            direction: Direction::ToTarget,
            now,
        },
    )
    .unwrap();
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
    let summaries: Vec<&str> = run.actions.iter().map(|a| a.summary.as_str()).collect();
    assert_eq!(
        summaries,
        [
            "upsert a contact, matched on email",
            "create task `Welcome call with Ada` due 2024-03-06T09:00:00Z",
            "create task `Send the onboarding pack` due 2024-03-07T09:00:00Z",
            "create task `30-day check-in` due 2024-04-04T09:00:00Z",
            "add a note to the contact",
            "add tags: onboarded",
        ]
    );
    assert_eq!(run.after["tags"], json!(["client", "onboarded"]));
    // Once tagged, the filter stops it running again.
    let again = Record::new(EntityKind::Contact, "c1", run.after.clone());
    assert!(
        dry_run_with(
            flow,
            &again,
            &DryRunOptions {
                direction: Direction::ToTarget,
                now
            }
        )
        .unwrap()
        .skipped_by_filter
    );
    assert_eq!(run.actions[0].fields["tags"], Value::from(vec!["client"]));
}
