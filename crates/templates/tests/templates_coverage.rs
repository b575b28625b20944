//! Every template in `templates/` is embedded, loads without a single diagnostic, builds its
//! connections, uses every connection it names, needs exactly the variables it documents — and
//! has an end-to-end test, listed in [`COVERAGE`] and checked to exist and to start that very
//! template.

use std::collections::{BTreeMap, BTreeSet};

use engine::connections::{build_connectors, connections_in_use};
use engine::flow::load_project_with;
use ghl_sandbox::ghl::{GhlConfig, GhlSandbox};

/// Template → (test file under `tests/`, test function).
const COVERAGE: &[(&str, &str, &str)] = &[
    (
        "your-app-contacts-realtime",
        "templates_your_app.rs",
        "your_app_contacts_realtime_creates_and_updates_from_webhooks",
    ),
    (
        "your-app-tasks",
        "templates_your_app.rs",
        "your_app_tasks_carry_due_dates_priorities_and_completion",
    ),
    (
        "your-app-notes-appointments",
        "templates_your_app.rs",
        "your_app_notes_and_appointments_follow_ghl",
    ),
    (
        "your-app-onboarding",
        "templates_your_app.rs",
        "your_app_onboarding_creates_prioritised_tasks_once",
    ),
    (
        "investnext-contacts-two-way",
        "templates_investnext_sync.rs",
        "investnext_contacts_two_way_both_directions_without_ping_pong",
    ),
    (
        "investnext-tasks",
        "templates_investnext_sync.rs",
        "investnext_tasks_copy_status_and_due_dates",
    ),
    (
        "investnext-notes",
        "templates_investnext_sync.rs",
        "investnext_notes_follow_ghl_notes",
    ),
    (
        "investnext-onboarding",
        "templates_investnext_activity.rs",
        "investnext_onboarding_creates_investor_tasks_and_note_once",
    ),
    (
        "investnext-activity-timeline",
        "templates_investnext_activity.rs",
        "investnext_activity_timeline_puts_notes_and_task_updates_together",
    ),
    (
        "investnext-report",
        "templates_investnext_activity.rs",
        "investnext_report_combines_contacts_tasks_and_notes",
    ),
    (
        "invoco-contact-updates",
        "templates_invoco.rs",
        "invoco_contact_updates_reach_invoco",
    ),
    (
        "invoco-batch-import",
        "templates_invoco.rs",
        "invoco_batch_import_adds_only_what_is_new",
    ),
    (
        "invoco-starter-tasks",
        "templates_invoco.rs",
        "invoco_starter_tasks_for_new_customers_once",
    ),
    (
        "invoco-recurring-report",
        "templates_invoco_report.rs",
        "invoco_recurring_report_writes_people_tasks_and_notes_of_both_apps",
    ),
    (
        "salesnexus-contact-activity",
        "templates_salesnexus.rs",
        "salesnexus_contact_activity_pulls_ghl_tasks_notes_and_appointments",
    ),
    (
        "salesnexus-tasks-notes",
        "templates_salesnexus.rs",
        "salesnexus_tasks_notes_pushed_as_they_are_created",
    ),
    (
        "salesnexus-business",
        "templates_salesnexus_leads.rs",
        "salesnexus_business_carries_the_ghl_business_onto_the_contact",
    ),
    (
        "salesnexus-web-leads",
        "templates_salesnexus_leads.rs",
        "salesnexus_web_leads_reach_salesnexus_with_one_call_back_task",
    ),
    (
        "insightly-contacts-to-ghl",
        "templates_insightly.rs",
        "insightly_contacts_to_ghl_creates_and_updates_by_polling",
    ),
    (
        "insightly-tasks-notes",
        "templates_insightly.rs",
        "insightly_tasks_notes_mirror_both_ways_with_status",
    ),
    (
        "insightly-tags-companies",
        "templates_insightly_tags.rs",
        "insightly_tags_companies_sync_tags_and_organisations_both_ways",
    ),
];

