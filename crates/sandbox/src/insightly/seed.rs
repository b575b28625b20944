//! Deterministic seed data: the same seed and size always give the same organisations,
//! contacts (with tags, custom fields and their organisation), tasks, notes and events linked
//! to their contacts, ids and timestamps included. Everything is dated in the year before
//! 2025-11-01 (never "now"), so a test's own changes are always newer than the seed.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};

use super::schema::{empty_fields, fmt_time, Obj};
use super::store::{CustomFieldDef, Rec, Store, USER_ID};

const FIRST: &[&str] = &[
    "Ava", "Liam", "Olivia", "Noah", "Emma", "Mateo", "Sofia", "Lucas", "Amara", "Ethan", "Priya",
    "Kenji", "Chloe", "Diego", "Fatima", "Jonas", "Grace", "Omar", "Hana", "Leo",
];
const LAST: &[&str] = &[
    "Smith", "Garcia", "Chen", "Okafor", "Mueller", "Rossi", "Patel", "Kim", "Nguyen", "Silva",
    "Johnson", "Dubois", "Kowalski", "Haddad", "Tanaka", "Brown",
];
const COMPANIES: &[&str] = &[
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella Ltd",
    "Stark Supply",
    "Wayne Logistics",
    "Hooli",
    "Vandelay Industries",
];
const PLACES: &[(&str, &str, &str, &str)] = &[
    ("Austin", "TX", "78701", "United States"),
    ("Denver", "CO", "80202", "United States"),
    ("Toronto", "ON", "M5H 2N2", "Canada"),
    ("London", "LDN", "EC1A 1BB", "United Kingdom"),
    ("Berlin", "BE", "10115", "Germany"),
];
const TAGS: &[&str] = &["Lead", "Customer", "Newsletter", "VIP", "Trial", "Partner"];
const TASKS: &[&str] = &[
    "Call back",
    "Send proposal",
    "Follow up on email",
    "Schedule demo",
];
const NOTES: &[&str] = &[
    "Asked for pricing details.\nWants the annual plan.",
    "Prefers email over phone.",
    "Met at the trade show.",
    "Wants a demo next week.",
];
const EVENTS: &[&str] = &["Discovery call", "Product demo", "Quarterly review"];
const LEAD_SOURCES: &[&str] = &["Website", "Referral", "Event", "Import"];
const INTERESTS: &[&str] = &["Art", "Music", "Sports", "Travel"];

fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// A random second in the year before the base date.
fn past(rng: &mut ChaCha8Rng) -> DateTime<Utc> {
    base_time() - Duration::seconds(rng.random_range(86_400..365 * 86_400))
}

fn pick<'a>(rng: &mut ChaCha8Rng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

fn def(name: &str, label: &str, ty: &str, options: &[&str]) -> CustomFieldDef {
    CustomFieldDef {
        name: name.into(),
        label: label.into(),
        field_type: ty.into(),
        options: options.iter().map(|o| o.to_string()).collect(),
    }
}

/// The custom fields every seeded instance has (names carry Insightly's `__c` suffix).
pub fn custom_defs(store: &mut Store) {
    store.custom_defs.insert(
        Obj::Contact,
        vec![
            def("Lead_Source__c", "Lead Source", "DROPDOWN", LEAD_SOURCES),
            def("Score__c", "Score", "NUMERIC", &[]),
            def("Newsletter__c", "Newsletter", "BIT", &[]),
            def("Hobby__c", "Hobby", "TEXT", &[]),
            def("Interests__c", "Interests", "MULTISELECT", INTERESTS),
            def("Renewal_Date__c", "Renewal Date", "DATE", &[]),
        ],
    );
    store.custom_defs.insert(
        Obj::Organisation,
        vec![def("Industry__c", "Industry", "TEXT", &[])],
    );
    store
        .custom_defs
        .insert(Obj::Task, vec![def("Effort__c", "Effort", "NUMERIC", &[])]);
    store.custom_defs.insert(Obj::Event, Vec::new());
}

fn rec(
    store: &mut Store,
    obj: Obj,
    values: Value,
    created: DateTime<Utc>,
    rng: &mut ChaCha8Rng,
) -> Rec {
    let mut fields = empty_fields(obj);
    if let Value::Object(v) = values {
        fields.extend(v);
    }
    for k in ["OWNER_USER_ID", "CREATED_USER_ID"] {
        if fields.contains_key(k) {
            fields.insert(k.into(), json!(USER_ID));
        }
    }
    let updated = (created + Duration::seconds(rng.random_range(0..30 * 86_400))).min(base_time());
    Rec {
        obj,
        id: store.new_id(obj),
        fields,
        created,
        updated,
        custom: Vec::new(),
        tags: Vec::new(),
        dates: Vec::new(),
        email_domains: Vec::new(),
    }
}

