//! Query-string parsing that names the parameter at fault (axum's own rejection does not
//! answer in the admin error shape).

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use chrono::{DateTime, Utc};
use engine::store::Page;

use super::error::ApiError;

/// A request's query parameters, checked against the ones a route accepts.
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    /// Refuses parameters the route does not know, so a typo (`?flw=`) is not silently
    /// ignored and does not return everything.
    pub(crate) fn new(
        q: Result<Query<HashMap<String, String>>, QueryRejection>,
        allowed: &[&str],
    ) -> Result<Params, ApiError> {
        let Query(map) = q.map_err(|e| ApiError::bad_param("(query string)", e.body_text()))?;
        if let Some(k) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::bad_param(
                k,
                format!("unknown parameter; this route takes {}", allowed.join(", ")),
            ));
        }
        Ok(Params(map))
    }

    /// A text parameter; blank counts as absent.
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|v| !v.is_empty()).cloned()
    }

    /// An integer parameter.
    pub(crate) fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.text(name)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| ApiError::bad_param(name, format!("`{v}` is not an integer")))
            })
            .transpose()
    }

    /// An RFC 3339 timestamp parameter.
    pub(crate) fn time(&self, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
        self.text(name)
            .map(|v| {
                DateTime::parse_from_rfc3339(&v)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| {
                        ApiError::bad_param(
                            name,
                            format!("`{v}` is not an RFC 3339 time (2026-01-31T12:00:00Z): {e}"),
                        )
                    })
            })
            .transpose()
    }

    /// `limit` (1–1000, default 100) and `offset` (default 0).
    pub(crate) fn page(&self) -> Result<Page, ApiError> {
        let mut page = Page::default();
        if let Some(l) = self.int("limit")? {
            if !(1..=1000).contains(&l) {
                return Err(ApiError::bad_param("limit", "must be between 1 and 1000"));
            }
            page.limit = l as u32;
        }
        if let Some(o) = self.int("offset")? {
            page.offset =
                u32::try_from(o).map_err(|_| ApiError::bad_param("offset", "must be 0 or more"))?;
        }
        Ok(page)
    }
}
