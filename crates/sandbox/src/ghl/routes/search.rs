//! `POST /contacts/search`: filters (nested AND/OR groups), operators, sort, page/pageLimit up to
//! the first 10,000 results, and `searchAfter` cursors beyond — as FACTS.md describes GHL's search.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::{Extension, Json};
use serde_json::{json, Map, Value};

use super::{loc, object};
use crate::ghl::auth::TokenInfo;
use crate::ghl::errors::{ApiError, ApiResult};
use crate::ghl::model::Contact;
use crate::ghl::store::Store;
use crate::ghl::Ghl;

/// How far page/pageLimit paging reaches; past it, `searchAfter` is required.
pub const PAGE_WINDOW: usize = 10_000;
/// Largest `pageLimit`.
pub const MAX_PAGE_LIMIT: usize = 500;

const OPERATORS: &[&str] = &[
    "eq",
    "not_eq",
    "contains",
    "not_contains",
    "exists",
    "not_exists",
    "range",
];
const FIELDS: &[&str] = &[
    "id",
    "firstName",
    "lastName",
    "firstNameLowerCase",
    "lastNameLowerCase",
    "fullNameLowerCase",
    "email",
    "phone",
    "companyName",
    "address1",
    "city",
    "state",
    "country",
    "postalCode",
    "website",
    "source",
    "type",
    "timezone",
    "assignedTo",
    "businessId",
    "tags",
    "dnd",
    "dateAdded",
    "dateUpdated",
    "dateOfBirth",
    "followers",
    "customFields.<id>",
];
const DATE_FIELDS: &[&str] = &["dateAdded", "dateUpdated", "dateOfBirth"];

enum Filter {
    Leaf {
        field: String,
        op: String,
        value: Value,
    },
    Group {
        and: bool,
        filters: Vec<Filter>,
    },
}

fn unprocessable(msg: String) -> ApiError {
    ApiError::unprocessable(vec![msg])
}

fn known_field(f: &str) -> bool {
    FIELDS.contains(&f) || f.starts_with("customFields.") || f.starts_with("customField.")
}

fn parse_filters(v: &Value, path: &str) -> ApiResult<Vec<Filter>> {
    let arr = v
        .as_array()
        .ok_or_else(|| unprocessable(format!("{path} must be an array")))?;
    arr.iter()
        .enumerate()
        .map(|(i, f)| parse_filter(f, &format!("{path}.{i}")))
        .collect()
}

fn parse_filter(v: &Value, path: &str) -> ApiResult<Filter> {
    let o = v
        .as_object()
        .ok_or_else(|| unprocessable(format!("{path} must be an object")))?;
    if let Some(g) = o.get("group") {
        let and = match g.as_str() {
            Some("AND") => true,
            Some("OR") => false,
            _ => {
                return Err(unprocessable(format!(
                    "{path}.group must be one of the following values: AND, OR"
                )))
            }
        };
        let filters = parse_filters(
            o.get("filters").unwrap_or(&Value::Null),
            &format!("{path}.filters"),
        )?;
        return Ok(Filter::Group { and, filters });
    }
    let field = o
        .get("field")
        .and_then(Value::as_str)
        .ok_or_else(|| unprocessable(format!("{path}.field should not be empty")))?;
    if !known_field(field) {
        return Err(unprocessable(format!(
            "{path}.field '{field}' is not searchable; allowed: {}",
            FIELDS.join(", ")
        )));
    }
    let op = o
        .get("operator")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !OPERATORS.contains(&op) {
        return Err(unprocessable(format!(
            "{path}.operator must be one of the following values: {}",
            OPERATORS.join(", ")
        )));
    }
    let value = o.get("value").cloned().unwrap_or(Value::Null);
    if !matches!(op, "exists" | "not_exists") && value.is_null() {
        return Err(unprocessable(format!("{path}.value should not be empty")));
    }
    if op == "range"
        && !value.as_object().is_some_and(|r| {
            r.keys()
                .all(|k| ["gt", "gte", "lt", "lte"].contains(&k.as_str()))
                && !r.is_empty()
        })
    {
        return Err(unprocessable(format!(
            "{path}.value must be an object with gt, gte, lt or lte"
        )));
    }
    Ok(Filter::Leaf {
        field: field.to_string(),
        op: op.to_string(),
        value,
    })
}

fn to_ms(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|d| d.timestamp_millis() as f64)
            .ok()
            .or_else(|| {
                chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| d.and_utc().timestamp_millis() as f64)
            })
            .or_else(|| s.parse().ok()),
        _ => None,
    }
}

