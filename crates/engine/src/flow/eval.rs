//! Evaluating action values: the template context of a run, rendering templates and `{field:
//! value}` maps, `create_related` items with their due offsets, and tag-list edits.
//!
//! Dry runs (which plan) and the worker (which runs, `crate::actions`) both go through these, so a
//! dry run shows exactly the text, dates and tags a real run would write.

use chrono::{DateTime, Duration, Utc};
use connectors::Record;
use serde_json::{Map, Value};

use super::filter::{lookup, text_of};
use super::mapping::MapWarning;
use super::model::{FieldValue, InputValue, RelatedItem};
use super::template::{context, Template};
use super::values::to_rfc3339;

/// The template context of an actions run: the record's fields (see
/// [`template_context`](super::template_context)) plus `now`, the run time in RFC 3339.
pub fn action_context(fields: &Map<String, Value>, now: DateTime<Utc>) -> Map<String, Value> {
    let mut ctx = context(fields);
    ctx.insert("now".into(), Value::String(to_rfc3339(now)));
    ctx
}

/// A record as one element of a `fetch_related` list: its fields as templates see them, plus
/// `id`, so `{{ open_tasks | map(attribute="title") | join(", ") }}` works.
pub fn record_value(record: &Record) -> Value {
    let mut v = context(&record.fields);
    v.insert("id".into(), Value::String(record.id.clone()));
    Value::Object(v)
}

/// Renders one template. A variable the context lacks renders as empty text (with a warning,
/// because it usually is a typo or a field the record does not carry); a template that fails
/// at run time renders as empty text with the failure as a warning, so one bad value never
/// stops the other steps of a flow.
pub fn render(
    warnings: &mut Vec<MapWarning>,
    ctx: &Map<String, Value>,
    field: &str,
    t: &Template,
) -> String {
    for var in t.missing_in(ctx) {
        warnings.push(MapWarning {
            field: field.to_owned(),
            message: format!(
                "the template uses `{var}`, which the record does not have; it renders as empty text"
            ),
        });
    }
    match t.render(ctx) {
        Ok(s) => s,
        Err(e) => {
            warnings.push(MapWarning {
                field: field.to_owned(),
                message: format!("the template failed: {e}"),
            });
            String::new()
        }
    }
}

/// Renders `{field: value}`: text values are templates, other values are written as they are.
pub fn render_fields<'a>(
    warnings: &mut Vec<MapWarning>,
    ctx: &Map<String, Value>,
    fields: impl Iterator<Item = (&'a String, &'a FieldValue)>,
) -> Map<String, Value> {
    fields
        .map(|(name, v)| {
            let value = match v {
                FieldValue::Constant(c) => c.clone(),
                FieldValue::Template(t) => Value::String(render(warnings, ctx, name, t)),
            };
            (name.clone(), value)
        })
        .collect()
}

/// The fields of one `create_related` item: rendered, with `due: +2d` turned into `due_at` =
/// `now` plus the offset (RFC 3339, UTC).
pub fn related_fields(
    warnings: &mut Vec<MapWarning>,
    ctx: &Map<String, Value>,
    item: &RelatedItem,
    now: DateTime<Utc>,
) -> Map<String, Value> {
    let mut fields = render_fields(warnings, ctx, item.fields.iter());
    if let Some(due) = item.due {
        let at = now + Duration::seconds(due.seconds);
        fields.insert("due_at".into(), Value::String(to_rfc3339(at)));
    }
    fields
}

/// Renders a tag list (`add_tags`, `remove_tags`).
pub fn render_tags(
    warnings: &mut Vec<MapWarning>,
    ctx: &Map<String, Value>,
    tags: &[Template],
) -> Vec<String> {
    tags.iter()
        .map(|t| render(warnings, ctx, "tags", t))
        .collect()
}

/// Renders a `call`'s inputs: templates become text (the connector reads `"true"` or `"42"` for
/// typed inputs), lists and maps are rendered inside.
pub fn render_input(
    warnings: &mut Vec<MapWarning>,
    ctx: &Map<String, Value>,
    input: &std::collections::BTreeMap<String, InputValue>,
) -> Map<String, Value> {
    fn one(w: &mut Vec<MapWarning>, ctx: &Map<String, Value>, name: &str, v: &InputValue) -> Value {
        match v {
            InputValue::Template(t) => Value::String(render(w, ctx, name, t)),
            InputValue::Constant(c) => c.clone(),
            InputValue::List(items) => {
                Value::Array(items.iter().map(|i| one(w, ctx, name, i)).collect())
            }
            InputValue::Map(m) => Value::Object(
                m.iter()
                    .map(|(k, i)| (k.clone(), one(w, ctx, &format!("{name}.{k}"), i)))
                    .collect(),
            ),
        }
    }
    input
        .iter()
        .map(|(k, v)| (k.clone(), one(warnings, ctx, k, v)))
        .collect()
}

/// Adds `contact` to a run's template context: the triggering contact (its fields and `id`), or
/// for a task, note or appointment its contact's `id`, so `{{ contact.id }}` names the contact
/// whatever the trigger's kind.
pub fn with_contact(ctx: &mut Map<String, Value>, record: &Record) {
    let contact = match (record.kind, &record.parent_id) {
        (connectors::EntityKind::Contact, _) => record_value(record),
        (k, Some(parent)) if k.has_parent() => {
            let mut m = Map::new();
            m.insert("id".into(), Value::String(parent.clone()));
            Value::Object(m)
        }
        _ => return,
    };
    ctx.insert("contact".into(), contact);
}

/// The `tags` of a record's fields as text (a missing or non-list value is no tags).
pub fn tags_of(fields: &Map<String, Value>) -> Vec<String> {
    lookup(fields, "tags")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(text_of).collect())
        .unwrap_or_default()
}

/// `current` with `names` added (when missing) or removed (when present), comparing tags
/// ignoring ASCII case as GHL and the REST apps do. Order is kept; additions go last.
pub fn edit_tags(current: &[String], names: &[String], adding: bool) -> Vec<String> {
    let mut out = current.to_vec();
    for n in names {
        let has = out.iter().position(|c| c.eq_ignore_ascii_case(n));
        match (adding, has) {
            (true, None) => out.push(n.clone()),
            (false, Some(i)) => {
                out.remove(i);
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_edited_ignoring_case() {
        let current = vec!["Lead".to_string(), "vip".to_string()];
        let added = edit_tags(&current, &["lead".into(), "client".into()], true);
        assert_eq!(added, ["Lead", "vip", "client"]);
        let removed = edit_tags(&added, &["LEAD".into(), "nope".into()], false);
        assert_eq!(removed, ["vip", "client"]);
    }
}
