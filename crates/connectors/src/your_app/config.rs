//! The whole shape of a generic REST app, as data: where it is, how it authenticates, how it
//! pages, what its records and fields are called, how it signs webhooks. The default is the
//! "Your App" contract (shared/reference/targets/README.md §5), so
//! [`YourAppConfig::default_for`] works against the emulator as is; any other REST app of the
//! same family is a config file away (see `docs/connectors/your-app.md`).
//!
//! InvestNext and Invoco publish no API: [`YourAppConfig::profile`] gives them as profiles of
//! this generic connector (the §5 contract under their name), to be adjusted in their config
//! file once their real API is known (`docs/connectors/investnext.md`, `invoco.md`).
//!
//! A file is read over the profile's defaults ([`YourAppConfig::from_yaml`]): objects merge key
//! by key, anything else replaces, and `null` removes a default entry (e.g. a field mapping, or
//! `kinds.appointment` for an app without appointments).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::mapping::{self, FieldTable};
use crate::record::EntityKind;

/// A configuration is wrong; the message names the setting.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{app} connector configuration: {message}")]
pub struct YourAppConfigError {
    pub app: String,
    pub message: String,
}

/// A secret from the config file (API key, password, webhook secret); printed as `***`.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How requests authenticate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "style", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthConfig {
    /// `Authorization: Bearer <secret>` (§5).
    Bearer { secret: SecretString },
    /// `<name>: <prefix><secret>` (e.g. SalesNexus' `X-Api-Key`).
    Header {
        name: String,
        secret: SecretString,
        #[serde(default)]
        prefix: String,
    },
    /// HTTP Basic (e.g. Insightly: the key as user name, empty password).
    Basic {
        username: SecretString,
        #[serde(default)]
        password: SecretString,
    },
    /// `?<param>=<secret>` on every request.
    Query { param: String, secret: SecretString },
}

/// How lists page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PagingStyle {
    /// The answer names the next page's cursor (`next_key`), sent back as `cursor_param`.
    Cursor,
    /// `page_param` = 1, 2, 3 … until a short page.
    Page,
    /// `offset_param` = 0, n, 2n … until a short page.
    Offset,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PagingConfig {
    pub style: PagingStyle,
    pub page_size: u32,
    pub limit_param: String,
    pub cursor_param: String,
    pub page_param: String,
    pub first_page: u64,
    pub offset_param: String,
    /// Where the records are in an answer (dotted path); empty: the answer is the list.
    pub data_key: String,
    /// Where the next cursor is (cursor style); `null` or absent there means no more pages.
    pub next_key: String,
}

impl Default for PagingConfig {
    fn default() -> Self {
        Self {
            style: PagingStyle::Cursor,
            page_size: 50,
            limit_param: "limit".into(),
            cursor_param: "cursor".into(),
            page_param: "page".into(),
            first_page: 1,
            offset_param: "offset".into(),
            data_key: "data".into(),
            next_key: "next_cursor".into(),
        }
    }
}

/// Change detection and lookups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueryConfig {
    /// "Changed since" filter (RFC 3339, inclusive); `null`: `list_changed` is a full scan.
    pub updated_since_param: Option<String>,
    /// Asks for tombstones; `null`: deletes are invisible when listing.
    pub include_deleted_param: Option<String>,
    /// Re-read margin before the cursor, for apps whose lists lag their clocks.
    pub overlap_secs: u64,
    /// Exact email filter on the contact list; `null`: no email lookup.
    pub email_param: Option<String>,
    /// Exact phone filter on the contact list; `null`: no phone lookup.
    pub phone_param: Option<String>,
    /// Filter by another app's id (`{app}` is replaced, e.g. `external_id.{app}`); `null`: none.
    pub external_id_param: Option<String>,
}

impl Default for QueryConfig {
    fn default() -> Self {
        Self {
            updated_since_param: Some("updated_since".into()),
            include_deleted_param: Some("include_deleted".into()),
            overlap_secs: 0,
            email_param: Some("email".into()),
            phone_param: None,
            external_id_param: None,
        }
    }
}

/// How writes are made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WriteConfig {
    /// Header carrying the engine's idempotency key on creates; `null`: not sent.
    pub idempotency_header: Option<String>,
    /// Send `If-Match: <x.version>` on updates that carry the version they were based on.
    pub if_match: bool,
    /// `PATCH` (partial, §5) or `PUT`.
    pub update_method: String,
    /// Sub-path of a contact for adding (POST) and removing (DELETE) tags; `null`: tags are
    /// changed only through the contact's `tags` field.
    pub tags_path: Option<String>,
}

