//! Every GHL entry of the catalog against the GHL sandbox (and Your App where a snippet links
//! to it): triggers by real signed webhooks, actions and the 32 operations by runs of their
//! snippets.

mod support;

use support::{cases, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ghl_triggers() {
    let w = World::start().await;
    let n = cases::run(&w, |e| {
        e.app == "ghl" && e.kind == catalog::EntryType::Trigger
    })
    .await;
    assert_eq!(n, 18);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ghl_record_actions() {
    let w = World::start().await;
    let ops = connectors::operations_of("ghl");
    let n = cases::run(&w, |e| {
        e.app == "ghl"
            && e.kind == catalog::EntryType::Action
            && !ops.iter().any(|o| e.id == format!("ghl.action.{}", o.id))
    })
    .await;
    assert_eq!(n, 16);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ghl_operations() {
    let w = World::start().await;
    let ops = connectors::operations_of("ghl");
    let n = cases::run(&w, |e| {
        ops.iter().any(|o| e.id == format!("ghl.action.{}", o.id))
    })
    .await;
    assert_eq!(n, 32);
}
