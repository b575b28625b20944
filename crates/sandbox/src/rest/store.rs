//! In-memory records of one "Your App" emulator, with the indexes the contract needs: every list
//! is ordered by `(updated_at, id)` (per kind, and per contact for its notes, tasks and
//! appointments), emails are looked up case-insensitively, and `Idempotency-Key`s remember what
//! they created.
//!
//! The store's clock is strictly increasing at millisecond resolution: every write gets an
//! `updated_at` later than any handed out before. That is what keeps cursor paging stable while
//! writes happen: a record changed mid-listing always moves *past* every outstanding cursor (it is
//! seen again, with its new version) and can never slip behind one (it is never skipped).

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{json, Map, Value};

use super::schema::{iso, Kind};
use crate::ghl::store::IdGen;

/// One record of any kind; `fields` holds every writable field of the kind (nulls included).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: String,
    pub kind: Kind,
    /// The owning contact (notes, tasks, appointments only).
    pub contact_id: Option<String>,
    pub fields: Map<String, Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set by a soft delete; the record then only shows with `include_deleted=true`.
    pub deleted_at: Option<DateTime<Utc>>,
    /// 1 on create, +1 on every change (delete included); what `If-Match` compares.
    pub version: u64,
}

impl Record {
    /// The record as the API shows it.
    pub fn to_json(&self) -> Value {
        let mut m = self.fields.clone();
        m.insert("id".into(), json!(self.id));
        if let Some(c) = &self.contact_id {
            m.insert("contact_id".into(), json!(c));
        }
        m.insert("created_at".into(), json!(iso(self.created_at)));
        m.insert("updated_at".into(), json!(iso(self.updated_at)));
        m.insert("deleted_at".into(), json!(self.deleted_at.map(iso)));
        m.insert("version".into(), json!(self.version));
        Value::Object(m)
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// Lower-cased email of a contact, the key of the email index.
    fn email_key(&self) -> Option<String> {
        let e = self.fields.get("email")?.as_str()?;
        Some(e.trim().to_lowercase())
    }

    fn order_key(&self) -> OrderKey {
        (self.updated_at, self.id.clone())
    }
}

/// A position in a list: `(updated_at, id)`.
pub type OrderKey = (DateTime<Utc>, String);

/// Encodes a list position as an opaque cursor (`base64url("v1|<unix ms>|<id>")`).
pub fn encode_cursor(key: &OrderKey) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1|{}|{}", key.0.timestamp_millis(), key.1))
}

/// The position a cursor encodes, or `None` if it is not one of ours.
pub fn decode_cursor(cursor: &str) -> Option<OrderKey> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor.trim()).ok()?).ok()?;
    let mut parts = raw.splitn(3, '|');
    (parts.next()? == "v1").then_some(())?;
    let ms: i64 = parts.next()?.parse().ok()?;
    let id = parts.next()?.to_string();
    Some((DateTime::<Utc>::from_timestamp_millis(ms)?, id))
}

/// What one list call asks for.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub limit: usize,
    /// Exclusive start position (from a cursor).
    pub after: Option<OrderKey>,
    /// Inclusive lower bound on `updated_at`.
    pub updated_since: Option<DateTime<Utc>>,
    pub include_deleted: bool,
    /// Exact, case-insensitive email (contacts only).
    pub email: Option<String>,
}

/// What an `Idempotency-Key` produced, replayed when the same request comes again.
#[derive(Debug, Clone)]
pub struct Replay {
    /// Method, path and parsed body of the first request; a different one is refused.
    pub fingerprint: Value,
    pub status: u16,
    pub body: Value,
}

/// Which list a record sits in: the whole kind (`None`) or one contact's children.
type Scope = (Kind, Option<String>);

/// Everything the emulator holds; guarded by one lock in [`super::RestApp`].
#[derive(Debug)]
pub struct Store {
    records: [HashMap<String, Record>; 4],
    order: HashMap<Scope, BTreeSet<OrderKey>>,
    /// Lower-cased email → contact ids (deleted ones included, for `include_deleted`).
    emails: HashMap<String, BTreeSet<String>>,
    pub idempotency: HashMap<String, Replay>,
    ids: IdGen,
    last_ts: DateTime<Utc>,
}

