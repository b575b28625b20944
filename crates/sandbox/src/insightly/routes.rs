//! The `/v3.1` routes: one set of handlers for the five objects, registered with the swagger's
//! literal paths (`/v3.1/Contacts/{id}/Tags`) so fault rules and the request log can name them.
//!
//! Lists are bare JSON arrays in id order, paged with `skip` and `top` (`top` defaults to and is
//! capped at 500); `count_total=true` adds `X-Total-Count`; `brief=true` drops the
//! sub-collections. `updated_after_utc` is strict (`>`) and takes `YYYY-MM-DD HH:MM:SS` or RFC
//! 3339. Parameter names match ignoring case (ASP.NET binding); unknown ones are refused with a
//! 400 naming them, so a misspelt filter fails loudly instead of listing everything.
//! Statuses follow the swagger: 200 on reads, 201 on POST and PUT (and, as documented, on
//! `GET /{Object}/{id}/Tags`), 202 on DELETE.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::errors::{InsightlyError, InsightlyResult};
use super::schema::{parse_time, Obj, Ty};
use super::store::{Rec, Store};
use super::InsightlyApp;

type S = State<Arc<InsightlyApp>>;
type R = InsightlyResult<Response>;

/// The largest `top`; larger values are cut to it.
pub const MAX_TOP: usize = 500;

fn bad(m: impl Into<String>) -> InsightlyError {
    InsightlyError::bad_request(m)
}

/// A JSON object body; an empty body is an empty object. Malformed JSON is a 400.
pub fn object(body: &Bytes) -> InsightlyResult<Map<String, Value>> {
    match json_body(body)? {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(bad("The request body must be a JSON object.")),
    }
}

/// Any JSON body (`null` when empty).
pub fn json_body(body: &Bytes) -> InsightlyResult<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body)
        .map_err(|e| bad(format!("The request body is not valid JSON: {e}")))
}

/// A path id: an int64.
pub fn id(raw: &str) -> InsightlyResult<i64> {
    raw.trim()
        .parse()
        .map_err(|_| bad(format!("The id {raw:?} is not a valid integer.")))
}

/// The query parameters of a list.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub brief: bool,
    pub skip: usize,
    pub top: usize,
    pub count_total: bool,
    pub field: Option<(String, String)>,
    pub updated_after: Option<DateTime<Utc>>,
    pub tag: Option<String>,
    pub record_type: Option<String>,
}

fn boolean(name: &str, v: &str) -> InsightlyResult<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad(format!(
            "Invalid value for {name}: must be true or false."
        ))),
    }
}

/// Parses the parameters a route `allows` (lower-case names).
pub fn params(raw: Option<String>, allows: &[&str]) -> InsightlyResult<ListParams> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| bad(format!("Invalid query string: {e}")))?;
    let mut p = ListParams {
        top: MAX_TOP,
        ..Default::default()
    };
    let (mut field_name, mut field_value) = (None, None);
    let mut unknown = Vec::new();
    for (k, v) in pairs {
        let key = k.to_ascii_lowercase();
        if !allows.contains(&key.as_str()) {
            unknown.push(k);
            continue;
        }
        match key.as_str() {
            "brief" => p.brief = boolean("brief", &v)?,
            "count_total" => p.count_total = boolean("count_total", &v)?,
            "skip" => {
                p.skip = v
                    .trim()
                    .parse()
                    .map_err(|_| bad("Invalid value for skip: must be a non-negative integer."))?
            }
            "top" => {
                let n: usize = v
                    .trim()
                    .parse()
                    .map_err(|_| bad("Invalid value for top: must be a non-negative integer."))?;
                p.top = n.min(MAX_TOP);
            }
            "field_name" => field_name = Some(v.trim().to_string()),
            "field_value" => field_value = Some(v),
            "updated_after_utc" => {
                p.updated_after = Some(parse_time(&v).ok_or_else(|| {
                    bad(format!(
                        "Invalid value for updated_after_utc: {v:?} is not a date-time \
                         (YYYY-MM-DD HH:MM:SS or RFC 3339)."
                    ))
                })?)
            }
            "tagname" => p.tag = Some(v.trim().to_string()),
            "record_type" => p.record_type = Some(v.trim().to_string()),
            _ => {}
        }
    }
    if !unknown.is_empty() {
        return Err(bad(format!(
            "Unknown query parameters: {}. Allowed here: {}.",
            unknown.join(", "),
            allows.join(", ")
        )));
    }
    p.field =
        match (field_name, field_value) {
            (Some(n), Some(v)) if !n.is_empty() => Some((n, v)),
            (None, None) => None,
            _ => return Err(bad(
                "field_name and field_value must be given together (one field filter per request).",
            )),
        };
    Ok(p)
}