impl Default for WriteConfig {
    fn default() -> Self {
        Self {
            idempotency_header: Some("Idempotency-Key".into()),
            if_match: true,
            update_method: "PATCH".into(),
            tags_path: Some("contacts/{id}/tags".into()),
        }
    }
}

/// Names of the fields every record has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordConfig {
    pub id_field: String,
    /// The owning contact of a child record.
    pub parent_field: String,
    pub updated_at_field: String,
    /// A set value marks a tombstone; `null`: the app has none.
    pub deleted_at_field: Option<String>,
    /// Read as `x.version`; `null`: no versions (and no `If-Match`).
    pub version_field: Option<String>,
    /// Dotted paths of the error message and code in an error answer.
    pub error_message_path: String,
    pub error_code_path: String,
}

impl Default for RecordConfig {
    fn default() -> Self {
        Self {
            id_field: "id".into(),
            parent_field: "contact_id".into(),
            updated_at_field: "updated_at".into(),
            deleted_at_field: Some("deleted_at".into()),
            version_field: Some("version".into()),
            error_message_path: "error.message".into(),
            error_code_path: "error.code".into(),
        }
    }
}

/// One kind's routes and fields. Paths are relative to `base_url`; `{id}` is the record's id,
/// `{parent}` its contact's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindConfig {
    /// Every record of the kind; `null`: listed only per contact (`children_path`).
    pub list_path: Option<String>,
    pub item_path: String,
    pub create_path: String,
    /// One contact's records of this kind (children kinds).
    #[serde(default)]
    pub children_path: Option<String>,
    pub fields: FieldTable,
    /// The kind's name in webhook event types (`contact` in `contact.updated`).
    pub event_name: String,
}

/// Webhook signatures: `<signature_header>: <prefix><hex HMAC-SHA256(secret, timestamp + "." +
/// body)>`, `<timestamp_header>` in Unix seconds, `<event_id_header>` for de-duplication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    pub secret: SecretString,
    pub signature_header: String,
    pub signature_prefix: String,
    pub timestamp_header: String,
    pub event_id_header: String,
    pub tolerance_secs: u64,
    /// Dotted paths in the body: the event type (`contact.updated`) and the record.
    pub type_field: String,
    pub data_field: String,
    /// Actions (after the last `.` of the type) that mean the record is gone.
    pub deleted_actions: Vec<String>,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            secret: SecretString::default(),
            signature_header: "X-Signature".into(),
            signature_prefix: "sha256=".into(),
            timestamp_header: "X-Timestamp".into(),
            event_id_header: "X-Event-Id".into(),
            tolerance_secs: 300,
            type_field: "type".into(),
            data_field: "data".into(),
            deleted_actions: vec!["deleted".into()],
        }
    }
}

/// The whole configuration of one app connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YourAppConfig {
    /// The app's short name (`your_app`, `investnext`, `invoco`, …), as `Connector::app`.
    pub app: String,
    /// E.g. `https://api.example.com/v1`.
    pub base_url: String,
    pub auth: AuthConfig,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// 429s are retried this many times, waiting `Retry-After` (at most `max_wait_secs`).
    #[serde(default = "default_retries")]
    pub rate_limit_retries: u32,
    #[serde(default = "default_max_wait")]
    pub max_wait_secs: u64,
    #[serde(default)]
    pub paging: PagingConfig,
    #[serde(default)]
    pub query: QueryConfig,
    #[serde(default)]
    pub writes: WriteConfig,
    #[serde(default)]
    pub record: RecordConfig,
    pub kinds: BTreeMap<EntityKind, KindConfig>,
    #[serde(default)]
    pub webhooks: Option<WebhookConfig>,
}

fn default_timeout() -> u64 {
    30
}
fn default_retries() -> u32 {
    3
}
fn default_max_wait() -> u64 {
    60
}

/// Profiles shipped with the connector: the §5 contract under each app's name.
pub const PROFILES: [&str; 3] = ["your_app", "investnext", "invoco"];

fn kind(list: Option<&str>, item: &str, create: &str, children: Option<&str>) -> KindConfig {
    KindConfig {
        list_path: list.map(str::to_string),
        item_path: item.into(),
        create_path: create.into(),
        children_path: children.map(str::to_string),
        fields: FieldTable::new(),
        event_name: String::new(),
    }
}

