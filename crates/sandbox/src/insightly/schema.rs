//! The five Insightly objects the emulator serves (contacts, organisations, tasks, notes,
//! events) and their fields, as data taken from the v3.1 swagger (`spec/insightly/v3-1.json`),
//! so one set of handlers serves them all and validation (types, lengths, required fields) is
//! the same everywhere.
//!
//! Datetimes: Insightly answers `YYYY-MM-DD HH:MM:SS` in UTC, with no `T` and no zone (the
//! swagger types them `date-time`, real answers and every public client use the space form).
//! Requests may use that form or RFC 3339 with any offset; both are stored as UTC.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use super::errors::{InsightlyError, InsightlyResult};

/// The objects of the emulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Obj {
    Contact,
    Organisation,
    Task,
    Note,
    Event,
}

/// The type of one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// String or null, at most `max` characters (0: unbounded).
    Text(usize),
    /// Integer or null.
    Int,
    /// Boolean or null.
    Bool,
    /// A datetime or null, stored and answered as `YYYY-MM-DD HH:MM:SS`.
    Time,
}

/// One scalar field of an object (sub-collections such as `TAGS` are handled apart).
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    /// Set by the server; ignored in requests.
    pub read_only: bool,
}

const fn w(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        read_only: false,
    }
}

const fn ro(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        read_only: true,
    }
}

const T255: Ty = Ty::Text(255);

/// Contact fields of the swagger, plus `VISIBLE_TO` / `VISIBLE_TEAM_ID`, which real answers carry
/// (amp-labs fixture `test/read/contacts/list.json`) although the swagger does not list them.
const CONTACT: &[Field] = &[
    w("SALUTATION", Ty::Text(50)),
    w("FIRST_NAME", T255),
    w("LAST_NAME", T255),
    ro("IMAGE_URL", T255),
    w("BACKGROUND", Ty::Text(4000)),
    w("OWNER_USER_ID", Ty::Int),
    w("SOCIAL_LINKEDIN", T255),
    w("SOCIAL_FACEBOOK", T255),
    w("SOCIAL_TWITTER", T255),
    w("DATE_OF_BIRTH", Ty::Time),
    w("PHONE", T255),
    w("PHONE_HOME", T255),
    w("PHONE_MOBILE", T255),
    w("PHONE_OTHER", T255),
    w("PHONE_ASSISTANT", T255),
    w("PHONE_FAX", T255),
    w("EMAIL_ADDRESS", T255),
    w("ASSISTANT_NAME", T255),
    w("ADDRESS_MAIL_STREET", T255),
    w("ADDRESS_MAIL_CITY", T255),
    w("ADDRESS_MAIL_STATE", T255),
    w("ADDRESS_MAIL_POSTCODE", Ty::Text(128)),
    w("ADDRESS_MAIL_COUNTRY", T255),
    w("ADDRESS_OTHER_STREET", T255),
    w("ADDRESS_OTHER_CITY", T255),
    w("ADDRESS_OTHER_STATE", T255),
    w("ADDRESS_OTHER_POSTCODE", Ty::Text(128)),
    w("ADDRESS_OTHER_COUNTRY", T255),
    ro("LAST_ACTIVITY_DATE_UTC", Ty::Time),
    ro("NEXT_ACTIVITY_DATE_UTC", Ty::Time),
    ro("CREATED_USER_ID", Ty::Int),
    w("ORGANISATION_ID", Ty::Int),
    w("TITLE", T255),
    w("EMAIL_OPTED_OUT", Ty::Bool),
    w("VISIBLE_TO", Ty::Text(20)),
    w("VISIBLE_TEAM_ID", Ty::Int),
];

const ORGANISATION: &[Field] = &[
    w("ORGANISATION_NAME", T255),
    w("BACKGROUND", Ty::Text(4000)),
    w("IMAGE_URL", Ty::Text(500)),
    w("OWNER_USER_ID", Ty::Int),
    ro("LAST_ACTIVITY_DATE_UTC", Ty::Time),
    ro("NEXT_ACTIVITY_DATE_UTC", Ty::Time),
    ro("CREATED_USER_ID", Ty::Int),
    w("PHONE", T255),
    w("PHONE_FAX", T255),
    w("WEBSITE", T255),
    w("ADDRESS_BILLING_STREET", T255),
    w("ADDRESS_BILLING_CITY", T255),
    w("ADDRESS_BILLING_STATE", T255),
    w("ADDRESS_BILLING_COUNTRY", T255),
    w("ADDRESS_BILLING_POSTCODE", Ty::Text(128)),
    w("ADDRESS_SHIP_STREET", T255),
    w("ADDRESS_SHIP_CITY", T255),
    w("ADDRESS_SHIP_STATE", T255),
    w("ADDRESS_SHIP_POSTCODE", Ty::Text(128)),
    w("ADDRESS_SHIP_COUNTRY", T255),
    w("SOCIAL_LINKEDIN", T255),
    w("SOCIAL_FACEBOOK", T255),
    w("SOCIAL_TWITTER", T255),
];