const LIST: &[&str] = &["brief", "skip", "top", "count_total"];
const SEARCH: &[&str] = &[
    "field_name",
    "field_value",
    "updated_after_utc",
    "brief",
    "skip",
    "top",
    "count_total",
];
const CHILDREN: &[&str] = &["updated_after_utc", "brief", "skip", "top", "count_total"];
const BY_TAG: &[&str] = &["tagname", "brief", "skip", "top", "count_total"];

/// One page of `all` as a bare array, with `X-Total-Count` when asked.
fn page(all: Vec<Value>, p: &ListParams) -> Response {
    let total = all.len();
    let rows: Vec<Value> = all.into_iter().skip(p.skip).take(p.top).collect();
    let mut resp = (StatusCode::OK, Json(Value::Array(rows))).into_response();
    if p.count_total {
        resp.headers_mut()
            .insert("x-total-count", HeaderValue::from(total));
    }
    resp
}

fn created(v: Value) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

/// Records of `obj` (all, or those `within` allows) matching the filters, rendered.
fn select(
    app: &InsightlyApp,
    obj: Obj,
    p: &ListParams,
    within: Option<(Obj, i64)>,
) -> InsightlyResult<Vec<Value>> {
    let store = app.store.lock();
    if let Some((field, _)) = &p.field {
        if !searchable(&store, obj, field) {
            return Err(bad(format!(
                "Invalid value for field_name: {field} is not a field of {}.",
                obj.plural()
            )));
        }
    }
    let recs: Vec<&Rec> = match within {
        Some(parent) => {
            if store.get(parent.0, parent.1).is_none() {
                return Err(InsightlyError::not_found(parent.0.singular(), parent.1));
            }
            store.linked(obj, parent)
        }
        None => store.all(obj).collect(),
    };
    Ok(recs
        .into_iter()
        .filter(|r| p.updated_after.is_none_or(|t| r.updated > t))
        .filter(|r| {
            p.field
                .as_ref()
                .is_none_or(|(f, v)| matches_value(obj, r, f, v))
        })
        .filter(|r| p.tag.as_ref().is_none_or(|t| r.has_tag(t)))
        .map(|r| store.render(r, p.brief))
        .collect())
}

async fn list(app: Arc<InsightlyApp>, obj: Obj, raw: Option<String>, allows: &[&str]) -> R {
    let p = params(raw, allows)?;
    if allows == BY_TAG && p.tag.as_deref().is_none_or(str::is_empty) {
        return Err(bad("tagName is required."));
    }
    Ok(page(select(&app, obj, &p, None)?, &p))
}

async fn children(
    app: Arc<InsightlyApp>,
    parent: Obj,
    pid: String,
    obj: Obj,
    raw: Option<String>,
) -> R {
    let p = params(raw, CHILDREN)?;
    let parent = (parent, id(&pid)?);
    Ok(page(select(&app, obj, &p, Some(parent))?, &p))
}

async fn get_one(app: Arc<InsightlyApp>, obj: Obj, raw: String) -> R {
    let id = id(&raw)?;
    let store = app.store.lock();
    let rec = store
        .get(obj, id)
        .ok_or_else(|| InsightlyError::not_found(obj.singular(), id))?;
    Ok(Json(store.render(rec, false)).into_response())
}

async fn create(app: Arc<InsightlyApp>, obj: Obj, body: Bytes) -> R {
    let body = object(&body)?;
    if body.is_empty() {
        return Err(bad(format!(
            "The {} to add is required as the request body.",
            obj.singular()
        )));
    }
    Ok(created(app.create(obj, &body, None)?))
}

async fn update(app: Arc<InsightlyApp>, obj: Obj, path_id: Option<String>, body: Bytes) -> R {
    let path_id = path_id.as_deref().map(id).transpose()?;
    Ok(created(app.update(obj, path_id, &object(&body)?)?))
}

