//! Tags, followers, campaigns, workflows and the bulk tag and business updates. All of these
//! are safe to repeat (adding what is there, removing what is gone changes nothing), so all
//! are retried when the outcome is unclear.

use reqwest::Method;
use serde_json::json;

use super::contacts::body;
use super::seg;
use crate::client::{Call, GhlClient};
use crate::error::GhlError;
use crate::models::misc::{
    Acknowledged, BulkBusiness, BulkBusinessResult, BulkTags, BulkTagsResult, FollowersAdded,
    FollowersRemoved, Tags, WorkflowEnrollment,
};

fn strings(items: &[impl AsRef<str>]) -> Vec<&str> {
    items.iter().map(AsRef::as_ref).collect()
}

impl GhlClient {
    /// `POST /contacts/{contactId}/tags`: adds tags (GHL lower-cases them); answers all tags.
    pub async fn add_tags(
        &self,
        contact_id: &str,
        tags: &[impl AsRef<str>],
    ) -> Result<Tags, GhlError> {
        let call = Call::new(Method::POST, format!("/contacts/{}/tags", seg(contact_id)))
            .json(json!({ "tags": strings(tags) }))
            .idempotent();
        self.send(call).await
    }

    /// `DELETE /contacts/{contactId}/tags`: removes tags; answers the tags left.
    pub async fn remove_tags(
        &self,
        contact_id: &str,
        tags: &[impl AsRef<str>],
    ) -> Result<Tags, GhlError> {
        let call = Call::new(
            Method::DELETE,
            format!("/contacts/{}/tags", seg(contact_id)),
        )
        .json(json!({ "tags": strings(tags) }));
        self.send(call).await
    }

    /// `POST /contacts/bulk/tags/update/add`. `locationId` defaults to the client's.
    pub async fn bulk_add_tags(&self, update: &BulkTags) -> Result<BulkTagsResult, GhlError> {
        self.bulk_tags("add", update).await
    }

    /// `POST /contacts/bulk/tags/update/remove` (`removeAllTags` drops every tag).
    /// `locationId` defaults to the client's.
    pub async fn bulk_remove_tags(&self, update: &BulkTags) -> Result<BulkTagsResult, GhlError> {
        self.bulk_tags("remove", update).await
    }

    async fn bulk_tags(&self, kind: &str, update: &BulkTags) -> Result<BulkTagsResult, GhlError> {
        let mut update = update.clone();
        if update.location_id.is_none() {
            update.location_id = Some(self.location_id()?.to_string());
        }
        let call = Call::new(Method::POST, format!("/contacts/bulk/tags/update/{kind}"))
            .json(body(&update)?)
            .idempotent();
        self.send(call).await
    }

    /// `POST /contacts/bulk/business`: links the contacts to a business, or unlinks them when
    /// `business_id` is `None`. `locationId` defaults to the client's.
    pub async fn bulk_set_business(
        &self,
        update: &BulkBusiness,
    ) -> Result<BulkBusinessResult, GhlError> {
        let mut update = update.clone();
        if update.location_id.is_none() {
            update.location_id = Some(self.location_id()?.to_string());
        }
        let call = Call::new(Method::POST, "/contacts/bulk/business")
            .json(body(&update)?)
            .idempotent();
        self.send(call).await
    }

    /// `POST /contacts/{contactId}/followers`: adds users as followers.
    pub async fn add_followers(
        &self,
        contact_id: &str,
        user_ids: &[impl AsRef<str>],
    ) -> Result<FollowersAdded, GhlError> {
        let call = Call::new(
            Method::POST,
            format!("/contacts/{}/followers", seg(contact_id)),
        )
        .json(json!({ "followers": strings(user_ids) }))
        .idempotent();
        self.send(call).await
    }

    /// `DELETE /contacts/{contactId}/followers`.
    pub async fn remove_followers(
        &self,
        contact_id: &str,
        user_ids: &[impl AsRef<str>],
    ) -> Result<FollowersRemoved, GhlError> {
        let call = Call::new(
            Method::DELETE,
            format!("/contacts/{}/followers", seg(contact_id)),
        )
        .json(json!({ "followers": strings(user_ids) }));
        self.send(call).await
    }

    /// `POST /contacts/{contactId}/campaigns/{campaignId}`.
    pub async fn add_to_campaign(
        &self,
        contact_id: &str,
        campaign_id: &str,
    ) -> Result<Acknowledged, GhlError> {
        let call = Call::new(
            Method::POST,
            format!(
                "/contacts/{}/campaigns/{}",
                seg(contact_id),
                seg(campaign_id)
            ),
        )
        .json(json!({}))
        .idempotent();
        self.send(call).await
    }

    /// `DELETE /contacts/{contactId}/campaigns/{campaignId}`.
    pub async fn remove_from_campaign(
        &self,
        contact_id: &str,
        campaign_id: &str,
    ) -> Result<Acknowledged, GhlError> {
        let call = Call::new(
            Method::DELETE,
            format!(
                "/contacts/{}/campaigns/{}",
                seg(contact_id),
                seg(campaign_id)
            ),
        );
        self.send(call).await
    }

    /// `DELETE /contacts/{contactId}/campaigns/removeAll`.
    pub async fn remove_from_all_campaigns(
        &self,
        contact_id: &str,
    ) -> Result<Acknowledged, GhlError> {
        let call = Call::new(
            Method::DELETE,
            format!("/contacts/{}/campaigns/removeAll", seg(contact_id)),
        );
        self.send(call).await
    }

    /// `POST /contacts/{contactId}/workflow/{workflowId}`: enrolls the contact, the workflow's
    /// clock starting at `event_start_time` (RFC 3339) when given. Retried as safe to repeat:
    /// GHL keeps one enrollment per contact, unless the workflow allows re-entry, in which case
    /// a retried call after a lost answer may enroll twice.
    pub async fn add_to_workflow(
        &self,
        contact_id: &str,
        workflow_id: &str,
        event_start_time: Option<&str>,
    ) -> Result<Acknowledged, GhlError> {
        let enrollment = WorkflowEnrollment {
            event_start_time: event_start_time.map(str::to_string),
        };
        let call = Call::new(
            Method::POST,
            format!(
                "/contacts/{}/workflow/{}",
                seg(contact_id),
                seg(workflow_id)
            ),
        )
        .json(body(&enrollment)?)
        .idempotent();
        self.send(call).await
    }

    /// `DELETE /contacts/{contactId}/workflow/{workflowId}`.
    pub async fn remove_from_workflow(
        &self,
        contact_id: &str,
        workflow_id: &str,
    ) -> Result<Acknowledged, GhlError> {
        let call = Call::new(
            Method::DELETE,
            format!(
                "/contacts/{}/workflow/{}",
                seg(contact_id),
                seg(workflow_id)
            ),
        )
        .json(body(&WorkflowEnrollment::default())?);
        self.send(call).await
    }
}
