//! `/ui/audit`: what the engine did to the apps — every API call it made (connection, method,
//! path, status, latency, job) and every record it changed, field by field with the old and the
//! new value — so a user can answer "who changed this and why" without a database client.
//!
//! The rows come from the same store queries as `GET /api/v1/audit/calls` and
//! `/api/v1/audit/changes` ([`engine::store::Store::calls`] and `changes`); the filters are a
//! plain GET form, so a filtered view is a link that can be shared or bookmarked.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use engine::store::{
    CallFilter, CallRecord, ChangeFilter, ChangeRecord, FieldDiff, IdentityId, Page,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{render, Ui};

/// Rows shown when the form does not say.
const DEFAULT_LIMIT: u32 = 50;
/// Characters of a value shown in the table; the rest is behind a disclosure.
const SHORT: usize = 80;

/// The filter form's fields (all optional; blank means "any").
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct AuditQuery {
    #[serde(default)]
    connection: String,
    #[serde(default)]
    flow: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    limit: String,
    /// A person's identity (from the person page): only changes to their contact.
    #[serde(default)]
    person: String,
}

/// A filter the user typed that cannot be used: which field, and what to type instead.
#[derive(Debug, PartialEq)]
struct BadField {
    field: &'static str,
    message: String,
}

/// `since`: a time (`2026-11-25 18:00`, RFC 3339; naive times are UTC) or an age (`30m`, `24h`,
/// `7d`) counted back from `now`. Blank → no bound.
fn parse_since(raw: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, BadField> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let age = s
        .char_indices()
        .last()
        .and_then(|(i, unit)| Some((s[..i].trim().parse::<i64>().ok()?, unit)))
        .and_then(|(n, unit)| match unit {
            'm' => Some(Duration::minutes(n)),
            'h' => Some(Duration::hours(n)),
            'd' => Some(Duration::days(n)),
            _ => None,
        });
    if let Some(age) = age.filter(|a| *a >= Duration::zero()) {
        return Ok(Some(now - age));
    }
    engine::flow::parse_datetime(s, false)
        .map(Some)
        .ok_or_else(|| BadField {
            field: "since",
            message: format!(
                "Since: `{s}` is neither a time (2026-11-25 18:00, UTC) nor an age (30m, 24h, 7d)."
            ),
        })
}

/// `limit`: 1–1000 rows per table, blank → [`DEFAULT_LIMIT`].
fn parse_limit(raw: &str) -> Result<u32, BadField> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(DEFAULT_LIMIT);
    }
    s.parse::<u32>()
        .ok()
        .filter(|n| (1..=1000).contains(n))
        .ok_or_else(|| BadField {
            field: "limit",
            message: format!("Rows: `{s}` is not a number from 1 to 1000."),
        })
}

/// `person`: an identity number, blank → everyone.
fn parse_person(raw: &str) -> Result<Option<IdentityId>, BadField> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<i64>()
        .map(|i| Some(IdentityId(i)))
        .map_err(|_| BadField {
            field: "person",
            message: format!(
                "Person: `{s}` is not a person number; open the person from the People page."
            ),
        })
}

fn blank_to_none(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

/// A value of a diff as the table shows it: text as is, anything else as compact JSON; long
/// values are cut, with the whole value kept for the disclosure.
#[derive(Debug, Serialize, PartialEq)]
struct Shown {
    short: String,
    full: String,
    cut: bool,
}

fn shown(v: &Value) -> Shown {
    let full = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let cut = full.chars().count() > SHORT;
    let short = if cut {
        full.chars().take(SHORT - 1).collect::<String>() + "…"
    } else {
        full.clone()
    };
    Shown { short, full, cut }
}

/// One field of a change that really changed.
#[derive(Debug, Serialize, PartialEq)]
struct FieldRow {
    field: String,
    old: Option<Shown>,
    new: Option<Shown>,
}

/// Only the fields whose value differs (a write may restate unchanged fields).
fn changed_fields(diff: &[FieldDiff]) -> Vec<FieldRow> {
    diff.iter()
        .filter(|d| d.before != d.after)
        .map(|d| FieldRow {
            field: d.field.clone(),
            old: d.before.as_ref().map(shown),
            new: d.after.as_ref().map(shown),
        })
        .collect()
}

fn when(t: DateTime<Utc>) -> Value {
    json!({
        "iso": t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "text": t.format("%Y-%m-%d %H:%M:%S").to_string(),
    })
}

/// `ok`, `warn` or `err`: how a call's status badge is coloured.
fn status_class(status: Option<u16>) -> &'static str {
    match status {
        Some(200..=299) => "ok",
        Some(300..=399) => "",
        Some(429) => "warn",
        _ => "err",
    }
}

fn call_row(c: &CallRecord) -> Value {
    let call = &c.call;
    json!({
        "id": c.id,
        "at": when(call.at),
        "connection": call.connection_id,
        "app": call.app,
        "method": call.method,
        "path": call.path,
        "status": call.status,
        "status_class": status_class(call.status),
        "latency_ms": call.latency_ms,
        "job": call.job_id.map(|j| j.0),
    })
}

fn change_row(c: &ChangeRecord) -> Value {
    let ch = &c.change;
    json!({
        "id": c.id,
        "at": when(ch.at),
        "flow": ch.flow_id,
        "connection": ch.connection_id,
        "kind": ch.kind,
        "record": ch.external_id,
        "op": ch.op.as_str(),
        "identity": ch.identity_id.map(|i| i.0),
        "job": ch.job_id.map(|j| j.0),
        "fields": changed_fields(&ch.diff),
    })
}

