//! Polling and reconciliation: incremental polls from persisted cursors, and full re-reads that
//! catch what webhooks and polls missed (changes and deletes).

use super::*;

impl Engine {
    /// Polls every synced (connection, kind) once from its persisted cursor, ingesting what
    /// changed. Returns the number of hints ingested.
    pub async fn poll_once(&self) -> Result<usize, SyncError> {
        // Value: whether a first poll backfills (syncs) or only starts counting (actions flows
        // triggered on `changed`, see `actions::trigger::polled_streams`).
        let mut streams: BTreeMap<(String, EntityKind), bool> = BTreeMap::new();
        for f in self.flows.iter().filter(|f| f.enabled) {
            if let FlowBody::Sync(s) = &f.body {
                for k in &s.kinds {
                    streams.insert((s.source.clone(), *k), true);
                    if s.direction == SyncDirection::TwoWay {
                        streams.insert((s.target.clone(), *k), true);
                    }
                }
            }
        }
        for key in crate::actions::trigger::polled_streams(&self.flows) {
            streams.entry(key).or_insert(false);
        }
        let mut total = 0;
        for ((conn, kind), backfill) in &streams {
            let Some(connector) = self.connectors.get(conn) else {
                continue;
            };
            let stream = format!("changes:{kind}");
            let mut cursor = self.store.cursor(conn, &stream).await?;
            let counting_from_now = cursor.is_none() && !backfill;
            loop {
                let page = match connector.list_changed(*kind, cursor.as_deref()).await {
                    Ok(p) => p,
                    Err(connectors::ConnectorError::Unsupported(_)) => break,
                    Err(e) => return Err(e.into()),
                };
                let hints: Vec<ChangeHint> = page
                    .records
                    .iter()
                    .map(|r| ChangeHint {
                        kind: r.kind,
                        id: r.id.clone(),
                        parent_id: r.parent_id.clone(),
                        deleted: r.deleted,
                        event_id: poll_event_id(r),
                        event_type: "poll".into(),
                    })
                    .collect();
                if !counting_from_now {
                    total += hints.len();
                    self.ingest(conn, &hints, EventSource::Poll).await?;
                }
                if let Some(next) = &page.next_cursor {
                    self.store
                        .set_cursor(crate::store::CursorSet {
                            connection_id: conn.clone(),
                            stream: stream.clone(),
                            value: next.clone(),
                        })
                        .await?;
                    cursor = Some(next.clone());
                }
                if page.done || page.next_cursor.is_none() {
                    break;
                }
            }
        }
        Ok(total)
    }

    /// Compares every linked record with what each app holds now: records missing on their side
    /// (deleted while a webhook was dropped) get a delete hint; records never linked get a change
    /// hint. Returns the number of hints ingested.
    pub async fn reconcile_once(&self) -> Result<usize, SyncError> {
        self.reconcile_only(None).await
    }

    /// [`Self::reconcile_once`] for the connections in `only` (every one when `None`).
    pub(crate) async fn reconcile_only(
        &self,
        only: Option<&std::collections::BTreeSet<String>>,
    ) -> Result<usize, SyncError> {
        let mut total = 0;
        for f in self.flows.iter().filter(|f| f.enabled) {
            let FlowBody::Sync(s) = &f.body else { continue };
            let mut conns = vec![s.source.clone()];
            if s.direction == SyncDirection::TwoWay {
                conns.push(s.target.clone());
            }
            for conn in conns {
                let Some(connector) = self.connectors.get(&conn) else {
                    continue;
                };
                if only.is_some_and(|o| !o.contains(&conn)) {
                    continue;
                }
                for kind in &s.kinds {
                    let Some(mut hints) = self.scan(connector.as_ref(), *kind).await? else {
                        continue;
                    };
                    // Linked records the app no longer lists were deleted while their webhook
                    // was dropped: hint their deletion.
                    let seen: std::collections::HashSet<String> =
                        hints.iter().map(|h| h.id.clone()).collect();
                    let mut page = crate::store::Page {
                        limit: 1000,
                        offset: 0,
                    };
                    loop {
                        let links = self.store.links_in(&conn, kind.as_str(), page).await?;
                        for l in links.iter().filter(|l| !seen.contains(&l.external_id)) {
                            hints.push(ChangeHint {
                                kind: *kind,
                                id: l.external_id.clone(),
                                parent_id: None,
                                deleted: true,
                                event_id: format!("reconcile-missing:{kind}:{}", l.external_id),
                                event_type: "reconcile".into(),
                            });
                        }
                        if links.len() < page.limit as usize {
                            break;
                        }
                        page.offset += page.limit;
                    }
                    total += hints.len();
                    self.ingest(&conn, &hints, EventSource::Reconcile).await?;
                }
            }
        }
        Ok(total)
    }

