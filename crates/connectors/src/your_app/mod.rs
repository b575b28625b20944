//! The generic REST connector: any app of the "Your App" family, described entirely by a
//! [`YourAppConfig`] (a file). The default is the §5 contract of
//! shared/reference/targets/README.md; InvestNext and Invoco, which publish no API, are
//! profiles of this connector ([`YourAppConfig::profile`]) until their real APIs are known.
//!
//! | operation | how |
//! |---|---|
//! | `list_changed` | `list_path` with `updated_since` (inclusive) and `include_deleted=true`, paged; cursor = JSON [`models::SyncCursor`]; tombstones come as `deleted: true`. Without an `updated_since` parameter it is a full scan. |
//! | `list_all` | `list_path`, live records only, paged; cursor = JSON [`models::ScanCursor`] |
//! | `get` | `item_path`; 404 or a tombstone is `None` |
//! | `find` (contacts) | `email_param` / `phone_param` / `external_id_param` filters, exact match checked here; a lookup the app lacks is `None` |
//! | `create` | `create_path` (children under `{parent}`), with the engine's key in `Idempotency-Key`: the app answers a retried create with the first one's record |
//! | `update` | `PATCH item_path` with the changed fields; `If-Match: <x.version>` when the fields carry the version they were based on. A 412 means the record moved on: the connector re-reads it and answers `Transient`, so the engine re-fetches and tries again |
//! | `delete` | `DELETE item_path` (the app keeps a tombstone); already gone is fine |
//! | tags | the contact's `tags` field (PATCH replaces the set); kind `tag`: create = `POST tags_path`, delete = `DELETE tags_path`, get = is it on the contact |
//! | webhooks | [`webhooks`]: HMAC-SHA256 with a timestamp window |
//!
//! Errors: 401/403 → `Reconnect`, 404 → `NotFound`, 400/409/422 → `Rejected` (with the app's
//! message), 412 → `Transient` (after a re-read), 429 → waited out (`Retry-After`, up to
//! `rate_limit_retries` times) then `Transient`, 5xx and network failures → `Transient`.

pub mod config;
mod listing;
pub mod mapping;
pub mod models;
pub mod operations;
pub mod webhooks;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};

pub use config::{AuthConfig, PagingStyle, YourAppConfig, YourAppConfigError};

use crate::connector::{Capabilities, ChangeHint, ChangePage, Connector, ConnectorError, MatchKey};
use crate::record::{EntityKind, Record};
use config::KindConfig;

/// Fills `{id}` and `{parent}` with percent-encoded values, so an id stays one path segment.
fn fill(template: &str, id: Option<&str>, parent: Option<&str>) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let mut out = template.to_string();
    if let Some(id) = id {
        out = out.replace("{id}", &enc(id));
    }
    if let Some(p) = parent {
        out = out.replace("{parent}", &enc(p));
    }
    out
}

/// A tag of a contact record as a tag record (matched ignoring case, as the contract does).
fn tag_of(contact: &Record, name: &str) -> Option<Record> {
    let tags = contact.fields.get("tags")?.as_array()?;
    let tag = tags
        .iter()
        .filter_map(Value::as_str)
        .find(|t| t.eq_ignore_ascii_case(name))?;
    let mut r = Record::new(
        EntityKind::Tag,
        tag,
        Map::from_iter([("name".to_string(), json!(tag))]),
    );
    r.parent_id = Some(contact.id.clone());
    Some(r)
}

/// One request to make.
struct Req<'a> {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Value>,
    headers: Vec<(&'a str, String)>,
}

impl<'a> Req<'a> {
    fn new(method: Method, path: String) -> Self {
        Self {
            method,
            path,
            query: Vec::new(),
            body: None,
            headers: Vec::new(),
        }
    }
}

/// One app connection as a [`Connector`].
#[derive(Debug)]
pub struct YourAppConnector {
    cfg: YourAppConfig,
    http: reqwest::Client,
}

