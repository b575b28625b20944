//! Location settings a sync needs from GHL's Locations API: the custom-field definitions
//! (`GET /locations/{locationId}/customFields`). The Contacts API reads and writes custom fields
//! by id only; these definitions give each id its human name, key and type, so a sync can map
//! `custom.<Name>` fields across apps.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One custom-field definition of a location.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomFieldDefinition {
    /// The id contacts carry in `customFields[].id`.
    pub id: String,
    /// The name people see in GHL (`Lead Score`).
    #[serde(default)]
    pub name: String,
    /// `contact.lead_score`: accepted in place of the id on writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_key: Option<String>,
    /// `TEXT`, `LARGE_TEXT`, `NUMERICAL`, `MONETORY`, `SINGLE_OPTIONS`, `MULTIPLE_OPTIONS`,
    /// `CHECKBOX`, `RADIO`, `DATE`, `FILE_UPLOAD`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_type: Option<String>,
    /// The choices of option fields (strings in GHL's examples; kept as any JSON).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub picklist_options: Vec<Value>,
    /// `contact` or `opportunity`: the object the field belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
    /// Fields GHL sent that this model does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CustomFieldDefinition {
    /// Whether the field is a contact field (definitions without `model` count as contact
    /// fields: the sandbox and older GHL answers leave it out for them).
    pub fn is_contact_field(&self) -> bool {
        self.model.as_deref().is_none_or(|m| m == "contact")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_ghl_answer() {
        let raw = json!({"id": "abc", "name": "Lead Score", "fieldKey": "contact.lead_score",
            "dataType": "NUMERICAL", "position": 0, "model": "contact", "placeholder": "",
            "picklistOptions": []});
        let d: CustomFieldDefinition = serde_json::from_value(raw).unwrap();
        assert_eq!(d.name, "Lead Score");
        assert_eq!(d.field_key.as_deref(), Some("contact.lead_score"));
        assert!(d.is_contact_field());
        assert_eq!(d.extra["placeholder"], "");
        let opp: CustomFieldDefinition =
            serde_json::from_value(json!({"id": "x", "model": "opportunity"})).unwrap();
        assert!(!opp.is_contact_field());
    }
}
