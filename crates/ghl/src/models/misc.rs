//! Tags, followers, bulk tag and business updates, campaign and workflow answers.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A contact's tags after `POST` or `DELETE /contacts/{contactId}/tags`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Tags {
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The answer of `POST /contacts/{contactId}/followers`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowersAdded {
    /// Every follower of the contact now.
    #[serde(default)]
    pub followers: Vec<String>,
    /// The ones this call added (users already following are not repeated).
    #[serde(default)]
    pub followers_added: Vec<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The answer of `DELETE /contacts/{contactId}/followers`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowersRemoved {
    /// Every follower of the contact now.
    #[serde(default)]
    pub followers: Vec<String>,
    /// The ones this call removed.
    #[serde(default)]
    pub followers_removed: Vec<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST /contacts/bulk/tags/update/{add|remove}` (`UpdateTagsDTO`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkTags {
    /// Contact ids.
    pub contacts: Vec<String>,
    pub tags: Vec<String>,
    /// Filled with the client's location when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    /// On remove: drop every tag of these contacts, whatever `tags` says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_all_tags: Option<bool>,
}

/// The answer of a bulk tag update (`UpdateTagsResponseDTO`). Failures for single contacts
/// (unknown, deleted, another location's) are counted, not raised.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkTagsResult {
    /// True when every contact was updated (GHL's spelling).
    #[serde(default)]
    pub succeded: bool,
    #[serde(default)]
    pub error_count: u64,
    #[serde(default)]
    pub responses: Vec<BulkTagResponse>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One contact's outcome in a bulk tag update. The spec types these as strings but its example
/// shows objects; both are read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BulkTagResponse {
    Message(String),
    Detail(BulkTagDetail),
    Other(Value),
}

/// One contact's outcome as an object: `{contactId, message, type: success|error, oldTags, …}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkTagDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `success` or `error`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_added: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_removed: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST /contacts/bulk/business` (`ContactsBusinessUpdate`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkBusiness {
    /// Filled with the client's location when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    /// Contact ids.
    pub ids: Vec<String>,
    /// The business to link the contacts to; `None` is sent as `null` and unlinks them.
    pub business_id: Option<String>,
}

/// The answer of `POST /contacts/bulk/business` (`ContactsBulkUpateResponse`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BulkBusinessResult {
    /// True when every contact was updated.
    #[serde(default)]
    pub success: bool,
    /// The contacts updated.
    #[serde(default)]
    pub ids: Vec<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{"succeded": true}`: the answer of deletes and of campaign and workflow calls (GHL's
/// spelling).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Acknowledged {
    #[serde(default)]
    pub succeded: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST` and `DELETE /contacts/{contactId}/workflow/{workflowId}` (`CreateWorkflowDto`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowEnrollment {
    /// When the workflow's clock starts, RFC 3339 with offset (`2021-06-23T03:30:00+01:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_start_time: Option<String>,
}
