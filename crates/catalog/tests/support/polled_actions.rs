//! Action cases of Insightly and SalesNexus: manual runs of each snippet (twice where the
//! action promises to act once), effects read back from the emulator, never through the
//! connector under test.

use catalog::Entry;
use connectors::EntityKind::{self, Business, Contact};
use serde_json::{json, Value};

use super::polled_cases::name_of;
use super::{rec, unique, World};

/// The kind an entry's name ends in (`update_task` → `task`, `create_notes` → `note`).
fn kind_in(e: &Entry) -> &'static str {
    let name = name_of(e);
    ["task", "note", "appointment"]
        .into_iter()
        .find(|k| name.contains(k))
        .unwrap_or("contact")
}

fn entity(kind: &str) -> EntityKind {
    EntityKind::parse(kind).expect("a kind")
}

/// Contacts of `app` whose email is `email`.
async fn contacts_with(w: &World, app: &str, email: &str) -> Vec<Value> {
    match app {
        "insightly" => {
            let q = format!("/Contacts/Search?field_name=EMAIL_ADDRESS&field_value={email}");
            w.ins_list(&q).await
        }
        _ => w.sn_contacts_with(email).await,
    }
}

fn first_name(app: &str, c: &Value) -> String {
    let k = if app == "insightly" {
        "FIRST_NAME"
    } else {
        "firstName"
    };
    c[k].as_str().unwrap_or_default().to_string()
}

pub async fn upsert_contact(w: &World, e: &Entry) {
    let app = e.app;
    let eng = w.engine(e);
    let firm = unique("Firm ");
    let email = format!("{}@example.com", unique("ulla"));
    let g = w.ghl_contact(
        json!({"firstName": "Ulla", "lastName": "Tester", "email": email, "companyName": firm}),
    );
    w.manual(&eng, rec("ghl", Contact, &g, None)).await;
    w.manual(&eng, rec("ghl", Contact, &g, None)).await;
    let found = contacts_with(w, app, &email).await;
    assert_eq!(found.len(), 1, "one {app} contact for {email}: {found:?}");
    assert_eq!(first_name(app, &found[0]), "Ulla");
    if app == "insightly" {
        let org = found[0]["ORGANISATION_ID"]
            .as_i64()
            .expect("an organisation");
        let org = w.ins_get("business", &org.to_string()).await.expect("org");
        assert_eq!(org["ORGANISATION_NAME"], firm.as_str());
        assert_eq!(w.ins_orgs_named(&firm).await.len(), 1, "one {firm}");
    } else {
        assert_eq!(found[0]["company"], firm.as_str());
    }
    // A GHL contact without a first name: Insightly's connector writes its placeholder,
    // the SalesNexus snippet maps its default.
    let email = format!("{}@example.com", unique("nameless"));
    let g = w.ghl_contact(json!({"email": email}));
    w.manual(&eng, rec("ghl", Contact, &g, None)).await;
    let found = contacts_with(w, app, &email).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(first_name(app, &found[0]), "(no name)");
}

pub async fn upsert_child(w: &World, e: &Entry) {
    let app = e.app;
    let kind = kind_in(e);
    let eng = w.engine(e);
    let (c, _) = w.p_person(app, "Vic", &[]).await;
    let (g, _) = w.ghl_person("Vic");
    w.link(Contact, (app, &c), ("ghl", &g)).await;
    let id = match kind {
        "task" => w.ghl_task(&g, "Ship it"),
        "note" => w.ghl_note(&g, "Ship it"),
        _ => w.ghl_appointment(&g, "Ship it"),
    };
    w.manual(&eng, rec("ghl", entity(kind), &id, Some(&g)))
        .await;
    w.manual(&eng, rec("ghl", entity(kind), &id, Some(&g)))
        .await;
    let made = w.p_children(app, &c, kind).await;
    assert_eq!(made.len(), 1, "one {kind}: {made:?}");
    assert_eq!(made[0].label, "Ship it");
    match (app, kind) {
        ("insightly", "note") => assert_eq!(made[0].details, "Ship it", "the title"),
        ("insightly", "appointment") => {
            assert_eq!(made[0].raw["START_DATE_UTC"], "2030-01-02 10:00:00");
            assert_eq!(made[0].raw["END_DATE_UTC"], "2030-01-02 10:30:00");
        }
        ("salesnexus", "appointment") => {
            assert_eq!(made[0].raw["type"], "Meeting");
            assert_eq!(made[0].raw["dateFrom"], "2030-01-02T10:00:00Z");
        }
        _ => {}
    }
}

