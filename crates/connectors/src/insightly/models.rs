//! Insightly's JSON ⇄ canonical records, by the tables of [`super::mapping`].
//!
//! Custom fields are read and written by [`super::custom`].

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::custom::{custom_read, custom_write, CustomDefs};
use super::mapping::{
    FieldMap, FieldType, CONTACT, CUSTOM_PREFIX, EVENT, MAX_TITLE, NOTE, NO_NAME, ORGANISATION,
    TASK,
};
use crate::connector::ConnectorError;
use crate::record::{EntityKind, Record};

/// The Insightly object behind a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Object {
    Contacts,
    Tasks,
    Notes,
    Events,
    Organisations,
}

impl Object {
    /// The object of a kind (tags have none: they live on contacts).
    pub fn of(kind: EntityKind) -> Option<Object> {
        Some(match kind {
            EntityKind::Contact => Object::Contacts,
            EntityKind::Task => Object::Tasks,
            EntityKind::Note => Object::Notes,
            EntityKind::Appointment => Object::Events,
            EntityKind::Business => Object::Organisations,
            EntityKind::Tag => return None,
        })
    }

    pub fn kind(self) -> EntityKind {
        match self {
            Object::Contacts => EntityKind::Contact,
            Object::Tasks => EntityKind::Task,
            Object::Notes => EntityKind::Note,
            Object::Events => EntityKind::Appointment,
            Object::Organisations => EntityKind::Business,
        }
    }

    /// Path segment: `Contacts`, `Tasks`, …
    pub fn path(self) -> &'static str {
        match self {
            Object::Contacts => "Contacts",
            Object::Tasks => "Tasks",
            Object::Notes => "Notes",
            Object::Events => "Events",
            Object::Organisations => "Organisations",
        }
    }

    pub fn id_field(self) -> &'static str {
        match self {
            Object::Contacts => "CONTACT_ID",
            Object::Tasks => "TASK_ID",
            Object::Notes => "NOTE_ID",
            Object::Events => "EVENT_ID",
            Object::Organisations => "ORGANISATION_ID",
        }
    }

    pub fn table(self) -> &'static [FieldMap] {
        match self {
            Object::Contacts => CONTACT,
            Object::Tasks => TASK,
            Object::Notes => NOTE,
            Object::Events => EVENT,
            Object::Organisations => ORGANISATION,
        }
    }

    /// Whether the object has custom fields (the swagger gives notes none).
    pub fn has_custom(self) -> bool {
        self != Object::Notes
    }
}

fn rejected(m: impl Into<String>) -> ConnectorError {
    ConnectorError::Rejected(m.into())
}

/// An Insightly time (`YYYY-MM-DD HH:MM:SS`, UTC) or RFC 3339, as an instant.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            [
                "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M:%S%.f",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
            .map(|t| t.and_utc())
        })
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
}

/// The Insightly form of an instant.
pub fn app_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The canonical form of an instant: RFC 3339 UTC, whole seconds.
pub fn canonical_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An id, number or text, as text.
pub fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

/// The first line of a note body with text, cut to a title's length.
pub fn derived_title(body: &str) -> Option<String> {
    let line = body.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(line.chars().take(MAX_TITLE).collect())
}

/// The contact an activity hangs off: its first link to a contact (`LINK_OBJECT_NAME`
/// `Contact`/`Contacts`, any case).
pub fn contact_link(v: &Value) -> Option<String> {
    v.get("LINKS")?.as_array()?.iter().find_map(|l| {
        let name = l
            .get("LINK_OBJECT_NAME")?
            .as_str()?
            .trim()
            .to_ascii_lowercase();
        matches!(name.as_str(), "contact" | "contacts")
            .then(|| l.get("LINK_OBJECT_ID").and_then(id_text))
            .flatten()
    })
}

fn read_value(ty: FieldType, v: &Value) -> Option<Value> {
    match (ty, v) {
        (_, Value::Null) => None,
        (FieldType::Time, Value::String(s)) => match parse_time(s) {
            Some(t) => Some(json!(canonical_time(t))),
            None if s.trim().is_empty() || s.starts_with("0000-00-00") => None,
            None => Some(v.clone()),
        },
        (FieldType::IdText, _) => id_text(v).map(Value::String),
        (FieldType::Text, Value::String(s)) if s.is_empty() => None,
        _ => Some(v.clone()),
    }
}

