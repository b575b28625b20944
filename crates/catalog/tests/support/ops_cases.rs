//! Cases of GHL's 32 operations through `call`: each runs the entry's snippet by hand for a
//! contact (or task, note) and checks what changed in the sandbox, or what the answer fed to a
//! later step. `once` operations run twice and must act once.

use catalog::Entry;
use connectors::EntityKind::{Contact, Note, Task};
use serde_json::{json, Value};

use super::cases::CaseFn;
use super::{obj, rec, unique, World};
use crate::case;

pub fn cases() -> Vec<(String, CaseFn)> {
    let v: Vec<(&str, CaseFn)> = vec![
        ("search-contacts-advanced", case!(search)),
        ("get-duplicate-contact", case!(duplicate)),
        ("get-all-tasks", case!(all_tasks)),
        ("create-task", case!(create_task)),
        ("get-task", case!(get_task)),
        ("update-task", case!(update_task)),
        ("delete-task", case!(delete_task)),
        ("update-task-completed", case!(task_completed)),
        ("get-appointments-for-contact", case!(appointments)),
        ("add-tags", case!(add_tags)),
        ("remove-tags", case!(remove_tags)),
        ("get-all-notes", case!(all_notes)),
        ("create-note", case!(create_note)),
        ("get-note", case!(get_note)),
        ("update-note", case!(update_note)),
        ("delete-note", case!(delete_note)),
        ("create-association", case!(bulk_tags)),
        ("add-remove-contact-from-business", case!(business)),
        ("get-contact", case!(get_contact)),
        ("update-contact", case!(update_contact)),
        ("delete-contact", case!(delete_contact)),
        ("upsert-contact", case!(upsert_contact)),
        ("get-contacts-by-businessId", case!(business_contacts)),
        ("add-followers-contact", case!(add_followers)),
        ("remove-followers-contact", case!(remove_followers)),
        ("add-contact-to-campaign", case!(add_campaign)),
        ("remove-contact-from-campaign", case!(remove_campaign)),
        (
            "remove-contact-from-every-campaign",
            case!(remove_campaigns),
        ),
        ("add-contact-to-workflow", case!(add_workflow)),
        ("delete-contact-from-workflow", case!(remove_workflow)),
        ("create-contact", case!(create_contact)),
        ("get-contacts", case!(legacy_list)),
    ];
    v.into_iter()
        .map(|(k, c)| (format!("ghl.action.{k}"), c))
        .collect()
}

/// A GHL contact with these extra fields; returns its id.
fn contact(w: &World, extra: Value) -> String {
    let mut body = obj(
        json!({"firstName": "Ann", "lastName": "Op", "email": format!("{}@example.com", unique("op"))}),
    );
    body.extend(obj(extra));
    w.ghl_contact(Value::Object(body))
}

/// Runs the entry's flow by hand for the GHL contact.
async fn run_for(w: &World, e: &Entry, c: &str) {
    let eng = w.engine(e);
    w.manual(&eng, rec("ghl", Contact, c, None)).await;
}

fn edit(w: &World, c: &str, f: impl FnOnce(&mut ghl_sandbox::ghl::model::Contact)) {
    let mut s = w.ghl.state.store.write();
    f(s.contacts.get_mut(c).expect("contact"));
}

