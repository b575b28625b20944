//! Deterministic seed data: the same seed and size always give the same contacts, tasks (calls,
//! e-mails, to-dos and Meeting-type tasks with `dateFrom`/`dateTo`, the API's nearest thing to
//! an appointment), notes and custom fields, ids and timestamps included (dated in the year
//! before 2025-11-01, never "now"), so tests can name seeded records and compare runs.
//!
//! Custom fields: `Tags` (multi-select, the usual home of tags since contacts have no tag
//! resource), `Lead Source` (drop-down), `Annual Revenue` (currency) and `Newsletter` (checkbox).

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use super::model::{iso, Kind, Rec};
use super::store::{FieldDef, Store, API_USER_ID};

const FIRST: &[&str] = &[
    "Ava", "Liam", "Olivia", "Noah", "Emma", "Mateo", "Sofia", "Lucas", "Amara", "Ethan", "Priya",
    "Kenji", "Chloe", "Diego", "Fatima", "Jonas", "Grace", "Omar", "Hana", "Leo",
];
const LAST: &[&str] = &[
    "Smith", "Garcia", "Chen", "Okafor", "Mueller", "Rossi", "Patel", "Kim", "Nguyen", "Silva",
    "Johnson", "Dubois", "Kowalski", "Haddad", "Tanaka", "Brown",
];
const COMPANIES: &[&str] = &[
    "Acme Roofing",
    "Bluebird Dental",
    "Cedar Logistics",
    "Delta Realty",
    "Evergreen Insurance",
];
const TITLES: &[&str] = &["Owner", "Office Manager", "CFO", "Sales Director", "Buyer"];
const PLACES: &[(&str, &str, &str, &str)] = &[
    ("Houston", "TX", "77002", "US"),
    ("Austin", "TX", "78701", "US"),
    ("Denver", "CO", "80202", "US"),
    ("Miami", "FL", "33101", "US"),
    ("Toronto", "ON", "M5H 2N2", "CA"),
];
const STREETS: &[&str] = &["Main St", "Oak Ave", "Harbor Rd", "King St", "Elm Way"];
/// The options of the seeded `Tags` multi-select field.
pub const TAGS: &[&str] = &["lead", "customer", "vip", "newsletter", "partner", "cold"];
const SOURCES: &[&str] = &["Website", "Referral", "Trade Show", "Cold Call"];
const TASK_TITLES: &[(&str, &str)] = &[
    ("Call", "Follow-up call"),
    ("Email", "Send proposal"),
    ("To-do", "Prepare quote"),
    ("Call", "Check in after demo"),
];
const MEETINGS: &[&str] = &["Discovery meeting", "Product demo", "Contract review"];
const NOTES: &[&str] = &[
    "Asked for pricing on the premium plan.",
    "Prefers e-mail over phone.",
    "Met at the trade show in Houston.",
    "Decision expected next quarter.",
];

fn pick<'a>(rng: &mut ChaCha8Rng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// A random second in the year before the base date.
fn past(rng: &mut ChaCha8Rng) -> DateTime<Utc> {
    base_time() - Duration::seconds(rng.random_range(86_400..365 * 86_400))
}

fn later(rng: &mut ChaCha8Rng, t: DateTime<Utc>) -> DateTime<Utc> {
    (t + Duration::seconds(rng.random_range(0..30 * 86_400))).min(base_time())
}

fn record(kind: Kind, id: i64, values: Value, at: DateTime<Utc>, rng: &mut ChaCha8Rng) -> Rec {
    let mut r = Rec::blank(kind, id, at);
    if let Value::Object(m) = values {
        r.fields.extend(m);
    }
    r.updated_at = later(rng, at);
    r.created_by = API_USER_ID;
    r
}

/// The custom fields every seeded store defines.
fn custom_fields(store: &mut Store) {
    let mut tags = FieldDef::new(0, "Tags", 0);
    tags.is_drop_down = true;
    tags.multi_select = true;
    tags.options = TAGS.iter().map(|s| s.to_string()).collect();
    let mut source = FieldDef::new(0, "Lead Source", 0);
    source.is_drop_down = true;
    source.options = SOURCES.iter().map(|s| s.to_string()).collect();
    for def in [
        tags,
        source,
        FieldDef::new(0, "Annual Revenue", 1),
        FieldDef::new(0, "Newsletter", 6),
    ] {
        // A fresh store has none of these names, so the add cannot clash.
        let _ = store.add_field(def);
    }
}

