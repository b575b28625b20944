//! The app's records ⇄ canonical records, and the connector's own cursors.
//!
//! A record's id, parent, `updated_at`, tombstone and version live under the names of
//! [`RecordConfig`]; its fields go through the kind's table ([`super::mapping`]). The version is
//! handed to the engine as `x.version`, and handed back on an update to become `If-Match`.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::config::{KindConfig, RecordConfig};
use super::mapping::{get_path, to_app, to_canonical};
use crate::connector::ConnectorError;
use crate::record::{EntityKind, Record};

/// Canonical field carrying the app's record version.
pub const VERSION_FIELD: &str = "x.version";

/// Canonical fields holding a time, normalised to RFC 3339 UTC when read.
const TIME_FIELDS: &[&str] = &["due_at", "start_at", "end_at"];

/// An app time: RFC 3339, or `YYYY-MM-DD HH:MM:SS` (read as UTC).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// A scalar as text (ids may be numbers in other apps).
pub fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One app record (a JSON object) as a canonical record.
pub fn record_of(
    kind: EntityKind,
    kc: &KindConfig,
    rc: &RecordConfig,
    app: &Value,
) -> Result<Record, ConnectorError> {
    let obj = app.as_object().ok_or_else(|| {
        ConnectorError::Transient(format!("the app answered a {kind} that is not an object"))
    })?;
    let id = get_path(obj, &rc.id_field)
        .and_then(text_of)
        .ok_or_else(|| {
            ConnectorError::Transient(format!("the app answered a {kind} without {}", rc.id_field))
        })?;
    let mut fields = to_canonical(&kc.fields, obj);
    for name in TIME_FIELDS {
        if let Some(Value::String(s)) = fields.get(*name) {
            if let Some(t) = parse_time(s) {
                let norm = t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
                fields.insert((*name).to_string(), Value::String(norm));
            }
        }
    }
    if let Some(v) = rc.version_field.as_deref().and_then(|f| get_path(obj, f)) {
        if !v.is_null() {
            fields.insert(VERSION_FIELD.into(), v.clone());
        }
    }
    let mut r = Record::new(kind, id, fields);
    if kind.has_parent() {
        r.parent_id = get_path(obj, &rc.parent_field).and_then(text_of);
    }
    r.updated_at = get_path(obj, &rc.updated_at_field)
        .and_then(Value::as_str)
        .and_then(parse_time);
    r.deleted = rc
        .deleted_at_field
        .as_deref()
        .and_then(|f| get_path(obj, f))
        .is_some_and(|v| !v.is_null());
    Ok(r)
}

/// The records of a list answer at `data_key` (empty: the answer itself is the list).
pub fn data_of<'a>(answer: &'a Value, data_key: &str) -> Result<&'a Vec<Value>, ConnectorError> {
    let list = if data_key.is_empty() {
        Some(answer)
    } else {
        answer.as_object().and_then(|o| get_path(o, data_key))
    };
    list.and_then(Value::as_array).ok_or_else(|| {
        ConnectorError::Transient(format!(
            "the app's list answer has no array at {data_key:?}"
        ))
    })
}

/// Canonical fields → the app's request body; the version and fields the kind's table does not
/// name are left out (and returned, for a log line).
pub fn body_of(kc: &KindConfig, fields: &Map<String, Value>) -> (Map<String, Value>, Vec<String>) {
    let mut fields = fields.clone();
    fields.remove(VERSION_FIELD);
    to_app(&kc.fields, &fields)
}

/// The version an update was based on, as an `If-Match` value.
pub fn version_of(fields: &Map<String, Value>) -> Option<String> {
    fields.get(VERSION_FIELD).and_then(text_of)
}

/// Where the next page of a list starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageToken {
    Cursor(String),
    Page(u64),
    Offset(u64),
}

/// A `list_all` cursor: the next page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanCursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<PageToken>,
}

/// A version delivered near the cursor, so a re-read of the margin does not deliver it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    pub id: String,
    pub at: DateTime<Utc>,
}

