//! Typed requests and answers of the Contacts API (`spec/ghl/contacts.json`). Every model keeps
//! fields it does not know in `extra`, so a read-modify-write never drops what GHL added.

pub mod appointment;
pub mod contact;
pub mod custom_field;
pub mod location;
pub mod misc;
pub mod note;
pub mod search;
pub mod task;
