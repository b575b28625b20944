//! Custom fields of Insightly records.
//!
//! Insightly names them `<Name>__c` (`Hobby__c`) and gives each a label
//! (`Hobby`) in `GET /CustomFields/{Object}`. The canonical name is `custom.<Label>`, the human
//! name, as GHL's `custom.<Field Name>`, so the identity mapping pairs fields named alike in both
//! apps. A write of `custom.<Name>` goes to the definition whose label is `<Name>` (ignoring
//! case), else whose `FIELD_NAME` is `<Name>` (`custom.Hobby__c` works too), else whose
//! `FIELD_NAME` is `<Name>` with every character other than a letter or digit replaced by `_`,
//! plus `__c` (`custom.Lead Score` → `Lead_Score__c`, Insightly's own rule). A name no
//! definition matches is not sent (logged). Multi-select values are `;`-joined text in
//! Insightly and lists canonically; date fields convert like other times. A dropdown or
//! multi-select value that is not one of the field's choices (matched ignoring case, written in
//! Insightly's spelling) is not sent either, and logged: Insightly would refuse the whole record
//! for it, and another app's choices often differ.

use serde_json::{json, Value};

use super::mapping::CUSTOM_PREFIX;
use super::models::{app_time, canonical_time, parse_time, text_value};

/// One custom-field definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomDef {
    pub name: String,
    pub label: String,
    pub ty: String,
    /// The choices of a `DROPDOWN` or `MULTISELECT` field (empty: not listed, not checked).
    pub options: Vec<String>,
}

/// An object's custom-field definitions (`GET /CustomFields/{Object}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomDefs {
    defs: Vec<CustomDef>,
}

/// `Lead Score` → `Lead_Score__c`, Insightly's naming rule.
pub fn derived_field_name(label: &str) -> String {
    let stem: String = label
        .trim()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{stem}__c")
}

impl CustomDefs {
    /// From the metadata list Insightly answers.
    pub fn from_json(list: &Value) -> Self {
        let defs = list
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| {
                let name = d.get("FIELD_NAME")?.as_str()?.to_string();
                let label = d
                    .get("FIELD_LABEL")
                    .and_then(Value::as_str)
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_string)
                    .unwrap_or_else(|| fallback_label(&name));
                let ty = d
                    .get("FIELD_TYPE")
                    .and_then(Value::as_str)
                    .unwrap_or("TEXT")
                    .to_ascii_uppercase();
                let options = d
                    .get("CUSTOM_FIELD_OPTIONS")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|o| o.get("OPTION_VALUE")?.as_str().map(str::to_string))
                    .collect();
                Some(CustomDef {
                    name,
                    label,
                    ty,
                    options,
                })
            })
            .collect();
        Self { defs }
    }

    /// The canonical name (`custom.<Label>`) of a field name.
    pub fn canonical(&self, field_name: &str) -> String {
        let label = self
            .defs
            .iter()
            .find(|d| d.name == field_name)
            .map(|d| d.label.clone())
            .unwrap_or_else(|| fallback_label(field_name));
        format!("{CUSTOM_PREFIX}{label}")
    }

    /// The definition a canonical name (after `custom.`) writes to (see the module docs).
    pub fn resolve(&self, name: &str) -> Option<&CustomDef> {
        let derived = derived_field_name(name);
        self.defs
            .iter()
            .find(|d| d.label.eq_ignore_ascii_case(name.trim()))
            .or_else(|| self.defs.iter().find(|d| d.name == name.trim()))
            .or_else(|| {
                self.defs
                    .iter()
                    .find(|d| d.name.eq_ignore_ascii_case(&derived))
            })
    }

    fn type_of(&self, field_name: &str) -> &str {
        self.defs
            .iter()
            .find(|d| d.name == field_name)
            .map_or("TEXT", |d| d.ty.as_str())
    }
}

/// `Hobby__c` → `Hobby`, `Lead_Score__c` → `Lead Score`, when no label is known.
pub(crate) fn fallback_label(field_name: &str) -> String {
    field_name
        .strip_suffix("__c")
        .unwrap_or(field_name)
        .replace('_', " ")
}

pub(crate) fn custom_read(defs: &CustomDefs, name: &str, v: &Value) -> Option<Value> {
    match (defs.type_of(name), v) {
        (_, Value::Null) => None,
        ("MULTISELECT", Value::String(s)) => Some(Value::Array(
            s.split(';')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| json!(p))
                .collect(),
        )),
        ("DATE" | "DATETIME", Value::String(s)) => {
            Some(parse_time(s).map_or_else(|| v.clone(), |t| json!(canonical_time(t))))
        }
        _ => Some(v.clone()),
    }
}

/// A value for a custom field, or `None` when a choice field is given a value it does not
/// offer (Insightly would refuse the whole record for it).
pub(crate) fn custom_write(def: &CustomDef, v: &Value) -> Option<Value> {
    let choice = |text: &str| -> Option<String> {
        if def.options.is_empty() {
            return Some(text.trim().to_string());
        }
        def.options
            .iter()
            .find(|o| o.eq_ignore_ascii_case(text.trim()))
            .cloned()
    };
    Some(match (def.ty.as_str(), v) {
        (_, Value::Null) => Value::Null,
        ("MULTISELECT", Value::Array(items)) => {
            let parts: Option<Vec<String>> = items
                .iter()
                .filter_map(text_value)
                .map(|t| choice(&t))
                .collect();
            json!(parts?.join(";"))
        }
        ("MULTISELECT", Value::String(s)) => {
            let parts: Option<Vec<String>> = s
                .split(';')
                .filter(|p| !p.trim().is_empty())
                .map(choice)
                .collect();
            json!(parts?.join(";"))
        }
        ("DROPDOWN", _) => json!(choice(&text_value(v)?)?),
        ("DATE" | "DATETIME", Value::String(s)) => {
            parse_time(s).map_or_else(|| v.clone(), |t| json!(app_time(t)))
        }
        _ => v.clone(),
    })
}
