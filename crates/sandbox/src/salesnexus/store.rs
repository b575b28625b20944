//! In-memory data of one SalesNexus emulator and every change the API and the admin API make to
//! it, so that both keep `updatedAt`, custom-field definitions and soft deletes the same way.
//!
//! - Ids are integers, one counter per kind, so a seed gives the same ids.
//! - `updatedAt` moves on every change that changes something (second resolution, like the
//!   API's examples; several changes in one second share it).
//! - A contact delete is soft: the contact, and with it its tasks and notes, is hidden from
//!   lists and answers 404, but stays in the store (the admin API still shows it).
//! - A custom-field name nobody defined is created as a Character field on first write (the
//!   API README's "Custom Fields"); a multi-select field keeps its values as `a, b` and learns
//!   new options.

use std::collections::BTreeMap;

use chrono::{DateTime, DurationRound, Utc};
use serde_json::{json, Value};

use super::errors::{SnError, SnResult};
use super::model::{is_completed, Changes, Kind, Rec};

/// The user the emulator's API key belongs to (ping's `user`, tasks' default assignee).
pub const API_USER_ID: i64 = 1;
pub const API_USER_EMAIL: &str = "api.user@salesnexus.test";
pub const ACCOUNT_ID: i64 = 4242;

/// Type codes of custom fields (`POST /contact-fields` `type`).
pub const FIELD_TYPES: [&str; 9] = [
    "character",
    "currency",
    "date",
    "numeric",
    "phone",
    "time",
    "checkbox",
    "percentage",
    "image",
];

/// A contact field definition, system or custom.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDef {
    pub id: i64,
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub type_code: u8,
    pub is_system: bool,
    pub is_read_only: bool,
    pub is_required: bool,
    pub is_drop_down: bool,
    pub multi_select: bool,
    pub default_value: Option<String>,
    pub options: Vec<String>,
}

impl FieldDef {
    /// A definition with everything off.
    pub fn new(id: i64, name: &str, type_code: u8) -> Self {
        Self {
            id,
            name: name.to_string(),
            label: name.to_string(),
            type_code,
            is_system: false,
            is_read_only: false,
            is_required: false,
            is_drop_down: false,
            multi_select: false,
            default_value: None,
            options: Vec::new(),
        }
    }
}

/// One page of a list and the number of rows it was cut from (the notes route does not show it).
#[derive(Debug, Clone)]
pub struct Page {
    pub rows: Vec<Rec>,
    pub total: usize,
}

/// What a task list is filtered by.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    /// `scope=own` (the default): only the API user's tasks.
    pub own_only: bool,
    pub start: Option<DateTime<Utc>>,
    /// Exclusive end (the day after `endDate`).
    pub end: Option<DateTime<Utc>>,
}

/// Everything the emulator holds; guarded by one lock in [`super::SnApp`].
#[derive(Debug, Default)]
pub struct Store {
    pub contacts: BTreeMap<i64, Rec>,
    pub tasks: BTreeMap<i64, Rec>,
    pub notes: BTreeMap<i64, Rec>,
    pub fields: Vec<FieldDef>,
    next: [i64; 4],
}

const CONTACT_IDS: usize = 0;
const TASK_IDS: usize = 1;
const NOTE_IDS: usize = 2;
const FIELD_IDS: usize = 3;

/// The system fields `GET /contact-fields` lists before the custom ones.
const SYSTEM_FIELDS: &[(&str, &str, u8)] = &[
    ("firstName", "First Name", 0),
    ("lastName", "Last Name", 0),
    ("email", "Email", 0),
    ("phone", "Phone", 4),
    ("company", "Company", 0),
    ("title", "Title", 0),
    ("address", "Address", 0),
    ("city", "City", 0),
    ("state", "State", 0),
    ("zip", "Zip", 0),
    ("country", "Country", 0),
];

impl Store {
    /// An empty store with the system field definitions.
    pub fn new() -> Self {
        let mut s = Self {
            next: [1001, 20001, 40001, 1],
            ..Self::default()
        };
        for (name, label, ty) in SYSTEM_FIELDS {
            let id = s.new_id(FIELD_IDS);
            let mut d = FieldDef::new(id, name, *ty);
            d.label = label.to_string();
            d.is_system = true;
            d.is_required = *name == "firstName";
            s.fields.push(d);
        }
        s
    }

    fn new_id(&mut self, which: usize) -> i64 {
        let id = self.next[which];
        self.next[which] += 1;
        id
    }

    /// Now, at second resolution.
    pub fn now() -> DateTime<Utc> {
        let now = Utc::now();
        now.duration_trunc(chrono::Duration::seconds(1))
            .unwrap_or(now)
    }