impl YourAppConnector {
    /// Checks the configuration and builds the HTTP client.
    pub fn new(cfg: YourAppConfig) -> Result<Self, YourAppConfigError> {
        cfg.validate()?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(cfg.timeout_secs))
            .build()
            .map_err(|e| YourAppConfigError {
                app: cfg.app.clone(),
                message: e.to_string(),
            })?;
        Ok(Self { cfg, http })
    }

    pub fn config(&self) -> &YourAppConfig {
        &self.cfg
    }

    fn kind(&self, kind: EntityKind) -> Result<&KindConfig, ConnectorError> {
        self.cfg.kinds.get(&kind).ok_or_else(|| {
            ConnectorError::Unsupported(format!("{}: no {kind} records", self.cfg.app))
        })
    }

    /// The app's error message (or the raw body) for a failed answer.
    fn message(&self, status: StatusCode, body: &Value, raw: &[u8]) -> String {
        let obj = body.as_object();
        let at = |p: &str| {
            obj.and_then(|o| mapping::get_path(o, p))
                .and_then(Value::as_str)
        };
        let text = match (
            at(&self.cfg.record.error_code_path),
            at(&self.cfg.record.error_message_path),
        ) {
            (Some(code), Some(m)) => format!("{code}: {m}"),
            (None, Some(m)) => m.to_string(),
            _ => String::from_utf8_lossy(&raw[..raw.len().min(300)]).into_owned(),
        };
        format!("{} answered {status}: {text}", self.cfg.app)
    }

    /// Sends a request (auth, 429 waits) and returns status and JSON (`null` when empty).
    async fn send(&self, req: Req<'_>) -> Result<(StatusCode, Value), ConnectorError> {
        self.send_raw(req).await.map_err(|(_, e)| e)
    }

    /// [`Self::send`], keeping the failed answer's status next to the error.
    async fn send_raw(
        &self,
        req: Req<'_>,
    ) -> Result<(StatusCode, Value), (Option<u16>, ConnectorError)> {
        let url = format!("{}/{}", self.cfg.base_url.trim_end_matches('/'), req.path);
        let mut waits = 0;
        loop {
            let mut rb = self.http.request(req.method.clone(), &url);
            let mut query = req.query.clone();
            rb = match &self.cfg.auth {
                AuthConfig::Bearer { secret } => rb.bearer_auth(secret.expose()),
                AuthConfig::Header {
                    name,
                    secret,
                    prefix,
                } => rb.header(name.as_str(), format!("{prefix}{}", secret.expose())),
                AuthConfig::Basic { username, password } => {
                    rb.basic_auth(username.expose(), Some(password.expose()))
                }
                AuthConfig::Query { param, secret } => {
                    query.push((param.clone(), secret.expose().to_string()));
                    rb
                }
            };
            if !query.is_empty() {
                rb = rb.query(&query);
            }
            for (k, v) in &req.headers {
                rb = rb.header(*k, v);
            }
            if let Some(b) = &req.body {
                rb = rb.json(b);
            }
            let transient = |e: reqwest::Error| {
                (
                    None,
                    ConnectorError::Transient(format!("{}: {}", self.cfg.app, e.without_url())),
                )
            };
            let resp = rb.send().await.map_err(transient)?;
            let status = resp.status();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let raw = resp.bytes().await.map_err(transient)?;
            let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
            if status.is_success() {
                return Ok((status, body));
            }
            let message = self.message(status, &body, &raw);
            if status == StatusCode::TOO_MANY_REQUESTS && waits < self.cfg.rate_limit_retries {
                // The app did nothing: any request may be sent again once the window allows.
                waits += 1;
                let secs = retry_after.unwrap_or(1).min(self.cfg.max_wait_secs);
                tracing::warn!(
                    app = self.cfg.app,
                    secs,
                    "rate limited; waiting Retry-After"
                );
                tokio::time::sleep(Duration::from_secs(secs)).await;
                continue;
            }
            let error = match status.as_u16() {
                401 | 403 => ConnectorError::Reconnect(message),
                404 | 410 => ConnectorError::NotFound(message),
                408 | 412 | 425 | 429 => ConnectorError::Transient(message),
                s if s >= 500 => ConnectorError::Transient(message),
                _ => ConnectorError::Rejected(message),
            };
            return Err((Some(status.as_u16()), error));
        }
    }

    async fn get_record(
        &self,
        kind: EntityKind,
        id: &str,
        parent: Option<&str>,
    ) -> Result<Option<Record>, ConnectorError> {
        let kc = self.kind(kind)?;
        let req = Req::new(Method::GET, fill(&kc.item_path, Some(id), parent));
        match self.send(req).await {
            Ok((_, v)) => {
                Ok(Some(models::record_of(kind, kc, &self.cfg.record, &v)?).filter(|r| !r.deleted))
            }
            Err(ConnectorError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn tags_path(&self, contact_id: &str) -> Result<String, ConnectorError> {
        let t = self.cfg.writes.tags_path.as_deref().ok_or_else(|| {
            ConnectorError::Unsupported(format!("{}: tag records (no tags_path)", self.cfg.app))
        })?;
        Ok(fill(t, Some(contact_id), Some(contact_id)))
    }

    fn parent<'p>(
        &self,
        kind: EntityKind,
        parent: Option<&'p str>,
    ) -> Result<&'p str, ConnectorError> {
        parent.filter(|p| !p.is_empty()).ok_or_else(|| {
            ConnectorError::Rejected(format!("a {} {kind} needs its contact's id", self.cfg.app))
        })
    }

    fn unmapped(&self, kind: EntityKind, names: &[String]) {
        if !names.is_empty() {
            tracing::debug!(app = self.cfg.app, %kind, ?names, "fields without a mapping not sent");
        }
    }
}

