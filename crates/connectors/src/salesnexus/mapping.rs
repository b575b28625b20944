//! Default field mapping: canonical ⇄ SalesNexus Public API v1 names (spec/salesnexus/API.md).
//!
//! | kind | canonical | SalesNexus |
//! |---|---|---|
//! | contact | `first_name, last_name, email, phone, company_name, address1, city, state, postal_code, country` | `firstName, lastName, email, phone, company, address, city, state, zip, country` |
//! | contact | `tags` (list) | `customFields.<tags_field>` (`"a, b"`; default field `Tags`) |
//! | contact | `custom.<Name>` | `customFields.<Name>` (unknown names are created by SalesNexus as Character fields) |
//! | contact | `x.title`, `x.manager_user_id` | `title` (job title), `managerUserId` |
//! | task | `title, body, due_at, completed, assigned_to` | `title, details, dateTo, status == "Completed", assignedToUserId` |
//! | appointment | `title, start_at, end_at, notes, assigned_to` | a task with `type: "Meeting"`: `title, dateFrom, dateTo, details, assignedToUserId` |
//! | task, appointment | `x.type`, `x.priority`, `x.color` | `type`, `priority`, `color` |
//! | note | `body` | `noteText` |
//!
//! Not carried (SalesNexus has no place for them): a contact's `website`, `timezone`, `source`,
//! `dnd`, `business_id` (no company object: `company_name` is a plain string); a note's
//! `title`; an appointment's `status` and `address`. They are left out of writes and logged at
//! debug level, never refused.

use serde_json::{Map, Value};

use crate::record::EntityKind;

/// A plain one-to-one field.
pub type Pair = (&'static str, &'static str);

/// Contact fields besides tags and custom fields.
pub const CONTACT: &[Pair] = &[
    ("first_name", "firstName"),
    ("last_name", "lastName"),
    ("email", "email"),
    ("phone", "phone"),
    ("company_name", "company"),
    ("address1", "address"),
    ("city", "city"),
    ("state", "state"),
    ("postal_code", "zip"),
    ("country", "country"),
    ("x.title", "title"),
    ("x.manager_user_id", "managerUserId"),
];

/// Task fields besides `completed`.
pub const TASK: &[Pair] = &[
    ("title", "title"),
    ("body", "details"),
    ("due_at", "dateTo"),
    ("assigned_to", "assignedToUserId"),
    ("x.type", "type"),
    ("x.priority", "priority"),
    ("x.color", "color"),
];

/// Appointment (Meeting task) fields.
pub const APPOINTMENT: &[Pair] = &[
    ("title", "title"),
    ("start_at", "dateFrom"),
    ("end_at", "dateTo"),
    ("notes", "details"),
    ("assigned_to", "assignedToUserId"),
    ("x.priority", "priority"),
    ("x.color", "color"),
];

/// Note fields.
pub const NOTE: &[Pair] = &[("body", "noteText")];

/// The task type that makes a task an appointment.
pub const MEETING: &str = "Meeting";
/// The task status that means done.
pub const COMPLETED: &str = "Completed";
/// The status a task gets back when un-completed.
pub const PENDING: &str = "Pending";

/// Canonical fields holding an id that SalesNexus keeps as an integer.
const INT_FIELDS: &[&str] = &["assigned_to", "x.manager_user_id"];
/// Canonical fields holding a date-time.
pub const TIME_FIELDS: &[&str] = &["due_at", "start_at", "end_at"];

/// The plain fields of a kind.
pub fn pairs(kind: EntityKind) -> &'static [Pair] {
    match kind {
        EntityKind::Contact => CONTACT,
        EntityKind::Task => TASK,
        EntityKind::Appointment => APPOINTMENT,
        EntityKind::Note => NOTE,
        EntityKind::Tag | EntityKind::Business => &[],
    }
}

/// Whether a task (as the API shows it) is a meeting, i.e. an appointment.
pub fn is_meeting(task: &Map<String, Value>) -> bool {
    task.get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(MEETING))
}

/// The tags held in the tags field's value (`"a, b"`, or a list).
pub fn tags_of(v: Option<&Value>) -> Vec<Value> {
    match v {
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| Value::String(t.to_string()))
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| Value::String(t.to_string()))
            .collect(),
        _ => Vec::new(),
    }
}

/// The tags field's value for a canonical `tags` list (`""` clears it). Tags holding a comma
/// cannot be told apart from two tags: the comma is replaced by a space.
pub fn tags_value(v: &Value) -> Result<Value, String> {
    let list = match v {
        Value::Null => Vec::new(),
        Value::Array(a) => a.clone(),
        Value::String(s) => vec![Value::String(s.clone())],
        other => return Err(format!("tags must be a list of texts, got {other}")),
    };
    let mut out: Vec<String> = Vec::new();
    for t in list {
        let t = t
            .as_str()
            .ok_or_else(|| format!("tags must be texts, got {t}"))?
            .replace(',', " ");
        let t = t.trim();
        if !t.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(t)) {
            out.push(t.to_string());
        }
    }
    Ok(Value::String(out.join(", ")))
}

/// A canonical value as SalesNexus takes it for `canonical`: ids as integers when they are
/// integers (a non-integer id, e.g. another app's user id, cannot be sent: `None`).
pub fn to_app_value(canonical: &str, v: &Value) -> Option<Value> {
    if !INT_FIELDS.contains(&canonical) {
        return Some(v.clone());
    }
    match v {
        Value::Null | Value::Number(_) => Some(v.clone()),
        Value::String(s) => s.trim().parse::<i64>().ok().map(Value::from),
        _ => None,
    }
}

/// A value as the canonical record holds it: ids as text, like every other app's ids.
pub fn to_canonical_value(canonical: &str, v: &Value) -> Value {
    match v {
        Value::Number(n) if INT_FIELDS.contains(&canonical) => Value::String(n.to_string()),
        _ => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tags_round_trip_through_one_text() {
        let v = tags_value(&json!(["vip", "Board member", "VIP", "a,b", " "])).unwrap();
        assert_eq!(v, json!("vip, Board member, a b"));
        assert_eq!(
            tags_of(Some(&v)),
            vec![json!("vip"), json!("Board member"), json!("a b")]
        );
        assert_eq!(tags_value(&Value::Null).unwrap(), json!(""));
        assert!(tags_of(Some(&json!(""))).is_empty());
        assert!(tags_value(&json!([1])).is_err());
        assert_eq!(to_app_value("assigned_to", &json!("12")), Some(json!(12)));
        assert_eq!(to_app_value("assigned_to", &json!("usr_x")), None);
        assert_eq!(to_canonical_value("assigned_to", &json!(12)), json!("12"));
        assert!(is_meeting(json!({"type": "meeting"}).as_object().unwrap()));
    }
}