    fn table(&self, kind: Kind) -> &BTreeMap<i64, Rec> {
        match kind {
            Kind::Contact => &self.contacts,
            Kind::Task => &self.tasks,
            Kind::Note => &self.notes,
        }
    }

    fn table_mut(&mut self, kind: Kind) -> &mut BTreeMap<i64, Rec> {
        match kind {
            Kind::Contact => &mut self.contacts,
            Kind::Task => &mut self.tasks,
            Kind::Note => &mut self.notes,
        }
    }

    /// Whether a record is visible through the API: a live contact, or a task or note whose
    /// contact (if any) is live.
    pub fn visible(&self, r: &Rec) -> bool {
        match r.kind {
            Kind::Contact => !r.deleted,
            _ => r
                .int("contactId")
                .is_none_or(|c| self.contacts.get(&c).is_some_and(|c| !c.deleted)),
        }
    }

    /// A record the API can see, or 404.
    pub fn get(&self, kind: Kind, id: i64) -> SnResult<&Rec> {
        self.table(kind)
            .get(&id)
            .filter(|r| self.visible(r))
            .ok_or_else(|| SnError::not_found(kind.title(), id))
    }

    /// Any record, deleted or hidden ones too (the admin API's view).
    pub fn any(&self, kind: Kind, id: i64) -> Option<&Rec> {
        self.table(kind).get(&id)
    }

    fn check_refs(&self, changes: &Changes) -> SnResult<()> {
        if let Some(c) = changes.fields.get("contactId").and_then(Value::as_i64) {
            if self.contacts.get(&c).is_none_or(|c| c.deleted) {
                return Err(SnError::invalid(format!("contactId {c} does not exist")));
            }
        }
        Ok(())
    }

