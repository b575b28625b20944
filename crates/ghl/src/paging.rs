//! Streams of every contact, page after page, in the ways GHL allows.
//!
//! Why this exists: GHL answers a search one page at a time (at most 500 contacts), and
//! `page`/`pageLimit` paging stops at the first 10,000 results (GHL answers 400 past that). Tools
//! that read only the first page (the public Singer tap does) or page by number silently miss
//! contacts in any location bigger than that. Every stream here therefore pages by cursor:
//! searches by `searchAfter` from the very first page, the legacy list by
//! `startAfterId`+`startAfter`, the business list by `skip`.
//!
//! Items are `Result<SearchContact, GhlError>`; after an error the stream ends. Pages are fetched
//! lazily, one when the previous one is used up, through the client's pacing and retries.

use std::collections::{HashMap, HashSet};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use chrono::{DateTime, Utc};
use futures_util::future::ready;
use futures_util::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::error::GhlError;
use crate::models::search::{
    Direction, Filter, Range, SearchContact, SearchRequest, Sort, MAX_LIST_LIMIT, MAX_PAGE_LIMIT,
    PAGE_WINDOW,
};
use crate::GhlClient;

/// A stream of contacts, one `Result` per contact.
pub type ContactStream = BoxStream<'static, Result<SearchContact, GhlError>>;

/// GHL's answers stopped making progress (same cursor twice, no cursor past the page window):
/// reported as a failed answer rather than looping or silently stopping short.
fn stuck(message: impl Into<String>) -> GhlError {
    GhlError::Transient {
        status: None,
        message: message.into(),
    }
}

/// Turns a stream of pages into a stream of contacts.
fn flatten<S>(pages: S) -> ContactStream
where
    S: Stream<Item = Result<Vec<SearchContact>, GhlError>> + Send + 'static,
{
    pages
        .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
}

/// The pages of one search, by `searchAfter` from the first page on. Stops after a short page.
fn search_pages(
    client: GhlClient,
    mut request: SearchRequest,
) -> impl Stream<Item = Result<Vec<SearchContact>, GhlError>> + Send + 'static {
    let limit = request.page_limit.clamp(1, MAX_PAGE_LIMIT);
    request.page_limit = limit;
    if request.sort.is_empty() {
        // Explicit and stable: an update never moves a contact in `dateAdded` order, and
        // contacts created during the run land at the end, where they are still read.
        request.sort.push(Sort {
            field: "dateAdded".into(),
            direction: Direction::Asc,
        });
    }
    // A request that already carries `searchAfter` resumes from it.
    request.page = match request.search_after {
        Some(_) => None,
        None => Some(request.page.unwrap_or(1).max(1)),
    };
    stream::try_unfold(Some((client, request)), move |state| async move {
        let Some((client, mut request)) = state else {
            return Ok(None);
        };
        let answer = client.search_contacts(&request).await?;
        let contacts = answer.contacts;
        if contacts.is_empty() {
            return Ok(None);
        }
        if contacts.len() < limit as usize {
            return Ok(Some((contacts, None)));
        }
        let after = contacts
            .last()
            .map(|c| c.search_after.clone())
            .unwrap_or_default();
        if !after.is_empty() {
            if request.search_after.as_ref() == Some(&after) {
                return Err(stuck(
                    "GHL's search answered the same searchAfter twice; stopping instead of looping",
                ));
            }
            request.search_after = Some(after);
            request.page = None;
        } else {
            // No cursor in the answer: fall back to page numbers, which GHL caps.
            let page = request.page.unwrap_or(1) + 1;
            if request.search_after.is_some() || u64::from(page) * u64::from(limit) > PAGE_WINDOW {
                return Err(stuck(format!(
                    "GHL's search sent no searchAfter and page paging cannot go past {PAGE_WINDOW} results"
                )));
            }
            tracing::warn!(
                page,
                "GHL search answer has no searchAfter; paging by page number"
            );
            request.page = Some(page);
        }
        Ok(Some((contacts, Some((client, request)))))
    })
}