/// One value of a contact's field, borrowed where possible so that filtering 100,000 contacts
/// allocates almost nothing.
enum FieldVal<'a> {
    Str(Cow<'a, str>),
    Num(f64),
    Bool(bool),
    Json(&'a Value),
}

impl FieldVal<'_> {
    fn num(&self, date: bool) -> Option<f64> {
        match self {
            FieldVal::Num(n) => Some(*n),
            FieldVal::Str(s) if date => to_ms(&Value::String(s.to_string())),
            FieldVal::Str(s) => s.parse().ok(),
            FieldVal::Json(v) if date => to_ms(v),
            FieldVal::Json(v) => v
                .as_f64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok())),
            FieldVal::Bool(_) => None,
        }
    }

    /// Lower-cased text for `contains`.
    fn text(&self) -> String {
        match self {
            FieldVal::Str(s) => s.to_lowercase(),
            FieldVal::Num(n) => n.to_string(),
            FieldVal::Bool(b) => b.to_string(),
            FieldVal::Json(Value::String(s)) => s.to_lowercase(),
            FieldVal::Json(v) => v.to_string(),
        }
    }

    fn eq(&self, w: &Value, date: bool) -> bool {
        if date {
            return self.num(true).zip(to_ms(w)).is_some_and(|(x, y)| x == y);
        }
        match (self, w) {
            (FieldVal::Str(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
            (FieldVal::Bool(x), Value::Bool(y)) => x == y,
            (FieldVal::Num(x), Value::Number(y)) => Some(*x) == y.as_f64(),
            (FieldVal::Num(x), Value::String(y)) => y.parse::<f64>().ok() == Some(*x),
            (FieldVal::Json(Value::String(x)), Value::String(y)) => x.eq_ignore_ascii_case(y),
            (FieldVal::Json(Value::Number(x)), Value::Number(y)) => x.as_f64() == y.as_f64(),
            (FieldVal::Json(Value::Number(x)), Value::String(y)) => {
                y.parse::<f64>().ok() == x.as_f64()
            }
            (FieldVal::Json(x), y) => *x == y,
            _ => false,
        }
    }

    fn in_range(&self, r: &Map<String, Value>, date: bool) -> bool {
        let Some(x) = self.num(date) else {
            return false;
        };
        let bound = |b: &Value| {
            if date {
                to_ms(b)
            } else {
                b.as_f64()
                    .or_else(|| b.as_str().and_then(|s| s.parse().ok()))
            }
        };
        r.iter().all(|(k, b)| match (k.as_str(), bound(b)) {
            ("gt", Some(b)) => x > b,
            ("gte", Some(b)) => x >= b,
            ("lt", Some(b)) => x < b,
            ("lte", Some(b)) => x <= b,
            _ => false,
        })
    }
}

fn values<'a>(c: &'a Contact, field: &str) -> Vec<FieldVal<'a>> {
    let s = |o: &'a Option<String>| {
        o.iter()
            .map(|v| FieldVal::Str(Cow::Borrowed(v.as_str())))
            .collect::<Vec<_>>()
    };
    let lower = |o: Option<String>| {
        o.map(|v| FieldVal::Str(Cow::Owned(v.to_lowercase())))
            .into_iter()
            .collect::<Vec<_>>()
    };
    let many = |v: &'a [String]| {
        v.iter()
            .map(|t| FieldVal::Str(Cow::Borrowed(t.as_str())))
            .collect::<Vec<_>>()
    };
    match field {
        "id" => vec![FieldVal::Str(Cow::Borrowed(&c.id))],
        "firstName" => s(&c.first_name),
        "lastName" => s(&c.last_name),
        "firstNameLowerCase" => lower(c.first_name.clone()),
        "lastNameLowerCase" => lower(c.last_name.clone()),
        "fullNameLowerCase" => lower(c.full_name()),
        "email" => s(&c.email),
        "phone" => s(&c.phone),
        "companyName" => s(&c.company_name),
        "address1" => s(&c.address1),
        "city" => s(&c.city),
        "state" => s(&c.state),
        "country" => s(&c.country),
        "postalCode" => s(&c.postal_code),
        "website" => s(&c.website),
        "source" => s(&c.source),
        "type" => vec![FieldVal::Str(Cow::Borrowed(&c.contact_type))],
        "timezone" => s(&c.timezone),
        "assignedTo" => s(&c.assigned_to),
        "businessId" => s(&c.business_id),
        "tags" => many(&c.tags),
        "followers" => many(&c.followers),
        "dnd" => vec![FieldVal::Bool(c.dnd)],
        "dateAdded" => vec![FieldVal::Num(c.date_added.timestamp_millis() as f64)],
        "dateUpdated" => vec![FieldVal::Num(c.date_updated.timestamp_millis() as f64)],
        "dateOfBirth" => c
            .date_of_birth
            .as_ref()
            .and_then(|d| to_ms(&Value::String(d.clone())))
            .map(FieldVal::Num)
            .into_iter()
            .collect(),
        f => {
            let id = f.split_once('.').map(|(_, id)| id).unwrap_or_default();
            c.custom_fields
                .iter()
                .filter(|(cid, _)| cid == id)
                .flat_map(|(_, v)| match v {
                    Value::Array(a) => a.iter().map(FieldVal::Json).collect(),
                    v => vec![FieldVal::Json(v)],
                })
                .collect()
        }
    }
}

