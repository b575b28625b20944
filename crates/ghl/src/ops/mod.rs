//! One method per Contacts-API operation, on [`crate::GhlClient`].

mod contacts;
mod locations;
mod misc;
mod related;
mod search;

/// One path segment, percent-encoded, so an id can never reach another route.
pub(crate) fn seg(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
