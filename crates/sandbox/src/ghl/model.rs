//! The objects a GHL location holds, and their JSON shapes as the Contacts API returns them.
//!
//! Each response schema of `spec/ghl/contacts.json` gets its own serializer, because GHL returns
//! a different subset of a contact on create, on get, in search results and in webhooks.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

/// Formats a timestamp the way GHL does: RFC 3339 with milliseconds and `Z`.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A custom field defined on a location (GHL's "custom fields" settings page).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomFieldDef {
    pub id: String,
    pub name: String,
    /// `contact.<key>`, the key GHL accepts in place of the id.
    pub field_key: String,
    /// TEXT, LARGE_TEXT, SINGLE_OPTIONS, RADIO, NUMERICAL, MONETORY, CHECKBOX, MULTIPLE_OPTIONS, FILE_UPLOAD
    pub data_type: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub picklist_options: Vec<String>,
}

/// A business (company record) that contacts can be linked to.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Business {
    pub id: String,
    pub name: String,
}

/// A GHL sub-account.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub id: String,
    pub name: String,
    pub address: String,
    /// GHL's "allow duplicate contacts" setting; off by default, as in GHL.
    pub allow_duplicates: bool,
    pub custom_fields: Vec<CustomFieldDef>,
    pub businesses: Vec<Business>,
}

impl Location {
    /// Finds a custom field by id, `contact.key` or bare key.
    pub fn custom_field(&self, id_or_key: &str) -> Option<&CustomFieldDef> {
        let bare = id_or_key.strip_prefix("contact.").unwrap_or(id_or_key);
        self.custom_fields.iter().find(|f| {
            f.id == id_or_key
                || f.field_key == id_or_key
                || f.field_key.strip_prefix("contact.") == Some(bare)
        })
    }
}

/// A contact with everything the Contacts API can set or show.
#[derive(Debug, Clone, Default)]
pub struct Contact {
    pub id: String,
    pub location_id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company_name: Option<String>,
    pub address1: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub website: Option<String>,
    pub timezone: Option<String>,
    pub source: Option<String>,
    pub gender: Option<String>,
    pub assigned_to: Option<String>,
    pub date_of_birth: Option<String>,
    pub contact_type: String,
    pub dnd: bool,
    /// `{Call|Email|SMS|WhatsApp|GMB|FB: {status, message, code}}`
    pub dnd_settings: Map<String, Value>,
    pub inbound_dnd_settings: Map<String, Value>,
    pub tags: Vec<String>,
    /// (custom field id, value) in definition order of arrival.
    pub custom_fields: Vec<(String, Value)>,
    pub business_id: Option<String>,
    pub followers: Vec<String>,
    pub campaigns: Vec<String>,
    pub workflows: Vec<String>,
    pub attribution_source: Option<Value>,
    pub date_added: DateTime<Utc>,
    pub date_updated: DateTime<Utc>,
}

fn put(m: &mut Map<String, Value>, key: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.insert(key.to_string(), Value::String(v.clone()));
    }
}

impl Contact {
    /// "First Last", as GHL's `name` / `contactName`.
    pub fn full_name(&self) -> Option<String> {
        let parts: Vec<&str> = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if parts.is_empty() {
            None
        } else {
            Some(parts.join(" "))
        }
    }

    /// Free-text match of GHL's `query` parameter: names, email, phone and company, ignoring case.
    /// `needle` must already be lower-case.
    pub fn matches_text(&self, needle: &str) -> bool {
        [
            &self.first_name,
            &self.last_name,
            &self.email,
            &self.phone,
            &self.company_name,
        ]
        .iter()
        .filter_map(|f| f.as_ref())
        .any(|v| v.to_lowercase().contains(needle))
            || self
                .full_name()
                .is_some_and(|n| n.to_lowercase().contains(needle))
    }

    fn custom_fields_json(&self) -> Value {
        Value::Array(
            self.custom_fields
                .iter()
                .map(|(id, v)| json!({"id": id, "value": v}))
                .collect(),
        )
    }

    fn common(&self, m: &mut Map<String, Value>) {
        m.insert("id".into(), json!(self.id));
        m.insert("locationId".into(), json!(self.location_id));
        put(m, "firstName", &self.first_name);
        put(m, "lastName", &self.last_name);
        put(m, "email", &self.email);
        put(m, "phone", &self.phone);
        put(m, "address1", &self.address1);
        put(m, "city", &self.city);
        put(m, "state", &self.state);
        put(m, "country", &self.country);
        put(m, "postalCode", &self.postal_code);
        put(m, "website", &self.website);
        put(m, "source", &self.source);
        put(m, "assignedTo", &self.assigned_to);
        put(m, "dateOfBirth", &self.date_of_birth);
        put(m, "businessId", &self.business_id);
        m.insert("tags".into(), json!(self.tags));
        m.insert("customFields".into(), self.custom_fields_json());
        m.insert("dateAdded".into(), json!(iso(self.date_added)));
    }

