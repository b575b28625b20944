//! GHL's shapes ⇄ canonical records, by the tables of [`super::mapping`].
//!
//! Reads go through the typed models of the `ghl` crate serialized back to GHL's JSON names, so
//! the tables name GHL fields exactly as GHL spells them. Writes build GHL's JSON by the same
//! tables and deserialize it into the typed requests, which refuses nothing GHL would accept and
//! keeps GHL's "property … should not exist" rule out of reach (the request types name only
//! accepted properties).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use ghl::models::appointment::Appointment;
use ghl::models::contact::{Contact, CreateContact, UpdateContact};
use ghl::models::custom_field::{CustomField, CustomFieldValue};
use ghl::models::location::CustomFieldDefinition;
use ghl::models::note::{CreateNote, Note, UpdateNote};
use ghl::models::task::{CreateTask, Task, UpdateTask};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use super::mapping::{
    FieldMap, APPOINTMENT, CONTACT_TEXT, CUSTOM_PREFIX, NOTE, TASK, TIME_FIELDS,
    UNKNOWN_CUSTOM_PREFIX,
};
use crate::connector::ConnectorError;
use crate::record::{EntityKind, Record};

/// A location's custom-field names by id and back, for `custom.<Name>` fields.
#[derive(Debug, Clone, Default)]
pub struct CustomFieldDefs {
    name_by_id: HashMap<String, String>,
    id_by_name: HashMap<String, String>,
    /// Lower-cased names and bare keys (`lead_score`), for a forgiving second lookup.
    id_by_loose: HashMap<String, String>,
}

impl CustomFieldDefs {
    /// From the definitions GHL lists; fields of other objects (opportunities) are left out.
    pub fn new(defs: &[CustomFieldDefinition]) -> Self {
        let mut out = Self::default();
        for d in defs.iter().filter(|d| d.is_contact_field()) {
            out.name_by_id.insert(d.id.clone(), d.name.clone());
            out.id_by_name.insert(d.name.clone(), d.id.clone());
            out.id_by_loose.insert(d.name.to_lowercase(), d.id.clone());
            if let Some(key) = &d.field_key {
                let bare = key.strip_prefix("contact.").unwrap_or(key);
                out.id_by_loose.insert(bare.to_lowercase(), d.id.clone());
            }
        }
        out
    }

    /// The human name of a field id.
    pub fn name_of(&self, id: &str) -> Option<&str> {
        self.name_by_id.get(id).map(String::as_str)
    }

    /// The id of a field by its name (exact, then ignoring case, then by its key).
    pub fn id_of(&self, name: &str) -> Option<&str> {
        self.id_by_name
            .get(name)
            .or_else(|| self.id_by_loose.get(&name.to_lowercase()))
            .map(String::as_str)
    }
}

fn rejected(message: impl Into<String>) -> ConnectorError {
    ConnectorError::Rejected(message.into())
}

/// A GHL time as a UTC instant: RFC 3339, or `YYYY-MM-DD HH:MM:SS` / without zone read as UTC.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%.f"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
                .map(|d| d.and_utc())
        })
}

/// A time in the canonical form (RFC 3339 UTC, fractions only when present); unreadable text
/// is kept as it is rather than dropped.
pub fn canonical_time(s: &str) -> String {
    parse_time(s).map_or_else(
        || s.to_string(),
        |t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
    )
}

fn to_json(v: &impl Serialize) -> Map<String, Value> {
    match serde_json::to_value(v) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

fn from_json<T: DeserializeOwned>(what: &str, m: Map<String, Value>) -> Result<T, ConnectorError> {
    serde_json::from_value(Value::Object(m)).map_err(|e| rejected(format!("{what}: {e}")))
}

/// Copies a table's fields from GHL JSON to canonical fields; empty text counts as absent.
fn read_table(table: &[FieldMap], ghl: &Map<String, Value>, out: &mut Map<String, Value>) {
    for f in table {
        let v = match ghl.get(f.ghl) {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) if s.is_empty() => continue,
            Some(Value::String(s)) if TIME_FIELDS.contains(&f.canonical) => {
                Value::String(canonical_time(s))
            }
            Some(v) => v.clone(),
        };
        out.insert(f.canonical.to_string(), v);
    }
}

