//! Every Insightly entry of the catalog against the Insightly emulator (and the GHL sandbox,
//! where a snippet starts in GHL), in one world: `changed` triggers by the scheduler's polls and
//! by Insightly workflow posts, actions by runs of their snippets, effects read back from the
//! emulator.

mod support;

use support::{cases, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insightly() {
    let w = World::start().await.with_insightly().await;
    let n = cases::run(&w, |e| e.app == "insightly").await;
    assert_eq!(n, catalog::filtered(Some("insightly"), None).len());
    assert_eq!(
        catalog::filtered(Some("insightly"), Some(catalog::EntryType::Trigger)).len(),
        5,
        "contact, task, note, appointment and organisation changes"
    );
}