impl YourAppConfig {
    /// The §5 contract at `base_url` (e.g. the emulator's `…/v1`) with a bearer key.
    pub fn default_for(base_url: impl Into<String>, api_key: impl Into<String>) -> Self {
        let mut kinds = BTreeMap::new();
        let mut add = |k: EntityKind, mut c: KindConfig, fields: FieldTable| {
            c.fields = fields;
            c.event_name = k.as_str().to_string();
            kinds.insert(k, c);
        };
        add(
            EntityKind::Contact,
            kind(Some("contacts"), "contacts/{id}", "contacts", None),
            mapping::contact_fields(),
        );
        for (k, plural, fields) in [
            (EntityKind::Note, "notes", mapping::note_fields()),
            (EntityKind::Task, "tasks", mapping::task_fields()),
            (
                EntityKind::Appointment,
                "appointments",
                mapping::appointment_fields(),
            ),
        ] {
            let children = format!("contacts/{{parent}}/{plural}");
            let item = format!("{plural}/{{id}}");
            add(
                k,
                kind(Some(plural), &item, &children, Some(&children)),
                fields,
            );
        }
        Self {
            app: "your_app".into(),
            base_url: base_url.into(),
            auth: AuthConfig::Bearer {
                secret: SecretString::new(api_key),
            },
            timeout_secs: default_timeout(),
            rate_limit_retries: default_retries(),
            max_wait_secs: default_max_wait(),
            paging: PagingConfig::default(),
            query: QueryConfig::default(),
            writes: WriteConfig::default(),
            record: RecordConfig::default(),
            kinds,
            webhooks: None,
        }
    }

    /// A shipped profile (`your_app`, `investnext`, `invoco`): today all three are the §5
    /// contract, because InvestNext and Invoco publish no API; only the name differs.
    pub fn profile(
        name: &str,
        base_url: impl Into<String>,
        api_key: impl Into<String>,
    ) -> Option<Self> {
        PROFILES.contains(&name).then(|| Self {
            app: name.to_string(),
            ..Self::default_for(base_url, api_key)
        })
    }

    /// Verifies webhooks with this secret (and the §5 header names).
    pub fn with_webhook_secret(mut self, secret: impl Into<String>) -> Self {
        self.webhooks = Some(WebhookConfig {
            secret: SecretString::new(secret),
            ..WebhookConfig::default()
        });
        self
    }

    /// Reads a YAML file's text over its profile's defaults (`profile:`, default `your_app`).
    pub fn from_yaml(text: &str) -> Result<Self, YourAppConfigError> {
        let v: Value = serde_saphyr::from_str(text).map_err(|e| err("config", e))?;
        Self::from_value(v)
    }

    /// Reads JSON over its profile's defaults, like [`Self::from_yaml`].
    pub fn from_json(text: &str) -> Result<Self, YourAppConfigError> {
        let v: Value = serde_json::from_str(text).map_err(|e| err("config", e))?;
        Self::from_value(v)
    }

