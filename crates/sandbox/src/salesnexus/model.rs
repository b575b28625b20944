//! The records of the SalesNexus Public API v1 as the emulator keeps and shows them, described as
//! data (spec/salesnexus/API.md): contacts, tasks and notes with integer ids, their writable
//! fields and types, and the validation a write goes through. Unknown body keys are ignored (as
//! an ASP.NET-style API does) and read-only keys (`id`, `createdAt`, `updatedAt`, …) are never
//! taken from a body.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::errors::{SnError, SnResult};

/// A kind of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Contact,
    Task,
    Note,
}

impl Kind {
    /// The word used in messages (`Contact 12 not found`).
    pub fn title(self) -> &'static str {
        match self {
            Kind::Contact => "Contact",
            Kind::Task => "Task",
            Kind::Note => "Note",
        }
    }

    /// The field a create cannot do without.
    pub fn required(self) -> &'static str {
        match self {
            Kind::Contact => "firstName",
            Kind::Task => "title",
            Kind::Note => "noteText",
        }
    }

    /// The writable fields and their types.
    pub fn fields(self) -> &'static [(&'static str, Ty)] {
        match self {
            Kind::Contact => CONTACT,
            Kind::Task => TASK,
            Kind::Note => NOTE,
        }
    }
}

/// The type of a writable field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// A string.
    Text,
    /// An integer (user, contact, opportunity and group ids).
    Int,
    /// A date-time: ISO 8601, or a bare `YYYY-MM-DD` (midnight UTC); shown as `…Z`.
    Time,
}

const CONTACT: &[(&str, Ty)] = &[
    ("firstName", Ty::Text),
    ("lastName", Ty::Text),
    ("email", Ty::Text),
    ("phone", Ty::Text),
    ("company", Ty::Text),
    ("title", Ty::Text),
    ("address", Ty::Text),
    ("city", Ty::Text),
    ("state", Ty::Text),
    ("zip", Ty::Text),
    ("country", Ty::Text),
    ("managerUserId", Ty::Int),
];

const TASK: &[(&str, Ty)] = &[
    ("title", Ty::Text),
    ("details", Ty::Text),
    ("type", Ty::Text),
    ("priority", Ty::Text),
    ("status", Ty::Text),
    ("color", Ty::Text),
    ("dateFrom", Ty::Time),
    ("dateTo", Ty::Time),
    ("assignedToUserId", Ty::Int),
    ("contactId", Ty::Int),
    ("opportunityId", Ty::Int),
    ("groupId", Ty::Int),
];

const NOTE: &[(&str, Ty)] = &[
    ("noteText", Ty::Text),
    ("contactId", Ty::Int),
    ("opportunityId", Ty::Int),
];

/// Task fields a create ignores (`status` is "update only") and an update ignores (`groupId`
/// is "create only"), per the official CLI's create and update commands.
pub const TASK_UPDATE_ONLY: &[&str] = &["status"];
pub const TASK_CREATE_ONLY: &[&str] = &["groupId"];

/// A task status that marks the task done (compared ignoring case).
pub const COMPLETED: &str = "Completed";

/// ISO 8601 with `Z`, at second resolution (as the API's README examples show).
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses ISO 8601 (with any offset, or none: UTC) or a bare date.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
}

/// One record of any kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Rec {
    pub id: i64,
    pub kind: Kind,
    /// Every writable field of the kind, `null` when unset.
    pub fields: Map<String, Value>,
    /// Contacts only: custom field values by the field's name.
    pub custom: BTreeMap<String, Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Tasks: set when the status becomes `Completed`, cleared when it changes back.
    pub completed_at: Option<DateTime<Utc>>,
    /// Notes: the user who wrote it.
    pub created_by: i64,
    /// Contacts only: soft-deleted (hidden from lists; GET answers 404).
    pub deleted: bool,
}