/// `GET /ui/audit?connection=&flow=&since=&limit=`.
pub async fn page(State(ui): State<Arc<Ui>>, Query(q): Query<AuditQuery>) -> Response {
    let engine = &ui.app.engine;
    let mut connections: Vec<String> = ui.app.project_connections.iter().cloned().collect();
    connections.extend(engine.connectors.keys().cloned());
    connections.sort();
    connections.dedup();
    let mut flows: Vec<String> = engine.flows.iter().map(|f| f.name.clone()).collect();
    flows.sort();
    let mut ctx = json!({
        "nav": "audit",
        "q": &q,
        "connections": connections,
        "flows": flows,
        "calls": [],
        "changes": [],
        "error": null,
        "error_field": null,
    });
    let parsed = parse_since(&q.since, Utc::now())
        .and_then(|s| Ok((s, parse_limit(&q.limit)?, parse_person(&q.person)?)));
    let (since, limit, person) = match parsed {
        Ok(p) => p,
        Err(bad) => {
            ctx["error"] = json!(bad.message);
            ctx["error_field"] = json!(bad.field);
            return render::page_status(StatusCode::BAD_REQUEST, "audit.html", ctx);
        }
    };
    let page = Page { limit, offset: 0 };
    let calls = engine
        .store
        .calls(&CallFilter {
            connection_id: blank_to_none(&q.connection),
            since,
            page,
            ..Default::default()
        })
        .await;
    let changes = engine
        .store
        .changes(&ChangeFilter {
            connection_id: blank_to_none(&q.connection),
            flow_id: blank_to_none(&q.flow),
            identity_id: person,
            since,
            page,
            ..Default::default()
        })
        .await;
    match (calls, changes) {
        (Ok(calls), Ok(changes)) => {
            ctx["calls"] = calls.iter().map(call_row).collect();
            ctx["changes"] = changes.iter().map(change_row).collect();
            render::page("audit.html", ctx)
        }
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "dashboard audit: reading the store failed");
            ctx["error"] = json!(format!(
                "Reading the audit log failed: {e}. Check the database is reachable, then reload."
            ));
            render::page_status(StatusCode::INTERNAL_SERVER_ERROR, "audit.html", ctx)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn since_takes_times_and_ages() {
        let now = t("2026-11-25T20:00:00Z");
        assert_eq!(parse_since("", now), Ok(None));
        assert_eq!(parse_since("24h", now), Ok(Some(t("2026-11-24T20:00:00Z"))));
        assert_eq!(parse_since("30m", now), Ok(Some(t("2026-11-25T19:30:00Z"))));
        assert_eq!(parse_since("2d", now), Ok(Some(t("2026-11-23T20:00:00Z"))));
        assert_eq!(
            parse_since("2026-11-25T18:00", now),
            Ok(Some(t("2026-11-25T18:00:00Z")))
        );
        assert_eq!(
            parse_since("2026-11-25T18:00:00+01:00", now),
            Ok(Some(t("2026-11-25T17:00:00Z")))
        );
        let bad = parse_since("yesterday-ish", now).unwrap_err();
        assert_eq!(bad.field, "since");
        assert!(bad.message.contains("24h"), "{}", bad.message);
    }

    #[test]
    fn limit_is_bounded() {
        assert_eq!(parse_limit(""), Ok(DEFAULT_LIMIT));
        assert_eq!(parse_limit(" 5 "), Ok(5));
        assert_eq!(parse_limit("0").unwrap_err().field, "limit");
        assert_eq!(parse_limit("1001").unwrap_err().field, "limit");
        assert_eq!(parse_limit("ten").unwrap_err().field, "limit");
    }

    #[test]
    fn only_changed_fields_are_shown_and_long_values_are_cut() {
        let long = "x".repeat(200);
        let diff = vec![
            FieldDiff {
                field: "email".into(),
                before: Some(json!("a@x.com")),
                after: Some(json!("b@x.com")),
            },
            FieldDiff {
                field: "first_name".into(),
                before: Some(json!("Ada")),
                after: Some(json!("Ada")),
            },
            FieldDiff {
                field: "notes".into(),
                before: None,
                after: Some(json!(long)),
            },
            FieldDiff {
                field: "tags".into(),
                before: Some(json!(["a"])),
                after: Some(json!(["a", "b"])),
            },
        ];
        let rows = changed_fields(&diff);
        let names: Vec<&str> = rows.iter().map(|r| r.field.as_str()).collect();
        assert_eq!(names, ["email", "notes", "tags"]);
        let notes = rows[1].new.as_ref().unwrap();
        assert!(notes.cut);
        assert_eq!(notes.short.chars().count(), SHORT);
        assert_eq!(notes.full, long);
        assert!(rows[1].old.is_none());
        assert_eq!(rows[2].new.as_ref().unwrap().short, r#"["a","b"]"#);
    }

    #[test]
    fn statuses_are_coloured() {
        assert_eq!(status_class(Some(201)), "ok");
        assert_eq!(status_class(Some(429)), "warn");
        assert_eq!(status_class(Some(404)), "err");
        assert_eq!(status_class(None), "err");
    }
}