/// One Insightly record as a canonical record. `org_name` names an organisation id (for a
/// contact's `company_name`); `defs` names custom fields.
pub fn record_of(
    obj: Object,
    v: &Value,
    defs: &CustomDefs,
    org_name: &dyn Fn(&str) -> Option<String>,
) -> Result<Record, ConnectorError> {
    let o = v.as_object().ok_or_else(|| {
        ConnectorError::Transient(format!(
            "Insightly answered a {} that is not an object",
            obj.path()
        ))
    })?;
    let id = o.get(obj.id_field()).and_then(id_text).ok_or_else(|| {
        ConnectorError::Transient(format!(
            "Insightly answered a record without {}",
            obj.id_field()
        ))
    })?;
    let mut fields = Map::new();
    for m in obj.table() {
        if let Some(val) = o.get(m.insightly).and_then(|x| read_value(m.ty, x)) {
            fields.insert(m.canonical.to_string(), val);
        }
    }
    match obj {
        Object::Contacts => {
            if fields.get("first_name").and_then(Value::as_str) == Some(NO_NAME) {
                fields.remove("first_name");
            }
            if let Some(Value::Array(tags)) = o.get("TAGS") {
                let names: Vec<Value> = tags
                    .iter()
                    .filter_map(|t| t.get("TAG_NAME").and_then(Value::as_str))
                    .map(|t| json!(t))
                    .collect();
                fields.insert("tags".into(), Value::Array(names));
            }
            if let Some(name) = fields
                .get("business_id")
                .and_then(Value::as_str)
                .and_then(org_name)
            {
                fields.insert("company_name".into(), json!(name));
            }
        }
        Object::Notes => {
            let body = fields
                .get("body")
                .and_then(Value::as_str)
                .and_then(derived_title);
            if body.is_some() && fields.get("title").and_then(Value::as_str) == body.as_deref() {
                fields.remove("title");
            }
        }
        _ => {}
    }
    if obj.has_custom() {
        for c in o
            .get("CUSTOMFIELDS")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = c.get("FIELD_NAME").and_then(Value::as_str) else {
                continue;
            };
            let value = c.get("FIELD_VALUE").unwrap_or(&Value::Null);
            if let Some(val) = custom_read(defs, name, value) {
                fields.insert(defs.canonical(name), val);
            }
        }
    }
    let mut r = Record::new(obj.kind(), id, fields);
    r.updated_at = o
        .get("DATE_UPDATED_UTC")
        .and_then(Value::as_str)
        .and_then(parse_time);
    if matches!(obj, Object::Tasks | Object::Notes | Object::Events) {
        r.parent_id = contact_link(v);
    }
    Ok(r)
}

/// A write, split into what goes in the record's body and what needs calls of its own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Write {
    /// Insightly fields (with `CUSTOMFIELDS` when custom fields are written).
    pub body: Map<String, Value>,
    /// Contact tags wanted (`None`: tags not written).
    pub tags: Option<Vec<String>>,
    /// `business_id` as written: absent, null, or text.
    pub business_id: Option<Option<String>>,
    /// `company_name` as written: absent, null/empty, or a name.
    pub company_name: Option<Option<String>>,
    /// Canonical `custom.*` names no definition matched.
    pub unknown_custom: Vec<String>,
    /// Canonical fields not sent (no Insightly field, or another app's id), for a log line.
    pub skipped: Vec<String>,
}

