//! The unified view over real HTTP on SQLite: a person synced from the GHL sandbox to the Your
//! App emulator (two-way) and to the InvestNext emulator (one-way) shows every app's contact,
//! tasks, notes and tags; linked copies count once in the summary; lookups by email, contact id
//! and identity agree; the list pages; an unreachable app is a problem of its section, not a
//! failure; the CSV exports parse back to exactly the rows, commas, quotes and line breaks
//! included.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use connectors::ghl::{GhlConfig, GhlConnector};
use connectors::your_app::{YourAppConfig, YourAppConnector};
use connectors::{Connector, EntityKind};
use engine::flow::load_project_with;
use engine::runtime::{Engine, EngineOptions};
use engine::store;
use engine::unified::{
    csv, render, table, ExportFormat, ExportKind, Scope, UnifiedView, Who, RECORD_COLUMNS,
};
use ghl_sandbox::ghl::ratelimit::LimitConfig;
use ghl_sandbox::ghl::{GhlConfig as SandboxConfig, GhlSandbox};
use ghl_sandbox::rest::{Profile, RestConfig, RestSandbox};
use serde_json::{json, Map, Value};

const TWO_WAY: &str = "name: ghl and crm
sync:
  source: ghl
  target: crm
  direction: two_way
  kinds: [contact, task, note]
  match: {contact: [email]}
";

/// InvestNext brings its investors into GHL (a second flow into GHL, so one person ends up in
/// three apps).
const FROM_INVESTNEXT: &str = "name: investnext to ghl
sync:
  source: inv
  target: ghl
  kinds: [contact]
  match: {contact: [email]}
  mapping:
    contact:
      - {to: email, from: email}
      - {to: first_name, from: first_name}
";

struct World {
    ghl: GhlSandbox,
    crm: RestSandbox,
    inv: Option<RestSandbox>,
    engine: Engine,
    _dir: tempfile::TempDir,
}

fn object(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

async fn world() -> World {
    let ghl = GhlSandbox::start(SandboxConfig {
        contacts: 0,
        limits: LimitConfig {
            burst_max: 100_000,
            burst_interval_ms: 10_000,
            daily_max: 10_000_000,
        },
        ..Default::default()
    })
    .await
    .expect("ghl sandbox");
    let rest = |profile| {
        RestSandbox::start(RestConfig {
            profile,
            contacts: 0,
            ..Default::default()
        })
    };
    let crm = rest(Profile::YourApp).await.expect("crm");
    let inv = rest(Profile::InvestNext).await.expect("investnext");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("flows")).expect("flows dir");
    std::fs::write(dir.path().join("flows/a.yaml"), TWO_WAY).expect("flow");
    std::fs::write(dir.path().join("flows/b.yaml"), FROM_INVESTNEXT).expect("flow");
    let file = dir.path().join("ghl-bridge.yaml");
    std::fs::write(
        &file,
        "version: 1\nconnections:\n  ghl: {app: ghl}\n  crm: {app: your_app}\n  inv: {app: investnext}\n",
    )
    .expect("project");
    let project = load_project_with(&file, &|_: &str| None).expect("project loads");
    let mut connectors: BTreeMap<String, Arc<dyn Connector>> = BTreeMap::new();
    connectors.insert(
        "ghl".into(),
        Arc::new(
            GhlConnector::new(GhlConfig::private_integration(
                &ghl.base_url,
                ghl.location_id(),
                ghl.token(),
            ))
            .expect("ghl connector"),
        ),
    );
    for (name, sb, profile) in [("crm", &crm, "your_app"), ("inv", &inv, "investnext")] {
        let config = YourAppConfig::profile(profile, sb.api_url(), sb.api_key()).expect("profile");
        connectors.insert(
            name.into(),
            Arc::new(YourAppConnector::new(config).expect("rest connector")),
        );
    }
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("e.db").display());
    let store = store::open(&db).await.expect("store");
    let connectors = engine::audit::audited(connectors, &store);
    let engine = Engine {
        store,
        flows: project.flows,
        connectors,
        options: EngineOptions::default(),
    };
    World {
        ghl,
        crm,
        inv: Some(inv),
        engine,
        _dir: dir,
    }
}

