//! What the API does to the data, apart from HTTP: creates, partial updates (`null` clears a
//! field), deletes, tags and links, with Insightly's validation. The admin API's changes "as a
//! person in the app" go through the same functions, so they stamp `DATE_UPDATED_UTC` and fire
//! workflow webhooks exactly like API changes.
//!
//! Sub-collections in a POST or PUT body: `TAGS` and `DATES` replace the record's set (the v3.1
//! intro page: "Tags, dates and email domains can now be updated in bulk from the parent
//! entity's PUT/POST"); `CUSTOMFIELDS` sets the fields it lists (a `null` value clears one) and
//! keeps the others; `LINKS` creates links on a POST and is ignored on a PUT (links change
//! through `/{Object}/{id}/Links`).

use serde_json::{json, Map, Value};

use super::errors::{InsightlyError, InsightlyResult};
use super::schema::{check_required, empty_fields, parse_time, writable, Obj};
use super::store::{Rec, Store, USER_ID};
use super::InsightlyApp;

/// A link asked for in a `LINKS` array or a `POST …/Links` body.
#[derive(Debug, Clone)]
pub struct NewLink {
    pub to: (Obj, i64),
    pub role: Option<String>,
    pub details: Option<String>,
}

fn bad(m: impl Into<String>) -> InsightlyError {
    InsightlyError::bad_request(m)
}

fn text_of(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// One `APITag` (or a bare string) → its name.
pub fn tag_name(v: &Value) -> InsightlyResult<String> {
    let name = match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Object(o) => text_of(o.get("TAG_NAME")),
        _ => None,
    };
    match name {
        Some(n) if !n.is_empty() && n.chars().count() <= 255 => Ok(n),
        Some(n) if !n.is_empty() => Err(bad("TAG_NAME is longer than 255 characters")),
        _ => Err(bad("TAG_NAME is required")),
    }
}

/// `TAGS` of a body, if present: names, duplicates (ignoring case) dropped.
fn tags_of(body: &Map<String, Value>) -> InsightlyResult<Option<Vec<String>>> {
    let Some(v) = body.get("TAGS") else {
        return Ok(None);
    };
    let items = match v {
        Value::Null => return Ok(Some(Vec::new())),
        Value::Array(a) => a,
        _ => return Err(bad("TAGS must be an array of {\"TAG_NAME\": …}")),
    };
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let name = tag_name(item)?;
        if !out.iter().any(|t| t.eq_ignore_ascii_case(&name)) {
            out.push(name);
        }
    }
    Ok(Some(out))
}

/// Checks one custom-field value against its definition.
fn custom_value(store: &Store, obj: Obj, name: &str, v: &Value) -> InsightlyResult<Value> {
    let def = store
        .defs(obj)
        .iter()
        .find(|d| d.name == name)
        .ok_or_else(|| {
            bad(format!(
                "CUSTOMFIELDS: {name} is not a custom field of {} (see GET /CustomFields/{})",
                obj.plural().to_ascii_lowercase(),
                obj.plural()
            ))
        })?;
    let wrong = |what: &str| bad(format!("CUSTOMFIELDS: {name} must be {what}"));
    let out = match (def.field_type.as_str(), v) {
        (_, Value::Null) => Value::Null,
        ("NUMERIC" | "PERCENT", Value::Number(_)) => v.clone(),
        ("NUMERIC" | "PERCENT", Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| wrong("a number"))?,
        ("NUMERIC" | "PERCENT", _) => return Err(wrong("a number")),
        ("BIT", Value::Bool(_)) => v.clone(),
        ("BIT", _) => return Err(wrong("true or false")),
        ("DATE" | "DATETIME", Value::String(s)) => parse_time(s)
            .map(|t| Value::String(super::schema::fmt_time(t)))
            .ok_or_else(|| wrong("a date-time"))?,
        ("DROPDOWN", Value::String(s)) => {
            let found = def
                .options
                .iter()
                .find(|o| o.eq_ignore_ascii_case(s.trim()));
            Value::String(
                found
                    .ok_or_else(|| wrong(&format!("one of {:?}", def.options)))?
                    .clone(),
            )
        }
        ("MULTISELECT", Value::String(s)) => {
            for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                if !def.options.iter().any(|o| o.eq_ignore_ascii_case(part)) {
                    return Err(wrong(&format!("`;`-separated values of {:?}", def.options)));
                }
            }
            v.clone()
        }
        ("AUTONUMBER", _) => return Err(wrong("left alone (it is not editable)")),
        (_, Value::String(_)) => v.clone(),
        (_, Value::Number(n)) => Value::String(n.to_string()),
        (_, Value::Bool(b)) => Value::String(b.to_string()),
        _ => return Err(wrong("a string")),
    };
    Ok(out)
}