    fn lower_names(&self, m: &mut Map<String, Value>) {
        put(
            m,
            "emailLowerCase",
            &self.email.as_ref().map(|e| e.to_lowercase()),
        );
        put(
            m,
            "firstNameLowerCase",
            &self.first_name.as_ref().map(|e| e.to_lowercase()),
        );
        put(
            m,
            "lastNameLowerCase",
            &self.last_name.as_ref().map(|e| e.to_lowercase()),
        );
        put(
            m,
            "fullNameLowerCase",
            &self.full_name().map(|e| e.to_lowercase()),
        );
    }

    /// `GetContectByIdSchema`: GET, PUT and upsert answers.
    pub fn to_full_json(&self) -> Value {
        let mut m = Map::new();
        self.common(&mut m);
        self.lower_names(&mut m);
        put(&mut m, "name", &self.full_name());
        put(&mut m, "companyName", &self.company_name);
        put(&mut m, "timezone", &self.timezone);
        m.insert("type".into(), json!(self.contact_type));
        m.insert("dnd".into(), json!(self.dnd));
        if !self.dnd_settings.is_empty() {
            m.insert(
                "dndSettings".into(),
                Value::Object(self.dnd_settings.clone()),
            );
        }
        m.insert("dateUpdated".into(), json!(iso(self.date_updated)));
        if let Some(a) = &self.attribution_source {
            m.insert("attributionSource".into(), a.clone());
        }
        Value::Object(m)
    }

    /// `CreateContactSchema`: the answer of `POST /contacts/`.
    pub fn to_created_json(&self) -> Value {
        let mut m = Map::new();
        self.common(&mut m);
        self.lower_names(&mut m);
        put(&mut m, "companyName", &self.company_name);
        m.insert("type".into(), json!(self.contact_type));
        m.insert("dnd".into(), json!(self.dnd));
        if !self.dnd_settings.is_empty() {
            m.insert(
                "dndSettings".into(),
                Value::Object(self.dnd_settings.clone()),
            );
        }
        m.insert("deleted".into(), json!(false));
        m.insert("dateUpdated".into(), json!(iso(self.date_updated)));
        Value::Object(m)
    }

    /// `ContactsSearchSchema` plus the fields GHL's list endpoints return beyond the spec
    /// (`contactName`, names, phone, …): the legacy list and the business list.
    pub fn to_list_json(&self) -> Value {
        let mut m = Map::new();
        self.common(&mut m);
        put(
            &mut m,
            "contactName",
            &self.full_name().map(|n| n.to_lowercase()),
        );
        put(&mut m, "companyName", &self.company_name);
        put(&mut m, "timezone", &self.timezone);
        m.insert("type".into(), json!(self.contact_type));
        m.insert("dnd".into(), json!(self.dnd));
        m.insert("followers".into(), json!(self.followers));
        m.insert("dateUpdated".into(), json!(iso(self.date_updated)));
        Value::Object(m)
    }

    /// Search results: the full contact plus followers (the `searchAfter` key is added by search).
    pub fn to_search_json(&self) -> Value {
        let mut v = self.to_full_json();
        if let Value::Object(m) = &mut v {
            m.insert("followers".into(), json!(self.followers));
        }
        v
    }

    /// Contact webhook payload body (without `type`, which the caller adds).
    pub fn to_webhook_json(&self, with_dnd_settings: bool) -> Map<String, Value> {
        let mut m = Map::new();
        self.common(&mut m);
        put(&mut m, "name", &self.full_name());
        put(&mut m, "companyName", &self.company_name);
        m.insert("dnd".into(), json!(self.dnd));
        m.insert("attachments".into(), json!([]));
        if with_dnd_settings {
            m.insert(
                "dndSettings".into(),
                Value::Object(self.dnd_settings.clone()),
            );
        }
        m
    }
}

/// A task on a contact.
#[derive(Debug, Clone)]
pub struct Task {
    pub id: String,
    pub contact_id: String,
    pub location_id: String,
    pub title: String,
    pub body: Option<String>,
    pub due_date: String,
    pub completed: bool,
    pub assigned_to: Option<String>,
    pub date_added: DateTime<Utc>,
    pub date_updated: DateTime<Utc>,
}

