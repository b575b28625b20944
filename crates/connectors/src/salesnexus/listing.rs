//! Listing: each kind's list and its paging quirk, `list_all`, `children`, `find` by email and
//! the full-scan change detection behind `list_changed`.
//!
//! | kind | list | paging | envelope |
//! |---|---|---|---|
//! | contact | `contacts` | `page` from 1, `pageSize` ≤ 100 | `{data, totalItems, page, pageSize}` |
//! | task, appointment | `tasks?scope=all` (both kinds: a Meeting is an appointment) | **`pageNumber`** from 1 | `{data, pagination:{totalCount,pageNumber,pageSize}}` |
//! | note | `notes` | `page` from 1 | a flat array (no total: the last page is a short one) |
//!
//! ## Change detection without "updated since"
//! SalesNexus cannot list what changed, so a `list_changed` run reads the whole list, one page
//! per call, and delivers the records that changed since the cursor. The cursor is JSON of
//! bounded size:
//!
//! - `w`: the watermark, a time on the API's clock; `d`: the records delivered at or after it,
//!   as (id, `updatedAt`, content hash), at most `cursor_recent_cap` of them. A record is
//!   delivered when its `updatedAt` is at or after `w` and (id, `updatedAt`, hash) is not in `d`.
//!   The hash catches two changes within one second, the API's time resolution.
//! - At the end of a run `w` becomes the newest `updatedAt` seen, but never later than the
//!   server's `Date` when the run's first page was read: a record changed while the scan was
//!   running (on a page already read) has an `updatedAt` after that moment, so the next run
//!   finds it. `d` keeps only what is at or after the new `w`, so it stays small.
//! - Records without `updatedAt` (the API documents it on contacts only) are compared by
//!   content: the run XORs each one's hash of (id, content) into one of 256 buckets by id; the
//!   cursor keeps the 256 digests (4 KiB). Where a bucket's digest changed, a second pass over the
//!   list delivers that bucket's records (a few more than changed, never fewer). A first run
//!   delivers them all in one pass.
//! - Page numbers shift when records are deleted during a scan: when a list's total drops, the
//!   run steps back as many pages (at most 3) and skips the ids it read on the last 3 pages, so
//!   nothing is skipped or delivered twice. (Notes have no total; a delete during a note scan
//!   can hide a note from that run. The engine's periodic reconcile catches it.)
//!
//! Deletes are invisible (no tombstones): the engine's reconcile, which compares `list_all`
//! with its links, finds them.
//!
//! ## Version stamps in listings
//! The engine names a listed change after its record's id and `updated_at`, and drops a name it
//! has seen. SalesNexus times have whole seconds, and tasks and notes may have none, so two
//! versions of a record could share a name and the second be dropped. Records from
//! `list_changed` and `list_all` therefore carry, as `updated_at`, their `updatedAt` plus a
//! sub-second offset taken from their content hash (still within the second the API stated);
//! records without `updatedAt` carry their creation time (else 1970-01-01) plus that offset:
//! a version stamp, not a time. `get` answers the API's times unchanged (or none), which is
//! what conflict resolution compares.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::models::{
    self, content_hash, fnv, from_hex, hex_of, task_kind, text_of, ChangeCursor, Run, Seen, BUCKETS,
};
use super::SalesNexusConnector;
use crate::connector::{ChangePage, ConnectorError};
use crate::record::{EntityKind, Record};

const RECENT_PAGES: usize = 3;