/// A canonical value as GHL text: `null` clears (GHL clears text fields with `""`), numbers and
/// booleans become text, lists and objects are refused.
fn text_value(field: &str, v: &Value) -> Result<Value, ConnectorError> {
    Ok(Value::String(match v {
        Value::Null => String::new(),
        Value::String(s) if TIME_FIELDS.contains(&field) && !s.is_empty() => parse_time(s)
            .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
            .ok_or_else(|| rejected(format!("{field} is not an RFC 3339 time: {s:?}")))?,
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return Err(rejected(format!("{field} must be text, got {v}"))),
    }))
}

fn bool_value(field: &str, v: &Value) -> Result<Value, ConnectorError> {
    match v {
        Value::Bool(_) => Ok(v.clone()),
        Value::Null => Ok(Value::Bool(false)),
        Value::String(s) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
        _ => Err(rejected(format!("{field} must be true or false, got {v}"))),
    }
}

/// Copies the table's canonical fields present in `fields` into GHL JSON.
fn write_table(
    table: &[FieldMap],
    fields: &Map<String, Value>,
    updating: bool,
    out: &mut Map<String, Value>,
) -> Result<(), ConnectorError> {
    for f in table.iter().filter(|f| !updating || f.on_update) {
        let Some(v) = fields.get(f.canonical) else {
            continue;
        };
        let v = match f.canonical {
            "completed" => bool_value(f.canonical, v)?,
            _ => text_value(f.canonical, v)?,
        };
        out.insert(f.ghl.to_string(), v);
    }
    Ok(())
}

/// Whether reading this contact needs the custom-field definitions.
pub fn contact_needs_defs(c: &Contact) -> bool {
    c.custom_fields.iter().any(|f| f.value.is_some())
}

/// Custom-field names in `fields` that `defs` does not know.
pub fn unknown_custom_names(fields: &Map<String, Value>, defs: &CustomFieldDefs) -> Vec<String> {
    fields
        .keys()
        .filter_map(|k| k.strip_prefix(CUSTOM_PREFIX))
        .filter(|name| defs.id_of(name).is_none())
        .map(str::to_string)
        .collect()
}

/// Whether any `custom.<Name>` field is present.
pub fn has_custom(fields: &Map<String, Value>) -> bool {
    fields.keys().any(|k| k.starts_with(CUSTOM_PREFIX))
}

/// A GHL contact as a canonical record. `defs` may be `None` when the contact has no custom
/// values (see [`contact_needs_defs`]).
pub fn contact_record(c: &Contact, defs: Option<&CustomFieldDefs>) -> Record {
    let ghl = to_json(c);
    let mut fields = Map::new();
    read_table(CONTACT_TEXT, &ghl, &mut fields);
    if let Some(dnd) = c.dnd {
        fields.insert("dnd".into(), Value::Bool(dnd));
    }
    fields.insert("tags".into(), serde_json::json!(c.tags));
    if let Some(b) = c.business_id.as_deref().filter(|b| !b.is_empty()) {
        fields.insert("business_id".into(), Value::String(b.to_string()));
    }
    for cf in &c.custom_fields {
        let (Some(id), Some(value)) = (&cf.id, &cf.value) else {
            continue;
        };
        if matches!(value, CustomFieldValue::Null) {
            continue;
        }
        let key = match defs.and_then(|d| d.name_of(id)) {
            Some(name) => format!("{CUSTOM_PREFIX}{name}"),
            None => format!("{UNKNOWN_CUSTOM_PREFIX}{id}"),
        };
        fields.insert(key, serde_json::to_value(value).unwrap_or(Value::Null));
    }
    let mut r = Record::new(EntityKind::Contact, c.id.clone(), fields);
    r.updated_at = c.date_updated.as_deref().and_then(parse_time);
    r
}

