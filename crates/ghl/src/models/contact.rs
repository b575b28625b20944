//! Contacts: the record as GHL answers it (`GetContectByIdSchema`, `CreateContactSchema`), the
//! create/update/upsert requests (`CreateContactDto`, `UpdateContactDto`, `UpsertContactDto`),
//! DND settings and attribution.
//!
//! Answers keep every field this crate does not name in `extra`, so a contact read, changed and
//! serialized again still carries what GHL added. Requests name only what GHL accepts: GHL
//! rejects unknown properties (`422 property foo should not exist`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::custom_field::CustomField;

/// A DND status. GHL documents three; anything else it sends is kept as [`DndStatus::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum DndStatus {
    /// Messages on this channel are blocked.
    Active,
    /// Messages are allowed.
    #[default]
    Inactive,
    /// Blocked for good (e.g. the contact replied STOP); GHL will not lift it on request.
    Permanent,
    Other(String),
}

impl From<String> for DndStatus {
    fn from(s: String) -> Self {
        match s.as_str() {
            "active" => Self::Active,
            "inactive" => Self::Inactive,
            "permanent" => Self::Permanent,
            _ => Self::Other(s),
        }
    }
}

impl From<DndStatus> for String {
    fn from(s: DndStatus) -> Self {
        match s {
            DndStatus::Active => "active".into(),
            DndStatus::Inactive => "inactive".into(),
            DndStatus::Permanent => "permanent".into(),
            DndStatus::Other(s) => s,
        }
    }
}

/// DND state of one channel (`DndSettingSchema`; inbound settings use the same shape without
/// `code`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DndSetting {
    pub status: DndStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl DndSetting {
    /// A setting with only a status.
    pub fn new(status: DndStatus) -> Self {
        Self {
            status,
            ..Self::default()
        }
    }
}

/// Per-channel DND (`DndSettingsSchema`). In a request, channels left `None` keep their state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DndSettings {
    #[serde(rename = "Call", default, skip_serializing_if = "Option::is_none")]
    pub call: Option<DndSetting>,
    #[serde(rename = "Email", default, skip_serializing_if = "Option::is_none")]
    pub email: Option<DndSetting>,
    #[serde(rename = "SMS", default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<DndSetting>,
    #[serde(rename = "WhatsApp", default, skip_serializing_if = "Option::is_none")]
    pub whatsapp: Option<DndSetting>,
    #[serde(rename = "GMB", default, skip_serializing_if = "Option::is_none")]
    pub gmb: Option<DndSetting>,
    #[serde(rename = "FB", default, skip_serializing_if = "Option::is_none")]
    pub fb: Option<DndSetting>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Inbound DND (`InboundDndSettingsSchema`): `all` blocks every inbound channel.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InboundDndSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<DndSetting>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Where a contact came from (`AttributionSource`): first touch on `attributionSource`, last on
/// `lastAttributionSource`. GHL sends many of these as `null`; they serialize as absent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributionSource {
    /// Required by the spec, but kept optional so a partial record still reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_medium: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fbclid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gclid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msclikid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dclid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fbc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fbp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fb_event_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium_id: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A contact as `GET /contacts/{id}`, `PUT` and upsert answer it (`GetContectByIdSchema`).
/// Absent fields read as `None`; serializing leaves them out again.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_lower_case: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// E.164 as GHL stores it (`+18832327657`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Global DND: every channel blocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnd: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnd_settings: Option<DndSettings>,
    /// `lead`, `customer`, … (`type` in GHL's JSON).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub contact_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The user the contact is assigned to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// GHL stores tags trimmed and lower-cased.
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
    /// RFC 3339 with milliseconds, as GHL sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_added: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_updated: Option<String>,
    /// A string in the spec; kept as any JSON because GHL has been seen to send a list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name_lower_case: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name_lower_case: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name_lower_case: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity: Option<String>,
    /// `{id, value}`; fields without a value are left out by GHL.
    #[serde(default)]
    pub custom_fields: Vec<CustomField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution_source: Option<AttributionSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attribution_source: Option<AttributionSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_id: Option<String>,
    /// Fields GHL sent that this model does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Contact {
    /// The value of a custom field, by id.
    pub fn custom_field(&self, id: &str) -> Option<&super::custom_field::CustomFieldValue> {
        self.custom_fields
            .iter()
            .find(|f| f.id.as_deref() == Some(id))
            .and_then(|f| f.value.as_ref())
    }

    /// An update that writes back every field `PUT /contacts/{id}` accepts, as this contact has
    /// it: the start of a read-modify-write. Custom-field values go back in whatever shape GHL
    /// gave them. Fields in `extra` are NOT copied: they are mostly read-only fields GHL added to
    /// its answer, and GHL rejects unknown properties on input, so copying them would make every
    /// update fail. (A PUT changes only what it sends, so GHL keeps them anyway.)
    pub fn to_update(&self) -> UpdateContact {
        UpdateContact {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            address1: self.address1.clone(),
            city: self.city.clone(),
            state: self.state.clone(),
            postal_code: self.postal_code.clone(),
            website: self.website.clone(),
            timezone: self.timezone.clone(),
            dnd: self.dnd,
            dnd_settings: self.dnd_settings.clone(),
            tags: Some(self.tags.clone()),
            custom_fields: Some(
                self.custom_fields
                    .iter()
                    .cloned()
                    .map(CustomField::into_input)
                    .collect(),
            ),
            source: self.source.clone(),
            date_of_birth: self.date_of_birth.clone(),
            country: self.country.clone(),
            assigned_to: self.assigned_to.clone(),
            ..UpdateContact::default()
        }
    }
}

