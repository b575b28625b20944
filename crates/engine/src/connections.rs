//! Building live connectors from a project's named connections (`ghl-bridge.yaml`).
//!
//! | `app` | settings |
//! |---|---|
//! | `ghl` | `location_id` (required), `token` (required: a Private Integration Token, `${ENV}`, or stored by `ghl-bridge connect ghl --token`); or `auth: oauth` with `client_id`, `client_secret`, optional `scopes`, `user_type`, `redirect_uri`, `consent_host` (tokens from `ghl-bridge connect ghl`, see `connections/oauth.rs`), `base_url` (default GHL's API host), `overlap_secs`, `page_size`, `child_scan_batch`, `webhook_public_key` (Ed25519 PEM), `webhook_legacy` (true/false), `webhook_rsa_public_key` (RSA PEM replacing GHL's published key, for a sandbox) |
//! | `your_app`, `investnext`, `invoco` | `base_url`, `api_key` (required unless the `config` file has both), `config` (a connector config YAML file, relative to the project file), `webhook_secret` |
//! | `insightly` | `base_url` (required: the API URL with its pod, e.g. `https://api.na1.insightly.com/v3.1`), `api_key` (required), `page_size`, `overlap_secs`, `requests_per_second`, `webhook_secret` (see `connections/insightly.rs`) |
//! | `salesnexus` | `api_key` (required, `sn_live_…`), `base_url` (default `https://api.salesnex.us`), `tags_field` (default `Tags`), `page_size`, `max_in_flight`, `hourly_limit`, `timeout_secs`, `webhook_token` (see `connections/salesnexus.rs`) |
//!
//! GHL connections with the same token and location share one [`Pacer`] (one rate budget), so
//! two connections (or a rebuilt one) never spend GHL's limits twice. Every error names the
//! connection and, where one is at fault, the setting.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let project = engine::flow::load_project(std::path::Path::new("ghl-bridge.yaml"))?;
//! let connectors = engine::connections::build_connectors(&project)?;
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use connectors::ghl::{GhlConfig, GhlConnector, GhlSettings, DEFAULT_BASE_URL};
use connectors::{Connector, YourAppConfig, YourAppConnector};
use ghl::{Auth, Pacer, Secret};
use parking_lot::Mutex;
use serde_json::{json, Map, Value};

use crate::flow::{did_you_mean, Action, AppKind, Connection, FlowBody, Project, Setting, Trigger};
use crate::sync::Connectors;

mod insightly;
pub use insightly::INSIGHTLY_SETTINGS;
pub mod oauth;
mod rest;
mod salesnexus;
mod sealed;
use rest::rest;
pub use salesnexus::SALESNEXUS_SETTINGS;

/// Settings a GHL connection accepts.
pub const GHL_SETTINGS: &[&str] = &[
    "base_url",
    "location_id",
    "token",
    "overlap_secs",
    "page_size",
    "child_scan_batch",
    "webhook_public_key",
    "webhook_legacy",
    // The RSA public key (PEM) checking `x-wh-signature` instead of GHL's published one: for a
    // sandbox that signs with its own key.
    "webhook_rsa_public_key",
    // `auth: oauth` (connections/oauth.rs): tokens from `ghl-bridge connect`, kept sealed in the store.
    "auth",
    "client_id",
    "client_secret",
    "scopes",
    "user_type",
    "consent_host",
    "redirect_uri",
];

/// Settings a generic REST connection (`your_app`, `investnext`, `invoco`) accepts.
pub const REST_SETTINGS: &[&str] = &["base_url", "api_key", "config", "webhook_secret"];

/// One connection could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("connection `{connection}` ({app}){}: {message}", setting.as_ref().map(|s| format!(", setting `{s}`")).unwrap_or_default())]
pub struct ConnectionError {
    /// The connection's name in `ghl-bridge.yaml`.
    pub connection: String,
    /// Its app, as written.
    pub app: String,
    /// The setting at fault, when one is.
    pub setting: Option<String>,
    /// What is wrong and what to do (never a secret's value).
    pub message: String,
}

/// Every connection that could not be built (all of them are checked, not only the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionErrors(pub Vec<ConnectionError>);