const TASK: &[Field] = &[
    w("TITLE", Ty::Text(500)),
    w("CATEGORY_ID", Ty::Int),
    w("DUE_DATE", Ty::Time),
    ro("COMPLETED_DATE_UTC", Ty::Time),
    w("COMPLETED", Ty::Bool),
    w("DETAILS", Ty::Text(4000)),
    w("STATUS", Ty::Text(20)),
    w("PRIORITY", Ty::Int),
    w("PERCENT_COMPLETE", Ty::Int),
    w("START_DATE", Ty::Time),
    w("MILESTONE_ID", Ty::Int),
    w("RESPONSIBLE_USER_ID", Ty::Int),
    w("OWNER_USER_ID", Ty::Int),
    w("EMAIL_ID", Ty::Int),
    w("PROJECT_ID", Ty::Int),
    w("REMINDER_DATE_UTC", Ty::Time),
    ro("REMINDER_SENT", Ty::Bool),
    w("OWNER_VISIBLE", Ty::Bool),
    w("STAGE_ID", Ty::Int),
    ro("ASSIGNED_BY_USER_ID", Ty::Int),
    w("PARENT_TASK_ID", Ty::Int),
    w("RECURRENCE", Ty::Text(20)),
    w("OPPORTUNITY_ID", Ty::Int),
    w("ASSIGNED_TEAM_ID", Ty::Int),
    ro("ASSIGNED_DATE_UTC", Ty::Time),
    ro("CREATED_USER_ID", Ty::Int),
];

const NOTE: &[Field] = &[
    w("TITLE", T255),
    w("BODY", Ty::Text(0)),
    ro("OWNER_USER_ID", Ty::Int),
];

const EVENT: &[Field] = &[
    w("TITLE", T255),
    w("LOCATION", T255),
    w("START_DATE_UTC", Ty::Time),
    w("END_DATE_UTC", Ty::Time),
    w("ALL_DAY", Ty::Bool),
    w("DETAILS", Ty::Text(4000)),
    w("REMINDER_DATE_UTC", Ty::Time),
    ro("REMINDER_SENT", Ty::Bool),
    w("OWNER_USER_ID", Ty::Int),
];

impl Obj {
    pub const ALL: [Obj; 5] = [
        Obj::Contact,
        Obj::Organisation,
        Obj::Task,
        Obj::Note,
        Obj::Event,
    ];

    /// Path segment and `CustomFields/{objectName}` name: `Contacts`, `Organisations`, …
    pub fn plural(self) -> &'static str {
        match self {
            Obj::Contact => "Contacts",
            Obj::Organisation => "Organisations",
            Obj::Task => "Tasks",
            Obj::Note => "Notes",
            Obj::Event => "Events",
        }
    }

    /// Name in `LINKS` (`OBJECT_NAME`, `LINK_OBJECT_NAME`): `Contact`, `Organisation`, …
    pub fn singular(self) -> &'static str {
        match self {
            Obj::Contact => "Contact",
            Obj::Organisation => "Organisation",
            Obj::Task => "Task",
            Obj::Note => "Note",
            Obj::Event => "Event",
        }
    }

    /// `FIELD_FOR` of its custom fields.
    pub fn field_for(self) -> &'static str {
        match self {
            Obj::Contact => "CONTACT",
            Obj::Organisation => "ORGANISATION",
            Obj::Task => "TASK",
            Obj::Note => "NOTE",
            Obj::Event => "EVENT",
        }
    }

    pub fn id_field(self) -> &'static str {
        match self {
            Obj::Contact => "CONTACT_ID",
            Obj::Organisation => "ORGANISATION_ID",
            Obj::Task => "TASK_ID",
            Obj::Note => "NOTE_ID",
            Obj::Event => "EVENT_ID",
        }
    }

    /// An object name as clients write it: singular or plural, any case, and the US
    /// spelling `Organization(s)`. (Which form real Insightly expects in `LINK_OBJECT_NAME` is
    /// unverified, so every one is accepted.)
    pub fn parse(name: &str) -> Option<Obj> {
        let n = name
            .trim()
            .to_ascii_lowercase()
            .replace("organization", "organisation");
        let n = n.strip_suffix('s').unwrap_or(&n);
        Obj::ALL
            .into_iter()
            .find(|o| o.singular().eq_ignore_ascii_case(n))
    }

    /// The scalar fields of the object (the id and `DATE_*_UTC` stamps are added apart).
    pub fn fields(self) -> &'static [Field] {
        match self {
            Obj::Contact => CONTACT,
            Obj::Organisation => ORGANISATION,
            Obj::Task => TASK,
            Obj::Note => NOTE,
            Obj::Event => EVENT,
        }
    }

    pub fn field(self, name: &str) -> Option<&'static Field> {
        self.fields().iter().find(|f| f.name == name)
    }

    /// Fields a create must carry and an update must not clear. The swagger's `required` lists
    /// include server-set fields (ids, stamps); only the ones a client writes are enforced.
    pub fn required(self) -> &'static [&'static str] {
        match self {
            Obj::Contact => &["FIRST_NAME"],
            Obj::Organisation => &["ORGANISATION_NAME"],
            Obj::Task | Obj::Note => &["TITLE"],
            Obj::Event => &["START_DATE_UTC", "END_DATE_UTC"],
        }
    }

    /// Objects with `TAGS` (and `DATES`).
    pub fn has_tags(self) -> bool {
        matches!(self, Obj::Contact | Obj::Organisation)
    }

    /// Objects with `CUSTOMFIELDS` (the swagger gives notes none).
    pub fn has_custom(self) -> bool {
        !matches!(self, Obj::Note)
    }

    /// Tasks, notes and events: they hang off other records through `LINKS`.
    pub fn is_activity(self) -> bool {
        matches!(self, Obj::Task | Obj::Note | Obj::Event)
    }
}

