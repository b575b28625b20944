//! Every SalesNexus entry of the catalog against the SalesNexus emulator (and the GHL sandbox,
//! where a snippet starts in GHL), in one world: `changed` triggers by the scheduler's full-scan
//! polls and, for contacts, by Stage Trigger posts; actions by runs of their snippets, effects
//! read back from the emulator.

mod support;

use support::{cases, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesnexus() {
    let w = World::start().await.with_salesnexus().await;
    let n = cases::run(&w, |e| e.app == "salesnexus").await;
    assert_eq!(n, catalog::filtered(Some("salesnexus"), None).len());
    assert_eq!(
        catalog::filtered(Some("salesnexus"), Some(catalog::EntryType::Trigger)).len(),
        4,
        "contact, task, note and appointment (meeting) changes"
    );
}