const TASK_TITLE: &str = "Call, then \"email\"";
const TASK_BODY: &str = "line one\nline two, with a comma";
const NOTE_BODY: &str = "He said \"yes\", then left.\r\nSecond line";
const INV_TASK: &str = "Send subscription documents";
const INV_NOTE: &str = "Reviewed the Fund II deck; \"A\" class, 50,000";

/// An admin call to a REST emulator ("a person in the app"); returns the record.
async fn rest_admin(sb: &RestSandbox, path: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{}/_sandbox{path}", sb.base_url))
        .json(&body)
        .send()
        .await
        .expect("admin call")
        .error_for_status()
        .expect("admin call succeeds")
        .json()
        .await
        .expect("JSON")
}

/// Ada in GHL with a task and a note, and in InvestNext with a task and a note of her own; Bob
/// in GHL only; Cy in the CRM only. Then full passes until everything is linked.
async fn seed(w: &World) -> (String, String) {
    let loc = w.ghl.location_id();
    let ada = w
        .ghl
        .state
        .create_contact(
            &loc,
            &object(
                json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
                           "phone": "+14155550123", "tags": ["vip", "investor"]}),
            ),
        )
        .expect("ada")
        .id;
    let task = w
        .ghl
        .state
        .create_task(
            &ada,
            &object(
                json!({"title": TASK_TITLE, "body": TASK_BODY, "dueDate": "2020-01-02T03:04:05Z"}),
            ),
        )
        .expect("task")
        .id;
    w.ghl
        .state
        .create_note(&ada, &object(json!({"body": NOTE_BODY})))
        .expect("note");
    let inv = w.inv.as_ref().expect("investnext runs");
    let inv_ada = rest_admin(
        inv,
        "/contacts",
        json!({"first_name": "Ada", "email": "ada@example.com"}),
    )
    .await;
    let inv_ada = inv_ada["id"].as_str().expect("id").to_string();
    rest_admin(
        inv,
        &format!("/contacts/{inv_ada}/tasks"),
        json!({"title": INV_TASK, "due_at": "2031-01-01T00:00:00Z"}),
    )
    .await;
    rest_admin(
        inv,
        &format!("/contacts/{inv_ada}/notes"),
        json!({"body": INV_NOTE}),
    )
    .await;
    w.ghl
        .state
        .create_contact(
            &loc,
            &object(json!({"firstName": "Bob", "email": "bob@example.com"})),
        )
        .expect("bob");
    rest_admin(
        &w.crm,
        "/contacts",
        json!({"first_name": "Cy", "email": "cy@example.com", "tags": ["=HYPERLINK(\"x\")"]}),
    )
    .await;
    // Tasks and notes need their contact linked first: the second pass catches any that waited.
    for _ in 0..2 {
        w.engine.poll_once().await.expect("poll");
        w.engine.reconcile_once().await.expect("reconcile");
        w.engine.run_until_idle().await.expect("jobs");
    }
    let stats = w.engine.store.queue_stats().await.expect("stats");
    assert_eq!(stats.dead, 0, "{stats:?}");
    (ada, task)
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-06-01T00:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .expect("time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synced_person_shows_every_apps_records_and_exports_round_trip() {
    let w = world().await;
    let (ada, task) = seed(&w).await;
    let view = UnifiedView::new(w.engine.store.as_ref(), &w.engine.connectors).at(now());

    let p = view
        .person(&Who::Email(" ADA@example.com ".into()))
        .await
        .expect("view")
        .expect("Ada is found");
    let conns: Vec<&str> = p.apps.iter().map(|s| s.connection.as_str()).collect();
    assert_eq!(conns, ["ghl", "crm", "inv"], "GHL first, then by name");
    for s in &p.apps {
        assert!(s.problems.is_empty(), "{}: {:?}", s.connection, s.problems);
        let c = s.contact.as_ref().expect("contact read");
        assert_eq!(c.fields["email"], "ada@example.com", "{}", s.connection);
        assert_eq!(s.tasks.len(), 1, "{}: {:?}", s.connection, s.tasks);
        assert_eq!(s.notes.len(), 1, "{}", s.connection);
    }
    let (ghl, crm, inv) = (&p.apps[0], &p.apps[1], &p.apps[2]);
    for s in [ghl, crm] {
        assert_eq!(
            s.contact.as_ref().and_then(|c| c.title.as_deref()),
            Some("Ada Lovelace")
        );
        assert_eq!(s.tasks[0].title.as_deref(), Some(TASK_TITLE));
        assert_eq!(s.tasks[0].status.as_deref(), Some("overdue"), "due in 2020");
        assert_eq!(s.notes[0].body.as_deref(), Some(NOTE_BODY));
        assert!(s.tasks[0].linked_as.is_some() && s.notes[0].linked_as.is_some());
        let mut tags = s.tags.clone();
        tags.sort();
        assert_eq!(tags, ["investor", "vip"], "{}", s.connection);
    }
    assert_eq!(inv.app, "investnext");
    assert_eq!(inv.tasks[0].title.as_deref(), Some(INV_TASK));
    assert_eq!(inv.tasks[0].status.as_deref(), Some("open"));
    assert_eq!(inv.notes[0].body.as_deref(), Some(INV_NOTE));
    assert!(
        inv.tasks[0].linked_as.is_none(),
        "InvestNext's own task is synced nowhere"
    );
    assert_eq!(
        ghl.tasks[0].linked_as, crm.tasks[0].linked_as,
        "copies share the task's identity"
    );
    assert_eq!(p.apps[0].tasks[0].id, task);
    let s = &p.summary;
    assert_eq!(s.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(s.email.as_deref(), Some("ada@example.com"));
    assert_eq!(
        (s.tasks.open, s.tasks.overdue, s.tasks.completed),
        (2, 1, 0),
        "the GHL and CRM copies count once, plus InvestNext's own"
    );
    assert_eq!(s.notes, 2);
    assert_eq!(s.apps, ["ghl", "crm", "inv"]);
    assert_eq!(
        s.next_task.as_ref().map(|b| b.title.as_str()),
        Some(TASK_TITLE)
    );
    let latest = s.latest_note.as_ref().map(|b| b.title.as_str());
    assert!(
        latest == Some("He said \"yes\", then left.") || latest == Some(INV_NOTE),
        "{latest:?}"
    );

    // The same person by GHL contact id, by the CRM's id and by identity.
    let by_id = view
        .person(&Who::Contact {
            connection: None,
            id: ada.clone(),
        })
        .await
        .expect("view")
        .expect("found");
    assert_eq!(by_id.identity_id, p.identity_id);
    let crm_id = p.apps[1].contact_id.clone();
    let by_crm = view
        .person(&Who::Contact {
            connection: Some("crm".into()),
            id: crm_id,
        })
        .await
        .expect("view")
        .expect("found");
    assert_eq!(by_crm.identity_id, p.identity_id);
    let id = p.identity_id.expect("linked");
    assert_eq!(
        view.person(&Who::Identity(id)).await.expect("view"),
        Some(p.clone())
    );
    assert!(view
        .person(&Who::Email("nobody@example.com".into()))
        .await
        .expect("view")
        .is_none());
    assert!(view
        .person(&Who::Email("not an email".into()))
        .await
        .is_err());

    // JSON names the parts a tool reads.
    let v = serde_json::to_value(&p).expect("json");
    assert_eq!(v["summary"]["tasks"]["open"], 2);
    assert_eq!(v["apps"][2]["app"], "investnext");
    assert_eq!(v["apps"][0]["tasks"][0]["status"], "overdue");

    // The records CSV parses back to exactly the rows, header first.
    let text = render(
        std::slice::from_ref(&p),
        ExportKind::Records,
        ExportFormat::Csv,
    );
    assert!(text.starts_with(csv::BOM));
    let parsed = csv::parse(&text).expect("CSV reads");
    let (header, rows) = table(std::slice::from_ref(&p), ExportKind::Records);
    assert_eq!(parsed[0], header);
    assert_eq!(header, RECORD_COLUMNS);
    assert_eq!(&parsed[1..], &rows[..]);
    assert_eq!(rows.len(), 9, "3 apps × (contact, task, note)");
    let col = |name: &str| {
        RECORD_COLUMNS
            .iter()
            .position(|c| *c == name)
            .expect("column")
    };
    let task_rows: Vec<&Vec<String>> = rows.iter().filter(|r| r[col("kind")] == "task").collect();
    assert_eq!(task_rows.len(), 3);
    for r in &task_rows {
        if r[col("connection")] == "inv" {
            assert_eq!(r[col("title")], INV_TASK);
            assert_eq!(r[col("due_at")], "2031-01-01T00:00:00Z");
        } else {
            assert_eq!(
                (r[col("title")].as_str(), r[col("body")].as_str()),
                (TASK_TITLE, TASK_BODY)
            );
            assert_eq!(r[col("due_at")], "2020-01-02T03:04:05Z");
            assert_eq!(r[col("status")], "overdue");
        }
    }
    let notes: Vec<&str> = rows
        .iter()
        .filter(|r| r[col("kind")] == "note")
        .map(|r| r[col("body")].as_str())
        .collect();
    assert_eq!(
        notes,
        [NOTE_BODY, NOTE_BODY, INV_NOTE],
        "CR LF, quotes and commas kept"
    );
    assert_eq!(rows[0][col("tags")].split("; ").count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everyone_is_listed_in_pages_and_an_unreachable_app_is_a_problem_not_a_failure() {
    let mut w = world().await;
    seed(&w).await;
    let view = UnifiedView::new(w.engine.store.as_ref(), &w.engine.connectors).at(now());
    let first = view.list(0, 2).await.expect("page 1");
    let second = view.list(2, 2).await.expect("page 2");
    assert_eq!(
        (first.total, first.people.len(), second.people.len()),
        (3, 2, 1)
    );
    let mut emails: Vec<String> = first
        .people
        .iter()
        .chain(&second.people)
        .filter_map(|p| p.summary.email.clone())
        .collect();
    emails.sort();
    assert_eq!(
        emails,
        ["ada@example.com", "bob@example.com", "cy@example.com"]
    );

    // The report: one row per person; a formula in a tag is defused in the CSV.
    let report = view
        .export(&Scope::All, ExportKind::Report, ExportFormat::Csv)
        .await
        .expect("report");
    let rows = csv::parse(&report).expect("report reads");
    assert_eq!(rows.len(), 4, "{report}");
    let cy = rows.iter().find(|r| r[2] == "cy@example.com").expect("Cy");
    assert!(
        cy[6].to_lowercase().starts_with("'=hyperlink("),
        "defused: {cy:?}"
    );
    assert!(
        cy[5].contains("crm") && cy[5].contains("ghl"),
        "Cy reached GHL: {cy:?}"
    );

    // InvestNext goes away: Ada's view still comes, with the problem in its section.
    if let Some(inv) = w.inv.take() {
        inv.shutdown().await;
    }
    let p = view
        .person(&Who::Email("ada@example.com".into()))
        .await
        .expect("view despite a dead app")
        .expect("found");
    let inv = p
        .apps
        .iter()
        .find(|s| s.connection == "inv")
        .expect("section");
    assert!(inv.contact.is_none());
    assert!(!inv.problems.is_empty(), "{inv:?}");
    assert_eq!(p.summary.tasks.open, 1, "GHL and the CRM still count");
    let _ = EntityKind::Contact;
}