impl Task {
    /// `TaskSchema`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("title".into(), json!(self.title));
        put(&mut m, "body", &self.body);
        put(&mut m, "assignedTo", &self.assigned_to);
        m.insert("dueDate".into(), json!(self.due_date));
        m.insert("completed".into(), json!(self.completed));
        m.insert("contactId".into(), json!(self.contact_id));
        Value::Object(m)
    }

    /// Task webhook payload body.
    pub fn to_webhook_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        put(&mut m, "assignedTo", &self.assigned_to);
        put(&mut m, "body", &self.body);
        m.insert("contactId".into(), json!(self.contact_id));
        m.insert("title".into(), json!(self.title));
        m.insert("dateAdded".into(), json!(iso(self.date_added)));
        m.insert("dueDate".into(), json!(self.due_date));
        m
    }
}

/// A note on a contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub id: String,
    pub contact_id: String,
    pub location_id: String,
    pub body: String,
    pub user_id: Option<String>,
    pub title: Option<String>,
    pub color: Option<String>,
    pub pinned: bool,
    pub date_added: DateTime<Utc>,
}

impl Note {
    /// `GetNoteSchema`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("body".into(), json!(self.body));
        put(&mut m, "userId", &self.user_id);
        m.insert("dateAdded".into(), json!(iso(self.date_added)));
        m.insert("contactId".into(), json!(self.contact_id));
        put(&mut m, "title", &self.title);
        put(&mut m, "color", &self.color);
        m.insert("pinned".into(), json!(self.pinned));
        Value::Object(m)
    }

    /// Note webhook payload body.
    pub fn to_webhook_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("body".into(), json!(self.body));
        m.insert("contactId".into(), json!(self.contact_id));
        m.insert("dateAdded".into(), json!(iso(self.date_added)));
        m
    }
}

/// An appointment (calendar event) of a contact. The Contacts API only reads these; they change
/// through calendars, which the sandbox admin API stands in for.
#[derive(Debug, Clone)]
pub struct Appointment {
    pub id: String,
    pub contact_id: String,
    pub location_id: String,
    pub calendar_id: String,
    pub title: String,
    pub status: String,
    pub appointment_status: String,
    pub assigned_user_id: Option<String>,
    pub notes: Option<String>,
    pub address: Option<String>,
    pub start_time: String,
    pub end_time: String,
    pub users: Vec<String>,
    pub date_added: DateTime<Utc>,
    pub date_updated: DateTime<Utc>,
}

impl Appointment {
    /// `GetEventSchema`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("calendarId".into(), json!(self.calendar_id));
        m.insert("status".into(), json!(self.status));
        m.insert("title".into(), json!(self.title));
        put(&mut m, "assignedUserId", &self.assigned_user_id);
        put(&mut m, "notes", &self.notes);
        m.insert("startTime".into(), json!(self.start_time));
        m.insert("endTime".into(), json!(self.end_time));
        put(&mut m, "address", &self.address);
        m.insert("locationId".into(), json!(self.location_id));
        m.insert("contactId".into(), json!(self.contact_id));
        m.insert("appointmentStatus".into(), json!(self.appointment_status));
        m.insert("users".into(), json!(self.users));
        m.insert("dateAdded".into(), json!(iso(self.date_added)));
        m.insert("dateUpdated".into(), json!(iso(self.date_updated)));
        Value::Object(m)
    }

    /// Appointment webhook payload: `{appointment: {...}}`.
    pub fn to_webhook_json(&self) -> Map<String, Value> {
        let mut a = Map::new();
        a.insert("id".into(), json!(self.id));
        put(&mut a, "address", &self.address);
        a.insert("title".into(), json!(self.title));
        a.insert("calendarId".into(), json!(self.calendar_id));
        a.insert("contactId".into(), json!(self.contact_id));
        a.insert("groupId".into(), json!(self.calendar_id));
        a.insert("appointmentStatus".into(), json!(self.appointment_status));
        put(&mut a, "assignedUserId", &self.assigned_user_id);
        a.insert("users".into(), json!(self.users));
        put(&mut a, "notes", &self.notes);
        a.insert("source".into(), json!("booking_widget"));
        a.insert("startTime".into(), json!(self.start_time));
        a.insert("endTime".into(), json!(self.end_time));
        a.insert("dateAdded".into(), json!(iso(self.date_added)));
        a.insert("dateUpdated".into(), json!(iso(self.date_updated)));
        let mut m = Map::new();
        m.insert("appointment".into(), Value::Object(a));
        m
    }
}
