//! Realistic activity for the demo: people working in GHL (contacts created, edited, tagged and
//! deleted; tasks created, completed and deleted; notes written, edited and deleted), in
//! InvestNext and in Insightly (contacts created and edited), plus deliberate conflicts (the same
//! InvestNext contact edited on both sides before the engine syncs it). Every change goes
//! through the emulators' "as a person in the app" admin routes, which emit the apps' real
//! webhooks and stamp their change times exactly as API changes do; GHL's webhooks reach the
//! demo's server with duplicates and drops turned on.
//!
//! Your App, Invoco and SalesNexus are only written by the engine here: their templates sync one
//! way from GHL, and a person's edit there would be left alone by design (and counted as a
//! disagreement by the end check).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};

use super::progress::Progress;
use super::stack::Stack;

/// What the activity did, by action name, and how many calls the emulators refused (a record
/// deleted meanwhile, for instance).
#[derive(Debug, Default)]
pub struct Tally {
    pub done: BTreeMap<&'static str, u64>,
    pub refused: u64,
    /// Conflicting edits made to two-way pairs (InvestNext ⇄ GHL).
    pub conflicts: u64,
}

impl Tally {
    pub fn total(&self) -> u64 {
        self.done.values().sum()
    }

    /// `12 contacts created, 30 edited, …` in a fixed order.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .done
            .iter()
            .map(|(what, n)| format!("{n} {what}"))
            .collect();
        if parts.is_empty() {
            "nothing yet".into()
        } else {
            parts.join(", ")
        }
    }
}

/// The records the activity may change, by app. GHL contacts that came from Insightly are left
/// out (that template syncs Insightly → GHL one way, so a GHL edit to them would be overwritten),
/// and so are the InvestNext contacts the engine made from them (an InvestNext edit would reach
/// GHL through the two-way flow and disagree with Insightly): both pools are taken before the
/// engine starts, plus what the activity creates.
pub struct Driver<'a> {
    stack: &'a Stack,
    http: reqwest::Client,
    rng: StdRng,
    n: u64,
    ghl_contacts: Vec<String>,
    ghl_tasks: Vec<(String, String)>,
    ghl_notes: Vec<(String, String)>,
    investnext: Vec<String>,
    insightly: Vec<i64>,
    pub tally: Tally,
}

const CITIES: [&str; 8] = [
    "Austin", "Boston", "Denver", "Lisbon", "Madrid", "Oslo", "Porto", "Seattle",
];
const LAST: [&str; 6] = ["Rivera", "Okafor", "Nguyen", "Schmidt", "Costa", "Haddad"];
const TAGS: [&str; 4] = ["vip", "newsletter", "webinar", "referral"];

