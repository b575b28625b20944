//! Match keys: how the engine recognises the same person (or task …) in two apps on first sight.

use connectors::{EntityKind, MatchKey, Record};

use crate::flow::normalize_email;
use crate::flow::normalize_phone;
use crate::flow::MatchOn;

/// Country assumed for phone numbers written without one.
pub const DEFAULT_COUNTRY: &str = "US";

/// The normalised keys of a record, strongest first, as identity-store strings
/// (`email:ada@example.com`, `phone:+15551234567`) and as connector lookups.
pub fn keys_of(record: &Record, match_on: &[MatchOn]) -> Vec<(String, MatchKey)> {
    let mut out = Vec::new();
    if record.kind != EntityKind::Contact {
        return out;
    }
    for m in match_on {
        match m {
            MatchOn::Email => {
                if let Some(e) = record.text("email").and_then(normalize_email) {
                    out.push((format!("email:{e}"), MatchKey::Email(e)));
                }
            }
            MatchOn::Phone => {
                if let Some(p) = record
                    .text("phone")
                    .and_then(|p| normalize_phone(p, DEFAULT_COUNTRY).ok())
                {
                    out.push((format!("phone:{p}"), MatchKey::Phone(p)));
                }
            }
            MatchOn::ExternalId => {}
        }
    }
    out
}

/// The store key naming a record's own id in its connection (`ext:<connection>:<id>`), which
/// lets the other app's stored external id find it.
pub fn external_key(connection: &str, kind: EntityKind, id: &str) -> String {
    format!("ext:{connection}:{kind}:{id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn contacts_get_normalised_keys_in_order() {
        let fields = json!({"email": " Ada@Example.COM ", "phone": "(555) 123-4567"});
        let r = Record::new(
            EntityKind::Contact,
            "c1",
            fields.as_object().cloned().unwrap_or_default(),
        );
        let keys = keys_of(&r, &[MatchOn::Email, MatchOn::Phone]);
        assert_eq!(keys[0].0, "email:ada@example.com");
        assert_eq!(keys[1].0, "phone:+15551234567");
        assert!(keys_of(&r, &[MatchOn::ExternalId]).is_empty());
    }
}
