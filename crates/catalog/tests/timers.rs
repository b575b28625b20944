//! The schedule and manual triggers of the catalog, through the engine's scheduler and manual runs.

mod support;

use support::{cases, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_and_manual_runs() {
    let w = World::start().await;
    let n = cases::run(&w, |e| e.app == "schedule" || e.app == "manual").await;
    assert_eq!(n, 3);
}
