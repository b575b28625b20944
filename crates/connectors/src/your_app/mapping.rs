//! Field names: canonical ⇄ the app's JSON, as configured per kind (`kinds.<kind>.fields`), and
//! the default tables, which are the §5 contract (`fields.json` `your_app`):
//!
//! | kind | canonical | app (default) |
//! |---|---|---|
//! | contact | `first_name, last_name, email, phone, company_name, address1, city, state, postal_code, country, tags` | the same names |
//! | contact | `custom.<name>` | `custom_fields.<name>` (an object; PATCH merges its keys, `null` removes one) |
//! | contact | `x.external_ids.<app>` | `external_ids.<app>` (e.g. `x.external_ids.ghl`) |
//! | task | `title, body, due_at, completed, assigned_to` | the same names |
//! | note | `body` | `body` (the contract's notes have no title) |
//! | appointment | `title, start_at, end_at, status, notes` | the same names |
//!
//! Canonical fields the table does not name (GHL's `website`, `dnd`, a note's `title`, …) are
//! not sent: the contract refuses unknown fields with a 422, and a field the app does not keep
//! cannot round-trip anyway. Map them in the config to keep them (e.g.
//! `website: custom_fields.website`).
//!
//! How entries read:
//! - `first_name: first_name` — one field. The app side may be a dotted path into nested
//!   objects (`address.city`, `custom_fields.website`).
//! - `custom.*: custom_fields.*` — a prefix: every key of the app object becomes
//!   `custom.<key>`, and back. The rest after the prefix is one key, dots and spaces included.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// A field table: canonical name (or `prefix.*`) → app path (or `path.*`).
pub type FieldTable = BTreeMap<String, String>;

fn table(pairs: &[(&str, &str)]) -> FieldTable {
    pairs
        .iter()
        .map(|(c, a)| (c.to_string(), a.to_string()))
        .collect()
}

/// §5 contact fields.
pub fn contact_fields() -> FieldTable {
    let mut t = table(&[
        ("custom.*", "custom_fields.*"),
        ("x.external_ids.*", "external_ids.*"),
    ]);
    for name in [
        "first_name",
        "last_name",
        "email",
        "phone",
        "company_name",
        "address1",
        "city",
        "state",
        "postal_code",
        "country",
        "tags",
    ] {
        t.insert(name.into(), name.into());
    }
    t
}

/// §5 task fields.
pub fn task_fields() -> FieldTable {
    table(&[
        ("title", "title"),
        ("body", "body"),
        ("due_at", "due_at"),
        ("completed", "completed"),
        ("assigned_to", "assigned_to"),
    ])
}

/// §5 note fields.
pub fn note_fields() -> FieldTable {
    table(&[("body", "body")])
}

/// §5 appointment fields.
pub fn appointment_fields() -> FieldTable {
    table(&[
        ("title", "title"),
        ("start_at", "start_at"),
        ("end_at", "end_at"),
        ("status", "status"),
        ("notes", "notes"),
    ])
}

/// The value at a dotted path.
pub fn get_path<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut cur = obj.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

/// Sets the value at a dotted path, making the objects on the way.
pub fn set_path(obj: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            obj.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let slot = obj
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(inner) = slot {
                set_path(inner, rest, value);
            }
        }
    }
}

/// The app's JSON → canonical fields; `null`s are left out (absent and empty are one thing).
pub fn to_canonical(t: &FieldTable, app: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (canonical, path) in t {
        match (canonical.strip_suffix('*'), path.strip_suffix(".*")) {
            (Some(prefix), Some(app_path)) => {
                let Some(Value::Object(m)) = get_path(app, app_path) else {
                    continue;
                };
                for (k, v) in m.iter().filter(|(_, v)| !v.is_null()) {
                    out.insert(format!("{prefix}{k}"), v.clone());
                }
            }
            _ => {
                if let Some(v) = get_path(app, path).filter(|v| !v.is_null()) {
                    out.insert(canonical.clone(), v.clone());
                }
            }
        }
    }
    out
}

/// Canonical fields → the app's JSON, and the canonical fields the table cannot place.
pub fn to_app(t: &FieldTable, fields: &Map<String, Value>) -> (Map<String, Value>, Vec<String>) {
    let mut out = Map::new();
    let mut unmapped = Vec::new();
    for (name, value) in fields {
        match app_path(t, name) {
            Some(path) => set_path(&mut out, &path, value.clone()),
            None => unmapped.push(name.clone()),
        }
    }
    (out, unmapped)
}

/// Where a canonical field goes in the app's JSON, if anywhere.
pub fn app_path(t: &FieldTable, canonical: &str) -> Option<String> {
    if let Some(path) = t.get(canonical).filter(|_| !canonical.ends_with('*')) {
        return Some(path.clone());
    }
    t.iter().find_map(|(c, a)| {
        let prefix = c.strip_suffix('*')?;
        let app_prefix = a.strip_suffix('*')?;
        let rest = canonical.strip_prefix(prefix).filter(|r| !r.is_empty())?;
        Some(format!("{app_prefix}{rest}"))
    })
}

/// Checks a table: prefixes on both sides or neither, no empty names.
pub fn check(t: &FieldTable) -> Result<(), String> {
    for (c, a) in t {
        if c.is_empty() || a.is_empty() {
            return Err("empty field name".into());
        }
        if c.ends_with('*') != a.ends_with(".*") {
            return Err(format!(
                "{c}: {a}: a prefix entry ends with `*` on the canonical side and `.*` on the app side"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_with_prefixes_and_paths() {
        let mut t = contact_fields();
        t.insert("website".into(), "custom_fields.website".into());
        let app = json!({"first_name": "Ada", "email": null, "tags": ["a"],
            "custom_fields": {"Lead Score": 3, "website": "w", "gone": null},
            "external_ids": {"ghl": "g1"}, "version": 4});
        let canonical = to_canonical(&t, app.as_object().unwrap());
        assert_eq!(
            Value::Object(canonical.clone()),
            json!({"first_name": "Ada", "tags": ["a"], "custom.Lead Score": 3,
                "custom.website": "w", "website": "w", "x.external_ids.ghl": "g1"})
        );
        let mut fields = canonical;
        fields.remove("custom.website");
        fields.insert("dnd".into(), json!(true));
        let (back, unmapped) = to_app(&t, &fields);
        assert_eq!(unmapped, vec!["dnd".to_string()]);
        assert_eq!(
            Value::Object(back),
            json!({"first_name": "Ada", "tags": ["a"],
                "custom_fields": {"Lead Score": 3, "website": "w"}, "external_ids": {"ghl": "g1"}})
        );
        assert!(check(&t).is_ok());
        t.insert("custom2.*".into(), "other".into());
        assert!(check(&t).is_err());
    }
}