impl GhlClient {
    /// Every contact matching `request`, paging with `request.page_limit` (clamped to 1..=500)
    /// and `searchAfter` from the first page, so it reads past GHL's 10,000-result page window.
    /// Without a sort in the request, contacts come in `dateAdded` ascending order (stable under
    /// updates). A request already carrying `searchAfter` resumes after that contact.
    pub fn search_all(&self, request: SearchRequest) -> ContactStream {
        flatten(search_pages(self.clone(), request))
    }

    /// Contacts changed since `since` (minus `overlap`), oldest change first — the incremental
    /// read. `overlap` re-reads a margin before the cursor because GHL's search index shows a
    /// change some time after its `dateUpdated`; ids already yielded in this run are skipped.
    /// Read [`ChangedSince::cursor`] (or [`ChangedSince::next_cursor`]) afterwards for the next run.
    pub fn changed_since(
        &self,
        since: DateTime<Utc>,
        overlap: std::time::Duration,
    ) -> ChangedSince {
        self.changes_after(ChangeCursor::new(since), overlap)
    }

    /// Like [`Self::changed_since`], from a full cursor of an earlier run: contacts already
    /// delivered in that run at the same `dateUpdated` are not delivered again, so the overlap
    /// re-reads without producing duplicates.
    pub fn changes_after(
        &self,
        cursor: ChangeCursor,
        overlap: std::time::Duration,
    ) -> ChangedSince {
        let overlap = chrono::Duration::from_std(overlap).unwrap_or(chrono::Duration::MAX);
        let from = before(cursor.since, overlap);
        let request = SearchRequest::new()
            .page_limit(MAX_PAGE_LIMIT)
            .filter(Filter::range(
                "dateUpdated",
                Range {
                    gte: Some(Range::date(from)),
                    ..Default::default()
                },
            ))
            .sort_by("dateUpdated", Direction::Asc);
        let run = Arc::new(Mutex::new(Run {
            previous: cursor
                .recent
                .iter()
                .map(|v| (v.id.clone(), v.date_updated))
                .collect(),
            start: cursor,
            overlap,
            yielded: HashMap::new(),
            ceiling: None,
            finished: false,
        }));
        let admit = run.clone();
        let stream = flatten(search_pages(self.clone(), request))
            .try_filter(move |c| ready(admit.lock().admit(c)))
            .boxed();
        ChangedSince { stream, run }
    }

    /// Every contact of a business (`GET /contacts/business/{id}`), 100 at a time by `skip`.
    /// Ids already yielded are skipped, since a contact created mid-run shifts later pages.
    pub fn business_contacts_all(&self, business_id: impl Into<String>) -> ContactStream {
        let business_id = business_id.into();
        let start = (self.clone(), 0u64, HashSet::<String>::new());
        let pages = stream::try_unfold(Some(start), move |state| {
            let business_id = business_id.clone();
            async move {
                let Some((client, skip, mut seen)) = state else {
                    return Ok(None);
                };
                let answer = client
                    .business_contacts(&business_id, skip, MAX_LIST_LIMIT, None)
                    .await?;
                let n = answer.contacts.len() as u64;
                if n == 0 {
                    return Ok(None);
                }
                let skip = skip + n;
                let page: Vec<SearchContact> = answer
                    .contacts
                    .into_iter()
                    .filter(|c| seen.insert(c.id.clone()))
                    .collect();
                let more = n >= u64::from(MAX_LIST_LIMIT) && skip < answer.count;
                Ok(Some((page, more.then_some((client, skip, seen)))))
            }
        });
        flatten(pages)
    }

