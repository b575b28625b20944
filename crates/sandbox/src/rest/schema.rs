//! The four record kinds of the contract and their writable fields, described as data so that
//! one set of handlers serves contacts, notes, tasks and appointments alike, and so that
//! validation (unknown fields, types, formats, required fields) is the same everywhere.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::errors::{RestError, RestResult};

/// A kind of record. Notes, tasks and appointments belong to a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Contact,
    Note,
    Task,
    Appointment,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Contact, Kind::Note, Kind::Task, Kind::Appointment];
    /// The kinds that hang off a contact.
    pub const CHILDREN: [Kind; 3] = [Kind::Note, Kind::Task, Kind::Appointment];

    /// Singular name, as used in event types (`note.created`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Contact => "contact",
            Kind::Note => "note",
            Kind::Task => "task",
            Kind::Appointment => "appointment",
        }
    }

    /// Path segment (`/v1/notes`).
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Contact => "contacts",
            Kind::Note => "notes",
            Kind::Task => "tasks",
            Kind::Appointment => "appointments",
        }
    }

    /// The kind whose path segment this is.
    pub fn from_plural(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.plural() == s)
    }

    /// Position in per-kind arrays of the store.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Prefix of the kind's ids, so an id alone says what it names in logs and bug reports.
    pub fn id_prefix(self) -> &'static str {
        match self {
            Kind::Contact => "con_",
            Kind::Note => "note_",
            Kind::Task => "task_",
            Kind::Appointment => "appt_",
        }
    }

    /// The writable fields of the kind.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Kind::Contact => CONTACT,
            Kind::Note => NOTE,
            Kind::Task => TASK,
            Kind::Appointment => APPOINTMENT,
        }
    }
}

/// The type and rules of one writable field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ty {
    /// String or null.
    Text,
    /// A non-empty string, required on create and never cleared.
    RequiredText,
    /// A syntactically valid email address, or null.
    Email,
    /// Digits with `+ - ( ) . space`, or null (E.164 preferred, not enforced).
    Phone,
    /// RFC 3339 date-time, stored in UTC with milliseconds; `required` ones are never null.
    DateTime {
        required: bool,
    },
    Bool,
    /// One of the listed strings; the first is not necessarily the default (see `Field`).
    Choice(&'static [&'static str]),
    /// A set of non-empty strings, de-duplicated case-insensitively; PATCH replaces the set.
    Tags,
    /// Any JSON object; PATCH merges keys, a `null` value removes a key.
    Object,
    /// An object of strings; merged like `Object`.
    StringMap,
}

/// One writable field: name, type and the value a new record gets when the field is omitted.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub default: Initial,
}

/// Default values, as data so the field tables stay `const`.
#[derive(Debug, Clone, Copy)]
pub enum Initial {
    Null,
    False,
    EmptyArray,
    EmptyObject,
    Str(&'static str),
}

impl Initial {
    fn value(self) -> Value {
        match self {
            Initial::Null => Value::Null,
            Initial::False => Value::Bool(false),
            Initial::EmptyArray => Value::Array(Vec::new()),
            Initial::EmptyObject => Value::Object(Map::new()),
            Initial::Str(s) => Value::String(s.to_string()),
        }
    }
}

const fn f(name: &'static str, ty: Ty, default: Initial) -> Field {
    Field { name, ty, default }
}

const TEXT: Ty = Ty::Text;
const NULL: Initial = Initial::Null;

const CONTACT: &[Field] = &[
    f("first_name", TEXT, NULL),
    f("last_name", TEXT, NULL),
    f("email", Ty::Email, NULL),
    f("phone", Ty::Phone, NULL),
    f("company_name", TEXT, NULL),
    f("address1", TEXT, NULL),
    f("city", TEXT, NULL),
    f("state", TEXT, NULL),
    f("postal_code", TEXT, NULL),
    f("country", TEXT, NULL),
    f("tags", Ty::Tags, Initial::EmptyArray),
    f("custom_fields", Ty::Object, Initial::EmptyObject),
    f("external_ids", Ty::StringMap, Initial::EmptyObject),
];
const NOTE: &[Field] = &[f("body", Ty::RequiredText, NULL)];
/// Task priorities.
pub const PRIORITIES: &[&str] = &["low", "normal", "high"];
const TASK: &[Field] = &[
    f("title", Ty::RequiredText, NULL),
    f("body", TEXT, NULL),
    f("due_at", Ty::DateTime { required: false }, NULL),
    f("completed", Ty::Bool, Initial::False),
    f("priority", Ty::Choice(PRIORITIES), Initial::Str("normal")),
    f("assigned_to", TEXT, NULL),
];
/// Appointment statuses (fields.json: "confirmed, cancelled, showed, noshow").
pub const STATUSES: &[&str] = &["confirmed", "cancelled", "showed", "noshow"];
const APPOINTMENT: &[Field] = &[
    f("title", Ty::RequiredText, NULL),
    f("start_at", Ty::DateTime { required: true }, NULL),
    f("end_at", Ty::DateTime { required: true }, NULL),
    f("status", Ty::Choice(STATUSES), Initial::Str("confirmed")),
    f("notes", TEXT, NULL),
];

/// Server-set fields: sending them is an error, so a client bug that echoes a whole record back
/// is caught rather than silently half-applied.
pub const READ_ONLY: &[&str] = &[
    "id",
    "contact_id",
    "created_at",
    "updated_at",
    "deleted_at",
    "version",
];

/// Whether a body creates a record (required fields must be present) or patches one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Create,
    Patch,
}

