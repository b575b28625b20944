//! Building a SalesNexus connector from a connection of `ghl-bridge.yaml`:
//!
//! ```yaml
//! connections:
//!   crm:
//!     app: salesnexus
//!     api_key: ${SALESNEXUS_API_KEY}      # sn_live_…, Settings → API Keys
//!     # optional:
//!     base_url: https://api.salesnex.us   # the default; https://api-beta.salesnex.us for beta
//!     tags_field: Tags                    # the multi-select custom field that holds GHL tags
//!     page_size: 100                      # rows per list request, 1 to 100
//!     max_in_flight: 2                    # requests at once, 1 or 2 (the API's queue depth)
//!     hourly_limit: 10000                 # the account's allowance, for budget-aware scheduling
//!     timeout_secs: 30
//!     webhook_token: ${SN_HOOK_TOKEN}     # required in X-Webhook-Token of Stage Trigger posts
//! ```
//!
//! Every problem is reported against the connection and the setting, never with a secret's
//! value.

use std::sync::Arc;

use connectors::salesnexus::{SalesNexusConfig, SalesNexusConnector, DEFAULT_BASE_URL};
use connectors::your_app::config::SecretString;
use connectors::Connector;

use super::{setting_named_in, ConnectionError, Settings};

/// Settings a SalesNexus connection accepts.
pub const SALESNEXUS_SETTINGS: &[&str] = &[
    "base_url",
    "api_key",
    "tags_field",
    "page_size",
    "max_in_flight",
    "hourly_limit",
    "timeout_secs",
    "webhook_token",
];

/// A SalesNexus connection.
pub(super) fn build(mut s: Settings<'_>) -> Result<Arc<dyn Connector>, Vec<ConnectionError>> {
    s.check_known(SALESNEXUS_SETTINGS);
    let base_url = s.text("base_url");
    let api_key = s.required(
        "api_key",
        "a SalesNexus API key (sn_live_…, Settings → API Keys), e.g. \
         `api_key: ${SALESNEXUS_API_KEY}`",
    );
    let tags_field = s.text("tags_field");
    let page_size = s.number("page_size", 1, 100);
    let in_flight = s.number("max_in_flight", 1, 2);
    let hourly = s.number("hourly_limit", 1, 10_000_000);
    let timeout = s.number("timeout_secs", 1, 600);
    let token = s.text("webhook_token");
    let Some(api_key) = api_key.filter(|_| s.errors.is_empty()) else {
        return Err(s.errors);
    };
    let mut cfg = SalesNexusConfig::new(
        base_url.unwrap_or_else(|| DEFAULT_BASE_URL.to_string()),
        api_key,
    );
    if let Some(t) = tags_field {
        cfg.tags_field = t;
    }
    if let Some(n) = page_size {
        cfg.page_size = n as u32;
    }
    if let Some(n) = in_flight {
        cfg.max_in_flight = n as u32;
    }
    if let Some(n) = hourly {
        cfg.hourly_limit = n as u32;
    }
    if let Some(n) = timeout {
        cfg.timeout_secs = n;
    }
    cfg.webhook_token = token.map(SecretString::new);
    match SalesNexusConnector::new(cfg) {
        Ok(c) => Ok(Arc::new(c)),
        Err(e) => {
            Err(vec![s.error(
                setting_named_in(&e.message, SALESNEXUS_SETTINGS),
                e.message,
            )])
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use crate::connections::build_connectors;
    use crate::flow::{parse_project, Project, ProjectFile};

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

    fn errors(p: &Project) -> Vec<crate::connections::ConnectionError> {
        match build_connectors(p) {
            Ok(c) => panic!("expected errors, built {:?}", c.keys().collect::<Vec<_>>()),
            Err(e) => e.0,
        }
    }

    #[test]
    fn builds_with_defaults_and_settings() {
        let p = project(
            "version: 1\nconnections:\n  sn: {app: salesnexus, api_key: '${K}'}\n  beta: {app: salesnexus, base_url: 'https://api-beta.salesnex.us', api_key: '${K}', tags_field: Labels, page_size: 50, max_in_flight: 1, hourly_limit: 5000, timeout_secs: 10, webhook_token: '${W}'}\n",
            &[("K", "sn_live_abcdefgh.0123456789abcdef0123456789abcdef"), ("W", "tok")],
        );
        let c = build_connectors(&p).expect("builds");
        assert_eq!(c["sn"].app(), "salesnexus");
        assert_eq!(c["beta"].budget().map(|b| b.burst_max), Some(5000));
        assert_eq!(c["sn"].budget().map(|b| b.burst_max), Some(10_000));
    }

    #[test]
    fn every_problem_names_its_setting_and_no_secret() {
        let p = project(
            "version: 1\nconnections:\n  a: {app: salesnexus}\n  b: {app: salesnexus, api_key: '${K}', max_in_flight: 3, page_size: 500, tag_field: x}\n  c: {app: salesnexus, api_key: 'sk_test_super-secret'}\n  d: {app: salesnexus, api_key: 'sn_live_a', base_url: 'not a url'}\n",
            &[("K", "sn_live_super-secret")],
        );
        let e = errors(&p);
        let text = format!("{e:?}");
        assert!(!text.contains("super-secret"), "{text}");
        let has = |conn: &str, setting: &str, needle: &str| {
            assert!(
                e.iter().any(|x| x.connection == conn
                    && x.setting.as_deref() == Some(setting)
                    && x.message.contains(needle)),
                "no error for {conn} {setting} containing {needle:?} in:\n{text}"
            );
        };
        has("a", "api_key", "is required");
        has("b", "max_in_flight", "from 1 to 2");
        has("b", "page_size", "from 1 to 100");
        has("b", "tag_field", "did you mean `tags_field`?");
        has("c", "api_key", "sn_live_");
        has("d", "base_url", "not an http(s) URL");
    }
}
