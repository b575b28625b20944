//! One view of Insightly's and SalesNexus' data for the cases both apps share: people,
//! their tasks, notes and appointments, as each emulator holds them (read through its admin API
//! or its own API, never through the connector under test).

use engine::runtime::Engine;
use engine::store::EventSource;
use reqwest::Method;
use serde_json::{json, Value};

use super::{Delivery, World};

/// A task, note, appointment or organisation as the app holds it, in app-neutral words.
#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    /// A task's or appointment's title, a note's body, an organisation's name.
    pub label: String,
    /// A task is completed.
    pub done: bool,
    /// A task's details, an appointment's notes, a note's title, an organisation's website.
    pub details: String,
    /// The record as the app's JSON.
    pub raw: Value,
}

fn text(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

fn item(app: &str, kind: &str, v: Value) -> Item {
    if app == "insightly" {
        let (label, details) = match kind {
            "note" => ("BODY", "TITLE"),
            "business" => ("ORGANISATION_NAME", "WEBSITE"),
            _ => ("TITLE", "DETAILS"),
        };
        Item {
            id: super::insightly::id_of(&v, super::insightly::id_field(kind)),
            label: text(&v, label),
            done: v["COMPLETED"] == true,
            details: text(&v, details),
            raw: v,
        }
    } else {
        let (label, details) = match kind {
            "note" => ("noteText", ""),
            _ => ("title", "details"),
        };
        Item {
            id: v["id"].as_i64().expect("id").to_string(),
            label: text(&v, label),
            done: v["status"].as_str() == Some("Completed"),
            details: text(&v, details),
            raw: v,
        }
    }
}

impl World {
    /// A new contact of `app` with a unique email and these tags; returns (id, email).
    pub async fn p_person(&self, app: &str, first: &str, tags: &[&str]) -> (String, String) {
        match app {
            "insightly" => self.ins_person(first, tags).await,
            _ => self.sn_person(first, tags).await,
        }
    }

    /// A task, note or appointment of `contact` titled (or with the body) `label`.
    pub async fn p_child(&self, app: &str, contact: &str, kind: &str, label: &str) -> String {
        match app {
            "insightly" => self.ins_child(contact, kind, label).await,
            _ => self.sn_child(contact, kind, label).await,
        }
    }

    /// The contact's live tasks, notes or appointments.
    pub async fn p_children(&self, app: &str, contact: &str, kind: &str) -> Vec<Item> {
        let raw = match app {
            "insightly" => self.ins_children(contact, kind).await,
            _ => self.sn_children(contact, kind).await,
        };
        raw.into_iter().map(|v| item(app, kind, v)).collect()
    }

    /// One task, note, appointment or organisation; `None` when it does not exist.
    pub async fn p_item(&self, app: &str, kind: &str, id: &str) -> Option<Item> {
        let raw = match app {
            "insightly" => self.ins_get(kind, id).await,
            _ => {
                let plural = if kind == "note" { "notes" } else { "tasks" };
                self.sn_get(plural, id).await
            }
        };
        raw.map(|v| item(app, kind, v))
    }

    /// The contact's tags.
    pub async fn p_tags(&self, app: &str, contact: &str) -> Vec<String> {
        match app {
            "insightly" => self.ins_tags(contact).await,
            _ => self.sn_tags(contact).await,
        }
    }

    /// The bodies of the contact's notes.
    pub async fn p_notes(&self, app: &str, contact: &str) -> Vec<String> {
        let notes = self.p_children(app, contact, "note").await;
        notes.into_iter().map(|n| n.label).collect()
    }

    /// The contact as the app holds it.
    pub async fn p_contact(&self, app: &str, id: &str) -> Value {
        let got = match app {
            "insightly" => self.ins_get("contact", id).await,
            _ => self.sn_get("contacts", id).await,
        };
        got.expect("contact")
    }

    /// The contact's city.
    pub async fn p_city(&self, app: &str, contact: &str) -> String {
        let c = self.p_contact(app, contact).await;
        match app {
            "insightly" => text(&c, "ADDRESS_MAIL_CITY"),
            _ => text(&c, "city"),
        }
    }

    /// Sets the contact's city, as a person.
    pub async fn p_set_city(&self, app: &str, contact: &str, city: &str) {
        match app {
            "insightly" => {
                let path = format!("/Contacts/{contact}");
                let body = json!({"ADDRESS_MAIL_CITY": city});
                self.ins_admin(Method::PUT, &path, body).await;
            }
            _ => {
                let path = format!("/contacts/{contact}");
                self.sn_admin(Method::PUT, &path, json!({"city": city}))
                    .await;
            }
        }
    }

    /// Changes a record as a person: a contact's city, a task's or appointment's title, a
    /// note's body, an organisation's name (kept with spaces around it).
    pub async fn p_edit(&self, app: &str, kind: &str, id: &str, label: &str) {
        if app == "insightly" {
            let field = match kind {
                "contact" => "ADDRESS_MAIL_CITY",
                "note" => "BODY",
                "business" => "ORGANISATION_NAME",
                _ => "TITLE",
            };
            let value = match kind {
                "business" => format!("  {label}  "),
                _ => label.to_string(),
            };
            let path = format!("/{}/{id}", super::insightly::object(kind));
            self.ins_admin(Method::PUT, &path, json!({ field: value }))
                .await;
        } else {
            let (plural, field) = match kind {
                "contact" => ("contacts", "city"),
                "note" => ("notes", "noteText"),
                _ => ("tasks", "title"),
            };
            let path = format!("/{plural}/{id}");
            self.sn_admin(Method::PUT, &path, json!({ field: label }))
                .await;
        }
    }

    /// Marks a task completed, as a person.
    pub async fn p_complete(&self, app: &str, task: &str) {
        match app {
            "insightly" => {
                let body = json!({"COMPLETED": true});
                self.ins_admin(Method::PUT, &format!("/Tasks/{task}"), body)
                    .await;
            }
            _ => {
                let body = json!({"status": "Completed"});
                self.sn_admin(Method::PUT, &format!("/tasks/{task}"), body)
                    .await;
            }
        }
    }

    /// How many writes (requests other than GET) the app's API has answered so far.
    pub async fn p_writes(&self, app: &str) -> usize {
        let path = "/requests?limit=100000";
        let log = match app {
            "insightly" => self.ins_admin(Method::GET, path, Value::Null).await,
            _ => self.sn_admin(Method::GET, path, Value::Null).await,
        };
        let log = log.expect("the request log");
        log["requests"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["method"] != "GET")
            .count()
    }

    /// Lets the app's clock move on where its stamps are whole seconds (Insightly), so the next
    /// change is a newer version than the last one a poll saw.
    pub async fn p_tick(&self, app: &str) {
        if app == "insightly" {
            self.ins_tick().await;
        }
    }

    /// Reads a delivery with the app's connector (verifying it as the server does), ingests
    /// its hints as a webhook, and runs the jobs. Returns how many jobs ran.
    pub async fn ingest_delivery(&self, engine: &Engine, app: &str, d: &Delivery) -> usize {
        let hints = self.connectors[app]
            .parse_webhook(&d.headers, &d.body)
            .unwrap_or_else(|e| panic!("{app} post refused: {e}"));
        assert!(!hints.is_empty(), "the {app} post gave no hint");
        engine
            .ingest(app, &hints, EventSource::Webhook)
            .await
            .expect("ingest");
        self.run(engine).await
    }
}