/// The Insightly form of a time: `2025-04-19 00:49:32`.
pub fn fmt_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Reads `YYYY-MM-DD HH:MM:SS` (UTC), `YYYY-MM-DDTHH:MM:SS` without zone (UTC), a bare date, or
/// RFC 3339 with any offset.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// Checks one field value of a request and returns it as stored (times normalised).
pub fn check_value(obj: Obj, f: &Field, v: &Value) -> InsightlyResult<Value> {
    let bad = |what: &str| {
        InsightlyError::bad_request(format!(
            "{} of {} {what}",
            f.name,
            obj.singular().to_ascii_lowercase()
        ))
    };
    match (f.ty, v) {
        (_, Value::Null) => Ok(Value::Null),
        (Ty::Text(max), Value::String(s)) => {
            if max > 0 && s.chars().count() > max {
                return Err(bad(&format!("is longer than {max} characters")));
            }
            Ok(v.clone())
        }
        (Ty::Text(_), Value::Number(n)) => Ok(Value::String(n.to_string())),
        (Ty::Text(_), _) => Err(bad("must be a string")),
        (Ty::Int, Value::Number(n)) if n.is_i64() => Ok(v.clone()),
        (Ty::Int, Value::String(s)) if s.trim().parse::<i64>().is_ok() => {
            Ok(Value::from(s.trim().parse::<i64>().unwrap_or_default()))
        }
        (Ty::Int, _) => Err(bad("must be an integer")),
        (Ty::Bool, Value::Bool(_)) => Ok(v.clone()),
        (Ty::Bool, _) => Err(bad("must be true or false")),
        (Ty::Time, Value::String(s)) if s.trim().is_empty() => Ok(Value::Null),
        (Ty::Time, Value::String(s)) => parse_time(s)
            .map(|t| Value::String(fmt_time(t)))
            .ok_or_else(|| bad("must be a date-time (YYYY-MM-DD HH:MM:SS or RFC 3339)")),
        (Ty::Time, _) => Err(bad("must be a date-time string")),
    }
}

/// The writable scalar fields of a request body, checked; read-only and unknown keys are
/// ignored, as Insightly ignores them. Sub-collections are read by the caller.
pub fn writable(obj: Obj, body: &Map<String, Value>) -> InsightlyResult<Map<String, Value>> {
    let mut out = Map::new();
    for (k, v) in body {
        if let Some(f) = obj.field(k).filter(|f| !f.read_only) {
            out.insert(k.clone(), check_value(obj, f, v)?);
        }
    }
    Ok(out)
}

/// Every field of an object as null: the base of a new record.
pub fn empty_fields(obj: Obj) -> Map<String, Value> {
    obj.fields()
        .iter()
        .map(|f| (f.name.to_string(), Value::Null))
        .collect()
}

/// A required field missing or blank in `fields` → 400 naming it.
pub fn check_required(obj: Obj, fields: &Map<String, Value>) -> InsightlyResult<()> {
    for name in obj.required() {
        let blank = match fields.get(*name) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.trim().is_empty(),
            Some(_) => false,
        };
        if blank {
            return Err(InsightlyError::bad_request(format!(
                "{name} is required for a {}",
                obj.singular().to_ascii_lowercase()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_times_and_values() {
        assert_eq!(Obj::parse("contacts"), Some(Obj::Contact));
        assert_eq!(Obj::parse("CONTACT"), Some(Obj::Contact));
        assert_eq!(Obj::parse("Organizations"), Some(Obj::Organisation));
        assert_eq!(Obj::parse("lead"), None);
        let t = parse_time("2024-03-04T08:22:56+01:00").unwrap();
        assert_eq!(fmt_time(t), "2024-03-04 07:22:56");
        assert_eq!(parse_time("2024-03-04 07:22:56"), Some(t));
        let f = Obj::Contact.field("FIRST_NAME").unwrap();
        let long = "x".repeat(256);
        let e = check_value(Obj::Contact, f, &json!(long)).unwrap_err();
        assert!(e.message.contains("FIRST_NAME"), "{}", e.message);
        let due = Obj::Task.field("DUE_DATE").unwrap();
        assert_eq!(
            check_value(Obj::Task, due, &json!("2030-01-02T03:04:05Z")).unwrap(),
            json!("2030-01-02 03:04:05")
        );
        let e = check_required(Obj::Event, &Map::new()).unwrap_err();
        assert!(e.message.contains("START_DATE_UTC"));
    }
}
