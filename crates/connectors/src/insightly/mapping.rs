//! The default field mapping between Insightly's JSON names and the canonical record (see
//! [`crate::record`]). [`super::models`] converts by these tables, so this file is the one place
//! to read (and change) what maps to what.
//!
//! | kind (Insightly object) | canonical | Insightly | notes |
//! |---|---|---|---|
//! | contact (`Contacts`) | `first_name, last_name, email, phone` | `FIRST_NAME, LAST_NAME, EMAIL_ADDRESS, PHONE` | `FIRST_NAME` is required: a contact without one is written with [`NO_NAME`], which reads back as no first name |
//! | contact | `address1, city, state, postal_code, country` | `ADDRESS_MAIL_STREET, _CITY, _STATE, _POSTCODE, _COUNTRY` | the mailing address |
//! | contact | `dnd` | `EMAIL_OPTED_OUT` | Insightly has only the email opt-out |
//! | contact | `tags` | `TAGS[].TAG_NAME` | create: in the POST; update: one `POST`/`DELETE …/Tags` per added/removed tag (ignoring case), so tags set meanwhile by someone else stay |
//! | contact | `business_id` | `ORGANISATION_ID` | Insightly's organisation id, as text; an id that is not a number (another app's) is not sent |
//! | contact | `company_name` | the name of `ORGANISATION_ID` | written by finding the organisation by exact name (ignoring case) or creating it |
//! | contact | `custom.<Label>` | `CUSTOMFIELDS[{FIELD_NAME: "<Name>__c"}]` | see [`super::models::CustomDefs`] |
//! | contact | `x.salutation, x.title, x.phone_mobile, x.background, x.date_of_birth` | `SALUTATION, TITLE, PHONE_MOBILE, BACKGROUND, DATE_OF_BIRTH` | Insightly-only fields, for mappings that want them |
//! | task (`Tasks`) | `title, body, due_at, completed` | `TITLE, DETAILS, DUE_DATE, COMPLETED` | `TITLE` is required |
//! | task | `assigned_to` | `RESPONSIBLE_USER_ID` | an Insightly user id; one that is not a number is not sent |
//! | task | `x.status, x.priority, x.start_at` | `STATUS, PRIORITY, START_DATE` | |
//! | note (`Notes`) | `body, title` | `BODY, TITLE` | `TITLE` is required: when absent it is the body's first line; a title equal to that reads back as no title |
//! | appointment (`Events`) | `title, start_at, end_at, notes, address` | `TITLE, START_DATE_UTC, END_DATE_UTC, DETAILS, LOCATION` | start and end are required; `status` has no Insightly field |
//! | appointment | `x.all_day` | `ALL_DAY` | |
//! | business (`Organisations`) | `name` | `ORGANISATION_NAME` | plus `x.website, x.phone` ⇄ `WEBSITE, PHONE` |
//! | tag | `name` | one `TAG_NAME` of the contact | id = the tag itself, parent = the contact |
//!
//! Tasks, notes and events hang off their contact through `LINKS` (`LINK_OBJECT_NAME`
//! `Contact`, read ignoring case and singular or plural): the first contact link is the
//! record's `parent_id`. Times are RFC 3339 UTC on the canonical side
//! (`2030-01-02T03:04:05Z`) and `YYYY-MM-DD HH:MM:SS` UTC on Insightly's.

/// One canonical field and the Insightly field it maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldMap {
    pub canonical: &'static str,
    pub insightly: &'static str,
    pub ty: FieldType,
}

/// How a value converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    Bool,
    /// An RFC 3339 time ⇄ `YYYY-MM-DD HH:MM:SS`.
    Time,
    /// An integer id ⇄ its text (`business_id`, `assigned_to`).
    IdText,
    /// A number, kept as it is.
    Number,
}

const fn f(canonical: &'static str, insightly: &'static str, ty: FieldType) -> FieldMap {
    FieldMap {
        canonical,
        insightly,
        ty,
    }
}

use FieldType::{Bool, IdText, Number, Text, Time};

/// Contact fields converted one to one (tags, organisation and custom fields apart).
pub const CONTACT: &[FieldMap] = &[
    f("first_name", "FIRST_NAME", Text),
    f("last_name", "LAST_NAME", Text),
    f("email", "EMAIL_ADDRESS", Text),
    f("phone", "PHONE", Text),
    f("address1", "ADDRESS_MAIL_STREET", Text),
    f("city", "ADDRESS_MAIL_CITY", Text),
    f("state", "ADDRESS_MAIL_STATE", Text),
    f("postal_code", "ADDRESS_MAIL_POSTCODE", Text),
    f("country", "ADDRESS_MAIL_COUNTRY", Text),
    f("dnd", "EMAIL_OPTED_OUT", Bool),
    f("business_id", "ORGANISATION_ID", IdText),
    f("x.salutation", "SALUTATION", Text),
    f("x.title", "TITLE", Text),
    f("x.phone_mobile", "PHONE_MOBILE", Text),
    f("x.background", "BACKGROUND", Text),
    f("x.date_of_birth", "DATE_OF_BIRTH", Time),
];

/// Task fields.
pub const TASK: &[FieldMap] = &[
    f("title", "TITLE", Text),
    f("body", "DETAILS", Text),
    f("due_at", "DUE_DATE", Time),
    f("completed", "COMPLETED", Bool),
    f("assigned_to", "RESPONSIBLE_USER_ID", IdText),
    f("x.status", "STATUS", Text),
    f("x.priority", "PRIORITY", Number),
    f("x.start_at", "START_DATE", Time),
];

/// Note fields.
pub const NOTE: &[FieldMap] = &[f("title", "TITLE", Text), f("body", "BODY", Text)];

/// Event (appointment) fields.
pub const EVENT: &[FieldMap] = &[
    f("title", "TITLE", Text),
    f("start_at", "START_DATE_UTC", Time),
    f("end_at", "END_DATE_UTC", Time),
    f("notes", "DETAILS", Text),
    f("address", "LOCATION", Text),
    f("x.all_day", "ALL_DAY", Bool),
];

/// Organisation (business) fields.
pub const ORGANISATION: &[FieldMap] = &[
    f("name", "ORGANISATION_NAME", Text),
    f("x.website", "WEBSITE", Text),
    f("x.phone", "PHONE", Text),
];

/// Canonical contact fields with their own handling.
pub const CONTACT_SPECIAL: &[&str] = &["tags", "company_name"];

/// Prefix of custom fields on the canonical side: `custom.<Label>`.
pub const CUSTOM_PREFIX: &str = "custom.";

/// Written as `FIRST_NAME` when a contact has none (Insightly requires one); read back as no
/// first name, so it never flows to another app.
pub const NO_NAME: &str = "(no name)";

/// The longest note title Insightly takes.
pub const MAX_TITLE: usize = 255;

/// The Insightly name of a canonical field of a table.
pub fn insightly_name(table: &[FieldMap], canonical: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|m| m.canonical == canonical)
        .map(|m| m.insightly)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_no_repeats_on_either_side() {
        for table in [CONTACT, TASK, NOTE, EVENT, ORGANISATION] {
            for side in [0, 1] {
                let mut names: Vec<_> = table
                    .iter()
                    .map(|m| if side == 0 { m.canonical } else { m.insightly })
                    .collect();
                names.sort_unstable();
                names.dedup();
                assert_eq!(names.len(), table.len());
            }
        }
        assert_eq!(
            insightly_name(CONTACT, "postal_code"),
            Some("ADDRESS_MAIL_POSTCODE")
        );
        assert_eq!(insightly_name(TASK, "body"), Some("DETAILS"));
    }
}
