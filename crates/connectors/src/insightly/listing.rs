//! Reading lists: `list_changed` through `/{Object}/Search?updated_after_utc=` paged with
//! `skip`/`top` to exhaustion, `list_all` through `/{Object}?skip=&top=`, and one contact's
//! activities through `/Contacts/{id}/Tasks|Notes|Events`.
//!
//! The change cursor ([`ChangeCursor`], JSON): a run asks for records updated after
//! `from − overlap_secs` and pages with `skip` until a short page; only then does `from` move to
//! the newest `DATE_UPDATED_UTC` delivered. Insightly's order inside a result set is
//! undocumented, which is why the cursor moves only once the run is done. Because stamps have
//! one-second resolution and the filter is strict, the overlap re-reads the last seconds; the
//! versions delivered there (`recent`: id and stamp) are not delivered again.
//!
//! Tasks, notes and events linked to no contact are left out: the engine syncs them as a
//! contact's children, and without a contact there is nothing to attach them to.

use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::models::{canonical_time, parse_time, Object};
use super::InsightlyConnector;
use crate::connector::{ChangePage, ConnectorError};
use crate::record::{EntityKind, Record};

/// A version delivered near the cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    pub id: String,
    pub at: DateTime<Utc>,
}

/// The `list_changed` cursor (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChangeCursor {
    /// The newest stamp delivered by finished runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    /// Rows of the current run read so far; `None` between runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip: Option<u64>,
    /// The newest stamp delivered in the current run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<DateTime<Utc>>,
    /// Versions finished runs delivered within the overlap before `from`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent: Vec<Seen>,
    /// Versions the current run delivered within the overlap before its newest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub run: Vec<Seen>,
}

impl ChangeCursor {
    /// This connector's JSON, or a bare time (RFC 3339 or Insightly's form) to start after.
    pub fn parse(s: Option<&str>) -> Result<Self, ConnectorError> {
        let bad = |e: String| {
            ConnectorError::Rejected(format!("not a cursor of the Insightly connector: {e}"))
        };
        match s.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(Self::default()),
            Some(s) if s.starts_with('{') => {
                serde_json::from_str(s).map_err(|e| bad(e.to_string()))
            }
            Some(s) => parse_time(s)
                .map(|t| Self {
                    from: Some(t),
                    ..Self::default()
                })
                .ok_or_else(|| bad(s.to_string())),
        }
    }

    /// Whether this version was delivered already (by an earlier run or this one).
    pub fn seen(&self, r: &Record) -> bool {
        r.updated_at.is_some_and(|at| {
            self.recent
                .iter()
                .chain(&self.run)
                .any(|s| s.id == r.id && s.at >= at)
        })
    }

    /// Records a delivered version. Only this run's list is trimmed here: the earlier runs'
    /// versions must stay until the run ends, whatever newer stamps this run meets.
    pub fn deliver(&mut self, r: &Record, overlap: Duration) {
        let Some(at) = r.updated_at else {
            return;
        };
        let newest = self.newest.map_or(at, |n| n.max(at));
        self.newest = Some(newest);
        self.run.retain(|s| s.id != r.id);
        self.run.push(Seen {
            id: r.id.clone(),
            at,
        });
        self.run.retain(|s| s.at >= newest - overlap);
    }

    /// The run ended: the next one starts after the newest version delivered, and remembers
    /// what its overlap will re-read.
    pub fn finish(&mut self, overlap: Duration) {
        self.skip = None;
        if let Some(n) = self.newest {
            self.from = Some(self.from.map_or(n, |f| f.max(n)));
        }
        let run = std::mem::take(&mut self.run);
        for s in run {
            self.recent.retain(|x| x.id != s.id || x.at > s.at);
            if !self.recent.iter().any(|x| x.id == s.id) {
                self.recent.push(s);
            }
        }
        if let Some(from) = self.from {
            self.recent.retain(|s| s.at >= from - overlap);
        }
    }
}

/// A `list_all` cursor: rows read so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanCursor {
    pub skip: u64,
}

fn object(kind: EntityKind, what: &str) -> Result<Object, ConnectorError> {
    Object::of(kind).ok_or_else(|| {
        ConnectorError::Unsupported(format!(
            "Insightly: {what} of tags (they are a contact's TAGS; read the contact)"
        ))
    })
}

fn json_cursor<T: Serialize>(c: &T) -> Result<String, ConnectorError> {
    serde_json::to_string(c).map_err(|e| ConnectorError::Transient(e.to_string()))
}

impl InsightlyConnector {
    /// One page of rows of `path` from `skip`.
    pub(super) async fn rows(
        &self,
        path: &str,
        mut query: Vec<(&str, String)>,
        skip: u64,
    ) -> Result<Vec<Value>, ConnectorError> {
        query.push(("skip", skip.to_string()));
        query.push(("top", self.client.cfg.page_size.to_string()));
        let v = self.client.call(Method::GET, path, &query, None).await?;
        match v {
            Value::Array(rows) => Ok(rows),
            other => Err(ConnectorError::Transient(format!(
                "Insightly GET {path}: expected a JSON array, got {}",
                other.to_string().chars().take(100).collect::<String>()
            ))),
        }
    }

    fn full(&self, rows: &[Value]) -> bool {
        rows.len() >= self.client.cfg.page_size as usize
    }

