//! The Audit and People pages over real HTTP: the dashboard and the server share an AppState
//! on a real SQLite store, whose connections are the GHL sandbox and the Your App REST
//! emulator; real sync passes write the audit rows and the identity links the pages show.
//! Checked: the audit filters narrow the rows, record diffs show the old and the new value,
//! search finds a person held by both apps, the timeline lists entries from both apps, the CSV
//! downloads (the person's and everyone's), and values from the apps are HTML-escaped.

mod support;

use std::collections::BTreeSet;

use engine::runtime::Engine;
use serde_json::json;
use support::object;

const TOKEN: &str = "dashboard-test-token";
const FLOW: &str = "ghl and crm";
const EVIL: &str = "<script>alert(1)</script>";

async fn pass(engine: &Engine) {
    for _ in 0..2 {
        engine.poll_once().await.expect("poll");
        engine.reconcile_once().await.expect("reconcile");
        engine.run_until_idle().await.expect("jobs");
    }
    let stats = engine.store.queue_stats().await.expect("stats");
    assert_eq!(stats.dead, 0, "{stats:?}");
}

/// The emulators, project, engine and signed-in client, with one two-way contact, task and
/// note sync between GHL and the CRM.
async fn world() -> support::World {
    let flow = format!(
            "name: {FLOW}\nsync:\n  source: ghl\n  target: crm\n  direction: two_way\n  kinds: [contact, task, note]\n  match: {{contact: [email]}}\n"
        );
    support::world_with(TOKEN, "a.yaml", &flow).await
}

/// An attribute value as the browser reads it (the templates escape `/` and `&`).
fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/").replace("&amp;", "&")
}

/// The element with this id and everything up to its closing tag (`tag`), e.g. a table.
fn element<'a>(html: &'a str, tag: &str, id: &str) -> Option<&'a str> {
    let start = html.find(&format!("<{tag} id=\"{id}\""))?;
    let end = html[start..].find(&format!("</{tag}>"))? + start;
    Some(&html[start..end])
}

/// The rows of a table that carry `attr` (`data-call-id`, …), each up to the next such row
/// (rows of record changes hold a nested diff table).
fn rows<'a>(table: &'a str, attr: &str) -> Vec<&'a str> {
    let marker = format!("<tr {attr}=");
    let starts: Vec<usize> = table.match_indices(&marker).map(|(i, _)| i).collect();
    starts
        .iter()
        .enumerate()
        .map(|(n, &i)| &table[i..starts.get(n + 1).copied().unwrap_or(table.len())])
        .collect()
}