/// RFC 3339 UTC with milliseconds, the one timestamp format of the contract.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 timestamp (any offset) into UTC.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A deliberately plain email check: one `@`, a non-empty local part, a dotted domain, no
/// spaces. Strict enough to catch swapped fields, loose enough for real addresses.
pub fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && s.len() <= 254
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

fn valid_phone(s: &str) -> bool {
    let rest = s.strip_prefix('+').unwrap_or(s);
    rest.chars().any(|c| c.is_ascii_digit())
        && rest
            .chars()
            .all(|c| c.is_ascii_digit() || " -().".contains(c))
}

/// The normalised value of one field, or why it is not acceptable.
fn check(field: &Field, v: &Value) -> Result<Value, &'static str> {
    match (field.ty, v) {
        (Ty::RequiredText, Value::String(s)) if s.trim().is_empty() => Err("must not be empty"),
        (Ty::RequiredText, Value::String(_)) => Ok(v.clone()),
        (Ty::RequiredText, _) => Err("must be a non-empty string"),
        (_, Value::Null) if matches!(field.ty, Ty::DateTime { required: true }) => {
            Err("must be an RFC 3339 date-time")
        }
        (Ty::Bool, Value::Null) => Err("must be true or false"),
        (Ty::Choice(_) | Ty::Tags | Ty::Object | Ty::StringMap, Value::Null) => {
            Err("must not be null")
        }
        (_, Value::Null) => Ok(Value::Null),
        (Ty::Text, Value::String(_)) => Ok(v.clone()),
        (Ty::Text, _) => Err("must be a string or null"),
        (Ty::Email, Value::String(s)) if valid_email(s.trim()) => {
            Ok(Value::String(s.trim().to_string()))
        }
        (Ty::Email, _) => Err("must be a valid email address"),
        (Ty::Phone, Value::String(s)) if valid_phone(s.trim()) => {
            Ok(Value::String(s.trim().to_string()))
        }
        (Ty::Phone, _) => Err("must be a phone number (digits, +, -, (, ), spaces)"),
        (Ty::DateTime { .. }, Value::String(s)) => parse_time(s)
            .map(|t| Value::String(iso(t)))
            .ok_or("must be an RFC 3339 date-time"),
        (Ty::DateTime { .. }, _) => Err("must be an RFC 3339 date-time"),
        (Ty::Bool, Value::Bool(_)) => Ok(v.clone()),
        (Ty::Bool, _) => Err("must be true or false"),
        (Ty::Choice(options), Value::String(s)) if options.contains(&s.as_str()) => Ok(v.clone()),
        (Ty::Choice(_), _) => Err("is not one of the allowed values"),
        (Ty::Tags, Value::Array(items)) => normalise_tags(items).map(Value::Array),
        (Ty::Tags, _) => Err("must be an array of strings"),
        (Ty::Object, Value::Object(_)) => Ok(v.clone()),
        (Ty::Object, _) => Err("must be an object"),
        (Ty::StringMap, Value::Object(m)) if m.values().all(|x| x.is_string() || x.is_null()) => {
            Ok(v.clone())
        }
        (Ty::StringMap, _) => Err("must be an object of strings"),
    }
}

