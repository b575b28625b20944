//! Contact search (`POST /contacts/search`) and the two older list endpoints (`GET /contacts/`,
//! `GET /contacts/business/{businessId}`): requests and answers.
//!
//! The search body is not in GHL's OpenAPI file (it links to a separate document); its shape here
//! follows `spec/ghl/FACTS.md`. Contacts come back as [`SearchContact`]: the few fields paging
//! needs are typed, everything else is kept verbatim in `extra`, so this module does not depend on
//! the full contact model and never drops a field GHL adds.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Map, Value};

/// Largest `pageLimit` GHL accepts on a search.
pub const MAX_PAGE_LIMIT: u32 = 500;
/// Largest `limit` of the legacy list and the business list.
pub const MAX_LIST_LIMIT: u32 = 100;
/// How far `page`/`pageLimit` paging reaches; past it, only `searchAfter` works.
pub const PAGE_WINDOW: u64 = 10_000;

/// The body of `POST /contacts/search`.
///
/// `page` is optional because a request carrying `searchAfter` pages by cursor instead; an empty
/// `location_id` is filled in with the client's location when sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    #[serde(default)]
    pub location_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// Results per page, 1 to [`MAX_PAGE_LIMIT`].
    pub page_limit: u32,
    /// Free text matched against names, email, phone and company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Filter>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sort: Vec<Sort>,
    /// The `searchAfter` of the last contact of the previous page: the only way past
    /// [`PAGE_WINDOW`] results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_after: Option<Vec<Value>>,
}

impl Default for SearchRequest {
    fn default() -> Self {
        Self {
            location_id: String::new(),
            page: None,
            page_limit: 100,
            query: None,
            filters: Vec::new(),
            sort: Vec::new(),
            search_after: None,
        }
    }
}

impl SearchRequest {
    /// A request for every contact of the client's location, 100 per page, GHL's default order.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the results per page.
    pub fn page_limit(mut self, limit: u32) -> Self {
        self.page_limit = limit;
        self
    }

    /// Adds a filter; filters at the top level are ANDed.
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filters.push(filter);
        self
    }

    /// Adds a sort key (later keys break ties of earlier ones; GHL breaks the last tie by id).
    pub fn sort_by(mut self, field: impl Into<String>, direction: Direction) -> Self {
        self.sort.push(Sort {
            field: field.into(),
            direction,
        });
        self
    }

    /// Sets the free-text query.
    pub fn query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }
}

/// How a filter group combines its filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum GroupOp {
    And,
    Or,
}

/// A search operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    Eq,
    NotEq,
    Contains,
    NotContains,
    Exists,
    NotExists,
    /// `value` is `{gt|gte|lt|lte: …}`; dates as ISO 8601 or epoch milliseconds.
    Range,
}

/// One search filter: a condition on a field, or an AND/OR group of filters (nested freely).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Filter {
    Group {
        group: GroupOp,
        filters: Vec<Filter>,
    },
    Leaf {
        /// `email`, `tags`, `dateUpdated`, `customFields.<id>` …
        field: String,
        operator: Operator,
        /// Absent for `exists`/`not_exists`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<Value>,
    },
}

impl Filter {
    fn leaf(field: impl Into<String>, operator: Operator, value: Option<Value>) -> Self {
        Self::Leaf {
            field: field.into(),
            operator,
            value,
        }
    }
    /// `field` equals `value` (any of them, for an array).
    pub fn eq(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::leaf(field, Operator::Eq, Some(value.into()))
    }
    /// `field` does not equal `value`.
    pub fn not_eq(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::leaf(field, Operator::NotEq, Some(value.into()))
    }
    /// `field` contains `value` (case-insensitive).
    pub fn contains(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::leaf(field, Operator::Contains, Some(value.into()))
    }
    /// `field` does not contain `value`.
    pub fn not_contains(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::leaf(field, Operator::NotContains, Some(value.into()))
    }
    /// `field` has a value.
    pub fn exists(field: impl Into<String>) -> Self {
        Self::leaf(field, Operator::Exists, None)
    }
    /// `field` has no value.
    pub fn not_exists(field: impl Into<String>) -> Self {
        Self::leaf(field, Operator::NotExists, None)
    }
    /// `field` within the bounds of `range`.
    pub fn range(field: impl Into<String>, range: Range) -> Self {
        Self::leaf(field, Operator::Range, Some(range.to_value()))
    }
    /// All of `filters`.
    pub fn and(filters: Vec<Filter>) -> Self {
        Self::Group {
            group: GroupOp::And,
            filters,
        }
    }
    /// Any of `filters`.
    pub fn or(filters: Vec<Filter>) -> Self {
        Self::Group {
            group: GroupOp::Or,
            filters,
        }
    }
}

