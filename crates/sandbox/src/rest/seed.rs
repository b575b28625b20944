//! Deterministic seed data: the same seed, size and profile always give the same contacts,
//! notes, tasks and appointments, ids and timestamps included (dated over the year before
//! 2025-11-01, never "now"), so tests can name seeded records and compare two runs.
//!
//! The profile changes only the flavour: custom fields, tags and wording. InvestNext gets
//! investor-ish data (investor type, accreditation, committed amount); Invoco, whose identity is
//! ambiguous (a UK call-handling firm or a restaurant POS), gets customer-account data.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use super::schema::{defaults, iso, Kind, PRIORITIES, STATUSES};
use super::store::{Record, Store};
use super::Profile;

const FIRST: &[&str] = &[
    "Ava", "Liam", "Olivia", "Noah", "Emma", "Mateo", "Sofia", "Lucas", "Amara", "Ethan", "Priya",
    "Kenji", "Chloe", "Diego", "Fatima", "Jonas", "Grace", "Omar", "Hana", "Leo",
];
const LAST: &[&str] = &[
    "Smith", "Garcia", "Chen", "Okafor", "Mueller", "Rossi", "Patel", "Kim", "Nguyen", "Silva",
    "Johnson", "Dubois", "Kowalski", "Haddad", "Tanaka", "Brown",
];
const PLACES: &[(&str, &str, &str, &str)] = &[
    ("Austin", "TX", "78701", "US"),
    ("Denver", "CO", "80202", "US"),
    ("Toronto", "ON", "M5H 2N2", "CA"),
    ("London", "LDN", "EC1A 1BB", "GB"),
    ("Berlin", "BE", "10115", "DE"),
    ("Phoenix", "AZ", "85004", "US"),
];
const STREETS: &[&str] = &["Main St", "Oak Ave", "Harbor Rd", "King St", "Elm Way"];

/// The wording and custom fields of one profile.
struct Flavour {
    tags: &'static [&'static str],
    companies: &'static [&'static str],
    notes: &'static [&'static str],
    tasks: &'static [&'static str],
    appointments: &'static [&'static str],
    custom: fn(&mut ChaCha8Rng, usize) -> Value,
}

fn pick<'a>(rng: &mut ChaCha8Rng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

fn generic_custom(rng: &mut ChaCha8Rng, _: usize) -> Value {
    json!({
        "lead_source": pick(rng, &["website", "referral", "event", "import"]),
        "plan": pick(rng, &["free", "pro", "enterprise"]),
        "score": rng.random_range(0..100),
    })
}

fn investor_custom(rng: &mut ChaCha8Rng, i: usize) -> Value {
    json!({
        "investor_type": pick(rng, &["Individual", "Entity", "Trust", "IRA"]),
        "accredited": rng.random_bool(0.7),
        "committed_amount": rng.random_range(1..40) * 25_000,
        "investing_account": format!("{} Capital {}", pick(rng, LAST), i + 1),
        "preferred_asset_class": pick(rng, &["Multifamily", "Industrial", "Retail", "Self storage"]),
    })
}

fn account_custom(rng: &mut ChaCha8Rng, i: usize) -> Value {
    json!({
        "account_number": format!("INV-{:06}", 100_000 + i),
        "plan": pick(rng, &["Call Answering Basic", "Call Answering Plus", "Virtual Receptionist"]),
        "monthly_minutes": rng.random_range(1..40) * 50,
        "balance_due": rng.random_range(0..500) * 5,
        "billing_cycle": pick(rng, &["monthly", "annual"]),
    })
}

fn flavour(profile: Profile) -> Flavour {
    match profile {
        Profile::YourApp => Flavour {
            tags: &["lead", "customer", "newsletter", "vip", "trial", "partner"],
            companies: &[
                "Acme Corp",
                "Globex",
                "Initech",
                "Umbrella Ltd",
                "Stark Supply",
            ],
            notes: &[
                "Asked for pricing details.",
                "Prefers email over phone.",
                "Met at the trade show.",
                "Wants a demo next week.",
            ],
            tasks: &[
                "Call back",
                "Send proposal",
                "Follow up on email",
                "Schedule demo",
            ],
            appointments: &["Discovery call", "Product demo", "Quarterly review"],
            custom: generic_custom,
        },
        Profile::InvestNext => Flavour {
            tags: &[
                "investor",
                "accredited",
                "prospect",
                "fund-ii",
                "1031-exchange",
                "newsletter",
            ],
            companies: &[
                "Summit Capital",
                "Oakline Partners",
                "Redwood Family Office",
                "Harbor Trust",
            ],
            notes: &[
                "Reviewed the Fund II deck.",
                "Asked about the distribution schedule.",
                "Interested in the next capital raise.",
                "Sent the quarterly investor update.",
            ],
            tasks: &[
                "Send subscription documents",
                "Verify accreditation",
                "Follow up on capital call",
                "Collect W-9",
            ],
            appointments: &["Investor call", "Property tour", "Capital raise webinar"],
            custom: investor_custom,
        },
        Profile::Invoco => Flavour {
            tags: &[
                "customer",
                "trial",
                "overdue",
                "auto-pay",
                "vip",
                "churn-risk",
            ],
            companies: &[
                "Bright Dental",
                "Kerr Plumbing",
                "Northside Legal",
                "Mesa Realty",
            ],
            notes: &[
                "Asked about call forwarding hours.",
                "Updated the call-handling script.",
                "Disputed last month's invoice.",
                "Wants weekend cover.",
            ],
            tasks: &[
                "Send invoice",
                "Confirm call-handling script",
                "Chase payment",
                "Renew plan",
            ],
            appointments: &["Onboarding call", "Account review", "Script walkthrough"],
            custom: account_custom,
        },
    }
}

fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// A random moment in the year before the base date, at millisecond resolution.
fn past(rng: &mut ChaCha8Rng) -> DateTime<Utc> {
    base_time() - Duration::milliseconds(rng.random_range(86_400_000..365 * 86_400_000))
}

fn record(
    store: &mut Store,
    kind: Kind,
    contact_id: Option<&str>,
    values: Value,
    created_at: DateTime<Utc>,
    rng: &mut ChaCha8Rng,
) -> Record {
    let mut fields = defaults(kind);
    if let Value::Object(values) = values {
        fields.extend(values);
    }
    let updated_at = (created_at + Duration::milliseconds(rng.random_range(0..30 * 86_400_000)))
        .min(base_time());
    Record {
        id: store.new_id(kind),
        kind,
        contact_id: contact_id.map(str::to_string),
        fields,
        created_at,
        updated_at,
        deleted_at: None,
        version: rng.random_range(1..4),
    }
}

fn children(store: &mut Store, rng: &mut ChaCha8Rng, f: &Flavour, contact: &Record) {
    let id = contact.id.as_str();
    for _ in 0..rng.random_range(0..3) {
        let at = contact.created_at + Duration::hours(rng.random_range(1..2_000));
        let body = json!({"body": pick(rng, f.notes)});
        let note = record(store, Kind::Note, Some(id), body, at.min(base_time()), rng);
        store.put(note);
    }
    for _ in 0..rng.random_range(0..3) {
        let at =
            (contact.created_at + Duration::hours(rng.random_range(1..2_000))).min(base_time());
        let due = at + Duration::days(rng.random_range(1..30));
        let values = json!({
            "title": pick(rng, f.tasks),
            "body": format!("{} for {}", pick(rng, f.tasks), contact.fields["first_name"].as_str().unwrap_or("them")),
            "due_at": iso(due),
            "completed": due < base_time() && rng.random_bool(0.6),
            "priority": pick(rng, PRIORITIES),
        });
        let task = record(store, Kind::Task, Some(id), values, at, rng);
        store.put(task);
    }
    if rng.random_bool(0.3) {
        let at =
            (contact.created_at + Duration::hours(rng.random_range(1..2_000))).min(base_time());
        let start =
            at + Duration::days(rng.random_range(1..20)) + Duration::hours(rng.random_range(8..17));
        let values = json!({
            "title": pick(rng, f.appointments),
            "start_at": iso(start),
            "end_at": iso(start + Duration::minutes(30 * rng.random_range(1..4))),
            "status": pick(rng, STATUSES),
            "notes": pick(rng, f.notes),
        });
        let appointment = record(store, Kind::Appointment, Some(id), values, at, rng);
        store.put(appointment);
    }
}

/// Fills an empty store with `contacts` contacts and their notes, tasks and appointments.
/// Emails and phones are unique, so the email-uniqueness rule never trips on seed data.
pub fn generate(store: &mut Store, seed: u64, contacts: usize, profile: Profile) {
    let f = flavour(profile);
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9).wrapping_add(7));
    for i in 0..contacts {
        let (first, last) = (pick(&mut rng, FIRST), pick(&mut rng, LAST));
        let (city, state, postal, country) = PLACES[rng.random_range(0..PLACES.len())];
        let tags: Vec<&str> = f
            .tags
            .iter()
            .copied()
            .filter(|_| rng.random_bool(0.25))
            .collect();
        let company = rng.random_bool(0.6).then(|| pick(&mut rng, f.companies));
        let values = json!({
            "first_name": first,
            "last_name": last,
            "email": format!("{}.{}{}@example.com", first.to_lowercase(), last.to_lowercase(), i + 1),
            "phone": format!("+1555{:07}", 1_000_000 + i),
            "company_name": company,
            "address1": format!("{} {}", rng.random_range(1..999), pick(&mut rng, STREETS)),
            "city": city,
            "state": state,
            "postal_code": postal,
            "country": country,
            "tags": tags,
            "custom_fields": (f.custom)(&mut rng, i),
        });
        let created = past(&mut rng);
        let contact = record(store, Kind::Contact, None, values, created, &mut rng);
        store.put(contact.clone());
        children(store, &mut rng, &f, &contact);
    }
}

/// The custom-field keys a profile's seed contacts carry (for docs and tests).
pub fn custom_field_keys(profile: Profile) -> Vec<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    match (flavour(profile).custom)(&mut rng, 0) {
        Value::Object(m) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}