/// `CUSTOMFIELDS` of a body, if present: `(FIELD_NAME, value)`, `null` meaning "clear".
fn custom_of(
    store: &Store,
    obj: Obj,
    body: &Map<String, Value>,
) -> InsightlyResult<Option<Vec<(String, Value)>>> {
    let Some(v) = body.get("CUSTOMFIELDS") else {
        return Ok(None);
    };
    if !obj.has_custom() {
        return Ok(None);
    }
    let items = match v {
        Value::Null => return Ok(Some(Vec::new())),
        Value::Array(a) => a,
        _ => {
            return Err(bad(
                "CUSTOMFIELDS must be an array of {FIELD_NAME, FIELD_VALUE}",
            ))
        }
    };
    let mut out = Vec::new();
    for item in items {
        let o = item
            .as_object()
            .ok_or_else(|| bad("CUSTOMFIELDS entries must be objects"))?;
        let name = text_of(o.get("FIELD_NAME"))
            .or_else(|| text_of(o.get("CUSTOM_FIELD_ID")))
            .ok_or_else(|| bad("CUSTOMFIELDS: FIELD_NAME is required"))?;
        let value = custom_value(
            store,
            obj,
            &name,
            o.get("FIELD_VALUE").unwrap_or(&Value::Null),
        )?;
        out.push((name, value));
    }
    Ok(Some(out))
}

/// One link request (`APILinkDto`): the other end must exist.
pub fn link_of(store: &Store, v: &Value) -> InsightlyResult<NewLink> {
    let o = v
        .as_object()
        .ok_or_else(|| bad("a link must be an object"))?;
    let name = text_of(o.get("LINK_OBJECT_NAME"))
        .ok_or_else(|| bad("LINKS: LINK_OBJECT_NAME is required"))?;
    let obj = Obj::parse(&name).ok_or_else(|| {
        bad(format!(
            "LINKS: LINK_OBJECT_NAME {name:?} is not one of Contact, Organisation, Task, Note, Event"
        ))
    })?;
    let id = match o.get("LINK_OBJECT_ID") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| bad("LINKS: LINK_OBJECT_ID is required (an integer)"))?;
    if store.get(obj, id).is_none() {
        return Err(bad(format!(
            "LINKS: {} {id} does not exist",
            obj.singular()
        )));
    }
    let short = |k: &str| -> InsightlyResult<Option<String>> {
        match text_of(o.get(k)) {
            Some(s) if s.chars().count() > 255 => {
                Err(bad(format!("LINKS: {k} is longer than 255 characters")))
            }
            other => Ok(other),
        }
    };
    Ok(NewLink {
        to: (obj, id),
        role: short("ROLE")?,
        details: short("DETAILS")?,
    })
}

fn links_of(store: &Store, body: &Map<String, Value>) -> InsightlyResult<Vec<NewLink>> {
    match body.get("LINKS") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a.iter().map(|v| link_of(store, v)).collect(),
        Some(_) => Err(bad("LINKS must be an array of links")),
    }
}

fn dates_of(store: &mut Store, body: &Map<String, Value>) -> InsightlyResult<Option<Vec<Value>>> {
    let items = match body.get("DATES") {
        None => return Ok(None),
        Some(Value::Null) => return Ok(Some(Vec::new())),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(bad("DATES must be an array")),
    };
    let mut out = Vec::new();
    for mut d in items {
        let o = d
            .as_object_mut()
            .ok_or_else(|| bad("DATES entries must be objects"))?;
        if let Some(Value::String(s)) = o.get("OCCASION_DATE") {
            let t = parse_time(s).ok_or_else(|| bad("DATES: OCCASION_DATE must be a date-time"))?;
            o.insert("OCCASION_DATE".into(), json!(super::schema::fmt_time(t)));
        }
        if o.get("DATE_ID").and_then(Value::as_i64).is_none() {
            o.insert("DATE_ID".into(), json!(store.new_date_id()));
        }
        out.push(d);
    }
    Ok(Some(out))
}

/// The record's id from the path or the body (`CONTACT_ID`, …); both given must agree.
fn id_of(obj: Obj, path_id: Option<i64>, body: &Map<String, Value>) -> InsightlyResult<i64> {
    let field = obj.id_field();
    let in_body = match body.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(
            n.as_i64()
                .ok_or_else(|| bad(format!("{field} must be an integer")))?,
        ),
        Some(Value::String(s)) => Some(
            s.trim()
                .parse()
                .map_err(|_| bad(format!("{field} must be an integer")))?,
        ),
        Some(_) => return Err(bad(format!("{field} must be an integer"))),
    };
    match (path_id, in_body) {
        (Some(p), Some(b)) if p != b => Err(bad(format!(
            "{field} {b} in the body does not match id {p} in the path"
        ))),
        (Some(p), _) => Ok(p),
        (None, Some(b)) => Ok(b),
        (None, None) => Err(bad(format!("{field} is required to update a record"))),
    }
}