/// Trimmed, non-empty, first spelling kept when two differ only in case.
pub fn normalise_tags(items: &[Value]) -> Result<Vec<Value>, &'static str> {
    let mut out: Vec<Value> = Vec::new();
    for item in items {
        let Some(s) = item.as_str().map(str::trim) else {
            return Err("must be an array of strings");
        };
        if s.is_empty() {
            return Err("must not contain empty tags");
        }
        let dup = out
            .iter()
            .any(|t| t.as_str().is_some_and(|t| t.eq_ignore_ascii_case(s)));
        if !dup {
            out.push(Value::String(s.to_string()));
        }
    }
    Ok(out)
}

/// Checks a request body: every key must be a writable field of `kind` with a valid value, and
/// on create every required field must be present. Returns the normalised values, or one 422
/// naming every offending field.
pub fn validate(
    kind: Kind,
    body: &Map<String, Value>,
    mode: Mode,
) -> RestResult<Map<String, Value>> {
    let mut problems = Map::new();
    let mut out = Map::new();
    for (key, value) in body {
        let Some(field) = kind.fields().iter().find(|f| f.name == key) else {
            let why = if READ_ONLY.contains(&key.as_str()) {
                "is read-only"
            } else {
                "unknown field"
            };
            problems.insert(key.clone(), Value::String(why.into()));
            continue;
        };
        match check(field, value) {
            Ok(v) => {
                out.insert(key.clone(), v);
            }
            Err(why) => {
                problems.insert(key.clone(), Value::String(why.into()));
            }
        }
    }
    if mode == Mode::Create {
        for field in kind.fields() {
            let required = matches!(field.ty, Ty::RequiredText | Ty::DateTime { required: true });
            if required && !body.contains_key(field.name) {
                problems.insert(field.name.into(), Value::String("is required".into()));
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(RestError::invalid_fields(problems))
    }
}

/// The fields of a new record of `kind`, before the request's values are applied.
pub fn defaults(kind: Kind) -> Map<String, Value> {
    kind.fields()
        .iter()
        .map(|f| (f.name.to_string(), f.default.value()))
        .collect()
}

/// Applies validated values to a record's fields; objects merge (a `null` member removes the
/// key), everything else is replaced. Returns whether anything changed.
pub fn apply(kind: Kind, fields: &mut Map<String, Value>, changes: &Map<String, Value>) -> bool {
    let before = fields.clone();
    for (key, value) in changes {
        let merge = kind
            .fields()
            .iter()
            .any(|f| f.name == key && matches!(f.ty, Ty::Object | Ty::StringMap));
        match (merge, fields.get_mut(key), value) {
            (true, Some(Value::Object(current)), Value::Object(patch)) => {
                for (k, v) in patch {
                    if v.is_null() {
                        current.remove(k);
                    } else {
                        current.insert(k.clone(), v.clone());
                    }
                }
            }
            _ => {
                fields.insert(key.clone(), value.clone());
            }
        }
    }
    *fields != before
}

/// Rules across fields, checked on the merged record: an appointment may not end before it starts.
pub fn check_record(kind: Kind, fields: &Map<String, Value>) -> RestResult<()> {
    if kind == Kind::Appointment {
        let at = |k: &str| fields.get(k).and_then(Value::as_str).and_then(parse_time);
        if let (Some(start), Some(end)) = (at("start_at"), at("end_at")) {
            if end < start {
                return Err(RestError::invalid_field(
                    "end_at",
                    "must not be before start_at",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn emails_and_tags_normalise() {
        assert!(valid_email("a.b@example.co"));
        for bad in [
            "", "a@", "@b.c", "a b@c.d", "a@b", "a@@b.c", "a@b..c", "a@.b.c",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
        let tags = normalise_tags(&[json!(" VIP "), json!("vip"), json!("lead")]);
        assert_eq!(tags, Ok(vec![json!("VIP"), json!("lead")]));
    }

    #[test]
    fn objects_merge_and_null_removes() {
        let mut fields = defaults(Kind::Contact);
        let changes = json!({"custom_fields": {"a": 1, "b": 2}});
        let changes = changes.as_object().cloned().unwrap_or_default();
        assert!(apply(Kind::Contact, &mut fields, &changes));
        assert!(!apply(Kind::Contact, &mut fields, &changes), "no-op");
        let patch = json!({"custom_fields": {"a": null}});
        let patch = patch.as_object().cloned().unwrap_or_default();
        assert!(apply(Kind::Contact, &mut fields, &patch));
        assert_eq!(fields["custom_fields"], json!({"b": 2}));
    }
}
