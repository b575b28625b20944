//! The changes the emulator can make, shared by the API and by the admin API's "as a person in
//! the app" routes, so that both bump versions, move `updated_at`, cascade deletes and emit the
//! same webhooks. Each change runs under the store lock and emits while holding it, so webhooks
//! leave in the order the changes were made. A change that changes nothing bumps nothing and
//! emits nothing.

use serde_json::{json, Map, Value};

use super::errors::{RestError, RestResult};
use super::schema::{apply, check_record, defaults, normalise_tags, validate, Kind, Mode};
use super::store::{Record, Replay, Store};
use super::RestApp;

/// An `Idempotency-Key` and the request it came with.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    /// Method, path and parsed body; the same key with another fingerprint is refused.
    pub fingerprint: Value,
}

/// What a create answered: the status and body to send, and whether it was a replay.
#[derive(Debug, Clone)]
pub struct Created {
    pub status: u16,
    pub body: Value,
    pub replayed: bool,
}

/// Checks `If-Match` (`3`, `"3"`, `W/"3"` or `*`) against the current version.
pub fn check_if_match(if_match: Option<&str>, version: u64) -> RestResult<()> {
    let Some(raw) = if_match.map(str::trim) else {
        return Ok(());
    };
    if raw == "*" {
        return Ok(());
    }
    let bare = raw.trim_start_matches("W/").trim_matches('"');
    match bare.parse::<u64>() {
        Ok(v) if v == version => Ok(()),
        Ok(_) => Err(RestError::precondition_failed(raw, version)),
        Err(_) => Err(RestError::bad_request(
            "If-Match must be a record version, e.g. If-Match: 3",
            json!({"headers": {"If-Match": "not a version"}}),
        )),
    }
}

/// A child can only be made under a live contact; checked before the body, so a create under
/// a missing contact is a 404 whatever the body says.
fn check_parent(store: &Store, parent: Option<&str>) -> RestResult<()> {
    match parent {
        Some(p) if store.live(Kind::Contact, p).is_none() => {
            Err(RestError::record_not_found("contact", p))
        }
        _ => Ok(()),
    }
}

fn email_conflict(store: &Store, fields: &Map<String, Value>, me: Option<&str>) -> RestResult<()> {
    let Some(email) = fields.get("email").and_then(Value::as_str) else {
        return Ok(());
    };
    match store.email_owner(email, me) {
        Some(owner) => Err(RestError::conflict(
            format!("another contact already uses the email {email}"),
            json!({"field": "email", "existing_id": owner}),
        )),
        None => Ok(()),
    }
}

impl RestApp {
    fn emit(&self, kind: Kind, what: &str, r: &Record) {
        self.webhooks
            .emit(&format!("{}.{what}", kind.name()), r.to_json());
    }

    /// Creates a record (a child of `parent` for notes, tasks and appointments) from a request
    /// body and emits `<kind>.created`.
    pub fn create(
        &self,
        kind: Kind,
        parent: Option<&str>,
        body: &Map<String, Value>,
    ) -> RestResult<Record> {
        let mut store = self.store.lock();
        check_parent(&store, parent)?;
        let changes = validate(kind, body, Mode::Create)?;
        self.create_locked(&mut store, kind, parent, &changes)
    }

    /// [`RestApp::create`] honouring an `Idempotency-Key`: the first request with a key creates
    /// and remembers its answer; the same request again gets that answer back (and nothing is
    /// created); another request with the same key is refused with 422. All of it happens under
    /// one lock, so concurrent requests with one key still create one record.
    pub fn create_idempotent(
        &self,
        kind: Kind,
        parent: Option<&str>,
        body: &Map<String, Value>,
        idem: Option<Idempotency>,
    ) -> RestResult<Created> {
        let mut store = self.store.lock();
        if let Some(i) = &idem {
            if let Some(replay) = store.idempotency.get(&i.key) {
                if replay.fingerprint != i.fingerprint {
                    return Err(RestError::invalid_fields(Map::from_iter([(
                        "Idempotency-Key".to_string(),
                        json!("was already used with a different request"),
                    )])));
                }
                return Ok(Created {
                    status: replay.status,
                    body: replay.body.clone(),
                    replayed: true,
                });
            }
        }
        check_parent(&store, parent)?;
        let changes = validate(kind, body, Mode::Create)?;
        let record = self.create_locked(&mut store, kind, parent, &changes)?;
        let created = Created {
            status: 201,
            body: record.to_json(),
            replayed: false,
        };
        if let Some(i) = idem {
            let replay = Replay {
                fingerprint: i.fingerprint,
                status: created.status,
                body: created.body.clone(),
            };
            store.idempotency.insert(i.key, replay);
        }
        Ok(created)
    }