/// Rules that span fields: an existing organisation, stamps of completion.
fn check_refs(
    store: &Store,
    rec: &mut Rec,
    now: chrono::DateTime<chrono::Utc>,
    was_done: bool,
) -> InsightlyResult<()> {
    if rec.obj == Obj::Contact {
        if let Some(org) = rec.fields.get("ORGANISATION_ID").and_then(Value::as_i64) {
            if store.get(Obj::Organisation, org).is_none() {
                return Err(bad(format!("ORGANISATION_ID {org} does not exist")));
            }
        }
    }
    if rec.obj == Obj::Task {
        let done = rec.fields.get("COMPLETED").and_then(Value::as_bool) == Some(true);
        if done && !was_done {
            rec.fields.insert(
                "COMPLETED_DATE_UTC".into(),
                json!(super::schema::fmt_time(now)),
            );
            rec.fields.insert("PERCENT_COMPLETE".into(), json!(100));
        } else if !done {
            rec.fields.insert("COMPLETED_DATE_UTC".into(), Value::Null);
        }
        if rec.fields.get("COMPLETED").is_none_or(Value::is_null) {
            rec.fields.insert("COMPLETED".into(), json!(false));
        }
    }
    if rec.obj == Obj::Event {
        let at = |k: &str| rec.text(k).and_then(parse_time);
        if let (Some(s), Some(e)) = (at("START_DATE_UTC"), at("END_DATE_UTC")) {
            if e < s {
                return Err(bad("END_DATE_UTC is before START_DATE_UTC"));
            }
        }
    }
    Ok(())
}

fn merge_custom(rec: &mut Rec, set: Vec<(String, Value)>) {
    for (name, value) in set {
        rec.custom.retain(|(k, _)| *k != name);
        if !value.is_null() {
            rec.custom.push((name, value));
        }
    }
}

impl InsightlyApp {
    /// Creates a record (`POST /{Object}`, or under `parent`: `POST /Contacts/{id}/Notes`).
    pub fn create(
        &self,
        obj: Obj,
        body: &Map<String, Value>,
        parent: Option<(Obj, i64)>,
    ) -> InsightlyResult<Value> {
        let now = self.now();
        let mut store = self.store.lock();
        if let Some((p, id)) = parent {
            if store.get(p, id).is_none() {
                return Err(InsightlyError::not_found(p.singular(), id));
            }
        }
        let mut fields = empty_fields(obj);
        fields.extend(writable(obj, body)?);
        check_required(obj, &fields)?;
        for (k, v) in [
            ("OWNER_USER_ID", json!(USER_ID)),
            ("CREATED_USER_ID", json!(USER_ID)),
        ] {
            if fields.get(k).is_some_and(Value::is_null) {
                fields.insert(k.into(), v);
            }
        }
        if obj == Obj::Contact && fields.get("VISIBLE_TO").is_none_or(Value::is_null) {
            fields.insert("VISIBLE_TO".into(), json!("EVERYONE"));
        }
        let custom = custom_of(&store, obj, body)?.unwrap_or_default();
        let tags = if obj.has_tags() {
            tags_of(body)?.unwrap_or_default()
        } else {
            Vec::new()
        };
        let mut links = links_of(&store, body)?;
        if let Some(p) = parent {
            // The parent link is made by the nested route; a body link to the same record only
            // lends it its role and details.
            let (role, details) = match links.iter().position(|l| l.to == p) {
                Some(i) => {
                    let l = links.remove(i);
                    (l.role, l.details)
                }
                None => (None, None),
            };
            links.insert(
                0,
                NewLink {
                    to: p,
                    role,
                    details,
                },
            );
        }
        let dates = if obj.has_tags() {
            dates_of(&mut store, body)?.unwrap_or_default()
        } else {
            Vec::new()
        };
        let id = store.new_id(obj);
        let mut rec = Rec {
            obj,
            id,
            fields,
            created: now,
            updated: now,
            custom: Vec::new(),
            tags,
            dates,
            email_domains: match body.get("EMAILDOMAINS") {
                Some(Value::Array(a)) if obj == Obj::Organisation => a.clone(),
                _ => Vec::new(),
            },
        };
        merge_custom(&mut rec, custom);
        check_refs(&store, &mut rec, now, false)?;
        store.put(rec);
        for l in links {
            store.add_link((obj, id), l.to, l.role, l.details);
        }
        let out = self.rendered(&store, obj, id);
        drop(store);
        self.changed(obj, id);
        Ok(out)
    }

