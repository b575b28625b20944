//! GHL webhook deliveries → change hints.
//!
//! Verification is [`ghl::webhooks::WebhookVerifier`]'s (signature over the raw body, timestamp
//! window); de-duplication is the engine's, on `event_id` (= GHL's `webhookId`), so the verifier
//! here runs without its own memory of ids. Each of GHL's 14 contact-area events becomes one
//! hint:
//!
//! | event | hint |
//! |---|---|
//! | `ContactCreate`, `ContactUpdate`, `ContactDndUpdate`, `ContactTagUpdate` | contact `id` |
//! | `ContactDelete` | contact `id`, `deleted` |
//! | `TaskCreate`, `TaskComplete` | task `id`, parent = `contactId` |
//! | `TaskDelete` | the same, `deleted` |
//! | `NoteCreate`, `NoteUpdate` / `NoteDelete` | note, parent = `contactId` (/ `deleted`) |
//! | `AppointmentCreate`, `AppointmentUpdate` / `AppointmentDelete` | appointment `appointment.id`, parent = `appointment.contactId` (/ `deleted`) |
//!
//! No hint (an empty list, so the receiver still answers 200 and GHL does not retry):
//! `INSTALL`/`UNINSTALL` (no record changed; an uninstall kills the tokens, which the next call
//! reports as [`ConnectorError::Reconnect`]), event types this crate does not know, and events
//! of another location (one app can be installed on many locations; each connection takes only
//! its own).

use std::collections::HashMap;

use chrono::Utc;
use ghl::webhooks::{
    Signatures, VerifiedEvent, WebhookEvent, WebhookVerifier, GHL_SIGNATURE_HEADER,
    LEGACY_SIGNATURE_HEADER,
};

use crate::connector::{ChangeHint, ConnectorError};
use crate::record::EntityKind;

/// A header value by case-insensitive name (HTTP header names are case-insensitive, and
/// receivers hand them over in whatever case their framework uses).
fn header<'a>(headers: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Verifies a delivery and reads it into hints for `location_id`.
pub fn parse(
    verifier: &WebhookVerifier,
    location_id: &str,
    headers: &HashMap<String, String>,
    body: &[u8],
) -> Result<Vec<ChangeHint>, ConnectorError> {
    let sigs = Signatures::new(
        header(headers, GHL_SIGNATURE_HEADER),
        header(headers, LEGACY_SIGNATURE_HEADER),
    );
    let verified = verifier
        .verify(sigs, body, Utc::now())
        .map_err(|e| ConnectorError::BadWebhook(e.to_string()))?;
    Ok(hints(&verified, location_id))
}

/// The hints of a verified event (see the module table).
pub fn hints(v: &VerifiedEvent, location_id: &str) -> Vec<ChangeHint> {
    let e = &v.event;
    if e.location_id().is_some_and(|l| l != location_id) {
        tracing::debug!(
            event = e.event_type(),
            "GHL webhook of another location ignored"
        );
        return Vec::new();
    }
    let (kind, id, parent, deleted) = match e {
        WebhookEvent::ContactCreate(c)
        | WebhookEvent::ContactUpdate(c)
        | WebhookEvent::ContactDndUpdate(c)
        | WebhookEvent::ContactTagUpdate(c) => (EntityKind::Contact, &c.id, None, false),
        WebhookEvent::ContactDelete(c) => (EntityKind::Contact, &c.id, None, true),
        WebhookEvent::TaskCreate(t) | WebhookEvent::TaskComplete(t) => {
            (EntityKind::Task, &t.id, t.contact_id.as_ref(), false)
        }
        WebhookEvent::TaskDelete(t) => (EntityKind::Task, &t.id, t.contact_id.as_ref(), true),
        WebhookEvent::NoteCreate(n) | WebhookEvent::NoteUpdate(n) => {
            (EntityKind::Note, &n.id, n.contact_id.as_ref(), false)
        }
        WebhookEvent::NoteDelete(n) => (EntityKind::Note, &n.id, n.contact_id.as_ref(), true),
        WebhookEvent::AppointmentCreate(a) | WebhookEvent::AppointmentUpdate(a) => (
            EntityKind::Appointment,
            &a.appointment.id,
            a.appointment.contact_id.as_ref(),
            false,
        ),
        WebhookEvent::AppointmentDelete(a) => (
            EntityKind::Appointment,
            &a.appointment.id,
            a.appointment.contact_id.as_ref(),
            true,
        ),
        WebhookEvent::AppInstall(_) | WebhookEvent::AppUninstall(_) => {
            tracing::info!(
                event = e.event_type(),
                "GHL app lifecycle webhook: no record changed"
            );
            return Vec::new();
        }
        WebhookEvent::Unknown { event_type, .. } => {
            tracing::debug!(%event_type, "unknown GHL webhook type ignored");
            return Vec::new();
        }
    };
    vec![ChangeHint {
        kind,
        id: id.clone(),
        parent_id: parent.cloned(),
        deleted,
        event_id: v.webhook_id.clone().unwrap_or_default(),
        event_type: e.event_type().to_string(),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_any_case() {
        let h: HashMap<String, String> = [("X-GHL-Signature".to_string(), "abc".to_string())]
            .into_iter()
            .collect();
        assert_eq!(header(&h, "x-ghl-signature"), Some("abc"));
        assert_eq!(header(&h, "x-wh-signature"), None);
    }

    #[test]
    fn unsigned_is_refused() {
        let v = WebhookVerifier::new().without_dedup();
        let err = parse(&v, "loc", &HashMap::new(), b"{}").unwrap_err();
        assert!(matches!(err, ConnectorError::BadWebhook(_)), "{err:?}");
    }
}
