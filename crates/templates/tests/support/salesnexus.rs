//! Reading the SalesNexus emulator in template tests: contacts through the API (what a
//! SalesNexus user sees), one contact with its tasks, meetings and notes through the admin API.

use reqwest::Method;
use serde_json::{json, Value};

use super::Fx;

impl Fx {
    /// A SalesNexus contact with its `tasks` (Meeting tasks included) and `notes`.
    pub async fn sn_contact(&self, id: &str) -> Value {
        self.app_admin(Method::GET, &format!("/contacts/{id}"), json!({}))
            .await
    }

    /// Creates a SalesNexus contact as a person would; returns its id.
    pub async fn sn_create_contact(&self, body: Value) -> String {
        let v = self.app_admin(Method::POST, "/contacts", body).await;
        v["id"].as_i64().expect("contact id").to_string()
    }

    /// Every live SalesNexus contact, through the API.
    pub async fn sn_contacts(&self) -> Vec<Value> {
        let sn = self.app.salesnexus();
        let mut out = Vec::new();
        for page in 1.. {
            let v: Value = self
                .http
                .get(format!(
                    "{}/contacts?page={page}&pageSize=100",
                    sn.api_url()
                ))
                .header("X-Api-Key", sn.api_key())
                .send()
                .await
                .expect("list")
                .json()
                .await
                .expect("JSON");
            let data = v["data"].as_array().cloned().unwrap_or_default();
            let short = data.len() < 100;
            out.extend(data);
            if short {
                break;
            }
        }
        out
    }

    /// The live SalesNexus contacts with this email, ignoring case.
    pub async fn sn_contacts_by_email(&self, email: &str) -> Vec<Value> {
        self.sn_contacts()
            .await
            .into_iter()
            .filter(|c| {
                c["email"]
                    .as_str()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .collect()
    }
}

/// A SalesNexus contact's tasks that are (or are not) Meetings.
pub fn sn_tasks(contact: &Value, meetings: bool) -> Vec<Value> {
    contact["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| (t["type"] == "Meeting") == meetings)
        .cloned()
        .collect()
}