/// The answer of `POST /contacts/` (`CreateContactSchema`): a different subset from GET's.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedContact {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_added: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_updated: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub contact_type: Option<String>,
    #[serde(default)]
    pub custom_fields: Vec<CustomField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name_lower_case: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name_lower_case: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name_lower_case: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_lower_case: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounce_email: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribe_email: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnd: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnd_settings: Option<DndSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// `1990-09-25T00:00:00.000Z`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_month: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_day: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_session_activity_at: Option<String>,
    /// Strings in the spec; kept as any JSON so an unexpected shape cannot break a create.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offers: Vec<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl From<Contact> for CreatedContact {
    /// A contact found by lookup after a create whose answer was lost: the fields both shapes
    /// share are mapped, the rest (`name`, `timezone`, …) kept in `extra`.
    fn from(c: Contact) -> Self {
        serde_json::to_value(&c)
            .and_then(serde_json::from_value)
            .unwrap_or_else(|_| Self {
                id: c.id,
                ..Self::default()
            })
    }
}

/// Fields shared by create, update and upsert bodies. Clear a text field by sending `""`.
macro_rules! contact_request {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub first_name: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub last_name: Option<String>,
            /// "First Last": GHL splits it when first and last name are not given.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub name: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub email: Option<String>,
            /// Any common format; GHL stores E.164.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub phone: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub address1: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub city: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub state: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub postal_code: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub website: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub timezone: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub dnd: Option<bool>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub dnd_settings: Option<DndSettings>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub inbound_dnd_settings: Option<InboundDndSettings>,
            /// Create and update set the whole list; upsert adds to the contact's tags.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub tags: Option<Vec<String>>,
            /// Values to set, by id or key; fields not listed keep their values.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub custom_fields: Option<Vec<CustomField>>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub source: Option<String>,
            /// `YYYY-MM-DD`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub date_of_birth: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub country: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub assigned_to: Option<String>,
            $($(#[$fmeta])* #[serde(default, skip_serializing_if = "Option::is_none")] pub $field: $ty,)*
            /// Fields this model does not name, sent as given. GHL rejects properties it does not
            /// know, so only put documented fields here.
            #[serde(flatten)]
            pub extra: Map<String, Value>,
        }
    };
}

contact_request!(
    /// `POST /contacts/` (`CreateContactDto`).
    CreateContact {
        /// Filled with the client's location when `None`.
        location_id: Option<String>,
        gender: Option<String>,
        company_name: Option<String>,
    }
);

contact_request!(
    /// `PUT /contacts/{id}` (`UpdateContactDto`): only the fields set are changed. GHL's
    /// update takes neither `companyName` nor `gender`.
    UpdateContact {}
);

contact_request!(
    /// `POST /contacts/upsert` (`UpsertContactDto`): updates the contact matching the email,
    /// then the phone (by the location's duplicate settings), or creates one.
    UpsertContact {
        /// Filled with the client's location when `None`.
        location_id: Option<String>,
        gender: Option<String>,
        company_name: Option<String>,
        /// Create a new contact even when one matches, if the location allows duplicates.
        create_new_if_duplicate_allowed: Option<bool>,
    }
);

/// The answer of `POST /contacts/upsert`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpsertResult {
    /// True when the upsert created the contact, false when it updated one.
    #[serde(default)]
    pub new: bool,
    pub contact: Contact,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