    /// The definition of a custom field by name (ignoring case).
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name.trim()))
    }

    /// Adds a field definition; 409 when the name exists (ignoring case, system names too).
    pub fn add_field(&mut self, mut def: FieldDef) -> SnResult<FieldDef> {
        if let Some(d) = self.field(&def.name) {
            return Err(SnError::conflict(format!(
                "Field '{}' already exists",
                d.name
            )));
        }
        def.id = self.new_id(FIELD_IDS);
        self.fields.push(def.clone());
        Ok(def)
    }

    /// The stored name and value of a custom write: the definition (created as Character when
    /// unknown) decides the name's spelling; a multi-select value becomes `a, b`.
    fn custom_value(&mut self, name: &str, v: &Value) -> SnResult<(String, Value)> {
        if self.field(name).is_none() {
            self.add_field(FieldDef::new(0, name, 0))?;
        }
        let def = self
            .fields
            .iter_mut()
            .find(|d| d.name.eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| SnError::invalid(format!("customFields.{name} is unknown")))?;
        if def.is_system {
            return Err(SnError::invalid(format!(
                "customFields.{name} is a standard contact field; set {} at the top level",
                def.name
            )));
        }
        if !def.multi_select {
            return Ok((def.name.clone(), v.clone()));
        }
        let Some(text) = v.as_str() else {
            return Ok((def.name.clone(), v.clone()));
        };
        let items: Vec<String> = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        for i in &items {
            if !def.options.iter().any(|o| o.eq_ignore_ascii_case(i)) {
                def.options.push(i.clone());
            }
        }
        Ok((def.name.clone(), json!(items.join(", "))))
    }

    /// Applies changes to a record; whether anything changed.
    fn apply(&mut self, r: &mut Rec, changes: &Changes) -> SnResult<bool> {
        let mut changed = false;
        for (k, v) in &changes.fields {
            if r.fields.get(k) != Some(v) {
                r.fields.insert(k.clone(), v.clone());
                changed = true;
            }
        }
        for (k, v) in &changes.custom {
            let (name, value) = self.custom_value(k, v)?;
            let empty = value.is_null() || value.as_str().is_some_and(str::is_empty);
            if empty {
                changed |= r.custom.remove(&name).is_some();
            } else if r.custom.get(&name) != Some(&value) {
                r.custom.insert(name, value);
                changed = true;
            }
        }
        Ok(changed)
    }

    /// Creates a record from checked changes.
    pub fn create(&mut self, kind: Kind, changes: &Changes) -> SnResult<Rec> {
        self.check_refs(changes)?;
        let id = self.new_id(match kind {
            Kind::Contact => CONTACT_IDS,
            Kind::Task => TASK_IDS,
            Kind::Note => NOTE_IDS,
        });
        let mut r = Rec::blank(kind, id, Self::now());
        if kind == Kind::Task {
            r.fields.insert("type".into(), json!("Call"));
            r.fields.insert("priority".into(), json!("Normal"));
            r.fields.insert("status".into(), json!("Pending"));
            r.fields
                .insert("assignedToUserId".into(), json!(API_USER_ID));
        }
        r.created_by = API_USER_ID;
        self.apply(&mut r, changes)?;
        self.table_mut(kind).insert(id, r.clone());
        Ok(r)
    }

    /// A partial update; `updatedAt` moves only when something changed.
    pub fn update(&mut self, kind: Kind, id: i64, changes: &Changes) -> SnResult<Rec> {
        self.check_refs(changes)?;
        let mut r = self.get(kind, id)?.clone();
        if !self.apply(&mut r, changes)? {
            return Ok(r);
        }
        if kind == Kind::Task {
            let done = is_completed(r.text("status"));
            match (done, r.completed_at) {
                (true, None) => r.completed_at = Some(Self::now()),
                (false, Some(_)) => r.completed_at = None,
                _ => {}
            }
        }
        r.updated_at = Self::now();
        self.table_mut(kind).insert(id, r.clone());
        Ok(r)
    }

    /// Deletes a record: contacts softly, tasks and notes for good.
    pub fn delete(&mut self, kind: Kind, id: i64) -> SnResult<()> {
        self.get(kind, id)?;
        if kind == Kind::Contact {
            if let Some(c) = self.contacts.get_mut(&id) {
                c.deleted = true;
                c.updated_at = Self::now();
            }
        } else {
            self.table_mut(kind).remove(&id);
        }
        Ok(())
    }

    /// Live contacts matching `search` (a case-insensitive substring of the first name, last
    /// name, full name, email or company), by id, one page (`page` from 1).
    pub fn contacts_page(&self, search: Option<&str>, page: usize, size: usize) -> Page {
        let needle = search
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty());
        let hits: Vec<&Rec> = self
            .contacts
            .values()
            .filter(|c| !c.deleted)
            .filter(|c| needle.as_deref().is_none_or(|n| contact_matches(c, n)))
            .collect();
        paged(hits, page, size)
    }

    /// Visible tasks under a filter, by id, one page.
    pub fn tasks_page(&self, f: &TaskFilter, page: usize, size: usize) -> Page {
        let hits: Vec<&Rec> = self
            .tasks
            .values()
            .filter(|t| self.visible(t))
            .filter(|t| !f.own_only || t.int("assignedToUserId") == Some(API_USER_ID))
            .filter(|t| {
                if f.start.is_none() && f.end.is_none() {
                    return true;
                }
                let from = t.text("dateFrom").and_then(super::model::parse_time);
                from.is_some_and(|d| f.start.is_none_or(|s| d >= s) && f.end.is_none_or(|e| d < e))
            })
            .collect();
        paged(hits, page, size)
    }

    /// Visible notes of a contact and/or opportunity (all when neither), by id, one page.
    pub fn notes_page(
        &self,
        contact: Option<i64>,
        opportunity: Option<i64>,
        page: usize,
        size: usize,
    ) -> Page {
        let hits: Vec<&Rec> = self
            .notes
            .values()
            .filter(|n| self.visible(n))
            .filter(|n| contact.is_none_or(|c| n.int("contactId") == Some(c)))
            .filter(|n| opportunity.is_none_or(|o| n.int("opportunityId") == Some(o)))
            .collect();
        paged(hits, page, size)
    }

    /// Counts per kind (live and deleted contacts), for the admin overview.
    pub fn counts(&self) -> Value {
        let deleted = self.contacts.values().filter(|c| c.deleted).count();
        json!({
            "contacts": {"live": self.contacts.len() - deleted, "deleted": deleted},
            "tasks": self.tasks.values().filter(|t| self.visible(t)).count(),
            "notes": self.notes.values().filter(|n| self.visible(n)).count(),
            "meetings": self.tasks.values()
                .filter(|t| self.visible(t) && t.text("type").is_some_and(|x| x.eq_ignore_ascii_case("meeting")))
                .count(),
            "custom_fields": self.fields.iter().filter(|d| !d.is_system).count(),
        })
    }

    /// Puts a record as it is (seed data), keeping the id counters ahead of it.
    pub fn put(&mut self, r: Rec) {
        let which = match r.kind {
            Kind::Contact => CONTACT_IDS,
            Kind::Task => TASK_IDS,
            Kind::Note => NOTE_IDS,
        };
        self.next[which] = self.next[which].max(r.id + 1);
        self.table_mut(r.kind).insert(r.id, r);
    }

    /// The next id a create of `kind` would get (seed data).
    pub fn peek_id(&self, kind: Kind) -> i64 {
        self.next[match kind {
            Kind::Contact => CONTACT_IDS,
            Kind::Task => TASK_IDS,
            Kind::Note => NOTE_IDS,
        }]
    }

    /// A batch of checked changes to contacts by id: `(updated ids, failed ids)`.
    pub fn batch_update(&mut self, ids: &[i64], changes: &Changes) -> SnResult<(usize, Vec<i64>)> {
        let (mut ok, mut failed) = (0, Vec::new());
        for id in ids {
            match self.update(Kind::Contact, *id, changes) {
                Ok(_) => ok += 1,
                Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => failed.push(*id),
                Err(e) => return Err(e),
            }
        }
        Ok((ok, failed))
    }

    /// Soft-deletes contacts by id: `(deleted, failed ids)`.
    pub fn batch_delete(&mut self, ids: &[i64]) -> (usize, Vec<i64>) {
        let (mut ok, mut failed) = (0, Vec::new());
        for id in ids {
            match self.delete(Kind::Contact, *id) {
                Ok(()) => ok += 1,
                Err(_) => failed.push(*id),
            }
        }
        (ok, failed)
    }
}