impl fmt::Display for ConnectionErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConnectionErrors {}

/// Builds connectors, sharing one GHL [`Pacer`] per (token, location) across everything it
/// builds. Keep one factory for the life of the process (e.g. across project reloads).
#[derive(Default)]
pub struct ConnectorFactory {
    pacers: Mutex<HashMap<(Secret, String), Arc<Pacer>>>,
    /// Credentials from the store's registry ([`ConnectorFactory::load_credentials`]).
    stored: Mutex<HashMap<String, oauth::Loaded>>,
}

impl fmt::Debug for ConnectorFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectorFactory")
            .field("shared_pacers", &self.pacers.lock().len())
            .finish()
    }
}

/// Builds every connection of the project. Fails, listing every problem, when any connection
/// cannot be built (including apps whose connector comes later).
pub fn build_connectors(project: &Project) -> Result<Connectors, ConnectionErrors> {
    let all: BTreeSet<String> = project.connections.keys().cloned().collect();
    ConnectorFactory::default().build_for(project, &all)
}

/// The connections enabled flows use: sync sides, event triggers and action targets — and every
/// connection of the project for a flow with a `report` action, which reads them all.
pub fn connections_in_use(project: &Project) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for flow in project.flows.iter().filter(|f| f.enabled) {
        if let Trigger::Event { connection, .. } = &flow.trigger {
            used.insert(connection.clone());
        }
        match &flow.body {
            FlowBody::Sync(s) => {
                used.insert(s.source.clone());
                used.insert(s.target.clone());
            }
            FlowBody::Actions(actions) => {
                for a in actions {
                    match action_connection(a) {
                        Some(c) => {
                            used.insert(c.to_string());
                        }
                        None => used.extend(project.connections.keys().cloned()),
                    }
                }
            }
        }
    }
    used
}

/// The connection an action works in; `None` when it reads every connection (`report`).
fn action_connection(a: &Action) -> Option<&str> {
    a.connection()
}

