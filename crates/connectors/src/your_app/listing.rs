//! Listing records page by page in whichever paging style the app uses (cursor, page number,
//! offset), the incremental read with its own cursor ([`SyncCursor`]: the app's page position
//! within a run, the newest `updated_at` between runs), and one contact's children.

use reqwest::Method;
use serde_json::Value;

use super::config::PagingStyle;
use super::models::{self, PageToken, ScanCursor, SyncCursor};
use super::{fill, mapping, Req, YourAppConnector};
use crate::connector::{ChangePage, ConnectorError};
use crate::record::{EntityKind, Record};

impl YourAppConnector {
    /// One page of `path` from `page`; the records and where the next page starts.
    pub(super) async fn page(
        &self,
        path: String,
        mut query: Vec<(String, String)>,
        page: Option<&PageToken>,
    ) -> Result<(Vec<Value>, Option<PageToken>), ConnectorError> {
        let p = &self.cfg.paging;
        query.push((p.limit_param.clone(), p.page_size.to_string()));
        match (p.style, page) {
            (PagingStyle::Cursor, Some(PageToken::Cursor(c))) => {
                query.push((p.cursor_param.clone(), c.clone()))
            }
            (PagingStyle::Page, t) => {
                let n = match t {
                    Some(PageToken::Page(n)) => *n,
                    _ => p.first_page,
                };
                query.push((p.page_param.clone(), n.to_string()));
            }
            (PagingStyle::Offset, t) => {
                let n = match t {
                    Some(PageToken::Offset(n)) => *n,
                    _ => 0,
                };
                query.push((p.offset_param.clone(), n.to_string()));
            }
            (PagingStyle::Cursor, _) => {}
        }
        let mut req = Req::new(Method::GET, path);
        req.query = query;
        let (_, answer) = self.send(req).await?;
        let data = models::data_of(&answer, &p.data_key)?.clone();
        let full = data.len() >= p.page_size as usize;
        let next = match p.style {
            PagingStyle::Cursor => answer
                .as_object()
                .and_then(|o| mapping::get_path(o, &p.next_key))
                .and_then(models::text_of)
                .map(PageToken::Cursor),
            PagingStyle::Page => full.then(|| match page {
                Some(PageToken::Page(n)) => PageToken::Page(n + 1),
                _ => PageToken::Page(p.first_page + 1),
            }),
            PagingStyle::Offset => full.then(|| match page {
                Some(PageToken::Offset(n)) => PageToken::Offset(n + data.len() as u64),
                _ => PageToken::Offset(data.len() as u64),
            }),
        };
        Ok((data, next))
    }

    pub(super) fn records(
        &self,
        kind: EntityKind,
        data: &[Value],
    ) -> Result<Vec<Record>, ConnectorError> {
        let kc = self.kind(kind)?;
        data.iter()
            .map(|v| models::record_of(kind, kc, &self.cfg.record, v))
            .collect()
    }

    pub(super) fn list_path(&self, kind: EntityKind, what: &str) -> Result<String, ConnectorError> {
        self.kind(kind)?.list_path.clone().ok_or_else(|| {
            ConnectorError::Unsupported(format!(
                "{}: {what} of {kind} (no list_path)",
                self.cfg.app
            ))
        })
    }

    /// Every live record of one kind under one contact (notes, tasks, appointments).
    pub async fn children(
        &self,
        kind: EntityKind,
        contact_id: &str,
    ) -> Result<Vec<Record>, ConnectorError> {
        let path = self.kind(kind)?.children_path.clone().ok_or_else(|| {
            ConnectorError::Unsupported(format!("{}: {kind} per contact", self.cfg.app))
        })?;
        let path = fill(&path, None, Some(contact_id));
        let (mut out, mut page) = (Vec::new(), None);
        loop {
            let (data, next) = self.page(path.clone(), Vec::new(), page.as_ref()).await?;
            out.extend(
                self.records(kind, &data)?
                    .into_iter()
                    .filter(|r| !r.deleted),
            );
            match next {
                Some(n) if !data.is_empty() => page = Some(n),
                _ => return Ok(out),
            }
        }
    }

    /// `list_changed`: `updated_since` (minus the overlap) plus tombstones, page by page.
    pub(super) async fn changed_page(
        &self,
        kind: EntityKind,
        cursor: Option<&str>,
    ) -> Result<ChangePage, ConnectorError> {
        let path = self.list_path(kind, "list_changed")?;
        let mut cur = SyncCursor::parse(cursor)?;
        let overlap = chrono::Duration::seconds(
            i64::try_from(self.cfg.query.overlap_secs).unwrap_or(i64::MAX / 1000),
        );
        let mut query = Vec::new();
        if let (Some(param), Some(from)) = (&self.cfg.query.updated_since_param, cur.from) {
            let since = from - overlap;
            query.push((
                param.clone(),
                since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            ));
        }
        if let Some(param) = &self.cfg.query.include_deleted_param {
            query.push((param.clone(), "true".into()));
        }
        let (data, next) = self.page(path, query, cur.page.as_ref()).await?;
        let mut records = Vec::new();
        for r in self.records(kind, &data)? {
            if !cur.seen(&r) {
                cur.deliver(&r, overlap);
                records.push(r);
            }
        }
        let done = next.is_none() || data.is_empty();
        if done {
            cur.finish();
        } else {
            cur.page = next;
        }
        let next_cursor =
            serde_json::to_string(&cur).map_err(|e| ConnectorError::Transient(e.to_string()))?;
        Ok(ChangePage {
            records,
            next_cursor: Some(next_cursor),
            done,
        })
    }

    /// `list_all`: live records, page by page.
    pub(super) async fn all_page(
        &self,
        kind: EntityKind,
        cursor: Option<&str>,
    ) -> Result<ChangePage, ConnectorError> {
        let path = self.list_path(kind, "list_all")?;
        let start: ScanCursor = match cursor.filter(|c| !c.is_empty()) {
            Some(c) => serde_json::from_str(c).map_err(|e| {
                ConnectorError::Rejected(format!("not a cursor of this connector: {e}"))
            })?,
            None => ScanCursor::default(),
        };
        let (data, next) = self.page(path, Vec::new(), start.page.as_ref()).await?;
        let records = self
            .records(kind, &data)?
            .into_iter()
            .filter(|r| !r.deleted)
            .collect();
        let done = next.is_none() || data.is_empty();
        let next_cursor = (!done)
            .then(|| serde_json::to_string(&ScanCursor { page: next }))
            .transpose()
            .map_err(|e| ConnectorError::Transient(e.to_string()))?;
        Ok(ChangePage {
            records,
            next_cursor,
            done,
        })
    }
}
