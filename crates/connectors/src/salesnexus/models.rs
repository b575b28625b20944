//! SalesNexus JSON ⇄ canonical records ([`super::mapping`] names the fields), the content
//! hash used where a record has no `updatedAt`, and the `list_changed` cursor (how it is used:
//! `listing.rs`).

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::mapping::{self, is_meeting, COMPLETED, MEETING, PENDING};
use crate::connector::ConnectorError;
use crate::record::{EntityKind, Record};

/// Reads an API time: ISO 8601 with an offset (or none: UTC), or a bare date.
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

/// The canonical text of a time: RFC 3339 UTC, fractions only when there are any (the GHL
/// connector writes the same, so a time synced both ways compares equal).
pub fn canonical_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A scalar as text (ids are integers in SalesNexus, text in canonical records).
pub fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// 64-bit FNV-1a: a content hash that is the same in every process and release.
pub fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The content hash of a record as the API shows it (keys are sorted by serde_json).
pub fn content_hash(obj: &Map<String, Value>) -> u64 {
    fnv(serde_json::to_string(obj).unwrap_or_default().as_bytes())
}

fn bad(kind: EntityKind, what: &str) -> ConnectorError {
    ConnectorError::Transient(format!("SalesNexus answered a {kind} {what}"))
}

/// The kind a task of the API is: an appointment when its type is Meeting.
pub fn task_kind(obj: &Map<String, Value>) -> EntityKind {
    if is_meeting(obj) {
        EntityKind::Appointment
    } else {
        EntityKind::Task
    }
}

/// One API record (contact, task or note) as a canonical record of `kind`. `multi` holds the
/// (lower-cased) names of multi-select custom fields, read as lists.
pub fn record_of(
    kind: EntityKind,
    v: &Value,
    tags_field: &str,
    multi: &HashSet<String>,
) -> Result<Record, ConnectorError> {
    let obj = v
        .as_object()
        .ok_or_else(|| bad(kind, "that is not an object"))?;
    let id = obj
        .get("id")
        .and_then(text_of)
        .ok_or_else(|| bad(kind, "without an id"))?;
    let mut fields = Map::new();
    for (canonical, app) in mapping::pairs(kind) {
        let Some(v) = obj.get(*app).filter(|v| !v.is_null()) else {
            continue;
        };
        let v = match (mapping::TIME_FIELDS.contains(canonical), v.as_str()) {
            (true, Some(s)) => parse_time(s)
                .map(|t| Value::String(canonical_time(t)))
                .unwrap_or_else(|| v.clone()),
            _ => mapping::to_canonical_value(canonical, v),
        };
        fields.insert(canonical.to_string(), v);
    }
    let mut r = Record::new(kind, id, Map::new());
    match kind {
        EntityKind::Contact => {
            let custom = obj.get("customFields").and_then(Value::as_object);
            let tags_key = custom.and_then(|c| {
                c.keys()
                    .find(|k| k.eq_ignore_ascii_case(tags_field))
                    .cloned()
            });
            let tags = mapping::tags_of(tags_key.as_ref().and_then(|k| custom?.get(k)));
            fields.insert("tags".into(), Value::Array(tags));
            for (k, v) in custom.into_iter().flatten() {
                if Some(k) == tags_key.as_ref() || v.is_null() {
                    continue;
                }
                let v = if multi.contains(&k.to_lowercase()) {
                    Value::Array(mapping::tags_of(Some(v)))
                } else {
                    v.clone()
                };
                fields.insert(format!("custom.{k}"), v);
            }
        }
        EntityKind::Task => {
            let done = obj
                .get("status")
                .and_then(Value::as_str)
                .is_some_and(|s| s.trim().eq_ignore_ascii_case(COMPLETED))
                || obj.get("completedAt").is_some_and(|c| !c.is_null());
            fields.insert("completed".into(), Value::Bool(done));
            r.parent_id = obj.get("contactId").and_then(text_of);
        }
        EntityKind::Appointment | EntityKind::Note => {
            r.parent_id = obj.get("contactId").and_then(text_of);
        }
        EntityKind::Tag | EntityKind::Business => {}
    }
    r.fields = fields;
    r.updated_at = obj
        .get("updatedAt")
        .and_then(Value::as_str)
        .and_then(parse_time);
    Ok(r)
}