/// Any contact-shaped GHL answer (search results, create answers) as a [`Contact`].
pub fn as_contact(v: &impl Serialize) -> Result<Contact, ConnectorError> {
    serde_json::to_value(v)
        .and_then(serde_json::from_value)
        .map_err(|e| ConnectorError::Transient(format!("unexpected GHL contact shape: {e}")))
}

/// The tags of a canonical `tags` value (a list of strings; `null` is no tags).
pub fn tags_value(v: &Value) -> Result<Vec<String>, ConnectorError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(a) => a
            .iter()
            .map(|t| {
                t.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| rejected(format!("tags must be strings, got {t}")))
            })
            .collect(),
        _ => Err(rejected(format!("tags must be a list, got {v}"))),
    }
}

/// GHL's form of a tag, for comparing: trimmed and lower-cased, as GHL stores it.
pub fn tag_key(t: &str) -> String {
    t.trim().to_lowercase()
}

/// The canonical `business_id` of a write: `Some(None)` unlinks.
pub fn business_value(v: &Value) -> Result<Option<String>, ConnectorError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(rejected(format!("business_id must be text, got {v}"))),
    }
}

/// What a contact write sends: the create/update body, and the parts GHL takes elsewhere.
#[derive(Debug, Clone, Default)]
pub struct ContactWrite {
    /// GHL JSON of the body (create or update fields).
    pub body: Map<String, Value>,
    /// The wanted tag set, when `tags` was given.
    pub tags: Option<Vec<String>>,
    /// The wanted business link, when `business_id` was given.
    pub business: Option<Option<String>>,
    /// Canonical fields GHL cannot write here (e.g. `company_name` on update).
    pub skipped: Vec<&'static str>,
}

/// Canonical fields → the parts of a contact write. `defs` must know every `custom.<Name>` given
/// (callers refresh it first; see [`unknown_custom_names`]).
pub fn contact_write(
    fields: &Map<String, Value>,
    defs: Option<&CustomFieldDefs>,
    updating: bool,
) -> Result<ContactWrite, ConnectorError> {
    let mut w = ContactWrite::default();
    write_table(CONTACT_TEXT, fields, updating, &mut w.body)?;
    if updating {
        w.skipped = CONTACT_TEXT
            .iter()
            .filter(|f| !f.on_update && fields.contains_key(f.canonical))
            .map(|f| f.canonical)
            .collect();
    }
    if let Some(v) = fields.get("dnd") {
        w.body.insert("dnd".into(), bool_value("dnd", v)?);
    }
    if let Some(v) = fields.get("tags") {
        w.tags = Some(tags_value(v)?);
    }
    if let Some(v) = fields.get("business_id") {
        w.business = Some(business_value(v)?);
    }
    let mut custom = Vec::new();
    for (key, value) in fields {
        let Some(name) = key.strip_prefix(CUSTOM_PREFIX) else {
            continue;
        };
        let id = defs
            .and_then(|d| d.id_of(name))
            .ok_or_else(|| rejected(format!("GHL has no contact custom field named {name:?}")))?;
        let value: CustomFieldValue =
            serde_json::from_value(value.clone()).map_err(|e| rejected(format!("{key}: {e}")))?;
        custom.push(CustomField::by_id(id, value));
    }
    if !custom.is_empty() {
        w.body.insert(
            "customFields".into(),
            serde_json::to_value(custom).map_err(|e| rejected(e.to_string()))?,
        );
    }
    Ok(w)
}

impl ContactWrite {
    /// The body of `POST /contacts/` (tags go in the create itself).
    pub fn create(&self) -> Result<CreateContact, ConnectorError> {
        let mut body = self.body.clone();
        if let Some(tags) = &self.tags {
            body.insert("tags".into(), serde_json::json!(tags));
        }
        from_json("contact", body)
    }

