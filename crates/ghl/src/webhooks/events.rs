//! The webhook events of the contact area, typed after GHL's examples
//! (`spec/ghl/webhook-events/*.json`), plus the app lifecycle events.
//!
//! GHL may leave fields out of a payload, so every field is optional except those GHL always
//! sends (`type`, `locationId`, the object's `id`); fields not modelled are kept in `extra`. An
//! event type this crate does not know is kept as [`WebhookEvent::Unknown`], never rejected:
//! GHL adds event types, and refusing them would make GHL count the deliveries as failed.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::WebhookError;

/// A value of a custom field, as contact events carry them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomFieldValue {
    pub id: String,
    #[serde(default)]
    pub value: Value,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One channel of `dndSettings` (`SMS`, `Email`, `Call`, `WhatsApp`, `GMB`, `FB` …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DndSetting {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of `ContactCreate`, `ContactUpdate`, `ContactDelete`, `ContactDndUpdate` and
/// `ContactTagUpdate`: the contact as it is after the change. Dates are kept as GHL's strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactEvent {
    pub location_id: String,
    pub id: String,
    pub address1: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub company_name: Option<String>,
    pub country: Option<String>,
    pub source: Option<String>,
    pub date_added: Option<String>,
    pub date_of_birth: Option<String>,
    pub dnd: Option<bool>,
    /// Only `ContactDndUpdate` carries it.
    pub dnd_settings: Option<BTreeMap<String, DndSetting>>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub postal_code: Option<String>,
    pub tags: Option<Vec<String>>,
    pub website: Option<String>,
    pub attachments: Option<Vec<Value>>,
    pub assigned_to: Option<String>,
    pub custom_fields: Option<Vec<CustomFieldValue>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of `NoteCreate`, `NoteUpdate` and `NoteDelete`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NoteEvent {
    pub location_id: String,
    pub id: String,
    pub body: Option<String>,
    pub contact_id: Option<String>,
    pub date_added: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of `TaskCreate`, `TaskComplete` and `TaskDelete`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskEvent {
    pub location_id: String,
    pub id: String,
    pub assigned_to: Option<String>,
    pub body: Option<String>,
    pub contact_id: Option<String>,
    pub title: Option<String>,
    pub date_added: Option<String>,
    pub due_date: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `appointment` object of appointment events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentPayload {
    pub id: String,
    pub address: Option<String>,
    pub title: Option<String>,
    pub calendar_id: Option<String>,
    pub contact_id: Option<String>,
    pub group_id: Option<String>,
    pub appointment_status: Option<String>,
    pub assigned_user_id: Option<String>,
    pub users: Option<Vec<String>>,
    pub notes: Option<String>,
    pub source: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub date_added: Option<String>,
    pub date_updated: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of `AppointmentCreate`, `AppointmentUpdate` and `AppointmentDelete`: unlike the other
/// events, the object sits under `appointment` and the top level has no `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentEvent {
    pub location_id: String,
    pub appointment: AppointmentPayload,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of an app install (`type: "INSTALL"`). A company-level install has no `locationId`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppInstallEvent {
    pub app_id: String,
    pub location_id: Option<String>,
    pub company_id: Option<String>,
    pub install_type: Option<String>,
    pub company_name: Option<String>,
    pub is_whitelabel_company: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload of an app uninstall (`type: "UNINSTALL"`): the connection's tokens are dead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppUninstallEvent {
    pub app_id: String,
    pub location_id: Option<String>,
    pub company_id: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A webhook event. The payload structs do not repeat `type`, `timestamp` and `webhookId`; those
/// are on [`super::VerifiedEvent`].
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookEvent {
    ContactCreate(ContactEvent),
    ContactUpdate(ContactEvent),
    ContactDelete(ContactEvent),
    ContactDndUpdate(ContactEvent),
    ContactTagUpdate(ContactEvent),
    NoteCreate(NoteEvent),
    NoteUpdate(NoteEvent),
    NoteDelete(NoteEvent),
    TaskCreate(TaskEvent),
    TaskComplete(TaskEvent),
    TaskDelete(TaskEvent),
    AppointmentCreate(AppointmentEvent),
    AppointmentUpdate(AppointmentEvent),
    AppointmentDelete(AppointmentEvent),
    AppInstall(AppInstallEvent),
    AppUninstall(AppUninstallEvent),
    /// A type this crate does not model, kept whole.
    Unknown {
        event_type: String,
        raw: Value,
    },
}

/// Fields every payload has that the event structs leave to [`super::VerifiedEvent`].
const ENVELOPE: [&str; 3] = ["type", "timestamp", "webhookId"];

fn payload<T: DeserializeOwned>(
    event_type: &str,
    body: &Map<String, Value>,
) -> Result<T, WebhookError> {
    let mut fields = body.clone();
    for key in ENVELOPE {
        fields.remove(key);
    }
    serde_json::from_value(Value::Object(fields)).map_err(|e| WebhookError::Malformed {
        reason: format!("{event_type} payload: {e}"),
    })
}

impl WebhookEvent {
    /// Reads an event from a webhook body (already verified, or trusted). Fails only when the body
    /// is not a JSON object with a string `type`, or a known type lacks a field GHL always sends.
    pub fn parse(body: &Value) -> Result<Self, WebhookError> {
        let obj = body.as_object().ok_or_else(|| WebhookError::Malformed {
            reason: "the body is not a JSON object".into(),
        })?;
        let t = obj
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| WebhookError::Malformed {
                reason: "the body has no string `type`".into(),
            })?;
        Ok(match t {
            "ContactCreate" => Self::ContactCreate(payload(t, obj)?),
            "ContactUpdate" => Self::ContactUpdate(payload(t, obj)?),
            "ContactDelete" => Self::ContactDelete(payload(t, obj)?),
            "ContactDndUpdate" => Self::ContactDndUpdate(payload(t, obj)?),
            "ContactTagUpdate" => Self::ContactTagUpdate(payload(t, obj)?),
            "NoteCreate" => Self::NoteCreate(payload(t, obj)?),
            "NoteUpdate" => Self::NoteUpdate(payload(t, obj)?),
            "NoteDelete" => Self::NoteDelete(payload(t, obj)?),
            "TaskCreate" => Self::TaskCreate(payload(t, obj)?),
            "TaskComplete" => Self::TaskComplete(payload(t, obj)?),
            "TaskDelete" => Self::TaskDelete(payload(t, obj)?),
            "AppointmentCreate" => Self::AppointmentCreate(payload(t, obj)?),
            "AppointmentUpdate" => Self::AppointmentUpdate(payload(t, obj)?),
            "AppointmentDelete" => Self::AppointmentDelete(payload(t, obj)?),
            "INSTALL" | "AppInstall" => Self::AppInstall(payload(t, obj)?),
            "UNINSTALL" | "AppUninstall" => Self::AppUninstall(payload(t, obj)?),
            other => Self::Unknown {
                event_type: other.to_string(),
                raw: body.clone(),
            },
        })
    }

    /// The event's type as GHL names it (`INSTALL`/`UNINSTALL` for the app events).
    pub fn event_type(&self) -> &str {
        match self {
            Self::ContactCreate(_) => "ContactCreate",
            Self::ContactUpdate(_) => "ContactUpdate",
            Self::ContactDelete(_) => "ContactDelete",
            Self::ContactDndUpdate(_) => "ContactDndUpdate",
            Self::ContactTagUpdate(_) => "ContactTagUpdate",
            Self::NoteCreate(_) => "NoteCreate",
            Self::NoteUpdate(_) => "NoteUpdate",
            Self::NoteDelete(_) => "NoteDelete",
            Self::TaskCreate(_) => "TaskCreate",
            Self::TaskComplete(_) => "TaskComplete",
            Self::TaskDelete(_) => "TaskDelete",
            Self::AppointmentCreate(_) => "AppointmentCreate",
            Self::AppointmentUpdate(_) => "AppointmentUpdate",
            Self::AppointmentDelete(_) => "AppointmentDelete",
            Self::AppInstall(_) => "INSTALL",
            Self::AppUninstall(_) => "UNINSTALL",
            Self::Unknown { event_type, .. } => event_type,
        }
    }

    /// The location the event concerns, to route it to a connection.
    pub fn location_id(&self) -> Option<&str> {
        match self {
            Self::ContactCreate(e)
            | Self::ContactUpdate(e)
            | Self::ContactDelete(e)
            | Self::ContactDndUpdate(e)
            | Self::ContactTagUpdate(e) => Some(&e.location_id),
            Self::NoteCreate(e) | Self::NoteUpdate(e) | Self::NoteDelete(e) => Some(&e.location_id),
            Self::TaskCreate(e) | Self::TaskComplete(e) | Self::TaskDelete(e) => {
                Some(&e.location_id)
            }
            Self::AppointmentCreate(e)
            | Self::AppointmentUpdate(e)
            | Self::AppointmentDelete(e) => Some(&e.location_id),
            Self::AppInstall(e) => e.location_id.as_deref(),
            Self::AppUninstall(e) => e.location_id.as_deref(),
            Self::Unknown { raw, .. } => raw.get("locationId").and_then(Value::as_str),
        }
    }

    /// The contact the event concerns (the contact itself, or the owner of the note, task or
    /// appointment), so a receiver can re-fetch it when the payload lacks fields.
    pub fn contact_id(&self) -> Option<&str> {
        match self {
            Self::ContactCreate(e)
            | Self::ContactUpdate(e)
            | Self::ContactDelete(e)
            | Self::ContactDndUpdate(e)
            | Self::ContactTagUpdate(e) => Some(&e.id),
            Self::NoteCreate(e) | Self::NoteUpdate(e) | Self::NoteDelete(e) => {
                e.contact_id.as_deref()
            }
            Self::TaskCreate(e) | Self::TaskComplete(e) | Self::TaskDelete(e) => {
                e.contact_id.as_deref()
            }
            Self::AppointmentCreate(e)
            | Self::AppointmentUpdate(e)
            | Self::AppointmentDelete(e) => e.appointment.contact_id.as_deref(),
            Self::AppInstall(_) | Self::AppUninstall(_) => None,
            Self::Unknown { raw, .. } => raw.get("contactId").and_then(Value::as_str),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLES: [&str; 14] = [
        "ContactCreate",
        "ContactUpdate",
        "ContactDelete",
        "ContactDndUpdate",
        "ContactTagUpdate",
        "NoteCreate",
        "NoteUpdate",
        "NoteDelete",
        "TaskCreate",
        "TaskComplete",
        "TaskDelete",
        "AppointmentCreate",
        "AppointmentUpdate",
        "AppointmentDelete",
    ];

    #[test]
    fn parses_ghl_examples() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../spec/ghl/webhook-events");
        for name in EXAMPLES {
            let text = std::fs::read_to_string(format!("{dir}/{name}.json")).unwrap();
            let file: Value = serde_json::from_str(&text).unwrap();
            let example = &file["example"];
            let event = WebhookEvent::parse(example).unwrap();
            // GHL's docs label the AppointmentUpdate/Delete examples "AppointmentCreate".
            assert_eq!(
                event.event_type(),
                example["type"].as_str().unwrap(),
                "{name}"
            );
            assert!(event.location_id().is_some(), "{name}");
            assert!(event.contact_id().is_some(), "{name}");
            if let WebhookEvent::ContactDndUpdate(c) = &event {
                assert_eq!(
                    c.dnd_settings.as_ref().unwrap()["SMS"].status.as_deref(),
                    Some("inactive")
                );
            }
            if let WebhookEvent::ContactCreate(c) = &event {
                assert!(
                    c.extra.is_empty(),
                    "every example field is modelled: {:?}",
                    c.extra
                );
                assert_eq!(c.custom_fields.as_ref().unwrap()[0].value, "XYZ Corp");
            }
        }
    }

    #[test]
    fn unknown_and_broken() {
        let raw = serde_json::json!({"type": "OpportunityCreate", "locationId": "l", "id": "o"});
        let event = WebhookEvent::parse(&raw).unwrap();
        assert_eq!(
            event,
            WebhookEvent::Unknown {
                event_type: "OpportunityCreate".into(),
                raw
            }
        );
        let err =
            WebhookEvent::parse(&serde_json::json!({"type": "NoteCreate", "id": "n"})).unwrap_err();
        assert!(err.to_string().contains("locationId"), "{err}");
        let install = serde_json::json!({"type": "INSTALL", "appId": "a", "companyId": "c", "installType": "Company"});
        assert!(
            matches!(WebhookEvent::parse(&install).unwrap(), WebhookEvent::AppInstall(e) if e.location_id.is_none())
        );
    }
}
