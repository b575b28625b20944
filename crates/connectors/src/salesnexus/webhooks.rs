//! SalesNexus sends no webhook when a contact, task or note changes. The one outbound webhook is
//! a pipeline Stage Trigger with the action "Post Webhook", fired when an opportunity enters (or
//! stalls in) a stage. Its payload names the opportunity's contact:
//!
//! ```json
//! {"triggerId": 77, "action": "PostWebhook",
//!  "opportunity": {"id": 501, "title": "New deal", "currentStageId": 3, "amount": 1200, "currency": "USD"},
//!  "contact": {"contactId": 1001}}
//! ```
//!
//! It is read as a hint to re-fetch that contact, nothing more: the engine's poll (a full scan)
//! remains what finds changes. The payload is unsigned; when `webhook_token` is configured the
//! delivery must carry it in `X-Webhook-Token` (compared in constant time).
//!
//! The event id is `stage-trigger:<triggerId>:<opportunity id>:<stage id>:<contact id>`: a
//! redelivery of the same stage event is dropped by the engine, and so is the same opportunity
//! entering the same stage again later — harmless, since the poll still catches any change.

use std::collections::HashMap;

use serde_json::Value;

use super::models::text_of;
use crate::connector::{ChangeHint, ConnectorError};
use crate::record::EntityKind;
use crate::your_app::config::SecretString;

fn bad(m: impl Into<String>) -> ConnectorError {
    ConnectorError::BadWebhook(m.into())
}

/// Compares without stopping at the first difference, so timing does not reveal the token.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Reads a Stage Trigger delivery into a contact hint.
pub fn parse(
    token: Option<&SecretString>,
    headers: &HashMap<String, String>,
    body: &[u8],
) -> Result<Vec<ChangeHint>, ConnectorError> {
    if let Some(token) = token {
        let given = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-webhook-token"))
            .map(|(_, v)| v.trim());
        match given {
            Some(g) if same_secret(g.as_bytes(), token.expose().as_bytes()) => {}
            Some(_) => return Err(bad("X-Webhook-Token does not match the configured token")),
            None => return Err(bad("no X-Webhook-Token header (one is configured)")),
        }
    }
    let json: Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    let obj = json
        .as_object()
        .ok_or_else(|| bad("the body is not a JSON object"))?;
    let action = obj
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if action != "PostWebhook" {
        return Err(bad(format!(
            "not a SalesNexus Stage Trigger delivery (action {action:?}, expected \"PostWebhook\")"
        )));
    }
    let contact = obj
        .get("contact")
        .and_then(|c| c.get("contactId"))
        .and_then(text_of);
    let Some(contact) = contact else {
        // An opportunity without a contact: nothing this connector syncs.
        tracing::debug!("SalesNexus stage trigger without a contact ignored");
        return Ok(Vec::new());
    };
    let part = |v: Option<&Value>| v.and_then(text_of).unwrap_or_else(|| "-".into());
    let opportunity = obj.get("opportunity");
    let event_id = format!(
        "stage-trigger:{}:{}:{}:{contact}",
        part(obj.get("triggerId")),
        part(opportunity.and_then(|o| o.get("id"))),
        part(opportunity.and_then(|o| o.get("currentStageId"))),
    );
    Ok(vec![ChangeHint {
        kind: EntityKind::Contact,
        id: contact,
        parent_id: None,
        deleted: false,
        event_id,
        event_type: "PostWebhook".into(),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_triggers_are_contact_hints() {
        let body = br#"{"triggerId":77,"action":"PostWebhook","opportunity":{"id":501,"title":"Deal","currentStageId":3,"amount":1200,"currency":"USD"},"contact":{"contactId":1001}}"#;
        let hints = parse(None, &HashMap::new(), body).unwrap();
        assert_eq!(hints.len(), 1);
        assert_eq!(
            (hints[0].kind, hints[0].id.as_str()),
            (EntityKind::Contact, "1001")
        );
        assert_eq!(hints[0].event_id, "stage-trigger:77:501:3:1001");
        let token = SecretString::new("t0k");
        let headers = |v: &str| HashMap::from([("X-Webhook-Token".to_string(), v.to_string())]);
        assert!(parse(Some(&token), &headers("t0k"), body).is_ok());
        let wrong = parse(Some(&token), &headers("nope"), body).unwrap_err();
        assert!(matches!(wrong, ConnectorError::BadWebhook(_)));
        assert!(!format!("{wrong}").contains("t0k"));
        assert!(parse(Some(&token), &HashMap::new(), body).is_err());
        assert!(parse(None, &HashMap::new(), br#"{"action":"SendEmail"}"#).is_err());
        assert!(parse(None, &HashMap::new(), b"not json").is_err());
        let none = parse(
            None,
            &HashMap::new(),
            br#"{"action":"PostWebhook","contact":{}}"#,
        );
        assert_eq!(none, Ok(Vec::new()));
    }
}