impl ConnectorFactory {
    /// A factory with no shared pacers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds the named connections of `project` (unknown names are errors too).
    pub fn build_for(
        &self,
        project: &Project,
        names: &BTreeSet<String>,
    ) -> Result<Connectors, ConnectionErrors> {
        let base = project_dir(&project.file);
        let mut out: Connectors = BTreeMap::new();
        let mut errors = Vec::new();
        for name in names {
            let Some(conn) = project.connections.get(name) else {
                errors.push(ConnectionError {
                    connection: name.clone(),
                    app: "?".into(),
                    setting: None,
                    message: "no such connection in the project file".into(),
                });
                continue;
            };
            match self.build(conn, &base) {
                Ok(c) => {
                    out.insert(name.clone(), c);
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(ConnectionErrors(errors))
        }
    }

    /// Builds one connection; relative paths in its settings are read from `project_dir`.
    pub fn build(
        &self,
        conn: &Connection,
        project_dir: &Path,
    ) -> Result<Arc<dyn Connector>, Vec<ConnectionError>> {
        let opened = sealed::open_sealed(conn, project_dir)?;
        let opened = self.with_stored(opened.into_owned());
        let conn = &opened;
        let s = Settings {
            conn,
            errors: Vec::new(),
        };
        match conn.app {
            AppKind::Ghl => self.ghl(s),
            AppKind::YourApp | AppKind::Investnext | AppKind::Invoco => rest(s, project_dir),
            AppKind::Insightly => insightly::build(s),
            AppKind::Salesnexus => salesnexus::build(s),
        }
    }

    fn ghl(&self, mut s: Settings<'_>) -> Result<Arc<dyn Connector>, Vec<ConnectionError>> {
        s.check_known(GHL_SETTINGS);
        let auth_kind = s
            .conn
            .settings
            .get("auth")
            .map(|a| a.expose().trim().to_string());
        let is_oauth = auth_kind.as_deref() == Some("oauth");
        if auth_kind
            .as_deref()
            .is_some_and(|a| a != "token" && a != "oauth")
        {
            s.push(
                Some("auth"),
                "must be `token` (a Private Integration Token, the default) or `oauth` (tokens \
                 from `ghl-bridge connect ghl`)",
            );
        }
        // `auth: oauth`: the stored tokens' session and location (connections/oauth.rs).
        let oauth = if is_oauth {
            self.ghl_oauth(&mut s)
        } else {
            None
        };
        let location = match &oauth {
            Some((_, l)) => l.clone(),
            None if is_oauth => String::new(),
            None => s
                .required("location_id", "the GHL location (sub-account) id to sync")
                .unwrap_or_default(),
        };
        let mut settings = GhlSettings::new(
            s.text("base_url")
                .unwrap_or_else(|| DEFAULT_BASE_URL.to_string()),
            location,
        );
        let token = if is_oauth {
            oauth.as_ref().map(|_| String::new())
        } else {
            let what = format!(
                "a Private Integration Token of the location, e.g. `token: ${{GHL_TOKEN}}`, or \
                 one stored with `ghl-bridge connect ghl --connection {} --token`",
                s.conn.name
            );
            s.required("token", &what)
        };
        if let Some(n) = s.number("overlap_secs", 0, 86_400) {
            settings.overlap_secs = n;
        }
        if let Some(n) = s.number("page_size", 1, 500) {
            settings.page_size = n as u32;
        }
        if let Some(n) = s.number("child_scan_batch", 1, 500) {
            settings.child_scan_batch = n as u32;
        }
        settings.webhooks.ed25519_public_key_pem = s.text("webhook_public_key");
        if let Some(b) = s.boolean("webhook_legacy") {
            settings.webhooks.legacy = b;
        }
        settings.webhooks.rsa_public_key_pem = s.text("webhook_rsa_public_key");
        let Some(token) = token.filter(|_| s.errors.is_empty()) else {
            return Err(s.errors);
        };
        let (auth, pace_key) = match oauth {
            Some((auth, _)) => (auth, Secret::new(format!("oauth:{}", s.conn.name))),
            None => (
                Auth::PrivateIntegration(Secret::new(token.clone())),
                Secret::new(token),
            ),
        };
        let pacer = self
            .pacers
            .lock()
            .entry((pace_key, settings.location_id.clone()))
            .or_insert_with(|| Arc::new(Pacer::new()))
            .clone();
        let config = GhlConfig::new(settings, auth).with_pacer(pacer);
        match GhlConnector::new(config) {
            Ok(c) => Ok(Arc::new(c)),
            Err(e) => Err(vec![s.error(setting_named_in(&e.0, GHL_SETTINGS), e.0)]),
        }
    }
}

/// The folder relative paths of a project are read from.
fn project_dir(file: &Path) -> PathBuf {
    file.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The first of `settings` a connector's message starts with (`base_url must be …`).
fn setting_named_in(message: &str, settings: &[&'static str]) -> Option<&'static str> {
    settings.iter().copied().find(|s| {
        message
            .strip_prefix(s)
            .is_some_and(|rest| rest.starts_with([' ', ':']))
    })
}

/// Reads one connection's settings, collecting every problem.
struct Settings<'a> {
    conn: &'a Connection,
    errors: Vec<ConnectionError>,
}

impl Settings<'_> {
    fn error(&self, setting: Option<&str>, message: impl Into<String>) -> ConnectionError {
        ConnectionError {
            connection: self.conn.name.clone(),
            app: self.conn.app.as_str().to_string(),
            setting: setting.map(str::to_string),
            message: message.into(),
        }
    }

    fn push(&mut self, setting: Option<&str>, message: impl Into<String>) {
        let e = self.error(setting, message);
        self.errors.push(e);
    }

    fn check_known(&mut self, known: &[&str]) {
        let unknown: Vec<String> = self
            .conn
            .settings
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .cloned()
            .collect();
        for k in unknown {
            let hint = match did_you_mean(&k, known.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("known settings: {}", known.join(", ")),
            };
            self.push(Some(&k), format!("unknown setting; {hint}"));
        }
    }

    /// A non-empty text setting (numbers and booleans are taken as written).
    fn text(&mut self, key: &str) -> Option<String> {
        let v = self.conn.settings.get(key)?.expose();
        if v.trim().is_empty() {
            self.push(Some(key), "is empty");
            return None;
        }
        Some(v.trim().to_string())
    }

    fn required(&mut self, key: &str, what: &str) -> Option<String> {
        if !self.conn.settings.contains_key(key) {
            self.push(Some(key), format!("is required: {what}"));
            return None;
        }
        self.text(key)
    }

    fn number(&mut self, key: &str, min: u64, max: u64) -> Option<u64> {
        let raw = self.conn.settings.get(key)?;
        let n = match raw {
            Setting::Number(n) => n.as_u64(),
            other => other.expose().trim().parse().ok(),
        };
        match n.filter(|n| (min..=max).contains(n)) {
            Some(n) => Some(n),
            None => {
                self.push(
                    Some(key),
                    format!("must be a whole number from {min} to {max}, not {raw:?}"),
                );
                None
            }
        }
    }

    fn boolean(&mut self, key: &str) -> Option<bool> {
        let raw = self.conn.settings.get(key)?;
        match raw {
            Setting::Bool(b) => Some(*b),
            other => match other.expose().trim() {
                "true" => Some(true),
                "false" => Some(false),
                _ => {
                    self.push(Some(key), format!("must be true or false, not {raw:?}"));
                    None
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{parse_project, ProjectFile};

    fn project(yaml: &str, env: &[(&str, &str)]) -> Project {
        let vars: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |k: &str| vars.get(k).cloned();
        let ProjectFile { connections, .. } =
            parse_project(yaml, "ghl-bridge.yaml", &lookup).expect("project parses");
        Project {
            file: PathBuf::from("ghl-bridge.yaml"),
            flows_dir: PathBuf::from("flows"),
            connections,
            flows: Vec::new(),
        }
    }

    fn errors(p: &Project) -> Vec<ConnectionError> {
        match build_connectors(p) {
            Ok(c) => panic!("expected errors, built {:?}", c.keys().collect::<Vec<_>>()),
            Err(e) => e.0,
        }
    }

    #[test]
    fn builds_ghl_and_rest_profiles_with_secrets_from_the_environment() {
        let p = project(
            "version: 1\nconnections:\n  ghl: {app: ghl, location_id: loc1, token: '${T}'}\n  crm: {app: your_app, base_url: 'http://127.0.0.1:9/v1', api_key: '${K}', webhook_secret: '${W}'}\n  inv: {app: investnext, base_url: 'http://127.0.0.1:9/v1', api_key: k2}\n  voc: {app: invoco, base_url: 'http://127.0.0.1:9/v1', api_key: k3}\n",
            &[("T", "pit-1"), ("K", "key-1"), ("W", "whsec")],
        );
        let c = build_connectors(&p).expect("all build");
        assert_eq!(c.len(), 4);
        assert_eq!(c["ghl"].app(), "ghl");
        assert_eq!(c["crm"].app(), "your_app");
        assert_eq!(c["inv"].app(), "investnext");
        assert_eq!(c["voc"].app(), "invoco");
    }

    #[test]
    fn ghl_defaults_to_the_real_api_and_shares_a_pacer_per_token_and_location() {
        let p = project(
            "version: 1\nconnections:\n  a: {app: ghl, location_id: loc1, token: t}\n  b: {app: ghl, location_id: loc1, token: t, page_size: 100}\n  c: {app: ghl, location_id: loc2, token: t}\n",
            &[],
        );
        let f = ConnectorFactory::new();
        let names: BTreeSet<String> = ["a", "b", "c"].map(String::from).into();
        f.build_for(&p, &names).expect("builds");
        assert_eq!(
            f.pacers.lock().len(),
            2,
            "loc1 shares one pacer, loc2 has its own"
        );
        let conn = &p.connections["a"];
        let dir = Path::new(".");
        f.build(conn, dir)
            .map_err(|e| format!("{e:?}"))
            .expect("rebuild");
        assert_eq!(f.pacers.lock().len(), 2, "a rebuild reuses the pacer");
        assert!(format!("{f:?}").contains("shared_pacers: 2"));
    }

    #[test]
    fn errors_name_the_connection_and_the_setting() {
        let p = project(
            "version: 1\nconnections:\n  ghl: {app: ghl, base_url: 'ftp://x', page_size: 900, tokn: x}\n  crm: {app: your_app}\n  ins: {app: insightly, api_key: k}\n",
            &[],
        );
        let e = errors(&p);
        let text = ConnectionErrors(e.clone()).to_string();
        let has = |conn: &str, setting: Option<&str>, needle: &str| {
            assert!(
                e.iter().any(|x| x.connection == conn
                    && x.setting.as_deref() == setting
                    && x.message.contains(needle)),
                "no error for {conn} {setting:?} containing {needle:?} in:\n{text}"
            );
        };
        has("ghl", Some("tokn"), "did you mean `token`?");
        has("ghl", Some("location_id"), "is required");
        has("ghl", Some("token"), "is required");
        has("ghl", Some("page_size"), "from 1 to 500");
        has("crm", Some("base_url"), "is required");
        has("crm", Some("api_key"), "is required");
        has("ins", Some("base_url"), "is required");
        assert!(
            text.contains("connection `ghl` (ghl), setting `tokn`: unknown setting"),
            "{text}"
        );
        // The base URL is only checked once the rest is right; it is named too.
        let p = project(
            "version: 1\nconnections:\n  ghl: {app: ghl, base_url: 'ftp://x', location_id: l, token: t}\n",
            &[],
        );
        let e = errors(&p);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].setting.as_deref(), Some("base_url"), "{e:?}");
    }

    #[test]
    fn secrets_never_appear_in_errors() {
        let p = project(
            "version: 1\nconnections:\n  crm: {app: your_app, base_url: 'not a url', api_key: '${K}'}\n",
            &[("K", "super-secret-key")],
        );
        let e = errors(&p);
        let text = format!("{} {e:?}", ConnectionErrors(e.clone()));
        assert!(!text.contains("super-secret-key"), "{text}");
        assert_eq!(e[0].setting.as_deref(), Some("base_url"), "{text}");
    }

    #[test]
    fn rest_config_files_are_read_relative_to_the_project() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_path_buf();
        std::fs::create_dir_all(dir.join("connectors")).expect("mkdir");
        std::fs::write(
            dir.join("connectors/inv.yaml"),
            "auth: {style: header, name: X-Api-Key, secret: ''}\nkinds:\n  appointment: null\n",
        )
        .expect("write");
        let yaml = "version: 1\nconnections:\n  inv: {app: investnext, base_url: 'http://127.0.0.1:9/v1', api_key: k, config: connectors/inv.yaml, webhook_secret: s}\n";
        let mut p = project(yaml, &[]);
        p.file = dir.join("ghl-bridge.yaml");
        let c = build_connectors(&p).expect("builds");
        assert_eq!(c["inv"].app(), "investnext");
        // Without the key the file's empty secret is reported against `api_key`, and the
        // address missing from both against `base_url`.
        let mut p = project(
            "version: 1\nconnections:\n  inv: {app: investnext, config: connectors/inv.yaml}\n",
            &[],
        );
        p.file = dir.join("ghl-bridge.yaml");
        let e = errors(&p);
        let settings: Vec<_> = e.iter().map(|x| x.setting.as_deref()).collect();
        assert_eq!(settings, [Some("base_url"), Some("api_key")], "{e:?}");
        // A missing or broken file is reported against `config`.
        let mut p = project(
            "version: 1\nconnections:\n  inv: {app: investnext, api_key: k, config: nope.yaml}\n",
            &[],
        );
        p.file = dir.join("ghl-bridge.yaml");
        let e = errors(&p);
        assert_eq!(e[0].setting.as_deref(), Some("config"), "{e:?}");
        assert!(e[0].message.contains("nope.yaml"), "{e:?}");
        std::fs::write(dir.join("bad.yaml"), "paging: {page_size: 0}\n").expect("write");
        let mut p = project(
            "version: 1\nconnections:\n  inv: {app: investnext, base_url: 'http://x/v1', api_key: k, config: bad.yaml}\n",
            &[],
        );
        p.file = dir.join("ghl-bridge.yaml");
        let e = errors(&p);
        assert_eq!(e[0].setting.as_deref(), Some("config"), "{e:?}");
        assert!(e[0].message.contains("page_size"), "{e:?}");
    }
}