    /// Every contact by the deprecated `GET /contacts/`, 100 at a time in `dateAdded` order,
    /// paged by `startAfterId` + `startAfter` (GHL's `meta`, or the last contact's id and
    /// `dateAdded`). For locations where search is unavailable or to cross-check it.
    pub fn legacy_all(&self) -> ContactStream {
        type Cursor = Option<(String, Option<i64>)>;
        let start: Option<(GhlClient, Cursor)> = Some((self.clone(), None));
        let pages = stream::try_unfold(start, |state| async move {
            let Some((client, cursor)) = state else {
                return Ok(None);
            };
            let (after_id, after_ms) = match &cursor {
                Some((id, ms)) => (Some(id.as_str()), *ms),
                None => (None, None),
            };
            let answer = client
                .list_contacts_legacy(MAX_LIST_LIMIT, after_id, after_ms, None)
                .await?;
            let contacts = answer.contacts;
            let Some(last) = contacts.last() else {
                return Ok(None);
            };
            if contacts.len() < MAX_LIST_LIMIT as usize {
                return Ok(Some((contacts, None)));
            }
            let next_id = answer
                .meta
                .start_after_id
                .unwrap_or_else(|| last.id.clone());
            let next_ms = answer
                .meta
                .start_after
                .or_else(|| last.date_added.map(|d| d.timestamp_millis()));
            if after_id == Some(next_id.as_str()) {
                return Err(stuck(
                        "GHL's contact list answered the same startAfterId twice; stopping instead of looping",
                    ));
            }
            Ok(Some((contacts, Some((client, Some((next_id, next_ms)))))))
        });
        flatten(pages)
    }
}

/// Where an incremental read stands: everything changed before `since` has been delivered, and
/// `recent` lists what was delivered in the last `overlap` before it (id and `dateUpdated`), so a
/// re-read of that margin can tell the already-delivered from the new. Serializable, to persist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeCursor {
    pub since: DateTime<Utc>,
    #[serde(default)]
    pub recent: Vec<SeenVersion>,
}

impl ChangeCursor {
    /// A cursor knowing only a time (a first run, or a cursor kept as a timestamp).
    pub fn new(since: DateTime<Utc>) -> Self {
        Self {
            since,
            recent: Vec::new(),
        }
    }
}

/// One contact version delivered near the cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeenVersion {
    pub id: String,
    pub date_updated: DateTime<Utc>,
}

/// `at - overlap`, never before 1970 (no contact changed earlier, and GHL reads no such date).
fn before(at: DateTime<Utc>, overlap: chrono::Duration) -> DateTime<Utc> {
    at.checked_sub_signed(overlap)
        .unwrap_or(DateTime::UNIX_EPOCH)
        .max(DateTime::UNIX_EPOCH)
}

/// Bookkeeping of one incremental run, shared by the stream and its handle.
struct Run {
    start: ChangeCursor,
    previous: HashMap<String, DateTime<Utc>>,
    overlap: chrono::Duration,
    /// Id → `dateUpdated` of the version delivered in this run.
    yielded: HashMap<String, Option<DateTime<Utc>>>,
    /// Earliest `dateUpdated` of a newer version skipped because its id was already delivered
    /// in this run (the contact changed mid-run): the next cursor must not pass it.
    ceiling: Option<DateTime<Utc>>,
    finished: bool,
}

impl Run {
    /// Whether to deliver this contact; records it if so.
    fn admit(&mut self, c: &SearchContact) -> bool {
        let at = c.date_updated;
        if let Some(prior) = self.yielded.get(&c.id) {
            if let (Some(new), Some(old)) = (at, *prior) {
                if new > old {
                    self.ceiling = Some(self.ceiling.map_or(new, |x| x.min(new)));
                }
            }
            return false;
        }
        if let (Some(at), Some(before)) = (at, self.previous.get(&c.id)) {
            if *before >= at {
                return false;
            }
        }
        self.yielded.insert(c.id.clone(), at);
        true
    }