#[async_trait]
impl Connector for YourAppConnector {
    fn app(&self) -> &str {
        &self.cfg.app
    }

    fn capabilities(&self) -> Capabilities {
        let q = &self.cfg.query;
        let tags = self
            .cfg
            .kinds
            .get(&EntityKind::Contact)
            .is_some_and(|c| c.fields.contains_key("tags"));
        let mut kinds: Vec<EntityKind> = self.cfg.kinds.keys().copied().collect();
        if tags && self.cfg.writes.tags_path.is_some() {
            kinds.push(EntityKind::Tag);
        }
        Capabilities {
            kinds,
            incremental: q.updated_since_param.is_some(),
            email_lookup_exact: q.email_param.is_some(),
            native_tags: tags,
            webhooks: self.cfg.webhooks.is_some(),
            deletes_visible: q.include_deleted_param.is_some()
                && self.cfg.record.deleted_at_field.is_some(),
        }
    }

    async fn list_changed(
        &self,
        kind: EntityKind,
        cursor: Option<&str>,
    ) -> Result<ChangePage, ConnectorError> {
        self.changed_page(kind, cursor).await
    }

    async fn list_all(
        &self,
        kind: EntityKind,
        cursor: Option<&str>,
    ) -> Result<ChangePage, ConnectorError> {
        self.all_page(kind, cursor).await
    }

    async fn get(
        &self,
        kind: EntityKind,
        id: &str,
        parent_id: Option<&str>,
    ) -> Result<Option<Record>, ConnectorError> {
        if kind != EntityKind::Tag {
            return self.get_record(kind, id, parent_id).await;
        }
        let contact_id = self.parent(kind, parent_id)?;
        let Some(contact) = self
            .get_record(EntityKind::Contact, contact_id, None)
            .await?
        else {
            return Ok(None);
        };
        Ok(tag_of(&contact, id))
    }

    async fn find(
        &self,
        kind: EntityKind,
        key: &MatchKey,
    ) -> Result<Option<Record>, ConnectorError> {
        if kind != EntityKind::Contact {
            return Err(ConnectorError::Unsupported(format!(
                "{}: find of {kind}",
                self.cfg.app
            )));
        }
        let q = &self.cfg.query;
        let (param, value, field) = match key {
            MatchKey::Email(e) => (q.email_param.clone(), e.clone(), "email".to_string()),
            MatchKey::Phone(p) => (q.phone_param.clone(), p.clone(), "phone".to_string()),
            MatchKey::ExternalId { app, id } => (
                q.external_id_param
                    .as_ref()
                    .map(|p| p.replace("{app}", app)),
                id.clone(),
                format!("x.external_ids.{app}"),
            ),
        };
        let Some(param) = param else {
            return Ok(None);
        };
        let path = self.list_path(kind, "find")?;
        let (data, _) = self.page(path, vec![(param, value.clone())], None).await?;
        let hits: Vec<Record> = self
            .records(kind, &data)?
            .into_iter()
            .filter(|r| {
                !r.deleted
                    && r.text(&field)
                        .is_some_and(|v| v.trim().eq_ignore_ascii_case(value.trim()))
            })
            .collect();
        Ok(match <[Record; 1]>::try_from(hits) {
            Ok([one]) => Some(one),
            Err(_) => None,
        })
    }

    async fn children(
        &self,
        kind: EntityKind,
        contact_id: &str,
    ) -> Result<Vec<Record>, ConnectorError> {
        // The inherent method (listing.rs) does the work; this makes it reachable through
        // `dyn Connector`.
        YourAppConnector::children(self, kind, contact_id).await
    }