/// Bounds of a `range` filter; unset bounds are left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Range {
    pub gt: Option<Value>,
    pub gte: Option<Value>,
    pub lt: Option<Value>,
    pub lte: Option<Value>,
}

impl Range {
    /// A bound as GHL takes dates: ISO 8601 with milliseconds, UTC.
    pub fn date(at: DateTime<Utc>) -> Value {
        json!(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    }

    fn to_value(&self) -> Value {
        let mut m = Map::new();
        for (k, v) in [
            ("gt", &self.gt),
            ("gte", &self.gte),
            ("lt", &self.lt),
            ("lte", &self.lte),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), v.clone());
            }
        }
        Value::Object(m)
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Asc,
    Desc,
}

/// One sort key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sort {
    pub field: String,
    pub direction: Direction,
}

/// The answer of `POST /contacts/search`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResponse {
    #[serde(default)]
    pub contacts: Vec<SearchContact>,
    /// Matches in all, not just on this page.
    #[serde(default)]
    pub total: u64,
}

/// A contact as the search and list endpoints return it. The fields paging relies on are typed;
/// every other field is kept as GHL sent it in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchContact {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub date_added: Option<DateTime<Utc>>,
    #[serde(
        default,
        deserialize_with = "lenient_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub date_updated: Option<DateTime<Utc>>,
    /// Sort values and id of this contact: pass it as the next request's `searchAfter`.
    /// Empty on the list endpoints, which do not send it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub search_after: Vec<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The answer of the deprecated `GET /contacts/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegacyListResponse {
    #[serde(default)]
    pub contacts: Vec<SearchContact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default)]
    pub meta: LegacyMeta,
}

/// Paging facts of the legacy list: pass `start_after_id` and `start_after` to get the next page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyMeta {
    #[serde(default, deserialize_with = "lenient_u64")]
    pub total: Option<u64>,
    #[serde(default)]
    pub next_page_url: Option<String>,
    #[serde(default)]
    pub start_after_id: Option<String>,
    /// `dateAdded` of the last contact, epoch milliseconds.
    #[serde(default, deserialize_with = "lenient_i64")]
    pub start_after: Option<i64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub current_page: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub next_page: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub prev_page: Option<u64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The answer of `GET /contacts/business/{businessId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusinessContactsResponse {
    #[serde(default)]
    pub contacts: Vec<SearchContact>,
    /// Contacts of the business in all (GHL's `count` is the total, not the page size).
    #[serde(default)]
    pub count: u64,
}

/// Reads a date GHL may send as ISO 8601 (with or without offset) or as epoch milliseconds.
pub fn parse_date(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                    .ok()
                    .map(|d| d.and_utc())
            })
            .or_else(|| {
                s.parse::<i64>()
                    .ok()
                    .and_then(DateTime::from_timestamp_millis)
            }),
        Value::Number(n) => n.as_i64().and_then(DateTime::from_timestamp_millis),
        _ => None,
    }
}

fn lenient_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    parse_date(&v)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("unreadable date {v}")))
}

fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(lenient_i64(d)?.and_then(|n| u64::try_from(n).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_shape() {
        let r = SearchRequest::new()
            .page_limit(500)
            .filter(Filter::or(vec![
                Filter::eq("tags", "vip"),
                Filter::exists("email"),
            ]))
            .filter(Filter::range(
                "dateUpdated",
                Range {
                    gte: Some(json!(5)),
                    ..Default::default()
                },
            ))
            .sort_by("dateUpdated", Direction::Asc);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            json!({"locationId": "", "pageLimit": 500,
                "filters": [{"group": "OR", "filters": [{"field": "tags", "operator": "eq", "value": "vip"},
                                                       {"field": "email", "operator": "exists"}]},
                            {"field": "dateUpdated", "operator": "range", "value": {"gte": 5}}],
                "sort": [{"field": "dateUpdated", "direction": "asc"}]})
        );
        let back: SearchRequest = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn contact_keeps_everything() {
        let raw = json!({"id": "a", "locationId": "l", "dateAdded": "2021-11-26T12:41:02.193Z",
            "dateUpdated": 1637930462193i64, "searchAfter": [1, "a"], "email": "x@y", "tags": ["t"]});
        let c: SearchContact = serde_json::from_value(raw).unwrap();
        assert_eq!(c.date_added, c.date_updated);
        assert_eq!(c.extra["email"], "x@y");
        assert_eq!(c.search_after, vec![json!(1), json!("a")]);
        let meta: LegacyMeta =
            serde_json::from_value(json!({"startAfter": "17", "total": 3, "nextPage": null}))
                .unwrap();
        assert_eq!(
            (meta.start_after, meta.total, meta.next_page),
            (Some(17), Some(3), None)
        );
    }
}
