//! `ghl-bridge serve` killed with SIGKILL in the middle of a webhook burst from several
//! senders: after a restart on the same database, every delivery that got a 200 is in the
//! store exactly once, and redelivering them stores nothing new.

mod serve_support;
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serve_support::*;
use support::*;

/// The ids acknowledged with a 200, shared by the senders.
type Acks = std::sync::Mutex<Vec<String>>;

const SENDERS: usize = 4;
const PER_SENDER: usize = 400;
const KILL_AFTER: usize = 120;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_webhook_survives_a_sigkill_exactly_once() {
    let w = world(10, ONE_WAY).await;
    project_with_webhook_keys(&w);
    let contacts: Vec<String> = w.ghl_contacts().into_keys().collect();
    let mut server = Server::start(&w, &w.db_url, "serve-1").await;
    let acks = Arc::new(Acks::default());
    let acked = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for s in 0..SENDERS {
        let (url, acks, acked) = (server.url.clone(), acks.clone(), acked.clone());
        let keys = w.ghl.state.keys.clone();
        let bodies: Vec<(String, Vec<u8>)> = (0..PER_SENDER)
            .map(|i| {
                let id = format!("load-{s}-{i}");
                let body = contact_update(&w, &contacts[i % contacts.len()], &id);
                (id, body)
            })
            .collect();
        senders.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut failed = 0;
            for (id, body) in bodies {
                let sig = keys.sign_ed25519(&body);
                match post(&http, &url, body, &sig).await {
                    Ok((200, _)) => {
                        acks.lock().unwrap_or_else(|p| p.into_inner()).push(id);
                        acked.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok((status, v)) => panic!("{id}: {status} {v}"),
                    // The server is gone; what it never acknowledged may be lost.
                    Err(_) => failed += 1,
                }
            }
            failed
        }));
    }
    eventually(
        Duration::from_secs(60),
        "enough acknowledged webhooks",
        || {
            let n = acked.load(Ordering::SeqCst);
            async move { (n >= KILL_AFTER).then_some(()) }
        },
    )
    .await;
    server.kill();
    let mut refused = 0;
    for s in senders {
        refused += s.await.expect("sender");
    }
    let acked = acks.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(acked.len() >= KILL_AFTER, "{}", acked.len());
    assert!(
        refused > 0,
        "the kill happened mid-load (all {} deliveries were acknowledged)",
        acked.len()
    );

    // Restart on the same database: every acknowledged delivery is there, once.
    let server = Server::start(&w, &w.db_url, "serve-2").await;
    for id in &acked {
        assert_eq!(events_with_key(&w.db_url, id).await, 1, "{id}");
    }
    let stored = webhook_events(&w.db_url).await;
    assert!(stored as usize >= acked.len(), "{stored} < {}", acked.len());
    assert!(stored as usize <= SENDERS * PER_SENDER, "{stored}");

    // Redelivering acknowledged ids stores nothing new.
    let http = reqwest::Client::new();
    let keys = w.ghl.state.keys.clone();
    for (i, id) in acked.iter().take(20).enumerate() {
        let body = contact_update(&w, &contacts[i % contacts.len()], id);
        let sig = keys.sign_ed25519(&body);
        let (status, v) = post(&http, &server.url, body, &sig).await.expect("post");
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["events"], 0, "{id}: {v}");
    }
    assert_eq!(webhook_events(&w.db_url).await, stored);
}