pub async fn upsert_business(w: &World, e: &Entry) {
    let eng = w.engine(e);
    // An organisation of that name exists, spelled differently: it is the one used.
    let name = unique("Acme-");
    let body = json!({"ORGANISATION_NAME": name.to_uppercase()});
    let existing = w.ins_create("business", body).await;
    let g = w.ghl_contact(json!({"firstName": "Olga", "email": format!("{}@example.com", unique("olga")), "companyName": name}));
    w.manual(&eng, rec("ghl", Contact, &g, None)).await;
    w.manual(&eng, rec("ghl", Contact, &g, None)).await;
    let orgs = w.ins_orgs_named(&name).await;
    assert_eq!(orgs.len(), 1, "{orgs:?}");
    assert_eq!(orgs[0]["ORGANISATION_ID"].to_string(), existing);
    // A new name: created once.
    let fresh = unique("Brand New ");
    let g = w.ghl_contact(json!({"firstName": "Pia", "email": format!("{}@example.com", unique("pia")), "companyName": fresh}));
    w.manual(&eng, rec("ghl", Contact, &g, None)).await;
    w.manual(&eng, rec("ghl", Contact, &g, None)).await;
    let orgs = w.ins_orgs_named(&fresh).await;
    assert_eq!(orgs.len(), 1, "{orgs:?}");
    assert_eq!(orgs[0]["ORGANISATION_NAME"], fresh.as_str());
}

pub async fn update_contact(w: &World, e: &Entry) {
    let app = e.app;
    let eng = w.engine(e);
    let (c, _) = w.p_person(app, "Wim", &[]).await;
    w.manual(&eng, rec(app, Contact, &c, None)).await;
    assert_eq!(w.p_city(app, &c).await, "Unknown");
    let (rome, _) = w.p_person(app, "Rita", &[]).await;
    w.p_set_city(app, &rome, "Rome").await;
    let writes = w.p_writes(app).await;
    w.manual(&eng, rec(app, Contact, &rome, None)).await;
    assert_eq!(w.p_city(app, &rome).await, "Rome");
    assert_eq!(w.p_writes(app).await, writes, "nothing differed: no write");
}

pub async fn update_child(w: &World, e: &Entry) {
    let app = e.app;
    let kind = kind_in(e);
    let eng = w.engine(e);
    let (c, _) = w.p_person(app, "Xan", &[]).await;
    let id = w.p_child(app, &c, kind, "Hello").await;
    let mut writes = w.p_writes(app).await;
    for run in 0..2 {
        w.manual(&eng, rec(app, entity(kind), &id, Some(&c))).await;
        let got = w.p_item(app, kind, &id).await.expect("the record");
        match kind {
            "task" => assert_eq!(got.details, "Checked by ghl-bridge"),
            // Once: the filter skips a note already reviewed.
            "note" => assert_eq!(got.label, "Hello (reviewed)"),
            _ => assert_eq!(got.details, "Confirmed by ghl-bridge"),
        }
        let now = w.p_writes(app).await;
        match run {
            0 => assert!(now > writes, "the first run wrote"),
            _ => assert_eq!(now, writes, "the second run writes nothing"),
        }
        writes = now;
    }
}

pub async fn update_business(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let id = w
        .ins_create("business", json!({"ORGANISATION_NAME": unique("Web Org ")}))
        .await;
    w.manual(&eng, rec("insightly", Business, &id, None)).await;
    let got = w.ins_get("business", &id).await.expect("org");
    assert_eq!(
        got["WEBSITE"],
        format!("https://example.com/organisations/{id}")
    );
    let body = json!({"ORGANISATION_NAME": unique("Own Site "), "WEBSITE": "https://mine.example"});
    let own = w.ins_create("business", body).await;
    w.manual(&eng, rec("insightly", Business, &own, None)).await;
    let got = w.ins_get("business", &own).await.expect("org");
    assert_eq!(got["WEBSITE"], "https://mine.example", "the filter kept it");
}

pub async fn create_related(w: &World, e: &Entry) {
    let app = e.app;
    let kind = kind_in(e);
    let eng = w.engine(e);
    let (c, _) = w.p_person(app, "Yuri", &[]).await;
    w.manual(&eng, rec(app, Contact, &c, None)).await;
    w.manual(&eng, rec(app, Contact, &c, None)).await;
    let made = w.p_children(app, &c, kind).await;
    assert_eq!(made.len(), 1, "once per contact: {made:?}");
    let want = match kind {
        "task" => "Welcome call with Yuri",
        "note" => "Onboarding checklist for Yuri",
        _ => "Kickoff with Yuri",
    };
    assert_eq!(made[0].label, want);
    match (app, kind) {
        ("insightly", "appointment") => {
            assert_eq!(made[0].raw["START_DATE_UTC"], "2030-01-07 10:00:00")
        }
        ("salesnexus", "appointment") => {
            assert_eq!(made[0].raw["dateFrom"], "2030-01-07T10:00:00Z")
        }
        (_, "task") => assert!(!made[0].done),
        _ => {}
    }
}

