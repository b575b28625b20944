//! The Insightly emulator in the world: started on demand with a workflow webhook that posts to
//! the world's receiver (Basic auth with a secret the connector checks), its connector named
//! `insightly`, and its data read and written as a person would — through the emulator's
//! admin API (`/_sandbox/…`, which stamps and posts changes like the API does) and its
//! Basic-auth API for lists.

use std::sync::Arc;

use connectors::insightly::{InsightlyConfig, InsightlyConnector};
use ghl_sandbox::insightly::webhooks::WorkflowTarget;
use ghl_sandbox::insightly::{InsightlyConfig as SandboxConfig, InsightlySandbox};
use reqwest::Method;
use serde_json::{json, Value};

use super::{unique, World};

/// The workflow posts' Basic-auth password.
pub const SECRET: &str = "whsec-insightly";

/// An Insightly object by the canonical kind's name.
pub fn object(kind: &str) -> &'static str {
    match kind {
        "contact" => "Contacts",
        "task" => "Tasks",
        "note" => "Notes",
        "appointment" => "Events",
        _ => "Organisations",
    }
}

/// The id field of an object's records.
pub fn id_field(kind: &str) -> &'static str {
    match kind {
        "contact" => "CONTACT_ID",
        "task" => "TASK_ID",
        "note" => "NOTE_ID",
        "appointment" => "EVENT_ID",
        _ => "ORGANISATION_ID",
    }
}

/// An id in Insightly's JSON (numbers) as text.
pub fn id_of(v: &Value, field: &str) -> String {
    match &v[field] {
        Value::Number(n) => n.to_string(),
        other => panic!("no {field} in {other}"),
    }
}

impl World {
    /// Starts the Insightly emulator (no seed data, no pacing) and adds its connector.
    pub async fn with_insightly(mut self) -> World {
        let sb = InsightlySandbox::start(SandboxConfig {
            contacts: 0,
            webhook: WorkflowTarget {
                url: Some(format!("{}/insightly", self.hook_url)),
                secret: Some(SECRET.into()),
            },
            ..Default::default()
        })
        .await
        .expect("Insightly emulator");
        let mut cfg = InsightlyConfig::new(&sb.base_url, sb.api_key()).with_webhook_secret(SECRET);
        cfg.requests_per_second = None;
        let conn = InsightlyConnector::new(cfg).expect("Insightly connector");
        self.connectors.insert("insightly".into(), Arc::new(conn));
        self.ins = Some(sb);
        self
    }

    fn ins(&self) -> &InsightlySandbox {
        self.ins
            .as_ref()
            .expect("the Insightly emulator (World::with_insightly)")
    }

    /// `/_sandbox{path}`: a change or read as a person in Insightly; `None` on 404.
    pub async fn ins_admin(&self, method: Method, path: &str, body: Value) -> Option<Value> {
        let url = format!("{}/_sandbox{path}", self.ins().root_url);
        let mut req = self.http.request(method.clone(), url);
        if !body.is_null() {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("admin call");
        let status = resp.status();
        let text = resp.text().await.expect("answer");
        if status == 404 {
            return None;
        }
        assert!(
            status.is_success(),
            "insightly {method} {path}: {status} {text}"
        );
        Some(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `GET /v3.1{path}` with the API key, as an array.
    pub async fn ins_list(&self, path: &str) -> Vec<Value> {
        let sb = self.ins();
        let resp = self
            .http
            .get(format!("{}{path}", sb.base_url))
            .basic_auth(sb.api_key(), Some(""))
            .send()
            .await
            .expect("list");
        let status = resp.status();
        let text = resp.text().await.expect("answer");
        assert!(status.is_success(), "insightly GET {path}: {status} {text}");
        serde_json::from_str::<Value>(&text)
            .expect("json")
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// A record by kind and id, as the emulator holds it.
    pub async fn ins_get(&self, kind: &str, id: &str) -> Option<Value> {
        let path = format!("/{}/{id}", object(kind));
        self.ins_admin(Method::GET, &path, Value::Null).await
    }

    /// Creates a record as a person (`body` in Insightly's fields); returns its id.
    pub async fn ins_create(&self, kind: &str, body: Value) -> String {
        let path = format!("/{}", object(kind));
        let made = self
            .ins_admin(Method::POST, &path, body)
            .await
            .expect("created");
        id_of(&made, id_field(kind))
    }

    /// A contact with a unique email and these tags; returns (id, email).
    pub async fn ins_person(&self, first: &str, tags: &[&str]) -> (String, String) {
        let email = format!("{}@example.com", unique(&first.to_lowercase()));
        let tags: Vec<Value> = tags.iter().map(|t| json!({"TAG_NAME": t})).collect();
        let body = json!({"FIRST_NAME": first, "LAST_NAME": "Tester", "EMAIL_ADDRESS": email, "TAGS": tags});
        (self.ins_create("contact", body).await, email)
    }

    /// A task, note or event linked to `contact`; returns its id.
    pub async fn ins_child(&self, contact: &str, kind: &str, label: &str) -> String {
        let link = json!([{"LINK_OBJECT_NAME": "Contact", "LINK_OBJECT_ID": contact.parse::<i64>().expect("id")}]);
        let body = match kind {
            "task" => json!({"TITLE": label, "DUE_DATE": "2030-03-01 09:00:00", "LINKS": link}),
            "note" => json!({"TITLE": label, "BODY": label, "LINKS": link}),
            _ => json!({"TITLE": label, "START_DATE_UTC": "2030-03-02 10:00:00",
                         "END_DATE_UTC": "2030-03-02 11:00:00", "LINKS": link}),
        };
        self.ins_create(kind, body).await
    }

    /// A contact's tasks, notes or events (`/Contacts/{id}/Tasks|Notes|Events`).
    pub async fn ins_children(&self, contact: &str, kind: &str) -> Vec<Value> {
        self.ins_list(&format!("/Contacts/{contact}/{}", object(kind)))
            .await
    }

    /// A contact's tag names.
    pub async fn ins_tags(&self, contact: &str) -> Vec<String> {
        let c = self.ins_get("contact", contact).await.expect("contact");
        c["TAGS"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["TAG_NAME"].as_str().map(str::to_string))
            .collect()
    }

    /// Organisations whose name is `name` (the API's search, which ignores case).
    pub async fn ins_orgs_named(&self, name: &str) -> Vec<Value> {
        let q = format!("/Organisations/Search?field_name=ORGANISATION_NAME&field_value={name}");
        self.ins_list(&q).await
    }

    /// Moves the emulator's clock on, so the next change has a newer one-second stamp.
    pub async fn ins_tick(&self) {
        let body = json!({"advance_secs": 2});
        self.ins_admin(Method::POST, "/clock", body).await;
    }

    /// `(method, path)` of every API request the emulator answered so far.
    pub async fn ins_requests(&self) -> Vec<(String, String)> {
        let log = self
            .ins_admin(Method::GET, "/requests?limit=100000", Value::Null)
            .await
            .expect("log");
        log["requests"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                (s("method"), s("path"))
            })
            .collect()
    }
}