fn contact_matches(c: &Rec, needle: &str) -> bool {
    let first = c.text("firstName").unwrap_or_default();
    let last = c.text("lastName").unwrap_or_default();
    let full = format!("{first} {last}");
    [
        first,
        last,
        full.as_str(),
        c.text("email").unwrap_or_default(),
        c.text("company").unwrap_or_default(),
    ]
    .iter()
    .any(|h| h.to_lowercase().contains(needle))
}

fn paged(hits: Vec<&Rec>, page: usize, size: usize) -> Page {
    let total = hits.len();
    let rows = hits
        .into_iter()
        .skip(page.saturating_sub(1).saturating_mul(size))
        .take(size)
        .cloned()
        .collect();
    Page { rows, total }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesnexus::model::validate;
    use serde_json::Map;

    fn changes(v: Value) -> Changes {
        validate(Kind::Contact, v.as_object().unwrap_or(&Map::new()), false).unwrap_or_default()
    }

    #[test]
    fn custom_fields_auto_create_and_multi_select_normalises() {
        let mut s = Store::new();
        let mut tags = FieldDef::new(0, "Tags", 0);
        tags.multi_select = true;
        s.add_field(tags).unwrap();
        let c = s
            .create(
                Kind::Contact,
                &validate(
                    Kind::Contact,
                    json!({"firstName": "A", "customFields": {"tags": "x,y ,", "Shoe Size": 9}})
                        .as_object()
                        .unwrap(),
                    true,
                )
                .unwrap(),
            )
            .unwrap();
        assert_eq!(c.custom["Tags"], "x, y");
        assert_eq!(c.custom["Shoe Size"], 9);
        assert_eq!(s.field("shoe size").map(|d| d.type_code), Some(0));
        assert_eq!(
            s.field("Tags").map(|d| d.options.clone()),
            Some(vec!["x".into(), "y".into()])
        );
        let e = s.add_field(FieldDef::new(0, "SHOE SIZE", 3)).unwrap_err();
        assert_eq!(e.message, "Field 'Shoe Size' already exists");
        let e = s.add_field(FieldDef::new(0, "email", 0)).unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::CONFLICT);
        let same = s
            .update(
                Kind::Contact,
                c.id,
                &changes(json!({"customFields": {"Tags": "x, y"}})),
            )
            .unwrap();
        assert_eq!(same.updated_at, c.updated_at, "a no-op write moves nothing");
        let cleared = s
            .update(
                Kind::Contact,
                c.id,
                &changes(json!({"customFields": {"Tags": ""}})),
            )
            .unwrap();
        assert!(!cleared.custom.contains_key("Tags"));
    }

    #[test]
    fn soft_delete_hides_contacts_and_their_activities() {
        let mut s = Store::new();
        let c = s
            .create(
                Kind::Contact,
                &validate(
                    Kind::Contact,
                    json!({"firstName": "A"}).as_object().unwrap(),
                    true,
                )
                .unwrap(),
            )
            .unwrap();
        let t = s
            .create(
                Kind::Task,
                &validate(
                    Kind::Task,
                    json!({"title": "T", "contactId": c.id})
                        .as_object()
                        .unwrap(),
                    true,
                )
                .unwrap(),
            )
            .unwrap();
        s.delete(Kind::Contact, c.id).unwrap();
        assert_eq!(s.get(Kind::Contact, c.id).unwrap_err().status.as_u16(), 404);
        assert_eq!(s.get(Kind::Task, t.id).unwrap_err().status.as_u16(), 404);
        assert!(s.any(Kind::Contact, c.id).is_some_and(|c| c.deleted));
        assert_eq!(s.contacts_page(None, 1, 10).total, 0);
        assert_eq!(
            s.delete(Kind::Contact, c.id).unwrap_err().status.as_u16(),
            404
        );
    }
}