fn matches(c: &Contact, f: &Filter) -> bool {
    match f {
        Filter::Group { and: true, filters } => filters.iter().all(|f| matches(c, f)),
        Filter::Group {
            and: false,
            filters,
        } => filters.iter().any(|f| matches(c, f)),
        Filter::Leaf { field, op, value } => {
            let vals = values(c, field);
            let date = DATE_FIELDS.contains(&field.as_str());
            let wanted: Vec<&Value> = match value {
                Value::Array(a) => a.iter().collect(),
                v => vec![v],
            };
            let any_eq = || vals.iter().any(|v| wanted.iter().any(|w| v.eq(w, date)));
            let needles: Vec<String> = wanted
                .iter()
                .map(|w| {
                    w.as_str()
                        .map(str::to_lowercase)
                        .unwrap_or_else(|| w.to_string())
                })
                .collect();
            let any_contains = || {
                vals.iter().any(|v| {
                    let hay = v.text();
                    needles.iter().any(|n| hay.contains(n.as_str()))
                })
            };
            match op.as_str() {
                "eq" => any_eq(),
                "not_eq" => !any_eq(),
                "contains" => any_contains(),
                "not_contains" => !any_contains(),
                "exists" => !vals.is_empty(),
                "not_exists" => vals.is_empty(),
                "range" => value
                    .as_object()
                    .is_some_and(|r| vals.iter().any(|v| v.in_range(r, date))),
                _ => false,
            }
        }
    }
}

/// Most sort fields a search may name.
const MAX_SORT: usize = 3;

/// One sort value. Borrowed from the contact where it can be, so ranking 100,000 contacts
/// allocates almost nothing.
#[derive(Clone, Default, PartialEq, PartialOrd)]
enum Key<'a> {
    #[default]
    Missing,
    Num(f64),
    Str(Cow<'a, str>),
}

impl Key<'_> {
    fn json(&self) -> Value {
        match self {
            Key::Missing => Value::Null,
            Key::Num(n) => json!(*n as i64),
            Key::Str(s) => json!(s),
        }
    }
    fn from_json(v: &Value) -> Key<'static> {
        match v {
            Value::Number(n) => Key::Num(n.as_f64().unwrap_or_default()),
            Value::String(s) => Key::Str(Cow::Owned(s.clone())),
            _ => Key::Missing,
        }
    }
}

type Keys<'a> = [Key<'a>; MAX_SORT];

fn sort_key<'a>(c: &'a Contact, field: &str) -> Key<'a> {
    match field {
        "dateAdded" => Key::Num(c.date_added.timestamp_millis() as f64),
        "dateUpdated" => Key::Num(c.date_updated.timestamp_millis() as f64),
        "id" => Key::Str(Cow::Borrowed(&c.id)),
        f => match values(c, f.trim_end_matches("LowerCase"))
            .into_iter()
            .next()
        {
            Some(FieldVal::Str(s)) => Key::Str(Cow::Owned(s.to_lowercase())),
            Some(FieldVal::Json(Value::String(s))) => Key::Str(Cow::Owned(s.to_lowercase())),
            Some(v) => v.num(false).map(Key::Num).unwrap_or_default(),
            None => Key::Missing,
        },
    }
}