/// Requests the sandbox served for `method path`.
async fn served(w: &World, method: &str, path: &str) -> usize {
    let v: Value = reqwest::get(format!("{}/_sandbox/requests?limit=100000", w.ghl.base_url))
        .await
        .expect("log")
        .json()
        .await
        .expect("json");
    v["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["method"] == method && r["path"] == path)
        .count()
}

async fn search(w: &World, e: &Entry) {
    let c = contact(w, json!({}));
    run_for(w, e, &c).await;
    assert_eq!(w.ghl_notes(&c), ["Contacts with this email: 1"]);
}

async fn duplicate(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (known, email) = w.person("your_app", "Known").await;
    w.ghl_contact(json!({"email": email}));
    let (fresh, _) = w.person("your_app", "Fresh").await;
    w.manual(&eng, rec("your_app", Contact, &known, None)).await;
    w.manual(&eng, rec("your_app", Contact, &fresh, None)).await;
    assert!(w
        .tags("your_app", &known)
        .await
        .contains(&"ghl-known".to_string()));
    assert!(w
        .tags("your_app", &fresh)
        .await
        .contains(&"ghl-new".to_string()));
}

async fn all_tasks(w: &World, e: &Entry) {
    let c = contact(w, json!({}));
    w.ghl_task(&c, "One");
    w.ghl_task(&c, "Two");
    run_for(w, e, &c).await;
    assert_eq!(w.ghl_notes(&c), ["2 tasks"]);
}

async fn create_task(w: &World, e: &Entry) {
    let c = contact(w, json!({}));
    let eng = w.engine(e);
    w.manual(&eng, rec("ghl", Contact, &c, None)).await;
    w.manual(&eng, rec("ghl", Contact, &c, None)).await;
    let tasks = w.ghl_tasks(&c);
    assert_eq!(tasks.len(), 1, "once per contact");
    assert_eq!(tasks[0].title, "Follow up with Ann");
}

async fn get_task(w: &World, e: &Entry) {
    let c = contact(w, json!({}));
    w.ghl_task(&c, "Intro");
    run_for(w, e, &c).await;
    assert_eq!(w.ghl_notes(&c), ["First task: Intro"]);
}

async fn run_for_task(w: &World, e: &Entry, c: &str, t: &str) {
    let eng = w.engine(e);
    w.manual(&eng, rec("ghl", Task, t, Some(c))).await;
}

async fn update_task(w: &World, e: &Entry) {
    let c = contact(w, json!({}));
    let t = w.ghl_task(&c, "Kickoff");
    run_for_task(w, e, &c, &t).await;
    assert_eq!(
        w.ghl_tasks(&c)[0].body.as_deref(),
        Some("Agenda for Kickoff")
    );
}

async fn delete_task(w: &World, e: &Entry) {
    let c = contact(w, json!({}));
    let t = w.ghl_task(&c, "Finished");
    w.ghl
        .state
        .update_task(&c, &t, &obj(json!({"completed": true})))
        .expect("complete");
    let eng = w.engine(e);
    w.manual(&eng, rec("ghl", Task, &t, Some(&c))).await;
    assert!(w.ghl_tasks(&c).is_empty());
}

async fn task_completed(w: &World, e: &Entry) {
    let c = contact(w, json!({}));
    let t = w.ghl_task(&c, "[fyi] new prices");
    run_for_task(w, e, &c, &t).await;
    assert!(w.ghl_tasks(&c)[0].completed);
}

async fn appointments(w: &World, e: &Entry) {
    let c = contact(w, json!({}));
    w.ghl_appointment(&c, "Visit");
    run_for(w, e, &c).await;
    assert_eq!(w.ghl_notes(&c), ["1 appointments"]);
}

async fn add_tags(w: &World, e: &Entry) {
    let c = contact(w, json!({}));
    run_for(w, e, &c).await;
    assert_eq!(w.ghl_tags(&c), ["new-lead"]);
}

async fn remove_tags(w: &World, e: &Entry) {
    let c = contact(w, json!({"tags": ["client", "lead"]}));
    run_for(w, e, &c).await;
    assert_eq!(w.ghl_tags(&c), ["client"]);
}

async fn all_notes(w: &World, e: &Entry) {
    let c = contact(w, json!({}));
    w.ghl_note(&c, "a");
    w.ghl_note(&c, "b");
    run_for(w, e, &c).await;
    assert_eq!(w.ghl_tags(&c), ["api-notes-2"]);
}

async fn create_note(w: &World, e: &Entry) {
    let c = contact(w, json!({}));
    let eng = w.engine(e);
    w.manual(&eng, rec("ghl", Contact, &c, None)).await;
    w.manual(&eng, rec("ghl", Contact, &c, None)).await;
    let notes = w.ghl.state.notes_of(&c);
    assert_eq!(notes.len(), 1, "once per contact");
    assert_eq!(
        (notes[0].body.as_str(), notes[0].pinned),
        ("Welcome Ann!", true)
    );
}

async fn get_note(w: &World, e: &Entry) {
    let c = contact(w, json!({}));
    w.ghl_note(&c, "Hi there");
    run_for(w, e, &c).await;
    assert!(w.ghl_notes(&c).contains(&"Copy: Hi there".to_string()));
}

async fn update_note(w: &World, e: &Entry) {
    let c = contact(w, json!({}));
    let n = w.ghl_note(&c, "Call me");
    let eng = w.engine(e);
    w.manual(&eng, rec("ghl", Note, &n, Some(&c))).await;
    assert_eq!(w.ghl_notes(&c), ["Call me (checked)"]);
}

async fn delete_note(w: &World, e: &Entry) {
    let c = contact(w, json!({}));
    let n = w.ghl_note(&c, "[spam] cheap pills");
    let eng = w.engine(e);
    w.manual(&eng, rec("ghl", Note, &n, Some(&c))).await;
    assert!(w.ghl_notes(&c).is_empty());
}

async fn bulk_tags(w: &World, e: &Entry) {
    let c = contact(w, json!({}));
    run_for(w, e, &c).await;
    assert_eq!(w.ghl_tags(&c), ["bulk-tagged"]);
}

async fn business(w: &World, e: &Entry) {
    let c = contact(w, json!({"tags": ["key-account"]}));
    run_for(w, e, &c).await;
    let biz = w.ghl_get(&c).and_then(|c| c.business_id);
    assert_eq!(biz.as_deref(), Some("biz_key_accounts"));
}

async fn get_contact(w: &World, e: &Entry) {
    let c = contact(w, json!({}));
    run_for(w, e, &c).await;
    let kind = w.ghl_get(&c).expect("contact").contact_type;
    assert!(!kind.is_empty());
    assert_eq!(w.ghl_notes(&c), [format!("GHL type: {kind}")]);
}

async fn update_contact(w: &World, e: &Entry) {
    let c = contact(w, json!({}));
    run_for(w, e, &c).await;
    assert_eq!(
        w.ghl_get(&c).and_then(|c| c.city).as_deref(),
        Some("Lisbon")
    );
}

async fn delete_contact(w: &World, e: &Entry) {
    let c = contact(w, json!({"tags": ["delete-me"]}));
    run_for(w, e, &c).await;
    assert!(w.ghl_get(&c).is_none());
}

async fn upsert_contact(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (id, email) = w.person("your_app", "Upsy").await;
    w.manual(&eng, rec("your_app", Contact, &id, None)).await;
    w.manual(&eng, rec("your_app", Contact, &id, None)).await;
    let found = w
        .ghl
        .state
        .store
        .read()
        .contacts_with_email(&w.ghl.location_id(), &email);
    assert_eq!(found.len(), 1);
    let c = w.ghl_get(&found[0]).expect("contact");
    assert_eq!(
        (c.first_name.as_deref(), c.source.as_deref()),
        (Some("Upsy"), Some("your-app"))
    );
}

async fn business_contacts(w: &World, e: &Entry) {
    let c = contact(w, json!({}));
    let biz = unique("biz_");
    w.ghl.state.set_business(&c, Some(biz));
    run_for(w, e, &c).await;
    assert_eq!(w.ghl_notes(&c), ["1 contacts in this business"]);
}

async fn add_followers(w: &World, e: &Entry) {
    let c = contact(w, json!({}));
    run_for(w, e, &c).await;
    assert_eq!(w.ghl_get(&c).expect("c").followers, ["user_sales_lead"]);
}

async fn remove_followers(w: &World, e: &Entry) {
    let c = contact(w, json!({"tags": ["client"]}));
    edit(w, &c, |x| {
        x.followers = vec!["user_sales_lead".into(), "user_cs".into()]
    });
    run_for(w, e, &c).await;
    assert_eq!(w.ghl_get(&c).expect("c").followers, ["user_cs"]);
}

async fn add_campaign(w: &World, e: &Entry) {
    let c = contact(w, json!({"tags": ["lead"]}));
    run_for(w, e, &c).await;
    assert_eq!(w.ghl_get(&c).expect("c").campaigns, ["nurture"]);
}

async fn remove_campaign(w: &World, e: &Entry) {
    let c = contact(w, json!({"tags": ["client"]}));
    edit(w, &c, |x| {
        x.campaigns = vec!["nurture".into(), "newsletter".into()]
    });
    run_for(w, e, &c).await;
    assert_eq!(w.ghl_get(&c).expect("c").campaigns, ["newsletter"]);
}

async fn remove_campaigns(w: &World, e: &Entry) {
    let c = contact(w, json!({"dnd": true}));
    edit(w, &c, |x| {
        x.campaigns = vec!["nurture".into(), "newsletter".into()]
    });
    run_for(w, e, &c).await;
    assert!(w.ghl_get(&c).expect("c").campaigns.is_empty());
}

async fn add_workflow(w: &World, e: &Entry) {
    let c = contact(w, json!({"tags": ["client"]}));
    let eng = w.engine(e);
    w.manual(&eng, rec("ghl", Contact, &c, None)).await;
    w.manual(&eng, rec("ghl", Contact, &c, None)).await;
    assert_eq!(w.ghl_get(&c).expect("c").workflows, ["wf_onboarding"]);
    let path = format!("/contacts/{c}/workflow/wf_onboarding");
    assert_eq!(served(w, "POST", &path).await, 1, "enrolled once");
}

async fn remove_workflow(w: &World, e: &Entry) {
    let c = contact(w, json!({"tags": ["churned"]}));
    edit(w, &c, |x| x.workflows = vec!["wf_onboarding".into()]);
    run_for(w, e, &c).await;
    assert!(w.ghl_get(&c).expect("c").workflows.is_empty());
}

async fn create_contact(w: &World, e: &Entry) {
    let eng = w.engine(e);
    let (id, email) = w.person("your_app", "Neo").await;
    w.manual(&eng, rec("your_app", Contact, &id, None)).await;
    w.manual(&eng, rec("your_app", Contact, &id, None)).await;
    let found = w
        .ghl
        .state
        .store
        .read()
        .contacts_with_email(&w.ghl.location_id(), &email);
    assert_eq!(found.len(), 1, "created once");
}

async fn legacy_list(w: &World, e: &Entry) {
    let c = contact(w, json!({}));
    run_for(w, e, &c).await;
    assert_eq!(w.ghl_notes(&c), ["Legacy list found 1"]);
}
