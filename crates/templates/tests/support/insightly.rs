//! Reading and changing the Insightly emulator in template tests: records through the API (what
//! an Insightly user's integrations see) and "as a person in Insightly" through the admin API,
//! whose virtual clock stands in for waiting (Insightly stamps records to the second).

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use super::Fx;

impl Fx {
    /// An Insightly API path (`/Contacts/12/Tasks`), read with the key.
    pub async fn ins_get(&self, path: &str) -> Value {
        let ins = self.app.insightly();
        let resp = self
            .http
            .get(format!("{}{path}", ins.base_url))
            .basic_auth(ins.api_key(), Some(""))
            .send()
            .await
            .expect("Insightly API");
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.json().await.expect("JSON")
    }

    /// Creates a record as a person in Insightly would (`Contacts`, `Tasks` …); returns its id.
    pub async fn ins_create(&self, object: &str, body: Value) -> i64 {
        let v = self
            .app_admin(Method::POST, &format!("/{object}"), body)
            .await;
        let key = match object {
            "Contacts" => "CONTACT_ID",
            "Tasks" => "TASK_ID",
            "Notes" => "NOTE_ID",
            "Events" => "EVENT_ID",
            "Organisations" => "ORGANISATION_ID",
            other => panic!("no id field known for {other}"),
        };
        v[key].as_i64().unwrap_or_else(|| panic!("{key} in {v}"))
    }

    /// Changes a record as a person in Insightly would, a moment after the last change (the
    /// clock moves two seconds first, so a poll can tell the versions apart).
    pub async fn ins_edit(&self, object: &str, id: i64, body: Value) -> Value {
        self.ins_tick().await;
        self.app_admin(Method::PUT, &format!("/{object}/{id}"), body)
            .await
    }

    /// Moves the emulator's clock two seconds on.
    pub async fn ins_tick(&self) {
        self.app_admin(Method::POST, "/clock", json!({"advance_secs": 2}))
            .await;
    }

    /// Every Insightly contact, through the API.
    pub async fn ins_contacts(&self) -> Vec<Value> {
        self.ins_get("/Contacts?top=500")
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// A link to an Insightly contact, for a `LINKS` array.
pub fn contact_link(id: i64) -> Value {
    json!([{"LINK_OBJECT_NAME": "Contact", "LINK_OBJECT_ID": id}])
}

/// An Insightly record's tags, lower-cased.
pub fn tag_set(record: &Value) -> BTreeSet<String> {
    record["TAGS"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["TAG_NAME"].as_str().or(t.as_str()))
        .map(str::to_lowercase)
        .collect()
}
