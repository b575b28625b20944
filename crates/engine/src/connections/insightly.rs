//! Building an Insightly connector from a connection of `ghl-bridge.yaml`:
//!
//! ```yaml
//! connections:
//!   crm:
//!     app: insightly
//!     base_url: https://api.na1.insightly.com/v3.1   # the "API URL" of User Settings → API, pod included
//!     api_key: ${INSIGHTLY_API_KEY}
//!     # optional:
//!     page_size: 500              # `top` of list requests, 1 to 500
//!     overlap_secs: 5             # re-read margin of the change poll
//!     requests_per_second: 5      # client-side pacing (Insightly documents only a daily quota)
//!     webhook_secret: ${INSIGHTLY_HOOK_SECRET}   # Basic-auth password of workflow posts
//! ```
//!
//! Every problem is reported against the connection and the setting, never with a secret's
//! value.

use std::sync::Arc;

use connectors::insightly::{InsightlyConfig, InsightlyConnector};
use connectors::Connector;

use super::{setting_named_in, ConnectionError, Settings};

/// Settings an Insightly connection accepts.
pub const INSIGHTLY_SETTINGS: &[&str] = &[
    "base_url",
    "api_key",
    "page_size",
    "overlap_secs",
    "requests_per_second",
    "webhook_secret",
];

/// An Insightly connection.
pub(super) fn build(mut s: Settings<'_>) -> Result<Arc<dyn Connector>, Vec<ConnectionError>> {
    s.check_known(INSIGHTLY_SETTINGS);
    let base_url = s.required(
        "base_url",
        "the API URL of the Insightly instance, pod included, e.g. \
         `https://api.na1.insightly.com/v3.1` (User Settings → API)",
    );
    let api_key = s.required(
        "api_key",
        "the Insightly API key (User Settings → API), e.g. `api_key: ${INSIGHTLY_API_KEY}`",
    );
    let page_size = s.number("page_size", 1, 500);
    let overlap = s.number("overlap_secs", 0, 86_400);
    let rps = s.number("requests_per_second", 1, 1_000);
    let secret = s.text("webhook_secret");
    let (Some(base_url), Some(api_key)) = (base_url, api_key) else {
        return Err(s.errors);
    };
    if !s.errors.is_empty() {
        return Err(s.errors);
    }
    let mut cfg = InsightlyConfig::new(base_url, api_key);
    if let Some(n) = page_size {
        cfg.page_size = n as u32;
    }
    if let Some(n) = overlap {
        cfg.overlap_secs = n;
    }
    if let Some(n) = rps {
        cfg.requests_per_second = Some(n as u32);
    }
    if let Some(secret) = secret {
        cfg = cfg.with_webhook_secret(secret);
    }
    match InsightlyConnector::new(cfg) {
        Ok(c) => Ok(Arc::new(c)),
        Err(e) => Err(vec![
            s.error(setting_named_in(&e.0, INSIGHTLY_SETTINGS), e.0)
        ]),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use crate::connections::{build_connectors, ConnectorFactory};
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

    #[test]
    fn builds_with_settings_and_names_every_problem() {
        let p = project(
            "version: 1\nconnections:\n  crm: {app: insightly, base_url: 'https://api.na1.insightly.com/v3.1', api_key: '${K}', page_size: 100, overlap_secs: 2, requests_per_second: 10, webhook_secret: s}\n",
            &[("K", "insightly-key-1")],
        );
        let c = build_connectors(&p).expect("builds");
        assert_eq!(c["crm"].app(), "insightly");

        let p = project(
            "version: 1\nconnections:\n  a: {app: insightly}\n  b: {app: insightly, base_url: 'na1', api_key: '${K}'}\n  c: {app: insightly, base_url: 'https://x/v3.1', api_key: k, page_size: 501, pod: na1}\n",
            &[("K", "super-secret-key")],
        );
        let f = ConnectorFactory::new();
        let dir = Path::new(".");
        let errors = |name: &str| match f.build(&p.connections[name], dir) {
            Ok(_) => panic!("{name} should not build"),
            Err(e) => e,
        };
        let a = errors("a");
        let settings: Vec<_> = a.iter().map(|e| e.setting.as_deref()).collect();
        assert_eq!(settings, [Some("base_url"), Some("api_key")], "{a:?}");
        assert!(a[0].message.contains("pod included"), "{a:?}");
        let b = errors("b");
        assert_eq!(b[0].setting.as_deref(), Some("base_url"), "{b:?}");
        assert!(!format!("{b:?}").contains("super-secret-key"));
        let c = errors("c");
        let text = format!("{c:?}");
        assert!(
            c.iter().any(|e| e.setting.as_deref() == Some("pod")),
            "{text}"
        );
        assert!(
            c.iter().any(|e| e.setting.as_deref() == Some("page_size")),
            "{text}"
        );
    }
}
