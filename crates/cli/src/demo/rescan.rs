//! The demo's last full comparison: every record on every side a sync flow reads from is
//! ingested as a reconcile event with an id of this comparison alone, so every one is compared
//! by its flow's job (which writes only what differs from the other side).
//!
//! Why not only [`engine::runtime::Engine::reconcile_once`]: its events are keyed by each
//! record's change time, so a record whose app does not move that time on every change is not
//! compared again. GHL's task API returns no `dateUpdated`: a task completed while its
//! `TaskComplete` webhook was dropped keeps the key of the last comparison and would stay
//! out of step. The demo runs both (the engine's reconcile also finds deletes whose webhook was
//! dropped); docs/demo.md says more.

use std::collections::BTreeSet;

use connectors::{ChangeHint, ConnectorError, EntityKind};
use engine::flow::{FlowBody, SyncDirection};
use engine::store::EventSource;

use super::stack::Stack;

/// Ingests a comparison event for every record the sync flows read; returns how many.
pub async fn compare_everything(stack: &Stack, nonce: &str) -> Result<usize, String> {
    let mut sides: BTreeSet<(String, EntityKind)> = BTreeSet::new();
    for f in stack.sync_flows() {
        let FlowBody::Sync(s) = &f.body else { continue };
        for k in &s.kinds {
            sides.insert((s.source.clone(), *k));
            if s.direction == SyncDirection::TwoWay {
                sides.insert((s.target.clone(), *k));
            }
        }
    }
    let mut total = 0;
    for (conn, kind) in sides {
        let Some(c) = stack.engine.connectors.get(&conn) else {
            continue;
        };
        let mut cursor: Option<String> = None;
        loop {
            let page = match c.list_all(kind, cursor.as_deref()).await {
                Ok(p) => p,
                Err(ConnectorError::Unsupported(_)) => break,
                Err(e) => return Err(format!("listing {kind}s of {conn}: {e}")),
            };
            let hints: Vec<ChangeHint> = page
                .records
                .iter()
                .map(|r| ChangeHint {
                    kind: r.kind,
                    id: r.id.clone(),
                    parent_id: r.parent_id.clone(),
                    deleted: r.deleted,
                    event_id: format!("demo-compare:{nonce}:{}:{}", r.kind, r.id),
                    event_type: "reconcile".into(),
                })
                .collect();
            total += hints.len();
            stack
                .engine
                .ingest(&conn, &hints, EventSource::Reconcile)
                .await
                .map_err(|e| format!("queueing the comparison of {conn} {kind}s: {e}"))?;
            match page.next_cursor {
                Some(next) if !page.done => cursor = Some(next),
                _ => break,
            }
        }
    }
    Ok(total)
}