impl Store {
    /// An empty store whose ids depend only on `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            records: Default::default(),
            order: HashMap::new(),
            emails: HashMap::new(),
            idempotency: HashMap::new(),
            ids: IdGen::new(seed ^ 0x07e5_7a99),
            last_ts: DateTime::<Utc>::MIN_UTC,
        }
    }

    /// A fresh id for a record of `kind`.
    pub fn new_id(&mut self, kind: Kind) -> String {
        format!("{}{}", kind.id_prefix(), self.ids.next_id())
    }

    /// A fresh prefixed id for things that are not records (webhook subscriptions, secrets),
    /// from the same seeded generator, so one seed gives the same ids.
    pub fn new_token(&mut self, prefix: &str) -> String {
        format!("{prefix}{}", self.ids.next_id())
    }

    /// A timestamp (ms resolution) strictly after every one handed out or seeded before.
    pub fn now(&mut self) -> DateTime<Utc> {
        let now = Utc::now();
        let now = now.duration_trunc(Duration::milliseconds(1)).unwrap_or(now);
        let t = if now > self.last_ts {
            now
        } else {
            self.last_ts + Duration::milliseconds(1)
        };
        self.last_ts = t;
        t
    }

    pub fn get(&self, kind: Kind, id: &str) -> Option<&Record> {
        self.records[kind.index()].get(id)
    }

    /// A record that exists and is not deleted.
    pub fn live(&self, kind: Kind, id: &str) -> Option<&Record> {
        self.get(kind, id).filter(|r| !r.is_deleted())
    }

    fn scopes(r: &Record) -> [Option<Scope>; 2] {
        [
            Some((r.kind, None)),
            r.contact_id.clone().map(|c| (r.kind, Some(c))),
        ]
    }

    /// Inserts or replaces a record, keeping every index right.
    pub fn put(&mut self, r: Record) {
        if let Some(old) = self.records[r.kind.index()].remove(&r.id) {
            for scope in Self::scopes(&old).into_iter().flatten() {
                if let Some(set) = self.order.get_mut(&scope) {
                    set.remove(&old.order_key());
                }
            }
            if let Some(e) = old.email_key() {
                if let Some(ids) = self.emails.get_mut(&e) {
                    ids.remove(&old.id);
                    if ids.is_empty() {
                        self.emails.remove(&e);
                    }
                }
            }
        }
        for scope in Self::scopes(&r).into_iter().flatten() {
            self.order.entry(scope).or_default().insert(r.order_key());
        }
        if let Some(e) = r.email_key() {
            self.emails.entry(e).or_default().insert(r.id.clone());
        }
        self.last_ts = self.last_ts.max(r.updated_at);
        self.records[r.kind.index()].insert(r.id.clone(), r);
    }

    /// The live contact (other than `except`) that uses this email, case-insensitively.
    pub fn email_owner(&self, email: &str, except: Option<&str>) -> Option<String> {
        self.emails
            .get(&email.trim().to_lowercase())?
            .iter()
            .find(|id| Some(id.as_str()) != except && self.live(Kind::Contact, id).is_some())
            .cloned()
    }

    /// Ids of a contact's live children of one kind.
    pub fn live_children(&self, contact_id: &str, kind: Kind) -> Vec<String> {
        let scope = (kind, Some(contact_id.to_string()));
        self.order
            .get(&scope)
            .map(|set| {
                set.iter()
                    .filter(|(_, id)| self.live(kind, id).is_some())
                    .map(|(_, id)| id.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// One page of a list, ordered by `(updated_at, id)`, and the position of its last record
    /// when more follow.
    pub fn list(
        &self,
        kind: Kind,
        contact_id: Option<&str>,
        q: &ListQuery,
    ) -> (Vec<&Record>, Option<OrderKey>) {
        let keep = |r: &&Record| {
            (q.include_deleted || !r.is_deleted())
                && q.updated_since.is_none_or(|s| r.updated_at >= s)
                && contact_id.is_none_or(|c| r.contact_id.as_deref() == Some(c))
        };
        let start = match (&q.after, q.updated_since) {
            (Some(after), _) => Bound::Excluded(after.clone()),
            (None, Some(since)) => Bound::Included((since, String::new())),
            (None, None) => Bound::Unbounded,
        };
        let mut page: Vec<&Record> = match &q.email {
            Some(email) => {
                let mut hits: Vec<&Record> = self
                    .emails
                    .get(&email.trim().to_lowercase())
                    .into_iter()
                    .flatten()
                    .filter_map(|id| self.get(kind, id))
                    .filter(|r| match &start {
                        Bound::Excluded(k) => r.order_key() > *k,
                        _ => true,
                    })
                    .filter(keep)
                    .collect();
                hits.sort_by_key(|r| r.order_key());
                hits.truncate(q.limit + 1);
                hits
            }
            None => {
                let scope = (kind, contact_id.map(str::to_string));
                self.order
                    .get(&scope)
                    .into_iter()
                    .flat_map(|set| set.range((start.clone(), Bound::Unbounded)))
                    .filter_map(|(_, id)| self.get(kind, id))
                    .filter(keep)
                    .take(q.limit + 1)
                    .collect()
            }
        };
        let more = page.len() > q.limit;
        page.truncate(q.limit);
        let next = more.then(|| page.last().map(|r| r.order_key())).flatten();
        (page, next)
    }

    /// Counts per kind, live and deleted, for the admin overview.
    pub fn counts(&self) -> Value {
        let mut m = Map::new();
        for kind in Kind::ALL {
            let all = &self.records[kind.index()];
            let deleted = all.values().filter(|r| r.is_deleted()).count();
            m.insert(
                kind.plural().into(),
                json!({"live": all.len() - deleted, "deleted": deleted}),
            );
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let t = DateTime::<Utc>::from_timestamp_millis(1_700_000_000_123).unwrap_or_default();
        let key = (t, "con_abc|x".to_string());
        assert_eq!(decode_cursor(&encode_cursor(&key)), Some(key));
        assert_eq!(decode_cursor("not a cursor"), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("v2|1|a")), None);
    }

    #[test]
    fn clock_is_strictly_increasing() {
        let mut s = Store::new(1);
        let a = s.now();
        let b = s.now();
        assert!(b > a);
    }
}
