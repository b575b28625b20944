//! Reading for the steps: a contact's related records (`fetch_related`, `complete_task` by
//! title, settling unconfirmed markers), whole-connection scans for runs without a record, and
//! match-key lookups (`upsert`).

use connectors::{ConnectorError, EntityKind, MatchKey, Record};

use super::run::{as_value, Run};
use crate::sync::SyncError;

/// At most this many records are loaded by a `fetch_related` that has no contact to scope it
/// (a scheduled run), so a template cannot pull a whole account into memory.
const MAX_UNSCOPED_FETCH: usize = 5_000;

impl Run<'_> {
    /// The record a match key finds in `connection`; a lookup the app lacks finds nothing.
    pub(super) async fn find(
        &self,
        connection: &str,
        kind: EntityKind,
        keys: &[(String, MatchKey)],
    ) -> Result<Option<Record>, SyncError> {
        let target = self.connector(connection)?;
        for (_, key) in keys {
            match target.find(kind, key).await {
                Ok(Some(found)) if !found.deleted => return Ok(Some(found)),
                Ok(_) | Err(ConnectorError::Unsupported(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }

    /// Loads the contact's records of `kind` (every record of the connection, up to a limit,
    /// when the run has no record) into the template context under `as_name`.
    pub(super) async fn fetch_related(
        &mut self,
        connection: &str,
        kind: EntityKind,
        as_name: &str,
    ) -> Result<(), SyncError> {
        let records = match self.start {
            Some(_) => {
                let contact = self.contact_id_in(connection, "fetch_related").await?;
                self.related(connection, kind, &contact).await?
            }
            None => {
                self.all_of(connection, kind, Some(MAX_UNSCOPED_FETCH))
                    .await?
            }
        };
        self.fetched.insert(as_name.to_string(), as_value(&records));
        Ok(())
    }

    /// One contact's live records of `kind`; apps without a per-contact listing are scanned.
    pub async fn related(
        &self,
        connection: &str,
        kind: EntityKind,
        contact: &str,
    ) -> Result<Vec<Record>, SyncError> {
        match self.connector(connection)?.children(kind, contact).await {
            Ok(records) => Ok(records.into_iter().filter(|r| !r.deleted).collect()),
            Err(ConnectorError::Unsupported(_)) => {
                let all = self.all_of(connection, kind, None).await?;
                Ok(all
                    .into_iter()
                    .filter(|r| r.parent_id.as_deref() == Some(contact))
                    .collect())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Every live record of `kind` in `connection`, page by page, up to `limit`.
    pub(super) async fn all_of(
        &self,
        connection: &str,
        kind: EntityKind,
        limit: Option<usize>,
    ) -> Result<Vec<Record>, SyncError> {
        let connector = self.connector(connection)?;
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = connector.list_all(kind, cursor.as_deref()).await?;
            out.extend(page.records.into_iter().filter(|r| !r.deleted));
            if let Some(max) = limit.filter(|m| out.len() >= *m) {
                tracing::warn!(flow = %self.flow_name(), %kind, connection, max, "fetch_related without a contact stopped at its limit");
                out.truncate(max);
                return Ok(out);
            }
            match page.next_cursor {
                Some(c) if !page.done => cursor = Some(c),
                _ => return Ok(out),
            }
        }
    }
}