    /// The body of `PUT /contacts/{id}`, if any field besides tags and business changes.
    pub fn update(&self) -> Result<Option<UpdateContact>, ConnectorError> {
        if self.body.is_empty() {
            return Ok(None);
        }
        from_json("contact", self.body.clone()).map(Some)
    }
}

/// The `updatedAt`-like time GHL keeps among a child record's extra fields.
fn extra_time(extra: &Map<String, Value>, names: &[&str]) -> Option<DateTime<Utc>> {
    names
        .iter()
        .filter_map(|n| extra.get(*n).and_then(Value::as_str))
        .find_map(parse_time)
}

fn child(kind: EntityKind, id: &str, parent: Option<&str>, fields: Map<String, Value>) -> Record {
    let mut r = Record::new(kind, id, fields);
    r.parent_id = parent.map(str::to_string);
    r
}

/// A GHL task as a canonical record; `parent` is used when the task does not name its contact.
pub fn task_record(t: &Task, parent: Option<&str>) -> Record {
    let mut fields = Map::new();
    read_table(TASK, &to_json(t), &mut fields);
    fields.insert("completed".into(), Value::Bool(t.completed));
    let mut r = child(
        EntityKind::Task,
        &t.id,
        t.contact_id.as_deref().or(parent),
        fields,
    );
    r.updated_at = extra_time(&t.extra, &["dateUpdated", "dateAdded"]);
    r
}

/// The body of `POST /contacts/{id}/tasks`: GHL requires a title and a due date.
pub fn task_create(fields: &Map<String, Value>) -> Result<CreateTask, ConnectorError> {
    let mut body = Map::new();
    write_table(TASK, fields, false, &mut body)?;
    for (canonical, ghl) in [("title", "title"), ("due_at", "dueDate")] {
        if body
            .get(ghl)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .is_empty()
        {
            return Err(rejected(format!("a GHL task needs {canonical}")));
        }
    }
    body.entry("completed").or_insert(Value::Bool(false));
    from_json("task", body)
}

/// The body of `PUT /contacts/{id}/tasks/{taskId}`.
pub fn task_update(fields: &Map<String, Value>) -> Result<UpdateTask, ConnectorError> {
    let mut body = Map::new();
    write_table(TASK, fields, true, &mut body)?;
    from_json("task", body)
}

/// A GHL note as a canonical record.
pub fn note_record(n: &Note, parent: Option<&str>) -> Record {
    let mut fields = Map::new();
    read_table(NOTE, &to_json(n), &mut fields);
    let mut r = child(
        EntityKind::Note,
        &n.id,
        n.contact_id.as_deref().or(parent),
        fields,
    );
    r.updated_at = extra_time(&n.extra, &["dateUpdated"])
        .or_else(|| n.date_added.as_deref().and_then(parse_time));
    r
}

/// The body of `POST /contacts/{id}/notes`: GHL requires a body.
pub fn note_create(fields: &Map<String, Value>) -> Result<CreateNote, ConnectorError> {
    let mut body = Map::new();
    write_table(NOTE, fields, false, &mut body)?;
    if body
        .get("body")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .is_empty()
    {
        return Err(rejected("a GHL note needs a body"));
    }
    from_json("note", body)
}

/// The body of `PUT /contacts/{id}/notes/{noteId}`.
pub fn note_update(fields: &Map<String, Value>) -> Result<UpdateNote, ConnectorError> {
    let mut body = Map::new();
    write_table(NOTE, fields, true, &mut body)?;
    from_json("note", body)
}

/// A GHL appointment as a canonical record (`status` from `appointmentStatus`, else `status`).
pub fn appointment_record(a: &Appointment, parent: Option<&str>) -> Record {
    let mut fields = Map::new();
    read_table(APPOINTMENT, &to_json(a), &mut fields);
    if !fields.contains_key("status") {
        if let Some(s) = a.status.as_deref().filter(|s| !s.is_empty()) {
            fields.insert("status".into(), Value::String(s.to_string()));
        }
    }
    let mut r = child(
        EntityKind::Appointment,
        &a.id,
        a.contact_id.as_deref().or(parent),
        fields,
    );
    r.updated_at = a.date_updated.as_deref().and_then(parse_time);
    r
}