fn activities(store: &mut Store, rng: &mut ChaCha8Rng, contact: &Rec, i: usize) {
    let first = contact.text("firstName").unwrap_or("them").to_string();
    let mut meetings = usize::from(i % 4 == 0) + usize::from(rng.random_bool(0.2));
    for _ in 0..rng.random_range(0..3) + meetings {
        let at = later(rng, contact.created_at);
        let id = store.peek_id(Kind::Task);
        let assignee = rng.random_range(1..4);
        let values = if meetings > 0 {
            meetings -= 1;
            let start = at
                + Duration::days(rng.random_range(1..20))
                + Duration::hours(rng.random_range(8..17));
            json!({
                "title": pick(rng, MEETINGS), "details": format!("Meeting with {first}"),
                "type": "Meeting", "priority": "Normal", "status": "Pending",
                "dateFrom": iso(start), "dateTo": iso(start + Duration::minutes(30 * rng.random_range(1..4))),
                "assignedToUserId": assignee, "contactId": contact.id,
            })
        } else {
            let (ty, title) = TASK_TITLES[rng.random_range(0..TASK_TITLES.len())];
            let due = at + Duration::days(rng.random_range(1..30));
            let done = due < base_time() && rng.random_bool(0.5);
            json!({
                "title": title, "details": format!("{title} for {first}"), "type": ty,
                "priority": pick(rng, &["High", "Normal", "Low"]),
                "status": if done { "Completed" } else { "Pending" },
                "dateFrom": iso(due), "dateTo": iso(due),
                "assignedToUserId": assignee, "contactId": contact.id,
            })
        };
        let mut task = record(Kind::Task, id, values, at, rng);
        if task.text("status") == Some("Completed") {
            task.completed_at = Some(task.updated_at);
        }
        store.put(task);
    }
    for _ in 0..rng.random_range(0..3) {
        let at = later(rng, contact.created_at);
        let id = store.peek_id(Kind::Note);
        let values = json!({"noteText": pick(rng, NOTES), "contactId": contact.id});
        let mut note = record(Kind::Note, id, values, at, rng);
        note.updated_at = at;
        store.put(note);
    }
}

/// A store with the custom fields and `contacts` contacts with their tasks and notes. Emails
/// are unique, so seeded data never confuses a lookup by email.
pub fn generate(seed: u64, contacts: usize) -> Store {
    let mut store = Store::new();
    custom_fields(&mut store);
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0x5a1e_5e55).wrapping_add(3));
    for i in 0..contacts {
        let (first, last) = (pick(&mut rng, FIRST), pick(&mut rng, LAST));
        let (city, state, zip, country) = PLACES[rng.random_range(0..PLACES.len())];
        let tags: Vec<&str> = TAGS
            .iter()
            .copied()
            .filter(|_| rng.random_bool(0.3))
            .collect();
        let company = rng.random_bool(0.6).then(|| pick(&mut rng, COMPANIES));
        let values = json!({
            "firstName": first,
            "lastName": last,
            "email": format!("{}.{}{}@example.com", first.to_lowercase(), last.to_lowercase(), i + 1),
            "phone": format!("+1713555{:04}", 1000 + i),
            "company": company,
            "title": pick(&mut rng, TITLES),
            "address": format!("{} {}", rng.random_range(1..999), pick(&mut rng, STREETS)),
            "city": city, "state": state, "zip": zip, "country": country,
            "managerUserId": rng.random_range(1..4),
        });
        let created = past(&mut rng);
        let id = store.peek_id(Kind::Contact);
        let mut contact = record(Kind::Contact, id, values, created, &mut rng);
        if !tags.is_empty() {
            contact.custom.insert("Tags".into(), json!(tags.join(", ")));
        }
        contact
            .custom
            .insert("Lead Source".into(), json!(pick(&mut rng, SOURCES)));
        if rng.random_bool(0.5) {
            contact.custom.insert(
                "Annual Revenue".into(),
                json!(rng.random_range(1..500) * 1000),
            );
        }
        store.put(contact.clone());
        activities(&mut store, &mut rng, &contact, i);
    }
    store
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_data_with_meetings_and_tags() {
        let a = generate(7, 12);
        let b = generate(7, 12);
        assert_eq!(a.contacts, b.contacts);
        assert_eq!(a.tasks, b.tasks);
        assert_eq!(a.notes, b.notes);
        assert_eq!(a.contacts.len(), 12);
        let meetings = a
            .tasks
            .values()
            .filter(|t| t.text("type") == Some("Meeting"))
            .count();
        assert!(meetings >= 3, "every 4th contact has a meeting: {meetings}");
        assert!(a.contacts.values().any(|c| c.custom.contains_key("Tags")));
        assert!(a.tasks.values().all(|t| t.int("contactId").is_some()));
        assert_ne!(generate(8, 12).contacts, a.contacts);
    }
}
