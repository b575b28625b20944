//! Every entry of Your App, InvestNext and Invoco against the REST emulator under each profile:
//! triggers by the app's signed webhooks (and polls), actions by runs of their snippets.

mod support;

use support::{cases, World};

async fn app(name: &str) {
    let w = World::start().await;
    let n = cases::run(&w, |e| e.app == name).await;
    assert_eq!(n, catalog::filtered(Some(name), None).len());
    assert!(n >= 40, "{name}: {n} entries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn your_app() {
    app("your_app").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn investnext() {
    app("investnext").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoco() {
    app("invoco").await;
}
