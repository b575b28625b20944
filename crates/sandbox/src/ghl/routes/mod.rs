//! The 32 operations of GHL's Contacts API, at the spec's methods and paths.

mod contacts;
mod locations;
mod misc;
mod related;
mod search;

use std::sync::Arc;

use axum::body::Bytes;
use axum::routing::{delete, get, post, put};
use axum::Router;
use serde_json::{Map, Value};

use super::auth::TokenInfo;
use super::errors::{ApiError, ApiResult};
use super::Ghl;

pub use search::{search_contacts, SearchOutcome};

/// Parses a (validated) JSON body into an object; an empty body is an empty object.
pub(crate) fn object(body: &Bytes) -> ApiResult<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad_request(
            "The request body must be a JSON object",
        )),
        Err(e) => Err(ApiError::bad_request(format!("Invalid JSON body: {e}"))),
    }
}

/// The location of a Location token (the gate lets only those reach contact routes).
pub(crate) fn loc(tok: &TokenInfo) -> &str {
    tok.location_id.as_deref().unwrap_or_default()
}

/// Every Contacts-API route; the caller adds the gate and log layers.
pub fn contacts_api() -> Router<Arc<Ghl>> {
    Router::new()
        .route(
            "/contacts/",
            post(contacts::create).get(contacts::legacy_list),
        )
        .route(
            "/contacts",
            post(contacts::create).get(contacts::legacy_list),
        )
        .route("/contacts/upsert", post(contacts::upsert))
        .route(
            "/locations/{locationId}/customFields",
            get(locations::custom_fields),
        )
        .route("/contacts/search", post(search::search))
        .route("/contacts/search/duplicate", get(contacts::duplicate))
        .route(
            "/contacts/business/{businessId}",
            get(contacts::by_business),
        )
        .route("/contacts/bulk/tags/update/{type}", post(misc::bulk_tags))
        .route("/contacts/bulk/business", post(misc::bulk_business))
        .route(
            "/contacts/{contactId}",
            get(contacts::get_one)
                .put(contacts::update)
                .delete(contacts::remove),
        )
        .route(
            "/contacts/{contactId}/tasks",
            get(related::list_tasks).post(related::create_task),
        )
        .route(
            "/contacts/{contactId}/tasks/{taskId}",
            get(related::get_task)
                .put(related::update_task)
                .delete(related::delete_task),
        )
        .route(
            "/contacts/{contactId}/tasks/{taskId}/completed",
            put(related::complete_task),
        )
        .route(
            "/contacts/{contactId}/appointments",
            get(related::appointments),
        )
        .route(
            "/contacts/{contactId}/tags",
            post(misc::add_tags).delete(misc::remove_tags),
        )
        .route(
            "/contacts/{contactId}/notes",
            get(related::list_notes).post(related::create_note),
        )
        .route(
            "/contacts/{contactId}/notes/{id}",
            get(related::get_note)
                .put(related::update_note)
                .delete(related::delete_note),
        )
        .route(
            "/contacts/{contactId}/followers",
            post(misc::add_followers).delete(misc::remove_followers),
        )
        .route(
            "/contacts/{contactId}/campaigns/removeAll",
            delete(misc::remove_all_campaigns),
        )
        .route(
            "/contacts/{contactId}/campaigns/{campaignId}",
            post(misc::add_campaign).delete(misc::remove_campaign),
        )
        .route(
            "/contacts/{contactId}/workflow/{workflowId}",
            post(misc::add_workflow).delete(misc::remove_workflow),
        )
}