/// A kind's list: its path, its page parameter and its fixed query.
type ListOf = (&'static str, &'static str, Vec<(&'static str, String)>);

/// One page of a list as read.
#[derive(Debug, Clone)]
pub(super) struct Fetched {
    pub rows: Vec<Map<String, Value>>,
    pub total: Option<u64>,
    /// The page size the API used (it may cut what was asked).
    pub size: u64,
    pub date: Option<DateTime<Utc>>,
    /// No page follows.
    pub last: bool,
}

fn bucket_of(id: &str) -> usize {
    (fnv(id.as_bytes()) % BUCKETS as u64) as usize
}

/// A hash-mode record's share of its bucket's digest.
fn digest_of(id: &str, row: &Map<String, Value>) -> u64 {
    fnv(format!("{id}\u{0}{}", content_hash(row)).as_bytes())
}

fn updated_ms(row: &Map<String, Value>) -> Option<i64> {
    row.get("updatedAt")
        .and_then(Value::as_str)
        .and_then(models::parse_time)
        .map(|t| t.timestamp_millis())
}

impl SalesNexusConnector {
    /// The path, page parameter and fixed query of a kind's list.
    fn list_of(&self, kind: EntityKind) -> Result<ListOf, ConnectorError> {
        match kind {
            EntityKind::Contact => Ok(("contacts", "page", Vec::new())),
            EntityKind::Task | EntityKind::Appointment => {
                Ok(("tasks", "pageNumber", vec![("scope", "all".to_string())]))
            }
            EntityKind::Note => Ok(("notes", "page", Vec::new())),
            EntityKind::Tag | EntityKind::Business => Err(self.unsupported(kind)),
        }
    }

    /// One page (from 1) of a kind's list, with extra query parameters.
    pub(super) async fn fetch(
        &self,
        kind: EntityKind,
        page: u64,
        extra: &[(&'static str, String)],
    ) -> Result<Fetched, ConnectorError> {
        let (path, page_param, mut query) = self.list_of(kind)?;
        let asked = u64::from(self.cfg.page_size);
        query.push((page_param, page.to_string()));
        query.push(("pageSize", asked.to_string()));
        query.extend(extra.iter().cloned());
        let answer = self.client.call(Method::GET, path, &query, None).await?;
        let body = answer.body;
        let (list, total, size) = match &body {
            Value::Array(_) => (Some(&body), None, None),
            Value::Object(o) => {
                let p = o.get("pagination");
                let total = o
                    .get("totalItems")
                    .or_else(|| p.and_then(|p| p.get("totalCount")))
                    .and_then(Value::as_u64);
                let size = o
                    .get("pageSize")
                    .or_else(|| p.and_then(|p| p.get("pageSize")))
                    .and_then(Value::as_u64);
                (o.get("data"), total, size)
            }
            _ => (None, None, None),
        };
        let rows: Vec<Map<String, Value>> = list
            .and_then(Value::as_array)
            .ok_or_else(|| {
                ConnectorError::Transient(format!("SalesNexus {path} answered no list of records"))
            })?
            .iter()
            .filter_map(|r| r.as_object().cloned())
            .collect();
        let size = size.filter(|s| *s > 0).unwrap_or(asked);
        let last =
            (rows.len() as u64) < size || total.is_some_and(|t| page.saturating_mul(size) >= t);
        Ok(Fetched {
            rows,
            total,
            size,
            date: answer.date,
            last,
        })
    }

    /// Whether an API row belongs to `kind` (tasks and meetings share one list).
    fn of_kind(kind: EntityKind, row: &Map<String, Value>) -> bool {
        !matches!(kind, EntityKind::Task | EntityKind::Appointment) || task_kind(row) == kind
    }

    /// The multi-select custom fields among these rows' (contacts only; no request otherwise).
    pub(super) async fn multi_of<'a>(
        &self,
        kind: EntityKind,
        rows: impl IntoIterator<Item = &'a Map<String, Value>>,
    ) -> Result<HashSet<String>, ConnectorError> {
        if kind != EntityKind::Contact {
            return Ok(HashSet::new());
        }
        self.multi_select(&Self::custom_names(rows)).await
    }

    /// One API row as a canonical record.
    pub(super) fn record(
        &self,
        kind: EntityKind,
        row: &Map<String, Value>,
        multi: &HashSet<String>,
    ) -> Result<Record, ConnectorError> {
        models::record_of(
            kind,
            &Value::Object(row.clone()),
            &self.cfg.tags_field,
            multi,
        )
    }

    /// [`Self::record`] with a version stamp as `updated_at` (see the module docs).
    fn listed(
        &self,
        kind: EntityKind,
        row: &Map<String, Value>,
        multi: &HashSet<String>,
    ) -> Result<Record, ConnectorError> {
        let mut r = self.record(kind, row, multi)?;
        let base = match r.updated_at {
            Some(t) if t.timestamp_subsec_nanos() != 0 => return Ok(r),
            Some(t) => t,
            None => ["createdAt", "createdOn"]
                .iter()
                .find_map(|k| {
                    row.get(*k)
                        .and_then(Value::as_str)
                        .and_then(models::parse_time)
                })
                .unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
        };
        let offset = (content_hash(row) % 1_000_000) as i64;
        r.updated_at = Some(base + chrono::Duration::microseconds(offset));
        Ok(r)
    }

    /// [`Self::record`] for a row read on its own.
    pub(super) async fn record_one(
        &self,
        kind: EntityKind,
        row: &Map<String, Value>,
    ) -> Result<Record, ConnectorError> {
        let multi = self.multi_of(kind, [row]).await?;
        self.record(kind, row, &multi)
    }

    /// `list_all`: one page of live records; the cursor is `{"page": n}`.
    pub(super) async fn all_page(
        &self,
        kind: EntityKind,
        cursor: Option<&str>,
    ) -> Result<ChangePage, ConnectorError> {
        #[derive(Serialize, Deserialize)]
        struct Scan {
            page: u64,
        }
        let page = match cursor.map(str::trim).filter(|c| !c.is_empty()) {
            None => 1,
            Some(c) => serde_json::from_str::<Scan>(c)
                .map_err(|e| {
                    ConnectorError::Rejected(format!("not a SalesNexus list cursor: {e}"))
                })?
                .page
                .max(1),
        };
        let f = self.fetch(kind, page, &[]).await?;
        let multi = self.multi_of(kind, &f.rows).await?;
        let records = f
            .rows
            .iter()
            .filter(|r| Self::of_kind(kind, r))
            .map(|r| self.listed(kind, r, &multi))
            .collect::<Result<Vec<_>, _>>()?;
        let next = (!f.last)
            .then(|| serde_json::to_string(&Scan { page: page + 1 }))
            .transpose()
            .map_err(|e| ConnectorError::Transient(e.to_string()))?;
        Ok(ChangePage {
            records,
            next_cursor: next,
            done: f.last,
        })
    }

    /// Every live record of `kind` under one contact: notes through their `contactId` filter,
    /// tasks and meetings by scanning the task list (it has no contact filter).
    pub async fn children(
        &self,
        kind: EntityKind,
        contact_id: &str,
    ) -> Result<Vec<Record>, ConnectorError> {
        let extra = match kind {
            EntityKind::Note => vec![("contactId", contact_id.to_string())],
            EntityKind::Task | EntityKind::Appointment => Vec::new(),
            _ => return Err(self.unsupported(kind)),
        };
        let mut out = Vec::new();
        for page in 1.. {
            let f = self.fetch(kind, page, &extra).await?;
            for row in &f.rows {
                let mine = row.get("contactId").and_then(text_of).as_deref() == Some(contact_id);
                if mine && Self::of_kind(kind, row) {
                    out.push(self.record(kind, row, &HashSet::new())?);
                }
            }
            if f.last || f.rows.is_empty() {
                break;
            }
        }
        Ok(out)
    }

    /// The contact with this email: the fuzzy `search` filtered to the exact address (ignoring
    /// case); the highest id when several match.
    pub(super) async fn find_by_email(
        &self,
        email: &str,
    ) -> Result<Option<Record>, ConnectorError> {
        let want = email.trim();
        if want.is_empty() {
            return Ok(None);
        }
        let mut best: Option<(i64, Map<String, Value>)> = None;
        for page in 1.. {
            let f = self
                .fetch(EntityKind::Contact, page, &[("search", want.to_string())])
                .await?;
            for row in &f.rows {
                let same = row
                    .get("email")
                    .and_then(Value::as_str)
                    .is_some_and(|e| e.trim().eq_ignore_ascii_case(want));
                let id = row.get("id").and_then(Value::as_i64).unwrap_or(i64::MIN);
                if same && best.as_ref().is_none_or(|(b, _)| id > *b) {
                    best = Some((id, row.clone()));
                }
            }
            if f.last || f.rows.is_empty() {
                break;
            }
        }
        match best {
            Some((_, row)) => Ok(Some(self.record_one(EntityKind::Contact, &row).await?)),
            None => Ok(None),
        }
    }

    /// `list_changed`: one page of the full scan (see the module docs).
    pub(super) async fn changed_page(
        &self,
        kind: EntityKind,
        cursor: Option<&str>,
    ) -> Result<ChangePage, ConnectorError> {
        let mut c = ChangeCursor::parse(cursor)?;
        let mut run = c.run.take().unwrap_or_default();
        run.page = run.page.max(1);
        let f = self.fetch(kind, run.page, &[]).await?;
        let mut records = Vec::new();
        if !run.phase2 {
            if run.page == 1 {
                let fallback = Utc::now() - chrono::Duration::seconds(300);
                run.t0 = Some(f.date.unwrap_or(fallback).timestamp_millis());
            } else if let (Some(before), Some(now)) = (run.total, f.total) {
                if now < before {
                    let back = (before - now).div_ceil(f.size.max(1));
                    let back = back.min(RECENT_PAGES as u64).min(run.page - 1);
                    tracing::debug!(%kind, back, "SalesNexus list shrank during a scan; stepping back");
                    run.page -= back;
                    run.total = Some(now);
                    return self.page_out(c, run, records, false);
                }
            }
            run.total = f.total.or(run.total);
        }
        let multi = self.multi_of(kind, &f.rows).await?;
        let recent: HashSet<&String> = run.recent.iter().flatten().collect();
        let old_b = c.b.as_deref().map(from_hex);
        let changed = run.changed.as_deref().map(from_hex);
        let mut nb = run.nb.as_deref().map(from_hex);
        let mut page_ids = Vec::new();
        for row in f.rows.iter().filter(|r| Self::of_kind(kind, r)) {
            let Some(id) = row.get("id").and_then(text_of) else {
                continue;
            };
            if recent.contains(&id) {
                continue;
            }
            page_ids.push(id.clone());
            let deliver = match (run.phase2, updated_ms(row)) {
                (false, Some(t)) => {
                    run.max = run.max.max(Some(t));
                    let seen = Seen {
                        i: id.clone(),
                        t,
                        h: content_hash(row) as u32,
                    };
                    let new = c.w.is_none_or(|w| t >= w) && !c.d.contains(&seen);
                    if new {
                        run.nd.push(seen);
                    }
                    new
                }
                (false, None) => {
                    let b = nb.get_or_insert_with(|| vec![0; BUCKETS]);
                    b[bucket_of(&id)] ^= digest_of(&id, row);
                    old_b.is_none()
                }
                (true, Some(_)) => false,
                (true, None) => {
                    let bit = bucket_of(&id);
                    changed
                        .as_ref()
                        .is_some_and(|m| m[bit / 64] >> (bit % 64) & 1 == 1)
                }
            };
            if deliver {
                records.push(self.listed(kind, row, &multi)?);
            }
        }
        drop(recent);
        run.nb = nb.as_deref().map(hex_of);
        run.recent.push(page_ids);
        if run.recent.len() > RECENT_PAGES {
            run.recent.remove(0);
        }
        self.trim_new(&mut run);
        if !f.last && !f.rows.is_empty() {
            run.page += 1;
            return self.page_out(c, run, records, false);
        }
        if !run.phase2 {
            if let (Some(new), Some(old)) = (nb.as_ref(), old_b.as_ref()) {
                let mut bits = vec![0u64; BUCKETS / 64];
                for i in (0..BUCKETS).filter(|i| new[*i] != old[*i]) {
                    bits[i / 64] |= 1 << (i % 64);
                }
                if bits.iter().any(|b| *b != 0) {
                    run.phase2 = true;
                    run.page = 1;
                    run.recent.clear();
                    run.changed = Some(hex_of(&bits));
                    return self.page_out(c, run, records, false);
                }
            }
        }
        self.finish(&mut c, run);
        self.page_out(c, Run::default(), records, true)
    }

    /// Keeps this run's deliveries that can still be at or after the next watermark.
    fn trim_new(&self, run: &mut Run) {
        let floor = match (run.max, run.t0) {
            (Some(m), Some(t0)) => m.min(t0),
            _ => return,
        };
        run.nd.retain(|s| s.t >= floor);
        let cap = self.cfg.cursor_recent_cap;
        if run.nd.len() > cap {
            run.nd.sort_by_key(|s| std::cmp::Reverse(s.t));
            run.nd.truncate(cap);
        }
    }

    /// The run ended: the new watermark and the deliveries to skip next time.
    fn finish(&self, c: &mut ChangeCursor, run: Run) {
        let w = match (run.max, run.t0) {
            (Some(m), Some(t0)) => c.w.max(Some(m.min(t0))),
            _ => c.w,
        };
        let mut d: Vec<Seen> = Vec::new();
        for s in c.d.drain(..).chain(run.nd) {
            if w.is_some_and(|w| s.t < w) {
                continue;
            }
            match d.iter_mut().find(|x| x.i == s.i) {
                Some(x) if s.t >= x.t => *x = s,
                Some(_) => {}
                None => d.push(s),
            }
        }
        d.sort_by(|a, b| b.t.cmp(&a.t).then_with(|| a.i.cmp(&b.i)));
        d.truncate(self.cfg.cursor_recent_cap);
        c.w = w;
        c.d = d;
        c.b = run.nb;
    }

    fn page_out(
        &self,
        mut c: ChangeCursor,
        run: Run,
        records: Vec<Record>,
        done: bool,
    ) -> Result<ChangePage, ConnectorError> {
        c.run = (!done).then_some(run);
        let next =
            serde_json::to_string(&c).map_err(|e| ConnectorError::Transient(e.to_string()))?;
        Ok(ChangePage {
            records,
            next_cursor: Some(next),
            done,
        })
    }
}
