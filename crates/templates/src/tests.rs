//! Every shipped template is complete and consistent: described, with a project file whose
//! variables are the documented settings and whose apps are the documented apps, and flows.

use super::*;

#[test]
fn templates_are_embedded_and_complete() {
    let all = all();
    assert!(all.len() >= 10, "{:?}", ids());
    for t in &all {
        assert!(t.file(META_FILE).is_some(), "{}: no {META_FILE}", t.id);
        assert!(
            t.file(PROJECT_FILE).is_some(),
            "{}: no {PROJECT_FILE}",
            t.id
        );
        assert!(t.flow_files().count() >= 1, "{}: no flows/*.yaml", t.id);
        let meta = t.meta().unwrap_or_else(|e| panic!("{e}"));
        let project = t.file(PROJECT_FILE).unwrap_or_default();
        let apps = connection_apps(project).unwrap_or_else(|e| panic!("{}: {e}", t.id));
        let described: BTreeSet<String> = meta.apps.iter().cloned().collect();
        assert_eq!(
            apps, described,
            "{}: `apps` lists the connections' apps",
            t.id
        );
        // The settings are exactly the variables the project reads, defaults included.
        let vars = t.variables();
        let mut documented: Vec<(String, Option<String>)> = meta
            .settings
            .iter()
            .map(|s| (s.env.clone(), s.default.clone()))
            .collect();
        let mut used = vars.clone();
        documented.sort();
        used.sort();
        assert_eq!(
            documented, used,
            "{}: settings ⇄ ${{VARS}} of the project",
            t.id
        );
        // Keys and tokens are marked secret.
        for s in &meta.settings {
            let looks_secret = ["KEY", "TOKEN", "SECRET"]
                .iter()
                .any(|w| s.env.contains(w) && !s.env.contains("PUBLIC_KEY"));
            assert_eq!(s.secret, looks_secret, "{}: {} secret flag", t.id, s.env);
        }
    }
    let ids = ids();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "sorted by id");
    assert!(get("no-such-template").is_none());
}

#[test]
fn variables_are_read_from_values_not_comments() {
    let text = "# `${NAME}` is the variable NAME\nconnections:\n  a:\n    url: ${URL:-http://x/#y} # ${NOT_THIS}\n    key: \"${KEY}\"\n    k2: '$${LITERAL}'\n    again: ${URL}\n";
    assert_eq!(
        variables(text),
        [
            ("URL".to_string(), Some("http://x/#y".to_string())),
            ("KEY".to_string(), None),
        ]
    );
}

#[test]
fn meta_rejects_unknown_keys_and_empty_fields() {
    let ok = "title: T\ndescription: D\napps: [ghl]\nuse_case: U\nsettings: []\nrun: r\n";
    assert!(Meta::parse(ok).is_ok());
    let e = Meta::parse(&format!("{ok}colour: red\n")).unwrap_err();
    assert!(e.contains("colour"), "{e}");
    let e = Meta::parse(&ok.replace("title: T", "title: ' '")).unwrap_err();
    assert!(e.contains("title"), "{e}");
}

#[test]
fn write_to_creates_the_project_and_never_overwrites() {
    let t = get("your-app-contacts-realtime").expect("shipped");
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("new/project");
    let written = t.write_to(&target).expect("written");
    assert_eq!(written.len(), t.files().count());
    for f in t.files() {
        let on_disk = std::fs::read_to_string(target.join(f.path)).expect("file written");
        assert_eq!(on_disk, f.contents, "{}", f.path);
    }
    // Again into the same folder: refused, nothing changed.
    std::fs::write(target.join(PROJECT_FILE), "edited").expect("edit");
    let e = t.write_to(&target).expect_err("refused");
    assert!(matches!(e, InitError::Exists { .. }), "{e}");
    assert!(e.to_string().contains("nothing was written"), "{e}");
    assert_eq!(
        std::fs::read_to_string(target.join(PROJECT_FILE)).expect("read"),
        "edited"
    );
    // A folder that already has flows is refused too (they would join the project).
    let other = dir.path().join("other");
    std::fs::create_dir_all(other.join("flows")).expect("mkdir");
    let e = t.write_to(&other).expect_err("refused");
    assert!(e.to_string().contains("flows"), "{e}");
    assert!(!other.join(PROJECT_FILE).exists());
}
