//! The engine's own actions of the catalog (`report`), through the engine's scheduler.

mod support;

use support::{cases, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engines_own_actions() {
    let w = World::start().await;
    let n = cases::run(&w, |e| e.app == "engine").await;
    assert_eq!(n, 1);
}
