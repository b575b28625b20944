//! One method per Contacts-API operation, on [`crate::GhlClient`].

mod contacts;
mod misc;
mod related;
mod search;