    fn create_locked(
        &self,
        store: &mut Store,
        kind: Kind,
        parent: Option<&str>,
        changes: &Map<String, Value>,
    ) -> RestResult<Record> {
        let mut fields = defaults(kind);
        apply(kind, &mut fields, changes);
        check_record(kind, &fields)?;
        if kind == Kind::Contact {
            email_conflict(store, &fields, None)?;
        }
        let now = store.now();
        let record = Record {
            id: store.new_id(kind),
            kind,
            contact_id: parent.map(str::to_string),
            fields,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            version: 1,
        };
        store.put(record.clone());
        self.emit(kind, "created", &record);
        Ok(record)
    }

    /// The live record, or 404.
    pub fn get(&self, kind: Kind, id: &str) -> RestResult<Record> {
        self.store
            .lock()
            .live(kind, id)
            .cloned()
            .ok_or_else(|| RestError::record_not_found(kind.name(), id))
    }

    /// Applies a partial update; `If-Match` is checked first (even for a no-op body).
    pub fn update(
        &self,
        kind: Kind,
        id: &str,
        body: &Map<String, Value>,
        if_match: Option<&str>,
    ) -> RestResult<Record> {
        let changes = validate(kind, body, Mode::Patch)?;
        let mut store = self.store.lock();
        let current = store
            .live(kind, id)
            .cloned()
            .ok_or_else(|| RestError::record_not_found(kind.name(), id))?;
        check_if_match(if_match, current.version)?;
        let mut fields = current.fields.clone();
        if !apply(kind, &mut fields, &changes) {
            return Ok(current);
        }
        check_record(kind, &fields)?;
        if kind == Kind::Contact {
            email_conflict(&store, &fields, Some(id))?;
        }
        self.commit(&mut store, current, fields)
    }

    /// Stores changed fields with a new `updated_at` and version, and emits `<kind>.updated`.
    fn commit(
        &self,
        store: &mut Store,
        mut r: Record,
        fields: Map<String, Value>,
    ) -> RestResult<Record> {
        r.fields = fields;
        r.updated_at = store.now();
        r.version += 1;
        store.put(r.clone());
        self.emit(r.kind, "updated", &r);
        Ok(r)
    }

    /// Adds (`add`) or removes tags of a contact, case-insensitively.
    pub fn change_tags(
        &self,
        id: &str,
        tags: &[Value],
        add: bool,
        if_match: Option<&str>,
    ) -> RestResult<Record> {
        let tags = normalise_tags(tags).map_err(|why| RestError::invalid_field("tags", why))?;
        let mut store = self.store.lock();
        let current = store
            .live(Kind::Contact, id)
            .cloned()
            .ok_or_else(|| RestError::record_not_found("contact", id))?;
        check_if_match(if_match, current.version)?;
        let same = |a: &Value, b: &Value| match (a.as_str(), b.as_str()) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        };
        let mut list = current.fields["tags"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let before = list.len();
        if add {
            for t in tags {
                if !list.iter().any(|x| same(x, &t)) {
                    list.push(t);
                }
            }
        } else {
            list.retain(|x| !tags.iter().any(|t| same(x, t)));
        }
        if list.len() == before {
            return Ok(current);
        }
        let mut fields = current.fields.clone();
        fields.insert("tags".into(), Value::Array(list));
        self.commit(&mut store, current, fields)
    }

    /// Soft-deletes a record (a contact with its live notes, tasks and appointments), emitting
    /// `<kind>.deleted` with each tombstone.
    pub fn delete(&self, kind: Kind, id: &str, if_match: Option<&str>) -> RestResult<()> {
        let mut store = self.store.lock();
        let current = store
            .live(kind, id)
            .cloned()
            .ok_or_else(|| RestError::record_not_found(kind.name(), id))?;
        check_if_match(if_match, current.version)?;
        let mut doomed = vec![current];
        if kind == Kind::Contact {
            for child in Kind::CHILDREN {
                for cid in store.live_children(id, child) {
                    doomed.extend(store.get(child, &cid).cloned());
                }
            }
        }
        for mut r in doomed {
            let now = store.now();
            r.deleted_at = Some(now);
            r.updated_at = now;
            r.version += 1;
            store.put(r.clone());
            self.emit(r.kind, "deleted", &r);
        }
        Ok(())
    }
}