/// A write's body: the API's fields for the canonical ones given, and the canonical names that
/// have no place in SalesNexus (for a debug log line). `Rejected` names a field whose value
/// cannot be sent.
pub fn body_of(
    kind: EntityKind,
    fields: &Map<String, Value>,
    tags_field: &str,
) -> Result<(Map<String, Value>, Vec<String>), ConnectorError> {
    let mut body = Map::new();
    let mut custom = Map::new();
    let mut unmapped = Vec::new();
    for (name, value) in fields {
        if let Some((_, app)) = mapping::pairs(kind).iter().find(|(c, _)| c == name) {
            match mapping::to_app_value(name, value) {
                Some(v) => {
                    body.insert(app.to_string(), v);
                }
                None => unmapped.push(name.clone()),
            }
            continue;
        }
        match (kind, name.as_str()) {
            (EntityKind::Contact, "tags") => {
                let v = mapping::tags_value(value)
                    .map_err(|m| ConnectorError::Rejected(format!("SalesNexus contact: {m}")))?;
                custom.insert(tags_field.to_string(), v);
            }
            (EntityKind::Contact, n) if n.starts_with("custom.") && n.len() > 7 => {
                let key = &n[7..];
                // `tags` wins over a custom field of the same name.
                if key.eq_ignore_ascii_case(tags_field) && fields.contains_key("tags") {
                    continue;
                }
                // A list goes to a multi-select field as `"a, b"`.
                let v = match value {
                    Value::Array(_) => mapping::tags_value(value).map_err(|m| {
                        ConnectorError::Rejected(format!("SalesNexus contact {n}: {m}"))
                    })?,
                    other => other.clone(),
                };
                custom.insert(key.to_string(), v);
            }
            (EntityKind::Task, "completed") => match value {
                Value::Bool(done) => {
                    let s = if *done { COMPLETED } else { PENDING };
                    body.insert("status".into(), Value::String(s.into()));
                }
                Value::Null => {}
                other => {
                    return Err(ConnectorError::Rejected(format!(
                        "SalesNexus task: completed must be true or false, got {other}"
                    )))
                }
            },
            _ => unmapped.push(name.clone()),
        }
    }
    if !custom.is_empty() {
        body.insert("customFields".into(), Value::Object(custom));
    }
    if kind == EntityKind::Appointment {
        body.insert("type".into(), Value::String(MEETING.into()));
    }
    Ok((body, unmapped))
}

/// Buckets of the content digests kept for records without `updatedAt` (see `listing.rs`).
pub const BUCKETS: usize = 256;

/// A delivered version: id, `updatedAt` (ms) and a content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub i: String,
    pub t: i64,
    pub h: u32,
}

/// Where a `list_changed` run is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub page: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub phase2: bool,
    /// The API's clock when the run began (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t0: Option<i64>,
    /// The newest `updatedAt` seen (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Ids read on the last pages, skipped when read again after a shift.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent: Vec<Vec<String>>,
    /// Delivered in this run, near the future watermark.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nd: Vec<Seen>,
    /// Bucket digests being built (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nb: Option<String>,
    /// Buckets whose records the second pass delivers (hex bit set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<String>,
}

/// The `list_changed` cursor (how it works: `listing.rs`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChangeCursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub w: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub d: Vec<Seen>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
}

impl ChangeCursor {
    /// This connector's JSON, a bare RFC 3339 time to start from, or nothing.
    pub fn parse(s: Option<&str>) -> Result<Self, ConnectorError> {
        let bad =
            |e: String| ConnectorError::Rejected(format!("not a SalesNexus change cursor: {e}"));
        match s.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(Self::default()),
            Some(s) if s.starts_with('{') => {
                serde_json::from_str(s).map_err(|e| bad(e.to_string()))
            }
            Some(s) => parse_time(s)
                .map(|t| Self {
                    w: Some(t.timestamp_millis()),
                    ..Self::default()
                })
                .ok_or_else(|| bad(s.to_string())),
        }
    }
}

pub fn hex_of(v: &[u64]) -> String {
    v.iter().map(|x| format!("{x:016x}")).collect()
}