/// Orders by the sort keys (each ascending or descending), then by id ascending.
fn cmp_keys(a: (&Keys, &str), b: (&Keys, &str), desc: &[bool]) -> Ordering {
    for (i, d) in desc.iter().enumerate() {
        let o = a.0[i].partial_cmp(&b.0[i]).unwrap_or(Ordering::Equal);
        let o = if *d { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.1.cmp(b.1)
}

/// One page of search results.
pub struct SearchOutcome {
    pub contacts: Vec<Value>,
    pub total: usize,
}

/// Runs a search body against a location's contacts.
pub fn search_contacts(
    store: &Store,
    location: &str,
    body: &Map<String, Value>,
) -> ApiResult<SearchOutcome> {
    let int = |k: &str, d: usize| -> ApiResult<usize> {
        match body.get(k) {
            None | Some(Value::Null) => Ok(d),
            Some(v) => v
                .as_u64()
                .map(|n| n as usize)
                .ok_or_else(|| unprocessable(format!("{k} must be a positive integer"))),
        }
    };
    let page = int("page", 1)?.max(1);
    let limit = int("pageLimit", 20)?;
    if !(1..=MAX_PAGE_LIMIT).contains(&limit) {
        return Err(unprocessable(format!(
            "pageLimit must be between 1 and {MAX_PAGE_LIMIT}"
        )));
    }
    let filters = match body.get("filters") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => parse_filters(v, "filters")?,
    };
    let mut sort_fields = Vec::new();
    let mut desc = Vec::new();
    if let Some(sorts) = body.get("sort").and_then(Value::as_array) {
        for (i, s) in sorts.iter().enumerate() {
            let field = s.get("field").and_then(Value::as_str).unwrap_or_default();
            if !known_field(field) || field == "tags" {
                return Err(unprocessable(format!(
                    "sort.{i}.field '{field}' cannot be sorted on"
                )));
            }
            let dir = s.get("direction").and_then(Value::as_str).unwrap_or("asc");
            if dir != "asc" && dir != "desc" {
                return Err(unprocessable(format!(
                    "sort.{i}.direction must be one of the following values: asc, desc"
                )));
            }
            sort_fields.push(field.to_string());
            desc.push(dir == "desc");
        }
        if sort_fields.len() > MAX_SORT {
            return Err(unprocessable(format!(
                "sort may name at most {MAX_SORT} fields"
            )));
        }
    }
    if sort_fields.is_empty() {
        sort_fields.push("dateAdded".into());
        desc.push(true);
    }
    let search_after: Option<(Keys<'static>, String)> = match body.get("searchAfter") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) if a.len() == sort_fields.len() + 1 && a.last().is_some_and(Value::is_string) => {
            let mut keys: Keys<'static> = Default::default();
            for (slot, v) in keys.iter_mut().zip(&a[..sort_fields.len()]) {
                *slot = Key::from_json(v);
            }
            Some((keys, a[sort_fields.len()].as_str().unwrap_or_default().to_string()))
        }
        Some(_) => {
            return Err(unprocessable(format!(
                "searchAfter must be the array of {} values taken from the last contact of the previous page",
                sort_fields.len() + 1
            )))
        }
    };
    if search_after.is_none() && page * limit > PAGE_WINDOW {
        return Err(ApiError::bad_request(format!(
            "page and pageLimit reach only the first {PAGE_WINDOW} results; pass searchAfter from the last contact to go further"
        )));
    }
    let query = body
        .get("query")
        .and_then(Value::as_str)
        .map(str::to_lowercase)
        .filter(|q| !q.is_empty());
    let mut hits: Vec<(Keys, &Contact)> = store
        .contacts_in(location)
        .filter(|c| filters.iter().all(|f| matches(c, f)))
        .filter(|c| query.as_ref().is_none_or(|q| c.matches_text(q)))
        .map(|c| {
            let mut k: Keys = Default::default();
            for (slot, f) in k.iter_mut().zip(&sort_fields) {
                *slot = sort_key(c, f);
            }
            (k, c)
        })
        .collect();
    let total = hits.len();
    let order = |a: &(Keys, &Contact), b: &(Keys, &Contact)| {
        cmp_keys((&a.0, &a.1.id), (&b.0, &b.1.id), &desc)
    };
    let skip = match &search_after {
        Some((after, after_id)) => {
            hits.retain(|(k, c)| {
                cmp_keys((k, &c.id), (after, after_id), &desc) == Ordering::Greater
            });
            0
        }
        None => (page - 1) * limit,
    };
    // Only the first `skip + limit` in order matter: select them in O(n), then sort just those.
    let wanted = skip + limit;
    if hits.len() > wanted {
        hits.select_nth_unstable_by(wanted, order);
        hits.truncate(wanted);
    }
    hits.sort_unstable_by(order);
    let contacts = hits
        .iter()
        .skip(skip)
        .map(|(k, c)| {
            let mut v = c.to_search_json();
            let mut after: Vec<Value> = k[..sort_fields.len()].iter().map(Key::json).collect();
            after.push(json!(c.id));
            v["searchAfter"] = Value::Array(after);
            v
        })
        .collect();
    Ok(SearchOutcome { contacts, total })
}

pub async fn search(
    State(g): State<Arc<Ghl>>,
    Extension(t): Extension<TokenInfo>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let body = object(&body)?;
    let location = body
        .get("locationId")
        .and_then(Value::as_str)
        .unwrap_or(loc(&t))
        .to_string();
    if location != loc(&t) {
        return Err(ApiError::forbidden(
            "The token does not have access to this location.",
        ));
    }
    let out = search_contacts(&g.store.read(), &location, &body)?;
    Ok(Json(json!({"contacts": out.contacts, "total": out.total})))
}