    fn cursor(&self) -> ChangeCursor {
        let newest = self.yielded.values().flatten().max().copied();
        let mut since = newest.map_or(self.start.since, |n| n.max(self.start.since));
        if let Some(ceiling) = self.ceiling {
            since = since.min(ceiling);
        }
        let floor = before(since, self.overlap);
        let mut recent: HashMap<&str, DateTime<Utc>> = HashMap::new();
        let versions = self
            .start
            .recent
            .iter()
            .map(|v| (v.id.as_str(), v.date_updated))
            .chain(
                self.yielded
                    .iter()
                    .filter_map(|(id, at)| at.map(|at| (id.as_str(), at))),
            );
        for (id, at) in versions.filter(|(_, at)| *at >= floor) {
            let slot = recent.entry(id).or_insert(at);
            *slot = (*slot).max(at);
        }
        let mut recent: Vec<SeenVersion> = recent
            .into_iter()
            .map(|(id, date_updated)| SeenVersion {
                id: id.to_string(),
                date_updated,
            })
            .collect();
        recent.sort_by(|a, b| (a.date_updated, &a.id).cmp(&(b.date_updated, &b.id)));
        ChangeCursor { since, recent }
    }
}

/// The stream of an incremental read, and the cursor it reached. The cursor is valid at any
/// point, even if the stream is dropped early or ended with an error: contacts arrive in
/// `dateUpdated` order, so everything before it has been delivered.
pub struct ChangedSince {
    stream: ContactStream,
    run: Arc<Mutex<Run>>,
}

impl ChangedSince {
    /// The full cursor for the next run (see [`GhlClient::changes_after`]).
    pub fn cursor(&self) -> ChangeCursor {
        self.run.lock().cursor()
    }

    /// The next run's `since`: the latest `dateUpdated` delivered (never earlier than this run's
    /// start, unless a contact changed mid-run and its new version still has to be read).
    pub fn next_cursor(&self) -> DateTime<Utc> {
        self.cursor().since
    }

    /// How many contacts were delivered so far.
    pub fn delivered(&self) -> usize {
        self.run.lock().yielded.len()
    }

    /// Whether the stream reached its end (not stopped by an error or dropped early).
    pub fn is_finished(&self) -> bool {
        self.run.lock().finished
    }
}

impl std::fmt::Debug for ChangedSince {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangedSince")
            .field("cursor", &self.cursor().since)
            .finish_non_exhaustive()
    }
}

impl Stream for ChangedSince {
    type Item = Result<SearchContact, GhlError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = self.stream.poll_next_unpin(cx);
        if let Poll::Ready(None) = next {
            self.run.lock().finished = true;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contact(id: &str, ms: i64) -> SearchContact {
        serde_json::from_value(json!({"id": id, "dateUpdated": ms})).unwrap()
    }

    #[test]
    fn run_dedups_and_caps_the_cursor() {
        let t = |ms| DateTime::from_timestamp_millis(ms).unwrap();
        let start = ChangeCursor {
            since: t(100),
            recent: vec![SeenVersion {
                id: "a".into(),
                date_updated: t(100),
            }],
        };
        let mut run = Run {
            previous: [("a".to_string(), t(100))].into_iter().collect(),
            start,
            overlap: chrono::Duration::milliseconds(50),
            yielded: HashMap::new(),
            ceiling: None,
            finished: false,
        };
        assert!(
            !run.admit(&contact("a", 100)),
            "delivered in the previous run"
        );
        assert!(run.admit(&contact("b", 120)));
        assert!(run.admit(&contact("c", 300)));
        assert_eq!(run.cursor().since, t(300));
        assert!(!run.admit(&contact("b", 250)), "same id twice in one run");
        let cursor = run.cursor();
        assert_eq!(
            cursor.since,
            t(250),
            "the newer version of b must be read next time"
        );
        let ids: Vec<_> = cursor.recent.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(ids, ["c"], "only versions within the overlap before 250");
        assert!(run.admit(&contact("a", 400)), "a newer version of a is new");
        let huge = chrono::Duration::MAX;
        assert_eq!(before(DateTime::<Utc>::MIN_UTC, huge), DateTime::UNIX_EPOCH);
        assert_eq!(before(t(300), chrono::Duration::milliseconds(50)), t(250));
    }
}
