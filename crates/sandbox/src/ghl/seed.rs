//! Deterministic seed data: the same seed and sizes always give the same locations, contacts,
//! tasks, notes, appointments, tags, businesses and custom fields (ids included).

use chrono::{Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map};

use super::model::{Appointment, Business, Contact, CustomFieldDef, Location, Note, Task};
use super::store::Store;

const FIRST: &[&str] = &[
    "Ava", "Liam", "Olivia", "Noah", "Emma", "Mateo", "Sofia", "Lucas", "Amara", "Ethan", "Priya",
    "Kenji", "Chloe", "Diego", "Fatima", "Jonas", "Grace", "Omar", "Hana", "Leo", "Mia", "Ravi",
    "Zoe", "Felix",
];
const LAST: &[&str] = &[
    "Smith", "Garcia", "Chen", "Okafor", "Müller", "Rossi", "Patel", "Kim", "Nguyen", "Silva",
    "Johnson", "Dubois", "Kowalski", "Haddad", "Tanaka", "Brown", "Novak", "Larsen", "Costa",
    "Walker",
];
const CITIES: &[(&str, &str, &str)] = &[
    ("Austin", "TX", "US"),
    ("Denver", "CO", "US"),
    ("Miami", "FL", "US"),
    ("Toronto", "ON", "CA"),
    ("London", "LDN", "GB"),
    ("Berlin", "BE", "DE"),
    ("Sydney", "NSW", "AU"),
    ("Phoenix", "AZ", "US"),
];
const TAGS: &[&str] = &[
    "lead",
    "customer",
    "investor",
    "vip",
    "newsletter",
    "webinar",
    "referral",
    "cold",
    "hot",
    "accredited",
];
const SOURCES: &[&str] = &[
    "website form",
    "facebook ad",
    "referral",
    "import",
    "webinar",
    "manual",
];
const TASK_TITLES: &[&str] = &[
    "Call back",
    "Send proposal",
    "Follow up on email",
    "Schedule demo",
    "Collect documents",
    "Review agreement",
];
const NOTE_BODIES: &[&str] = &[
    "Interested in the Q3 offering.",
    "Asked for pricing details.",
    "Prefers email over phone.",
    "Met at the conference.",
    "Wants a call next week.",
    "Sent the onboarding pack.",
];

fn pick<'a>(rng: &mut ChaCha8Rng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

fn custom_fields(store: &mut Store) -> Vec<CustomFieldDef> {
    let defs: &[(&str, &str, &str, &[&str])] = &[
        ("Lead Score", "lead_score", "NUMERICAL", &[]),
        (
            "Investor Type",
            "investor_type",
            "SINGLE_OPTIONS",
            &["Individual", "Entity", "Trust"],
        ),
        (
            "Interests",
            "interests",
            "MULTIPLE_OPTIONS",
            &["Multifamily", "Industrial", "Retail", "Land"],
        ),
        ("Referral Code", "referral_code", "TEXT", &[]),
        ("Background", "background", "LARGE_TEXT", &[]),
        ("Committed Amount", "committed_amount", "MONETORY", &[]),
    ];
    defs.iter()
        .map(|(name, key, ty, opts)| CustomFieldDef {
            id: store.ids.next_id(),
            name: name.to_string(),
            field_key: format!("contact.{key}"),
            data_type: ty.to_string(),
            picklist_options: opts.iter().map(|s| s.to_string()).collect(),
        })
        .collect()
}