/// The record-changes table, nested diff tables included.
fn changes_table(html: &str) -> &str {
    let start = html.find("id=\"audit-changes\"").expect("changes table");
    let end = html[start..]
        .find("id=\"calls-heading\"")
        .expect("calls section")
        + start;
    &html[start..end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_and_people_pages_show_the_synced_apps() {
    let w = world().await;
    let loc = w.ghl.location_id();
    let ada = w
        .ghl
        .state
        .create_contact(
            &loc,
            &object(
                json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
                           "phone": "+14155550123", "tags": ["vip"]}),
            ),
        )
        .expect("ada")
        .id;
    w.ghl
        .state
        .create_task(
            &ada,
            &object(json!({"title": "Send the deck", "dueDate": "2030-01-02T03:04:05Z"})),
        )
        .expect("task");
    w.ghl
        .state
        .create_note(&ada, &object(json!({"body": "Met at the fair"})))
        .expect("note");
    w.ghl
        .state
        .create_contact(
            &loc,
            &object(json!({"firstName": EVIL, "email": "evil@example.com"})),
        )
        .expect("evil");
    pass(&w.engine).await;
    // An edit in GHL reaches the CRM as an update: a diff with an old and a new value.
    w.ghl
        .state
        .update_contact(&ada, &object(json!({"firstName": "Adaline"})), false)
        .expect("edit");
    pass(&w.engine).await;

    // --- Audit ---
    let (status, all) = w.get("/ui/audit?limit=1000").await;
    assert_eq!(status, 200, "{all}");
    let calls = element(&all, "table", "audit-calls").expect("calls table");
    let all_calls = rows(calls, "data-call-id");
    let conns: BTreeSet<&str> = all_calls
        .iter()
        .map(|r| if r.contains(">crm <") { "crm" } else { "ghl" })
        .collect();
    assert_eq!(conns.len(), 2, "calls to both apps are listed");
    let changes = changes_table(&all);
    let change_rows = rows(changes, "data-change-id");
    let update = change_rows
        .iter()
        .find(|r| r.contains("Adaline") && r.contains(">update<"))
        .expect("the edit is an update change");
    assert!(update.contains(FLOW), "the change names its flow: {update}");
    assert!(
        update.contains("<td class=\"diff-old\">Ada</td>")
            && update.contains("<td class=\"diff-new\">Adaline</td>"),
        "old and new values: {update}"
    );
    assert!(
        !update.contains("ada@example.com"),
        "only changed fields are listed: {update}"
    );

    let (_, crm_only) = w.get("/ui/audit?connection=crm&limit=1000").await;
    let crm_calls = rows(
        element(&crm_only, "table", "audit-calls").expect("calls"),
        "data-call-id",
    )
    .len();
    assert!(crm_calls > 0 && crm_calls < all_calls.len(), "{crm_calls}");
    assert!(crm_only.contains("<option value=\"crm\" selected>"));
    let (_, one) = w.get("/ui/audit?limit=1").await;
    assert_eq!(
        rows(
            element(&one, "table", "audit-calls").expect("calls"),
            "data-call-id"
        )
        .len(),
        1
    );
    let (_, other_flow) = w.get("/ui/audit?flow=nope").await;
    assert!(other_flow.contains("id=\"audit-changes-empty\""));
    let (_, future) = w.get("/ui/audit?since=2999-01-01T00:00:00Z").await;
    assert!(
        future.contains("id=\"audit-calls-empty\"")
            && future.contains("id=\"audit-changes-empty\"")
    );
    let (status, bad) = w.get("/ui/audit?since=last+tuesday").await;
    assert_eq!(status, 400);
    assert!(
        bad.contains("role=\"alert\"") && bad.contains("Since:"),
        "{bad}"
    );
    let (status, bad) = w.get("/ui/audit?limit=0").await;
    assert_eq!(status, 400);
    assert!(bad.contains("Rows:"), "{bad}");

    // --- People: search ---
    let (status, found) = w.get("/ui/people?q=ada%40example.com").await;
    assert_eq!(status, 200, "{found}");
    let results = element(&found, "div", "people-results").expect("results");
    assert!(results.contains("Adaline Lovelace"), "{results}");
    assert!(
        results.contains(">ghl<") && results.contains(">crm<"),
        "{results}"
    );
    let plain = unescape(results);
    let href_at = plain.find("href=\"/ui/people/").expect("person link") + 6;
    let href = &plain[href_at..href_at + plain[href_at..].find('"').expect("end")];
    // The htmx fragment is the same block, and tells htmx which address to show.
    let r = w.get_raw("/ui/people/results?q=Lovelace").await;
    assert_eq!(r.headers()["hx-push-url"], "/ui/people?q=Lovelace");
    let fragment = r.text().await.expect("body");
    assert!(
        !fragment.contains("<html") && unescape(&fragment).contains(href),
        "{fragment}"
    );
    let (_, by_phone) = w.get("/ui/people?q=%2B1+415+555+0123").await;
    assert!(
        unescape(&by_phone).contains(href),
        "found by phone: {by_phone}"
    );
    let (_, nobody) = w.get("/ui/people?q=nobody%40example.com").await;
    assert!(nobody.contains("id=\"people-empty\""));
    let (status, listing) = w.get("/ui/people").await;
    assert_eq!(status, 200);
    assert!(unescape(&listing).contains(href) && listing.contains("evil@example.com"));

    // --- People: the person page ---
    let (status, person) = w.get(href).await;
    let person = unescape(&person);
    assert_eq!(status, 200, "{person}");
    let records = element(&person, "table", "person-records").expect("side by side");
    assert!(
        records.contains("data-connection=\"ghl\"") && records.contains("data-connection=\"crm\"")
    );
    let timeline = {
        let at = person.find("<div id=\"timeline\"").expect("timeline");
        &person[at..at + person[at..].find("</section>").expect("section end")]
    };
    for kind in ["contact", "tags", "task", "note"] {
        assert!(
            timeline.contains(&format!("data-kind=\"{kind}\"")),
            "{kind} on the timeline: {timeline}"
        );
    }
    assert!(timeline.contains("Send the deck") && timeline.contains("Met at the fair"));
    for conn in ["ghl", "crm"] {
        assert!(
            timeline.contains(&format!("class=\"badge app\" data-connection=\"{conn}\"")),
            "entries from {conn}: {timeline}"
        );
    }
    // From the person to the changes made to their contact.
    let marker = "id=\"person-audit\" href=\"";
    let audit_at = person.find(marker).expect("audit link") + marker.len();
    let audit_href = &person[audit_at..audit_at + person[audit_at..].find('"').unwrap()];
    let (status, theirs) = w.get(audit_href).await;
    assert_eq!(status, 200, "{audit_href}");
    let theirs = rows(changes_table(&theirs), "data-change-id");
    assert!(
        !theirs.is_empty() && theirs.iter().all(|r| r.contains("> contact <")),
        "{theirs:?}"
    );
    let (status, _) = w.get("/ui/audit?person=someone").await;
    assert_eq!(status, 400);
    let export_at = person.find("id=\"export-csv\"").expect("export link");
    let export_href = person[export_at..]
        .split("href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("href");
    let r = w.get_raw(export_href).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let csv = r.text().await.expect("csv");
    assert!(
        // A byte-order mark first, so spreadsheets read the file as UTF-8.
        csv.trim_start_matches('\u{feff}')
            .starts_with("person,name,email,connection,app,kind"),
        "{csv}"
    );
    assert!(csv.contains("ada@example.com") && !csv.contains("evil@example.com"));
    let r = w.get_raw("/ui/people/export.csv").await;
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("filename=\"people.csv\""));
    let everyone = r.text().await.expect("csv");
    assert!(everyone.contains("ada@example.com") && everyone.contains("evil@example.com"));

    // --- Values from the apps are escaped ---
    let (_, evil_search) = w.get("/ui/people?q=evil%40example.com").await;
    let evil_results = element(&evil_search, "div", "people-results").expect("results");
    assert!(
        evil_results.contains("&lt;script&gt;alert(1)"),
        "{evil_results}"
    );
    assert!(!evil_search.contains(EVIL));
    let evil_results = unescape(evil_results);
    let evil_at = evil_results.find("href=\"/ui/people/").expect("link") + 6;
    let evil_href = &evil_results[evil_at..evil_at + evil_results[evil_at..].find('"').unwrap()];
    let (_, evil_page) = w.get(evil_href).await;
    assert!(evil_page.contains("&lt;script&gt;"), "{evil_page}");
    assert!(
        !evil_page.contains(EVIL),
        "the name is escaped on the person page"
    );
    let (_, audit_again) = w.get("/ui/audit?limit=1000").await;
    assert!(!audit_again.contains(EVIL) && audit_again.contains("&lt;script&gt;"));

    // --- A contact no flow has linked yet (created after the last pass) ---
    w.ghl
        .state
        .create_contact(
            &loc,
            &object(json!({"firstName": "Newton", "email": "newton@example.com"})),
        )
        .expect("newton");
    let (_, new_search) = w.get("/ui/people?q=newton%40example.com").await;
    let new_results = unescape(element(&new_search, "div", "people-results").expect("results"));
    let at = new_results
        .find("href=\"/ui/people/contact?connection=ghl&id=")
        .expect("an unlinked contact's page")
        + 6;
    let new_href = &new_results[at..at + new_results[at..].find('"').unwrap()];
    let (status, new_page) = w.get(new_href).await;
    assert_eq!(status, 200, "{new_page}");
    let new_page = unescape(&new_page);
    assert!(new_page.contains("<h1>Newton</h1>") && new_page.contains("id=\"timeline\""));
    let export_at = new_page.find("id=\"export-csv\"").expect("export link");
    let new_export = new_page[export_at..]
        .split("href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("href");
    assert!(
        new_export.starts_with("/ui/people/contact/export.csv?"),
        "{new_export}"
    );
    let r = w.get_raw(new_export).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("csv").contains("newton@example.com"));
    let (status, _) = w.get("/ui/people/contact?connection=ghl").await;
    assert_eq!(status, 400);
    let (status, _) = w.get("/ui/people/999999").await;
    assert_eq!(status, 404);

    // --- Signed out: nothing shows ---
    let r = w
        .http
        .get(format!("{}/ui/people/export.csv", w.base))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 303);
    w.engine.store.close().await;
    w.ghl.shutdown().await;
    drop(w._crm);
}
