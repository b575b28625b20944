//! Location settings from GHL's Locations API: custom-field definitions.

use reqwest::Method;
use serde::Deserialize;

use super::seg;
use crate::client::{Call, GhlClient};
use crate::error::GhlError;
use crate::models::location::CustomFieldDefinition;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CustomFields {
    #[serde(default)]
    custom_fields: Vec<CustomFieldDefinition>,
}

impl GhlClient {
    /// `GET /locations/{locationId}/customFields` for the client's location: the custom-field
    /// definitions (id, name, key, type), so contacts' `customFields` (ids only) can be read and
    /// written by name. Needs the scope `locations/customFields.readonly`. Contact and
    /// opportunity fields both come back; see [`CustomFieldDefinition::is_contact_field`].
    pub async fn custom_field_definitions(&self) -> Result<Vec<CustomFieldDefinition>, GhlError> {
        let path = format!("/locations/{}/customFields", seg(self.location_id()?));
        let answer: CustomFields = self.send(Call::new(Method::GET, path)).await?;
        Ok(answer.custom_fields)
    }
}