pub(crate) fn text_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn write_value(m: &FieldMap, v: &Value) -> Result<Option<Value>, ConnectorError> {
    let bad = |what: &str| rejected(format!("{}: {what}, got {v}", m.canonical));
    Ok(Some(match (m.ty, v) {
        (_, Value::Null) => Value::Null,
        (FieldType::Text, _) => json!(text_value(v).ok_or_else(|| bad("must be text"))?),
        (FieldType::Bool, Value::Bool(_)) => v.clone(),
        (FieldType::Bool, Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => json!(true),
            "false" => json!(false),
            "" => Value::Null,
            _ => return Err(bad("must be true or false")),
        },
        (FieldType::Bool, _) => return Err(bad("must be true or false")),
        (FieldType::Time, Value::String(s)) if s.trim().is_empty() => Value::Null,
        (FieldType::Time, Value::String(s)) => {
            json!(app_time(
                parse_time(s).ok_or_else(|| bad("must be an RFC 3339 time"))?
            ))
        }
        (FieldType::Time, _) => return Err(bad("must be an RFC 3339 time")),
        (FieldType::Number, Value::Number(_)) => v.clone(),
        (FieldType::Number, Value::String(s)) => match s.trim().parse::<i64>() {
            Ok(n) => json!(n),
            Err(_) => return Err(bad("must be a number")),
        },
        (FieldType::Number, _) => return Err(bad("must be a number")),
        // Another app's id (GHL's user or business ids are not numbers) cannot be sent.
        (FieldType::IdText, _) => match id_text(v).map(|s| s.parse::<i64>()) {
            Some(Ok(n)) => json!(n),
            _ => return Ok(None),
        },
    }))
}