impl Rec {
    /// A record with every field unset.
    pub fn blank(kind: Kind, id: i64, at: DateTime<Utc>) -> Self {
        let fields = kind
            .fields()
            .iter()
            .map(|(n, _)| (n.to_string(), Value::Null))
            .collect();
        Self {
            id,
            kind,
            fields,
            custom: BTreeMap::new(),
            created_at: at,
            updated_at: at,
            completed_at: None,
            created_by: 0,
            deleted: false,
        }
    }

    /// A text field, if set.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str)
    }

    /// An integer field, if set.
    pub fn int(&self, name: &str) -> Option<i64> {
        self.fields.get(name).and_then(Value::as_i64)
    }

    /// The record as the API shows it. `with_updated_at: false` leaves `updatedAt` out (the
    /// emulator's knob for tasks and notes, to exercise clients that must hash instead).
    pub fn to_json(&self, with_updated_at: bool) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.extend(self.fields.clone());
        match self.kind {
            Kind::Contact => {
                let custom: Map<String, Value> = self
                    .custom
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                m.insert("customFields".into(), Value::Object(custom));
                m.insert("createdAt".into(), json!(iso(self.created_at)));
            }
            Kind::Task => {
                m.insert("completedAt".into(), json!(self.completed_at.map(iso)));
                m.insert("createdAt".into(), json!(iso(self.created_at)));
            }
            Kind::Note => {
                m.insert("createdOn".into(), json!(iso(self.created_at)));
                m.insert("createdBy".into(), json!(self.created_by));
            }
        }
        if with_updated_at || self.kind == Kind::Contact {
            m.insert("updatedAt".into(), json!(iso(self.updated_at)));
        }
        Value::Object(m)
    }
}

/// A checked write: the standard fields to set and the custom values to set (`null` clears).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    pub fields: Map<String, Value>,
    pub custom: BTreeMap<String, Value>,
}

fn check_value(name: &str, ty: Ty, v: &Value) -> SnResult<Value> {
    match (ty, v) {
        (_, Value::Null) => Ok(Value::Null),
        (Ty::Text, Value::String(s)) => Ok(Value::String(s.clone())),
        (Ty::Text, _) => Err(SnError::invalid(format!("{name} must be a string"))),
        (Ty::Int, Value::Number(n)) if n.is_i64() => Ok(v.clone()),
        (Ty::Int, Value::String(s)) if s.trim().parse::<i64>().is_ok() => {
            Ok(json!(s.trim().parse::<i64>().unwrap_or_default()))
        }
        (Ty::Int, _) => Err(SnError::invalid(format!("{name} must be an integer"))),
        (Ty::Time, Value::String(s)) => parse_time(s).map(|t| json!(iso(t))).ok_or_else(|| {
            SnError::invalid(format!(
                "{name} must be an ISO 8601 date-time or YYYY-MM-DD, not {s:?}"
            ))
        }),
        (Ty::Time, _) => Err(SnError::invalid(format!(
            "{name} must be an ISO 8601 date-time string"
        ))),
    }
}

