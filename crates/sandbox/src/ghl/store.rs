//! In-memory data of one sandbox: locations, contacts and their tasks, notes and appointments,
//! with the indexes the API needs (duplicate detection by email and phone).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::model::{Appointment, Contact, Location, Note, Task};

const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Makes GHL-looking 20-character ids from a seeded generator, so a seed gives the same ids.
#[derive(Debug)]
pub struct IdGen {
    rng: ChaCha8Rng,
}

impl IdGen {
    /// A generator whose ids depend only on `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// A fresh 20-character id.
    pub fn next_id(&mut self) -> String {
        (0..20)
            .map(|_| ID_ALPHABET[self.rng.random_range(0..ID_ALPHABET.len())] as char)
            .collect()
    }
}

/// Everything the sandbox holds. Guarded by one lock in [`super::Ghl`].
#[derive(Debug)]
pub struct Store {
    /// The agency (company) that owns every location.
    pub company_id: String,
    pub company_name: String,
    pub locations: Vec<Location>,
    pub contacts: HashMap<String, Contact>,
    /// Tasks, notes and appointments keyed by contact id.
    pub tasks: HashMap<String, Vec<Task>>,
    pub notes: HashMap<String, Vec<Note>>,
    pub appointments: HashMap<String, Vec<Appointment>>,
    /// Users (for assignedTo/followers) per location.
    pub users: HashMap<String, Vec<String>>,
    email_index: HashMap<(String, String), Vec<String>>,
    phone_index: HashMap<(String, String), Vec<String>>,
    pub ids: IdGen,
    last_ts: DateTime<Utc>,
}

fn phone_key(p: &str) -> String {
    p.chars().filter(|c| c.is_ascii_digit()).collect()
}

impl Store {
    /// An empty store for one agency.
    pub fn new(seed: u64) -> Self {
        let mut ids = IdGen::new(seed);
        let company_id = ids.next_id();
        Self {
            company_id,
            company_name: "Sandbox Agency".into(),
            locations: Vec::new(),
            contacts: HashMap::new(),
            tasks: HashMap::new(),
            notes: HashMap::new(),
            appointments: HashMap::new(),
            users: HashMap::new(),
            email_index: HashMap::new(),
            phone_index: HashMap::new(),
            ids,
            last_ts: DateTime::<Utc>::MIN_UTC,
        }
    }

    /// A timestamp strictly after every one handed out before, so `dateUpdated` orders changes.
    pub fn now(&mut self) -> DateTime<Utc> {
        let now = Utc::now();
        let t = if now > self.last_ts {
            now
        } else {
            self.last_ts + Duration::milliseconds(1)
        };
        self.last_ts = t;
        t
    }

    /// The location with this id.
    pub fn location(&self, id: &str) -> Option<&Location> {
        self.locations.iter().find(|l| l.id == id)
    }

    /// Mutable access to the location with this id.
    pub fn location_mut(&mut self, id: &str) -> Option<&mut Location> {
        self.locations.iter_mut().find(|l| l.id == id)
    }

    /// Ids of the other contacts in the location with this email (case-insensitive).
    pub fn contacts_with_email(&self, location_id: &str, email: &str) -> Vec<String> {
        self.email_index
            .get(&(location_id.to_string(), email.trim().to_lowercase()))
            .cloned()
            .unwrap_or_default()
    }

    /// Ids of the contacts in the location with this phone (digits compared).
    pub fn contacts_with_phone(&self, location_id: &str, phone: &str) -> Vec<String> {
        self.phone_index
            .get(&(location_id.to_string(), phone_key(phone)))
            .cloned()
            .unwrap_or_default()
    }

    fn unindex(&mut self, c: &Contact) {
        if let Some(e) = &c.email {
            let key = (c.location_id.clone(), e.trim().to_lowercase());
            if let Some(v) = self.email_index.get_mut(&key) {
                v.retain(|id| id != &c.id);
                if v.is_empty() {
                    self.email_index.remove(&key);
                }
            }
        }
        if let Some(p) = &c.phone {
            let key = (c.location_id.clone(), phone_key(p));
            if let Some(v) = self.phone_index.get_mut(&key) {
                v.retain(|id| id != &c.id);
                if v.is_empty() {
                    self.phone_index.remove(&key);
                }
            }
        }
    }

    fn index(&mut self, c: &Contact) {
        if let Some(e) = &c.email {
            let key = (c.location_id.clone(), e.trim().to_lowercase());
            self.email_index.entry(key).or_default().push(c.id.clone());
        }
        if let Some(p) = &c.phone {
            let key = (c.location_id.clone(), phone_key(p));
            if !key.1.is_empty() {
                self.phone_index.entry(key).or_default().push(c.id.clone());
            }
        }
    }

    /// Inserts or replaces a contact, keeping the indexes right.
    pub fn put_contact(&mut self, c: Contact) {
        if let Some(old) = self.contacts.remove(&c.id) {
            self.unindex(&old);
        }
        self.index(&c);
        self.contacts.insert(c.id.clone(), c);
    }

    /// Removes a contact with its tasks, notes and appointments.
    pub fn remove_contact(&mut self, id: &str) -> Option<Contact> {
        let c = self.contacts.remove(id)?;
        self.unindex(&c);
        self.tasks.remove(id);
        self.notes.remove(id);
        self.appointments.remove(id);
        Some(c)
    }

    /// Contacts of a location (unordered).
    pub fn contacts_in<'a>(
        &'a self,
        location_id: &'a str,
    ) -> impl Iterator<Item = &'a Contact> + 'a {
        self.contacts
            .values()
            .filter(move |c| c.location_id == location_id)
    }

    /// Empties everything but the agency id and the id generator.
    pub fn clear(&mut self) {
        self.locations.clear();
        self.contacts.clear();
        self.tasks.clear();
        self.notes.clear();
        self.appointments.clear();
        self.users.clear();
        self.email_index.clear();
        self.phone_index.clear();
    }

    /// Counts of what the store holds, for the admin API and the demo banner.
    pub fn counts(&self) -> serde_json::Value {
        serde_json::json!({
            "locations": self.locations.len(),
            "contacts": self.contacts.len(),
            "tasks": self.tasks.values().map(Vec::len).sum::<usize>(),
            "notes": self.notes.values().map(Vec::len).sum::<usize>(),
            "appointments": self.appointments.values().map(Vec::len).sum::<usize>(),
        })
    }
}