fn repo_templates() -> BTreeSet<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../templates");
    std::fs::read_dir(dir)
        .expect("templates folder")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect()
}

#[test]
fn every_template_has_an_end_to_end_test() {
    let embedded: BTreeSet<String> = templates::ids().into_iter().map(String::from).collect();
    assert_eq!(
        embedded,
        repo_templates(),
        "the binary embeds every folder of templates/"
    );
    let covered: BTreeSet<String> = COVERAGE.iter().map(|(id, _, _)| id.to_string()).collect();
    assert_eq!(
        covered, embedded,
        "COVERAGE lists every template, once each"
    );
    assert_eq!(covered.len(), COVERAGE.len(), "no template twice");
    for (id, file, test) in COVERAGE {
        let path = format!("{}/tests/{file}", env!("CARGO_MANIFEST_DIR"));
        let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let start = src
            .find(&format!("async fn {test}()"))
            .unwrap_or_else(|| panic!("{file} has no `async fn {test}()` for {id}"));
        let before = &src[..start];
        assert!(
            before
                .trim_end()
                .ends_with("#[tokio::test(flavor = \"multi_thread\", worker_threads = 2)]"),
            "{test} is a test"
        );
        let body = &src[start..];
        let body = &body[..body[1..].find("\n#[").map_or(body.len(), |i| i + 1)];
        assert!(
            body.contains(&format!("support::start(\"{id}\"")),
            "{test} starts the {id} template"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_template_loads_without_diagnostics_and_builds_its_connections() {
    // A real Ed25519 key, since the GHL connection checks its PEM when it is built.
    let ghl = GhlSandbox::start(GhlConfig {
        contacts: 0,
        ..Default::default()
    })
    .await
    .expect("sandbox");
    let pem = ghl.state.keys.ed25519_public_pem();
    for t in templates::all() {
        let meta = t.meta().expect("template.yaml");
        let dir = tempfile::tempdir().expect("temp dir");
        t.write_to(dir.path()).expect("written");
        let file = dir.path().join(templates::PROJECT_FILE);
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        for s in meta.required() {
            let v = match s.env.as_str() {
                "GHL_WEBHOOK_PUBLIC_KEY" => pem.clone(),
                // SalesNexus keys have a fixed prefix, checked when the connection is built.
                "SALESNEXUS_KEY" => "sn_live_abcdefgh.value".into(),
                n if n.ends_with("_URL") => "http://127.0.0.1:9/v1".into(),
                n => format!("value-of-{n}"),
            };
            env.insert(s.env.clone(), v);
        }
        let vars = env.clone();
        let project = load_project_with(&file, &move |k: &str| vars.get(k).cloned())
            .unwrap_or_else(|e| panic!("{} has diagnostics:\n{e}", t.id));
        assert_eq!(project.flows.len(), t.flow_files().count(), "{}", t.id);
        for f in &project.flows {
            assert!(f.enabled, "{}: {} is enabled", t.id, f.name);
            assert!(f.description.is_some(), "{}: {} is described", t.id, f.name);
        }
        let built =
            build_connectors(&project).unwrap_or_else(|e| panic!("{}: connections:\n{e}", t.id));
        let named: BTreeSet<String> = project.connections.keys().cloned().collect();
        assert_eq!(built.keys().cloned().collect::<BTreeSet<_>>(), named);
        assert_eq!(
            connections_in_use(&project),
            named,
            "{}: every connection is used",
            t.id
        );
        // Defaults apply; every required variable is really required.
        assert!(
            meta.settings
                .iter()
                .any(|s| s.env == "GHL_BASE_URL" && s.default.is_some()),
            "{}",
            t.id
        );
        for s in meta.required() {
            let mut without = env.clone();
            without.remove(&s.env);
            let e = load_project_with(&file, &move |k: &str| without.get(k).cloned())
                .expect_err("a required variable missing fails the load");
            assert!(e.to_string().contains(&s.env), "{}: {e}", t.id);
        }
    }
}