    /// Partial update (`PUT /{Object}` with the id in the body, or `PUT /{Object}/{id}`).
    pub fn update(
        &self,
        obj: Obj,
        path_id: Option<i64>,
        body: &Map<String, Value>,
    ) -> InsightlyResult<Value> {
        let id = id_of(obj, path_id, body)?;
        let now = self.now();
        let mut store = self.store.lock();
        let mut rec = store
            .get(obj, id)
            .cloned()
            .ok_or_else(|| InsightlyError::not_found(obj.singular(), id))?;
        let was_done = rec.fields.get("COMPLETED").and_then(Value::as_bool) == Some(true);
        rec.fields.extend(writable(obj, body)?);
        check_required(obj, &rec.fields)?;
        if let Some(custom) = custom_of(&store, obj, body)? {
            merge_custom(&mut rec, custom);
        }
        if obj.has_tags() {
            if let Some(tags) = tags_of(body)? {
                rec.tags = tags;
            }
            if let Some(dates) = dates_of(&mut store, body)? {
                rec.dates = dates;
            }
        }
        if obj == Obj::Organisation {
            if let Some(Value::Array(a)) = body.get("EMAILDOMAINS") {
                rec.email_domains = a.clone();
            }
        }
        check_refs(&store, &mut rec, now, was_done)?;
        rec.updated = now;
        store.put(rec);
        let out = self.rendered(&store, obj, id);
        drop(store);
        self.changed(obj, id);
        Ok(out)
    }

    /// Deletes a record (its links go with it).
    pub fn delete(&self, obj: Obj, id: i64) -> InsightlyResult<()> {
        self.store
            .lock()
            .remove(obj, id)
            .map(drop)
            .ok_or_else(|| InsightlyError::not_found(obj.singular(), id))
    }

    /// A record's tags after `edit` ran on them; the record's `DATE_UPDATED_UTC` moves when
    /// they changed (whether real Insightly does so is unverified; a poller needs it).
    pub fn edit_tags(
        &self,
        obj: Obj,
        id: i64,
        edit: impl FnOnce(&mut Vec<String>) -> InsightlyResult<()>,
    ) -> InsightlyResult<Vec<Value>> {
        let now = self.now();
        let mut store = self.store.lock();
        let rec = store
            .get_mut(obj, id)
            .ok_or_else(|| InsightlyError::not_found(obj.singular(), id))?;
        let before = rec.tags.clone();
        edit(&mut rec.tags)?;
        let changed = rec.tags != before;
        if changed {
            rec.updated = now;
        }
        let out = rec.tags.iter().map(|t| json!({"TAG_NAME": t})).collect();
        drop(store);
        if changed {
            self.changed(obj, id);
        }
        Ok(out)
    }

    /// Adds a link from a record (`POST /{Object}/{id}/Links`).
    pub fn add_link(&self, obj: Obj, id: i64, body: &Value) -> InsightlyResult<Value> {
        let now = self.now();
        let mut store = self.store.lock();
        if store.get(obj, id).is_none() {
            return Err(InsightlyError::not_found(obj.singular(), id));
        }
        let l = link_of(&store, body)?;
        if l.to == (obj, id) {
            return Err(bad("a record cannot be linked to itself"));
        }
        let link_id = store.add_link((obj, id), l.to, l.role, l.details);
        for end in [(obj, id), l.to]
            .into_iter()
            .filter(|(o, _)| o.is_activity())
        {
            if let Some(r) = store.get_mut(end.0, end.1) {
                r.updated = now;
            }
        }
        let out = store
            .link(link_id)
            .map(|l| l.to_json((obj, id)))
            .unwrap_or(Value::Null);
        Ok(out)
    }

    /// Removes one of a record's links.
    pub fn remove_link(&self, obj: Obj, id: i64, link_id: i64) -> InsightlyResult<()> {
        let mut store = self.store.lock();
        if store.get(obj, id).is_none() {
            return Err(InsightlyError::not_found(obj.singular(), id));
        }
        match store.link(link_id) {
            Some(l) if l.other((obj, id)).is_some() => {
                store.remove_link(link_id);
                Ok(())
            }
            _ => Err(InsightlyError::not_found("Link", link_id)),
        }
    }

    fn rendered(&self, store: &Store, obj: Obj, id: i64) -> Value {
        store
            .get(obj, id)
            .map(|r| store.render(r, false))
            .unwrap_or(Value::Null)
    }

    /// Fires the workflow webhook for a changed record, if one is configured.
    fn changed(&self, obj: Obj, id: i64) {
        let entity = {
            let store = self.store.lock();
            match store.get(obj, id) {
                Some(r) => store.render(r, false),
                None => return,
            }
        };
        self.hooks.emit(obj, entity);
    }
}