fn children(store: &mut Store, rng: &mut ChaCha8Rng, contact: &Rec) {
    let c = (Obj::Contact, contact.id);
    let first = contact.text("FIRST_NAME").unwrap_or("them").to_string();
    let later = |rng: &mut ChaCha8Rng| {
        (contact.created + Duration::hours(rng.random_range(1..2_000))).min(base_time())
    };
    for _ in 0..rng.random_range(0..3) {
        let at = later(rng);
        let due = at + Duration::days(rng.random_range(1..30));
        let done = due < base_time() && rng.random_bool(0.6);
        let values = json!({
            "TITLE": pick(rng, TASKS),
            "DETAILS": format!("{} for {first}", pick(rng, TASKS)),
            "DUE_DATE": fmt_time(due),
            "COMPLETED": done,
            "COMPLETED_DATE_UTC": done.then(|| fmt_time(due)),
            "STATUS": if done { "COMPLETED" } else { "NOT STARTED" },
            "PRIORITY": rng.random_range(1..4),
            "PERCENT_COMPLETE": if done { 100 } else { 0 },
        });
        let task = rec(store, Obj::Task, values, at, rng);
        let id = task.id;
        store.put(task);
        store.add_link((Obj::Task, id), c, None, None);
    }
    for _ in 0..rng.random_range(0..3) {
        let at = later(rng);
        let body = pick(rng, NOTES);
        let title = body.lines().next().unwrap_or(body);
        let note = rec(
            store,
            Obj::Note,
            json!({"TITLE": title, "BODY": body}),
            at,
            rng,
        );
        let id = note.id;
        store.put(note);
        store.add_link((Obj::Note, id), c, None, None);
    }
    if rng.random_bool(0.3) {
        let at = later(rng);
        let start =
            at + Duration::days(rng.random_range(1..20)) + Duration::hours(rng.random_range(8..17));
        let values = json!({
            "TITLE": pick(rng, EVENTS),
            "LOCATION": "Video call",
            "START_DATE_UTC": fmt_time(start),
            "END_DATE_UTC": fmt_time(start + Duration::minutes(30 * rng.random_range(1..4))),
            "ALL_DAY": false,
            "DETAILS": format!("With {first}"),
            "REMINDER_SENT": false,
        });
        let event = rec(store, Obj::Event, values, at, rng);
        let id = event.id;
        store.put(event);
        store.add_link((Obj::Event, id), c, None, None);
    }
}

/// Fills an empty store with organisations, `contacts` contacts and their activities.
/// Emails are unique, so an email lookup finds one seeded contact.
pub fn generate(store: &mut Store, seed: u64, contacts: usize) {
    custom_defs(store);
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9).wrapping_add(11));
    let org_count = COMPANIES.len().min(contacts / 4 + 2);
    let mut orgs = Vec::new();
    for name in COMPANIES.iter().take(org_count) {
        let created = past(&mut rng);
        let slug: String = name
            .to_lowercase()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let values = json!({
            "ORGANISATION_NAME": name,
            "WEBSITE": format!("https://www.{slug}.example"),
            "PHONE": format!("+1555{:07}", rng.random_range(0..10_000_000)),
        });
        let mut org = rec(store, Obj::Organisation, values, created, &mut rng);
        org.custom = vec![(
            "Industry__c".into(),
            json!(pick(&mut rng, &["Retail", "Software", "Logistics"])),
        )];
        orgs.push(org.id);
        store.put(org);
    }
    for i in 0..contacts {
        let (first, last) = (pick(&mut rng, FIRST), pick(&mut rng, LAST));
        let (city, state, postal, country) = PLACES[rng.random_range(0..PLACES.len())];
        let org = (!orgs.is_empty() && rng.random_bool(0.6))
            .then(|| orgs[rng.random_range(0..orgs.len())]);
        let mut values: Map<String, Value> = serde_json::from_value(json!({
            "SALUTATION": pick(&mut rng, &["Mr", "Ms", "Dr"]),
            "FIRST_NAME": first,
            "LAST_NAME": last,
            "EMAIL_ADDRESS": format!("{}.{}{}@example.com", first.to_lowercase(), last.to_lowercase(), i + 1),
            "PHONE": format!("+1555{:07}", 1_000_000 + i),
            "ADDRESS_MAIL_STREET": format!("{} Main St", rng.random_range(1..999)),
            "ADDRESS_MAIL_CITY": city,
            "ADDRESS_MAIL_STATE": state,
            "ADDRESS_MAIL_POSTCODE": postal,
            "ADDRESS_MAIL_COUNTRY": country,
            "ORGANISATION_ID": org,
            "EMAIL_OPTED_OUT": rng.random_bool(0.1),
            "VISIBLE_TO": "EVERYONE",
        }))
        .unwrap_or_default();
        if rng.random_bool(0.3) {
            values.insert(
                "TITLE".into(),
                json!(pick(&mut rng, &["CEO", "Buyer", "Engineer"])),
            );
        }
        let created = past(&mut rng);
        let mut contact = rec(
            store,
            Obj::Contact,
            Value::Object(values),
            created,
            &mut rng,
        );
        contact.tags = TAGS
            .iter()
            .filter(|_| rng.random_bool(0.25))
            .map(|t| t.to_string())
            .collect();
        contact.custom = vec![
            ("Lead_Source__c".into(), json!(pick(&mut rng, LEAD_SOURCES))),
            ("Score__c".into(), json!(rng.random_range(0..100))),
        ];
        if rng.random_bool(0.5) {
            contact
                .custom
                .push(("Newsletter__c".into(), json!(rng.random_bool(0.5))));
        }
        store.put(contact.clone());
        children(store, &mut rng, &contact);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_data() {
        let (mut a, mut b) = (Store::new(), Store::new());
        generate(&mut a, 7, 12);
        generate(&mut b, 7, 12);
        let render = |s: &Store| -> Vec<Value> {
            Obj::ALL
                .iter()
                .flat_map(|o| s.all(*o).map(|r| s.render(r, false)).collect::<Vec<_>>())
                .collect()
        };
        assert_eq!(render(&a), render(&b));
        assert_eq!(a.count(Obj::Contact), 12);
        assert!(a.count(Obj::Task) > 0 && a.count(Obj::Note) > 0);
        let mut c = Store::new();
        generate(&mut c, 8, 12);
        assert_ne!(render(&a), render(&c));
        assert!(a.all(Obj::Contact).all(|r| r.updated <= base_time()));
    }
}
