//! Listing GHL records page by page: incremental contact reads by `changes_after` (the cursor is
//! the JSON of the client's [`ChangeCursor`], so the overlap re-read never delivers twice), full
//! scans by `searchAfter` (past GHL's 10,000-result page window), and children read contact by
//! contact, because GHL lists tasks, notes and appointments only per contact.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use ghl::models::search::{Direction, SearchContact, SearchRequest};
use ghl::paging::ChangeCursor;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{connector_error, models, unsupported, GhlConnector};
use crate::connector::{ChangePage, ConnectorError};
use crate::record::{EntityKind, Record};

/// Where a `list_all` scan stands: the `searchAfter` of the last contact read.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ScanCursor {
    after: Option<Vec<Value>>,
}

fn bad_cursor(e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Rejected(format!("not a cursor of the GHL connector: {e}"))
}

/// An incremental cursor: the JSON of a [`ChangeCursor`], or a bare RFC 3339 time.
fn change_cursor(cursor: Option<&str>) -> Result<ChangeCursor, ConnectorError> {
    match cursor.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(ChangeCursor::new(DateTime::UNIX_EPOCH)),
        Some(c) if c.starts_with('{') => serde_json::from_str(c).map_err(bad_cursor),
        Some(c) => DateTime::parse_from_rfc3339(c)
            .map(|t| ChangeCursor::new(t.with_timezone(&Utc)))
            .map_err(bad_cursor),
    }
}

impl GhlConnector {
    /// One contact's tasks, notes, appointments or tags. The engine calls this when a contact
    /// changed and its children must be compared again (the trait has no per-parent listing).
    pub async fn children(
        &self,
        kind: EntityKind,
        contact_id: &str,
    ) -> Result<Vec<Record>, ConnectorError> {
        let c = contact_id;
        let err = connector_error;
        Ok(match kind {
            EntityKind::Task => {
                let tasks = self.client.list_tasks(c).await.map_err(err)?;
                tasks
                    .iter()
                    .map(|t| models::task_record(t, Some(c)))
                    .collect()
            }
            EntityKind::Note => {
                let notes = self.client.list_notes(c).await.map_err(err)?;
                notes
                    .iter()
                    .map(|n| models::note_record(n, Some(c)))
                    .collect()
            }
            EntityKind::Appointment => {
                let list = self.client.list_appointments(c).await.map_err(err)?;
                list.iter()
                    .map(|a| models::appointment_record(a, Some(c)))
                    .collect()
            }
            EntityKind::Tag => {
                let contact = self.client.get_contact(c).await.map_err(err)?;
                contact
                    .tags
                    .iter()
                    .map(|t| models::tag_record(t, c))
                    .collect()
            }
            EntityKind::Contact | EntityKind::Business => {
                return Err(unsupported("children", kind));
            }
        })
    }

    /// One page of contacts in `dateAdded` order after `cursor`, and the cursor after them.
    async fn scan_contacts(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<SearchContact>, Option<String>, bool), ConnectorError> {
        let start: ScanCursor = match cursor.filter(|c| !c.is_empty()) {
            Some(c) => serde_json::from_str(c).map_err(bad_cursor)?,
            None => ScanCursor::default(),
        };
        let mut request = SearchRequest::new()
            .page_limit(limit)
            .sort_by("dateAdded", Direction::Asc);
        request.search_after = start.after.clone();
        let page: Vec<SearchContact> = self
            .client
            .search_all(request)
            .take(limit as usize)
            .try_collect()
            .await
            .map_err(connector_error)?;
        let done = page.len() < limit as usize;
        let after = page.last().map(|c| c.search_after.clone()).or(start.after);
        let next = serde_json::to_string(&ScanCursor { after }).map_err(bad_cursor)?;
        Ok((page, Some(next), done))
    }

    /// `list_changed`: contacts only (see the module table of [`super`] for why).
    pub(super) async fn changed_page(
        &self,
        kind: EntityKind,
        cursor: Option<&str>,
    ) -> Result<ChangePage, ConnectorError> {
        if kind != EntityKind::Contact {
            return Err(unsupported("list_changed", kind));
        }
        let overlap = Duration::from_secs(self.settings.overlap_secs);
        let mut changes = self.client.changes_after(change_cursor(cursor)?, overlap);
        let limit = self.settings.page_size as usize;
        let mut page = Vec::new();
        while page.len() < limit {
            match changes.try_next().await.map_err(connector_error)? {
                Some(c) => page.push(c),
                None => break,
            }
        }
        let records = self.records_of(&page).await?;
        let next = serde_json::to_string(&changes.cursor()).map_err(bad_cursor)?;
        Ok(ChangePage {
            records,
            next_cursor: Some(next),
            done: changes.is_finished(),
        })
    }

    /// `list_all`: contacts by search; tasks, notes and appointments contact by contact.
    pub(super) async fn all_page(
        &self,
        kind: EntityKind,
        cursor: Option<&str>,
    ) -> Result<ChangePage, ConnectorError> {
        let batch = match kind {
            EntityKind::Contact => self.settings.page_size,
            EntityKind::Task | EntityKind::Note | EntityKind::Appointment => {
                self.settings.child_scan_batch
            }
            EntityKind::Tag | EntityKind::Business => return Err(unsupported("list_all", kind)),
        };
        let (contacts, next_cursor, done) = self.scan_contacts(cursor, batch).await?;
        let records = if kind == EntityKind::Contact {
            self.records_of(&contacts).await?
        } else {
            let mut out = Vec::new();
            for c in &contacts {
                match self.children(kind, &c.id).await {
                    Ok(mut r) => out.append(&mut r),
                    // Deleted between the search and this read: it has no children any more.
                    Err(ConnectorError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            out
        };
        Ok(ChangePage {
            records,
            next_cursor,
            done,
        })
    }
}