/// Checks a request body for `kind`. On a create the kind's required field must be a non-empty
/// string; on an update it may be left out but not emptied.
pub fn validate(kind: Kind, body: &Map<String, Value>, create: bool) -> SnResult<Changes> {
    let mut out = Changes::default();
    for (name, ty) in kind.fields() {
        let skipped = match kind {
            Kind::Task if create => TASK_UPDATE_ONLY.contains(name),
            Kind::Task => TASK_CREATE_ONLY.contains(name),
            _ => false,
        };
        if let Some(v) = body.get(*name).filter(|_| !skipped) {
            out.fields
                .insert(name.to_string(), check_value(name, *ty, v)?);
        }
    }
    let required = kind.required();
    let blank = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .is_none_or(|s| s.trim().is_empty())
    };
    if create && blank(out.fields.get(required)) {
        return Err(SnError::invalid(format!("{required} is required")));
    }
    if !create && out.fields.contains_key(required) && blank(out.fields.get(required)) {
        return Err(SnError::invalid(format!("{required} cannot be empty")));
    }
    if kind == Kind::Note && create {
        let has = |k: &str| out.fields.get(k).is_some_and(|v| !v.is_null());
        if !has("contactId") && !has("opportunityId") {
            return Err(SnError::invalid("contactId or opportunityId is required"));
        }
    }
    if kind == Kind::Contact {
        match body.get("customFields") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    if k.trim().is_empty() {
                        return Err(SnError::invalid("customFields names must not be empty"));
                    }
                    match v {
                        Value::Null | Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                            out.custom.insert(k.trim().to_string(), v.clone());
                        }
                        Value::Array(items) if items.iter().all(Value::is_string) => {
                            let joined: Vec<&str> =
                                items.iter().filter_map(Value::as_str).collect();
                            out.custom
                                .insert(k.trim().to_string(), json!(joined.join(", ")));
                        }
                        _ => {
                            return Err(SnError::invalid(format!(
                                "customFields.{k} must be a string, number or boolean"
                            )))
                        }
                    }
                }
            }
            Some(_) => return Err(SnError::invalid("customFields must be an object")),
        }
    }
    Ok(out)
}

/// Whether a task status means done.
pub fn is_completed(status: Option<&str>) -> bool {
    status.is_some_and(|s| s.trim().eq_ignore_ascii_case(COMPLETED))
}

/// Standard contact field names (the rest of a batch update's `fieldUpdates` are custom).
pub fn is_standard_contact_field(name: &str) -> bool {
    Kind::Contact.fields().iter().any(|(n, _)| *n == name)
}

/// Splits a batch update's `fieldUpdates` into standard and custom changes.
pub fn field_updates(updates: &Map<String, Value>) -> SnResult<Changes> {
    let mut body = Map::new();
    let mut custom = Map::new();
    for (k, v) in updates {
        if is_standard_contact_field(k) {
            body.insert(k.clone(), v.clone());
        } else {
            custom.insert(k.clone(), v.clone());
        }
    }
    body.insert("customFields".into(), Value::Object(custom));
    validate(Kind::Contact, &body, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn required_fields_and_types_are_named() {
        let e = validate(Kind::Contact, &obj(json!({"lastName": "x"})), true).unwrap_err();
        assert_eq!(e.message, "firstName is required");
        let e = validate(Kind::Task, &obj(json!({"title": " "})), true).unwrap_err();
        assert_eq!(e.message, "title is required");
        let e = validate(Kind::Note, &obj(json!({"contactId": 1})), true).unwrap_err();
        assert_eq!(e.message, "noteText is required");
        let e = validate(Kind::Note, &obj(json!({"noteText": "n"})), true).unwrap_err();
        assert!(e.message.contains("contactId"), "{e:?}");
        let e = validate(
            Kind::Task,
            &obj(json!({"title": "t", "dateTo": "soon"})),
            true,
        )
        .unwrap_err();
        assert!(e.message.starts_with("dateTo"), "{e:?}");
        let e = validate(Kind::Contact, &obj(json!({"firstName": ""})), false).unwrap_err();
        assert_eq!(e.message, "firstName cannot be empty");
        let ok = validate(
            Kind::Task,
            &obj(json!({"title": "t", "status": "Completed", "dateFrom": "2026-01-02", "x": 1})),
            true,
        )
        .unwrap();
        assert!(!ok.fields.contains_key("status"), "status is update-only");
        assert_eq!(ok.fields["dateFrom"], "2026-01-02T00:00:00Z");
        assert!(!ok.fields.contains_key("x"), "unknown keys are ignored");
        let c = validate(
            Kind::Contact,
            &obj(json!({"customFields": {"Tags": ["a", "b"], "n": 3}})),
            false,
        )
        .unwrap();
        assert_eq!(c.custom["Tags"], "a, b");
        assert_eq!(c.custom["n"], 3);
    }
}
