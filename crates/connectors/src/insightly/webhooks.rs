//! Insightly workflow posts → change hints (optional).
//!
//! Insightly's API has no webhook subscriptions. A person can set up a workflow automation
//! that POSTs a record to a URL when it is added or updated: the body is
//! `{"entity": {<FIELD>: value, …}}` with .NET dates (`"/Date(1489116850787-0800)/"`), and the
//! only protection Insightly offers is optional Basic auth (support.insight.ly article
//! 115004250428). So a post is only a hint to re-read the record, never its truth, and polling
//! stays the way changes are found; a post just finds them sooner.
//!
//! The kind is told by the id field the entity carries (`CONTACT_ID`, `TASK_ID`, `NOTE_ID`,
//! `EVENT_ID`, then `ORGANISATION_ID`, which contacts carry too). With a `webhook_secret`
//! configured, the post must carry `Authorization: Basic base64(<any user>:<secret>)`. The event
//! id is `<kind>:<id>:<DATE_UPDATED_UTC>`, so a repeated post of one version is dropped by the
//! engine while the next version is not.

use std::collections::HashMap;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use serde_json::Value;

use super::models::{contact_link, id_text};
use crate::connector::{ChangeHint, ConnectorError};
use crate::record::EntityKind;
use crate::your_app::config::SecretString;

fn bad(m: impl Into<String>) -> ConnectorError {
    ConnectorError::BadWebhook(m.into())
}

/// Standard base64 (padding optional) → bytes; `None` on any other character.
fn unbase64(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let digits = s.trim().trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c)? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

fn header<'a>(headers: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// The milliseconds of a .NET date (`/Date(1489116850787-0800)/`; the offset is only how the
/// sender displays it, the number is UTC), or the text itself for any other form.
pub fn stamp_of(v: &Value) -> Option<String> {
    let s = v.as_str()?.trim();
    let inner = s.strip_prefix("/Date(").and_then(|r| r.strip_suffix(")/"));
    match inner {
        Some(i) => {
            let end = i[1..].find(['+', '-']).map_or(i.len(), |p| p + 1);
            Some(i[..end].to_string())
        }
        None => Some(s.to_string()),
    }
}

/// Checks the optional Basic auth, then reads the hint.
pub fn parse(
    secret: Option<&SecretString>,
    headers: &HashMap<String, String>,
    body: &[u8],
) -> Result<Vec<ChangeHint>, ConnectorError> {
    if let Some(secret) = secret {
        let auth =
            header(headers, "authorization").ok_or_else(|| bad("no Authorization header"))?;
        let token = auth
            .strip_prefix("Basic ")
            .or_else(|| auth.strip_prefix("basic "))
            .ok_or_else(|| bad("Authorization is not Basic"))?;
        let decoded = unbase64(token).ok_or_else(|| bad("Authorization is not base64"))?;
        let password = decoded
            .iter()
            .position(|b| *b == b':')
            .map_or(&decoded[..0], |i| &decoded[i + 1..]);
        verify_slices_are_equal(password, secret.expose().as_bytes())
            .map_err(|_| bad("the Basic-auth password is not the configured webhook secret"))?;
    }
    let json: Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    let entity = json
        .get("entity")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("no `entity` object in the body"))?;
    let kinds = [
        ("CONTACT_ID", EntityKind::Contact),
        ("TASK_ID", EntityKind::Task),
        ("NOTE_ID", EntityKind::Note),
        ("EVENT_ID", EntityKind::Appointment),
        ("ORGANISATION_ID", EntityKind::Business),
    ];
    let Some((kind, id)) = kinds
        .iter()
        .find_map(|(field, kind)| Some((*kind, entity.get(*field).and_then(id_text)?)))
    else {
        tracing::debug!("workflow post of an object this connector does not sync; ignored");
        return Ok(Vec::new());
    };
    let stamp = entity
        .get("DATE_UPDATED_UTC")
        .and_then(stamp_of)
        .unwrap_or_default();
    Ok(vec![ChangeHint {
        kind,
        parent_id: kind
            .has_parent()
            .then(|| contact_link(&Value::Object(entity.clone())))
            .flatten(),
        deleted: false,
        event_id: format!("{kind}:{id}:{stamp}"),
        event_type: "workflow".into(),
        id,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(auth: Option<String>) -> HashMap<String, String> {
        auth.into_iter()
            .map(|a| ("Authorization".to_string(), a))
            .collect()
    }

    #[test]
    fn posts_become_hints_and_the_secret_is_checked() {
        let body = br#"{"entity": {"TASK_ID": 12, "TITLE": "x", "DATE_UPDATED_UTC": "/Date(1489116850787-0800)/",
            "LINKS": [{"LINK_OBJECT_NAME": "Contact", "LINK_OBJECT_ID": 7}]}}"#;
        let hints = parse(None, &h(None), body).unwrap();
        assert_eq!(hints.len(), 1);
        assert_eq!(
            (hints[0].kind, hints[0].id.as_str()),
            (EntityKind::Task, "12")
        );
        assert_eq!(hints[0].parent_id.as_deref(), Some("7"));
        assert_eq!(hints[0].event_id, "task:12:1489116850787");
        let secret = SecretString::new("s3");
        // base64("insightly:s3") and base64("insightly:s4")
        let good = "Basic aW5zaWdodGx5OnMz".to_string();
        assert_eq!(
            unbase64("aW5zaWdodGx5OnMz").as_deref(),
            Some(&b"insightly:s3"[..])
        );
        assert_eq!(unbase64("YQ").as_deref(), Some(&b"a"[..]));
        assert_eq!(parse(Some(&secret), &h(Some(good)), body).unwrap().len(), 1);
        let wrong = "Basic aW5zaWdodGx5OnM0".to_string();
        assert!(matches!(
            parse(Some(&secret), &h(Some(wrong)), body),
            Err(ConnectorError::BadWebhook(_))
        ));
        assert!(parse(Some(&secret), &h(None), body).is_err());
        let org = br#"{"entity": {"ORGANISATION_ID": 3, "ORGANISATION_NAME": "A"}}"#;
        assert_eq!(
            parse(None, &h(None), org).unwrap()[0].kind,
            EntityKind::Business
        );
        let contact = br#"{"entity": {"CONTACT_ID": 4, "ORGANISATION_ID": 3}}"#;
        assert_eq!(
            parse(None, &h(None), contact).unwrap()[0].kind,
            EntityKind::Contact
        );
        assert!(parse(None, &h(None), br#"{"x": 1}"#).is_err());
        assert!(parse(None, &h(None), br#"{"entity": {"LEAD_ID": 1}}"#)
            .unwrap()
            .is_empty());
    }
}