/// Canonical fields → an Insightly write for `obj`.
pub fn write_of(
    obj: Object,
    fields: &Map<String, Value>,
    defs: &CustomDefs,
) -> Result<Write, ConnectorError> {
    let mut w = Write::default();
    let mut custom = Vec::new();
    for (name, value) in fields {
        if let Some(m) = obj.table().iter().find(|m| m.canonical == name) {
            if m.canonical == "business_id" {
                w.business_id = Some(id_text(value));
            }
            match write_value(m, value)? {
                Some(v) if m.canonical != "business_id" => {
                    w.body.insert(m.insightly.to_string(), v);
                }
                Some(_) => {}
                None => w.skipped.push(name.clone()),
            }
            continue;
        }
        match (obj, name.as_str()) {
            (Object::Contacts, "tags") => {
                let tags = match value {
                    Value::Null => Vec::new(),
                    Value::Array(a) => a.iter().filter_map(text_value).collect(),
                    Value::String(s) => vec![s.clone()],
                    _ => {
                        return Err(rejected(format!(
                            "tags: must be a list of texts, got {value}"
                        )))
                    }
                };
                w.tags = Some(
                    tags.into_iter()
                        .map(|t| t.trim().to_string())
                        .filter(|t| !t.is_empty())
                        .collect(),
                );
            }
            (Object::Contacts, "company_name") => {
                w.company_name = Some(text_value(value).filter(|s| !s.trim().is_empty()));
            }
            (_, n) if n.starts_with(CUSTOM_PREFIX) && obj.has_custom() => {
                let key = &n[CUSTOM_PREFIX.len()..];
                match defs.resolve(key) {
                    Some(def) => match custom_write(def, value) {
                        Some(v) => custom.push(json!({"FIELD_NAME": def.name, "FIELD_VALUE": v})),
                        None => w.skipped.push(name.clone()),
                    },
                    None => w.unknown_custom.push(name.clone()),
                }
            }
            _ => w.skipped.push(name.clone()),
        }
    }
    if !custom.is_empty() {
        w.body.insert("CUSTOMFIELDS".into(), Value::Array(custom));
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::super::custom::derived_field_name;
    use super::*;

    fn defs() -> CustomDefs {
        CustomDefs::from_json(&json!([
            {"FIELD_NAME": "Lead_Score__c", "FIELD_LABEL": "Lead Score", "FIELD_TYPE": "NUMERIC"},
            {"FIELD_NAME": "Interests__c", "FIELD_LABEL": "Interests", "FIELD_TYPE": "MULTISELECT",
             "CUSTOM_FIELD_OPTIONS": [{"OPTION_VALUE": "Art"}, {"OPTION_VALUE": "Music"}]},
        ]))
    }

    #[test]
    fn contacts_read_and_write() {
        let app = json!({"CONTACT_ID": 7, "FIRST_NAME": "(no name)", "LAST_NAME": "Lee",
            "EMAIL_ADDRESS": "l@example.com", "PHONE": null, "ORGANISATION_ID": 5,
            "EMAIL_OPTED_OUT": false, "DATE_OF_BIRTH": "1990-01-02 00:00:00",
            "DATE_UPDATED_UTC": "2025-04-22 20:03:25",
            "TAGS": [{"TAG_NAME": "vip"}],
            "CUSTOMFIELDS": [{"FIELD_NAME": "Lead_Score__c", "FIELD_VALUE": 3},
                             {"FIELD_NAME": "Interests__c", "FIELD_VALUE": "Art;Music"},
                             {"FIELD_NAME": "Old_Field__c", "FIELD_VALUE": "x"}]});
        let names = |id: &str| (id == "5").then(|| "Acme".to_string());
        let r = record_of(Object::Contacts, &app, &defs(), &names).unwrap();
        assert_eq!(r.id, "7");
        assert_eq!(
            Value::Object(r.fields.clone()),
            json!({"last_name": "Lee", "email": "l@example.com", "dnd": false, "business_id": "5",
                "company_name": "Acme", "x.date_of_birth": "1990-01-02T00:00:00Z", "tags": ["vip"],
                "custom.Lead Score": 3, "custom.Interests": ["Art", "Music"], "custom.Old Field": "x"})
        );
        assert_eq!(
            r.updated_at.map(canonical_time).as_deref(),
            Some("2025-04-22T20:03:25Z")
        );
        let w = write_of(Object::Contacts, &r.fields, &defs()).unwrap();
        assert!(
            !w.body.contains_key("ORGANISATION_ID"),
            "the connector resolves it"
        );
        assert_eq!(w.business_id, Some(Some("5".into())));
        assert_eq!(w.body["DATE_OF_BIRTH"], "1990-01-02 00:00:00");
        assert_eq!(
            w.body["CUSTOMFIELDS"][0],
            json!({"FIELD_NAME": "Interests__c", "FIELD_VALUE": "Art;Music"})
        );
        assert_eq!(w.unknown_custom, ["custom.Old Field"]);
        assert_eq!(w.tags.as_deref(), Some(&["vip".to_string()][..]));
        assert_eq!(w.company_name, Some(Some("Acme".into())));
        let ghl = json!({"business_id": "aBcD1234", "website": "w", "custom.lead score": 1});
        let w = write_of(Object::Contacts, ghl.as_object().unwrap(), &defs()).unwrap();
        assert!(
            !w.body.contains_key("ORGANISATION_ID"),
            "another app's id is not sent"
        );
        assert_eq!(w.skipped, ["business_id", "website"]);
        assert_eq!(w.body["CUSTOMFIELDS"][0]["FIELD_NAME"], "Lead_Score__c");
        let bad = write_of(
            Object::Tasks,
            json!({"due_at": "soon"}).as_object().unwrap(),
            &defs(),
        );
        assert!(matches!(bad, Err(ConnectorError::Rejected(m)) if m.contains("due_at")));
    }

    #[test]
    fn activities_find_their_contact_and_notes_their_title() {
        let task = json!({"TASK_ID": 1, "TITLE": "Call", "DUE_DATE": "2030-01-02 03:04:05",
            "COMPLETED": false, "LINKS": [{"LINK_OBJECT_NAME": "Organisation", "LINK_OBJECT_ID": 9},
                                          {"LINK_OBJECT_NAME": "contacts", "LINK_OBJECT_ID": 42}]});
        let r = record_of(Object::Tasks, &task, &CustomDefs::default(), &|_| None).unwrap();
        assert_eq!(r.parent_id.as_deref(), Some("42"));
        assert_eq!(r.fields["due_at"], "2030-01-02T03:04:05Z");
        let note = json!({"NOTE_ID": 2, "TITLE": "First line", "BODY": "\n First line\nmore"});
        let r = record_of(Object::Notes, &note, &CustomDefs::default(), &|_| None).unwrap();
        assert!(
            !r.fields.contains_key("title"),
            "a derived title reads as none"
        );
        assert_eq!(derived_title(&"x".repeat(300)).map(|t| t.len()), Some(255));
        assert_eq!(derived_field_name("Lead Score"), "Lead_Score__c");
    }
}
