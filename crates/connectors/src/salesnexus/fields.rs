//! Contact custom-field definitions, so list values round-trip: a multi-select field holds
//! `"a, b"` in SalesNexus and a list (`["a", "b"]`) in the canonical record.
//!
//! - Reads: the connector keeps the definitions (`GET /contact-fields`) and reads a multi-select
//!   field's text as a list. They are fetched once, and again only when a record names a field
//!   they lack and the copy is older than a minute, so an unknown field cannot cost a request
//!   per record.
//! - Writes: a list written to a field SalesNexus does not have yet would be created as a
//!   Character field (and read back as text, which a two-way sync would then write back). The
//!   connector first creates it as a multi-select drop-down (`POST /contact-fields`; a 409
//!   means someone made it meanwhile, which is fine).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::SalesNexusConnector;
use crate::connector::ConnectorError;

/// A cached copy older than this is fetched again when a name is missing from it.
const REFRESH_AFTER: Duration = Duration::from_secs(60);

/// The definitions as last fetched (names lower-cased).
#[derive(Debug)]
pub(super) struct Defs {
    all: HashSet<String>,
    multi: HashSet<String>,
    fetched: Instant,
}

/// The connection's cached definitions.
#[derive(Debug, Default)]
pub(super) struct DefsCache(tokio::sync::Mutex<Option<Defs>>);

impl SalesNexusConnector {
    async fn fetch_defs(&self) -> Result<Defs, ConnectorError> {
        let a = self
            .client
            .call(Method::GET, "contact-fields", &[], None)
            .await?;
        let list = a.body.as_array().cloned().unwrap_or_default();
        let name = |d: &Value| d.get("name").and_then(Value::as_str).map(str::to_lowercase);
        Ok(Defs {
            all: list.iter().filter_map(name).collect(),
            multi: list
                .iter()
                .filter(|d| d.get("multiSelect") == Some(&Value::Bool(true)))
                .filter_map(name)
                .collect(),
            fetched: Instant::now(),
        })
    }

    /// The multi-select fields among `names` (lower-cased), fetching the definitions when
    /// none are cached, or when a name is unknown and the copy is over a minute old.
    pub(super) async fn multi_select(
        &self,
        names: &[String],
    ) -> Result<HashSet<String>, ConnectorError> {
        if names.is_empty() {
            return Ok(HashSet::new());
        }
        let mut cache = self.defs.0.lock().await;
        let stale = match cache.as_ref() {
            None => true,
            Some(d) => {
                d.fetched.elapsed() >= REFRESH_AFTER
                    && names.iter().any(|n| !d.all.contains(&n.to_lowercase()))
            }
        };
        if stale {
            *cache = Some(self.fetch_defs().await?);
        }
        let multi = cache.as_ref().map(|d| &d.multi);
        Ok(names
            .iter()
            .map(|n| n.to_lowercase())
            .filter(|n| multi.is_some_and(|m| m.contains(n)))
            .collect())
    }

    /// The custom-field names of API contacts.
    pub(super) fn custom_names<'a>(
        rows: impl IntoIterator<Item = &'a Map<String, Value>>,
    ) -> Vec<String> {
        let mut out: Vec<String> = rows
            .into_iter()
            .filter_map(|r| r.get("customFields").and_then(Value::as_object))
            .flat_map(|c| c.keys().cloned())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Creates, as multi-select drop-downs, the fields that a write gives a list and that
    /// SalesNexus does not have yet.
    pub(super) async fn ensure_multi_select(
        &self,
        fields: &Map<String, Value>,
    ) -> Result<(), ConnectorError> {
        let lists: Vec<String> = fields
            .iter()
            .filter(|(_, v)| v.is_array())
            .filter_map(|(k, _)| k.strip_prefix("custom.").map(str::to_string))
            .filter(|k| !k.is_empty() && !k.eq_ignore_ascii_case(&self.cfg.tags_field))
            .collect();
        if lists.is_empty() {
            return Ok(());
        }
        let mut cache = self.defs.0.lock().await;
        if cache.is_none() {
            *cache = Some(self.fetch_defs().await?);
        }
        let mut made = false;
        for name in &lists {
            let known = cache
                .as_ref()
                .is_some_and(|d| d.all.contains(&name.to_lowercase()));
            if known {
                continue;
            }
            let body = json!({"name": name, "label": name, "type": 0,
                "isDropDown": true, "multiSelect": true});
            match self
                .client
                .call(Method::POST, "contact-fields", &[], Some(&body))
                .await
            {
                Ok(_) => made = true,
                Err(ConnectorError::Rejected(m)) if m.contains(" 409 ") => made = true,
                Err(e) => return Err(e),
            }
        }
        if made {
            *cache = Some(self.fetch_defs().await?);
        }
        Ok(())
    }
}