    /// Every record of a kind as change hints (one per version), or `None` when the app cannot
    /// list that kind.
    async fn scan(
        &self,
        connector: &dyn connectors::Connector,
        kind: EntityKind,
    ) -> Result<Option<Vec<ChangeHint>>, SyncError> {
        let mut cursor: Option<String> = None;
        let mut hints = Vec::new();
        loop {
            let page = match connector.list_all(kind, cursor.as_deref()).await {
                Ok(p) => p,
                Err(connectors::ConnectorError::Unsupported(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            for r in page.records {
                hints.push(ChangeHint {
                    kind: r.kind,
                    event_id: reconcile_event_id(&r),
                    id: r.id,
                    parent_id: r.parent_id,
                    deleted: r.deleted,
                    event_type: "reconcile".into(),
                });
            }
            match page.next_cursor {
                Some(c) if !page.done => cursor = Some(c),
                _ => return Ok(Some(hints)),
            }
        }
    }
}

/// The event id of a record seen by a reconcile: kind, id, change time and, as polls have, a
/// digest of the content. Without the digest an app that gives some records no change time
/// (GHL tasks) would give a record edited behind a dropped webhook the same id as at its last
/// reconcile, and the edit would never be seen.
fn reconcile_event_id(r: &connectors::Record) -> String {
    format!(
        "reconcile:{}:{}:{}:{}",
        r.kind,
        r.id,
        r.updated_at
            .map(|t| t.timestamp_micros())
            .unwrap_or_default(),
        crate::sync::hash_fields(&r.fields)
    )
}

/// The event id of a polled change: kind, id, the app's change time and a digest of the content.
/// The digest matters where the app's clock is coarse (whole seconds) or absent: two edits within
/// one second are two events, while re-reading an unchanged record is the same one and is dropped.
fn poll_event_id(r: &connectors::Record) -> String {
    format!(
        "poll:{}:{}:{}:{}{}",
        r.kind,
        r.id,
        r.updated_at
            .map(|t| t.timestamp_micros())
            .unwrap_or_default(),
        if r.deleted { "deleted:" } else { "" },
        crate::sync::hash_fields(&r.fields)
    )
}

#[cfg(test)]
mod tests {
    use connectors::{EntityKind, Record};
    use serde_json::json;

    use super::{poll_event_id, reconcile_event_id};

    fn record(city: &str) -> Record {
        let mut r = Record::new(
            EntityKind::Contact,
            "c1",
            json!({ "city": city })
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        r.updated_at = chrono::DateTime::from_timestamp(1_700_000_000, 0);
        r
    }

    /// Two edits inside one second of a coarse app clock are two events; a re-read is one.
    #[test]
    fn poll_event_ids_tell_edits_apart_within_one_clock_tick() {
        assert_ne!(
            poll_event_id(&record("Lisbon")),
            poll_event_id(&record("Porto"))
        );
        assert_eq!(
            poll_event_id(&record("Porto")),
            poll_event_id(&record("Porto"))
        );
        let mut gone = record("Porto");
        gone.deleted = true;
        assert_ne!(poll_event_id(&gone), poll_event_id(&record("Porto")));
    }

    /// A task completed behind a dropped webhook, on an app that gives tasks no change time,
    /// is a new reconcile event; an unchanged task seen again is the same one.
    #[test]
    fn reconcile_event_ids_see_edits_without_a_change_time() {
        let task = |done: bool| {
            Record::new(
                EntityKind::Task,
                "t1",
                json!({ "title": "Call", "completed": done })
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            )
        };
        assert_ne!(
            reconcile_event_id(&task(false)),
            reconcile_event_id(&task(true))
        );
        assert_eq!(
            reconcile_event_id(&task(true)),
            reconcile_event_id(&task(true))
        );
    }
}
