//! Custom-field values in every shape GHL uses.
//!
//! GHL answers with `{"id": …, "value": …}` (GET, create, upsert, search, webhooks) and takes
//! `{"id"|"key": …, "field_value": …}` on create, update and upsert. The value is a string (text,
//! large text, single select, radio, dates), a number (numeric, monetary), a list of strings
//! (checkbox, multi select) or an object (file upload: one entry per uploaded file). One type,
//! [`CustomField`], reads and writes all of them and remembers which name the value came under,
//! so a record read from GHL serializes back exactly as it was read.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};

/// A custom-field value. Variants are tried in order when reading, so `"42"` stays text and `42`
/// stays a number: GHL's own coercion by field type decides what a text value means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CustomFieldValue {
    /// Sent as `null`, clears the field; GHL answers leave cleared fields out instead.
    Null,
    /// Text, large text, single select, radio, date (as GHL formats it).
    Text(String),
    /// Numeric and monetary fields; `Number` keeps `100` and `100.5` apart.
    Number(Number),
    /// Checkbox and multi-select options.
    Options(Vec<String>),
    /// File upload: `{<uuid>: {meta, url, documentId}, …}`, kept as GHL sent it.
    Object(Map<String, Value>),
    /// Anything else (a boolean, a list of non-strings), kept verbatim.
    Other(Value),
}

impl CustomFieldValue {
    /// The text, if this is a text value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The number as `f64`, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Number(n) => n.as_f64(),
            _ => None,
        }
    }
}

impl From<&str> for CustomFieldValue {
    fn from(s: &str) -> Self {
        Self::Text(s.to_string())
    }
}

impl From<String> for CustomFieldValue {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}

impl From<i64> for CustomFieldValue {
    fn from(n: i64) -> Self {
        Self::Number(n.into())
    }
}

impl From<f64> for CustomFieldValue {
    /// A non-finite float (NaN, ∞) has no JSON form and becomes `Null`.
    fn from(n: f64) -> Self {
        Number::from_f64(n).map_or(Self::Null, Self::Number)
    }
}

impl From<Vec<String>> for CustomFieldValue {
    fn from(v: Vec<String>) -> Self {
        Self::Options(v)
    }
}

/// Under which name a value travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValueName {
    /// `field_value`: what create, update and upsert take.
    #[default]
    FieldValue,
    /// `value`: what GHL answers with (GHL also accepts it on input).
    Value,
}

/// One custom field of a contact, as read from GHL or to send to it.
///
/// Build inputs with [`CustomField::by_id`] or [`CustomField::by_key`]; turn a field read from
/// GHL into an input with [`CustomField::into_input`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CustomField {
    /// The custom field's id (GHL requires it on input for most field types; `key` may stand in).
    pub id: Option<String>,
    /// The field key (`contact.lead_score` or `lead_score`), accepted instead of the id on input.
    pub key: Option<String>,
    /// The value; `None` when neither `value` nor `field_value` was there (an explicit `null`
    /// is `Some(CustomFieldValue::Null)`).
    pub value: Option<CustomFieldValue>,
    /// Which name `value` is written under.
    pub value_name: ValueName,
    /// Fields GHL sent that this model does not name, written back unchanged.
    pub extra: Map<String, Value>,
}

impl CustomField {
    /// An input addressed by the custom field's id.
    pub fn by_id(id: impl Into<String>, value: impl Into<CustomFieldValue>) -> Self {
        Self {
            id: Some(id.into()),
            value: Some(value.into()),
            ..Self::default()
        }
    }

    /// An input addressed by the field key (`contact.lead_score`).
    pub fn by_key(key: impl Into<String>, value: impl Into<CustomFieldValue>) -> Self {
        Self {
            key: Some(key.into()),
            value: Some(value.into()),
            ..Self::default()
        }
    }

    /// The same field in the input shape (`field_value`), for create, update and upsert bodies.
    /// Fields GHL added to its answer are dropped: GHL rejects unknown properties on input.
    pub fn into_input(self) -> Self {
        Self {
            value_name: ValueName::FieldValue,
            extra: Map::new(),
            ..self
        }
    }
}

