//! Shared by the SalesNexus connector tests: the emulator (`ghl_sandbox::salesnexus`), a
//! connector on it (short backoffs, so retries do not slow the tests), the admin API (changes
//! "as a person in the app", which the connector did not make) and a listing drain.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use connectors::salesnexus::{SalesNexusConfig, SalesNexusConnector};
use connectors::{Connector, EntityKind, Record};
use ghl_sandbox::salesnexus::{SnConfig, SnSandbox};
use reqwest::Method;
use serde_json::{Map, Value};

/// A text unique within the test run (emails, titles).
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{prefix}{}", N.fetch_add(1, Ordering::SeqCst))
}

/// A JSON object literal as canonical fields.
pub fn fields(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("an object")
}

pub struct Fx {
    pub sb: SnSandbox,
    pub conn: SalesNexusConnector,
    http: reqwest::Client,
}

impl Fx {
    /// An emulator with `contacts` seeded contacts and a connector on it.
    pub async fn start(contacts: usize) -> Self {
        Self::start_with(contacts, |_| {}).await
    }

    pub async fn start_with(contacts: usize, edit: impl FnOnce(&mut SnConfig)) -> Self {
        let mut config = SnConfig {
            contacts,
            ..SnConfig::default()
        };
        edit(&mut config);
        let sb = SnSandbox::start(config).await.expect("emulator starts");
        let conn = connector(&sb, |_| {});
        Self {
            sb,
            conn,
            http: reqwest::Client::new(),
        }
    }

    /// Another connector on the emulator, with edited settings.
    pub fn connector(&self, edit: impl FnOnce(&mut SalesNexusConfig)) -> SalesNexusConnector {
        connector(&self.sb, edit)
    }

    /// Calls the admin API; the answer must be 2xx (`null` for an empty one).
    pub async fn admin(&self, method: Method, path: &str, body: Value) -> Value {
        let mut rb = self
            .http
            .request(method, format!("{}/_sandbox{path}", self.sb.base_url));
        if !body.is_null() {
            rb = rb.json(&body);
        }
        let resp = rb.send().await.expect("admin call");
        let status = resp.status();
        let text = resp.text().await.expect("admin answer");
        assert!(status.is_success(), "admin {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// A record as the emulator holds it (soft-deleted ones too).
    pub async fn stored(&self, plural: &str, id: &str) -> Value {
        self.admin(Method::GET, &format!("/{plural}/{id}"), Value::Null)
            .await
    }

    /// The request log.
    pub async fn log(&self) -> Vec<Value> {
        let v = self
            .admin(Method::GET, "/requests?limit=100000", Value::Null)
            .await;
        v["requests"].as_array().cloned().unwrap_or_default()
    }

    /// Logged API calls of one operation (`create-contact`, …).
    pub async fn calls(&self, operation: &str) -> Vec<Value> {
        self.log()
            .await
            .into_iter()
            .filter(|e| e["operation"] == operation)
            .collect()
    }

    /// Live contacts, tasks, notes and meetings as the emulator counts them.
    pub async fn counts(&self) -> Value {
        self.admin(Method::GET, "/", Value::Null).await["counts"].clone()
    }
}

fn connector(sb: &SnSandbox, edit: impl FnOnce(&mut SalesNexusConfig)) -> SalesNexusConnector {
    let mut c = SalesNexusConfig::new(&sb.base_url, sb.api_key());
    c.backoff_ms = 5;
    edit(&mut c);
    SalesNexusConnector::new(c).expect("connector builds")
}

/// Every page of a listing, following cursors until `done`: the records, the last cursor and
/// the number of pages.
pub async fn drain(
    conn: &dyn Connector,
    kind: EntityKind,
    changed: bool,
    mut cursor: Option<String>,
) -> (Vec<Record>, Option<String>, usize) {
    let (mut all, mut pages) = (Vec::new(), 0);
    loop {
        let page = if changed {
            conn.list_changed(kind, cursor.as_deref()).await
        } else {
            conn.list_all(kind, cursor.as_deref()).await
        }
        .expect("page");
        pages += 1;
        all.extend(page.records);
        cursor = page.next_cursor;
        if page.done {
            return (all, cursor, pages);
        }
        assert!(pages < 1000, "listing does not end");
    }
}

/// The ids of records, sorted.
pub fn ids(records: &[Record]) -> Vec<String> {
    let mut v: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    v.sort_by_key(|id| id.parse::<i64>().unwrap_or_default());
    v
}