    /// Every row of `path`, page by page.
    pub(super) async fn all_rows(
        &self,
        path: &str,
        query: Vec<(&str, String)>,
    ) -> Result<Vec<Value>, ConnectorError> {
        let mut out = Vec::new();
        loop {
            let rows = self.rows(path, query.clone(), out.len() as u64).await?;
            let more = self.full(&rows);
            out.extend(rows);
            if !more {
                return Ok(out);
            }
        }
    }

    /// `list_changed` (see the module docs).
    pub(super) async fn changed_page(
        &self,
        kind: EntityKind,
        cursor: Option<&str>,
    ) -> Result<ChangePage, ConnectorError> {
        let obj = object(kind, "list_changed")?;
        let mut cur = ChangeCursor::parse(cursor)?;
        let overlap = Duration::seconds(i64::try_from(self.client.cfg.overlap_secs).unwrap_or(0));
        let mut query = Vec::new();
        if let Some(from) = cur.from {
            query.push(("updated_after_utc", canonical_time(from - overlap)));
        }
        let skip = cur.skip.unwrap_or(0);
        let rows = self
            .rows(&format!("{}/Search", obj.path()), query, skip)
            .await?;
        let more = self.full(&rows);
        let mut records = Vec::new();
        for r in self.records(obj, &rows).await? {
            if cur.seen(&r) {
                continue;
            }
            cur.deliver(&r, overlap);
            if !kind.has_parent() || r.parent_id.is_some() {
                records.push(r);
            }
        }
        records.sort_by(|a, b| (a.updated_at, &a.id).cmp(&(b.updated_at, &b.id)));
        if more {
            cur.skip = Some(skip + rows.len() as u64);
        } else {
            cur.finish(overlap);
        }
        Ok(ChangePage {
            records,
            next_cursor: Some(json_cursor(&cur)?),
            done: !more,
        })
    }

    /// `list_all`: every record of the kind, page by page.
    pub(super) async fn all_page(
        &self,
        kind: EntityKind,
        cursor: Option<&str>,
    ) -> Result<ChangePage, ConnectorError> {
        let obj = object(kind, "list_all")?;
        let start: ScanCursor = match cursor.filter(|c| !c.trim().is_empty()) {
            Some(c) => serde_json::from_str(c).map_err(|e| {
                ConnectorError::Rejected(format!("not a cursor of the Insightly connector: {e}"))
            })?,
            None => ScanCursor::default(),
        };
        let rows = self.rows(obj.path(), Vec::new(), start.skip).await?;
        let more = self.full(&rows);
        let records = self
            .records(obj, &rows)
            .await?
            .into_iter()
            .filter(|r| !kind.has_parent() || r.parent_id.is_some())
            .collect();
        let next_cursor = more
            .then(|| {
                json_cursor(&ScanCursor {
                    skip: start.skip + rows.len() as u64,
                })
            })
            .transpose()?;
        Ok(ChangePage {
            records,
            next_cursor,
            done: !more,
        })
    }

    /// One contact's tasks, notes or events.
    pub(super) async fn contact_children(
        &self,
        kind: EntityKind,
        contact_id: &str,
    ) -> Result<Vec<Record>, ConnectorError> {
        let obj = match kind {
            EntityKind::Task | EntityKind::Note | EntityKind::Appointment => object(kind, "")?,
            EntityKind::Tag => {
                let contact = self.get_record(Object::Contacts, contact_id).await?;
                let contact = contact.ok_or_else(|| {
                    ConnectorError::NotFound(format!("Insightly contact {contact_id}"))
                })?;
                return Ok(super::tags_of(&contact));
            }
            _ => {
                return Err(ConnectorError::Unsupported(format!(
                    "Insightly: a contact's {kind} records"
                )))
            }
        };
        let path = format!("Contacts/{}/{}", super::seg(contact_id), obj.path());
        let rows = self.all_rows(&path, Vec::new()).await?;
        let mut out = self.records(obj, &rows).await?;
        for r in &mut out {
            r.parent_id = Some(contact_id.to_string());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    #[test]
    fn the_cursor_moves_only_when_a_run_ends_and_skips_what_it_delivered() {
        let mut c = ChangeCursor::parse(Some("2025-01-01 00:00:00")).unwrap();
        assert!(c.from.is_some());
        let mut r = Record::new(EntityKind::Contact, "1", Map::new());
        r.updated_at = parse_time("2025-02-01T00:00:05Z");
        assert!(!c.seen(&r));
        c.deliver(&r, Duration::seconds(5));
        c.skip = Some(500);
        assert_eq!(
            c.from,
            parse_time("2025-01-01T00:00:00Z"),
            "not during a run"
        );
        c.finish(Duration::seconds(5));
        assert_eq!((c.from, c.skip), (r.updated_at, None));
        assert!(c.run.is_empty() && c.recent.len() == 1);
        assert!(c.seen(&r), "re-read in the overlap, not delivered again");
        let mut newer = r.clone();
        newer.updated_at = parse_time("2025-02-01T00:00:06Z");
        assert!(!c.seen(&newer), "a newer version is");
        // A run that meets a much newer record keeps the earlier runs' versions to the end.
        let mut far = r.clone();
        far.id = "2".into();
        far.updated_at = parse_time("2026-01-01T00:00:00Z");
        c.deliver(&far, Duration::seconds(5));
        assert!(c.seen(&r), "still known during the run");
        c.finish(Duration::seconds(5));
        assert!(
            !c.recent.iter().any(|s| s.id == "1"),
            "out of the next overlap: dropped"
        );
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(ChangeCursor::parse(Some(&text)).unwrap(), c);
        assert!(ChangeCursor::parse(Some("tomorrow")).is_err());
    }
}