pub async fn add_note(w: &World, e: &Entry) {
    let app = e.app;
    let eng = w.engine(e);
    let (c, _) = w.p_person(app, "Zoe", &[]).await;
    w.manual(&eng, rec(app, Contact, &c, None)).await;
    w.manual(&eng, rec(app, Contact, &c, None)).await;
    assert_eq!(w.p_notes(app, &c).await, ["Seen by ghl-bridge: Zoe Tester"]);
}

async fn done(w: &World, app: &str, task: &str) -> bool {
    w.p_item(app, "task", task).await.expect("task").done
}

pub async fn complete_task(w: &World, e: &Entry) {
    let app = e.app;
    let eng = w.engine(e);
    let (c, _) = w.p_person(app, "Abe", &[]).await;
    let t = w.p_child(app, &c, "task", "[auto-close] call back").await;
    let other = w.p_child(app, &c, "task", "Call back").await;
    w.manual(&eng, rec(app, entity("task"), &t, Some(&c))).await;
    w.manual(&eng, rec(app, entity("task"), &other, Some(&c)))
        .await;
    assert!(done(w, app, &t).await, "the triggering task");
    assert!(!done(w, app, &other).await, "the filter skipped it");
}

pub async fn complete_task_by_title(w: &World, e: &Entry) {
    let app = e.app;
    let eng = w.engine(e);
    let (c, _) = w.p_person(app, "Bob", &["onboarded"]).await;
    let t = w.p_child(app, &c, "task", "Welcome call").await;
    let other = w.p_child(app, &c, "task", "Other").await;
    w.manual(&eng, rec(app, Contact, &c, None)).await;
    assert!(done(w, app, &t).await && !done(w, app, &other).await);
}

/// Whether Insightly answered `method` on the contact's tags endpoint.
async fn tag_call(w: &World, method: &str, contact: &str) -> bool {
    let path = format!("/v3.1/Contacts/{contact}/Tags");
    w.ins_requests()
        .await
        .iter()
        .any(|(m, p)| m == method && *p == path)
}

pub async fn add_tags(w: &World, e: &Entry) {
    let app = e.app;
    let eng = w.engine(e);
    let (c, _) = w.p_person(app, "Cid", &["vip"]).await;
    w.manual(&eng, rec(app, Contact, &c, None)).await;
    assert_eq!(w.p_tags(app, &c).await, ["vip", "prospect"]);
    if app == "insightly" {
        assert!(tag_call(w, "POST", &c).await, "one POST per tag");
    }
}

pub async fn remove_tags(w: &World, e: &Entry) {
    let app = e.app;
    let eng = w.engine(e);
    let (c, _) = w.p_person(app, "Dot", &["customer", "prospect"]).await;
    w.manual(&eng, rec(app, Contact, &c, None)).await;
    assert_eq!(w.p_tags(app, &c).await, ["customer"]);
    if app == "insightly" {
        assert!(tag_call(w, "DELETE", &c).await, "one DELETE per tag");
    }
}

pub async fn fetch(w: &World, e: &Entry) {
    let app = e.app;
    let eng = w.engine(e);
    let (c, _) = w.p_person(app, "Eli", &[]).await;
    match name_of(e) {
        "fetch_tasks" => {
            w.p_child(app, &c, "task", "Alpha").await;
            let beta = w.p_child(app, &c, "task", "Beta").await;
            w.p_complete(app, &beta).await;
            w.p_child(app, &c, "appointment", "Not a task").await;
            w.manual(&eng, rec(app, Contact, &c, None)).await;
            assert_eq!(w.p_notes(app, &c).await, ["Open tasks: Alpha"]);
        }
        "fetch_notes" => {
            w.p_child(app, &c, "note", "one").await;
            w.p_child(app, &c, "note", "two").await;
            w.manual(&eng, rec(app, Contact, &c, None)).await;
            assert_eq!(w.p_tags(app, &c).await, ["notes-2"]);
        }
        _ => {
            w.p_child(app, &c, "appointment", "Demo").await;
            w.p_child(app, &c, "task", "Not a meeting").await;
            w.manual(&eng, rec(app, Contact, &c, None)).await;
            assert_eq!(w.p_notes(app, &c).await, ["Appointments: Demo"]);
        }
    }
}
