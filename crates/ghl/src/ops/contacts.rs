//! Contacts: get, create (never twice), update, delete, upsert and the duplicate lookup.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::seg;
use crate::client::{Call, GhlClient};
use crate::error::GhlError;
use crate::models::contact::{
    Contact, CreateContact, CreatedContact, UpdateContact, UpsertContact, UpsertResult,
};
use crate::models::misc::Acknowledged;

/// A request model as a JSON body.
pub(super) fn body(request: &impl Serialize) -> Result<Value, GhlError> {
    serde_json::to_value(request).map_err(|e| GhlError::Config(format!("request body: {e}")))
}

/// Whether a failed write may have happened anyway (the cases `create_once` looks up).
pub(super) fn unclear(e: &GhlError) -> bool {
    matches!(
        e,
        GhlError::Transient { .. } | GhlError::Validation { status: 422, .. }
    )
}

/// `Some` only for a non-blank text.
fn given(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

#[derive(Deserialize)]
struct OneContact {
    contact: Contact,
}

#[derive(Deserialize)]
struct MaybeContact {
    #[serde(default)]
    contact: Option<Contact>,
}

#[derive(Deserialize)]
struct Created {
    contact: CreatedContact,
}

impl GhlClient {
    /// `GET /contacts/{contactId}`.
    pub async fn get_contact(&self, contact_id: &str) -> Result<Contact, GhlError> {
        let call = Call::new(Method::GET, format!("/contacts/{}", seg(contact_id)));
        Ok(self.send::<OneContact>(call).await?.contact)
    }

    /// `POST /contacts/`, sent at most once in effect. `locationId` defaults to the client's.
    ///
    /// When the outcome is unclear (5xx, timeout, unreadable answer, or a 422 that GHL sometimes
    /// sends after creating), the contact is looked up by email, then by phone
    /// (`GET /contacts/search/duplicate`) before anything is sent again; a contact found is the
    /// answer. So a contact that already had this email or phone counts as "already created".
    /// A contact with neither email nor phone cannot be looked up: an unclear outcome then
    /// gives [`GhlError::OutcomeUnknown`] and nothing is re-sent. A location that refuses
    /// duplicates answers a clear [`GhlError::Duplicate`].
    pub async fn create_contact(&self, new: &CreateContact) -> Result<CreatedContact, GhlError> {
        let mut new = new.clone();
        if new.location_id.is_none() {
            new.location_id = Some(self.location_id()?.to_string());
        }
        let call = Call::new(Method::POST, "/contacts/").json(body(&new)?);
        let (email, phone) = (given(&new.email), given(&new.phone));
        if email.is_none() && phone.is_none() {
            return match self.send::<Created>(call).await {
                Ok(c) => Ok(c.contact),
                Err(e) if unclear(&e) => Err(GhlError::OutcomeUnknown {
                    message: format!("{e}; the contact has no email or phone to look it up by"),
                }),
                Err(e) => Err(e),
            };
        }
        let location = new.location_id.as_deref().unwrap_or_default();
        let created = self
            .create_once(call, move || async move {
                Ok(self
                    .find_created_contact(location, email, phone)
                    .await?
                    .map(|c| Created { contact: c.into() }))
            })
            .await?;
        Ok(created.contact)
    }

    /// The contact of `location` with this email, else the one with this phone.
    async fn find_created_contact(
        &self,
        location: &str,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Result<Option<Contact>, GhlError> {
        if let Some(e) = email {
            if let Some(c) = self.duplicate_in(location, Some(e), None).await? {
                return Ok(Some(c));
            }
        }
        match phone {
            Some(p) => self.duplicate_in(location, None, Some(p)).await,
            None => Ok(None),
        }
    }

    /// `PUT /contacts/{contactId}`: changes the fields set in `update`; answers the contact.
    pub async fn update_contact(
        &self,
        contact_id: &str,
        update: &UpdateContact,
    ) -> Result<Contact, GhlError> {
        let call =
            Call::new(Method::PUT, format!("/contacts/{}", seg(contact_id))).json(body(update)?);
        Ok(self.send::<OneContact>(call).await?.contact)
    }

    /// `DELETE /contacts/{contactId}`, with its tasks, notes and appointments. Retried when
    /// unclear, so a delete whose first answer was lost ends in [`GhlError::NotFound`]: the
    /// contact is gone either way.
    pub async fn delete_contact(&self, contact_id: &str) -> Result<Acknowledged, GhlError> {
        let call = Call::new(Method::DELETE, format!("/contacts/{}", seg(contact_id)));
        self.send(call).await
    }

    /// `POST /contacts/upsert`: updates the contact matching the email, then the phone, or
    /// creates one. `locationId` defaults to the client's. Safe to repeat, so retried, when
    /// there is an email or phone to match on; without either it is a plain create and is sent
    /// once.
    pub async fn upsert_contact(&self, upsert: &UpsertContact) -> Result<UpsertResult, GhlError> {
        let mut upsert = upsert.clone();
        if upsert.location_id.is_none() {
            upsert.location_id = Some(self.location_id()?.to_string());
        }
        let mut call = Call::new(Method::POST, "/contacts/upsert").json(body(&upsert)?);
        let matches_existing = given(&upsert.email).is_some() || given(&upsert.phone).is_some();
        let creates_anyway = upsert.create_new_if_duplicate_allowed == Some(true);
        if matches_existing && !creates_anyway {
            call = call.idempotent();
        }
        self.send(call).await
    }

    /// `GET /contacts/search/duplicate`: the contact of the client's location that GHL's
    /// duplicate rules match to this email or phone (`number`), if any.
    pub async fn find_duplicate_contact(
        &self,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Result<Option<Contact>, GhlError> {
        self.duplicate_in(self.location_id()?, email, phone).await
    }

    async fn duplicate_in(
        &self,
        location: &str,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Result<Option<Contact>, GhlError> {
        let mut call =
            Call::new(Method::GET, "/contacts/search/duplicate").query("locationId", location);
        if let Some(e) = email {
            call = call.query("email", e);
        }
        if let Some(p) = phone {
            call = call.query("number", p);
        }
        Ok(self.send::<MaybeContact>(call).await?.contact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_stay_one_segment() {
        assert_eq!(seg("abcXYZ09-_.~"), "abcXYZ09-_.~");
        assert_eq!(seg("a/b?c"), "a%2Fb%3Fc");
        assert_eq!(seg("é"), "%C3%A9");
    }
}
