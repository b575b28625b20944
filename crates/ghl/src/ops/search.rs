//! One page of contacts: the search (the supported way to list), the deprecated legacy list, and
//! the contacts of a business. [`crate::paging`] turns these into streams of every contact.

use reqwest::Method;

use crate::client::Call;
use crate::error::GhlError;
use crate::models::search::{
    BusinessContactsResponse, LegacyListResponse, SearchRequest, SearchResponse,
};
use crate::GhlClient;

impl GhlClient {
    /// `POST /contacts/search`: one page of contacts matching `request`. A search changes
    /// nothing, so it is retried like a read. An empty `location_id` becomes the client's.
    pub async fn search_contacts(
        &self,
        request: &SearchRequest,
    ) -> Result<SearchResponse, GhlError> {
        let mut body = serde_json::to_value(request)
            .map_err(|e| GhlError::Config(format!("search request: {e}")))?;
        if request.location_id.is_empty() {
            body["locationId"] = self.location_id()?.into();
        }
        self.send(
            Call::new(Method::POST, "/contacts/search")
                .json(body)
                .idempotent(),
        )
        .await
    }

    /// `GET /contacts/` (deprecated by GHL, still answered): up to `limit` (≤ 100) contacts in
    /// `dateAdded` order, after the contact `start_after_id` whose `dateAdded` is `start_after`
    /// (epoch ms) — both from the previous page's `meta`.
    pub async fn list_contacts_legacy(
        &self,
        limit: u32,
        start_after_id: Option<&str>,
        start_after: Option<i64>,
        query: Option<&str>,
    ) -> Result<LegacyListResponse, GhlError> {
        let mut call = Call::new(Method::GET, "/contacts/")
            .query("locationId", self.location_id()?)
            .query("limit", limit);
        if let Some(id) = start_after_id {
            call = call.query("startAfterId", id);
        }
        if let Some(ms) = start_after {
            call = call.query("startAfter", ms);
        }
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            call = call.query("query", q);
        }
        self.send(call).await
    }

    /// `GET /contacts/business/{businessId}`: contacts of one business, `skip` then up to
    /// `limit` (≤ 100); `count` in the answer is the business's total.
    pub async fn business_contacts(
        &self,
        business_id: &str,
        skip: u64,
        limit: u32,
        query: Option<&str>,
    ) -> Result<BusinessContactsResponse, GhlError> {
        let mut call = Call::new(
            Method::GET,
            format!("/contacts/business/{}", super::seg(business_id)),
        )
        .query("locationId", self.location_id()?)
        .query("skip", skip)
        .query("limit", limit);
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            call = call.query("query", q);
        }
        self.send(call).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn segments_are_escaped() {
        assert_eq!(super::super::seg("ab-C_9"), "ab-C_9");
        assert_eq!(super::super::seg("a/b?c"), "a%2Fb%3Fc");
    }
}