/// The wire form: every name any shape uses.
#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(
        default,
        deserialize_with = "explicit",
        skip_serializing_if = "Option::is_none"
    )]
    value: Option<CustomFieldValue>,
    #[serde(
        default,
        deserialize_with = "explicit",
        skip_serializing_if = "Option::is_none"
    )]
    field_value: Option<CustomFieldValue>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

/// A present value, `null` included (`Some(Null)`), so that an absent value (`None`, by
/// `default`) and an explicit `null` stay apart.
fn explicit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<CustomFieldValue>, D::Error> {
    CustomFieldValue::deserialize(d).map(Some)
}

impl<'de> Deserialize<'de> for CustomField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        let (value, value_name) = match (w.field_value, w.value) {
            (Some(v), None) => (Some(v), ValueName::FieldValue),
            (None, Some(v)) => (Some(v), ValueName::Value),
            (None, None) => (None, ValueName::Value),
            // Both present (never seen from GHL): keep `field_value`, GHL's input name, and
            // `value` among the extras so nothing is lost.
            (Some(fv), Some(v)) => {
                let mut extra = w.extra;
                extra.insert(
                    "value".into(),
                    serde_json::to_value(v).map_err(serde::de::Error::custom)?,
                );
                return Ok(Self {
                    id: w.id,
                    key: w.key,
                    value: Some(fv),
                    value_name: ValueName::FieldValue,
                    extra,
                });
            }
        };
        Ok(Self {
            id: w.id,
            key: w.key,
            value,
            value_name,
            extra: w.extra,
        })
    }
}

impl Serialize for CustomField {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (value, field_value) = match self.value_name {
            ValueName::Value => (self.value.clone(), None),
            ValueName::FieldValue => (None, self.value.clone()),
        };
        Wire {
            id: self.id.clone(),
            key: self.key.clone(),
            value,
            field_value,
            extra: self.extra.clone(),
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_shape_round_trips() {
        let shapes = [
            json!({"id": "a", "value": "text"}),
            json!({"id": "b", "value": 100}),
            json!({"id": "c", "value": 100.5}),
            json!({"id": "d", "value": ["x", "y"]}),
            json!({"id": "e", "value": {"f31175d4": {"meta": {"size": 1}, "url": "u", "documentId": "w"}}}),
            json!({"id": "f", "field_value": "9039160788"}),
            json!({"key": "contact.score", "field_value": 7}),
            json!({"id": "g", "key": "my_field", "field_value": ["t1", "t2"]}),
            json!({"id": "h", "field_value": {}}),
            json!({"id": "i", "field_value": null}),
            json!({"id": "j", "value": true, "fieldType": "CHECKBOX"}),
            json!({"id": "k", "value": [1, "two"]}),
        ];
        for shape in shapes {
            let f: CustomField = serde_json::from_value(shape.clone()).unwrap();
            assert_eq!(serde_json::to_value(&f).unwrap(), shape, "{f:?}");
        }
    }

    #[test]
    fn values_keep_their_kind() {
        let f: CustomField = serde_json::from_value(json!({"id": "a", "value": "42"})).unwrap();
        assert_eq!(f.value, Some(CustomFieldValue::Text("42".into())));
        let f: CustomField = serde_json::from_value(json!({"id": "a", "value": 42})).unwrap();
        assert_eq!(
            f.value.as_ref().and_then(CustomFieldValue::as_f64),
            Some(42.0)
        );
        let f: CustomField = serde_json::from_value(json!({"id": "a", "value": ["x"]})).unwrap();
        assert_eq!(f.value, Some(CustomFieldValue::Options(vec!["x".into()])));
    }

    #[test]
    fn outputs_become_inputs() {
        let read: CustomField =
            serde_json::from_value(json!({"id": "a", "value": 3, "fieldType": "NUMERICAL"}))
                .unwrap();
        assert_eq!(
            serde_json::to_value(read.into_input()).unwrap(),
            json!({"id": "a", "field_value": 3})
        );
        assert_eq!(
            serde_json::to_value(CustomField::by_key("contact.x", "v")).unwrap(),
            json!({"key": "contact.x", "field_value": "v"})
        );
        assert_eq!(
            serde_json::to_value(CustomField::by_id("a", CustomFieldValue::Null)).unwrap(),
            json!({"id": "a", "field_value": null})
        );
    }
}