/// A `list_changed` cursor. A run lists `updated_since = from − overlap` page by page (`page`);
/// when it ends, `from` moves to the newest `updated_at` delivered and `recent` keeps what was
/// delivered in the margin before it, because `updated_since` is inclusive and re-reads those.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncCursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<PageToken>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent: Vec<Seen>,
}

impl SyncCursor {
    /// Reads a cursor string: this connector's JSON, or a bare RFC 3339 time to start from.
    pub fn parse(s: Option<&str>) -> Result<Self, ConnectorError> {
        let bad =
            |e: String| ConnectorError::Rejected(format!("not a cursor of this connector: {e}"));
        match s.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(Self::default()),
            Some(s) if s.starts_with('{') => {
                serde_json::from_str(s).map_err(|e| bad(e.to_string()))
            }
            Some(s) => parse_time(s)
                .map(|t| Self {
                    from: Some(t),
                    ..Self::default()
                })
                .ok_or_else(|| bad(s.to_string())),
        }
    }

    /// Whether this version was delivered already (in this run or in the margin before it).
    pub fn seen(&self, r: &Record) -> bool {
        r.updated_at
            .is_some_and(|at| self.recent.iter().any(|s| s.id == r.id && s.at >= at))
    }

    /// Records a delivered version, keeping only those within `overlap` of the newest.
    pub fn deliver(&mut self, r: &Record, overlap: chrono::Duration) {
        let Some(at) = r.updated_at else {
            return;
        };
        self.newest = Some(self.newest.map_or(at, |n| n.max(at)));
        self.recent.retain(|s| s.id != r.id);
        self.recent.push(Seen {
            id: r.id.clone(),
            at,
        });
        if let Some(newest) = self.newest {
            self.recent.retain(|s| s.at >= newest - overlap);
        }
    }

    /// The run ended: the next one starts at the newest version delivered.
    pub fn finish(&mut self) {
        self.page = None;
        if self.newest.is_some() {
            self.from = self.newest.max(self.from);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::your_app::config::YourAppConfig;
    use serde_json::json;

    #[test]
    fn app_record_reads_and_writes() {
        let c = YourAppConfig::default_for("http://x/v1", "k");
        let kc = &c.kinds[&EntityKind::Task];
        let app = json!({"id": "task_1", "contact_id": "con_1", "title": "T", "body": null,
            "due_at": "2030-01-02T03:04:05.000Z", "completed": false, "priority": "normal",
            "updated_at": "2025-01-01T00:00:00.000Z", "deleted_at": "2025-01-02T00:00:00.000Z",
            "version": 3});
        let r = record_of(EntityKind::Task, kc, &c.record, &app).unwrap();
        assert_eq!(r.parent_id.as_deref(), Some("con_1"));
        assert!(r.deleted);
        assert_eq!(
            Value::Object(r.fields.clone()),
            json!({"title": "T", "due_at": "2030-01-02T03:04:05Z", "completed": false, "x.version": 3})
        );
        assert_eq!(version_of(&r.fields).as_deref(), Some("3"));
        let (body, unmapped) = body_of(kc, &r.fields);
        assert_eq!(
            Value::Object(body),
            json!({"title": "T", "due_at": "2030-01-02T03:04:05Z", "completed": false})
        );
        assert!(unmapped.is_empty());
    }

    #[test]
    fn sync_cursor_skips_what_it_delivered() {
        let mut c = SyncCursor::parse(Some("2025-01-01T00:00:00Z")).unwrap();
        let mut r = Record::new(EntityKind::Contact, "a", Map::new());
        r.updated_at = parse_time("2025-02-01T00:00:00Z");
        assert!(!c.seen(&r));
        c.deliver(&r, chrono::Duration::zero());
        assert!(c.seen(&r));
        c.finish();
        assert_eq!(c.from, r.updated_at);
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(SyncCursor::parse(Some(&text)).unwrap(), c);
        assert!(SyncCursor::parse(Some("soon")).is_err());
    }
}