    async fn create(
        &self,
        kind: EntityKind,
        parent_id: Option<&str>,
        fields: &Map<String, Value>,
        idempotency_key: &str,
    ) -> Result<Record, ConnectorError> {
        if kind == EntityKind::Tag {
            let contact_id = self.parent(kind, parent_id)?;
            let name = fields
                .get("name")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|n| !n.is_empty());
            let name = name
                .ok_or_else(|| ConnectorError::Rejected("a tag needs a non-empty name".into()))?;
            let mut req = Req::new(Method::POST, self.tags_path(contact_id)?);
            req.body = Some(json!({ "tags": [name] }));
            // The answer is the contact with its tags now.
            let (_, v) = self.send(req).await?;
            let contact = models::record_of(
                EntityKind::Contact,
                self.kind(EntityKind::Contact)?,
                &self.cfg.record,
                &v,
            )?;
            return tag_of(&contact, name)
                .ok_or_else(|| ConnectorError::Transient("the tag did not stick".into()));
        }
        let kc = self.kind(kind)?;
        let parent = if kind.has_parent() {
            Some(self.parent(kind, parent_id)?)
        } else {
            None
        };
        let (body, unmapped) = models::body_of(kc, fields);
        self.unmapped(kind, &unmapped);
        let mut req = Req::new(Method::POST, fill(&kc.create_path, None, parent));
        req.body = Some(Value::Object(body));
        if let Some(h) = &self.cfg.writes.idempotency_header {
            req.headers.push((h.as_str(), idempotency_key.to_string()));
        }
        let (_, v) = self.send(req).await?;
        models::record_of(kind, kc, &self.cfg.record, &v)
    }

    async fn update(
        &self,
        kind: EntityKind,
        id: &str,
        parent_id: Option<&str>,
        fields: &Map<String, Value>,
    ) -> Result<Record, ConnectorError> {
        if kind == EntityKind::Tag {
            return Err(ConnectorError::Unsupported(format!(
                "{}: update of a tag (its name is its id)",
                self.cfg.app
            )));
        }
        let kc = self.kind(kind)?;
        let (body, unmapped) = models::body_of(kc, fields);
        self.unmapped(kind, &unmapped);
        if body.is_empty() {
            return self
                .get_record(kind, id, parent_id)
                .await?
                .ok_or_else(|| ConnectorError::NotFound(format!("{kind} {id}")));
        }
        let method =
            Method::from_bytes(self.cfg.writes.update_method.as_bytes()).unwrap_or(Method::PATCH);
        let mut req = Req::new(method, fill(&kc.item_path, Some(id), parent_id));
        req.body = Some(Value::Object(body));
        let based_on = models::version_of(fields).filter(|_| self.cfg.writes.if_match);
        if let Some(v) = &based_on {
            req.headers.push(("If-Match", v.clone()));
        }
        match self.send_raw(req).await {
            Ok((_, v)) => models::record_of(kind, kc, &self.cfg.record, &v),
            Err((Some(412), ConnectorError::Transient(m))) => {
                // Someone changed the record after the engine read it: read it again so the
                // log says what it is now, and let the engine re-fetch and decide again.
                let now = self.get_record(kind, id, parent_id).await?;
                let version = now.as_ref().and_then(|r| models::version_of(&r.fields));
                Err(ConnectorError::Transient(format!(
                    "{} {kind} {id} changed since version {} (now {}); re-fetch and retry: {m}",
                    self.cfg.app,
                    based_on.unwrap_or_default(),
                    version.as_deref().unwrap_or("deleted")
                )))
            }
            Err((_, e)) => Err(e),
        }
    }

    async fn delete(
        &self,
        kind: EntityKind,
        id: &str,
        parent_id: Option<&str>,
    ) -> Result<(), ConnectorError> {
        let req = if kind == EntityKind::Tag {
            let mut req = Req::new(
                Method::DELETE,
                self.tags_path(self.parent(kind, parent_id)?)?,
            );
            req.body = Some(json!({ "tags": [id] }));
            req
        } else {
            Req::new(
                Method::DELETE,
                fill(&self.kind(kind)?.item_path, Some(id), parent_id),
            )
        };
        match self.send(req).await {
            Ok(_) | Err(ConnectorError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `get-contact` and the deletes (see [`operations`]).
    async fn invoke(&self, op: &str, input: &Map<String, Value>) -> Result<Value, ConnectorError> {
        self.invoke_operation(op, input).await
    }

    fn parse_webhook(
        &self,
        headers: &HashMap<String, String>,
        body: &[u8],
    ) -> Result<Vec<ChangeHint>, ConnectorError> {
        let w = self.cfg.webhooks.as_ref().ok_or_else(|| {
            ConnectorError::Unsupported(format!(
                "{}: webhooks (no webhook secret configured)",
                self.cfg.app
            ))
        })?;
        webhooks::parse(&self.cfg, w, headers, body, chrono::Utc::now())
    }
}
