//! The catalog is honest and complete: every entry has a case that runs it against the
//! emulators (the table in `support/cases.rs`), every case belongs to an entry, every snippet
//! loads, and every operation of GHL's Contacts API is an action entry.

mod support;

use std::collections::BTreeSet;

use support::cases::all;

#[test]
fn every_entry_has_a_case_and_every_case_an_entry() {
    let entries: Vec<&str> = catalog::catalog().iter().map(|e| e.id.as_str()).collect();
    let unique: BTreeSet<&str> = entries.iter().copied().collect();
    assert_eq!(unique.len(), entries.len(), "entry ids are unique");
    let table = all();
    let cases: BTreeSet<&str> = table.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(cases.len(), table.len(), "one case per id");
    let stray: Vec<&&str> = cases.difference(&unique).collect();
    assert!(stray.is_empty(), "cases of no entry: {stray:?}");
    let missing: Vec<&str> = catalog::catalog()
        .iter()
        .filter(|e| !cases.contains(e.id.as_str()))
        .map(|e| e.id.as_str())
        .collect();
    assert!(missing.is_empty(), "entries without a case: {missing:?}");
    assert_eq!(cases.len(), entries.len(), "every entry is tested");
    for app in ["insightly", "salesnexus"] {
        assert!(
            catalog::filtered(Some(app), None).len() >= 20,
            "{app}: its triggers and actions are listed"
        );
    }
}

#[test]
fn every_snippet_loads_as_written() {
    for e in catalog::catalog() {
        support::World::flow(e);
    }
}

#[test]
fn every_ghl_operation_of_the_spec_is_an_action() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../spec/ghl/contacts.json");
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("spec")).expect("json");
    let mut ids = Vec::new();
    for ops in spec["paths"].as_object().expect("paths").values() {
        for op in ops.as_object().expect("ops").values() {
            if let Some(id) = op["operationId"].as_str() {
                ids.push(id.to_string());
            }
        }
    }
    assert_eq!(ids.len(), 32);
    for id in ids {
        let entry = catalog::catalog()
            .iter()
            .find(|e| e.id == format!("ghl.action.{id}"))
            .unwrap_or_else(|| panic!("no catalog entry for GHL operation {id}"));
        assert!(entry.snippet.contains(&format!("operation: {id}")), "{id}");
    }
}

#[test]
fn entries_are_well_formed() {
    for e in catalog::catalog() {
        let app = catalog::APPS.iter().find(|(a, _)| *a == e.app);
        let (_, name) = app.unwrap_or_else(|| panic!("{}: unknown app", e.id));
        assert!(
            e.id.starts_with(&format!("{}.{}.", e.app, e.kind.as_str())),
            "{}",
            e.id
        );
        assert!(
            e.title.starts_with(&format!("{name}: ")),
            "{}: {}",
            e.id,
            e.title
        );
        assert!(
            !e.description.is_empty() && !e.snippet.is_empty(),
            "{}",
            e.id
        );
        for f in e.inputs.iter().chain(&e.outputs) {
            assert!(!f.name.is_empty() && !f.ty.is_empty(), "{}: {f:?}", e.id);
        }
    }
}
