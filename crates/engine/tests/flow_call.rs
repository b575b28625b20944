//! The `call` action when a flow loads: an operation of the connection's app, inputs it takes,
//! required inputs written, every mistake located with file:line:col, the field and what is
//! allowed; and what a dry run shows of it.

use connectors::{EntityKind, Record};
use engine::flow::{dry_run, parse_flow, Action, AppKind, Connections, FlowError};
use serde_json::json;

fn conns() -> Connections {
    [
        ("ghl".to_string(), AppKind::Ghl),
        ("crm".to_string(), AppKind::YourApp),
        ("ins".to_string(), AppKind::Insightly),
    ]
    .into_iter()
    .collect()
}

fn load(actions: &str) -> Result<engine::flow::Flow, FlowError> {
    let text = format!("name: T\ntrigger: ghl.contact.updated\nactions:\n{actions}");
    parse_flow(&text, "flows/t.yaml", &conns())
}

fn error(actions: &str) -> String {
    load(actions).expect_err("invalid").to_string()
}

#[test]
fn a_call_loads_with_its_inputs() {
    let flow = load(
        "  - call:\n      operation: add-contact-to-workflow\n      input: {contactId: \"{{ contact.id }}\", workflowId: wf_1}\n      as: result\n",
    )
    .expect("valid");
    let engine::flow::FlowBody::Actions(actions) = &flow.body else {
        panic!("actions")
    };
    let Action::Call {
        connection,
        operation,
        input,
        as_name,
    } = &actions[0]
    else {
        panic!("a call")
    };
    assert_eq!(
        (connection.as_str(), operation.as_str()),
        ("ghl", "add-contact-to-workflow")
    );
    assert_eq!(
        input.keys().collect::<Vec<_>>(),
        ["contactId", "workflowId"]
    );
    assert_eq!(as_name.as_deref(), Some("result"));
}

#[test]
fn an_unknown_operation_names_the_place_and_the_operations() {
    let e = error("  - call: {operation: add-contact-to-workflw, input: {contactId: x}}\n");
    assert!(
        e.contains("unknown operation `add-contact-to-workflw` for ghl"),
        "{e}"
    );
    assert!(e.contains("flows/t.yaml:4:23"), "{e}");
    assert!(e.contains("actions[0].call.operation"), "{e}");
    assert!(e.contains("did you mean `add-contact-to-workflow`?"), "{e}");
    assert!(
        e.contains("get-contacts-by-businessId"),
        "lists the operations: {e}"
    );
    let e = error("  - call: {connection: crm, operation: add-tags, input: {id: x}}\n");
    assert!(
        e.contains("your_app operations: get-contact, delete-contact"),
        "{e}"
    );
    let e = error("  - call: {connection: ins, operation: anything}\n");
    assert!(
        e.contains("insightly (connection `ins`) has no operations"),
        "{e}"
    );
}

#[test]
fn inputs_are_checked_against_the_operation() {
    let e = error("  - call: {operation: add-tags, input: {contactId: x, tag: [a]}}\n");
    assert!(e.contains("`add-tags` has no input `tag`"), "{e}");
    assert!(e.contains("actions[0].call.input.tag"), "{e}");
    assert!(e.contains("did you mean `tags`?"), "{e}");
    let e = error("  - call: {operation: create-task, input: {contactId: x, title: T}}\n");
    assert!(e.contains("`create-task` needs the input `dueDate`"), "{e}");
    let e = error("  - call: {operation: get-contact, input: {contactId: x}, as: Bad-Name}\n");
    assert!(e.contains("not a template variable name"), "{e}");
    let e = error("  - call: {input: {contactId: x}}\n");
    assert!(e.contains("missing key `operation`"), "{e}");
}

#[test]
fn a_dry_run_shows_the_rendered_inputs() {
    let flow = load(
        "  - call: {operation: update-contact, input: {contactId: \"{{ contact.id }}\", city: \"{{ city | upper }}\"}}\n",
    )
    .expect("valid");
    let mut fields = serde_json::Map::new();
    fields.insert("city".into(), json!("Oslo"));
    let sample = Record::new(EntityKind::Contact, "c_1", fields);
    let run = dry_run(&flow, &sample).expect("dry run");
    assert_eq!(run.actions[0].action, "call");
    assert_eq!(run.actions[0].summary, "call `update-contact`");
    assert_eq!(run.actions[0].fields["contactId"], "c_1");
    assert_eq!(run.actions[0].fields["city"], "OSLO");
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
}
