//! The default field mapping between GHL's JSON names and the canonical record (see
//! [`crate::record`]). [`super::models`] converts by these tables, so this file is the one place
//! to read (and change) what maps to what.
//!
//! | kind | canonical | GHL | notes |
//! |---|---|---|---|
//! | contact | `first_name` … `source` | `firstName` … `source` | plain text, see [`CONTACT_TEXT`] |
//! | contact | `company_name` | `companyName` | **create only**: GHL's `PUT /contacts/{id}` refuses `companyName`, so an update skips it (logged) |
//! | contact | `dnd` | `dnd` | global DND (every channel); per-channel `dndSettings` stay in GHL |
//! | contact | `tags` | `tags` | GHL stores tags trimmed and lower-cased; updates send an add/remove diff |
//! | contact | `business_id` | `businessId` | written with `POST /contacts/bulk/business` (create and update DTOs lack it) |
//! | contact | `custom.<Name>` | `customFields[{id, value}]` | by the location's definitions (`GET /locations/{id}/customFields`); an id without a definition reads as `x.custom.<id>` |
//! | task | `title, body, due_at, completed, assigned_to` | `title, body, dueDate, completed, assignedTo` | GHL requires `title` and `dueDate` on create |
//! | note | `body, title` | `body, title` | |
//! | appointment | `title, start_at, end_at, status, notes, address` | `title, startTime, endTime, appointmentStatus` (else `status`), `notes, address` | read only |
//! | business | `name` | `companyName` of its contacts | read only; GHL's Contacts API has no business object |
//! | tag | `name` | an entry of the contact's `tags` | id = the tag itself, parent = the contact |
//!
//! Times are RFC 3339 in UTC on the canonical side (`2030-01-02T03:04:05Z`); GHL's
//! `2021-07-16 11:00:00` style is read as UTC.

/// One canonical field and the GHL JSON field it maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldMap {
    pub canonical: &'static str,
    pub ghl: &'static str,
    /// Whether `PUT` (update) accepts it; all of them are accepted on create.
    pub on_update: bool,
}

const fn both(canonical: &'static str, ghl: &'static str) -> FieldMap {
    FieldMap {
        canonical,
        ghl,
        on_update: true,
    }
}

/// Contact fields that are plain text on both sides.
pub const CONTACT_TEXT: &[FieldMap] = &[
    both("first_name", "firstName"),
    both("last_name", "lastName"),
    both("email", "email"),
    both("phone", "phone"),
    FieldMap {
        canonical: "company_name",
        ghl: "companyName",
        on_update: false,
    },
    both("address1", "address1"),
    both("city", "city"),
    both("state", "state"),
    both("postal_code", "postalCode"),
    both("country", "country"),
    both("website", "website"),
    both("timezone", "timezone"),
    both("source", "source"),
];

/// Contact fields with their own handling (see the module table).
pub const CONTACT_SPECIAL: &[&str] = &["dnd", "tags", "business_id"];

/// Prefix of custom fields on the canonical side: `custom.<Field Name>`.
pub const CUSTOM_PREFIX: &str = "custom.";

/// Prefix of a custom-field value whose id has no definition (read only).
pub const UNKNOWN_CUSTOM_PREFIX: &str = "x.custom.";

/// Task fields (`due_at` is a time, `completed` a bool, the rest text).
pub const TASK: &[FieldMap] = &[
    both("title", "title"),
    both("body", "body"),
    both("due_at", "dueDate"),
    both("completed", "completed"),
    both("assigned_to", "assignedTo"),
];

/// Note fields.
pub const NOTE: &[FieldMap] = &[both("body", "body"), both("title", "title")];

/// Appointment fields (read only). `status` reads `appointmentStatus`, else `status`.
pub const APPOINTMENT: &[FieldMap] = &[
    both("title", "title"),
    both("start_at", "startTime"),
    both("end_at", "endTime"),
    both("status", "appointmentStatus"),
    both("notes", "notes"),
    both("address", "address"),
];

/// Canonical fields holding a time, normalised to RFC 3339 UTC when read.
pub const TIME_FIELDS: &[&str] = &["due_at", "start_at", "end_at"];

/// The GHL name of a canonical field of a table.
pub fn ghl_name(table: &[FieldMap], canonical: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|f| f.canonical == canonical)
        .map(|f| f.ghl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_no_repeats() {
        for table in [CONTACT_TEXT, TASK, NOTE, APPOINTMENT] {
            let mut names: Vec<_> = table.iter().map(|f| f.canonical).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), table.len());
        }
        assert_eq!(ghl_name(CONTACT_TEXT, "postal_code"), Some("postalCode"));
        assert_eq!(ghl_name(TASK, "due_at"), Some("dueDate"));
    }
}