    fn from_value(mut v: Value) -> Result<Self, YourAppConfigError> {
        let Some(file) = v.as_object_mut() else {
            return Err(err("config", "the file must be a mapping"));
        };
        let profile = match file.remove("profile") {
            None => "your_app".to_string(),
            Some(Value::String(p)) => p,
            Some(other) => return Err(err("profile", format!("must be a name, not {other}"))),
        };
        let base = Self::profile(&profile, "", "").ok_or_else(|| {
            err(
                "profile",
                format!("unknown profile {profile:?}; known: {PROFILES:?}"),
            )
        })?;
        let mut merged = serde_json::to_value(&base).map_err(|e| err(&profile, e))?;
        // The auth style decides which keys auth has: a file's auth replaces the profile's.
        if let (Some(m), true) = (merged.as_object_mut(), file.contains_key("auth")) {
            m.remove("auth");
        }
        merge(&mut merged, v);
        let config: Self = serde_json::from_value(merged).map_err(|e| err(&profile, e))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every setting a typo could break, so a bad file fails at start-up.
    pub fn validate(&self) -> Result<(), YourAppConfigError> {
        let bad = |m: String| Err(err(&self.app, m));
        if self.app.trim().is_empty() {
            return bad("app must be named".into());
        }
        match url::Url::parse(&self.base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => {
                return bad(format!(
                    "base_url {:?} is not an http(s) URL",
                    self.base_url
                ))
            }
        }
        let empty = match &self.auth {
            AuthConfig::Bearer { secret } => secret.expose().is_empty(),
            AuthConfig::Header { name, secret, .. } => {
                name.is_empty() || secret.expose().is_empty()
            }
            AuthConfig::Basic { username, .. } => username.expose().is_empty(),
            AuthConfig::Query { param, secret } => param.is_empty() || secret.expose().is_empty(),
        };
        if empty {
            return bad("auth: the secret and the header/param name must not be empty".into());
        }
        if self.paging.page_size == 0 {
            return bad("paging.page_size must be at least 1".into());
        }
        if !matches!(self.writes.update_method.as_str(), "PATCH" | "PUT") {
            return bad("writes.update_method must be PATCH or PUT".into());
        }
        if !self.kinds.contains_key(&EntityKind::Contact) {
            return bad("kinds.contact is required".into());
        }
        for (k, c) in &self.kinds {
            if matches!(k, EntityKind::Tag | EntityKind::Business) {
                return bad(format!(
                    "kinds.{k}: not a record kind of this connector (tags are a contact field)"
                ));
            }
            if c.item_path.is_empty() || c.create_path.is_empty() {
                return bad(format!("kinds.{k}: item_path and create_path are required"));
            }
            if k.has_parent() && !c.create_path.contains("{parent}") {
                return bad(format!("kinds.{k}.create_path must contain {{parent}}"));
            }
            mapping::check(&c.fields).or_else(|m| bad(format!("kinds.{k}.fields: {m}")))?;
        }
        if let Some(w) = &self.webhooks {
            if w.secret.expose().is_empty() || w.signature_header.is_empty() {
                return bad("webhooks: secret and signature_header are required".into());
            }
        }
        Ok(())
    }
}

fn err(app: &str, e: impl fmt::Display) -> YourAppConfigError {
    YourAppConfigError {
        app: app.to_string(),
        message: e.to_string(),
    }
}

/// Merges `over` into `base`: objects key by key, `null` deletes, anything else replaces.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                if v.is_null() {
                    b.remove(&k);
                } else if let Some(slot) = b.get_mut(&k) {
                    merge(slot, v);
                } else {
                    b.insert(k, v);
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

impl Default for YourAppConfig {
    /// The §5 contract at a placeholder address; set `base_url` and `auth` before use.
    fn default() -> Self {
        Self::default_for("http://127.0.0.1/v1", "")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn files_merge_over_profiles() {
        let c = YourAppConfig::from_yaml(
            "profile: investnext\nbase_url: https://api.example.com/v1\nauth:\n  style: header\n  name: X-Api-Key\n  secret: k\nkinds:\n  appointment: null\n  contact:\n    fields:\n      phone: mobile\n      company_name: null\nwebhooks:\n  secret: s\n",
        )
        .unwrap();
        assert_eq!(c.app, "investnext");
        assert!(!c.kinds.contains_key(&EntityKind::Appointment));
        let fields = &c.kinds[&EntityKind::Contact].fields;
        assert_eq!(fields["phone"], "mobile");
        assert!(!fields.contains_key("company_name"));
        assert_eq!(fields["email"], "email");
        let w = c.webhooks.as_ref().unwrap();
        assert_eq!(
            (w.secret.expose(), w.signature_header.as_str()),
            ("s", "X-Signature")
        );
        assert_eq!(format!("{:?}", c.auth).matches("***").count(), 1);
        let e = YourAppConfig::from_yaml("base_url: nope\nauth: {style: bearer, secret: k}")
            .unwrap_err();
        assert!(e.message.contains("base_url"), "{e}");
        let e = YourAppConfig::from_yaml("profile: salesforce").unwrap_err();
        assert!(e.message.contains("unknown profile"), "{e}");
        let e = YourAppConfig::from_json(&json!({"base_url": "http://x", "auth": {"style": "bearer", "secret": "k"}, "pagin": {}}).to_string()).unwrap_err();
        assert!(e.message.contains("pagin"), "{e}");
    }

    #[test]
    fn defaults_are_the_contract() {
        let c = YourAppConfig::default_for("http://127.0.0.1:1/v1", "key");
        c.validate().unwrap();
        assert_eq!(
            c.kinds[&EntityKind::Note].create_path,
            "contacts/{parent}/notes"
        );
        assert_eq!(
            c.kinds[&EntityKind::Task].list_path.as_deref(),
            Some("tasks")
        );
        assert!(YourAppConfig::profile("invoco", "http://x", "k").is_some());
    }
}
