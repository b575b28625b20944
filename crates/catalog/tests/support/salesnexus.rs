//! The SalesNexus emulator in the world: started on demand, its connector named `salesnexus`,
//! and its data read and written as a person would through the emulator's admin API
//! (`/_sandbox/…`: changes move `updatedAt` like API changes, reads show a contact with its
//! tasks and notes), plus Stage Trigger posts to the world's receiver.

use std::sync::Arc;

use connectors::salesnexus::{SalesNexusConfig, SalesNexusConnector};
use ghl_sandbox::salesnexus::{SnConfig, SnSandbox};
use reqwest::Method;
use serde_json::{json, Value};

use super::{unique, World};

impl World {
    /// Starts the SalesNexus emulator (no seed data) and adds its connector.
    pub async fn with_salesnexus(mut self) -> World {
        let sb = SnSandbox::start(SnConfig {
            contacts: 0,
            ..Default::default()
        })
        .await
        .expect("SalesNexus emulator");
        let mut cfg = SalesNexusConfig::new(&sb.base_url, sb.api_key());
        cfg.backoff_ms = 10;
        let conn = SalesNexusConnector::new(cfg).expect("SalesNexus connector");
        self.connectors.insert("salesnexus".into(), Arc::new(conn));
        self.sn = Some(sb);
        self
    }

    fn sn(&self) -> &SnSandbox {
        self.sn
            .as_ref()
            .expect("the SalesNexus emulator (World::with_salesnexus)")
    }

    /// `/_sandbox{path}`: a change or read as a person in SalesNexus; `None` on 404.
    pub async fn sn_admin(&self, method: Method, path: &str, body: Value) -> Option<Value> {
        let url = format!("{}/_sandbox{path}", self.sn().base_url);
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
            "salesnexus {method} {path}: {status} {text}"
        );
        Some(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A record (`contacts`, `tasks`, `notes`) as the emulator holds it, soft-deleted ones
    /// too; a contact comes with its `tasks` and `notes`.
    pub async fn sn_get(&self, plural: &str, id: &str) -> Option<Value> {
        let path = format!("/{plural}/{id}");
        self.sn_admin(Method::GET, &path, Value::Null).await
    }

    /// Creates a record as a person (SalesNexus' fields); returns its id.
    pub async fn sn_create(&self, plural: &str, body: Value) -> String {
        let made = self
            .sn_admin(Method::POST, &format!("/{plural}"), body)
            .await
            .expect("created");
        made["id"].as_i64().expect("id").to_string()
    }

    /// A contact with a unique email and these tags (in the `Tags` multi-select field);
    /// returns (id, email).
    pub async fn sn_person(&self, first: &str, tags: &[&str]) -> (String, String) {
        let email = format!("{}@example.com", unique(&first.to_lowercase()));
        let mut body = json!({"firstName": first, "lastName": "Tester", "email": email});
        if !tags.is_empty() {
            body["customFields"] = json!({"Tags": tags.join(", ")});
        }
        (self.sn_create("contacts", body).await, email)
    }

    /// A task, note or meeting (a task of type Meeting) of `contact`; returns its id.
    pub async fn sn_child(&self, contact: &str, kind: &str, label: &str) -> String {
        let contact_id = contact.parse::<i64>().expect("id");
        match kind {
            "task" => {
                let body = json!({"title": label, "dateTo": "2030-03-01T09:00:00Z", "contactId": contact_id});
                self.sn_create("tasks", body).await
            }
            "note" => {
                let body = json!({"noteText": label, "contactId": contact_id});
                self.sn_create("notes", body).await
            }
            _ => {
                let body = json!({"title": label, "type": "Meeting", "dateFrom": "2030-03-02T10:00:00Z",
                                  "dateTo": "2030-03-02T11:00:00Z", "contactId": contact_id});
                self.sn_create("tasks", body).await
            }
        }
    }

    /// A contact's tasks (`task`: every type but Meeting; `appointment`: Meetings) or notes.
    pub async fn sn_children(&self, contact: &str, kind: &str) -> Vec<Value> {
        let c = self.sn_get("contacts", contact).await.expect("contact");
        let list = if kind == "note" { "notes" } else { "tasks" };
        c[list]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| match kind {
                "task" => r["type"] != "Meeting",
                "appointment" => r["type"] == "Meeting",
                _ => true,
            })
            .cloned()
            .collect()
    }

    /// A contact's tags: the `Tags` field's `a, b` text, split.
    pub async fn sn_tags(&self, contact: &str) -> Vec<String> {
        let c = self.sn_get("contacts", contact).await.expect("contact");
        c["customFields"]["Tags"]
            .as_str()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Live contacts whose email is `email` (the API's search, filtered exactly).
    pub async fn sn_contacts_with(&self, email: &str) -> Vec<Value> {
        let sb = self.sn();
        let v: Value = self
            .http
            .get(format!("{}/contacts", sb.api_url()))
            .query(&[("search", email), ("pageSize", "100")])
            .header("X-Api-Key", sb.api_key())
            .send()
            .await
            .expect("search")
            .json()
            .await
            .expect("json");
        v["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| {
                c["email"]
                    .as_str()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .cloned()
            .collect()
    }

    /// Has SalesNexus post a pipeline Stage Trigger ("Post Webhook") naming `contact` to the
    /// world's receiver, as it does when an opportunity enters a stage.
    pub async fn sn_stage_trigger(&self, contact: &str) {
        let body = json!({"url": format!("{}/salesnexus", self.hook_url),
                          "contactId": contact.parse::<i64>().expect("id")});
        let answer = self
            .sn_admin(Method::POST, "/stage-trigger", body)
            .await
            .expect("posted");
        assert_eq!(
            answer["status"], 200,
            "the receiver took the post: {answer}"
        );
    }
}