/// Fills an empty store with `locations` locations of `contacts` contacts each.
pub fn generate(store: &mut Store, seed: u64, locations: usize, contacts: usize) {
    let base = Utc
        .with_ymd_and_hms(2025, 11, 1, 0, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);
    for li in 0..locations {
        let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(31).wrapping_add(li as u64));
        let loc_id = store.ids.next_id();
        let fields = custom_fields(store);
        let businesses: Vec<Business> = (0..(contacts / 20).clamp(1, 500))
            .map(|i| Business {
                id: store.ids.next_id(),
                name: format!("{} Holdings {}", pick(&mut rng, LAST), i + 1),
            })
            .collect();
        let users: Vec<String> = (0..5).map(|_| store.ids.next_id()).collect();
        let (city, state, _) = CITIES[li % CITIES.len()];
        store.locations.push(Location {
            id: loc_id.clone(),
            name: format!("{city} Office"),
            address: format!("{} Main St, {city}, {state}", 100 + li),
            allow_duplicates: false,
            custom_fields: fields.clone(),
            businesses: businesses.clone(),
        });
        store.users.insert(loc_id.clone(), users.clone());
        for ci in 0..contacts {
            let first = pick(&mut rng, FIRST);
            let last = pick(&mut rng, LAST);
            let (city, state, country) = CITIES[rng.random_range(0..CITIES.len())];
            let added = base - Duration::minutes(rng.random_range(0..525_600));
            let updated = added + Duration::minutes(rng.random_range(0..60 * 24 * 30));
            let mut tags: Vec<String> = Vec::new();
            for _ in 0..rng.random_range(0..4) {
                let t = pick(&mut rng, TAGS).to_string();
                if !tags.contains(&t) {
                    tags.push(t);
                }
            }
            let mut cf = vec![(fields[0].id.clone(), json!(rng.random_range(0..100)))];
            if rng.random_bool(0.5) {
                cf.push((
                    fields[1].id.clone(),
                    json!(fields[1].picklist_options[rng.random_range(0..3)]),
                ));
            }
            if rng.random_bool(0.3) {
                cf.push((
                    fields[2].id.clone(),
                    json!([fields[2].picklist_options[rng.random_range(0..4)]]),
                ));
            }
            let id = store.ids.next_id();
            let business_id = rng
                .random_bool(0.3)
                .then(|| businesses[rng.random_range(0..businesses.len())].id.clone());
            let company_name = business_id
                .as_ref()
                .and_then(|b| businesses.iter().find(|x| &x.id == b))
                .map(|b| b.name.clone());
            let contact = Contact {
                id: id.clone(),
                location_id: loc_id.clone(),
                first_name: Some(first.to_string()),
                last_name: Some(last.to_string()),
                email: Some(format!(
                    "{}.{}{}@example.com",
                    first.to_lowercase(),
                    last.to_lowercase().replace('ü', "u"),
                    li * contacts + ci
                )),
                phone: Some(format!("+1555{:07}", (li * contacts + ci) % 10_000_000)),
                company_name,
                address1: Some(format!(
                    "{} {} Ave",
                    rng.random_range(1..9999),
                    pick(&mut rng, LAST)
                )),
                city: Some(city.into()),
                state: Some(state.into()),
                postal_code: Some(format!("{:05}", rng.random_range(10000..99999))),
                country: Some(country.into()),
                timezone: Some("America/Chicago".into()),
                source: Some(pick(&mut rng, SOURCES).into()),
                assigned_to: Some(users[rng.random_range(0..users.len())].clone()),
                contact_type: if rng.random_bool(0.7) {
                    "lead".into()
                } else {
                    "customer".into()
                },
                dnd: rng.random_bool(0.05),
                dnd_settings: Map::new(),
                tags,
                custom_fields: cf,
                business_id,
                date_added: added,
                date_updated: updated,
                ..Default::default()
            };
            for _ in 0..rng.random_range(0..3) {
                let t = Task {
                    id: store.ids.next_id(),
                    contact_id: id.clone(),
                    location_id: loc_id.clone(),
                    title: pick(&mut rng, TASK_TITLES).into(),
                    body: Some(format!("Regarding {first} {last}")),
                    due_date: super::model::iso(updated + Duration::days(rng.random_range(1..30))),
                    completed: rng.random_bool(0.3),
                    assigned_to: Some(users[rng.random_range(0..users.len())].clone()),
                    date_added: updated,
                    date_updated: updated,
                };
                store.tasks.entry(id.clone()).or_default().push(t);
            }
            for _ in 0..rng.random_range(0..3) {
                let n = Note {
                    id: store.ids.next_id(),
                    contact_id: id.clone(),
                    location_id: loc_id.clone(),
                    body: pick(&mut rng, NOTE_BODIES).into(),
                    user_id: Some(users[rng.random_range(0..users.len())].clone()),
                    title: None,
                    color: None,
                    pinned: false,
                    date_added: updated,
                };
                store.notes.entry(id.clone()).or_default().push(n);
            }
            if rng.random_bool(0.2) {
                let start = updated + Duration::days(rng.random_range(1..20));
                let a = Appointment {
                    id: store.ids.next_id(),
                    contact_id: id.clone(),
                    location_id: loc_id.clone(),
                    calendar_id: format!("cal-{loc_id}"),
                    title: format!("Intro call with {first}"),
                    status: "booked".into(),
                    appointment_status: "confirmed".into(),
                    assigned_user_id: Some(users[0].clone()),
                    notes: None,
                    address: Some("https://meet.example.com/intro".into()),
                    start_time: super::model::iso(start),
                    end_time: super::model::iso(start + Duration::minutes(30)),
                    users: vec![users[0].clone()],
                    date_added: updated,
                    date_updated: updated,
                };
                store.appointments.entry(id.clone()).or_default().push(a);
            }
            store.put_contact(contact);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let make = |seed| {
            let mut s = Store::new(seed);
            generate(&mut s, seed, 2, 30);
            let mut ids: Vec<String> = s.contacts.keys().cloned().collect();
            ids.sort();
            (ids, s.counts())
        };
        assert_eq!(make(7), make(7));
        assert_ne!(make(7).0, make(8).0);
        assert_eq!(make(7).1["contacts"], 60);
    }
}