/// A tag of a contact as a record: the tag is its own id.
pub fn tag_record(name: &str, contact_id: &str) -> Record {
    let mut fields = Map::new();
    fields.insert("name".into(), Value::String(name.to_string()));
    child(EntityKind::Tag, name, Some(contact_id), fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defs() -> CustomFieldDefs {
        CustomFieldDefs::new(&[CustomFieldDefinition {
            id: "cf1".into(),
            name: "Lead Score".into(),
            field_key: Some("contact.lead_score".into()),
            ..Default::default()
        }])
    }

    #[test]
    fn contact_round_trip() {
        let c: Contact = serde_json::from_value(json!({"id": "c1", "firstName": "Ada",
            "companyName": "", "dnd": true, "tags": ["vip"], "businessId": "b1",
            "customFields": [{"id": "cf1", "value": 7}, {"id": "zz", "value": "x"}],
            "dateUpdated": "2025-01-02T03:04:05.000Z"}))
        .unwrap();
        let r = contact_record(&c, Some(&defs()));
        assert_eq!(
            Value::Object(r.fields.clone()),
            json!({"first_name": "Ada", "dnd": true, "tags": ["vip"], "business_id": "b1",
                "custom.Lead Score": 7, "x.custom.zz": "x"})
        );
        assert_eq!(r.updated_at.map(|t| t.timestamp()), Some(1_735_787_045));
        let mut fields = r.fields.clone();
        fields.remove("x.custom.zz");
        fields.insert("company_name".into(), json!("Acme"));
        let w = contact_write(&fields, Some(&defs()), true).unwrap();
        assert_eq!(w.skipped, vec!["company_name"]);
        assert_eq!(w.tags, Some(vec!["vip".to_string()]));
        assert_eq!(w.business, Some(Some("b1".into())));
        let body = serde_json::to_value(w.update().unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"firstName": "Ada", "dnd": true,
                "customFields": [{"id": "cf1", "field_value": 7}]})
        );
        let create = serde_json::to_value(w.create().unwrap()).unwrap();
        assert_eq!(create["tags"], json!(["vip"]));
    }

    #[test]
    fn unknown_custom_fields_are_refused() {
        let fields = json!({"custom.lead_score": 1, "custom.Nope": 2});
        let fields = fields.as_object().unwrap();
        assert_eq!(unknown_custom_names(fields, &defs()), vec!["Nope"]);
        assert!(contact_write(fields, Some(&defs()), false).is_err());
    }

    #[test]
    fn tasks_need_title_and_due_date() {
        let ok = json!({"title": "Call", "due_at": "2030-01-02T04:04:05+01:00"});
        let t = task_create(ok.as_object().unwrap()).unwrap();
        assert_eq!(t.due_date, "2030-01-02T03:04:05Z");
        assert!(!t.completed);
        let missing = json!({"title": "Call"});
        assert!(task_create(missing.as_object().unwrap()).is_err());
        let task: Task = serde_json::from_value(json!({"id": "t", "title": "Call",
            "dueDate": "2030-01-02T03:04:05.000Z", "completed": false, "contactId": "c"}))
        .unwrap();
        let r = task_record(&task, None);
        assert_eq!(r.fields["due_at"], "2030-01-02T03:04:05Z");
        assert_eq!(r.parent_id.as_deref(), Some("c"));
    }

    #[test]
    fn times_read_both_styles() {
        assert_eq!(
            canonical_time("2021-07-16 11:00:00"),
            "2021-07-16T11:00:00Z"
        );
        assert_eq!(canonical_time("soon"), "soon");
    }
}