async fn remove(app: Arc<InsightlyApp>, obj: Obj, raw: String) -> R {
    app.delete(obj, id(&raw)?)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn links(app: Arc<InsightlyApp>, obj: Obj, raw: String) -> R {
    let id = id(&raw)?;
    let store = app.store.lock();
    if store.get(obj, id).is_none() {
        return Err(InsightlyError::not_found(obj.singular(), id));
    }
    let out: Vec<Value> = store
        .links_of((obj, id))
        .into_iter()
        .map(|l| l.to_json((obj, id)))
        .collect();
    Ok(Json(Value::Array(out)).into_response())
}

async fn add_link(app: Arc<InsightlyApp>, obj: Obj, raw: String, body: Bytes) -> R {
    let link = app.add_link(obj, id(&raw)?, &json_body(&body)?)?;
    Ok(created(link))
}

async fn remove_link(app: Arc<InsightlyApp>, obj: Obj, raw: String, link: String) -> R {
    app.remove_link(obj, id(&raw)?, id(&link)?)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// Every `/v3.1` route; the caller adds the gate and the log layer.
pub fn api() -> Router<Arc<InsightlyApp>> {
    let mut r = Router::new();
    for obj in Obj::ALL {
        let p = obj.plural();
        let mut top = get(move |State(a): S, RawQuery(q): RawQuery| list(a, obj, q, LIST))
            .put(move |State(a): S, b: Bytes| update(a, obj, None, b));
        // v3.1 has no POST /Notes: a note is created under its parent record.
        if obj != Obj::Note {
            top = top.post(move |State(a): S, b: Bytes| create(a, obj, b));
        }
        r = r
            .route(&format!("/v3.1/{p}"), top)
            .route(
                &format!("/v3.1/{p}/Search"),
                get(move |State(a): S, RawQuery(q): RawQuery| list(a, obj, q, SEARCH)),
            )
            .route(
                &format!("/v3.1/{p}/{{id}}"),
                get(move |State(a): S, Path(i): Path<String>| get_one(a, obj, i))
                    // The swagger has only `PUT /{Object}` with the id in the body; amp-labs'
                    // connector also sends `PUT /{Object}/{id}`, so both are accepted.
                    .put(move |State(a): S, Path(i): Path<String>, b: Bytes| {
                        update(a, obj, Some(i), b)
                    })
                    .delete(move |State(a): S, Path(i): Path<String>| remove(a, obj, i)),
            )
            .route(
                &format!("/v3.1/{p}/{{id}}/Links"),
                get(move |State(a): S, Path(i): Path<String>| links(a, obj, i)).post(
                    move |State(a): S, Path(i): Path<String>, b: Bytes| add_link(a, obj, i, b),
                ),
            )
            .route(
                &format!("/v3.1/{p}/{{id}}/Links/{{linkId}}"),
                delete(move |State(a): S, Path((i, l)): Path<(String, String)>| {
                    remove_link(a, obj, i, l)
                }),
            );
        if obj.is_activity() {
            continue;
        }
        r = r
            .route(
                &format!("/v3.1/{p}/SearchByTag"),
                get(move |State(a): S, RawQuery(q): RawQuery| list(a, obj, q, BY_TAG)),
            )
            .merge(super::routes_sub::parent_routes(obj));
        for child in [Obj::Task, Obj::Event] {
            r = r.route(
                &format!("/v3.1/{p}/{{id}}/{}", child.plural()),
                get(
                    move |State(a): S, Path(i): Path<String>, RawQuery(q): RawQuery| {
                        children(a, obj, i, child, q)
                    },
                ),
            );
        }
        r = r.route(
            &format!("/v3.1/{p}/{{id}}/Notes"),
            get(
                move |State(a): S, Path(i): Path<String>, RawQuery(q): RawQuery| {
                    children(a, obj, i, Obj::Note, q)
                },
            )
            .post(move |State(a): S, Path(i): Path<String>, b: Bytes| {
                super::routes_sub::add_note(a, obj, i, b)
            })
            .put(move |State(a): S, Path(i): Path<String>, b: Bytes| {
                super::routes_sub::update_note(a, obj, i, b)
            }),
        );
    }
    r.merge(super::routes_sub::misc_routes())
}

/// Whether a scalar field's value matches a search value (`field_name`/`field_value`): text
/// compares trimmed and ignoring case (Insightly's exact rule is unverified), numbers and
/// booleans by their text, times in either accepted form.
fn matches_value(obj: Obj, rec: &Rec, field: &str, wanted: &str) -> bool {
    let wanted = wanted.trim();
    let value = match field {
        f if f == obj.id_field() => return rec.id.to_string() == wanted,
        "DATE_CREATED_UTC" | "DATE_UPDATED_UTC" => {
            let t = if field == "DATE_CREATED_UTC" {
                rec.created
            } else {
                rec.updated
            };
            return parse_time(wanted) == Some(t);
        }
        _ => match rec.fields.get(field) {
            Some(v) => v.clone(),
            None => match rec.custom.iter().find(|(k, _)| k == field) {
                Some((_, v)) => v.clone(),
                None => return false,
            },
        },
    };
    match (&value, obj.field(field).map(|f| f.ty)) {
        (Value::String(s), Some(Ty::Time)) => {
            parse_time(wanted).is_some_and(|w| parse_time(s) == Some(w))
        }
        (Value::String(s), _) => s.trim().eq_ignore_ascii_case(wanted),
        (Value::Null, _) => false,
        (other, _) => other.to_string().eq_ignore_ascii_case(wanted),
    }
}

/// Whether `field` can be searched on for `obj` (a scalar field, the id, a stamp or a custom field).
fn searchable(store: &Store, obj: Obj, field: &str) -> bool {
    field == obj.id_field()
        || field == "DATE_CREATED_UTC"
        || field == "DATE_UPDATED_UTC"
        || obj.field(field).is_some()
        || store.defs(obj).iter().any(|d| d.name == field)
}
