//! `GET /locations/{locationId}/customFields` from GHL's Locations API: the custom-field
//! definitions a sync needs to map custom fields by their names (the Contacts API speaks ids).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde_json::{json, Value};

use crate::ghl::auth::TokenInfo;
use crate::ghl::errors::{ApiError, ApiResult};
use crate::ghl::Ghl;

/// The scope GHL requires for this endpoint.
pub const SCOPE: &str = "locations/customFields.readonly";

pub async fn custom_fields(
    State(g): State<Arc<Ghl>>,
    Extension(t): Extension<TokenInfo>,
    Path(location_id): Path<String>,
) -> ApiResult<Json<Value>> {
    if !t.scopes.contains(SCOPE) {
        return Err(ApiError::unauthorized(format!(
            "The token is not authorized for this scope. Missing scope: {SCOPE}"
        )));
    }
    if t.location_id.as_deref() != Some(location_id.as_str()) {
        return Err(ApiError::forbidden(
            "The token does not have access to this location.",
        ));
    }
    let s = g.store.read();
    let location = s
        .location(&location_id)
        .ok_or_else(|| ApiError::bad_request("Location not found"))?;
    let fields: Vec<Value> = location
        .custom_fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            json!({
                "id": f.id,
                "name": f.name,
                "fieldKey": f.field_key,
                "dataType": f.data_type,
                "placeholder": "",
                "position": i * 50,
                "picklistOptions": f.picklist_options,
                "model": "contact",
                "locationId": location_id,
            })
        })
        .collect();
    Ok(Json(json!({ "customFields": fields })))
}