impl<'a> Driver<'a> {
    /// Reads what each app holds now (seed data and what the first sync brought).
    pub async fn new(stack: &'a Stack, seed: u64) -> Result<Self, String> {
        let ghl_seed = stack.ghl_seed.clone();
        let http = reqwest::Client::new();
        let (ghl_tasks, ghl_notes) = {
            let store = stack.ghl.state.store.read();
            let mut tasks = Vec::new();
            let mut notes = Vec::new();
            for id in &ghl_seed {
                for t in store.tasks.get(id).into_iter().flatten() {
                    if !t.completed {
                        tasks.push((id.clone(), t.id.clone()));
                    }
                }
                for n in store.notes.get(id).into_iter().flatten() {
                    notes.push((id.clone(), n.id.clone()));
                }
            }
            (tasks, notes)
        };
        let investnext = stack.investnext_seed.clone();
        let insightly = http
            .get(format!("{}/Contacts?top=500", stack.insightly.base_url))
            .basic_auth(stack.insightly.api_key(), Some(""))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("listing Insightly contacts: {e}"))?
            .json::<Value>()
            .await
            .map_err(|e| format!("listing Insightly contacts: {e}"))?
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["CONTACT_ID"].as_i64())
            .collect();
        Ok(Self {
            stack,
            http,
            rng: StdRng::seed_from_u64(seed),
            n: 0,
            ghl_contacts: ghl_seed,
            ghl_tasks,
            ghl_notes,
            investnext,
            insightly,
            tally: Tally::default(),
        })
    }

    /// Turns on GHL's webhook faults: some deliveries twice, some never, some late.
    pub async fn faulty_webhooks(&self) -> Result<(), String> {
        let url = format!("{}/_sandbox/webhooks", self.stack.ghl.base_url);
        let body = json!({"delivery": {"duplicateRate": 0.15, "dropRate": 0.05,
                                       "reorderRate": 0.05, "reorderDelayMs": 300}});
        self.http
            .put(url)
            .json(&body)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map(|_| ())
            .map_err(|e| format!("turning on the GHL sandbox's webhook faults: {e}"))
    }

    /// Makes changes for `duration`, one every `every`, reporting to `progress`.
    pub async fn run(&mut self, duration: Duration, every: Duration, progress: &Progress) {
        let start = Instant::now();
        while start.elapsed() < duration {
            self.step().await;
            progress.activity(start.elapsed(), &self.tally);
            tokio::time::sleep(every).await;
        }
    }

    fn pick<T: Clone>(&mut self, from: &[T]) -> Option<T> {
        if from.is_empty() {
            return None;
        }
        Some(from[self.rng.random_range(0..from.len())].clone())
    }

    fn count(&mut self, what: &'static str, ok: bool) {
        if ok {
            *self.tally.done.entry(what).or_default() += 1;
        } else {
            self.tally.refused += 1;
        }
    }

    async fn call(&self, method: Method, url: String, body: Value) -> Option<Value> {
        let mut req = self.http.request(method.clone(), &url);
        // A body for writes, and for the few deletes that take one (tags).
        if !body.is_null() && method != Method::GET {
            req = req.json(&body);
        }
        match req.send().await {
            Ok(r) if r.status().is_success() => Some(r.json().await.unwrap_or(Value::Null)),
            Ok(r) => {
                tracing::debug!(%method, %url, status = %r.status(), "demo change refused");
                None
            }
            Err(e) => {
                tracing::debug!(%method, %url, error = %e, "demo change failed");
                None
            }
        }
    }

    async fn ghl(&self, method: Method, path: &str, body: Value) -> Option<Value> {
        let url = format!("{}/_sandbox{path}", self.stack.ghl.base_url);
        self.call(method, url, body).await
    }

    /// One change, drawn at random with realistic weights.
    async fn step(&mut self) {
        self.n += 1;
        let roll = self.rng.random_range(0..100u32);
        match roll {
            0..=9 => self.ghl_create_contact().await,
            10..=24 => self.ghl_edit_contact().await,
            25..=32 => self.ghl_tags().await,
            33..=35 => self.ghl_delete_contact().await,
            36..=45 => self.ghl_create_task().await,
            46..=53 => self.ghl_complete_task().await,
            54..=56 => self.ghl_delete_task().await,
            57..=64 => self.ghl_create_note().await,
            65..=69 => self.ghl_edit_note().await,
            70..=72 => self.ghl_delete_note().await,
            73..=77 => self.investnext_create().await,
            78..=85 => self.investnext_edit().await,
            86..=88 => self.conflict().await,
            89..=92 => self.insightly_create().await,
            _ => self.insightly_edit().await,
        }
    }

    fn person(&mut self, app: &str) -> (String, String, String) {
        let first = ["Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara"]
            [self.rng.random_range(0..6)]
        .to_string();
        let last = LAST[self.rng.random_range(0..LAST.len())].to_string();
        let email = format!(
            "{}.{}.{app}{}@demo.example.com",
            first.to_lowercase(),
            last.to_lowercase(),
            self.n
        );
        (first, last, email)
    }

    fn city(&mut self) -> &'static str {
        CITIES[self.rng.random_range(0..CITIES.len())]
    }

    async fn ghl_create_contact(&mut self) {
        let (first, last, email) = self.person("ghl");
        let phone = format!("+1415555{:04}", self.n % 10_000);
        let tag = TAGS[self.rng.random_range(0..TAGS.len())];
        let loc = self.stack.ghl.location_id();
        let body = json!({"firstName": first, "lastName": last, "email": email, "phone": phone,
                          "city": self.city(), "tags": [tag]});
        let v = self
            .ghl(Method::POST, &format!("/locations/{loc}/contacts"), body)
            .await;
        let id = v.and_then(|v| v["contact"]["id"].as_str().map(str::to_string));
        self.count("GHL contacts created", id.is_some());
        self.ghl_contacts.extend(id);
    }

    async fn ghl_edit_contact(&mut self) {
        let Some(id) = self.pick(&self.ghl_contacts.clone()) else {
            return;
        };
        let body = if self.rng.random_bool(0.5) {
            json!({"city": self.city()})
        } else {
            json!({"lastName": LAST[self.rng.random_range(0..LAST.len())], "city": self.city()})
        };
        let ok = self
            .ghl(Method::PUT, &format!("/contacts/{id}"), body)
            .await
            .is_some();
        self.count("GHL contacts edited", ok);
    }

    async fn ghl_tags(&mut self) {
        let Some(id) = self.pick(&self.ghl_contacts.clone()) else {
            return;
        };
        let tag = TAGS[self.rng.random_range(0..TAGS.len())];
        let method = if self.rng.random_bool(0.6) {
            Method::POST
        } else {
            Method::DELETE
        };
        let ok = self
            .ghl(
                method,
                &format!("/contacts/{id}/tags"),
                json!({"tags": [tag]}),
            )
            .await
            .is_some();
        self.count("GHL tag changes", ok);
    }

    async fn ghl_delete_contact(&mut self) {
        if self.ghl_contacts.len() < 5 {
            return;
        }
        let i = self.rng.random_range(0..self.ghl_contacts.len());
        let id = self.ghl_contacts.swap_remove(i);
        self.ghl_tasks.retain(|(c, _)| *c != id);
        self.ghl_notes.retain(|(c, _)| *c != id);
        let ok = self
            .ghl(Method::DELETE, &format!("/contacts/{id}"), Value::Null)
            .await
            .is_some();
        self.count("GHL contacts deleted", ok);
    }

    async fn ghl_create_task(&mut self) {
        let Some(c) = self.pick(&self.ghl_contacts.clone()) else {
            return;
        };
        let title = [
            "Call back",
            "URGENT: send the contract",
            "Follow up",
            "FYI: read the brief",
        ][self.rng.random_range(0..4)];
        let days = self.rng.random_range(1..30);
        let due = (chrono::Utc::now() + chrono::Duration::days(days))
            .format("%Y-%m-%dT%H:00:00Z")
            .to_string();
        let body =
            json!({"title": title, "body": format!("from the demo, #{}", self.n), "dueDate": due});
        let v = self
            .ghl(Method::POST, &format!("/contacts/{c}/tasks"), body)
            .await;
        let id = v.and_then(|v| v["task"]["id"].as_str().map(str::to_string));
        self.count("GHL tasks created", id.is_some());
        if let Some(id) = id {
            self.ghl_tasks.push((c, id));
        }
    }

    async fn ghl_complete_task(&mut self) {
        if self.ghl_tasks.is_empty() {
            return;
        }
        let (c, t) = self
            .ghl_tasks
            .swap_remove(self.rng.random_range(0..self.ghl_tasks.len()));
        let ok = self
            .ghl(
                Method::PUT,
                &format!("/contacts/{c}/tasks/{t}"),
                json!({"completed": true}),
            )
            .await
            .is_some();
        self.count("GHL tasks completed", ok);
    }

    async fn ghl_delete_task(&mut self) {
        if self.ghl_tasks.is_empty() {
            return;
        }
        let (c, t) = self
            .ghl_tasks
            .swap_remove(self.rng.random_range(0..self.ghl_tasks.len()));
        let ok = self
            .ghl(
                Method::DELETE,
                &format!("/contacts/{c}/tasks/{t}"),
                Value::Null,
            )
            .await
            .is_some();
        self.count("GHL tasks deleted", ok);
    }

    async fn ghl_create_note(&mut self) {
        let Some(c) = self.pick(&self.ghl_contacts.clone()) else {
            return;
        };
        let body = json!({"body": format!("Spoke on the phone; demo note #{}", self.n)});
        let v = self
            .ghl(Method::POST, &format!("/contacts/{c}/notes"), body)
            .await;
        let id = v.and_then(|v| v["note"]["id"].as_str().map(str::to_string));
        self.count("GHL notes written", id.is_some());
        if let Some(id) = id {
            self.ghl_notes.push((c, id));
        }
    }

    async fn ghl_edit_note(&mut self) {
        let Some((c, nid)) = self.pick(&self.ghl_notes.clone()) else {
            return;
        };
        let body = json!({"body": format!("Updated after the call (#{})", self.n)});
        let ok = self
            .ghl(Method::PUT, &format!("/contacts/{c}/notes/{nid}"), body)
            .await
            .is_some();
        self.count("GHL notes edited", ok);
    }

    async fn ghl_delete_note(&mut self) {
        if self.ghl_notes.is_empty() {
            return;
        }
        let (c, nid) = self
            .ghl_notes
            .swap_remove(self.rng.random_range(0..self.ghl_notes.len()));
        let ok = self
            .ghl(
                Method::DELETE,
                &format!("/contacts/{c}/notes/{nid}"),
                Value::Null,
            )
            .await
            .is_some();
        self.count("GHL notes deleted", ok);
    }

    async fn investnext_create(&mut self) {
        let (first, last, email) = self.person("investnext");
        let body = json!({"first_name": first, "last_name": last, "email": email,
                          "city": self.city()});
        let url = format!("{}/_sandbox/contacts", self.stack.investnext.base_url);
        let v = self.call(Method::POST, url, body).await;
        let id = v.and_then(|v| v["id"].as_str().map(str::to_string));
        self.count("InvestNext contacts created", id.is_some());
        self.investnext.extend(id);
    }

    async fn investnext_edit(&mut self) {
        let Some(id) = self.pick(&self.investnext.clone()) else {
            return;
        };
        let body =
            json!({"city": self.city(), "last_name": LAST[self.rng.random_range(0..LAST.len())]});
        let url = format!("{}/_sandbox/contacts/{id}", self.stack.investnext.base_url);
        let ok = self.call(Method::PATCH, url, body).await.is_some();
        self.count("InvestNext contacts edited", ok);
    }

    /// The same field of one person changed in InvestNext and, a moment later, in GHL, before
    /// the engine synced either: the template's `last_writer_wins` must settle it.
    async fn conflict(&mut self) {
        let Some(id) = self.pick(&self.investnext.clone()) else {
            return;
        };
        let Some(ghl_id) = twin(self.stack, "investnext", &id, "ghl").await else {
            return;
        };
        let url = format!("{}/_sandbox/contacts/{id}", self.stack.investnext.base_url);
        let a = self
            .call(Method::PATCH, url, json!({"city": "Zurich"}))
            .await
            .is_some();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let b = self
            .ghl(
                Method::PUT,
                &format!("/contacts/{ghl_id}"),
                json!({"city": "Geneva"}),
            )
            .await
            .is_some();
        self.count("conflicting edits", a && b);
        if a && b {
            self.tally.conflicts += 1;
        }
    }

    async fn insightly_admin(&self, method: Method, path: &str, body: Value) -> Option<Value> {
        let url = format!("{}/_sandbox{path}", self.stack.insightly.root_url);
        self.call(method, url, body).await
    }

    async fn insightly_create(&mut self) {
        let (first, last, email) = self.person("insightly");
        let body = json!({"FIRST_NAME": first, "LAST_NAME": last, "EMAIL_ADDRESS": email,
                          "ADDRESS_MAIL_CITY": self.city(), "TAGS": [{"TAG_NAME": "Insightly"}]});
        let v = self.insightly_admin(Method::POST, "/Contacts", body).await;
        let id = v.and_then(|v| v["CONTACT_ID"].as_i64());
        self.count("Insightly contacts created", id.is_some());
        self.insightly.extend(id);
    }

    async fn insightly_edit(&mut self) {
        let Some(id) = self.pick(&self.insightly.clone()) else {
            return;
        };
        // Insightly stamps changes to the second: a tick keeps two edits apart for the poller.
        self.insightly_admin(Method::POST, "/clock", json!({"advance_secs": 1}))
            .await;
        let body = json!({"ADDRESS_MAIL_CITY": self.city()});
        let ok = self
            .insightly_admin(Method::PUT, &format!("/Contacts/{id}"), body)
            .await
            .is_some();
        self.count("Insightly contacts edited", ok);
    }
}

/// The id of a record's twin in `other`, through the engine's identity links.
pub async fn twin(stack: &Stack, conn: &str, id: &str, other: &str) -> Option<String> {
    let store = &stack.engine.store;
    let link = store.find_link(conn, "contact", id).await.ok()??;
    store
        .links_of(link.identity_id)
        .await
        .ok()?
        .into_iter()
        .find(|l| l.connection_id == other && l.kind == "contact")
        .map(|l| l.external_id)
}

/// The GHL contacts the activity may change: every one in GHL now (called before the engine
/// starts, so before it brings Insightly's in).
pub fn ghl_contacts(ghl: &ghl_sandbox::ghl::GhlSandbox) -> Vec<String> {
    let loc = ghl.location_id();
    let store = ghl.state.store.read();
    let mut ids: Vec<(chrono::DateTime<chrono::Utc>, String)> = store
        .contacts_in(&loc)
        .map(|c| (c.date_added, c.id.clone()))
        .collect();
    ids.sort();
    ids.into_iter().map(|(_, id)| id).collect()
}