pub fn from_hex(s: &str) -> Vec<u64> {
    let mut out: Vec<u64> = (0..s.len() / 16)
        .map(|i| u64::from_str_radix(&s[i * 16..i * 16 + 16], 16).unwrap_or(0))
        .collect();
    out.resize(BUCKETS, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn contacts_read_and_write() {
        let app = json!({"id": 1001, "firstName": "Ada", "lastName": null, "company": "Engines",
            "zip": "N1", "managerUserId": 2, "updatedAt": "2026-02-20T14:22:00Z",
            "customFields": {"tags": "vip, board", "Lead Source": "Referral", "Empty": null,
                "Interests": "Land, Retail"}});
        let multi = HashSet::from(["interests".to_string()]);
        let r = record_of(EntityKind::Contact, &app, "Tags", &multi).unwrap();
        assert_eq!(r.id, "1001");
        assert_eq!(
            Value::Object(r.fields.clone()),
            json!({"first_name": "Ada", "company_name": "Engines", "postal_code": "N1",
                "x.manager_user_id": "2", "tags": ["vip", "board"], "custom.Lead Source": "Referral",
                "custom.Interests": ["Land", "Retail"]})
        );
        assert_eq!(r.updated_at, parse_time("2026-02-20T14:22:00Z"));
        let (body, unmapped) = body_of(EntityKind::Contact, &r.fields, "Tags").unwrap();
        assert_eq!(
            Value::Object(body),
            json!({"firstName": "Ada", "company": "Engines", "zip": "N1", "managerUserId": 2,
                "customFields": {"Tags": "vip, board", "Lead Source": "Referral",
                "Interests": "Land, Retail"}})
        );
        assert!(unmapped.is_empty());
        let mut f = r.fields.clone();
        f.insert("website".into(), json!("https://x"));
        f.insert("dnd".into(), json!(true));
        let (_, unmapped) = body_of(EntityKind::Contact, &f, "Tags").unwrap();
        assert_eq!(unmapped, ["dnd", "website"]);
    }

    #[test]
    fn tasks_and_meetings_read_and_write() {
        let task = json!({"id": 5, "title": "Call", "details": null, "type": "Call",
            "status": "Completed", "dateTo": "2026-03-01T15:00:00+01:00", "contactId": 9,
            "assignedToUserId": 1, "completedAt": "2026-03-02T00:00:00Z"});
        let obj = task.as_object().unwrap();
        assert_eq!(task_kind(obj), EntityKind::Task);
        let r = record_of(EntityKind::Task, &task, "Tags", &HashSet::new()).unwrap();
        assert_eq!(r.parent_id.as_deref(), Some("9"));
        assert_eq!(r.fields["due_at"], "2026-03-01T14:00:00Z");
        assert_eq!(r.fields["completed"], true);
        assert_eq!(r.fields["assigned_to"], "1");
        let (body, _) = body_of(EntityKind::Task, &r.fields, "Tags").unwrap();
        assert_eq!(body["status"], "Completed");
        assert_eq!(body["dateTo"], "2026-03-01T14:00:00Z");
        let f = json!({"title": "Demo", "start_at": "2026-03-01T15:00:00Z", "end_at": "2026-03-01T16:00:00Z",
            "status": "confirmed"});
        let (body, unmapped) =
            body_of(EntityKind::Appointment, f.as_object().unwrap(), "Tags").unwrap();
        assert_eq!(body["type"], "Meeting");
        assert_eq!(body["dateFrom"], "2026-03-01T15:00:00Z");
        assert_eq!(unmapped, ["status"]);
        assert!(body_of(
            EntityKind::Task,
            json!({"completed": "yes"}).as_object().unwrap(),
            "T"
        )
        .is_err());
        assert_ne!(content_hash(obj), content_hash(&Map::new()));
        assert_eq!(fnv(b""), 0xcbf2_9ce4_8422_2325);
    }

    #[test]
    fn cursors_parse_and_digests_round_trip() {
        assert_eq!(ChangeCursor::parse(None).unwrap(), ChangeCursor::default());
        let c = ChangeCursor::parse(Some("2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(c.w, Some(1_767_225_600_000));
        assert!(ChangeCursor::parse(Some("later")).is_err());
        let mut v = vec![0u64; BUCKETS];
        v[3] = u64::MAX;
        v[255] = 42;
        let h = hex_of(&v);
        assert_eq!(h.len(), BUCKETS * 16);
        assert_eq!(from_hex(&h), v);
        let text = serde_json::to_string(&ChangeCursor {
            w: Some(5),
            d: vec![Seen {
                i: "1".into(),
                t: 5,
                h: 7,
            }],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(text, r#"{"w":5,"d":[{"i":"1","t":5,"h":7}]}"#);
    }
}
