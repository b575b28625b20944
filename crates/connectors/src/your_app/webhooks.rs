//! Webhook deliveries → change hints, after checking the HMAC signature and the timestamp.
//!
//! Why each check: the signature (HMAC-SHA256 over `timestamp + "." + raw body` with the shared
//! secret) proves the app sent exactly these bytes; the timestamp, signed with them, must be
//! within `tolerance_secs` of now, so a captured delivery cannot be replayed later. Duplicates
//! within the window are the engine's to drop, on `event_id` (the `X-Event-Id` header, else the
//! body's `id`).
//!
//! The event type is `<event_name>.<action>` (`contact.updated`, `note.deleted`); the kind is
//! the one whose `event_name` matches, the record is at `data_field`, and an action listed in
//! `deleted_actions` (or a set `deleted_at`) marks a delete. Unknown kinds give no hint.

use std::collections::HashMap;

use aws_lc_rs::hmac;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::config::{WebhookConfig, YourAppConfig};
use super::mapping::get_path;
use super::models::text_of;
use crate::connector::{ChangeHint, ConnectorError};

fn bad(m: impl Into<String>) -> ConnectorError {
    ConnectorError::BadWebhook(m.into())
}

/// A header value by case-insensitive name.
fn header<'a>(headers: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `<prefix><hex HMAC-SHA256(secret, timestamp + "." + body)>`, as the app sends it.
pub fn sign(secret: &str, prefix: &str, timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    let hex: String = ctx
        .sign()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{prefix}{hex}")
}

/// Checks the signature and the timestamp (against `now`), then reads the hints.
pub fn parse(
    cfg: &YourAppConfig,
    w: &WebhookConfig,
    headers: &HashMap<String, String>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Vec<ChangeHint>, ConnectorError> {
    let sig = header(headers, &w.signature_header)
        .ok_or_else(|| bad(format!("no {} header", w.signature_header)))?;
    let hex = sig
        .strip_prefix(w.signature_prefix.as_str())
        .ok_or_else(|| {
            bad(format!(
                "{} does not start with {:?}",
                w.signature_header, w.signature_prefix
            ))
        })?;
    let mac = unhex(hex).ok_or_else(|| bad(format!("{} is not hex", w.signature_header)))?;
    let ts_text = header(headers, &w.timestamp_header)
        .ok_or_else(|| bad(format!("no {} header", w.timestamp_header)))?;
    let ts: i64 = ts_text
        .parse()
        .map_err(|_| bad(format!("{} is not Unix seconds", w.timestamp_header)))?;
    let mut signed = Vec::with_capacity(ts_text.len() + 1 + body.len());
    signed.extend_from_slice(ts_text.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    let key = hmac::Key::new(hmac::HMAC_SHA256, w.secret.expose().as_bytes());
    hmac::verify(&key, &signed, &mac)
        .map_err(|_| bad("the signature does not match the body under the configured secret"))?;
    let age = now.timestamp() - ts;
    if age.unsigned_abs() > w.tolerance_secs {
        return Err(bad(format!(
            "timestamp {ts} is {age} s from now, more than the {} s allowed",
            w.tolerance_secs
        )));
    }
    let json: Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    let obj = json
        .as_object()
        .ok_or_else(|| bad("the body is not a JSON object"))?;
    let event_type = get_path(obj, &w.type_field)
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("no {} in the body", w.type_field)))?;
    let (name, action) = event_type.rsplit_once('.').unwrap_or((event_type, ""));
    let Some((&kind, _)) = cfg.kinds.iter().find(|(_, k)| k.event_name == name) else {
        tracing::debug!(
            event_type,
            app = cfg.app,
            "webhook of an unknown kind ignored"
        );
        return Ok(Vec::new());
    };
    let data = get_path(obj, &w.data_field)
        .and_then(Value::as_object)
        .ok_or_else(|| bad(format!("no object at {}", w.data_field)))?;
    let id = get_path(data, &cfg.record.id_field)
        .and_then(text_of)
        .ok_or_else(|| bad(format!("the record has no {}", cfg.record.id_field)))?;
    let tombstone = cfg
        .record
        .deleted_at_field
        .as_deref()
        .and_then(|f| get_path(data, f))
        .is_some_and(|v| !v.is_null());
    let event_id = header(headers, &w.event_id_header)
        .map(str::to_string)
        .or_else(|| obj.get("id").and_then(text_of))
        .ok_or_else(|| bad(format!("no {} header and no event id", w.event_id_header)))?;
    Ok(vec![ChangeHint {
        kind,
        id,
        parent_id: kind
            .has_parent()
            .then(|| get_path(data, &cfg.record.parent_field).and_then(text_of))
            .flatten(),
        deleted: tombstone || w.deleted_actions.iter().any(|a| a == action),
        event_id,
        event_type: event_type.to_string(),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::EntityKind;

    #[test]
    fn signed_deliveries_verify_and_others_do_not() {
        let cfg = YourAppConfig::default_for("http://x/v1", "k").with_webhook_secret("s3");
        let w = cfg.webhooks.clone().unwrap_or_default();
        let body = br#"{"id":"evt_1","type":"note.deleted","data":{"id":"note_1","contact_id":"con_1","deleted_at":null}}"#;
        let now = Utc::now();
        let ts = now.timestamp();
        let headers = |sig: String, ts: i64| -> HashMap<String, String> {
            [("x-signature", sig), ("x-timestamp", ts.to_string())]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect()
        };
        let ok = parse(
            &cfg,
            &w,
            &headers(sign("s3", "sha256=", ts, body), ts),
            body,
            now,
        )
        .unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(
            (ok[0].kind, ok[0].id.as_str(), ok[0].deleted),
            (EntityKind::Note, "note_1", true)
        );
        assert_eq!(
            (ok[0].parent_id.as_deref(), ok[0].event_id.as_str()),
            (Some("con_1"), "evt_1")
        );
        let wrong = parse(
            &cfg,
            &w,
            &headers(sign("nope", "sha256=", ts, body), ts),
            body,
            now,
        );
        assert!(matches!(wrong, Err(ConnectorError::BadWebhook(_))));
        let old = ts - 301;
        let stale = parse(
            &cfg,
            &w,
            &headers(sign("s3", "sha256=", old, body), old),
            body,
            now,
        );
        assert!(matches!(stale, Err(ConnectorError::BadWebhook(m)) if m.contains("301")));
        assert_eq!(unhex("0aFf"), Some(vec![10, 255]));
        assert_eq!(unhex("0g"), None);
    }
}
