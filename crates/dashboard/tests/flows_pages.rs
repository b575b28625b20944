//! The Flows pages over real HTTP: the server's and the dashboard's routers on one loopback
//! listener, sharing an AppState built from a real project folder, a real SQLite store, and
//! real connections (the GHL emulator and the Your App REST emulator). Signed in through the
//! login form, a person creates a flow from a shipped template (its connection renamed to the
//! project's), edits a mapping row in the editor and saves it (the file changes and loads with
//! the CLI's loader), makes a bad edit (the loader's error names the row and field; nothing is
//! written), dry-runs the flow on a real GHL contact already linked in the CRM (before = the
//! CRM's value, after = what the flow would write) and on pasted JSON, and switches a running
//! flow off and on (the engine's `flow_enabled` follows at once).

mod support;

use engine::flow::{load_project_with, FlowBody, MatchOn, RuleSource, Transform};
use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flows_are_created_edited_dry_run_and_switched() {
    let w = world().await;
    let loc = w.ghl.location_id();
    let ada = w
        .ghl
        .state
        .create_contact(
            &loc,
            &object(
                json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"}),
            ),
        )
        .expect("ada")
        .id;
    // The running flow links Ada into the CRM, so a dry run can show the CRM's value.
    for _ in 0..2 {
        w.engine.poll_once().await.expect("poll");
        w.engine.reconcile_once().await.expect("reconcile");
        w.engine.run_until_idle().await.expect("jobs");
    }
    w.ghl
        .state
        .update_contact(&ada, &object(json!({"firstName": "Adaline"})), false)
        .expect("edit in GHL");

    // --- The list ---
    let (status, list) = w.get("/ui/flows").await;
    assert_eq!(status, 200, "{list}");
    let table = element(&list, "table", "flows");
    assert!(
        table.contains(&format!("<tr data-flow=\"{RUNNING}\">")),
        "{table}"
    );
    assert!(
        table.contains("<td class=\"flow-state\">on</td>"),
        "{table}"
    );
    assert!(list.contains("id=\"new-flow\""), "{list}");

    // --- New from a template, its `your_app` connection renamed to the project's `crm` ---
    let (status, new) = w.get("/ui/flows/new").await;
    assert_eq!(status, 200, "{new}");
    assert!(
        element(&new, "select", "template").contains("value=\"your-app-contacts-realtime\""),
        "{new}"
    );
    let (status, location, body) = w
        .post(
            "/ui/flows/new",
            &pairs(&[
                ("mode", "template"),
                ("template", "your-app-contacts-realtime"),
                ("template_flow", ""),
                ("name", NEW),
                ("source", ""),
                ("target", ""),
            ]),
            false,
        )
        .await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(location, format!("/ui/flows/{NEW_URL}?created=1"));
    let file = w.flows_dir.join("ghl-to-crm.yaml");
    let created = std::fs::read_to_string(&file).expect("the flow file is written");
    assert!(created.contains("target: crm"), "{created}");
    let loaded = load_project_with(&w.project_file, &|_: &str| None).expect("the CLI loads it");
    assert!(loaded.flows.iter().any(|f| f.name == NEW));

    // The same name again is refused, and says why.
    let (status, _, again) = w
        .post(
            "/ui/flows/new",
            &pairs(&[
                ("mode", "blank"),
                ("name", NEW),
                ("source", "ghl"),
                ("target", "crm"),
                ("kind", "contact"),
            ]),
            false,
        )
        .await;
    assert_eq!(status, 422, "{again}");
    assert!(again.contains("already exists"), "{again}");

    // --- The editor ---
    let (status, editor) = w.get(&format!("/ui/flows/{NEW_URL}?created=1")).await;
    assert_eq!(status, 200, "{editor}");
    assert!(
        editor.contains("takes effect when <code>ghl-bridge serve</code> restarts"),
        "{editor}"
    );
    assert_eq!(
        element(&editor, "table", "mapping")
            .matches("<tr class=\"mapping-row\">")
            .count(),
        11,
        "one row per rule of the template"
    );
    for id in [
        "match-key",
        "conflict-policy",
        "delete-policy",
        "sample-source",
    ] {
        element(&editor, "select", id);
    }
    assert!(element(&editor, "textarea", "yaml").contains("name: GHL to CRM"));
    let mut form = editor_form(&editor);
    assert_eq!(control(&editor, "match_key"), "email,phone");

    // A bad edit: a rule running to the source in a one-way sync. Refused, file untouched.
    let mut bad = form.clone();
    set(&mut bad, "direction", 0, "to_source");
    let (status, _, refused) = w.post(&format!("/ui/flows/{NEW_URL}"), &bad, false).await;
    assert_eq!(status, 422, "{refused}");
    let validation = element(&refused, "div", "validation");
    assert!(validation.contains("Mapping row 1"), "{validation}");
    assert!(
        validation.contains("sync.mapping.contact[0].direction"),
        "{validation}"
    );
    assert!(validation.contains("needs a two_way sync"), "{validation}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        created,
        "nothing written"
    );
    // The inline check (htmx, on every change) says the same without saving.
    let (status, _, check) = w
        .post(&format!("/ui/flows/{NEW_URL}/preview"), &bad, true)
        .await;
    assert_eq!(status, 200);
    assert!(
        check.contains("sync.mapping.contact[0].direction"),
        "{check}"
    );

    // A good edit: row 1 uppercases the first name; archive deletes; match by email only.
    set(&mut form, "transform", 0, "uppercase");
    set(&mut form, "delete", 0, "archive");
    set(&mut form, "match_key", 0, "email");
    let (status, _, saved) = w.post(&format!("/ui/flows/{NEW_URL}"), &form, false).await;
    assert_eq!(status, 200, "{saved}");
    assert!(saved.contains("id=\"saved-notice\""), "{saved}");
    assert!(saved.contains("takes effect when <code>ghl-bridge serve</code> restarts"));
    let text = std::fs::read_to_string(&file).expect("file");
    assert_ne!(text, created);
    assert!(element(&saved, "textarea", "yaml").contains("transform: uppercase"));
    let loaded = load_project_with(&w.project_file, &|_: &str| None).expect("the CLI loads it");
    let flow = loaded.flows.iter().find(|f| f.name == NEW).expect("flow");
    let FlowBody::Sync(sync) = &flow.body else {
        panic!("a sync")
    };
    assert_eq!(sync.delete, engine::flow::DeletePolicy::Archive);
    assert_eq!(
        sync.match_on[&connectors::EntityKind::Contact],
        vec![MatchOn::Email]
    );
    let rules = sync.mapping[&connectors::EntityKind::Contact]
        .rules()
        .expect("rules");
    assert_eq!(rules.len(), 11, "every other row kept");
    assert_eq!(rules[0].transforms, vec![Transform::Uppercase]);
    assert_eq!(
        rules[0].source,
        RuleSource::Field(vec!["first_name".into()])
    );
    assert!(
        matches!(&rules[3].transforms[..], [Transform::NormalizePhone { default_country }] if default_country == "US"),
        "the phone rule's options are kept: {:?}",
        rules[3]
    );
    assert!(
        sync.filters.contains_key(&connectors::EntityKind::Contact),
        "filter kept"
    );

    // --- Dry run on a real GHL record, linked in the CRM ---
    let (_, editor) = w.get(&format!("/ui/flows/{NEW_URL}")).await;
    let samples = element(&editor, "select", "sample-source");
    assert!(samples.contains(&format!("value=\"{ada}\"")), "{samples}");
    let (status, _, dry) = w
        .post(
            &format!("/ui/flows/{NEW_URL}/dry-run"),
            &pairs(&[("sample_source", &ada), ("sample_record", "")]),
            true,
        )
        .await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(
        diff_row(&dry, "first_name"),
        ("Ada".into(), "ADALINE".into())
    );
    assert_eq!(
        diff_row(&dry, "email"),
        ("ada@example.com".into(), "ada@example.com".into())
    );
    assert!(dry.contains("already linked in crm"), "{dry}");
    // With the form's unsaved edits and a pasted record: nothing before, warnings listed.
    let mut unsaved = editor_form(&editor);
    set(&mut unsaved, "transform", 1, "lowercase");
    unsaved.push(("sample_source".into(), String::new()));
    unsaved.push((
        "sample_record".into(),
        r#"{"first_name": "grace", "last_name": "HOPPER", "email": "G@X.COM"}"#.into(),
    ));
    let (status, _, dry) = w
        .post(&format!("/ui/flows/{NEW_URL}/dry-run"), &unsaved, true)
        .await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(
        diff_row(&dry, "first_name"),
        (String::new(), "GRACE".into())
    );
    assert_eq!(
        diff_row(&dry, "last_name"),
        (String::new(), "hopper".into())
    );
    assert_eq!(diff_row(&dry, "email"), (String::new(), "g@x.com".into()));
    assert!(
        element(&dry, "ul", "dry-run-warnings").contains("`city`"),
        "{dry}"
    );

    // --- Switching the running flow off and on: at once ---
    let path = "/ui/flows/ghl%20and%20crm/toggle";
    let (status, _, row) = w.post(path, &pairs(&[("view", "row")]), true).await;
    assert_eq!(status, 200, "{row}");
    assert!(
        row.contains("<td class=\"flow-state\">off</td>") && row.contains("Switch on"),
        "{row}"
    );
    assert!(!w.enabled(RUNNING), "the engine sees it off at once");
    let (_, list) = w.get("/ui/flows").await;
    assert!(list.contains("<td class=\"flow-state\">off</td>"), "{list}");
    let (status, _, switch) = w.post(path, &pairs(&[("view", "editor")]), true).await;
    assert_eq!(status, 200, "{switch}");
    assert!(
        switch.contains("id=\"toggle-flow\"") && switch.contains("Switch off"),
        "{switch}"
    );
    assert!(w.enabled(RUNNING), "and on again");
    // A flow created since the start cannot be switched until a restart, and says so.
    let (status, _, body) = w
        .post(
            &format!("/ui/flows/{NEW_URL}/toggle"),
            &pairs(&[("view", "row")]),
            true,
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("restart"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_flows_get_a_yaml_editor_and_blank_syncs_start_empty() {
    let w = world().await;
    let (status, _, body) = w
        .post(
            "/ui/flows/new",
            &pairs(&[
                ("mode", "template"),
                ("template", "your-app-onboarding"),
                ("name", ""),
            ]),
            false,
        )
        .await;
    assert_eq!(status, 303, "{body}");
    let file = w
        .flows_dir
        .join("onboard-new-ghl-contacts-in-your-app.yaml");
    let created = std::fs::read_to_string(&file).expect("written");
    assert!(
        created.contains("connection: crm") && !created.contains("your_app"),
        "{created}"
    );
    let url = "/ui/flows/Onboard%20new%20GHL%20contacts%20in%20Your%20App";
    let (status, editor) = w.get(url).await;
    assert_eq!(status, 200, "{editor}");
    assert!(
        !editor.contains("id=\"mapping\""),
        "no mapping form for actions"
    );
    let yaml = unescape(
        element(&editor, "textarea", "yaml")
            .split_once('>')
            .expect("textarea")
            .1,
    );
    let (status, _, refused) = w
        .post(
            url,
            &[(
                "yaml".into(),
                yaml.replace("create_related", "create_relatd"),
            )],
            false,
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        element(&refused, "div", "validation").contains("create_relatd"),
        "{refused}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), created);
    let edited = yaml.replace("Send the welcome pack", "Send the welcome box");
    let (status, _, saved) = w.post(url, &[("yaml".into(), edited)], false).await;
    assert_eq!(status, 200, "{saved}");
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("welcome box"));

    // A blank sync: two connections and a kind; the identity mapping until rows are added.
    let (status, location, body) = w
        .post(
            "/ui/flows/new",
            &pairs(&[
                ("mode", "blank"),
                ("name", "Blank one"),
                ("source", "crm"),
                ("target", "ghl"),
                ("kind", "contact"),
                ("direction", "two_way"),
            ]),
            false,
        )
        .await;
    assert_eq!(status, 303, "{body}");
    let (status, editor) = w.get(location.trim_end_matches("?created=1")).await;
    assert_eq!(status, 200, "{editor}");
    assert!(editor.contains("id=\"identity-notice\""), "{editor}");
    let (status, row) = w.get("/ui/flow-row?kind=contact").await;
    assert_eq!(status, 200);
    assert!(
        row.contains("<tr class=\"mapping-row\">") && row.contains("value=\"normalize_email\"")
    );
    let mut form = editor_form(&editor);
    for (k, v) in [
        ("source_kind", "from"),
        ("source", "email"),
        ("target", "email"),
        ("transform", "normalize_email"),
        ("default", ""),
        ("direction", "both"),
    ] {
        form.push((k.into(), v.into()));
    }
    let (status, _, saved) = w.post("/ui/flows/Blank%20one", &form, false).await;
    assert_eq!(status, 200, "{saved}");
    let text = std::fs::read_to_string(w.flows_dir.join("blank-one.yaml")).expect("file");
    assert!(
        text.contains("- {to: email, from: email, transform: normalize_email, direction: both}"),
        "{text}"
    );
    load_project_with(&w.project_file, &|_: &str| None).expect("the CLI loads it");
}
