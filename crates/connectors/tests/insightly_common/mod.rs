//! Shared by the Insightly connector tests: the Insightly emulator (`ghl_sandbox::insightly`), a
//! connector on it (no client-side pacing, so tests run at full speed), and the emulator's
//! admin API (changes "as a person in the app", the clock, the budget, faults).
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use connectors::insightly::{InsightlyConfig, InsightlyConnector};
use ghl_sandbox::insightly::{InsightlyConfig as SandboxConfig, InsightlySandbox};
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
    pub sb: InsightlySandbox,
    pub conn: InsightlyConnector,
    http: reqwest::Client,
}

impl Fx {
    /// An emulator with `contacts` seeded contacts and a connector on it.
    pub async fn start(contacts: usize) -> Self {
        Self::start_with(contacts, |_| {}).await
    }

    pub async fn start_with(contacts: usize, edit: impl FnOnce(&mut SandboxConfig)) -> Self {
        let mut config = SandboxConfig {
            contacts,
            ..SandboxConfig::default()
        };
        edit(&mut config);
        let sb = InsightlySandbox::start(config)
            .await
            .expect("emulator starts");
        let conn = connector(&sb, |_| {});
        Self {
            sb,
            conn,
            http: reqwest::Client::new(),
        }
    }

    /// Another connector on the emulator, with an edited config.
    pub fn connector(&self, edit: impl FnOnce(&mut InsightlyConfig)) -> InsightlyConnector {
        connector(&self.sb, edit)
    }

    /// Calls the admin API; the answer must be 2xx (`null` for an empty one).
    pub async fn admin(&self, method: Method, path: &str, body: Value) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}/_sandbox{path}", self.sb.root_url));
        if !body.is_null() {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("admin call");
        let status = resp.status();
        let text = resp.text().await.expect("admin answer");
        assert!(status.is_success(), "admin {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// A record as the emulator holds it (`Contacts`, `Tasks`, …).
    pub async fn stored(&self, object: &str, id: &str) -> Value {
        self.admin(Method::GET, &format!("/{object}/{id}"), Value::Null)
            .await
    }

    /// Whether the emulator still has the record.
    pub async fn exists(&self, object: &str, id: &str) -> bool {
        let url = format!("{}/_sandbox/{object}/{id}", self.sb.root_url);
        let r = self.http.get(url).send().await.expect("admin call");
        r.status().is_success()
    }

    /// Moves the emulator's clock forward (stamps have one-second resolution).
    pub async fn advance(&self, secs: u64) {
        self.admin(
            Method::POST,
            "/clock",
            serde_json::json!({"advance_secs": secs}),
        )
        .await;
    }

    /// Calls made to the API since the emulator started (or the log was cleared).
    pub async fn requests(&self) -> Vec<Value> {
        let v = self
            .admin(Method::GET, "/requests?limit=100000", Value::Null)
            .await;
        v["requests"].as_array().cloned().unwrap_or_default()
    }

    /// Every record of an object, as the API lists them (ids only).
    pub async fn ids(&self, object: &str) -> Vec<String> {
        let v = self.admin(Method::GET, "/", Value::Null).await;
        let n = v["counts"][object].as_u64().unwrap_or(0);
        let mut out = Vec::new();
        let field = match object {
            "Contacts" => "CONTACT_ID",
            "Tasks" => "TASK_ID",
            "Notes" => "NOTE_ID",
            "Events" => "EVENT_ID",
            _ => "ORGANISATION_ID",
        };
        let url = format!("{}/{object}?top=500&brief=true", self.sb.base_url);
        let rows: Value = self
            .http
            .get(url)
            .basic_auth(self.sb.api_key(), Some(""))
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        for r in rows.as_array().into_iter().flatten() {
            out.push(r[field].to_string());
        }
        assert!(
            n <= 500 && out.len() as u64 == n,
            "{object}: {n} vs {}",
            out.len()
        );
        out
    }
}

fn connector(sb: &InsightlySandbox, edit: impl FnOnce(&mut InsightlyConfig)) -> InsightlyConnector {
    let mut c = InsightlyConfig::new(&sb.base_url, sb.api_key());
    c.requests_per_second = None;
    c.max_wait_secs = 2;
    edit(&mut c);
    InsightlyConnector::new(c).expect("connector builds")
}
